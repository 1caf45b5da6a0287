/**
 * Values of the command language: sizes (4K, 2M, 1G, 64M, 0x1000, 4096), addresses (hex or
 * decimal), integers, and their plain renderings. Parsing returns a value or an error message
 * (never throws) so the parser can report bad input without touching the simulation.
 */

export type Parsed<T> = { ok: true; value: T } | { ok: false; error: string };

/** Binary units, any of `K`, `KB`, `KiB` (case-insensitive); no unit and `b` are bytes. */
const UNITS: Record<string, bigint> = { "": 1n, b: 1n };
for (const [i, u] of ["k", "m", "g", "t"].entries()) {
  const v = 1n << BigInt(10 * (i + 1));
  UNITS[u] = UNITS[`${u}b`] = UNITS[`${u}ib`] = v;
}

const MAX_U64 = (1n << 64n) - 1n;

/**
 * An unsigned number with an optional binary unit: `4K`, `2M`, `1G`, `64MiB`, `0x1000`, `4096`,
 * `0x8000_0000`. Hex never takes a unit (so `0x1b` is 27, not 1 byte).
 */
export function parseSize(text: string, what = "size"): Parsed<bigint> {
  const t = text.trim().replace(/_/g, "");
  if (t === "") return { ok: false, error: `${what}: missing value` };
  if (/^0x[0-9a-f]+$/i.test(t)) return fits(BigInt(t), text, what);
  const m = /^([0-9]+)([a-z]*)$/i.exec(t);
  if (m === null) return { ok: false, error: `${what}: '${text}' is not a number (use 4096, 0x1000, 4K, 2M, 1G)` };
  const unit = UNITS[m[2]!.toLowerCase()];
  if (unit === undefined) return { ok: false, error: `${what}: unknown unit '${m[2]}' in '${text}' (use K, M, G or T)` };
  return fits(BigInt(m[1]!) * unit, text, what);
}

/** An address: hex (0x...) or decimal, units allowed (`2G` is 0x80000000). */
export function parseAddress(text: string, what = "address"): Parsed<bigint> {
  return parseSize(text, what);
}

/** A signed integer (decimal or hex), e.g. an RTT level `-1` or a register value. */
export function parseInteger(text: string, what = "number"): Parsed<bigint> {
  const t = text.trim();
  if (t.startsWith("-")) {
    const r = parseSize(t.slice(1), what);
    if (!r.ok) return r;
    return { ok: true, value: -r.value };
  }
  return parseSize(t, what);
}

/** A small non-negative integer (counts, vCPU numbers), with bounds. */
export function parseCount(text: string, what: string, min: number, max: number): Parsed<number> {
  const r = parseSize(text, what);
  if (!r.ok) return r;
  if (r.value < BigInt(min) || r.value > BigInt(max)) {
    return { ok: false, error: `${what}: ${text} is out of range (${min}..${max})` };
  }
  return { ok: true, value: Number(r.value) };
}

function fits(v: bigint, text: string, what: string): Parsed<bigint> {
  if (v > MAX_U64) return { ok: false, error: `${what}: '${text}' does not fit in 64 bits` };
  return { ok: true, value: v };
}

/**
 * An error message with every word longer than 64 characters cut to its first 40 and its
 * length (`'xxxx...' (10000 chars)`): a message names the bad token without echoing all of it.
 */
export function clipLongWords(msg: string): string {
  return msg.replace(/\S{65,}/g, (w) => `${w.slice(0, 40)}... (${w.length} chars)`);
}

/** `0x80000000` */
export function hex(v: bigint | number): string {
  return "0x" + v.toString(16);
}

const SIZE_NAMES: [bigint, string][] = [
  [1n << 40n, "TiB"],
  [1n << 30n, "GiB"],
  [1n << 20n, "MiB"],
  [1n << 10n, "KiB"],
];

/** `64 MiB`, `4 KiB`, `3 bytes`, `1.5 MiB` (one decimal when not a whole unit). */
export function formatSize(v: bigint | number): string {
  const b = typeof v === "bigint" ? v : BigInt(Math.round(v));
  for (const [unit, name] of SIZE_NAMES) {
    if (b >= unit) {
      if (b % unit === 0n) return `${b / unit} ${name}`;
      const tenths = (b * 10n) / unit;
      return `${tenths / 10n}.${tenths % 10n} ${name}`;
    }
  }
  return `${b} bytes`;
}

/** The shortest size token that parses back to the same value (`64M`, `4K`, `0x1234`). */
export function sizeToken(v: bigint): string {
  for (const [unit, name] of SIZE_NAMES) {
    if (v >= unit && v % unit === 0n) return `${v / unit}${name[0]}`;
  }
  return v < 4096n ? v.toString() : hex(v);
}

/** The shape `toJson` gives a value of type T (bigints as hex strings): what renderers read. */
export type Jsonified<T> = T extends bigint
  ? string
  : T extends readonly (infer U)[]
    ? Jsonified<U>[]
    : T extends object
      ? { [K in keyof T]: Jsonified<T[K]> }
      : T;

/**
 * A JSON-friendly copy of a value: bigints become hex strings, Maps become objects, typed arrays
 * become arrays, functions and undefined are dropped. Cycles are cut ("[cycle]").
 */
export function toJson(v: unknown, seen: Set<object> = new Set()): unknown {
  if (typeof v === "bigint") return hex(v);
  if (v === null || typeof v !== "object") {
    if (typeof v === "function" || typeof v === "symbol") return undefined;
    if (typeof v === "number" && !Number.isFinite(v)) return String(v);
    return v;
  }
  if (seen.has(v)) return "[cycle]";
  seen.add(v);
  try {
    if (Array.isArray(v)) return v.map((x) => toJson(x, seen) ?? null);
    if (ArrayBuffer.isView(v)) return Array.from(v as unknown as ArrayLike<number>);
    if (v instanceof Map) {
      const o: Record<string, unknown> = {};
      for (const [k, x] of v) o[String(k)] = toJson(x, seen);
      return o;
    }
    if (v instanceof Set) return [...v].map((x) => toJson(x, seen));
    if (v instanceof Error) return { name: v.name, message: v.message };
    const o: Record<string, unknown> = {};
    for (const [k, x] of Object.entries(v)) {
      const j = toJson(x, seen);
      if (j !== undefined) o[k] = j;
    }
    return o;
  } finally {
    seen.delete(v);
  }
}

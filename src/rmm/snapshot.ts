/**
 * A canonical, deterministic picture of ALL simulated state behind a Platform: granule states and
 * refcounts, the GPT, memory contents, realms (state, RIM, parameters), RTTs, RECs (including
 * pending RIPAS/PSCI requests and last-exit information), VMIDs and any per-ABI RMM state
 * (`rmm.ext`, SRO contexts). Two platforms (or one platform at two moments) have the same digest
 * exactly when their simulated state is the same, so a test can assert that a failed RMI command
 * changed nothing at all (RMM spec B4.3: a command that fails has no effect).
 *
 * Not part of the state: the call trace, the output registers of the last call, the fault
 * injection hook and the realm guest's own model (`Rec.guestState`, hooks: functions).
 */
import { createHash, type Hash } from "node:crypto";
import { GRANULE_SIZE } from "../arch/geometry.js";
import type { Rmm } from "./rmm.js";

/** Anything with an `rmm` (a Platform) or an Rmm itself. */
export type SnapshotSource = { rmm: Rmm } | Rmm;

/** Rmm fields handled explicitly, or that are not simulated state. */
const RMM_SKIP = new Set([
  "machine", "granules", "realms", "rtts", "recs", "vmids", "table", "trace",
  "out1", "out2", "out3", "out4", "interceptor", "guest", "abi", "features",
]);
/** Fields of simulator objects that belong to other models (the guest) or are back references. */
const FIELD_SKIP = new Set(["guestState", "rmm", "machine", "platform", "host"]);

function rmmOf(src: SnapshotSource): Rmm {
  return "rmm" in src ? src.rmm : src;
}

function sha(bytes: Uint8Array): string {
  return createHash("sha256").update(bytes).digest("hex").slice(0, 32);
}

/**
 * Canonical text of a value: sorted keys, bigint as `0x..n`, typed arrays by content hash,
 * Map/Set in sorted order, functions dropped, cycles and back references cut.
 */
function canon(x: unknown, seen: Set<object>, depth: number): string {
  if (x === null) return "null";
  switch (typeof x) {
    case "undefined":
      return "undef";
    case "bigint":
      return `0x${x.toString(16)}n`;
    case "number":
      return Object.is(x, -0) ? "-0" : String(x);
    case "string":
      return JSON.stringify(x);
    case "boolean":
      return x ? "T" : "F";
    case "function":
    case "symbol":
      return "fn";
    default:
      break;
  }
  const o = x as object;
  if (ArrayBuffer.isView(o)) {
    const b = new Uint8Array(o.buffer, o.byteOffset, o.byteLength);
    return `${o.constructor.name}[${b.length}]:${b.every((c) => c === 0) ? "0" : sha(b)}`;
  }
  if (seen.has(o)) return "cycle";
  if (depth > 8) return "deep";
  seen.add(o);
  let s: string;
  if (Array.isArray(o)) {
    s = `[${o.map((e) => canon(e, seen, depth + 1)).join(",")}]`;
  } else if (o instanceof Map) {
    const es = [...o.entries()].map(([k, e]) => `${canon(k, seen, depth + 1)}=>${canon(e, seen, depth + 1)}`).sort();
    s = `Map{${es.join(",")}}`;
  } else if (o instanceof Set) {
    s = `Set{${[...o].map((e) => canon(e, seen, depth + 1)).sort().join(",")}}`;
  } else {
    const keys = Object.keys(o).filter((k) => !FIELD_SKIP.has(k)).sort();
    const rec = o as Record<string, unknown>;
    const name = o.constructor?.name ?? "Object";
    s = `${name === "Object" ? "" : name}{${keys.map((k) => `${k}:${canon(rec[k], seen, depth + 1)}`).join(",")}}`;
  }
  seen.delete(o);
  return s;
}

/**
 * The state as canonical lines, one fact per line (sorted, deterministic). Useful to see WHAT
 * changed when two digests differ: diff the two line lists.
 */
export function rmmStateLines(src: SnapshotSource): string[] {
  const rmm = rmmOf(src);
  const { mem, gpt } = rmm.machine;
  const out: string[] = [`abi ${rmm.abi} active ${rmm.active}`];
  const hex = (g: number) => (g * GRANULE_SIZE).toString(16);

  // Runs of consecutive granules with the same value make one line ("first..last"), so a
  // 2 MiB block of DATA costs one line, not 512.
  const runs = (tag: string, it: Iterable<[number, string]>) => {
    let first = -1;
    let last = -1;
    let val = "";
    const flush = () => {
      if (first >= 0) out.push(`${tag} ${hex(first)}${last > first ? `..${hex(last)}` : ""} ${val}`);
    };
    for (const [g, x] of it) {
      if (g === last + 1 && x === val) {
        last = g;
        continue;
      }
      flush();
      first = last = g;
      val = x;
    }
    flush();
  };
  const granules = rmm.granules;
  runs("granule", (function* () {
    for (const [g, s] of granules.nonNs()) yield [g, `state ${s} ref ${granules.refcount(g)}`] as [number, string];
  })());
  runs("gpt", (function* () {
    for (const [g, pas] of gpt.changed()) yield [g, `pas ${pas}`] as [number, string];
  })());
  for (const g of mem.residentIndices()) {
    const p = mem.page(g)!;
    if (!mem.isZero(g)) out.push(`mem ${hex(g)} ${sha(p)}`);
  }
  for (const g of [...rmm.realms.keys()].sort((a, b) => a - b)) {
    out.push(`realm ${hex(g)} ${canon(rmm.realms.get(g), new Set(), 0)}`);
  }
  for (const g of [...rmm.rtts.keys()].sort((a, b) => a - b)) {
    const t = rmm.rtts.get(g)!;
    const h = createHash("sha256");
    h.update(t.kind);
    h.update(new Uint8Array(t.addr.buffer, t.addr.byteOffset, t.addr.byteLength));
    h.update(new Uint8Array(t.attr.buffer, t.attr.byteOffset, t.attr.byteLength));
    const extra = Object.keys(t)
      .filter((k) => !["kind", "addr", "attr", "g", "level", "base", "rd"].includes(k))
      .sort()
      .map((k) => `${k}:${canon((t as unknown as Record<string, unknown>)[k], new Set(), 0)}`);
    out.push(`rtt ${hex(g)} L${t.level} base ${t.base.toString(16)} rd ${hex(t.rd)} ${h.digest("hex").slice(0, 32)}${extra.length ? " " + extra.join(",") : ""}`);
  }
  for (const g of [...rmm.recs.keys()].sort((a, b) => a - b)) {
    out.push(`rec ${hex(g)} ${canon(rmm.recs.get(g), new Set(), 0)}`);
  }
  out.push(`vmids ${[...rmm.vmids].sort((a, b) => a - b).join(",")}`);
  // Any other state the RMM keeps (v2.0 global state, SRO contexts, per-family extras).
  const rec = rmm as unknown as Record<string, unknown>;
  for (const k of Object.keys(rmm).filter((k) => !RMM_SKIP.has(k)).sort()) {
    out.push(`rmm.${k} ${canon(rec[k], new Set(), 0)}`);
  }
  return out;
}

/** SHA-256 (hex) over the canonical state lines: equal exactly when the simulated state is equal. */
export function rmmDigest(src: SnapshotSource): string {
  return digestLines(rmmStateLines(src));
}

/** The digest of lines already taken with `rmmStateLines` (so a caller can keep both). */
export function digestLines(lines: readonly string[]): string {
  const h: Hash = createHash("sha256");
  for (const l of lines) h.update(l).update("\n");
  return h.digest("hex");
}

/** The lines that differ between two `rmmStateLines` results (`-` only in a, `+` only in b). */
export function diffStateLines(a: readonly string[], b: readonly string[]): string[] {
  const sa = new Set(a);
  const sb = new Set(b);
  return [...a.filter((l) => !sb.has(l)).map((l) => `- ${l}`), ...b.filter((l) => !sa.has(l)).map((l) => `+ ${l}`)];
}

/**
 * Validation of arguments to the TypeScript API. Misuse of the API throws a clear error naming
 * the argument; RMI failures are values and never come through here.
 */
import { u64ToNumber } from "../arch/geometry.js";

const MAX_SAFE_ADDRESS = 0x1f_ffff_ffff_ffffn;

/** A value as an error message shows it: strings quoted, bigints in hex, at most ~40 characters. */
export function shown(v: unknown): string {
  const t = typeof v === "string" ? `'${v}'` : typeof v === "bigint" ? `0x${v.toString(16)}` : typeof v === "object" && v !== null ? Object.prototype.toString.call(v) : String(v);
  return t.length > 40 ? `${t.slice(0, 32)}... (${t.length} chars)` : t;
}
const TWO_64 = 1n << 64n;

export function requireAddress(name: string, v: unknown): number {
  // the common case first: a bigint in [0, 2^53) (comparisons with constants allocate nothing)
  if (typeof v === "bigint" && v >= 0n && v <= MAX_SAFE_ADDRESS) return u64ToNumber(v);
  if (typeof v !== "bigint") {
    throw new TypeError(`${name}: expected a bigint address, got ${v === undefined ? "undefined" : typeof v}`);
  }
  if (v < 0n) throw new RangeError(`${name}: address must not be negative (got ${v})`);
  if (v >= TWO_64) throw new RangeError(`${name}: address does not fit in 64 bits`);
  if (v > MAX_SAFE_ADDRESS) throw new RangeError(`${name}: address 0x${v.toString(16)} is above 2^53`);
  return Number(v);
}

/** Refuse option keys that are not in `known`, naming the first (a misspelt option would otherwise pass silently). */
export function checkKnownKeys(what: string, o: object, known: readonly string[]): void {
  for (const k of Object.keys(o)) {
    if (!known.includes(k)) throw new RangeError(`${what}: unknown option ${shown(k)} (options: ${known.join(", ")})`);
  }
}

/** The longest Non-secure access (`ns.read`/`ns.write`): 64 MiB (a longer one is misuse, not a copy to allocate). */
export const MAX_NS_ACCESS = 64 * 2 ** 20;

export function requireLength(name: string, v: unknown): number {
  if (typeof v !== "number" || !Number.isInteger(v) || v < 0) {
    throw new TypeError(`${name}: expected a non-negative integer, got ${shown(v)}`);
  }
  if (v > MAX_NS_ACCESS) throw new RangeError(`${name}: ${v} bytes is more than one access may move (at most ${MAX_NS_ACCESS}, 64 MiB)`);
  return v;
}

export function requireBytes(name: string, v: unknown): Uint8Array {
  if (!(v instanceof Uint8Array)) throw new TypeError(`${name}: expected a Uint8Array`);
  return v;
}

/** A register argument of `smc`/`rmi.*`: a bigint, wrapped to 64 bits like an X register. */
export function requireReg(name: string, v: unknown): bigint {
  if (typeof v === "bigint") return BigInt.asUintN(64, v);
  if (typeof v === "number" && Number.isSafeInteger(v)) return BigInt.asUintN(64, BigInt(v));
  throw new TypeError(`${name}: expected a bigint register value, got ${v === undefined ? "undefined" : typeof v}`);
}

/**
 * Validation of arguments to the TypeScript API. Misuse of the API throws a clear error naming
 * the argument; RMI failures are values and never come through here.
 */

const MAX_SAFE_ADDRESS = 0x1f_ffff_ffff_ffffn;
const TWO_64 = 1n << 64n;

export function requireAddress(name: string, v: unknown): number {
  // the common case first: a bigint in [0, 2^53) (comparisons with constants allocate nothing)
  if (typeof v === "bigint" && v >= 0n && v <= MAX_SAFE_ADDRESS) return Number(v);
  if (typeof v !== "bigint") {
    throw new TypeError(`${name}: expected a bigint address, got ${v === undefined ? "undefined" : typeof v}`);
  }
  if (v < 0n) throw new RangeError(`${name}: address must not be negative (got ${v})`);
  if (v >= TWO_64) throw new RangeError(`${name}: address does not fit in 64 bits`);
  if (v > MAX_SAFE_ADDRESS) throw new RangeError(`${name}: address 0x${v.toString(16)} is above 2^53`);
  return Number(v);
}

export function requireLength(name: string, v: unknown): number {
  if (typeof v !== "number" || !Number.isInteger(v) || v < 0) {
    throw new TypeError(`${name}: expected a non-negative integer, got ${String(v)}`);
  }
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

/**
 * The register-to-number conversions of the RMI path (toNum, u64ToNumber, requireAddress) and the
 * alignment tests that avoid `%` on large numbers (find_granule, validMapAddr) give what the
 * straightforward forms give, on edge values and on random 64-bit values.
 */
import { describe, expect, it } from "vitest";
import { toNum, u64Hi, u64Lo, u64ToNumber } from "../../src/arch/geometry.js";
import { decodeRangeDesc, decodeRttFlags } from "../../src/rmm/abi/range-desc.js";
import { requireAddress } from "../../src/platform/args.js";
import { Platform } from "../../src/index.js";

/** toNum as it was written with Number(): the reference. */
function toNumRef(v: bigint): number {
  if (v >= 0n && v <= 0x1f_ffff_ffff_ffffn) return Number(v);
  v = BigInt.asUintN(64, v);
  if (v <= 0x1f_ffff_ffff_ffffn) return Number(v);
  return (v & 0xfffn) === 0n ? 2 ** 60 : 2 ** 60 + 256;
}

const EDGES: bigint[] = [
  0n, 1n, 4095n, 4096n, 0x7fff_ffffn, 0x8000_0000n, 0xffff_ffffn, 0x1_0000_0000n, 0x1_0000_1000n,
  (1n << 48n) - 4096n, 1n << 48n, (1n << 52n) + 4096n, (1n << 53n) - 1n, 1n << 53n, (1n << 53n) + 4096n,
  (1n << 63n) + 4096n, (1n << 64n) - 1n, (1n << 64n) - 4096n, 1n << 64n, (1n << 64n) + 0x8000_0000n, (1n << 80n) + 4096n,
  -1n, -4096n, -(1n << 53n), -(1n << 64n), -(1n << 64n) + 0x8000_0000n,
];

function randoms(n: number): bigint[] {
  // xorshift32, fixed seed: deterministic
  let x = 0x1234_5678;
  const next = () => {
    x ^= x << 13;
    x ^= x >>> 17;
    x ^= x << 5;
    return BigInt(x >>> 0);
  };
  const out: bigint[] = [];
  for (let i = 0; i < n; i++) {
    const v = (next() << 32n) | next();
    out.push(v, v >> BigInt(Number(next() % 64n)), -v, v << 12n, (v >> 11n) << 12n);
  }
  return out;
}

describe("register values as numbers", () => {
  it("toNum equals the Number() form on edges and 5,000 random values", () => {
    for (const v of [...EDGES, ...randoms(1000)]) expect(toNum(v), `0x${v.toString(16)}`).toBe(toNumRef(v));
  });

  it("u64ToNumber is Number(v) on [0, 2^53)", () => {
    for (const v of [...EDGES, ...randoms(1000)]) {
      if (v >= 0n && v < 1n << 53n) expect(u64ToNumber(v)).toBe(Number(v));
    }
  });

  it("requireAddress: same numbers, same errors", () => {
    for (const v of EDGES) {
      let ref: number | string;
      if (v < 0n) ref = "negative";
      else if (v >= 1n << 64n) ref = "64 bits";
      else if (v > 0x1f_ffff_ffff_ffffn) ref = "above 2^53";
      else ref = Number(v);
      if (typeof ref === "number") expect(requireAddress("pa", v)).toBe(ref);
      else expect(() => requireAddress("pa", v)).toThrow(ref);
    }
  });

  it("find_granule's alignment test: GRANULE_DELEGATE of an unaligned or huge address is INPUT, aligned DRAM succeeds", () => {
    const p = Platform.create({ rmm: "1.0", trace: false });
    for (const a of [0x8000_0001n, 0x8000_0800n, 0x8000_0fffn, (1n << 64n) - 4096n, (1n << 53n) + 0x8000_0000n, 0x7fff_f000n]) {
      expect(p.rmi.granuleDelegate(a).status, `0x${a.toString(16)}`).toBe("RMI_ERROR_INPUT");
    }
    for (const a of [0x8000_0000n, 0x8000_1000n, 0xffff_f000n]) expect(p.rmi.granuleDelegate(a).status).toBe("RMI_SUCCESS");
  });

  it("u64Lo/u64Hi are the 32-bit words of v mod 2^64", () => {
    for (const v of [...EDGES, ...randoms(1000)]) {
      const w = BigInt.asUintN(64, v);
      expect(u64Lo(v)).toBe(Number(w & 0xffff_ffffn));
      expect(u64Hi(v)).toBe(Number(w >> 32n));
    }
  });

  it("decodeRangeDesc and decodeRttFlags read the fields a bigint decode reads", () => {
    for (const v of [...EDGES, ...randoms(1000)]) {
      const w = BigInt.asUintN(64, v);
      const f = (shift: bigint, mask: bigint) => Number((w >> shift) & mask);
      expect(decodeRangeDesc(v)).toEqual({ addr: ((w >> 12n) & ((1n << 40n) - 1n)) << 12n, sz: f(0n, 3n), cnt: f(2n, 0x3ffn), state: f(63n, 1n) });
      expect(decodeRttFlags(v)).toEqual({ oaddrType: f(0n, 3n), listCount: f(2n, 0x3fffn), memattr: f(16n, 7n), s2ap: f(19n, 0xfn) });
    }
  });
});

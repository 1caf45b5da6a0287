/**
 * RMI_VERSION and RMI_FEATURES (rmm-model.md 3.1, 5.1, 5.2), through raw SMCs and the wrappers.
 */
import { describe, expect, it } from "vitest";
import { Platform } from "../../src/index.js";

const VERSION = 0xc400_0150n;
const FEATURES = 0xc400_0165n;

function field(v: bigint, lsb: number, width: number): number {
  return Number((v >> BigInt(lsb)) & ((1n << BigInt(width)) - 1n));
}

describe("RMI_VERSION", () => {
  it("v1.0: SUCCESS only for 1.0; x1 = x2 = 1.0 either way; upper bits zero", () => {
    const p = Platform.create({ rmm: "1.0" });
    expect(p.smc(VERSION, 0x1_0000n)).toEqual([0n, 0x1_0000n, 0x1_0000n, 0n, 0n]);
    for (const req of [0x1_0001n, 0x2_0000n, 0n, 0xffff_ffff_ffff_ffffn, 0x1_0000n | (1n << 32n)]) {
      expect(p.smc(VERSION, req)).toEqual([1n, 0x1_0000n, 0x1_0000n, 0n, 0n]);
    }
    expect(p.rmi.version(0x1_0000n)).toEqual({ status: "RMI_SUCCESS", index: 0, lower: 0x1_0000n, higher: 0x1_0000n });
    expect(p.rmmTrace.at(-1)).toBe("SMC_RMI_VERSION 10000 > RMI_SUCCESS 10000 10000");
  });
});

describe("RMI_FEATURES", () => {
  it("register 0 fields decode to the platform's features; other indices read 0", () => {
    const p = Platform.create({ rmm: "1.0" });
    const [x0, v] = p.smc(FEATURES, 0n) as [bigint, bigint];
    expect(x0).toBe(0n);
    expect({
      S2SZ: field(v, 0, 8), LPA2: field(v, 8, 1), SVE_EN: field(v, 9, 1), SVE_VL: field(v, 10, 4),
      NUM_BPS: field(v, 14, 6), NUM_WPS: field(v, 20, 6), PMU_EN: field(v, 26, 1), PMU_NUM_CTRS: field(v, 27, 5),
      HASH_SHA_256: field(v, 32, 1), HASH_SHA_512: field(v, 33, 1), GICV3_NUM_LRS: field(v, 34, 4), MAX_RECS_ORDER: field(v, 38, 4),
    }).toEqual({
      S2SZ: 48, LPA2: 0, SVE_EN: 0, SVE_VL: 0, NUM_BPS: 5, NUM_WPS: 3, PMU_EN: 1, PMU_NUM_CTRS: 8,
      HASH_SHA_256: 1, HASH_SHA_512: 1, GICV3_NUM_LRS: 15, MAX_RECS_ORDER: 10,
    });
    expect(v >> 42n).toBe(0n);
    for (const i of [1n, 2n, 0x100n, 1n << 63n, 0xffff_ffff_ffff_ffffn]) expect(p.smc(FEATURES, i)).toEqual([0n, 0n, 0n, 0n, 0n]);
  });

  it("follows the configured features (LPA2, SVE, fewer breakpoints, no SHA-512)", () => {
    const p = Platform.create({ rmm: "1.0", paBits: 52, features: { lpa2: true, s2sz: 52, sve: true, sveVl: 15, numBps: 2, sha512: false } });
    const v = p.rmi.features(0n).value;
    expect([field(v, 0, 8), field(v, 8, 1), field(v, 9, 1), field(v, 10, 4), field(v, 14, 6), field(v, 33, 1)]).toEqual([52, 1, 1, 15, 1, 0]);
  });
});

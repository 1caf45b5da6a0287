/**
 * The platform's NS access at a PA given as a number (readU64At, writeU64At, readU64NumberAt,
 * readU32At: what the host's run-page field accesses use) is the bigint-address access: the same
 * values, and the same faults where that access faults.
 */
import { describe, expect, it } from "vitest";
import { Platform } from "../../src/system/platform.js";
import { ExternalAbort, GranuleProtectionFault } from "../../src/platform/errors.js";

const PA = 0x8800_0000;

describe("NS access at a number PA", () => {
  it("reads and writes what the bigint forms read and write", () => {
    const p = Platform.create();
    const values = [0n, 1n, 0xffff_ffffn, 0x1_0000_0000n, (1n << 53n) - 1n, 1n << 53n, (1n << 53n) + 1n, 0xdead_beef_cafe_f00dn, (1n << 64n) - 1n];
    for (const [i, v] of values.entries()) {
      const pa = PA + 8 * i;
      p.ns.writeU64At(pa, v);
      expect(p.ns.readU64(BigInt(pa))).toBe(v);
      expect(p.ns.readU64At(pa)).toBe(v);
      expect(p.ns.readU64NumberAt(pa)).toBe(Number(v));
      expect(p.ns.readU32At(pa)).toBe(Number(v & 0xffff_ffffn));
    }
    // never written: 0
    expect(p.ns.readU64NumberAt(PA + 0x1000)).toBe(0);
    expect(p.ns.readU32At(PA + 0x1000)).toBe(0);
  });

  it("faults where the bigint forms fault: a delegated granule, outside memory, a field across a granule", () => {
    const p = Platform.create();
    expect(p.rmi.granuleDelegate(BigInt(PA)).status).toBe("RMI_SUCCESS");
    for (const f of [() => p.ns.readU64At(PA), () => p.ns.readU64NumberAt(PA + 8), () => p.ns.readU32At(PA + 16), () => p.ns.writeU64At(PA, 1n)]) {
      expect(f).toThrow(GranuleProtectionFault);
    }
    expect(() => p.ns.readU64(BigInt(PA))).toThrow(GranuleProtectionFault);
    expect(() => p.ns.readU64At(0x4000_0000)).toThrow(ExternalAbort);
    expect(() => p.ns.readU32At(0x4000_0000)).toThrow(ExternalAbort);
    // the NS granule after the delegated one: a field starting 4 bytes before it reaches into the delegated one
    expect(() => p.ns.readU64At(PA - 4)).toThrow(GranuleProtectionFault);
    expect(() => p.ns.readU64At(-8)).toThrow(/pa/);
    expect(() => p.ns.writeU64At(PA + 0x1000, 1 as unknown as bigint)).toThrow(TypeError);
  });
});

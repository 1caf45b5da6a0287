/**
 * RMI_GRANULE_DELEGATE / RMI_GRANULE_UNDELEGATE (v1.0): failure conditions in order
 * (rmm-model.md 5.3: align, bound, state, GPT) and the effects (state, PAS, scrubbing).
 */
import { describe, expect, it } from "vitest";
import { GranuleProtectionFault, Pas, Platform } from "../../src/index.js";
import { DRAM_BASE, G, MMIO_BASE, SECURE_BASE, makeRealm } from "./helpers.js";
import { expectFail } from "./rec-helpers.js";

describe("RMI_GRANULE_DELEGATE", () => {
  it("align, bound (MMIO, secure, holes, outside PA), state, GPT", () => {
    const p = Platform.create({ rmm: "1.0" });
    const pa = DRAM_BASE + 0x10_0000n;
    const del = (a: bigint) => () => p.rmi.granuleDelegate(a);
    expectFail(p, "unaligned", "RMI_ERROR_INPUT", 0, del(pa + 0x800n));
    expectFail(p, "unaligned by 1", "RMI_ERROR_INPUT", 0, del(pa + 1n));
    expectFail(p, "MMIO", "RMI_ERROR_INPUT", 0, del(MMIO_BASE));
    expectFail(p, "secure DRAM", "RMI_ERROR_INPUT", 0, del(SECURE_BASE + G));
    expectFail(p, "hole in the map", "RMI_ERROR_INPUT", 0, del(0x4000_0000n));
    expectFail(p, "above DRAM", "RMI_ERROR_INPUT", 0, del(DRAM_BASE + (2n << 30n)));
    expectFail(p, "outside PA", "RMI_ERROR_INPUT", 0, del(1n << 48n));
    expectFail(p, "huge", "RMI_ERROR_INPUT", 0, del(0xffff_ffff_ffff_f000n));
    // 4 a DRAM granule EL3 will not hand over (Root / Secure PAS in the GPT), still UNDELEGATED
    p.machine.gpt.set(Number((pa + G) / G), Pas.ROOT);
    p.machine.gpt.set(Number((pa + 2n * G) / G), Pas.SECURE);
    expectFail(p, "GPT root", "RMI_ERROR_INPUT", 0, del(pa + G));
    expectFail(p, "GPT secure", "RMI_ERROR_INPUT", 0, del(pa + 2n * G));

    // success: DELEGATED, Realm PAS, zeroed; the NS world can no longer touch it
    p.ns.write(pa, new Uint8Array(64).fill(0x5a));
    expect(p.rmi.granuleDelegate(pa)).toEqual({ status: "RMI_SUCCESS", index: 0 });
    expect(p.granule(pa)).toMatchObject({ state: "DELEGATED", pas: "REALM", refcount: 0, tracked: true });
    expect(p.machine.mem.isZero(Number(pa / G))).toBe(true);
    expect(() => p.ns.read(pa, 8)).toThrow(GranuleProtectionFault);
    // 3 state: not UNDELEGATED (the GPT check is not reached)
    expectFail(p, "already delegated", "RMI_ERROR_INPUT", 0, del(pa));
    const t = makeRealm({ p });
    expectFail(p, "an RD", "RMI_ERROR_INPUT", 0, del(t.rd));
    expectFail(p, "an RTT", "RMI_ERROR_INPUT", 0, del(t.rtt));
  });
});

describe("RMI_GRANULE_UNDELEGATE", () => {
  it("align, bound, state; returns the granule to the NS PAS, zeroed", () => {
    const p = Platform.create({ rmm: "1.0" });
    const t = makeRealm({ p });
    const pa = t.delegated();
    const und = (a: bigint) => () => p.rmi.granuleUndelegate(a);
    expectFail(p, "unaligned", "RMI_ERROR_INPUT", 0, und(pa + 8n));
    expectFail(p, "MMIO", "RMI_ERROR_INPUT", 0, und(MMIO_BASE + G));
    expectFail(p, "secure", "RMI_ERROR_INPUT", 0, und(SECURE_BASE));
    expectFail(p, "outside PA", "RMI_ERROR_INPUT", 0, und(1n << 49n));
    expectFail(p, "undelegated", "RMI_ERROR_INPUT", 0, und(DRAM_BASE));
    expectFail(p, "RD", "RMI_ERROR_INPUT", 0, und(t.rd));
    expectFail(p, "root RTT", "RMI_ERROR_INPUT", 0, und(t.rtt));
    const rootNs = DRAM_BASE + 0x20_0000n;
    p.machine.gpt.set(Number(rootNs / G), Pas.ROOT);
    expectFail(p, "undelegated, GPT root", "RMI_ERROR_INPUT", 0, und(rootNs));
    expect(p.rmi.granuleUndelegate(pa)).toEqual({ status: "RMI_SUCCESS", index: 0 });
    expect(p.granule(pa)).toMatchObject({ state: "UNDELEGATED", pas: "NS" });
    expect(p.ns.read(pa, 16)).toEqual(new Uint8Array(16));
    expectFail(p, "twice", "RMI_ERROR_INPUT", 0, und(pa));
  });
});

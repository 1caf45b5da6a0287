/**
 * RMI_GRANULE_TRACKING_GET (0x1E1) and RMI_GPT_L1_CREATE (0x1F3) in the RMM v2.0 mode
 * (src/rmm/commands/v2/tracking.ts): ordered failure conditions, outputs, the range form (bet1+,
 * v14) and the region form of the bet0 RMM (v1Compat, v13), availability before RMM_ACTIVATE.
 */
import { describe, it, expect } from "vitest";
import { Platform, RmiMemCategory, RmiTrackingRegionState } from "../../src/index.js";
import type { MemoryRegion } from "../../src/platform/memory-map.js";
import { encodeRmmConfig } from "../../src/rmm/abi/rmm-config.js";
import { ok } from "./helpers.js";

const GiB = 1n << 30n;
const CONV = BigInt(RmiMemCategory.RMI_MEM_CATEGORY_CONVENTIONAL);
const CAT_NONE = BigInt(RmiMemCategory.RMI_MEM_CATEGORY_NONE);
const FINE = BigInt(RmiTrackingRegionState.RMI_TRACKING_FINE);
const RESERVED = BigInt(RmiTrackingRegionState.RMI_TRACKING_RESERVED);
const TR_NONE = BigInt(RmiTrackingRegionState.RMI_TRACKING_NONE);

/** QEMU sbsa-ref: DRAM that starts 48 MiB into a 1 GiB tracking region (S29). */
const SBSA_BASE = 0x100_4300_0000n;
const SBSA_MAP: MemoryRegion[] = [
  { kind: "mmio", base: 0x1c00_0000n, size: 16n << 20n },
  { kind: "dram", base: SBSA_BASE, size: 2n * GiB },
];
/** Two DRAM banks with a hole, the second not tracking-region aligned either. */
const TWO_BANKS: MemoryRegion[] = [
  { kind: "dram", base: 0x8000_0000n, size: GiB },
  { kind: "dram", base: 0x1_0020_0000n, size: GiB },
];

/** RMM_CONFIG_SET {0, 0} + RMM_ACTIVATE, the config page in the platform's first DRAM bank. */
function boot(p: Platform): void {
  const cfg = p.memoryMap.find((r) => r.kind === "dram")!.base + 0x10_0000n;
  p.ns.write(cfg, encodeRmmConfig({ trackingRegionSize: 0, rmiGranuleSize: 0 }));
  ok(p.rmi.rmmConfigSet(cfg));
  ok(p.rmi.rmmActivate());
}

function active(opts: Parameters<typeof Platform.create>[0] = {}): Platform {
  const p = Platform.create({ rmm: "2.0", ...opts });
  boot(p);
  return p;
}

describe("RMI_GRANULE_TRACKING_GET (range form: spec 2.0-bet1, TF-RMM main)", () => {
  it("has FID 0xC40001E1 with outputs category, state, top", () => {
    const p = active();
    expect(p.fid("RMI_GRANULE_TRACKING_GET")).toBe(0xc400_01e1n);
    const [x0, x1, x2, x3] = p.smc(0xc400_01e1n, 0x8000_0000n, 0x1_0000_0000n);
    expect([x0, x1, x2, x3]).toEqual([0n, CONV, FINE, 0x1_0000_0000n]);
  });

  it("failure conditions in order: base/top above the PA size, base >= top, alignment -> INPUT, outputs 0", () => {
    const p = active();
    const pa = 1n << 48n;
    const rows: [string, bigint, bigint][] = [
      ["base above the PA size", pa + 0x1000n, pa + 0x2000n],
      ["top above the PA size", 0x8000_0000n, pa + 0x1000n],
      ["base == top", 0x8000_0000n, 0x8000_0000n],
      ["base > top", 0x8000_2000n, 0x8000_1000n],
      ["base not granule aligned", 0x8000_0800n, 0x8000_2000n],
      ["top not granule aligned", 0x8000_0000n, 0x8000_2800n],
      ["base 2^64-4K (huge)", 0xffff_ffff_ffff_f000n, 0xffff_ffff_ffff_f000n],
    ];
    for (const [what, b, t] of rows) {
      const r = p.rmi.granuleTrackingGet(b, t);
      expect({ what, status: r.status, category: r.category, state: r.state, top: r.top }).toEqual({ what, status: "RMI_ERROR_INPUT", category: 0n, state: 0n, top: 0n });
    }
    // precedence: a range above the PA size that is also misaligned and inverted is still INPUT
    expect(p.rmi.granuleTrackingGet(pa + 0x1800n, 0x1000n).status).toBe("RMI_ERROR_INPUT");
    // the exclusive top may equal the PA size: the last piece, unpopulated, ends there
    const last = p.rmi.granuleTrackingGet(pa - 0x1000n, pa);
    expect(last).toMatchObject({ status: "RMI_SUCCESS", category: CAT_NONE, state: RESERVED, top: pa });
  });

  it("DRAM is CONVENTIONAL/FINE; same-state tracking regions merge up to top or the end of the bank", () => {
    const p = active(); // DRAM [0x8000_0000, 0x1_0000_0000): two 1 GiB tracking regions
    expect(p.rmi.granuleTrackingGet(0x8000_0000n, 0x1_0000_0000n)).toMatchObject({ status: "RMI_SUCCESS", category: CONV, state: FINE, top: 0x1_0000_0000n });
    // stops at top inside a region
    expect(p.rmi.granuleTrackingGet(0x8000_1000n, 0x8000_5000n)).toMatchObject({ category: CONV, state: FINE, top: 0x8000_5000n });
    // a range running past the bank stops at the bank's end (the rest is another category)
    expect(p.rmi.granuleTrackingGet(0xc000_0000n, 0x2_0000_0000n)).toMatchObject({ category: CONV, state: FINE, top: 0x1_0000_0000n });
    // below DRAM (the MMIO window and holes are not RMM banks): NONE/RESERVED up to the next bank
    expect(p.rmi.granuleTrackingGet(0x1000_0000n, 0x9000_0000n)).toMatchObject({ category: CAT_NONE, state: RESERVED, top: 0x8000_0000n });
    // above DRAM: NONE/RESERVED up to top (no further bank)
    expect(p.rmi.granuleTrackingGet(0x1_0000_0000n, 0x4_0000_0000n)).toMatchObject({ category: CAT_NONE, state: RESERVED, top: 0x4_0000_0000n });
  });

  it("DRAM not aligned to the tracking region (sbsa-ref, S29): the walk by top covers it in one call", () => {
    const p = active({ memoryMap: SBSA_MAP });
    const end = SBSA_BASE + 2n * GiB;
    const r = p.rmi.granuleTrackingGet(SBSA_BASE, end);
    expect(r).toMatchObject({ status: "RMI_SUCCESS", category: CONV, state: FINE, top: end });
    // the aligned-down start is outside the platform map: unpopulated up to the bank
    expect(p.rmi.granuleTrackingGet(0x100_4000_0000n, end)).toMatchObject({ status: "RMI_SUCCESS", category: CAT_NONE, state: RESERVED, top: SBSA_BASE });
  });

  it("two banks with a hole: a walk by the returned top visits bank, hole, bank", () => {
    const p = active({ memoryMap: TWO_BANKS });
    const pieces: [bigint, bigint, bigint][] = [];
    let at = 0x8000_0000n;
    const end = 0x1_4020_0000n;
    while (at < end) {
      const r = p.rmi.granuleTrackingGet(at, end);
      ok(r);
      pieces.push([at, r.category, r.state]);
      expect(r.top > at).toBe(true);
      at = r.top;
    }
    expect(at).toBe(end);
    expect(pieces).toEqual([
      [0x8000_0000n, CONV, FINE],
      [0xc000_0000n, CAT_NONE, RESERVED],
      [0x1_0020_0000n, CONV, FINE],
    ]);
  });

  it("is callable before RMM_ACTIVATE (state NONE until tracking is initialised), and changes nothing", () => {
    const p = Platform.create({ rmm: "2.0" });
    const before = JSON.stringify(p.rmm.granuleCounts());
    expect(p.rmi.granuleTrackingGet(0x8000_0000n, 0x1_0000_0000n)).toMatchObject({ status: "RMI_SUCCESS", category: CONV, state: TR_NONE, top: 0x1_0000_0000n });
    expect(p.rmi.granuleRangeDelegate(0x8000_0000n, 0x8000_1000n).status).toBe("RMI_ERROR_GLOBAL");
    boot(p);
    expect(p.rmi.granuleTrackingGet(0x8000_0000n, 0x1_0000_0000n)).toMatchObject({ status: "RMI_SUCCESS", state: FINE });
    expect(JSON.stringify(p.rmm.granuleCounts())).toBe(before);
  });

  it("is not in the RMM v1.0 table (SMC_UNKNOWN)", () => {
    const p = Platform.create({ rmm: "1.0" });
    expect(p.rmm.command("granuleTrackingGet")).toBeUndefined();
    expect(p.smc(0xc400_01e1n, 0x8000_0000n, 0x1_0000_0000n)[0]).toBe(0xffff_ffff_ffff_ffffn);
  });
});

describe("RMI_GRANULE_TRACKING_GET (region form of the bet0 RMM: v1Compat, v13)", () => {
  it("takes one tracking-region address; x2 is ignored; x1 category, x2 state, x3 0", () => {
    const p = active({ v1Compat: true });
    for (const junk of [0n, 0x1234_5000n, 0xffff_ffff_ffff_ffffn]) {
      const [x0, x1, x2, x3] = p.smc(0xc400_01e1n, 0xc000_0000n, junk);
      expect([x0, x1, x2, x3]).toEqual([0n, CONV, FINE, 0n]);
    }
  });

  it("failure conditions in order: above the PA size, not 1 GiB aligned, region base not a tracked granule -> INPUT", () => {
    const p = active({ v1Compat: true, memoryMap: SBSA_MAP });
    const rows: [string, bigint][] = [
      ["above the PA size", 1n << 48n],
      ["not 1 GiB aligned (even inside DRAM)", SBSA_BASE],
      ["region holds DRAM, its base does not (S29: v13 aligns down)", 0x100_4000_0000n],
      ["no memory at all", 0x4000_0000n],
    ];
    for (const [what, a] of rows) {
      const r = p.rmi.granuleTrackingGet(a, 0n);
      expect({ what, status: r.status, category: r.category, state: r.state }).toEqual({ what, status: "RMI_ERROR_INPUT", category: 0n, state: 0n });
    }
    // the next region starts in DRAM
    expect(p.rmi.granuleTrackingGet(0x100_8000_0000n, 0n)).toMatchObject({ status: "RMI_SUCCESS", category: CONV, state: FINE });
  });
});

describe("RMI_GPT_L1_CREATE", () => {
  it("FID 0xC40001F3; INPUT for an address above the PA size or not L0GPTSZ (1 GiB) aligned, else ERROR_GPT (exists)", () => {
    const p = active();
    expect(p.fid("RMI_GPT_L1_CREATE")).toBe(0xc400_01f3n);
    expect(p.rmi.gptL1Create(1n << 48n).status).toBe("RMI_ERROR_INPUT");
    expect(p.rmi.gptL1Create(0x8000_1000n).status).toBe("RMI_ERROR_INPUT");
    expect(p.rmi.gptL1Create(0x4000_0000n + 0x20_0000n).status).toBe("RMI_ERROR_INPUT");
    for (const a of [0n, 0x8000_0000n, 0x100_4000_0000n]) expect(p.rmi.gptL1Create(a)).toMatchObject({ status: "RMI_ERROR_GPT", index: 0 });
  });

  it("needs an active RMM (ERROR_GLOBAL before RMM_ACTIVATE) and changes no granule or GPT entry", () => {
    const p = Platform.create({ rmm: "2.0" });
    expect(p.rmi.gptL1Create(0x8000_0000n).status).toBe("RMI_ERROR_GLOBAL");
    boot(p);
    const pas = p.granule(0x8000_0000n).pas;
    expect(p.rmi.gptL1Create(0x8000_0000n).status).toBe("RMI_ERROR_GPT");
    expect(p.granule(0x8000_0000n).pas).toBe(pas);
    expect(p.rmm.granuleCounts().DELEGATED).toBe(0);
  });
});

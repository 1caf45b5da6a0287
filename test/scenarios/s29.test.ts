/**
 * S29 (linux-cca-series.md §6; Mathieu Poirier, v13 10/48): DRAM at QEMU sbsa-ref's
 * 0x100_4300_0000, not on a 1 GiB tracking region. v13 aligns down and asks the RMM about
 * 0x100_4000_0000 (outside the platform map): RMI_ERROR_INPUT, -ENODEV, realm support disabled.
 * v14 asks with the range form and walks by the returned top: realms work. v8..v12 (RMM v1.0) do
 * not ask. The same through the Host API by hand.
 */
import { describe, it, expect } from "vitest";
import * as scenarios from "../../src/scenarios/index.js";
import { Host } from "../../src/host/host.js";
import { SBSA_MEMORY_MAP } from "../../src/scenarios/s29-granule-tracking.js";

const smc = (h: Host, name: string) => h.trace.filter((l) => l.startsWith(`SMC_RMI_${name} `));

describe("S29 granule-tracking alignment at init", () => {
  it("is listed with v13 as the posting it affects, runnable on every posting", () => {
    const info = scenarios.list().find((s) => s.id === "S29")!;
    expect(info.affects).toEqual(["v13"]);
    expect(info.series).toEqual(expect.arrayContaining(["v8", "v10", "v12", "v13", "v14"]));
  });

  for (const series of ["v8", "v10", "v12"] as const) {
    it(`${series} (RMM v1.0): no tracking check at init; the realm runs from the unaligned DRAM`, () => {
      const r = scenarios.run("S29", { series });
      expect(r.outcome).toBe("ok");
      expect(r.data).toMatchObject({ rmiInit: "0", trackingGet: [], gptL1Create: 0, realmSupport: "available", realmStarted: true });
      expect(r.warnCount).toBe(0);
      expect(r.data.alignedDram).toBeUndefined();
    });
  }

  it("v13: GRANULE_TRACKING_GET(0x10040000000) -> RMI_ERROR_INPUT, -ENODEV, realm support disabled", () => {
    const r = scenarios.run("S29", { series: "v13" });
    expect(r.outcome).toBe("error");
    expect(r.data.rmiInit).toBe("-ENODEV");
    expect(r.data.realmSupport).toBe("disabled");
    // one call, about the aligned-down address, then it gives up (no GPT calls)
    expect(r.data.trackingGet).toEqual([{ base: "0x10040000000", top: "0x0", status: "RMI_ERROR_INPUT" }]);
    expect(r.data.gptL1Create).toBe(0);
    expect(r.data.createRealm).toMatch(/realm support is disabled on this v13 host: kvm_init_rmi: Granule tracking for region isn't fine\/conventional: 10040000000 \(-ENODEV\)/);
    expect(r.notes).toContain("kvm_init_rmi: Granule tracking for region isn't fine/conventional: 10040000000 (-ENODEV)");
    expect(r.trace).toContain("SMC_RMI_GRANULE_TRACKING_GET 10040000000 0 > RMI_ERROR_INPUT");
    // control: with DRAM on a 1 GiB boundary v13 asks per region (2 GiB: two calls) and is fine
    expect(r.data.alignedDram).toEqual({ dramBase: "0x80000000", rmiInit: "0", trackingGet: 2 });
    expect(r.warnCount).toBe(0);
  });

  it("v14: one range GRANULE_TRACKING_GET covers the DRAM; three GPT_L1_CREATE; the realm runs", () => {
    const r = scenarios.run("S29", { series: "v14" });
    expect(r.outcome).toBe("ok");
    expect(r.data).toMatchObject({ rmiInit: "0", realmSupport: "available", realmStarted: true, gptL1Create: 3 });
    expect(r.data.trackingGet).toEqual([{ base: "0x10043000000", top: "0x100c3000000", status: "RMI_SUCCESS", category: 0, state: 2, outTop: "0x100c3000000" }]);
    expect(r.data.alignedDram).toEqual({ dramBase: "0x80000000", rmiInit: "0", trackingGet: 1 });
    expect(r.warnCount).toBe(0);
    expect(r.leakedGranules).toBe(0);
  });

  it("by hand through the Host API: v13 createRealm throws naming the reason and changes nothing; v14 works", () => {
    const h13 = Host.create({ series: "v13", seed: 1, memoryMap: SBSA_MEMORY_MAP });
    expect(h13.rmiInit).toBe(-19);
    expect(h13.trace).toContain("KVM: kvm_init_rmi: Granule tracking for region isn't fine/conventional: 10040000000: realm support disabled");
    const before = { stats: h13.stats(), trace: h13.trace.length };
    expect(() => h13.createRealm({ ipaBits: 40, memory: 16n << 20n })).toThrow(/realm support is disabled on this v13 host.*-ENODEV.*-EINVAL/);
    expect(h13.vms).toHaveLength(0);
    expect(h13.stats()).toEqual(before.stats);
    expect(h13.trace.length).toBe(before.trace);

    const h14 = Host.create({ series: "v14", seed: 1, memoryMap: SBSA_MEMORY_MAP });
    expect(h14.rmiInit).toBe(0);
    expect(smc(h14, "GRANULE_TRACKING_GET")).toEqual(["SMC_RMI_GRANULE_TRACKING_GET 10043000000 100c3000000 > RMI_SUCCESS 0 2 100c3000000"]);
    expect(smc(h14, "GPT_L1_CREATE")).toEqual([
      "SMC_RMI_GPT_L1_CREATE 10040000000 > RMI_ERROR_GPT",
      "SMC_RMI_GPT_L1_CREATE 10080000000 > RMI_ERROR_GPT",
      "SMC_RMI_GPT_L1_CREATE 100c0000000 > RMI_ERROR_GPT",
    ]);
    const vm = h14.createRealm({ ipaBits: 40, memory: 16n << 20n });
    expect(vm.start().ok).toBe(true);
    expect(vm.touch(0x8000_1000n, { access: "write" }).outcome).toBe("ok");
  });

  it("v13 with the v14 host fix is not enough: the bet0 RMM has only the region form (the fix needs both sides)", () => {
    const h = Host.create({ series: "v13", seed: 1, memoryMap: SBSA_MEMORY_MAP, overrides: { memoryTrackingCheck: "v14-range" } });
    expect(h.rmiInit).toBe(-19);
    // asks about the unaligned start itself; the region form rejects an address off the 1 GiB grid
    expect(smc(h, "GRANULE_TRACKING_GET")).toEqual(["SMC_RMI_GRANULE_TRACKING_GET 10043000000 100c3000000 > RMI_ERROR_INPUT"]);
  });
});

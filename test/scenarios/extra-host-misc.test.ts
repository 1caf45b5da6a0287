import { describe, it, expect } from "vitest";
import * as scenarios from "../../src/scenarios/index.js";

const has = (id: string, s: string) => scenarios.list().find((x) => x.id === id)!.series.includes(s);

describe("the catalogue is complete", () => {
  it("lists S01..S33 in order, each once", () => {
    const ids = scenarios.list().map((s) => s.id);
    for (const id of ["S17", "S18", "S20", "S21", "S22", "S26", "S27", "S30", "S31", "S32", "S33"]) expect(ids).toContain(id);
    expect([...ids].sort()).toEqual(ids);
    expect(new Set(ids).size).toBe(ids.length);
  });
  it("S32 and S33 are notes only", () => {
    for (const id of ["S32", "S33"]) {
      const r = scenarios.run(id, { series: "v12" });
      expect(r.outcome).toBe("ok");
      expect(r.data.simulatable).toBe(false);
      expect(r.notes[0]).toMatch(/not simulatable/);
      expect(r.rmiCalls).toBe(2); // only the host's own kvm_init_rmi: RMI_VERSION, RMI_FEATURES(0)
    }
  });
});

describe("S26 nVHE host", () => {
  for (const series of ["v8", "v10", "v12"] as const) {
    it(`${series}: the LRs travel in rec_run, the pending interrupt reaches the REC on an nVHE host`, () => {
      const r = scenarios.run("S26", { series });
      expect(r.outcome).toBe("ok");
      expect(r.data.vgic).toEqual({ delivered: 1, lost: 0, inRecGicState: true });
    });
  }
  it("v13 loses it, v14 refuses realms (where available)", () => {
    if (has("S26", "v13")) expect(scenarios.run("S26", { series: "v13" }).data.vgic).toMatchObject({ lost: 1, inRecGicState: false });
    if (has("S26", "v14")) expect(scenarios.run("S26", { series: "v14" }).data.realmSupport).toBe("-EINVAL");
  });
});

describe("S27 debug load/put depth", () => {
  for (const series of ["v8", "v10", "v12"] as const) {
    it(`${series}: balanced after 8 KVM_RUNs`, () => {
      const r = scenarios.run("S27", { series });
      expect(r.outcome).toBe("ok");
      expect(r.data.debug).toMatchObject({ cycles: 8, depthBefore: 0, depthAfter: 0 });
    });
  }
  it("v14 (where available): one level deeper per KVM_RUN", () => {
    if (!has("S27", "v14")) return;
    const r = scenarios.run("S27", { series: "v14" });
    expect(r.outcome).toBe("error");
    const d = r.data.debug as { cycles: number; depthBefore: number; depthAfter: number; puts: number };
    expect(d.depthAfter - d.depthBefore).toBe(d.cycles);
    expect(d.puts).toBe(0);
  });
});

describe("S30 private fault racing a guest_memfd hole punch", () => {
  for (const series of ["v8", "v10"] as const) {
    it(`${series}: the mapping goes in after the invalidation, of a page guest_memfd dropped`, () => {
      const r = scenarios.run("S30", { series });
      expect(r.outcome).toBe("error");
      expect(r.data.race).toEqual({ holePunchedWhileVcpuAt: "GRANULE_DELEGATE", mapping: "ASSIGNED_RAM", mappedPageInGuestMemfd: false, mappedPageRefcount: 1, dataCreateUnknownCalls: 1 });
    });
  }
  it("v12: gmem_abort sees the invalidation, retries, and maps guest_memfd's new page", () => {
    const r = scenarios.run("S30", { series: "v12" });
    expect(r.outcome).toBe("ok");
    expect(r.data.race).toMatchObject({ holePunchedWhileVcpuAt: "mmu_lock:read", mapping: "ASSIGNED_RAM", mappedPageInGuestMemfd: true, dataCreateUnknownCalls: 1 });
  });
});

describe("S31 UB shift on a never-created realm", () => {
  const UNMAP = "S31: kvm_realm_unmap_range computes BIT(ia_bits - 1) with ia_bits == 0 (undefined shift)";
  const DESTROY = "S31: kvm_destroy_realm computes BIT(ia_bits - 1) with ia_bits == 0 (undefined shift) before its created check";
  for (const series of ["v8", "v10"] as const) {
    it(`${series}: a memslot flush before the RD exists shifts by -1; destroy does through the guest_memfd invalidation`, () => {
      const r = scenarios.run("S31", { series });
      expect(r.outcome).toBe("error");
      expect(r.data.A).toEqual({ state: "NONE", ubShifts: [UNMAP] });
      expect(r.data.B).toEqual({ state: "NONE", ubShifts: [UNMAP] });
    });
  }
  it("v12: kvm_destroy_realm adds its own unmap and RTT teardown before the created check", () => {
    const r = scenarios.run("S31", { series: "v12" });
    expect(r.outcome).toBe("error");
    expect(r.data.A).toEqual({ state: "NONE", ubShifts: [UNMAP] });
    const b = r.data.B as { ubShifts: string[] };
    expect(b.ubShifts).toContain("S31: kvm_realm_destroy_rtts with ia_bits == 0 (never-created realm)");
    expect(b.ubShifts.filter((f) => f === UNMAP)).toHaveLength(2);
    expect(b.ubShifts).toContain(DESTROY);
  });
  it("v13: A is gone (created checked first in kvm_realm_unmap_range), B stays: kvm_destroy_realm shifts by -1 itself", () => {
    const r = scenarios.run("S31", { series: "v13" });
    expect(r.outcome).toBe("error");
    expect(r.data.A).toEqual({ state: "NONE", ubShifts: [] });
    expect(r.data.B).toEqual({ state: "NONE", ubShifts: [DESTROY] });
  });
  it("v14: the destroy-time unmap runs after the created check: no UB shift at all; the never-created realm's PGD is not freed", () => {
    const r = scenarios.run("S31", { series: "v14" });
    expect(r.data.A).toEqual({ state: "NONE", ubShifts: [] });
    expect(r.data.B).toEqual({ state: "NONE", ubShifts: [] });
    // v14 17/44 kvm_uninit_stage2_mmu -> kvm_realm_uninit_stage2 returns unless ACTIVE, and v14 14/44
    // kvm_destroy_realm returns before kvm_free_stage2_pgd when !kvm_realm_is_created: B's PGD leaks.
    expect(r.outcome).toBe("leak");
  });
});

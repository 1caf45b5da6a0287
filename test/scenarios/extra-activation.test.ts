import { describe, it, expect } from "vitest";
import * as scenarios from "../../src/scenarios/index.js";

type Part = { firstRun: string; secondRun: string; state: string; rdExists: boolean; stateAfterFirst?: string };

describe("S17 activation failure semantics", () => {
  it("v8/v10: no irqchip fails every KVM_RUN but leaves the realm ACTIVE; a failed ACTIVATE_REALM can be retried", () => {
    for (const series of ["v8", "v10"] as const) {
      const r = scenarios.run("S17", { series });
      expect(r.outcome).toBe("error");
      const A = r.data.A as Part;
      expect(A).toEqual({ firstRun: "-EOPNOTSUPP", secondRun: "-EOPNOTSUPP", state: "ACTIVE", rdExists: true });
      const B = r.data.B as Part;
      expect(B.firstRun).toBe("-ENXIO");
      expect(B.stateAfterFirst).toBe("NEW");
      expect(B.secondRun).toBe("ACTIVATE_REALM 0, KVM_RUN ok");
      expect(B.state).toBe("ACTIVE");
    }
  });
  it("v12: no irqchip kills the realm (DEAD after the RD was created); the second run gets -ENXIO from realm_ensure_created", () => {
    const r = scenarios.run("S17", { series: "v12" });
    expect(r.outcome).toBe("error");
    expect(r.data.A).toEqual({ firstRun: "-EOPNOTSUPP", secondRun: "-ENXIO", state: "DEAD", rdExists: true });
    const B = r.data.B as Part;
    expect(B).toMatchObject({ firstRun: "-ENXIO", stateAfterFirst: "DEAD", secondRun: "-ENXIO", state: "DEAD" });
    expect(r.trace.some((l) => l.startsWith("SMC_RMI_REALM_ACTIVATE") && l.includes("RMI_ERROR_REALM"))).toBe(true);
  });
  it("v13 (where available): irqchip checked first, realm not killed; a DEAD realm's second run fails in kvm_rec_pre_enter", () => {
    if (!scenarios.list().find((s) => s.id === "S17")!.series.includes("v13")) return;
    const r = scenarios.run("S17", { series: "v13" });
    const A = r.data.A as Part;
    expect(A.firstRun).toBe("-EOPNOTSUPP");
    expect(A.secondRun).toBe("-EOPNOTSUPP");
    expect(A.state).not.toBe("DEAD");
    expect(r.data.B).toMatchObject({ stateAfterFirst: "DEAD", secondRun: "-EINVAL" });
  });
});

describe("S18 partial REC creation", () => {
  it("v8/v10: KVM_ARM_VCPU_FINALIZE(vcpu1) fails, the realm stays NEW with REC 0; destroy gives every REC back", () => {
    for (const series of ["v8", "v10"] as const) {
      const r = scenarios.run("S18", { series });
      expect(r.outcome).toBe("error");
      expect(r.data.afterFailure).toMatchObject({ failedIoctl: "KVM_ARM_VCPU_FINALIZE(vcpu1, REC) = -ENXIO", state: "NEW", recGranules: 1 });
      const d = r.data.afterDestroy as { recGranules: number; recAuxGranules: number; leakedByOwner: Record<string, number> };
      expect(d.recGranules).toBe(0);
      expect(d.recAuxGranules).toBe(0);
      expect(d.leakedByOwner["kvm-rec"] ?? 0).toBe(0);
      // v10 11/43 kvm_create_rec leaves vCPU 1's rec->run dangling: kvm_destroy_rec's REC_DESTROY
      // of the freed REC page fails, WARN_ON
      expect(r.warnCount).toBe(1);
    }
  });
  it("v12: the first KVM_RUN fails with REC 0 created, the realm DEAD and no INIT_RIPAS; RECs return at destroy", () => {
    const r = scenarios.run("S18", { series: "v12" });
    expect(r.outcome).toBe("error");
    expect(r.data.afterFailure).toEqual({ failedIoctl: "KVM_RUN(vcpu0) = -ENXIO", state: "DEAD", recGranules: 1, recAuxGranules: 16, rttInitRipasCalls: 0 });
    // only the PGD (S14) is lost, never a REC or aux page
    expect(r.data.afterDestroy).toEqual({ recGranules: 0, recAuxGranules: 0, leakedByOwner: { "kvm-pgd": 2 } });
    // v12 12/46: the same dangling rec->run for vCPU 1 (one WARN at destroy)
    expect(r.warnCount).toBe(1);
  });
});

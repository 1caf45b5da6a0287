/**
 * S17 — activation failure semantics (v12 11/46 kvm_activate_realm; v13 16/48 "Change realm_state
 * checks to be >= REALM_STATE_ACTIVE to avoid a dead guest being revived by kvm_activate_realm()").
 * A: the VMM has no in-kernel irqchip. v12 creates the RD, marks the realm DEAD "in case we fail",
 *    then rejects the run: the realm is dead for good. v13 checks the irqchip first. v8/v10 reject
 *    the first run (kvm_arch_vcpu_run_pid_change) without touching the realm.
 * B: activation fails after the realm was marked DEAD (REALM_ACTIVATE fails). A second KVM_RUN:
 *    v12's early exit only matches ACTIVE, so it reaches realm_ensure_created (-ENXIO); v13's
 *    `state >= ACTIVE` returns 0 and the run fails in kvm_rec_pre_enter (-EINVAL). v8/v10: the
 *    VMM's CAP ACTIVATE_REALM fails, the realm stays NEW and the VMM may simply retry.
 */
import { kvm_activate_realm_cap } from "../kvm/rmi/lifecycle.js";
import { errnoName } from "../kvm/errno.js";
import type { StartResult } from "../vmm/vm.js";
import { rdExists, newHost } from "./helpers.js";
import type { ScenarioDef } from "./scenario.js";

/** What the first KVM_RUN of vCPU 0 returned during vm.start(). */
function firstRunErrno(s: StartResult): string {
  return s.steps.find((x) => x.ioctl === "KVM_RUN(vcpu0)")?.ret ?? "(no KVM_RUN: the VMM stopped before it)";
}

export const S17: ScenarioDef = {
  id: "S17",
  title: "Activation failure semantics: no in-kernel irqchip (A), a second run after a failed activation (B)",
  affects: ["v12"],
  run(series, mk) {
    const host = newHost(series);
    const rec = mk(host);
    // A: userspace irqchip.
    const a = host.createRealm({ ipaBits: 40, memory: 16n << 20n, vcpus: 1, irqchip: false });
    const sa = a.start();
    const aFirst = firstRunErrno(sa);
    rec.check("A: first KVM_RUN without an in-kernel irqchip", { outcome: sa.ok ? "ok" : "error" });
    const a2 = a.run(0, []);
    rec.data.A = { firstRun: aFirst, secondRun: a2.errno ?? a2.outcome, state: a.state, rdExists: rdExists(a) };
    // B: REALM_ACTIVATE fails (after v12 has marked the realm DEAD).
    host.inject({ rmi: "REALM_ACTIVATE", status: "RMI_ERROR_REALM" });
    const b = host.createRealm({ ipaBits: 40, memory: 16n << 20n, vcpus: 1 });
    const sb = b.start();
    const bFirst = b.kvm.profile.uapi === "vmm-driven"
      ? sb.steps.find((s) => s.ioctl.includes("ACTIVATE_REALM"))?.ret ?? "(not reached)"
      : firstRunErrno(sb);
    rec.check("B: activation fails", { outcome: sb.ok ? "ok" : "error" });
    const stateAfterFirst = b.state;
    let second: string;
    if (b.kvm.profile.uapi === "vmm-driven") {
      // The VMM retries KVM_CAP_ARM_RME_ACTIVATE_REALM, then runs vCPU 0.
      const r = kvm_activate_realm_cap(b.kvm);
      host.log.push("ioctl", `KVM_ENABLE_CAP(RME, ACTIVATE_REALM) = ${errnoName(r)} (retry)`);
      const t = b.run(0, []);
      second = `ACTIVATE_REALM ${errnoName(r)}, KVM_RUN ${t.errno ?? t.outcome}`;
    } else {
      const t = b.run(0, []);
      second = t.errno ?? t.outcome;
    }
    rec.data.B = { firstRun: bFirst, stateAfterFirst, secondRun: second, state: b.state, rdExists: rdExists(b) };
    rec.notes.push(`A: first KVM_RUN ${aFirst}, second ${String((rec.data.A as { secondRun: string }).secondRun)}, realm ${a.state}; B: ${bFirst} then ${second}, realm ${b.state}`);
    return { host, rec };
  },
};

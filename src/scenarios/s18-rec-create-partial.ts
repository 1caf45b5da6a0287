/**
 * S18 — partial REC creation during activation (v12..v14) [inferred]. REC_CREATE fails for vCPU k:
 * v12+ create every REC at the first KVM_RUN (v12 11/46 kvm_activate_realm), so RECs 0..k-1
 * exist, the realm is DEAD, INIT_RIPAS never ran and KVM_RUN fails; the RECs are only destroyed
 * with the vCPUs. v8/v10 create each REC at KVM_ARM_VCPU_FINALIZE(REC) (v10 11/43
 * kvm_arm_vcpu_finalize -> kvm_create_rec): the VMM sees that ioctl fail, the realm stays NEW.
 * Either way destroying the VM must give every REC granule back.
 */
import { countRmi, newHost } from "./helpers.js";
import type { ScenarioDef } from "./scenario.js";

export const S18: ScenarioDef = {
  id: "S18",
  title: "Partial REC creation during activation: REC_CREATE fails for vCPU 1 of 3",
  affects: ["v12"],
  run(series, mk) {
    const host = newHost(series);
    const rec = mk(host);
    const vm = host.createRealm({ ipaBits: 40, memory: 16n << 20n, vcpus: 3 });
    host.inject({ rmi: "REC_CREATE", nth: 2, status: "RMI_ERROR_INPUT" });
    const ripasBefore = countRmi(host, "RTT_INIT_RIPAS");
    const s = vm.start();
    const failed = s.steps.find((x) => x.ret !== "0");
    rec.check("start: REC_CREATE fails for vCPU 1", { outcome: s.ok ? "ok" : "error" });
    const recs = host.granules().REC;
    rec.data.afterFailure = {
      failedIoctl: failed === undefined ? null : `${failed.ioctl} = ${failed.ret}`,
      state: vm.state,
      recGranules: recs,
      recAuxGranules: host.granules().REC_AUX,
      rttInitRipasCalls: countRmi(host, "RTT_INIT_RIPAS") - ripasBefore,
    };
    vm.destroy();
    rec.check("destroy");
    const leaked = host.pages.pagesOf(vm.id).filter((p) => p.leaked);
    const byOwner: Record<string, number> = {};
    for (const p of leaked) byOwner[p.owner] = (byOwner[p.owner] ?? 0) + 1;
    rec.data.afterDestroy = { recGranules: host.granules().REC, recAuxGranules: host.granules().REC_AUX, leakedByOwner: byOwner };
    rec.notes.push(`${recs} REC(s) left after the failure, ${host.granules().REC} after destroy; leaked pages by owner ${JSON.stringify(byOwner)}`);
    if (!host.profile.recCreateUnwindClearsRun) {
      // v10 11/43 / v12 12/46 kvm_create_rec: the unwind frees rec->run but leaves the pointer set
      // (v13 17/48 adds `rec->run = NULL`): kvm_destroy_rec frees it again and WARNs on REC_DESTROY
      rec.notes.push("vCPU 1's failed kvm_create_rec left rec->run pointing at the page it freed: destroying the vCPU frees it a second time and REC_DESTROYs the freed REC page, which the RMM refuses (one WARN; the double free is undefined behaviour, flagged). Not in the series summary.");
    }
    return { host, rec };
  },
};

/**
 * S26 — an nVHE host loses the realm's GIC state (Jiahao Zheng, v13). The RMM v1.0 postings hand
 * the vGIC list registers to the REC in rec_run.enter and get them back in rec_run.exit, so the
 * host mode does not matter there; v13 passes them in ICH_*_EL2, loaded only on the VHE path; v14
 * refuses realm support on nVHE (src/kvm/vgic.ts). The scenario boots a realm on an nVHE host
 * (kvm-arm.mode=nvhe), makes a virtual interrupt (the timer PPI, 27) pending for vCPU 0 and runs it.
 */
import { kvm_realm_vhe_check, kvm_vgic_inject_irq, vgicCpu } from "../kvm/vgic.js";
import { errnoName } from "../kvm/errno.js";
import { RAM, newHost } from "./helpers.js";
import type { ScenarioDef } from "./scenario.js";

const TIMER_PPI = 27;

export const S26: ScenarioDef = {
  id: "S26",
  title: "nVHE host (kvm-arm.mode=nvhe): does a realm vCPU get its virtual interrupts?",
  affects: ["v13"],
  run(series, mk) {
    const host = newHost(series, { kvmArmMode: "nvhe" });
    const rec = mk(host);
    const sup = kvm_realm_vhe_check(host);
    if (sup !== 0) {
      rec.data.realmSupport = errnoName(sup);
      rec.notes.push("realm VMs refused on an nVHE host (KVM_CREATE_VM(REALM) fails)");
      rec.mark("error", `realm support disabled on nVHE: ${errnoName(sup)}`);
      return { host, rec };
    }
    const vm = host.createRealm({ ipaBits: 40, memory: 16n << 20n, vcpus: 1 });
    const s = vm.start();
    rec.check("start on an nVHE host", { outcome: s.ok ? "ok" : "error" });
    const vcpu = vm.kvm.vcpus[0]!;
    kvm_vgic_inject_irq(vcpu, TIMER_PPI);
    const t = vm.touch(RAM + 0x1000n, { access: "read" });
    rec.check("run with a pending virtual interrupt", t);
    const g = vgicCpu(vcpu);
    const rmmRec = host.platform.rmm.recs.get(vcpu.rec.recPage / 4096);
    const inRec = rmmRec?.gic.lrs.some((lr) => lr >> 62n !== 0n && (lr & 0xffff_ffffn) === BigInt(TIMER_PPI)) ?? false;
    rec.data.realmSupport = "0";
    rec.data.vgic = { delivered: g.delivered, lost: g.lost, inRecGicState: inRec };
    if (g.lost > 0) rec.mark("error", `GIC state lost on ${g.lost} REC entr${g.lost === 1 ? "y" : "ies"}: the realm never sees its interrupts`);
    return { host, rec };
  },
};

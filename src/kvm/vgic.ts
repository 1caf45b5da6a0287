/**
 * arch/arm64/kvm/vgic/ and the VHE check of rmi.c (v14).
 * The host's kernel mode (kvm-arm.mode: VHE or nVHE) and the part of the vGIC that S26 needs:
 * the list registers KVM hands to a REC around REC_ENTER.
 *
 * RMM v1.0 postings (v8..v12): KVM writes the vCPU's pending virtual interrupts into
 * rec_run.enter.gicv3_lrs / gicv3_hcr before REC_ENTER and reads exit.gicv3_* back afterwards
 * (the RMM validates and copies them: RMM spec A6.1, TF-RMM rec_exit/gic_copy_state), so the host
 * mode does not matter. v13 passes the GIC state in the ICH_*_EL2 system registers, which are only
 * loaded/saved on the VHE run path: on an nVHE host the REC gets none of it (Jiahao Zheng, v13).
 * v14 refuses realm support unless the kernel runs at EL2 (VHE).
 */
import { REC_RUN } from "../rmm/abi/rec-params.js";
import type { KvmEnv } from "./env.js";
import type { Vcpu } from "./kvm.js";

/**
 * Whether KVM offers realms on this host (the KVM_CAP for realm VMs): v14's RMI init bails out on
 * an nVHE host (!has_vhe()). Returns 0 or -EINVAL as KVM_CREATE_VM(REALM) would.
 */
export function kvm_realm_vhe_check(host: KvmEnv): number {
  if (host.profile.vheRequired && host.kvmArmMode === "nvhe") return -22;
  return 0;
}

/** ICH_LR_EL2 fields (Arm GICv3 architecture): State[63:62], HW[61], Group[60], Priority[55:48], vINTID[31:0]. */
const LR_STATE_PENDING = 1n << 62n;
const LR_GROUP1 = 1n << 60n;
const LR_PRIORITY_SHIFT = 48n;

export interface VgicCpu {
  /** Virtual interrupts waiting to be presented to the REC. */
  pending: number[];
  /** Entries that handed the pending interrupts to the REC. */
  delivered: number;
  /** Entries where KVM had interrupts pending but the REC never got them (GIC state lost). */
  lost: number;
  /** The LRs the RMM reported back at the last exit (rec_run.exit.gicv3_lrs), valid ones only. */
  lastExitLrs: bigint[];
}

const VGIC = new WeakMap<Vcpu, VgicCpu>();

export function vgicCpu(vcpu: Vcpu): VgicCpu {
  let s = VGIC.get(vcpu);
  if (s === undefined) {
    s = { pending: [], delivered: 0, lost: 0, lastExitLrs: [] };
    VGIC.set(vcpu, s);
  }
  return s;
}

/** kvm_vgic_inject_irq for a realm vCPU: the interrupt is pending for the next entry. */
export function kvm_vgic_inject_irq(vcpu: Vcpu, intid: number): void {
  if (!Number.isInteger(intid) || intid < 0 || intid > 1019) throw new RangeError(`kvm_vgic_inject_irq: vINTID ${String(intid)} is not an SGI/PPI/SPI (0..1019)`);
  const s = vgicCpu(vcpu);
  if (!s.pending.includes(intid)) s.pending.push(intid);
}

/** Before REC_ENTER (kvm_vgic_flush_hwstate + the series' copy into the REC's GIC state). */
export function vgic_flush_rec(vcpu: Vcpu): void {
  const s = VGIC.get(vcpu);
  if (s === undefined || s.pending.length === 0) return;
  const kvm = vcpu.kvm;
  if (kvm.profile.gicStateVia === "sysregs") {
    // ICH_*_EL2 are loaded only on the VHE vcpu run path; the nVHE REC entry bypasses it.
    if (kvm.env.kvmArmMode === "nvhe") {
      s.lost++;
      kvm.event(`vcpu${vcpu.id}: nVHE REC entry: ICH_LR<n>_EL2 not loaded, ${s.pending.length} virtual interrupt(s) not presented`);
    } else {
      s.delivered++;
    }
    return;
  }
  const ns = kvm.env.ns;
  const run = BigInt(vcpu.rec.run);
  ns.writeU64(run + BigInt(REC_RUN.enter.gicv3_hcr), 0n);
  for (let i = 0; i < 16; i++) {
    const intid = s.pending[i];
    const lr = intid === undefined ? 0n : LR_STATE_PENDING + LR_GROUP1 + (0xa0n << LR_PRIORITY_SHIFT) + BigInt(intid);
    ns.writeU64(run + BigInt(REC_RUN.enter.gicv3_lrs + 8 * i), lr);
  }
}

/** After REC_ENTER returns (kvm_vgic_sync_hwstate): read the LRs the RMM handed back. */
export function vgic_sync_rec(vcpu: Vcpu): void {
  const s = VGIC.get(vcpu);
  if (s === undefined || vcpu.kvm.profile.gicStateVia !== "rec_run") return;
  const ns = vcpu.kvm.env.ns;
  const run = BigInt(vcpu.rec.run);
  const lrs: bigint[] = [];
  for (let i = 0; i < 16; i++) {
    const lr = ns.readU64(run + BigInt(REC_RUN.exit.gicv3_lrs + 8 * i));
    if (lr >> 62n !== 0n) lrs.push(lr);
  }
  s.lastExitLrs = lrs;
  if (s.pending.length > 0 && s.pending.every((i) => lrs.some((lr) => (lr & 0xffff_ffffn) === BigInt(i)))) s.delivered++;
  else if (s.pending.length > 0) s.lost++;
}

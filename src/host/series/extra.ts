/**
 * More named variation points, per posting, for the scenarios S17..S31 (linux-cca-series.md §5,
 * §6). Kept in their own table so they can be added without touching the main profiles while
 * those are being extended; `extraProfile(profile)` gives the values for a posting.
 */
import type { SeriesId, SeriesProfile } from "./profile.js";

export interface ExtraProfile {
  /** S20: v8 realm_set_ipa_state has its own loop and writes *top_ipa after it, error or not (v7/v8
   *  rme.c); v9+ ripas_change writes it only on success. */
  ripasTopWrittenOnError: boolean;
  /** S17 A, §5.13/§9: v8/v10 reject a userspace irqchip at the first KVM_RUN
   *  (kvm_arch_vcpu_run_pid_change, -EOPNOTSUPP) before anything else; v12+ check it inside
   *  kvm_activate_realm. */
  firstRunIrqchipCheck: boolean;
  /** S27 (Gavin, v14 20/44): kvm_arch_vcpu_load runs kvm_vcpu_load_debug before the REC early
   *  return, kvm_arch_vcpu_put returns early for RECs before kvm_vcpu_put_debug. Earlier postings
   *  are taken as balanced (their placement was not read: the review found it in v14). */
  recDebugLoadPut: "balanced" | "load-only";
  /** S26: where the vGIC state of a REC travels. v8..v12 (RMM v1.0): the LRs in rec_run
   *  enter/exit, filled by KVM; v13: ICH_*_EL2 system registers, saved/restored only on the VHE
   *  path (Jiahao Zheng, v13). */
  gicStateVia: "rec_run" | "sysregs";
  /** S26: v14 refuses realm support unless the kernel runs at EL2 (VHE). */
  vheRequired: boolean;
  /** S22, §5.6: the populate uAPI. v8/v10 KVM_CAP_ARM_RME POPULATE_REALM {base, size, flags};
   *  v12 KVM_ARM_RMI_POPULATE {base, size, source_uaddr, flags, reserved} returning an int byte
   *  count (Marc, v12 06/46); v13/v14 update the struct in place. */
  populateUapi: "cap-populate-realm" | "ioctl-int-bytes" | "ioctl-in-place";
  /** S22: source_uaddr alignment checked (added in v13). */
  populateChecksSourceAlignment: boolean;
}

const TABLE: Record<SeriesId, ExtraProfile> = {
  v8: {
    ripasTopWrittenOnError: true,
    firstRunIrqchipCheck: true,
    recDebugLoadPut: "balanced",
    gicStateVia: "rec_run",
    vheRequired: false,
    populateUapi: "cap-populate-realm",
    populateChecksSourceAlignment: false,
  },
  v10: {
    ripasTopWrittenOnError: false,
    firstRunIrqchipCheck: true,
    recDebugLoadPut: "balanced",
    gicStateVia: "rec_run",
    vheRequired: false,
    populateUapi: "cap-populate-realm",
    populateChecksSourceAlignment: false,
  },
  v12: {
    ripasTopWrittenOnError: false,
    firstRunIrqchipCheck: false,
    recDebugLoadPut: "balanced",
    gicStateVia: "rec_run",
    vheRequired: false,
    populateUapi: "ioctl-int-bytes",
    populateChecksSourceAlignment: false,
  },
  v13: {
    ripasTopWrittenOnError: false,
    firstRunIrqchipCheck: false,
    recDebugLoadPut: "balanced",
    gicStateVia: "sysregs",
    vheRequired: false,
    populateUapi: "ioctl-in-place",
    populateChecksSourceAlignment: true,
  },
  v14: {
    ripasTopWrittenOnError: false,
    firstRunIrqchipCheck: false,
    recDebugLoadPut: "load-only",
    gicStateVia: "sysregs",
    vheRequired: true,
    populateUapi: "ioctl-in-place",
    populateChecksSourceAlignment: true,
  },
};

export function extraProfile(p: SeriesProfile): ExtraProfile {
  return TABLE[p.id];
}

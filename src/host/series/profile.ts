/**
 * What differs between the postings of "arm64: Support for Arm CCA in KVM" (Steven Price), as
 * named variation points. The host code (src/host) is written once; each profile only says which
 * variant of a function that posting had. Sources: linux-cca-series.md §2, §5 (per function), §6.
 */

export type SeriesId = "v8" | "v10" | "v12" | "v13" | "v14";
export const SERIES_IDS: readonly SeriesId[] = ["v8", "v10", "v12", "v13", "v14"];

export interface SeriesProfile {
  id: SeriesId;
  date: string;
  title: string;
  /** The RMM ABI the posting drives. */
  rmm: "1.0" | "2.0";
  /** §5.1/§9: v8/v10 the VMM drives CONFIG/CREATE/INIT_RIPAS/POPULATE/ACTIVATE through
   *  KVM_CAP_ARM_RME; v12+ implicit creation, populate ioctl, activation on first KVM_RUN. */
  uapi: "vmm-driven" | "implicit";
  /** Host bitmap VMID allocator (v8..v12; the RMM owns VMIDs from v13). */
  hostVmid: boolean;
  /** §5.9 realm_map_non_secure: v8 maps an L2 block when the request is 2 MiB aligned; v9+ L3 only. */
  sharedMapLevel: "L2-block-if-aligned" | "L3-only";
  /** §5.4 realm_create_rtt_levels, RTT_CREATE says "already exists": v8/v9 continue without freeing
   *  the new granule (S10); v10+ free it. */
  rttExistsFreesNewGranule: boolean;
  /** §5.3 v8 free_delegated_granule un-accounts one page-table page for every granule it frees
   *  (RD, REC, RTT): S11. v9+ only free_rtt un-accounts. */
  freeDelegatedGranuleUnaccounts: boolean;
  /** §5.10/S12: v8 kvm_realm_unmap_range ignores may_block (no cond_resched). */
  mayBlockPropagated: boolean;
  /** §5.11 step 1: v8 unmaps [0, ~0 & PAGE_MASK) with may_block=false; v10+ [0, BIT(ia_bits-1)) with true. */
  freePgdUnmapMayBlock: boolean;
  /** §5.11: what kvm_free_stage2_pgd does once the realm is DEAD: v8/v9 walk the (undelegated) PGD
   *  pages as stage-2 tables (S13); v10..v13 skip the walk and never free the PGD (S14); v14 frees it. */
  freePgdWhenDead: "walk-junk" | "skip-leak-pgd" | "destroy-pgd";
  /** §5.11: v12 kvm_destroy_realm unmaps and destroys RTTs before its "created" check (and
   *  kvm_arch_destroy_vm calls it for every VM); v8/v10 do neither. */
  destroyRealmUnmapsFirst: boolean;
  /** §5.10: shared unmap folds the RTTs afterwards (v9+, Suzuki's v8 review); v8 does not. */
  sharedUnmapFolds: boolean;
  /** §5.10: the private unmap drops the guest_memfd page reference after undelegating (v9/v10); v12 not. */
  privateUnmapDropsRef: boolean;
  /** §5.7: private fault handler: v8/v10 private_memslot_fault (no mmu_lock, no invalidate retry);
   *  v11+ gmem_abort (fault lock + mmu_invalidate_retry). */
  privateFault: "private_memslot_fault" | "gmem_abort";
  /** §5.7/S24: guest_memfd page reference after a private map: v8/v10 keep it on success (dropped by
   *  the private unmap) and put it on failure; v12 always releases it after the map attempt. */
  gmemRefAfterMap: "keep-on-success" | "release-always";
  /** §5.5: ripas_change, ERROR_RTT with err_level >= find_map_level: v8 WARN_ON(level == 3) and
   *  -EINVAL; v9/v10 -EINVAL; v12/v13 "ugly hack" skip PAGE_SIZE; v14 create (no-op) and retry. */
  ripasErrAtMapLevel: "warn-level3-einval" | "einval" | "skip-page" | "create-and-retry";
  /** §5.5: who sets the initial RIPAS: the VMM (CAP INIT_RIPAS) or KVM at activation over every
   *  guest_memfd memslot. */
  ripasInit: "vmm" | "activation-all-gmem";
  /** §5.13: v12 checks the irqchip after realm_ensure_created and after setting DEAD (S17 A). */
  activationIrqchipAfterDead: boolean;
  /** §5.13: early return of kvm_activate_realm: v12 only for ACTIVE, v13+ for state >= ACTIVE. */
  activationEarlyExit: "active" | "active-or-later" | "vmm";
  /** §5.14: REC_ENTER ERROR_REALM index 1 (SYSTEM_OFF race): v8 -ENXIO (KVM_EXIT_UNKNOWN);
   *  v9+ KVM_EXIT_SHUTDOWN; v14 any ERROR_REALM shutdown, ERROR_REC -EAGAIN. */
  recEnterRealmError: "enxio" | "shutdown-index1" | "shutdown-any";
  /** §5.7: v8..v13 force PAGE_SIZE stage-2 mappings for RECs ("Always use 4k pages"). Default
   *  of the per-VM `forcePte` knob. */
  forcePteDefault: boolean;
  /** §5.10/S31: kvm_realm_unmap_range computes BIT(ia_bits - 1) before the created check (v8..v12). */
  unmapClampBeforeCreatedCheck: boolean;
  /** §5.6/S22: populate passes the uAPI flags instead of the computed RMI flags (v8..v12). */
  populatePassesUapiFlags: boolean;
}

/**
 * What differs between the postings of "arm64: Support for Arm CCA in KVM" (Steven Price), as
 * named variation points. The host code (src/kvm) is written once; each profile only says which
 * variant of a function that posting had. Each field cites the posted patches that decide it;
 * docs/provenance.md has the row of every function.
 */

export type SeriesId = "v8" | "v10" | "v12" | "v13" | "v14";
export const SERIES_IDS: readonly SeriesId[] = ["v8", "v10", "v12", "v13", "v14"];

/** What ripas_change / realm_init_ipa_state / realm_set_ipa_state do on ERROR_RTT with err_level >=
 *  find_map_level: WARN and -ENXIO, -EINVAL, skip a page ("FIXME: Ugly hack"), or create the
 *  (existing) levels and retry. */
export type RipasErrAtMapLevel = "warn-enxio" | "einval" | "skip-page" | "create-and-retry";

export interface SeriesProfile {
  id: SeriesId;
  date: string;
  title: string;
  /** The RMM ABI the posting drives. */
  rmm: "1.0" | "2.0";
  /** v8/v10: the VMM drives CONFIG/CREATE/INIT_RIPAS/POPULATE/ACTIVATE through KVM_CAP_ARM_RME
   *  (v9 07/43, 15/43, v8 19/43) and KVM_ARM_VCPU_FINALIZE(REC) (v10 11/43); v12+: the RD created
   *  on demand (realm_ensure_created), KVM_ARM_RMI_POPULATE (v12 06/46, 20/46), activation and
   *  RECs at the first KVM_RUN (v12 11/46, 12/46). */
  uapi: "vmm-driven" | "implicit";
  /** Host bitmap VMID allocator (v8..v12; the RMM owns VMIDs from v13). */
  hostVmid: boolean;
  /** realm_map_non_secure: v8 20/43 maps L2 blocks when the size is 2 MiB aligned; v10 20/43 on
   *  ("TODO: Support block mappings") L3 pages only. */
  sharedMapLevel: "L2-block-if-aligned" | "L3-only";
  /** realm_create_rtt_levels, RTT_CREATE says "already exists" (ERROR_RTT at level - 1): v10 (v9 15/43
   *  stand-in, no fix in the v10 changelog) continues without freeing the new granule (S10); v12 17/46
   *  on free_rtt it. v8 15/43 (as quoted in Gavin Shan's reply of 30 Apr 2025) tests
   *  `RMI_RETURN_INDEX(ret) == level` on the new level, which RTT_CREATE never reports: "already
   *  exists" takes the error branch (WARN, free_delegated_granule, -ENXIO): rttExistsChecksNewLevel. */
  rttExistsFreesNewGranule: boolean;
  /** v8 15/43 realm_create_rtt_levels tests RMI_RETURN_INDEX(ret) == level (the new level) for
   *  "already exists", which RTT_CREATE never reports (it answers level - 1): WARN, free, -ENXIO
   *  (S10). v9 15/43 on test level - 1. */
  rttExistsChecksNewLevel: boolean;
  /** v8 free_delegated_granule un-accounts one page-table page for every granule it frees (RD, REC,
   *  RTT): S11 (v9 07/43 changelog "Fix free_delegated_granule() to not call
   *  kvm_account_pgtable_pages()"); v10 10/43 on only free_rtt un-accounts. */
  freeDelegatedGranuleUnaccounts: boolean;
  /** S12: v8 kvm_realm_unmap_range has no may_block (v8 20/43 calls it with 4 arguments; v9 15/43
   *  changelog "Propagate the 'may_block' flag"). v8 15/43 as quoted in Gavin Shan's reply of 30 Apr
   *  2025: realm_unmap_private_range never reschedules, realm_unmap_shared_range calls
   *  cond_resched_rwlock_write on every pass unconditionally (also from a non-blockable notifier):
   *  false means both (src/kvm/rmi/unmap.ts). */
  mayBlockPropagated: boolean;
  /** kvm_free_stage2_pgd's unmap: v8 20/43 [0, ~0ULL & PAGE_MASK) with may_block false; v10 20/43 on
   *  [0, BIT(ia_bits - 1)) with true ("set may_block to avoid stall warnings"). */
  freePgdUnmapMayBlock: boolean;
  /** What kvm_free_stage2_pgd does once the realm is DEAD (or NONE): v8 walks the undelegated PGD
   *  pages as stage-2 tables (v9 07/43 stand-in, S13); v10..v13 skip the walk and never free the PGD
   *  (v12 07/46 changelog "Avoid walking the stage 2 page tables", S14); v14 14/44 frees it. */
  freePgdWhenDead: "walk-junk" | "skip-leak-pgd" | "destroy-pgd";
  /** kvm_destroy_realm unmaps [0, BIT(ia_bits - 1)) before its "created" check: v12 07/46 (+ 10/46:
   *  and destroys the RTTs there), v13 12/48 (unmap only); v8/v10 (v9 07/43) and v14 14/44 after. */
  destroyRealmUnmapsFirst: boolean;
  /** realm_unmap_shared_range folds the RTTs afterwards: v9 15/43 on; v8 15/43 not (as quoted in
   *  Gavin Shan's reply of 30 Apr 2025; Steven Price, 14 May 2025, to Suzuki K Poulose: "I'll stick a
   *  call to realm_fold_rtt_level() at the end of realm_unmap_shared_range()"). S01 on v8 rests on it. */
  sharedUnmapFolds: boolean;
  /** realm_unmap_private_page free_page()s the data page after undelegating it (v9 15/43, for v8/v10);
   *  v12 17/46 on it does not (guest_memfd owns it). Never a get_page on a failed undelegate. */
  privateUnmapDropsRef: boolean;
  /** kvm_handle_guest_abort's private path: v8/v10 20/43 private_memslot_fault (no mmu_lock, no
   *  invalidate retry; -EINVAL falls through to user_mem_abort); v12 24/46 on gmem_abort
   *  (kvm_fault_lock + mmu_invalidate_retry), chosen by !shared_ipa_fault. */
  privateFault: "private_memslot_fault" | "gmem_abort";
  /** S24: the kvm_gmem_get_pfn reference after a private fault's map: v8/v10 private_memslot_fault
   *  (v8 20/43, v10 20/43) and v12/v13 gmem_abort ("if successful don't release the page", v12 24/46,
   *  v13 27/48) keep it when realm_map_ipa returns 0 (a raced delegate included) and put it
   *  otherwise; v14 29/44 gmem_abort releases it after every map attempt. */
  gmemRefAfterMap: "keep-on-success" | "release-always";
  /** RTT_INIT_RIPAS answering ERROR_RTT with err_level >= find_map_level (the tables reach the
   *  level the range maps at): v8 15/43 realm_init_ipa_state (as quoted in Gavin Shan's reply of
   *  30 Apr 2025) `if (WARN_ON(err_level >= level)) return -ENXIO;` at any level ("warn-enxio",
   *  S19: Suzuki's review asked to WARN only at level 3; v9 dropped the WARN); v10 (v9 15/43 stands
   *  in: one ripas_change "following review") `return -EINVAL;`; v12 17/46 and v13 21/48 the
   *  "FIXME: Ugly hack" skip of PAGE_SIZE; v14 23/44 drops the test: a no-op realm_create_rtt_levels
   *  and a retry (the RMM answers the same: the kernel loops). */
  ripasInitErrAtMapLevel: RipasErrAtMapLevel;
  /** The same for RTT_SET_RIPAS: v8 17/43 realm_set_ipa_state (as quoted in Gavin Shan's reply of
   *  30 Apr 2025) `ret = -EINVAL;` and break, no WARN; v10 (v10 17/43 calls the v9 15/43
   *  ripas_change) .. v14: the same ripas_change values as for INIT. */
  ripasSetErrAtMapLevel: RipasErrAtMapLevel;
  /** Who sets the initial RIPAS: the VMM (v8/v10 KVM_CAP_ARM_RME_INIT_RIPAS_REALM, v9 15/43) or KVM
   *  at activation over every guest_memfd memslot (set_ripas_of_protected_regions, v12 21/46,
   *  v13 25/48, v14 27/44). */
  ripasInit: "vmm" | "activation-all-gmem";
  /** kvm_activate_realm: v12 11/46 checks irqchip_in_kernel after realm_ensure_created and after
   *  setting DEAD (S17 A); v13 16/48 / v14 18/44 check it first. */
  activationIrqchipAfterDead: boolean;
  /** Early return of kvm_activate_realm: v12 11/46 `== REALM_STATE_ACTIVE`; v13 16/48 / v14 18/44
   *  `>= REALM_STATE_ACTIVE` ("avoid a dead guest being revived"); v8/v10: no such function. */
  activationEarlyExit: "active" | "active-or-later" | "vmm";
  /** handle_rec_exit on a failed REC_ENTER: v8 16/43 (as quoted in Gavin Shan's reply of 30 Apr 2025)
   *  ERROR_REALM index 1 (a PSCI_SYSTEM_OFF race) -> KVM_EXIT_UNKNOWN and return 0 ("unknown-index1",
   *  S25: Emi Kisanuki's KVM_EXIT_UNKNOWN; v9 16/43 changelog: "return KVM_EXIT_SHUTDOWN rather than
   *  KVM_EXIT_UNKNOWN"); v10 (v9 16/43) .. v13 20/48 ERROR_REALM index 1 -> KVM_EXIT_SHUTDOWN;
   *  v14 22/44 any ERROR_REALM -> KVM_EXIT_SHUTDOWN and ERROR_REC -> -EAGAIN. Every other failure
   *  -ENXIO in every posting. */
  recEnterRealmError: "unknown-index1" | "shutdown-index1" | "shutdown-any";
  /** rec_exit_ripas_change, a request outside the protected half: -EINVAL and, from v9 16/43 on
   *  ("Set RMI_REJECT bit"; v12 16/46, v13 20/48, v14 22/44), REC_ENTER_FLAG_RIPAS_RESPONSE in
   *  rec_run.enter.flags; v8 16/43 (as quoted in Gavin Shan's reply of 30 Apr 2025) returns -EINVAL
   *  without setting it (S21). */
  ripasChangeRejectFlag: boolean;
  /** v8..v13 force PAGE_SIZE stage-2 mappings for RECs ("Always use 4k pages": a patch not among
   *  the saved postings, so not checked against posted lines); v14 29/44 lets THP enlarge the
   *  mapping (S06). Default of the per-VM `forcePte` knob. */
  forcePteDefault: boolean;
  /** S31: kvm_realm_unmap_range clamps with BIT(ia_bits - 1) before the created check (v9 15/43,
   *  v12 17/46); v13 21/48 and v14 23/44 check first. */
  unmapClampBeforeCreatedCheck: boolean;
  /** S22: populate passes the uAPI flags instead of the computed data_flags (v8 19/43
   *  kvm_populate_realm, v12 20/46 kvm_arm_rmi_populate); v13 24/48 on pass data_flags. */
  populatePassesUapiFlags: boolean;

  // ---- RMM v2.0 postings (v13, v14) ----
  /** v13: the RMM keeps the "temporary v1.0 SMCs" (RTT_MAP/UNMAP_UNPROTECTED, REC_AUX_COUNT). */
  v1Compat: boolean;
  /** S29: RMI init's check that the RMM tracks each memblock region FINE/CONVENTIONAL
   *  (rmi_verify_memory_tracking, then rmi_create_gpts). v13 aligns the region down/up to the 1 GiB
   *  tracking region and asks GRANULE_TRACKING_GET per region; v14 asks with the range form and
   *  walks by the returned top. RMM v1.0 postings: none. */
  memoryTrackingCheck: "none" | "v13-align-down" | "v14-range";
  /** S09 (v9 07/43, v12 22/46, v13 26/48, v14 28/44): realm_create_rd's PGD delegation and unwind. v8..v12: per-granule loop, unwind [0, i)
   *  (v8/v9 also leave `r` unset when REC_AUX_COUNT fails); v13: delegate_range once, unwind
   *  undelegate_range(pgd, i) with `i` uninitialised; v14: rmi_delegate_range, unwind undelegates
   *  the whole PGD even after a partial delegate. */
  realmCreateRd: "v8-aux-r-unset" | "per-granule" | "v13-uninit-i" | "v14-whole-pgd";
  /** kvm_arch_init_vm when kvm_init_realm_vm (v14 kvm_init_realm) cannot allocate the params page:
   *  v8..v13 `goto err_free_cpumask`, which skips the stage-2 uninit (the PGD is leaked); v14 `goto
   *  err_uninit_mmu` (PGD freed). v9 07/43, v12 07/46, v13 12/48, v14 14/44 (arm.c hunks). */
  initRealmVmErrorLabel: "err_free_cpumask" | "err_uninit_mmu";
  /** realm_create_rd asks REC_AUX_COUNT (v9 07/43 .. v13 26/48; the temporary v1.0 SMC in v13 05/48). */
  recAuxCount: boolean;
  /** Populate per page: v8 19/43 / v12 20/46 realm_create_protected_data_page (DELEGATE +
   *  DATA_CREATE, WARN at L3, create RTTs, one retry; -ENXIO); v13 24/48 / v14 26/44
   *  RTT_DATA_MAP_INIT with KVM_BUG_ON at L3, returning the raw RMI status (v14 realm_data_map_init). */
  populateCall: "data_create" | "rtt_data_map_init";
  /** realm_map_protected: v8 20/43 .. v12 24/46 GRANULE_DELEGATE + DATA_CREATE_UNKNOWN per granule
   *  (+ fold_rtt for 2 MiB); v13 27/48 delegate_range + RTT_DATA_MAP loop (addr_range_desc), RTTs
   *  created to L3 and one retry, a temporary L3 RTT pre-created and folded for 2 MiB; v14 29/44
   *  the same loop with rmi_delegate_range and no temporary RTT. */
  protectedMap: "data_create_unknown" | "v13-data_map" | "v14-data_map";
  /** S08, realm_map_protected's unwind: v8..v12 per granule (err_undelegate, then DATA_DESTROY +
   *  undelegate backwards); v13 27/48 undelegate_range(phys, map_size) from the advanced phys
   *  (get_page(phys) on failure), then realm_unmap_private_range(base_ipa, ipa, true) (a failed
   *  fold jumps there directly); v14 29/44 realm_unmap_private_range first, then
   *  rmi_undelegate_range(base_phys, map_size) (get_page(base_phys) on failure). */
  protectedMapUnwind: "per-granule" | "v13-advanced-phys" | "v14-unmap-then-whole";
  /** realm_map_non_secure: RTT_MAP_UNPROTECTED per page (v8 20/43 .. v12 24/46; v13 27/48 through
   *  the temporary v1.0 SMC) or v14 29/44 RTT_UNPROT_MAP with MEMATTR/S2AP flags (WARN_ON at the
   *  last level, the create error or the raw RMI status returned, S04). */
  sharedMap: "rtt_map_unprotected" | "rtt_unprot_map";
  /** Private unmap: v1.0 DATA_DESTROY per granule (v9 15/43, v12 17/46), or RTT_DATA_UNMAP +
   *  undelegate_range_desc (v13 21/48, v14 23/44). */
  privateUnmap: "data_destroy" | "rtt_data_unmap";
  /** Shared unmap: RTT_UNMAP_UNPROTECTED recursion (v9 15/43 .. v13 21/48), or the v14 23/44
   *  RTT_UNPROT_UNMAP range loop. */
  sharedUnmap: "rtt_unmap_unprotected" | "rtt_unprot_unmap";
  /** GRANULE_RANGE_(UN)DELEGATE helpers: v13 rmi.c delegate_range/undelegate_range (`ret` returned
   *  uninitialised for a zero size); v14 09/44 rmi_delegate_range/rmi_undelegate_range (`ret = 0`;
   *  only rmi_undelegate_range WARNs on a zero size). */
  rangeHelpers: "none" | "kvm" | "kernel";
  /** S07: how the posting encodes RmiAddrRangeDesc.SZ for the descriptors it builds (its decoder,
   *  level_to_size and the SRO path, always reads 0 = PAGE .. 3 = P4D). v13: PAGE=3 .. P4D=0. */
  rangeDescEncoder: "none" | "v13-inverted" | "v14";
  /** S07: the SZ convention of the RMM the posting ran against (the simulated RMM decodes PAGE=0;
   *  "inverted" models an RMM reading SZ as 3 - size, translated at the SMC boundary). */
  rmmDescConvention: "bet1" | "inverted";
  /** REC create/destroy: aux granules (counted by REC_AUX_COUNT) in RecParams, plain REC_CREATE /
   *  REC_DESTROY (v10 11/43, v12 12/46, v13 17/48 - v13 through the temporary v1.0 SMCs); v14 19/44
   *  rmi_rec_create / rmi_rec_destroy through the SRO ("Support SRO for REC creation/destruction
   *  instead of auxiliary granules", v14 changelog). */
  recCreate: "aux-params" | "v14-sro";
  /** alloc_rec_aux's unwind after a failed delegate: v10 11/43 / v12 12/46 undelegate the current
   *  page's granules, free it and free_rec_aux the earlier pages; v13 17/48 undelegates every
   *  earlier page, then free_rec_aux(aux_pages, 0) frees none of them (leaked). */
  allocRecAuxUnwind: "current-page" | "v13-undelegate-all";
  /** S28: v14 rmi_sro_execute leaves its result uninitialised when the RMM reports MEMREQ NONE. */
  sroUninitResult: boolean;
  /** PSCI completion: at exit handling (v8..v13: realm_psci_complete from KVM's PSCI code, which is
   *  not among the saved postings) or in kvm_rec_pre_enter (v14 rmi.c kvm_rec_complete_psci,
   *  AFFINITY_INFO answered SUCCESS as an "XXX hack", realm_psci_complete's result ignored). */
  psciCompletion: "at-exit" | "pre-enter";
  /** kvm_destroy_realm: v14 14/44 calls REALM_TERMINATE before destroying the RTTs. */
  realmTerminate: boolean;
  /** kvm_uninit_stage2_mmu (mmu_notifier_release): kvm_free_stage2_pgd (v8..v13) or, for realms,
   *  kvm_realm_uninit_stage2 (v14 17/44, an early return unless ACTIVE). */
  stage2Uninit: "kvm_free_stage2_pgd" | "kvm_realm_uninit_stage2";
  /** kvm_realm_destroy_rtts: WARN_ON(realm_tear_down_rtt_range(...)) in v10 10/43, v12 10/46,
   *  v13 15/48 (v8 from the v10 changelog); v14 17/44 drops the WARN_ON and ignores the result. */
  destroyRttsWarns: boolean;
  /** S05: user_mem_abort forces a write fault for RECs, `if (vcpu_is_rec(vcpu)) write_fault = true`
   *  (v8 20/43 .. v13 27/48); v14 29/44 does not. */
  sharedFaultForcesWrite: boolean;
  /** S06: v14 29/44 kvm_s2_fault_map passes s2fd->fault_ipa (unaligned) with a THP-enlarged
   *  mapping_size; v8..v13 user_mem_abort aligns fault_ipa to vma_pagesize. */
  thpPassesUnalignedIpa: boolean;
  /** S02, not a posting (an override): on ERROR_RTT the range map paths create one level at a
   *  time (Suzuki's v14 29/44 review, the post-v14 fix). As posted (v13 27/48, v14 29/44) they
   *  create every level down to L3 before retrying; both already pass one block descriptor when
   *  what is left equals a block size (addr_range_desc). */
  rangeMapCreatesOneLevel: boolean;

  // ---- Run path, vGIC, populate uAPI (S17, S20, S22, S26, S27) ----
  /** S20: v8 realm_set_ipa_state has its own loop and writes *top_ipa after it, error or not (v7/v8
   *  rme.c); v9+ ripas_change writes it only on success. */
  ripasTopWrittenOnError: boolean;
  /** S17 A: v8/v10 reject a userspace irqchip at the first KVM_RUN (kvm_arch_vcpu_run_pid_change,
   *  -EOPNOTSUPP; the patch placing it is not among the saved postings); v12+ check it inside
   *  kvm_activate_realm. */
  firstRunIrqchipCheck: boolean;
  /** S27 (Gavin, v14 20/44): kvm_arch_vcpu_load runs kvm_vcpu_load_debug before the REC early
   *  return, kvm_arch_vcpu_put returns early for RECs before kvm_vcpu_put_debug. Earlier postings
   *  are taken as balanced (their placement was not read: the review found it in v14). */
  recDebugLoadPut: "balanced" | "load-only";
  /** S26: where the vGIC state of a REC travels. v8..v12 (RMM v1.0): the LRs in rec_run
   *  enter/exit, filled by KVM; v13/v14: ICH_*_EL2 system registers, saved/restored only on the
   *  VHE path (Jiahao Zheng, v13). */
  gicStateVia: "rec_run" | "sysregs";
  /** S26: v14 refuses realm support unless the kernel runs at EL2 (VHE). */
  vheRequired: boolean;
  /** S22: the populate uAPI. v8 19/43 KVM_CAP_ARM_RME POPULATE_REALM {base, size, flags};
   *  v12 06/46, 20/46 KVM_ARM_RMI_POPULATE {base, size, source_uaddr, flags, reserved} returning an
   *  int byte count (Marc, v12 06/46); v13 24/48 / v14 26/44 update the struct in place, return 0. */
  populateUapi: "cap-populate-realm" | "ioctl-int-bytes" | "ioctl-in-place";
  /** S22: source_uaddr alignment checked (added in v13 24/48). */
  populateChecksSourceAlignment: boolean;
  /** handle_rec_exit: v14 22/44 resumes the guest on RMI_EXIT_SERROR (`case RMI_EXIT_SERROR:` with
   *  IRQ/FIQ); v9 16/43 .. v13 20/48 have no case for it (KVM_EXIT_INTERNAL_ERROR). */
  recExitSerrorResumes: boolean;
  /** kvm_create_rec's unwind ends with `rec->run = NULL` from v13 17/48 on; v10 11/43 and v12 12/46
   *  free rec->run but leave the pointer set (a dangling rec->run: a later KVM_ARM_VCPU_FINALIZE
   *  gets -EBUSY, kvm_destroy_rec frees it again and REC_DESTROYs the freed REC page). */
  recCreateUnwindClearsRun: boolean;
}

/** Profile fields a Host may override ("what if this posting had that fix"), e.g. S02, S07. */
export type ProfileOverrides = Partial<Omit<SeriesProfile, "id" | "rmm" | "uapi">>;

/**
 * v14, 13 May 2026, 44 patches, RMM v2.0-bet1 (TF-RMM rmm-v2.0-poc_2 @3340667a291a), kvmtool
 * cca/v12. Range RTT_UNPROT_MAP/UNMAP, v1.0 compat dropped, generic RMI code in
 * arch/arm64/kernel/rmi.c, PSCI completed by the kernel before REC entry, REALM_TERMINATE,
 * kvm_realm_uninit_stage2, PGD freed, descriptor encoding fixed, no temporary RTT for protected
 * maps. Sources: the v14 patches cited per field, and the v14 rmi.c snapshot.
 */
import type { SeriesProfile } from "./profile.js";
import { v13 } from "./v13.js";

export const v14: SeriesProfile = {
  ...v13,
  id: "v14",
  date: "2026-05-13",
  title: "v14: RMM v2.0-bet1, range unprotected maps, SRO RECs, REALM_TERMINATE, PGD freed",
  v1Compat: false,
  // S29 fixed: range GRANULE_TRACKING_GET, walking by the returned top.
  memoryTrackingCheck: "v14-range",
  realmCreateRd: "v14-whole-pgd",
  // v14 14/44: kvm_init_realm failing -> goto err_uninit_mmu (the PGD is freed).
  initRealmVmErrorLabel: "err_uninit_mmu",
  recAuxCount: false,
  protectedMap: "v14-data_map",
  protectedMapUnwind: "v14-unmap-then-whole",
  sharedMap: "rtt_unprot_map",
  sharedUnmap: "rtt_unprot_unmap",
  rangeHelpers: "kernel",
  rangeDescEncoder: "v14",
  rmmDescConvention: "bet1",
  recCreate: "v14-sro",
  allocRecAuxUnwind: "current-page", // no alloc_rec_aux in v14 (SRO donations)
  sroUninitResult: true,
  gmemRefAfterMap: "release-always",
  // v14 23/44 ripas_change (S19): the "ugly hack" is gone: a no-op realm_create_rtt_levels and retry.
  ripasInitErrAtMapLevel: "create-and-retry",
  ripasSetErrAtMapLevel: "create-and-retry",
  recEnterRealmError: "shutdown-any",
  psciCompletion: "pre-enter",
  realmTerminate: true,
  stage2Uninit: "kvm_realm_uninit_stage2",
  destroyRttsWarns: false,
  freePgdWhenDead: "destroy-pgd",
  // v14 rmi.c kvm_realm_unmap_range: the unmap moved after the created check.
  destroyRealmUnmapsFirst: false,
  // v14 29/44 user_mem_abort: no forced write (S05), no forced PTE mappings; THP may enlarge the mapping (S06).
  sharedFaultForcesWrite: false,
  forcePteDefault: false,
  thpPassesUnalignedIpa: true,
  // S27 (Gavin, 20/44): kvm_arch_vcpu_put returns for RECs before kvm_vcpu_put_debug.
  recDebugLoadPut: "load-only",
  // S26: realm support only with the kernel at EL2 (VHE).
  vheRequired: true,
  // v14 22/44 handle_rec_exit: `case RMI_EXIT_SERROR:` resumes like IRQ/FIQ.
  recExitSerrorResumes: true,
};

/**
 * v13, 18 Mar 2026, 48 patches, RMM v2.0-bet0 (TF-RMM topics/rmm-v2.0-poc), kvmtool cca/v11.
 * Range APIs for delegation, protected map/unmap, populate and INIT_RIPAS; the temporary v1.0
 * SMCs (RTT_MAP/UNMAP_UNPROTECTED, REC_AUX_COUNT) for shared mappings and aux counts; VMIDs owned
 * by the RMM; RECs still created with aux granules in RecParams (v13 17/48, SRO only from v14).
 * Sources: the v13 postings (v13 05, 06, 11, 12, 15..17, 20, 21, 24..27/48) and the v13 rmi.c.
 */
import type { SeriesProfile } from "./profile.js";
import { v12 } from "./v12.js";

export const v13: SeriesProfile = {
  ...v12,
  id: "v13",
  date: "2026-03-18",
  title: "v13: RMM v2.0-bet0 range APIs (+ temporary v1.0 SMCs), RMM-owned VMIDs, aux-granule RECs",
  rmm: "2.0",
  v1Compat: true,
  // S29: rmi_verify_memory_tracking aligns the region to 1 GiB and asks region by region.
  memoryTrackingCheck: "v13-align-down",
  hostVmid: false,
  // v13 rmi.c kvm_realm_unmap_range: the created check comes first (S31).
  unmapClampBeforeCreatedCheck: false,
  // v13 24/48 populate_region: the computed data_flags are passed (S22).
  populatePassesUapiFlags: false,
  populateCall: "rtt_data_map_init",
  realmCreateRd: "v13-uninit-i",
  recAuxCount: true,
  protectedMap: "v13-data_map",
  protectedMapUnwind: "v13-advanced-phys",
  // v13 27/48 realm_map_non_secure: still per page through the temporary v1.0 RTT_MAP_UNPROTECTED, L3 only.
  sharedMap: "rtt_map_unprotected",
  privateUnmap: "rtt_data_unmap",
  sharedUnmap: "rtt_unmap_unprotected",
  rangeHelpers: "kvm",
  rangeDescEncoder: "v13-inverted",
  // S07: the bet0 RMM v13 ran against is assumed to read its descriptors as v13 builds them (the
  // private fault path worked on it); v13's decoder then misreads what that RMM returns.
  rmmDescConvention: "inverted",
  // v13 17/48: plain REC_CREATE with the aux granules in RecParams (SRO RECs come with v14 19/44).
  recCreate: "aux-params",
  allocRecAuxUnwind: "v13-undelegate-all",
  // v13 27/48 gmem_abort skips the release on success; v13 21/48 realm_unmap_private_range drops nothing (S24).
  gmemRefAfterMap: "keep-on-success",
  privateUnmapDropsRef: false,
  // v13 16/48 kvm_activate_realm: irqchip checked first; early exit for state >= ACTIVE.
  activationIrqchipAfterDead: false,
  activationEarlyExit: "active-or-later",
  // v13 12/48 kvm_free_stage2_pgd, 15/48 kvm_destroy_realm: same PGD leak as v10/v12 (S14), unmap + RTT teardown before the created check.
  freePgdWhenDead: "skip-leak-pgd",
  destroyRealmUnmapsFirst: true,
  // S26: GIC state in ICH_*_EL2, loaded only on the VHE run path (Jiahao Zheng).
  gicStateVia: "sysregs",
  // S22: KVM_ARM_RMI_POPULATE updates base/size/source_uaddr in place; source_uaddr alignment.
  populateUapi: "ioctl-in-place",
  populateChecksSourceAlignment: true,
  // v13 17/48 kvm_create_rec: `rec->run = NULL;` at the end of the unwind.
  recCreateUnwindClearsRun: true,
};

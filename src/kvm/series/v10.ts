/** v10, 20 Aug 2025, 43 patches, RMM v1.0-rel0 (lore 20250820145606.180644-1-steven.price@arm.com). */
import type { SeriesProfile } from "./profile.js";
import { v8 } from "./v8.js";

export const v10: SeriesProfile = {
  ...v8,
  id: "v10",
  date: "2025-08-20",
  title: "v10: RMM v1.0, VMM-driven uAPI, L3-only shared maps, alloc_rtt/free_rtt",
  sharedMapLevel: "L3-only",
  // S10: v10 15/43 is the v9 15/43 stand-in, whose realm_create_rtt_levels continues on "already
  // exists" without free_rtt; the v10 changelog ("Changes from v9: Minor coding style fixes",
  // quoted in seed 003) names no fix. The free_rtt is first seen in v12 17/46.
  rttExistsFreesNewGranule: false,
  rttExistsChecksNewLevel: false,
  freeDelegatedGranuleUnaccounts: false,
  mayBlockPropagated: true,
  freePgdUnmapMayBlock: true,
  freePgdWhenDead: "skip-leak-pgd",
  sharedUnmapFolds: true,
  ripasInitErrAtMapLevel: "einval",
  ripasSetErrAtMapLevel: "einval",
  // v9 16/43 (stand-in): KVM_EXIT_SHUTDOWN for the SYSTEM_OFF race, "Set RMI_REJECT bit".
  recEnterRealmError: "shutdown-index1",
  ripasChangeRejectFlag: true,
  // v12 07/46 changelog "Changes since v9: Fix an error path in realm_create_rd() to actually
  // return an error value": v10 sets r = -ENXIO on the REC_AUX_COUNT path.
  realmCreateRd: "per-granule",
  // S20: ripas_change (v9+) writes *top_ipa only on success.
  ripasTopWrittenOnError: false,
};

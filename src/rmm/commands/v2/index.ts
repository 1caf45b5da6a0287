/**
 * The RMM v2.0 (beta) command rows (abi ["2.0"]). Shared rows (VERSION, REALM_ACTIVATE,
 * RTT_CREATE/DESTROY/FOLD/READ_ENTRY/SET_RIPAS, REC_ENTER, PSCI_COMPLETE) live with their v1.0
 * families; the v1.0 compatibility rows (RTT_MAP/UNMAP_UNPROTECTED, REC_AUX_COUNT) carry
 * `compat: true`. Commands removed in v2.0 (GRANULE_DELEGATE/UNDELEGATE, DATA_CREATE_UNKNOWN,
 * DATA_DESTROY, ...) have no 2.0 row, so their FIDs answer SMC_UNKNOWN as TF-RMM main does.
 */
import type { RmiCommand } from "../../dispatch.js";
import { V2_BOOT_COMMANDS } from "./boot.js";
import { V2_DATA_COMMANDS } from "./data.js";
import { V2_GRANULE_COMMANDS } from "./granule.js";
import { V2_REALM_COMMANDS } from "./realm.js";
import { V2_REC_COMMANDS } from "./rec.js";
import { V2_RIPAS_COMMANDS } from "./ripas.js";
import { V2_SRO_COMMANDS } from "./sro.js";
import { V2_TRACKING_COMMANDS } from "./tracking.js";
import { V2_UNPROT_COMMANDS } from "./unprot.js";

export const V2_COMMANDS: readonly RmiCommand[] = [
  ...V2_BOOT_COMMANDS,
  ...V2_GRANULE_COMMANDS,
  ...V2_REALM_COMMANDS,
  ...V2_REC_COMMANDS,
  ...V2_DATA_COMMANDS,
  ...V2_UNPROT_COMMANDS,
  ...V2_RIPAS_COMMANDS,
  ...V2_SRO_COMMANDS,
  ...V2_TRACKING_COMMANDS,
];

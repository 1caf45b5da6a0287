/**
 * RMM v2.0 realm lifecycle: RMI_REALM_CREATE (0x158, no VMID in the params: the RMM allocates
 * one), RMI_REALM_TERMINATE (0x201, realm -> ZOMBIE) and RMI_REALM_DESTROY (0x159, needs ZOMBIE).
 * RMI_REALM_ACTIVATE is the shared v1.0 row.
 *
 * REALM_CREATE is a plain command here (as the RMM the v13/v14 postings ran against: v14 05/44
 * rmi_realm_create is one SMC, no SRO loop); later TF-RMM main turns it and REALM_DESTROY into
 * SROs that donate and reclaim RD auxiliary granules (docs/rmm-2.0.md).
 * Sources: TF-RMM main runtime/rmi/realm.c (validate_realm_params, vmid_alloc,
 * smc_realm_terminate, smc_realm_destroy), lib/smc/include/smc-rmi.h struct rmi_realm_params
 * (flags0: LPA2 0, SVE 1, PMU 2, DA 3, MEC_POLICY [8:7]; num_aux_planes 0x38; ats_plane 0x440;
 * flags1 0x820: RTT_TREE_PP 0, S2AP_ENC 1).
 */
import type { RmiCommand } from "../../dispatch.js";
import { checkRealmGranules, decodeRealmParams, installRealm, removeRealm, validateRealmParams } from "../realm.js";
import { gran, nsGranule, nsReadGranule } from "../../checks.js";
import { GranuleState } from "../../granule.js";
import { RealmState } from "../../realm.js";
import type { RmmState } from "../../state.js";
import { ERROR_GLOBAL, ERROR_INPUT, ERROR_REALM, SUCCESS } from "../../status.js";

export const RMI_REALM_FLAGS0_DA = 1n << 3n;
export const RMI_REALM_FLAGS0_MEC_POLICY_SHIFT = 7n;
export const RMI_MEC_POLICY_SHARED = 0n;
export const RMI_MEC_POLICY_PRIVATE = 1n;
/** Offset of ats_plane in RmiRealmParams (v2.0). */
export const REALM_PARAMS_ATS_PLANE = 0x440;
/** Hash algorithms of v2.0: SHA-256, SHA-512, SHA-384. */
export const V2_HASH_ALGOS = [0, 1, 2] as const;

/** Lowest free VMID (TF-RMM vmid_alloc), or -1 when all features.vmidCount VMIDs are in use. */
function allocVmid(rmm: RmmState): number {
  for (let v = 0; v < rmm.features.vmidCount; v++) if (!rmm.vmids.has(v)) return v;
  return -1;
}

/**
 * RMI_REALM_CREATE(rd, params_ptr) v2.0, checks in order:
 *  1 params NS (aligned, tracked, NS PAS)                        -> INPUT
 *  2-9 the v1.0 parameter checks, hash in {SHA-256, SHA-512, SHA-384} -> INPUT
 *  10 flags0.DA set (no device assignment) or MEC_POLICY not SHARED/PRIVATE -> INPUT
 *  11 num_aux_planes > 0 (no planes supported), ats_plane > num_aux_planes, flags1 != 0
 *     (RTT_TREE_PP / S2AP_ENC need planes)                       -> INPUT
 *  12 rd inside the root RTTs, gran(rd) or a root RTT not DELEGATED, rtt_base not aligned to
 *     num * 4K, root RTT above 2^48 without LPA2                  -> INPUT
 *  13 no free VMID                                                -> GLOBAL
 */
function realmCreateV2(rmm: RmmState, rd: bigint, paramsPtr: bigint): number {
  const pg = nsGranule(rmm, paramsPtr);
  if (pg < 0) return ERROR_INPUT;
  const raw = nsReadGranule(rmm, pg);
  const p = decodeRealmParams(raw);
  const r = validateRealmParams(rmm, p, V2_HASH_ALGOS);
  if (r !== SUCCESS) return r;
  if ((p.flags & RMI_REALM_FLAGS0_DA) !== 0n) return ERROR_INPUT;
  const mec = (p.flags >> RMI_REALM_FLAGS0_MEC_POLICY_SHIFT) & 3n;
  if (mec !== RMI_MEC_POLICY_SHARED && mec !== RMI_MEC_POLICY_PRIVATE) return ERROR_INPUT;
  const atsPlane = new DataView(raw.buffer, raw.byteOffset).getBigUint64(REALM_PARAMS_ATS_PLANE, true);
  if (p.numAuxPlanes !== 0 || atsPlane > BigInt(p.numAuxPlanes) || p.flags1 !== 0n) return ERROR_INPUT;
  const gs = checkRealmGranules(rmm, rd, p);
  if (gs === undefined) return ERROR_INPUT;
  const vmid = allocVmid(rmm);
  if (vmid < 0) return ERROR_GLOBAL;
  rmm.vmids.add(vmid);
  installRealm(rmm, gs.rdG, gs.rttG, p, vmid);
  return SUCCESS;
}

/**
 * RMI_REALM_TERMINATE(rd): gran(rd) RD -> INPUT; a REC of the realm is running -> REALM;
 * otherwise the realm becomes ZOMBIE (also from ZOMBIE: TF-RMM compares-and-swaps the state when
 * no REC runs). A ZOMBIE realm runs no REC; teardown commands keep working.
 */
function realmTerminate(rmm: RmmState, rd: bigint): number {
  const g = gran(rmm, rd, GranuleState.RD);
  if (g < 0) return ERROR_INPUT;
  const realm = rmm.realms.get(g)!;
  if (realm.runningRecs !== 0) return ERROR_REALM;
  realm.state = RealmState.ZOMBIE;
  return SUCCESS;
}

/**
 * RMI_REALM_DESTROY(rd) v2.0: gran(rd) RD -> INPUT; RECs exist (RD refcount) -> REALM; realm not
 * ZOMBIE -> REALM; a root RTT holds a TABLE or protected ASSIGNED entry -> REALM. Effects as
 * v1.0: root RTTs and RD -> DELEGATED (scrubbed), VMID freed.
 */
function realmDestroyV2(rmm: RmmState, rd: bigint): number {
  const g = gran(rmm, rd, GranuleState.RD);
  if (g < 0) return ERROR_INPUT;
  const realm = rmm.realms.get(g)!;
  if (rmm.granules.refcount(g) !== 0) return ERROR_REALM;
  // The bet0 RMM of the v13 posting (v1Compat) has no REALM_TERMINATE: any state, as in v1.0.
  if (realm.state !== RealmState.ZOMBIE && !rmm.v1Compat) return ERROR_REALM;
  for (let i = 0; i < realm.numRoot; i++) if (rmm.granules.refcount(realm.rootRtt(i)) !== 0) return ERROR_REALM;
  removeRealm(rmm, realm);
  return SUCCESS;
}

export const V2_REALM_COMMANDS: RmiCommand[] = [
  { name: "RMI_REALM_CREATE", fnum: 0x158, method: "realmCreate", args: ["rd", "params_ptr"], outs: [], handler: realmCreateV2, abi: ["2.0"] },
  { name: "RMI_REALM_DESTROY", fnum: 0x159, method: "realmDestroy", args: ["rd"], outs: [], handler: realmDestroyV2, abi: ["2.0"] },
  { name: "RMI_REALM_TERMINATE", fnum: 0x201, method: "realmTerminate", args: ["rd"], outs: [], handler: realmTerminate, abi: ["2.0"] },
];

/**
 * RMI_REC_AUX_COUNT / RMI_REC_CREATE / RMI_REC_DESTROY (v1.0).
 * Source: RMM spec B4.3.14 / B4.3.12 / B4.3.13; TF-RMM rmm-spec-v1.0-rel0 runtime/rmi/rec.c
 * (smc_rec_aux_count, smc_rec_create, smc_rec_destroy); TF-RMM tools/cbmc/testbenches
 * tb_rmi_rec_aux_count.c, tb_rmi_rec_destroy.c.
 */
import { MAX_REC_AUX_GRANULES } from "../abi/rec-params.js";
import { gran, nsReadGranule } from "../checks.js";
import type { RmiCommand } from "../dispatch.js";
import { GranuleState } from "../granule.js";
import { decodeRecParams, installRec, nsBufferGranule, recCreateRealmChecks, recIsRunning, removeRec } from "../rec-ops.js";
import type { RmmState } from "../state.js";
import { ERROR_INPUT, ERROR_REC, SUCCESS } from "../status.js";

/** RMI_REC_AUX_COUNT(rd) -> aux_count: gran(rd) RD, else INPUT. */
function recAuxCount(rmm: RmmState, rd: bigint): number {
  const g = gran(rmm, rd, GranuleState.RD);
  if (g < 0) return ERROR_INPUT;
  rmm.out1 = BigInt(rmm.realms.get(g)!.numRecAux);
  return SUCCESS;
}

/** RMI_REC_CREATE(rd, rec, params_ptr), v1.0: checks in the order of TF-RMM smc_rec_create. */
function recCreate(rmm: RmmState, rd: bigint, rec: bigint, paramsPtr: bigint): number {
  // 1 params_align / params_bound / params_pas
  const pg = nsBufferGranule(rmm, paramsPtr);
  if (pg < 0) return ERROR_INPUT;
  const p = decodeRecParams(nsReadGranule(rmm, pg));
  // 2 num_aux > MAX_REC_AUX_GRANULES
  if (p.numAux > MAX_REC_AUX_GRANULES) return ERROR_INPUT;
  // 3 every aux[i] a DELEGATED granule. TF-RMM moves each to REC_AUX as it goes, so a repeated
  // aux address fails at its second occurrence; nothing is changed here until every check passed.
  const aux: number[] = [];
  for (let i = 0; i < p.numAux; i++) {
    const a = gran(rmm, p.aux[i]!, GranuleState.DELEGATED);
    if (a < 0 || aux.includes(a)) return ERROR_INPUT;
    aux.push(a);
  }
  // 4 rec DELEGATED (and not one of the aux granules, which are REC_AUX by now), rd RD
  // (find_lock_two_granules: rec == rd cannot satisfy both states)
  const recG = gran(rmm, rec, GranuleState.DELEGATED);
  if (recG < 0 || aux.includes(recG)) return ERROR_INPUT;
  const rdG = gran(rmm, rd, GranuleState.RD);
  if (rdG < 0) return ERROR_INPUT;
  const realm = rmm.realms.get(rdG)!;
  // 5 REC count at maximum, 6 realm_state, 7 mpidr_index
  const r = recCreateRealmChecks(rmm, realm, p.mpidr);
  if (r !== SUCCESS) return r;
  // 8 num_aux must equal REC_AUX_COUNT(rd)
  if (p.numAux !== realm.numRecAux) return ERROR_INPUT;
  installRec(rmm, realm, recG, p, aux);
  return SUCCESS;
}

/** RMI_REC_DESTROY(rec), v1.0: 1 gran(rec) REC -> INPUT; 2 REC running -> REC. */
function recDestroy(rmm: RmmState, rec: bigint): number {
  const g = gran(rmm, rec, GranuleState.REC);
  if (g < 0) return ERROR_INPUT;
  const r = rmm.recs.get(g)!;
  if (recIsRunning(rmm, r)) return ERROR_REC;
  removeRec(rmm, r);
  return SUCCESS;
}

export const REC_COMMANDS: RmiCommand[] = [
  // v2.0 with the compatibility switch (the bet0 RMM of v13): v13 17/48 calls REC_CREATE with the
  // aux granules in RecParams (counted by the temporary REC_AUX_COUNT) and REC_DESTROY plainly.
  { name: "RMI_REC_CREATE", fnum: 0x15a, method: "recCreate", args: ["rd", "rec", "params_ptr"], outs: [], handler: recCreate, abi: ["1.0", "2.0"], compat: true },
  { name: "RMI_REC_DESTROY", fnum: 0x15b, method: "recDestroy", args: ["rec"], outs: [], handler: recDestroy, abi: ["1.0", "2.0"], compat: true },
  { name: "RMI_REC_AUX_COUNT", fnum: 0x167, method: "recAuxCount", args: ["rd"], outs: ["aux_count"], handler: recAuxCount, abi: ["1.0", "2.0"], compat: true },
];

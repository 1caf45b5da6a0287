/**
 * RMI_RTT_INIT_RIPAS (0x168) in RMM v2.0: the v1.0 command with two changes (TF-RMM main
 * runtime/rmi/rtt.c smc_rtt_init_ripas; commit bdb07f46 "Change RMI_RTT_INIT_RIPAS to not extend
 * RIM as per RMM v2.0"): the RIM is not extended, and ASSIGNED/EMPTY -> ASSIGNED/RAM is allowed
 * (ASSIGNED/RAM passes), so RTT_DATA_MAP_INIT may come before INIT_RIPAS.
 * Checks in order (smc_rtt_init_ripas):
 *  1 top <= base                                                          -> INPUT
 *  2 gran(rd) RD                                                          -> INPUT
 *  3 base or top not 4K aligned or outside the IPA space; base or top - 4K not in the PAR -> INPUT
 *  4 realm not NEW                                                        -> REALM
 *  5 walk to level 3 stops at level L; base not aligned to L's entry size -> RTT(L)
 *  6 from base, entry by entry at level L (at most progress.maxEntriesPerCall): stop before an
 *    entry passing top; UNASSIGNED EMPTY -> RAM; ASSIGNED EMPTY -> RAM; *RAM unchanged; any other
 *    entry (DESTROYED, TABLE) stops
 *  7 no entry processed                                                   -> RTT(L)
 * Success: x1 = the address after the last entry processed (never past the end of the RTT).
 */
import { GRANULE_SIZE, mapSize, toNum } from "../../../arch/geometry.js";
import { gran } from "../../checks.js";
import type { RmiCommand } from "../../dispatch.js";
import { GranuleState } from "../../granule.js";
import { RealmState } from "../../realm.js";
import type { RmmState } from "../../state.js";
import { initRipasRange, rttError, validMapAddr, walk } from "../../rtt-ops.js";
import { ERROR_INPUT, ERROR_REALM, SUCCESS } from "../../status.js";
import { progressOf } from "./state.js";

function rttInitRipasV2(rmm: RmmState, rd: bigint, base: bigint, top: bigint): number {
  if (top <= base) return ERROR_INPUT;
  const rdG = gran(rmm, rd, GranuleState.RD);
  if (rdG < 0) return ERROR_INPUT;
  const realm = rmm.realms.get(rdG)!;
  const b = toNum(base);
  const t = toNum(top);
  if (!validMapAddr(realm, b, 3) || t % GRANULE_SIZE !== 0 || t > realm.ipaSize) return ERROR_INPUT;
  if (!realm.addrInPar(b) || !realm.addrInPar(t - GRANULE_SIZE)) return ERROR_INPUT;
  if (realm.state !== RealmState.NEW) return ERROR_REALM;
  const w = walk(rmm, realm, b, 3);
  const size = mapSize(w.level);
  if (b % size !== 0) return rttError(w.level);
  const limit = Math.min(t, b + progressOf(rmm).maxEntriesPerCall * size);
  const reached = initRipasRange(realm, w.table, w.index, b, limit, { measure: false, assigned: true });
  if (reached === b) return rttError(w.level);
  rmm.out1 = BigInt(reached);
  return SUCCESS;
}

export const V2_RIPAS_COMMANDS: RmiCommand[] = [
  { name: "RMI_RTT_INIT_RIPAS", fnum: 0x168, method: "rttInitRipas", args: ["rd", "base", "top"], outs: ["top"], handler: rttInitRipasV2, abi: ["2.0"] },
];

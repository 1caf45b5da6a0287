/**
 * RMI_RTT_INIT_RIPAS (v1.0) and RMI_RTT_SET_RIPAS (v1.0 and v2.0).
 * Source: RMM spec 1.0-rel0 B4.3 (RTT_INIT_RIPAS, RTT_SET_RIPAS); TF-RMM rmm-spec-v1.0-rel0
 * runtime/rmi/rtt.c (smc_rtt_init_ripas, smc_rtt_set_ripas, rtt_set_ripas_range, update_ripas),
 * with the SET_RIPAS `top` alignment check of TF-RMM rmm-spec-v1.x-aligned / main.
 */
import { GRANULE_SIZE, S2TT_PAGE_LEVEL, mapSize, toNum } from "../../arch/geometry.js";
import { gran } from "../checks.js";
import type { RmiCommand } from "../dispatch.js";
import { GranuleState } from "../granule.js";
import { RealmState } from "../realm.js";
import type { RmmState } from "../state.js";
import { initRipasRange, rttError, setRipasRange, validMapAddr } from "../rtt-ops.js";
import type { Ripas } from "../s2tt.js";
import { ERROR_INPUT, ERROR_REALM, ERROR_REC, SUCCESS } from "../status.js";
import { rttWalk } from "../walk.js";

/**
 * RMI_RTT_INIT_RIPAS(rd, base, top) -> x1 top reached (v1.0).
 * 1 top <= base -> INPUT; 2 gran(rd) -> INPUT; 3 base/top not granule aligned or outside the IPA
 * space, base or top-4K outside the PAR -> INPUT; 4 realm not NEW -> REALM; 5 walk to level 3
 * stops at L with base not aligned to L -> RTT(L); 6 no entry processed (first entry ASSIGNED,
 * TABLE or DESTROYED, or top < base + L's size) -> RTT(L).
 * Each processed entry (UNASSIGNED EMPTY -> RAM, UNASSIGNED RAM unchanged) extends the RIM.
 */
function rttInitRipas(rmm: RmmState, rd: bigint, baseReg: bigint, topReg: bigint): number {
  if (topReg <= baseReg) return ERROR_INPUT;
  const rdG = gran(rmm, rd, GranuleState.RD);
  if (rdG < 0) return ERROR_INPUT;
  const realm = rmm.realms.get(rdG)!;
  const base = toNum(baseReg);
  const top = toNum(topReg);
  if (!validMapAddr(realm, base, S2TT_PAGE_LEVEL) || !validMapAddr(realm, top, S2TT_PAGE_LEVEL)) return ERROR_INPUT;
  if (!realm.addrInPar(base) || !realm.addrInPar(top - GRANULE_SIZE)) return ERROR_INPUT;
  if (realm.state !== RealmState.NEW) return ERROR_REALM;
  const w = rttWalk(rmm, realm, base, S2TT_PAGE_LEVEL);
  if (base % mapSize(w.level) !== 0) return rttError(w.level);
  const reached = initRipasRange(realm, w.table, w.index, base, top, { measure: true, assigned: false });
  if (reached === base) return rttError(w.level);
  rmm.out1 = BigInt(reached);
  return SUCCESS;
}

/**
 * RMI_RTT_SET_RIPAS(rd, rec, base, top) -> x1 top reached.
 * 1 top <= base, or top not granule aligned -> INPUT; 2 gran(rd) RD / gran(rec) REC -> INPUT;
 * 3 the REC is running -> REC; 4 the REC belongs to another realm -> REC; 5 base is not the REC's
 * RIPAS change progress address, or top is above the requested top -> INPUT; 6 walk to level 3
 * stops at L with base not aligned to L -> RTT(L); 7 no entry changed -> RTT(L).
 * Success: x1 = the address reached; the REC's progress address moves there.
 */
function rttSetRipas(rmm: RmmState, rd: bigint, rec: bigint, baseReg: bigint, topReg: bigint): number {
  // size_valid, top_gran_align (the alignment check is the fix in TF-RMM rmm-spec-v1.x-aligned / main; rel0 lacks it)
  if (topReg <= baseReg || topReg % BigInt(GRANULE_SIZE) !== 0n) return ERROR_INPUT;
  const rdG = gran(rmm, rd, GranuleState.RD);
  const recG = gran(rmm, rec, GranuleState.REC);
  if (rdG < 0 || recG < 0) return ERROR_INPUT;
  // rec_state: a REC inside REC_ENTER holds a reference on its granule
  if (rmm.granules.refcount(recG) !== 0) return ERROR_REC;
  const r = rmm.recs.get(recG)!;
  // rec_owner
  if (r.rd !== rdG) return ERROR_REC;
  const base = toNum(baseReg);
  const top = toNum(topReg);
  const req = r.ripas;
  // base_bound / top_bound: the next chunk of the REC's pending request, not beyond its end
  if (req === undefined || base !== req.addr || top > req.top) return ERROR_INPUT;
  const realm = rmm.realms.get(rdG)!;
  const w = rttWalk(rmm, realm, base, S2TT_PAGE_LEVEL);
  if (!validMapAddr(realm, base, w.level)) return rttError(w.level);
  const reached = setRipasRange(w.table, w.index, base, top, req.ripas as Ripas, req.changeDestroyed);
  if (reached === base) return rttError(w.level);
  req.addr = reached;
  rmm.out1 = BigInt(reached);
  return SUCCESS;
}

export const RIPAS_COMMANDS: RmiCommand[] = [
  { name: "RMI_RTT_INIT_RIPAS", fnum: 0x168, method: "rttInitRipas", args: ["rd", "base", "top"], outs: ["top"], handler: rttInitRipas, abi: ["1.0"] },
  { name: "RMI_RTT_SET_RIPAS", fnum: 0x169, method: "rttSetRipas", args: ["rd", "rec", "base", "top"], outs: ["top"], handler: rttSetRipas, abi: ["1.0", "2.0"] },
];

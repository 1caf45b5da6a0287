/**
 * RMI_RTT_CREATE / RMI_RTT_DESTROY / RMI_RTT_FOLD / RMI_RTT_MAP_UNPROTECTED /
 * RMI_RTT_UNMAP_UNPROTECTED / RMI_RTT_READ_ENTRY.
 * Source: RMM spec 1.0-rel0 B4.3 (RTT commands); TF-RMM rmm-spec-v1.0-rel0 runtime/rmi/rtt.c
 * (smc_rtt_create, smc_rtt_destroy, smc_rtt_fold, map_unmap_ns, smc_rtt_read_entry).
 * Failure conditions are checked in the order of those functions, all of them before any state
 * changes.
 */
import { toNum } from "../../arch/geometry.js";
import { gran, levelArg } from "../checks.js";
import type { RmiCommand } from "../dispatch.js";
import { GranuleState } from "../granule.js";
import type { Realm } from "../realm.js";
import type { RmmState } from "../state.js";
import {
  applyFold, childTable, destroyChild, entryDesc, entryRipas, entryState, foldCheck, hostNsDescValid,
  NS_ATTR_MASK, nsDescOa, rttError, unfold, validEntryArgs, validMapAddr, validMapLevel, validStructureArgs,
} from "../rtt-ops.js";
import { S2tte, skipNonLive } from "../s2tt.js";
import { ERROR_INPUT, SUCCESS } from "../status.js";
import { rttWalk } from "../walk.js";

function realmOf(rmm: RmmState, g: number): Realm {
  return rmm.realms.get(g)!;
}

/** The RD's realm and the (ipa, level) arguments, as the commands below read them. */
interface RttTarget {
  realm: Realm;
  ipa: number;
  level: number;
}

/**
 * The common prologue of the commands that take (rd, ipa, level): gran(rd) RD, then the
 * level/ipa check `valid` (validStructureArgs for CREATE/DESTROY/FOLD, validEntryArgs for
 * READ_ENTRY). undefined: RMI_ERROR_INPUT, nothing read further.
 */
function rttTarget(rmm: RmmState, rd: bigint, ipaReg: bigint, levelReg: bigint, valid: (realm: Realm, ipa: number, level: number) => boolean): RttTarget | undefined {
  const rdG = gran(rmm, rd, GranuleState.RD);
  if (rdG < 0) return undefined;
  const realm = realmOf(rmm, rdG);
  const level = levelArg(levelReg);
  const ipa = toNum(ipaReg);
  return valid(realm, ipa, level) ? { realm, ipa, level } : undefined;
}

/**
 * RMI_RTT_CREATE(rd, rtt, ipa, level).
 * v1.0 (TF-RMM rel0): 1 gran(rtt) DELEGATED / gran(rd) RD -> INPUT; 2 level not in [sl+1, 3],
 * 3 ipa out of range or not aligned to level-1 -> INPUT; 4 rtt >= 2^48 without LPA2 -> INPUT;
 * 5 walk to level-1 stops at l -> RTT(l); 6 parent entry TABLE -> RTT(level-1).
 * v2.0 (TF-RMM main rtt_create): the RD and the arguments are checked first and the RTT granule
 * only after the walk (gran(rd), level/ipa, rtt bound, walk, gran(rtt), TABLE).
 */
function rttCreate(rmm: RmmState, rd: bigint, rtt: bigint, ipaReg: bigint, levelReg: bigint): number {
  const v2 = rmm.abi === "2.0";
  let rttG = -1;
  if (!v2) {
    rttG = gran(rmm, rtt, GranuleState.DELEGATED);
    if (rttG < 0) return ERROR_INPUT;
  }
  const a = rttTarget(rmm, rd, ipaReg, levelReg, validStructureArgs);
  if (a === undefined) return ERROR_INPUT;
  const { realm, ipa, level } = a;
  // rtt_bound2: without LPA2 an RTT must lie below 2^48
  if (!realm.lpa2 && toNum(rtt) >= 2 ** 48) return ERROR_INPUT;
  const w = rttWalk(rmm, realm, ipa, level - 1);
  if (w.level !== level - 1) return rttError(w.level);
  if (v2) {
    rttG = gran(rmm, rtt, GranuleState.DELEGATED);
    if (rttG < 0) return ERROR_INPUT;
  }
  // rtte_state: the parent entry is already a table
  if (w.table.kind[w.index] === S2tte.TABLE) return rttError(level - 1);
  unfold(rmm, realm, w.table, w.index, rttG);
  return SUCCESS;
}

/**
 * RMI_RTT_DESTROY(rd, ipa, level) -> x1 rtt, x2 top.
 * 1 gran(rd) -> INPUT (x2 0); 2 level/ipa -> INPUT (x2 0); 3 walk to level-1 stops early or the
 * parent entry is not TABLE -> RTT(walk level), x2 = skip-non-live; 4 child live (refcount != 0)
 * -> RTT(level), x2 = ipa. Success: parent UNASSIGNED/DESTROYED (PAR) or UNASSIGNED_NS, child
 * -> DELEGATED, x1 = child PA, x2 = skip-non-live from the parent entry.
 */
function rttDestroy(rmm: RmmState, rd: bigint, ipaReg: bigint, levelReg: bigint): number {
  const a = rttTarget(rmm, rd, ipaReg, levelReg, validStructureArgs);
  if (a === undefined) return ERROR_INPUT;
  const { realm, ipa, level } = a;
  const w = rttWalk(rmm, realm, ipa, level - 1);
  if (w.level !== level - 1 || w.table.kind[w.index] !== S2tte.TABLE) {
    rmm.out2 = BigInt(skipNonLive(w.table, ipa));
    return rttError(w.level);
  }
  const child = childTable(rmm, w.table, w.index);
  if (rmm.granules.refcount(child.g) !== 0) {
    rmm.out2 = ipaReg;
    return rttError(level);
  }
  rmm.out1 = BigInt(destroyChild(rmm, realm, w.table, w.index));
  rmm.out2 = BigInt(skipNonLive(w.table, ipa));
  return SUCCESS;
}

/**
 * RMI_RTT_FOLD(rd, ipa, level) -> x1 rtt.
 * 1 gran(rd) -> INPUT; 2 level/ipa -> INPUT; 3 walk to level-1 stops at l -> RTT(l); 4 parent
 * not TABLE -> RTT(level-1); 5 child not homogeneous -> RTT(level) (RTT(level-1) when the block
 * would be below level 1). Success: parent takes the block/unassigned entry, child -> DELEGATED.
 */
function rttFold(rmm: RmmState, rd: bigint, ipaReg: bigint, levelReg: bigint): number {
  const a = rttTarget(rmm, rd, ipaReg, levelReg, validStructureArgs);
  if (a === undefined) return ERROR_INPUT;
  const { realm, ipa, level } = a;
  const w = rttWalk(rmm, realm, ipa, level - 1);
  if (w.level !== level - 1) return rttError(w.level);
  if (w.table.kind[w.index] !== S2tte.TABLE) return rttError(level - 1);
  const child = childTable(rmm, w.table, w.index);
  const { status, result } = foldCheck(rmm, child);
  if (status !== SUCCESS) return status;
  rmm.out1 = BigInt(applyFold(rmm, w.table, w.index, child, result));
  return SUCCESS;
}

/**
 * RMI_RTT_MAP_UNPROTECTED(rd, ipa, level, desc).
 * 1 level not in [1, 3] -> INPUT; 2 gran(rd) -> INPUT; 3 desc invalid (host_ns_s2tte_is_valid)
 * -> INPUT; 4 ipa out of range or not aligned to level -> INPUT; 5 ipa in the PAR -> INPUT;
 * 6 walk to level stops at l -> RTT(l); 7 entry not UNASSIGNED_NS -> RTT(level).
 * Effect: ASSIGNED_NS with the host's OA, MemAttr and S2AP.
 */
function rttMapUnprotected(rmm: RmmState, rd: bigint, ipaReg: bigint, levelReg: bigint, desc: bigint): number {
  const level = levelArg(levelReg);
  if (!validMapLevel(level)) return ERROR_INPUT;
  const rdG = gran(rmm, rd, GranuleState.RD);
  if (rdG < 0) return ERROR_INPUT;
  const realm = realmOf(rmm, rdG);
  if (!hostNsDescValid(desc, level, realm.lpa2)) return ERROR_INPUT;
  const ipa = toNum(ipaReg);
  if (!validMapAddr(realm, ipa, level)) return ERROR_INPUT;
  if (realm.addrInPar(ipa)) return ERROR_INPUT;
  const w = rttWalk(rmm, realm, ipa, level);
  if (w.level !== level) return rttError(w.level);
  const t = w.table;
  if (t.kind[w.index] !== S2tte.UNASSIGNED_NS) return rttError(level);
  t.kind[w.index] = S2tte.ASSIGNED_NS;
  t.addr[w.index] = nsDescOa(desc, level, realm.lpa2);
  t.attr[w.index] = Number(desc & NS_ATTR_MASK);
  return SUCCESS;
}

/**
 * RMI_RTT_UNMAP_UNPROTECTED(rd, ipa, level) -> x1 top.
 * 1 level not in [1, 3] -> INPUT; 2 gran(rd) -> INPUT; 3 ipa out of range, unaligned or in the
 * PAR -> INPUT; 4 walk stops before level, or the entry is not ASSIGNED_NS -> RTT(walk level),
 * x1 = skip-non-live. Success: UNASSIGNED_NS, x1 = skip-non-live.
 */
function rttUnmapUnprotected(rmm: RmmState, rd: bigint, ipaReg: bigint, levelReg: bigint): number {
  const level = levelArg(levelReg);
  if (!validMapLevel(level)) return ERROR_INPUT;
  const rdG = gran(rmm, rd, GranuleState.RD);
  if (rdG < 0) return ERROR_INPUT;
  const realm = realmOf(rmm, rdG);
  const ipa = toNum(ipaReg);
  if (!validMapAddr(realm, ipa, level) || realm.addrInPar(ipa)) return ERROR_INPUT;
  const w = rttWalk(rmm, realm, ipa, level);
  const t = w.table;
  if (w.level !== level || t.kind[w.index] !== S2tte.ASSIGNED_NS) {
    rmm.out1 = BigInt(skipNonLive(t, ipa));
    return rttError(w.level);
  }
  t.kind[w.index] = S2tte.UNASSIGNED_NS;
  t.addr[w.index] = 0;
  t.attr[w.index] = 0;
  rmm.out1 = BigInt(skipNonLive(t, ipa));
  return SUCCESS;
}

/**
 * RMI_RTT_READ_ENTRY(rd, ipa, level) -> x1 walk_level, x2 state, x3 desc, x4 ripas.
 * 1 gran(rd) -> INPUT; 2 level not in [sl, 3], ipa out of range or not aligned to level -> INPUT
 * (x1..x4 stay 0). Otherwise the entry where the walk towards `level` stopped.
 */
function rttReadEntry(rmm: RmmState, rd: bigint, ipaReg: bigint, levelReg: bigint): number {
  const a = rttTarget(rmm, rd, ipaReg, levelReg, validEntryArgs);
  if (a === undefined) return ERROR_INPUT;
  const { realm, ipa, level } = a;
  const w = rttWalk(rmm, realm, ipa, level);
  const k = w.table.kind[w.index]! as S2tte;
  rmm.out1 = BigInt.asUintN(64, BigInt(w.level));
  rmm.out2 = BigInt(entryState(k));
  rmm.out3 = entryDesc(w.table, w.index, realm.lpa2);
  rmm.out4 = BigInt(entryRipas(k));
  return SUCCESS;
}

export const RTT_COMMANDS: RmiCommand[] = [
  { name: "RMI_RTT_CREATE", fnum: 0x15d, method: "rttCreate", args: ["rd", "rtt", "ipa", "level"], outs: [], handler: rttCreate, abi: ["1.0", "2.0"] },
  { name: "RMI_RTT_DESTROY", fnum: 0x15e, method: "rttDestroy", args: ["rd", "ipa", "level"], outs: ["rtt", "top"], handler: rttDestroy, abi: ["1.0", "2.0"] },
  { name: "RMI_RTT_MAP_UNPROTECTED", fnum: 0x15f, method: "rttMapUnprotected", args: ["rd", "ipa", "level", "desc"], outs: [], handler: rttMapUnprotected, abi: ["1.0", "2.0"], compat: true },
  { name: "RMI_RTT_READ_ENTRY", fnum: 0x161, method: "rttReadEntry", args: ["rd", "ipa", "level"], outs: ["walk_level", "state", "desc", "ripas"], handler: rttReadEntry, abi: ["1.0", "2.0"] },
  { name: "RMI_RTT_UNMAP_UNPROTECTED", fnum: 0x162, method: "rttUnmapUnprotected", args: ["rd", "ipa", "level"], outs: ["top"], handler: rttUnmapUnprotected, abi: ["1.0", "2.0"], compat: true },
  { name: "RMI_RTT_FOLD", fnum: 0x166, method: "rttFold", args: ["rd", "ipa", "level"], outs: ["rtt"], handler: rttFold, abi: ["1.0", "2.0"] },
];

/**
 * RMI_DATA_CREATE / RMI_DATA_CREATE_UNKNOWN / RMI_DATA_DESTROY (v1.0).
 * Source: RMM spec 1.0-rel0 B4.3 (DATA commands); TF-RMM rmm-spec-v1.0-rel0 runtime/rmi/rtt.c
 * (smc_data_create, smc_data_create_unknown, data_create, smc_data_destroy).
 */
import { S2TT_PAGE_LEVEL, toNum } from "../../arch/geometry.js";
import { gran, nsGranule, paAboveLimit } from "../checks.js";
import type { RmiCommand } from "../dispatch.js";
import { GranuleState } from "../granule.js";
import { rimExtendData } from "../measurement.js";
import { RealmState } from "../realm.js";
import type { RmmState } from "../state.js";
import { assignData, rttError, unassignData, validMapAddr } from "../rtt-ops.js";
import { Ripas, S2tte, skipNonLive } from "../s2tt.js";
import { ERROR_INPUT, ERROR_REALM, SUCCESS } from "../status.js";
import { rttWalk } from "../walk.js";

/** RmiDataFlags: measure the contents (RMI_MEASURE_CONTENT) or not. */
export const RMI_NO_MEASURE_CONTENT = 0n;
export const RMI_MEASURE_CONTENT = 1n;

/**
 * The part DATA_CREATE and DATA_CREATE_UNKNOWN share (TF-RMM data_create). `srcG` < 0 means
 * CREATE_UNKNOWN. Checks: gran(data) DELEGATED / gran(rd) RD -> INPUT; (CREATE) realm not NEW ->
 * REALM; ipa outside the PAR, out of range or not 4K aligned -> INPUT; data >= 2^48 without LPA2
 * -> INPUT; walk to level 3 stops at l -> RTT(l); entry not UNASSIGNED -> RTT(3).
 */
function dataCreateCommon(rmm: RmmState, rd: bigint, data: bigint, ipaReg: bigint, srcG: number, flags: bigint): number {
  const dataG = gran(rmm, data, GranuleState.DELEGATED);
  const rdG = gran(rmm, rd, GranuleState.RD);
  if (dataG < 0 || rdG < 0) return ERROR_INPUT;
  const realm = rmm.realms.get(rdG)!;
  if (srcG >= 0 && realm.state !== RealmState.NEW) return ERROR_REALM;
  const ipa = toNum(ipaReg);
  if (!realm.addrInPar(ipa) || !validMapAddr(realm, ipa, S2TT_PAGE_LEVEL)) return ERROR_INPUT;
  if (paAboveLimit(dataG, realm.lpa2)) return ERROR_INPUT;
  const w = rttWalk(rmm, realm, ipa, S2TT_PAGE_LEVEL);
  if (w.level !== S2TT_PAGE_LEVEL) return rttError(w.level);
  const k = w.table.kind[w.index]! as S2tte;
  if (k > S2tte.UNASSIGNED_DESTROYED) return rttError(S2TT_PAGE_LEVEL);
  const mem = rmm.machine.mem;
  if (srcG >= 0) {
    // The copy from an NS granule cannot fault here: nsGranule checked its PAS.
    mem.copy(dataG, srcG);
    realm.rim = rimExtendData(realm.hashAlgo, realm.rim, ipa, flags, mem.granuleBytes(dataG));
    assignData(rmm, w.table, w.index, dataG, Ripas.RAM);
  } else {
    // The granule is DELEGATED, hence zero: "unknown" contents. RIPAS is unchanged.
    assignData(rmm, w.table, w.index, dataG, (k % 3) as Ripas);
  }
  return SUCCESS;
}

/**
 * RMI_DATA_CREATE(rd, data, ipa, src, flags): 1 flags not NO_MEASURE/MEASURE -> INPUT; 2 src not
 * an NS granule -> INPUT; then dataCreateCommon. Effect: data = copy of src, RIM extended,
 * entry ASSIGNED/RAM whatever its RIPAS was.
 */
function dataCreate(rmm: RmmState, rd: bigint, data: bigint, ipa: bigint, src: bigint, flags: bigint): number {
  if (flags !== RMI_NO_MEASURE_CONTENT && flags !== RMI_MEASURE_CONTENT) return ERROR_INPUT;
  const srcG = nsGranule(rmm, src);
  if (srcG < 0) return ERROR_INPUT;
  return dataCreateCommon(rmm, rd, data, ipa, srcG, flags);
}

/** RMI_DATA_CREATE_UNKNOWN(rd, data, ipa): any realm state; entry ASSIGNED with RIPAS unchanged; RIM unchanged. */
function dataCreateUnknown(rmm: RmmState, rd: bigint, data: bigint, ipa: bigint): number {
  return dataCreateCommon(rmm, rd, data, ipa, -1, 0n);
}

/**
 * RMI_DATA_DESTROY(rd, ipa) -> x1 data, x2 top.
 * 1 gran(rd) -> INPUT (x2 0); 2 ipa outside the PAR, out of range or unaligned -> INPUT (x2 0);
 * 3 walk to level 3 stops at l -> RTT(l), x2 = skip-non-live; 4 entry not ASSIGNED -> RTT(3),
 * x2 = skip-non-live. Success: RAM -> UNASSIGNED/DESTROYED, EMPTY -> UNASSIGNED/EMPTY,
 * DESTROYED -> UNASSIGNED/DESTROYED; data -> DELEGATED (scrubbed); x1 = PA, x2 = skip-non-live.
 */
function dataDestroy(rmm: RmmState, rd: bigint, ipaReg: bigint): number {
  const rdG = gran(rmm, rd, GranuleState.RD);
  if (rdG < 0) return ERROR_INPUT;
  const realm = rmm.realms.get(rdG)!;
  const ipa = toNum(ipaReg);
  if (!realm.addrInPar(ipa) || !validMapAddr(realm, ipa, S2TT_PAGE_LEVEL)) return ERROR_INPUT;
  const w = rttWalk(rmm, realm, ipa, S2TT_PAGE_LEVEL);
  const t = w.table;
  if (w.level !== S2TT_PAGE_LEVEL) {
    rmm.out2 = BigInt(skipNonLive(t, ipa));
    return rttError(w.level);
  }
  const k = t.kind[w.index]! as S2tte;
  if (k < S2tte.ASSIGNED_EMPTY || k > S2tte.ASSIGNED_DESTROYED) {
    rmm.out2 = BigInt(skipNonLive(t, ipa));
    return rttError(S2TT_PAGE_LEVEL);
  }
  rmm.out1 = BigInt(unassignData(rmm, t, w.index));
  rmm.out2 = BigInt(skipNonLive(t, ipa));
  return SUCCESS;
}

export const DATA_COMMANDS: RmiCommand[] = [
  { name: "RMI_DATA_CREATE", fnum: 0x153, method: "dataCreate", args: ["rd", "data", "ipa", "src", "flags"], outs: [], handler: dataCreate, abi: ["1.0"] },
  { name: "RMI_DATA_CREATE_UNKNOWN", fnum: 0x154, method: "dataCreateUnknown", args: ["rd", "data", "ipa"], outs: [], handler: dataCreateUnknown, abi: ["1.0"] },
  { name: "RMI_DATA_DESTROY", fnum: 0x155, method: "dataDestroy", args: ["rd", "ipa"], outs: ["data", "top"], handler: dataDestroy, abi: ["1.0"] },
];

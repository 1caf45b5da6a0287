/**
 * RMI_REALM_CREATE / RMI_REALM_ACTIVATE / RMI_REALM_DESTROY.
 * Source: RMM spec B4.3.9 / B4.3.8 / B4.3.10; TF-RMM rmm-spec-v1.0-rel0 runtime/rmi/realm.c
 * (validate_realm_params, validate_ipa_bits_and_sl, s2_num_root_rtts, smc_realm_create);
 * [CBMC] tb_rmi_realm_activate.c, tb_rmi_realm_destroy.c.
 */
import { GRANULE_SIZE, S2TTES_PER_S2TT, S2TTES_PER_S2TT_LM1, mapSize, pow2, toNum } from "../../arch/geometry.js";
import { REALM_PARAMS, RMI_REALM_FLAGS_LPA2, RMI_REALM_FLAGS_PMU, RMI_REALM_FLAGS_SVE } from "../abi/realm-params.js";
import { MAX_REC_AUX_GRANULES } from "../abi/rec-params.js";
import { findGranule, gran, nsGranule, nsReadGranule, paAboveLimit } from "../checks.js";
import type { RmiCommand } from "../dispatch.js";
import { GranuleState } from "../granule.js";
import { rimInit } from "../measurement.js";
import { Realm, RealmState } from "../realm.js";
import type { RmmState } from "../state.js";
import { Rtt, S2tte } from "../s2tt.js";
import { ERROR_INPUT, ERROR_REALM, SUCCESS } from "../status.js";

/** Decoded RmiRealmParams, with the widths TF-RMM reads. */
export interface DecodedRealmParams {
  flags: bigint;
  s2sz: number;
  sveVl: number;
  numBps: number;
  numWps: number;
  pmuNumCtrs: number;
  hashAlgo: number;
  rpv: Uint8Array;
  vmid: number;
  rttBase: bigint;
  rttLevelStart: bigint;
  rttNumStart: number;
  numAuxPlanes: number;
  flags1: bigint;
  raw: Uint8Array;
}

export function decodeRealmParams(raw: Uint8Array): DecodedRealmParams {
  const v = new DataView(raw.buffer, raw.byteOffset, raw.byteLength);
  const u32 = (o: number) => v.getUint32(o, true);
  return {
    flags: v.getBigUint64(REALM_PARAMS.flags, true),
    s2sz: u32(REALM_PARAMS.s2sz),
    sveVl: u32(REALM_PARAMS.sve_vl),
    numBps: u32(REALM_PARAMS.num_bps),
    numWps: u32(REALM_PARAMS.num_wps),
    pmuNumCtrs: u32(REALM_PARAMS.pmu_num_ctrs),
    hashAlgo: raw[REALM_PARAMS.hash_algo]!,
    rpv: raw.slice(REALM_PARAMS.rpv, REALM_PARAMS.rpv + 64),
    vmid: v.getUint16(REALM_PARAMS.vmid, true),
    rttBase: v.getBigUint64(REALM_PARAMS.rtt_base, true),
    rttLevelStart: v.getBigInt64(REALM_PARAMS.rtt_level_start, true),
    rttNumStart: u32(REALM_PARAMS.rtt_num_start),
    numAuxPlanes: u32(REALM_PARAMS.num_aux_planes),
    flags1: v.getBigUint64(REALM_PARAMS.flags1, true),
    raw,
  };
}

/**
 * validate_ipa_bits_and_sl: is (s2sz, sl) a valid pair? levels = 3 - sl; min IPA bits for sl are
 * levels * 9 + 12 + 1, max is min + 8 (min + 3 at level -1); concatenating up to 16 root tables
 * adds 4 bits when sl > 0, or sl == 0 with LPA2. Level 0 needs a PA width of at least 44.
 */
export function ipaBitsAndSlConsistent(s2sz: number, sl: number, lpa2: boolean, paBits: number): boolean {
  const minSl = lpa2 ? -1 : 0;
  if (sl < minSl || sl > 3) return false;
  if (sl === 0 && paBits < 44) return false;
  const levels = 3 - sl;
  const minBits = levels * 9 + 12 + 1;
  let maxBits = sl === -1 ? minBits + 3 : minBits + 8;
  if (sl > 0 || (sl === 0 && lpa2)) maxBits += 4;
  return s2sz >= minBits && s2sz <= maxBits;
}

/** s2_num_root_rtts: 1 if one full table at sl resolves s2sz, else 2^(s2sz - sl_bits). */
export function numRootRtts(s2sz: number, sl: number): number {
  const slBits = (3 - sl) * 9 + 12 + 9;
  return s2sz <= slBits ? 1 : pow2(s2sz - slBits);
}

/** Root RTT i of a realm: protected entries UNASSIGNED_EMPTY, unprotected ones UNASSIGNED_NS (init_s2_starting_level). */
export function makeRootRtt(realm: { sl: number; parSize: number }, g: number, i: number): Rtt {
  const entries = realm.sl === -1 ? S2TTES_PER_S2TT_LM1 : S2TTES_PER_S2TT;
  const size = mapSize(realm.sl);
  const t = new Rtt(g, realm.sl, i * entries * size, S2tte.UNASSIGNED_EMPTY);
  for (let e = 0; e < entries; e++) if (t.ipaOf(e) >= realm.parSize) t.kind[e] = S2tte.UNASSIGNED_NS;
  return t;
}

/**
 * The v1.0 parameter checks of REALM_CREATE in spec order (TF-RMM rmm-spec-v1.0-rel0
 * runtime/rmi/realm.c validate_realm_params, in its order). Returns ERROR_INPUT or SUCCESS. Shared with the v2.0 REALM_CREATE.
 */
export function validateRealmParams(rmm: RmmState, p: DecodedRealmParams, hashAlgos: readonly number[]): number {
  const f = rmm.features;
  const lpa2 = (p.flags & RMI_REALM_FLAGS_LPA2) !== 0n;
  // 2 params_supp: LPA2 requested but not supported
  if (lpa2 && !f.lpa2) return ERROR_INPUT;
  // 3 params_valid: s2sz range
  const maxS2sz = lpa2 ? Math.min(f.s2sz, 52) : Math.min(f.s2sz, 48);
  if (p.s2sz < 32 || p.s2sz > maxS2sz) return ERROR_INPUT;
  // 4 params_supp: breakpoints / watchpoints (0 is reserved)
  if (p.numBps === 0 || p.numBps > f.numBps) return ERROR_INPUT;
  if (p.numWps === 0 || p.numWps > f.numWps) return ERROR_INPUT;
  // 5 SVE
  if ((p.flags & RMI_REALM_FLAGS_SVE) !== 0n && (!f.sve || p.sveVl > f.sveVl)) return ERROR_INPUT;
  // 6 PMU
  if ((p.flags & RMI_REALM_FLAGS_PMU) !== 0n) {
    if (!f.pmu || p.pmuNumCtrs > f.pmuNumCtrs || (p.pmuNumCtrs === 0 && !f.hpmn0)) return ERROR_INPUT;
  }
  // 7 rtt_num_level: (s2sz, rtt_level_start) consistent
  const sl = p.rttLevelStart;
  if (sl < -1n || sl > 3n || !ipaBitsAndSlConsistent(p.s2sz, Number(sl), lpa2, f.paBits)) return ERROR_INPUT;
  // 8 rtt_num_start must equal the root table count
  if (p.rttNumStart !== numRootRtts(p.s2sz, Number(sl))) return ERROR_INPUT;
  // 9 hash algorithm valid and supported
  if (!hashAlgos.includes(p.hashAlgo)) return ERROR_INPUT;
  if ((p.hashAlgo === 0 && !f.sha256) || (p.hashAlgo === 1 && !f.sha512)) return ERROR_INPUT;
  return SUCCESS;
}

/**
 * Checks 11-12 (alias, rd and root RTT granules) and the root-RTT PA bound. Returns the RD granule
 * index and the first root granule, or -1.
 */
export function checkRealmGranules(rmm: RmmState, rd: bigint, p: DecodedRealmParams): { rdG: number; rttG: number } | undefined {
  const lpa2 = (p.flags & RMI_REALM_FLAGS_LPA2) !== 0n;
  const num = p.rttNumStart;
  const rdA = toNum(rd);
  const base = toNum(p.rttBase);
  // 11 alias: the RD inside the root RTT range
  if (rdA >= base && rdA < base + num * GRANULE_SIZE) return undefined;
  // 12 rd_align/bound/state, rtt_align (to num * 4K), rtt_state, rtt_bound2
  const rdG = gran(rmm, rd, GranuleState.DELEGATED);
  if (rdG < 0) return undefined;
  if (base % (num * GRANULE_SIZE) !== 0) return undefined;
  const rttG = findGranule(rmm, p.rttBase);
  if (rttG < 0) return undefined;
  for (let i = 0; i < num; i++) {
    const g = rttG + i;
    if (findGranule(rmm, BigInt((rttG + i) * GRANULE_SIZE)) < 0) return undefined;
    if (rmm.granules.state(g) !== GranuleState.DELEGATED) return undefined;
    if (paAboveLimit(g, lpa2)) return undefined;
  }
  return { rdG, rttG };
}

/** Build the realm and its root RTTs (the effects of a successful REALM_CREATE). */
export function installRealm(rmm: RmmState, rdG: number, rttG: number, p: DecodedRealmParams, vmid: number): Realm {
  const lpa2 = (p.flags & RMI_REALM_FLAGS_LPA2) !== 0n;
  const realm = new Realm(
    rdG, p.s2sz, Number(p.rttLevelStart), p.rttNumStart, rttG, lpa2, vmid, p.hashAlgo,
    MAX_REC_AUX_GRANULES, p.flags, p.rpv, rimInit(p.hashAlgo, p.raw),
  );
  rmm.granules.setState(rdG, GranuleState.RD);
  rmm.granules.setRef(rdG, 0);
  for (let i = 0; i < p.rttNumStart; i++) {
    const g = rttG + i;
    rmm.granules.setState(g, GranuleState.RTT);
    rmm.granules.setRef(g, 0);
    const t = makeRootRtt(realm, g, i);
    t.rd = rdG;
    rmm.rtts.set(g, t);
  }
  rmm.realms.set(rdG, realm);
  return realm;
}

/** RMI_REALM_CREATE(rd, params_ptr) v1.0. */
function realmCreate(rmm: RmmState, rd: bigint, paramsPtr: bigint): number {
  // 1 params_align/bound/pas
  const pg = nsGranule(rmm, paramsPtr);
  if (pg < 0) return ERROR_INPUT;
  const p = decodeRealmParams(nsReadGranule(rmm, pg));
  const r = validateRealmParams(rmm, p, [0, 1]);
  if (r !== SUCCESS) return r;
  // 10 vmid_valid: in range and not in use
  if (p.vmid >= rmm.features.vmidCount || rmm.vmids.has(p.vmid)) return ERROR_INPUT;
  const gs = checkRealmGranules(rmm, rd, p);
  if (gs === undefined) return ERROR_INPUT;
  rmm.vmids.add(p.vmid);
  installRealm(rmm, gs.rdG, gs.rttG, p, p.vmid);
  return SUCCESS;
}

/** RMI_REALM_ACTIVATE(rd): 1 gran(rd) RD -> INPUT; 2 state != NEW -> REALM. */
function realmActivate(rmm: RmmState, rd: bigint): number {
  const g = gran(rmm, rd, GranuleState.RD);
  if (g < 0) return ERROR_INPUT;
  const realm = rmm.realms.get(g)!;
  if (realm.state !== RealmState.NEW) return ERROR_REALM;
  realm.state = RealmState.ACTIVE;
  return SUCCESS;
}

/** RealmIsLive: a REC exists (RD refcount) or a root RTT holds a TABLE or ASSIGNED entry. */
export function realmIsLive(rmm: RmmState, realm: Realm): boolean {
  if (rmm.granules.refcount(realm.rd) !== 0) return true;
  for (let i = 0; i < realm.numRoot; i++) if (rmm.granules.refcount(realm.rootRtt(i)) !== 0) return true;
  return false;
}

/** Release the RD and root RTTs (DELEGATED, scrubbed) and forget the realm. */
export function removeRealm(rmm: RmmState, realm: Realm): void {
  for (let i = 0; i < realm.numRoot; i++) {
    const g = realm.rootRtt(i);
    rmm.rtts.delete(g);
    rmm.granules.setState(g, GranuleState.DELEGATED);
    rmm.machine.mem.zero(g);
  }
  rmm.granules.setState(realm.rd, GranuleState.DELEGATED);
  rmm.machine.mem.zero(realm.rd);
  rmm.realms.delete(realm.rd);
  rmm.vmids.delete(realm.vmid);
}

/** RMI_REALM_DESTROY(rd) v1.0: 1 gran(rd) RD -> INPUT; 2 realm live -> REALM. */
function realmDestroy(rmm: RmmState, rd: bigint): number {
  const g = gran(rmm, rd, GranuleState.RD);
  if (g < 0) return ERROR_INPUT;
  const realm = rmm.realms.get(g)!;
  if (realmIsLive(rmm, realm)) return ERROR_REALM;
  removeRealm(rmm, realm);
  return SUCCESS;
}

export const REALM_COMMANDS: RmiCommand[] = [
  { name: "RMI_REALM_ACTIVATE", fnum: 0x157, method: "realmActivate", args: ["rd"], outs: [], handler: realmActivate, abi: ["1.0", "2.0"] },
  { name: "RMI_REALM_CREATE", fnum: 0x158, method: "realmCreate", args: ["rd", "params_ptr"], outs: [], handler: realmCreate, abi: ["1.0"] },
  { name: "RMI_REALM_DESTROY", fnum: 0x159, method: "realmDestroy", args: ["rd"], outs: [], handler: realmDestroy, abi: ["1.0"] },
];

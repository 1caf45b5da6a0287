/**
 * REC building blocks shared by the v1.0 REC_CREATE/REC_DESTROY (commands/rec.ts) and the v2.0
 * SRO versions: RmiRecParams decoding, the realm-side checks, installing and removing a REC.
 * Source: TF-RMM rmm-spec-v1.0-rel0 runtime/rmi/rec.c (smc_rec_create, smc_rec_destroy,
 * free_rec_aux_granules), runtime/include/rec.h.
 */
import { pow2 } from "../arch/geometry.js";
import { MAX_REC_AUX_GRANULES, REC_PARAMS, REC_PARAMS_GPRS, RMI_REC_PARAMS_FLAG_RUNNABLE, mpidrToRecIndex, recMpidrIsValid } from "./abi/rec-params.js";
import { Pas } from "../platform/gpt.js";
import { findGranule } from "./checks.js";
import { GranuleState } from "./granule.js";
import { rimExtendRec } from "./measurement.js";
import { RealmState, type Realm } from "./realm.js";
import { Rec } from "./rec.js";
import type { RmmState } from "./state.js";
import { ERROR_INPUT, ERROR_REALM, SUCCESS } from "./status.js";

/** RmiRecParams with the widths TF-RMM reads. */
export interface DecodedRecParams {
  flags: bigint;
  mpidr: bigint;
  pc: bigint;
  gprs: bigint[];
  /** num_aux (a UInt64 in the spec; values above 2^32 are kept above 16, so they fail the check). */
  numAux: number;
  aux: bigint[];
  raw: Uint8Array;
}

export function decodeRecParams(raw: Uint8Array): DecodedRecParams {
  const v = new DataView(raw.buffer, raw.byteOffset, raw.byteLength);
  const u64 = (o: number) => v.getBigUint64(o, true);
  const gprs: bigint[] = [];
  for (let i = 0; i < REC_PARAMS_GPRS; i++) gprs.push(u64(REC_PARAMS.gprs + 8 * i));
  const aux: bigint[] = [];
  for (let i = 0; i < MAX_REC_AUX_GRANULES; i++) aux.push(u64(REC_PARAMS.aux + 8 * i));
  return {
    flags: u64(REC_PARAMS.flags),
    mpidr: u64(REC_PARAMS.mpidr),
    pc: u64(REC_PARAMS.pc),
    gprs,
    // TF-RMM casts to unsigned int; the spec's field is 64 bits wide, so no truncation here
    numAux: Number(BigInt.asUintN(64, u64(REC_PARAMS.num_aux)) > 0xffff_ffffn ? 0x1_0000_0000n : u64(REC_PARAMS.num_aux)),
    aux,
    raw,
  };
}

/** The most RECs a realm can have: the RD refcount limit, 2^MAX_RECS_ORDER - 1 (TF-RMM REFCOUNT_MAX). */
export function maxRecs(rmm: RmmState): number {
  return pow2(rmm.features.maxRecsOrder) - 1;
}

/** "The REC is running": its granule refcount is non-zero while REC_ENTER is in progress. */
export function recIsRunning(rmm: RmmState, rec: Rec): boolean {
  return rmm.granules.refcount(rec.g) !== 0;
}

/**
 * REC_CREATE checks that follow the granule checks (TF-RMM runtime/rmi/rec.c smc_rec_create, in its order):
 * RD refcount at its maximum -> REALM; realm not NEW -> REALM; mpidr with bits outside the
 * affinity fields, or whose index is not the next REC index -> INPUT.
 */
export function recCreateRealmChecks(rmm: RmmState, realm: Realm, mpidr: bigint): number {
  // 5 the maximum number of RECs is reached (granule_refcount_read(g_rd) == REFCOUNT_MAX)
  if (rmm.granules.refcount(realm.rd) >= maxRecs(rmm)) return ERROR_REALM;
  // 6 realm_state
  if (realm.state !== RealmState.NEW) return ERROR_REALM;
  // 7 mpidr_index: valid RmiRecMpidr and index == rec_count (RECs are created in index order)
  if (!recMpidrIsValid(mpidr) || mpidrToRecIndex(mpidr) !== realm.recCount) return ERROR_INPUT;
  return SUCCESS;
}

/**
 * The effects of a successful REC_CREATE: rec -> REC (refcount 0), aux -> REC_AUX, RD refcount
 * +1, rec_count +1, the REC's registers from the params (x0..x7, pc; EL1h with DAIF masked), and
 * the RIM extended only if RUNNABLE (TF-RMM measurement_rec_params_measure).
 */
export function installRec(rmm: RmmState, realm: Realm, recG: number, p: DecodedRecParams, aux: readonly number[]): Rec {
  const runnable = (p.flags & RMI_REC_PARAMS_FLAG_RUNNABLE) !== 0n;
  const rec = new Rec(recG, realm.rd, realm.recCount, p.mpidr, [...aux], runnable, p.pc, p.gprs);
  for (const a of aux) rmm.granules.setState(a, GranuleState.REC_AUX);
  rmm.granules.setState(recG, GranuleState.REC);
  rmm.granules.setRef(recG, 0);
  rmm.granules.addRef(realm.rd, 1);
  realm.recCount++;
  if (runnable) realm.rim = rimExtendRec(realm.hashAlgo, realm.rim, p.raw);
  rmm.recs.set(recG, rec);
  return rec;
}

/**
 * The effects of a successful REC_DESTROY: aux granules -> DELEGATED (scrubbed), the REC ->
 * DELEGATED (zeroed), RD refcount -1. rec_count is not decremented: indices are never reused.
 */
export function removeRec(rmm: RmmState, rec: Rec): void {
  for (const a of rec.aux) {
    rmm.granules.setState(a, GranuleState.DELEGATED);
    rmm.machine.mem.zero(a);
  }
  rmm.granules.setState(rec.g, GranuleState.DELEGATED);
  rmm.machine.mem.zero(rec.g);
  rmm.granules.addRef(rec.rd, -1);
  rmm.recs.delete(rec.g);
}

/**
 * The first check on an NS buffer the RMM reads or writes (params, run): find_granule (aligned,
 * tracked DRAM) and granule state UNDELEGATED. Returns the granule index or -1.
 */
export function nsBufferFound(rmm: RmmState, addr: bigint): number {
  const g = findGranule(rmm, addr);
  if (g < 0 || rmm.granules.state(g) !== GranuleState.NS) return -1;
  return g;
}

/** ns_buffer_read/write succeeds only if the GPT says NS (else the RMM's access faults -> INPUT). */
export function nsBufferAccessible(rmm: RmmState, g: number): boolean {
  return rmm.machine.gpt.get(g) === Pas.NS;
}

/** Both NS buffer checks at once (REC_CREATE params): the granule index or -1. */
export function nsBufferGranule(rmm: RmmState, addr: bigint): number {
  const g = nsBufferFound(rmm, addr);
  return g >= 0 && nsBufferAccessible(rmm, g) ? g : -1;
}

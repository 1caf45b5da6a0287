/**
 * RTT building blocks shared by the v1.0 RTT/DATA/RIPAS commands and the v2.0 range commands:
 * argument validation, unfold (RTT_CREATE under a non-table entry), fold (the homogeneity rules),
 * destroy, data map/unmap of one entry, RIPAS updates, the unprotected descriptor rules and the
 * RTT_READ_ENTRY encoding.
 *
 * Every function here either only inspects, or only mutates; the command handlers call the
 * inspecting ones for every failure condition first (a failed command changes nothing).
 *
 * Sources: RMM spec (DEN0137 1.0-rel0) sections on RTTs and the RMI_RTT_* commands; TF-RMM
 * rmm-spec-v1.0-rel0 runtime/rmi/rtt.c and lib/s2tt/src/s2tt.c.
 */
import { GRANULE_SIZE, S2TT_MIN_BLOCK_LEVEL, S2TT_PAGE_LEVEL, mapSize } from "../arch/geometry.js";
import { GranuleState } from "./granule.js";
import { rimExtendRipas } from "./measurement.js";
import type { Realm } from "./realm.js";
import type { RmmState } from "./state.js";
import { Ripas, Rtt, RmiRttEntryState, S2tte, isLive } from "./s2tt.js";
import { errorRtt, SUCCESS } from "./status.js";
import { rttWalk, type WalkResult } from "./walk.js";

// ---------------------------------------------------------------------------------------------
// Status and argument validation
// ---------------------------------------------------------------------------------------------

/** RMI_ERROR_RTT at `level`, packed (status.ts errorRtt: level -1 reports index 0xff). */
export const rttError = errorRtt;

/** validate_map_addr: ipa inside the IPA space and aligned to the entry size of `level`. */
export function validMapAddr(realm: Realm, ipa: number, level: number): boolean {
  const size = mapSize(level);
  return ipa < realm.ipaSize && Math.floor(ipa / size) * size === ipa; // ipa % size === 0, without fmod
}

/**
 * validate_rtt_structure_cmds (RTT_CREATE/DESTROY/FOLD): level in [sl + 1, 3] (the root level is
 * never valid) and ipa aligned to the parent level (level - 1).
 */
export function validStructureArgs(realm: Realm, ipa: number, level: number): boolean {
  if (level < realm.sl + 1 || level > S2TT_PAGE_LEVEL) return false;
  return validMapAddr(realm, ipa, level - 1);
}

/** validate_rtt_entry_cmds (RTT_READ_ENTRY): level in [sl, 3] and ipa aligned to `level`. */
export function validEntryArgs(realm: Realm, ipa: number, level: number): boolean {
  if (level < realm.sl || level > S2TT_PAGE_LEVEL) return false;
  return validMapAddr(realm, ipa, level);
}

/** Map/unmap commands work on levels 1..3 only (S2TT_MIN_BLOCK_LEVEL .. S2TT_PAGE_LEVEL). */
export function validMapLevel(level: number): boolean {
  return level >= S2TT_MIN_BLOCK_LEVEL && level <= S2TT_PAGE_LEVEL;
}

// ---------------------------------------------------------------------------------------------
// Granules
// ---------------------------------------------------------------------------------------------

/** A granule going back to DELEGATED: state, refcount 0, contents scrubbed (TF-RMM v1.0 zeroes on every destroy). */
export function releaseToDelegated(rmm: RmmState, g: number): void {
  rmm.granules.setState(g, GranuleState.DELEGATED);
  rmm.granules.setRef(g, 0);
  rmm.machine.mem.zero(g);
}

/** The child RTT a TABLE entry points at. */
export function childTable(rmm: RmmState, t: Rtt, i: number): Rtt {
  const c = rmm.rtts.get(t.addr[i]! / GRANULE_SIZE);
  if (c === undefined) throw new Error(`RTT model: TABLE entry ${i} of RTT 0x${(t.g * GRANULE_SIZE).toString(16)} points at no RTT`);
  return c;
}

/** Walk the realm's RTTs for `ipa` towards `level` (re-exported for the v2.0 families). */
export function walk(rmm: RmmState, realm: Realm, ipa: number, level: number): WalkResult {
  return rttWalk(rmm, realm, ipa, level);
}

// ---------------------------------------------------------------------------------------------
// Unfold: RTT_CREATE under a non-table entry (TF-RMM runtime/rmi/rtt.c smc_rtt_create)
// ---------------------------------------------------------------------------------------------

/**
 * Build the child RTT (granule `childG`, one level below `parent`) from entry `i` of `parent`,
 * make the entry TABLE and move the refcounts (TF-RMM smc_rtt_create):
 *  - unassigned (any RIPAS) / UNASSIGNED_NS: 512 copies, parent refcount +1;
 *  - assigned block (any RIPAS): 512 entries, contiguous PAs; child refcount 512, parent unchanged
 *    (the block's reference becomes the table's);
 *  - ASSIGNED_NS block: 512 ASSIGNED_NS entries with contiguous OAs and the same host attributes;
 *    parent refcount +1 (NS entries hold no reference).
 * The caller has checked that the entry is not TABLE and that `childG` is DELEGATED.
 */
export function unfold(rmm: RmmState, realm: Realm, parent: Rtt, i: number, childG: number): Rtt {
  const k = parent.kind[i]! as S2tte;
  if (k === S2tte.TABLE) throw new Error("unfold: entry is already a TABLE");
  const level = parent.level + 1;
  const child = new Rtt(childG, level, parent.ipaOf(i), k);
  child.rd = realm.rd;
  let childRef = 0;
  if ((k >= S2tte.ASSIGNED_EMPTY && k <= S2tte.ASSIGNED_DESTROYED) || k === S2tte.ASSIGNED_NS) {
    const size = mapSize(level);
    const pa = parent.addr[i]!;
    const attr = parent.attr[i]!;
    for (let e = 0; e < child.entries; e++) {
      child.addr[e] = pa + e * size;
      child.attr[e] = attr;
    }
    if (k === S2tte.ASSIGNED_NS) rmm.granules.addRef(parent.g, 1);
    else childRef = child.entries;
  } else {
    rmm.granules.addRef(parent.g, 1);
  }
  rmm.granules.setState(childG, GranuleState.RTT);
  rmm.granules.setRef(childG, childRef);
  rmm.rtts.set(childG, child);
  parent.kind[i] = S2tte.TABLE;
  parent.addr[i] = childG * GRANULE_SIZE;
  parent.attr[i] = 0;
  return child;
}

// ---------------------------------------------------------------------------------------------
// Fold (TF-RMM runtime/rmi/rtt.c smc_rtt_fold; the homogeneity tests of lib/s2tt/src/s2tt.c)
// ---------------------------------------------------------------------------------------------

/** What a fold would write into the parent entry. Reused (no allocation per call). */
export interface FoldResult {
  kind: S2tte;
  addr: number;
  attr: number;
}

const foldScratch: FoldResult = { kind: S2tte.UNASSIGNED_EMPTY, addr: 0, attr: 0 };

/** All entries have kind `k`. */
function uniform(t: Rtt, k: S2tte): boolean {
  const kinds = t.kind;
  for (let e = 0; e < kinds.length; e++) if (kinds[e] !== k) return false;
  return true;
}

/**
 * table_maps_block: every entry has kind `k`, PAs contiguous from a first PA aligned to the parent
 * level's size, and (for NS) identical host attributes.
 */
function mapsBlock(t: Rtt, k: S2tte, checkAttr: boolean): boolean {
  if (t.kind[0] !== k) return false;
  const base = t.addr[0]!;
  if (base % mapSize(t.level - 1) !== 0) return false;
  const size = mapSize(t.level);
  const attr = t.attr[0]!;
  for (let e = 1; e < t.entries; e++) {
    if (t.kind[e] !== k || t.addr[e] !== base + e * size) return false;
    if (checkAttr && t.attr[e] !== attr) return false;
  }
  return true;
}

/**
 * Can `child` (at `child.level`) be folded into its parent entry? Returns SUCCESS (the new parent
 * entry in the returned scratch object) or the packed RMI_ERROR_RTT. TF-RMM smc_rtt_fold:
 *  - refcount 0: 512 unassigned with one RIPAS, 512 UNASSIGNED_NS, or an ASSIGNED_NS block (which
 *    needs level > 1, else RTT(level - 1));
 *  - refcount 512: an assigned block of one RIPAS (needs level > 1, else RTT(level - 1));
 *  - anything else: RTT(level).
 */
export function foldCheck(rmm: RmmState, child: Rtt): { status: number; result: FoldResult } {
  const level = child.level;
  const ref = rmm.granules.refcount(child.g);
  const r = foldScratch;
  r.addr = 0;
  r.attr = 0;
  if (ref === 0) {
    const k0 = child.kind[0]! as S2tte;
    if ((k0 <= S2tte.UNASSIGNED_DESTROYED || k0 === S2tte.UNASSIGNED_NS) && uniform(child, k0)) {
      r.kind = k0;
      return { status: SUCCESS, result: r };
    }
    if (mapsBlock(child, S2tte.ASSIGNED_NS, true)) {
      // No NS block below S2TT_MIN_BLOCK_LEVEL: the error names the parent (walk) level.
      if (level <= S2TT_MIN_BLOCK_LEVEL) return { status: rttError(level - 1), result: r };
      r.kind = S2tte.ASSIGNED_NS;
      r.addr = child.addr[0]!;
      r.attr = child.attr[0]!;
      return { status: SUCCESS, result: r };
    }
    return { status: rttError(level), result: r };
  }
  if (ref === child.entries) {
    if (level <= S2TT_MIN_BLOCK_LEVEL) return { status: rttError(level - 1), result: r };
    const k0 = child.kind[0]! as S2tte;
    if (k0 >= S2tte.ASSIGNED_EMPTY && k0 <= S2tte.ASSIGNED_DESTROYED && mapsBlock(child, k0, false)) {
      r.kind = k0;
      r.addr = child.addr[0]!;
      return { status: SUCCESS, result: r };
    }
    return { status: rttError(level), result: r };
  }
  return { status: rttError(level), result: r };
}

/**
 * Apply a fold that foldCheck accepted: the parent entry takes the block/unassigned state, the
 * refcounts move back (refcount-0 case: parent -1; assigned block: the table's reference becomes
 * the block's) and the child granule goes to DELEGATED (scrubbed). Returns the child's PA.
 */
export function applyFold(rmm: RmmState, parent: Rtt, i: number, child: Rtt, r: FoldResult): number {
  const wasEmpty = rmm.granules.refcount(child.g) === 0;
  parent.kind[i] = r.kind;
  parent.addr[i] = r.addr;
  parent.attr[i] = r.attr;
  if (wasEmpty) rmm.granules.addRef(parent.g, -1);
  rmm.rtts.delete(child.g);
  releaseToDelegated(rmm, child.g);
  return child.g * GRANULE_SIZE;
}

// ---------------------------------------------------------------------------------------------
// Destroy (RTT_DESTROY effect)
// ---------------------------------------------------------------------------------------------

/**
 * Remove the (non-live) child RTT of TABLE entry `i`: the entry becomes UNASSIGNED/DESTROYED in
 * the PAR, UNASSIGNED_NS outside it; parent refcount -1; child -> DELEGATED (scrubbed). Any
 * ASSIGNED_NS entries of the child go with it (they hold no reference; the RMM invalidates the
 * TLB for the whole range). Returns the child's PA.
 */
export function destroyChild(rmm: RmmState, realm: Realm, parent: Rtt, i: number): number {
  const child = childTable(rmm, parent, i);
  parent.kind[i] = realm.addrInPar(parent.ipaOf(i)) ? S2tte.UNASSIGNED_DESTROYED : S2tte.UNASSIGNED_NS;
  parent.addr[i] = 0;
  parent.attr[i] = 0;
  rmm.granules.addRef(parent.g, -1);
  rmm.rtts.delete(child.g);
  releaseToDelegated(rmm, child.g);
  return child.g * GRANULE_SIZE;
}

// ---------------------------------------------------------------------------------------------
// Protected data: one entry
// ---------------------------------------------------------------------------------------------

/**
 * Map DATA granule `dataG` at entry `i` of leaf `t` (DATA_CREATE / DATA_CREATE_UNKNOWN effect):
 * the entry becomes ASSIGNED with `ripas`, the granule DATA, the leaf refcount +1.
 */
export function assignData(rmm: RmmState, t: Rtt, i: number, dataG: number, ripas: Ripas): void {
  t.kind[i] = S2tte.ASSIGNED_EMPTY + ripas;
  t.addr[i] = dataG * GRANULE_SIZE;
  t.attr[i] = 0;
  rmm.granules.setState(dataG, GranuleState.DATA);
  rmm.granules.setRef(dataG, 0);
  rmm.granules.addRef(t.g, 1);
}

/**
 * Unmap the ASSIGNED page at entry `i` (DATA_DESTROY effect): RAM -> UNASSIGNED/DESTROYED,
 * EMPTY -> UNASSIGNED/EMPTY, DESTROYED -> UNASSIGNED/DESTROYED; leaf refcount -1; the DATA
 * granule -> DELEGATED (scrubbed). Returns the PA.
 */
export function unassignData(rmm: RmmState, t: Rtt, i: number): number {
  const k = t.kind[i]! as S2tte;
  const pa = t.addr[i]!;
  t.kind[i] = k === S2tte.ASSIGNED_EMPTY ? S2tte.UNASSIGNED_EMPTY : S2tte.UNASSIGNED_DESTROYED;
  t.addr[i] = 0;
  rmm.granules.addRef(t.g, -1);
  releaseToDelegated(rmm, pa / GRANULE_SIZE);
  return pa;
}

// ---------------------------------------------------------------------------------------------
// RIPAS
// ---------------------------------------------------------------------------------------------

/**
 * update_ripas for one entry (RTT_SET_RIPAS): returns false if the entry stops the loop (no
 * RIPAS: TABLE or NS; or DESTROYED without CHANGE_DESTROYED), true if it was changed or already
 * had the target RIPAS. Target RAM: EMPTY -> RAM, DESTROYED -> RAM with changeDestroyed.
 * Target EMPTY: RAM -> EMPTY, DESTROYED -> EMPTY with changeDestroyed. HIPAS is kept.
 */
export function updateRipas(t: Rtt, i: number, ripas: Ripas, changeDestroyed: boolean): boolean {
  if (!ripasChangeAllowed(t, i, ripas, changeDestroyed)) return false;
  const k = t.kind[i]!;
  t.kind[i] = k - (k % 3) + ripas; // same HIPAS, the target RIPAS
  return true;
}

/** Would updateRipas accept this entry (without changing it)? */
export function ripasChangeAllowed(t: Rtt, i: number, ripas: Ripas, changeDestroyed: boolean): boolean {
  const k = t.kind[i]! as S2tte;
  if (k > S2tte.ASSIGNED_DESTROYED) return false;
  const cur = (k % 3) as Ripas;
  return cur === ripas || cur !== Ripas.DESTROYED || changeDestroyed;
}

/**
 * rtt_set_ripas_range: from entry `index` (whose base is `base`) of `t`, change RIPAS while the
 * entry ends at or below `top`; stops at the end of the table or at an entry updateRipas refuses.
 * Returns the address reached (== base when nothing was done). Only call after checking
 * that base is aligned to t's level.
 */
export function setRipasRange(t: Rtt, index: number, base: number, top: number, ripas: Ripas, changeDestroyed: boolean): number {
  const size = mapSize(t.level);
  let addr = base;
  for (let i = index; i < t.entries; i++) {
    if (addr + size > top) break;
    if (!updateRipas(t, i, ripas, changeDestroyed)) break;
    addr += size;
  }
  return addr;
}

export interface InitRipasOptions {
  /** v1.0: extend the RIM once per entry processed (TF-RMM measurement_init_ripas_measure). */
  measure: boolean;
  /** v2.0: ASSIGNED/EMPTY -> ASSIGNED/RAM is allowed and ASSIGNED/RAM passes. */
  assigned: boolean;
}

/**
 * RTT_INIT_RIPAS loop over one table, from entry `index` (base aligned to t's level): UNASSIGNED
 * EMPTY -> RAM, UNASSIGNED RAM unchanged; both measured (v1.0). Stops before an entry passing
 * `top`, at the end of the table, or at any other entry. Returns the address reached.
 */
export function initRipasRange(realm: Realm, t: Rtt, index: number, base: number, top: number, opts: InitRipasOptions): number {
  const size = mapSize(t.level);
  let addr = base;
  for (let i = index; i < t.entries; i++) {
    const next = addr + size;
    if (next > top) break;
    const k = t.kind[i]! as S2tte;
    if (k === S2tte.UNASSIGNED_EMPTY) t.kind[i] = S2tte.UNASSIGNED_RAM;
    else if (opts.assigned && k === S2tte.ASSIGNED_EMPTY) t.kind[i] = S2tte.ASSIGNED_RAM;
    else if (k !== S2tte.UNASSIGNED_RAM && !(opts.assigned && k === S2tte.ASSIGNED_RAM)) break;
    if (opts.measure) realm.rim = rimExtendRipas(realm.hashAlgo, realm.rim, addr, next);
    addr = next;
  }
  return addr;
}

// ---------------------------------------------------------------------------------------------
// Unprotected (NS) descriptors (TF-RMM s2tt.c host_ns_s2tte_is_valid / host_ns_s2tte)
// ---------------------------------------------------------------------------------------------

/**
 * Host-controlled attribute bits of an NS descriptor: MemAttr[4:2] and S2AP[7:6]. Bit 5 (MemAttr[3]
 * without FWB) is not the host's: TF-RMM rel0 s2tt_pvt_defs.h S2TTE_NS_ATTR_MASK =
 * S2TTE_MEMATTR_MASK (0x7 << 2) | S2TTE_AP_MASK (3 << 6) = 0xdc.
 */
export const NS_ATTR_MASK = 0xdcn;
export const S2TTE_MEMATTR_MASK = 0x1cn;
/** MemAttr 0b100 is reserved with FEAT_S2FWB. */
export const S2TTE_MEMATTR_FWB_RESERVED = 0x10n;
export const S2TTE_MEMATTR_FWB_NORMAL_WB = 0x18n;
export const S2TTE_AP_RW = 0xc0n;

/** OA bits of a descriptor at `level`: [47:lsb]; with LPA2 also [49:48] and [9:8] (= OA[51:50]). */
function oaMask(level: number, lpa2: boolean): bigint {
  const lsb = BigInt(12 + 9 * (3 - level));
  let m = ((1n << 48n) - 1n) ^ ((1n << lsb) - 1n);
  if (lpa2) m |= (3n << 48n) | (3n << 8n);
  return m;
}

/**
 * host_ns_s2tte_is_valid: only the OA bits for `level` and MemAttr/S2AP may be set (so an OA at or
 * above 2^48 without LPA2, or one not aligned to the level, is invalid), and MemAttr must not be
 * the reserved 0b100. SH[9:8] is not host-controlled (without LPA2 the RMM sets inner-shareable;
 * with LPA2 those bits hold OA[51:50]).
 */
export function hostNsDescValid(desc: bigint, level: number, lpa2: boolean): boolean {
  if ((desc & ~(oaMask(level, lpa2) | NS_ATTR_MASK)) !== 0n) return false;
  return (desc & S2TTE_MEMATTR_MASK) !== S2TTE_MEMATTR_FWB_RESERVED;
}

/** The output address a valid NS descriptor names (LPA2: OA[51:50] comes from bits [9:8]). */
export function nsDescOa(desc: bigint, level: number, lpa2: boolean): number {
  let oa = desc & oaMask(level, lpa2) & ~(3n << 8n);
  if (lpa2) oa |= ((desc >> 8n) & 3n) << 50n;
  return Number(oa);
}

/** host_ns_s2tte: what RTT_READ_ENTRY returns as desc for ASSIGNED_NS (OA in descriptor encoding + attrs). */
export function nsDescOf(oa: number, attr: number, lpa2: boolean): bigint {
  let d = BigInt(oa);
  if (lpa2) {
    const hi = d >> 50n;
    d = (d & ((1n << 50n) - 1n)) | (hi << 8n);
  }
  return d | BigInt(attr);
}

// ---------------------------------------------------------------------------------------------
// RTT_READ_ENTRY encoding (TF-RMM runtime/rmi/rtt.c smc_rtt_read_entry)
// ---------------------------------------------------------------------------------------------

/** Host-visible state (RmiRttEntryState) of an internal entry state. */
export function entryState(k: S2tte): RmiRttEntryState {
  if (k === S2tte.TABLE) return RmiRttEntryState.TABLE;
  if ((k >= S2tte.ASSIGNED_EMPTY && k <= S2tte.ASSIGNED_DESTROYED) || k === S2tte.ASSIGNED_NS) return RmiRttEntryState.ASSIGNED;
  return RmiRttEntryState.UNASSIGNED;
}

/** Host-visible RIPAS of an entry (EMPTY for NS and TABLE entries). */
export function entryRipas(k: S2tte): Ripas {
  return k <= S2tte.ASSIGNED_DESTROYED ? ((k % 3) as Ripas) : Ripas.EMPTY;
}

/**
 * desc of RTT_READ_ENTRY: the PA for ASSIGNED (any RIPAS; TF-RMM at the v1.0-rel0 tag returns the
 * PA for ASSIGNED/DESTROYED too) and for TABLE (the child RTT), the host descriptor for
 * ASSIGNED_NS, 0 for unassigned entries.
 */
export function entryDesc(t: Rtt, i: number, lpa2: boolean): bigint {
  const k = t.kind[i]! as S2tte;
  if (k === S2tte.ASSIGNED_NS) return nsDescOf(t.addr[i]!, t.attr[i]!, lpa2);
  if (isLive(k)) return BigInt(t.addr[i]!);
  return 0n;
}

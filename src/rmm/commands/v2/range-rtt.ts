/**
 * Shared machinery of the RMM v2.0 range RTT commands: input validation of the map commands
 * (RTT_DATA_MAP, RTT_UNPROT_MAP) and of the unmap commands (RTT_DATA_UNMAP, RTT_UNPROT_UNMAP),
 * the descriptor cursor that pops one block at a time, and the output address list of unmaps.
 *
 * Sources: TF-RMM main runtime/rmi/rtt_map.c (validate_map_inputs_common, map_pop_next_block,
 * map_partial_progress_finalize), runtime/rmi/rtt_unmap.c (validate_unmap_inputs,
 * rtt_unmap_one_table, rtt_unmap_format_result), lib/addr_list/src/addr_list.c.
 */
import { GRANULE_SIZE, mapSize, pow2, toNum, u64ToNumber } from "../../../arch/geometry.js";
import {
  ADDR_LIST_MAX_RANGES,
  RANGE_DESC_MAX_CNT,
  RmiAddrType,
  decodeRangeDesc,
  decodeRttFlags,
  encodeRangeDesc,
  rangeBlockSize,
  rangeLevel,
  sizeOfLevel,
  type AddrRange,
  type RmiOpMemState,
} from "../../abi/range-desc.js";
import { findGranuleAt, gran } from "../../checks.js";
import { GranuleState } from "../../granule.js";
import { RealmState, type Realm } from "../../realm.js";
import type { RmmState } from "../../state.js";
import { validMapAddr, validMapLevel, rttError } from "../../rtt-ops.js";
import { ERROR_INPUT, ERROR_REALM, SUCCESS } from "../../status.js";

/** The NS granule of an address list at `oaddr` (any 8-byte aligned offset): tracked and state NS. */
export function nsListGranule(rmm: RmmState, oaddr: number): number {
  const g = findGranuleAt(rmm, oaddr - (oaddr % GRANULE_SIZE));
  if (g < 0 || rmm.granules.state(g) !== GranuleState.NS) return -1;
  return g;
}

/** Pops blocks from the input descriptors in order (TF-RMM addr_list_reduce_first_block). */
export class BlockCursor {
  private i = 0;
  private used = 0;
  constructor(private readonly descs: AddrRange[]) {}

  /** The next block, or undefined when the list is exhausted (empty descriptors are skipped). */
  pop(): { pa: number; level: number; state: RmiOpMemState } | undefined {
    while (this.i < this.descs.length && this.used >= this.descs[this.i]!.cnt) {
      this.i++;
      this.used = 0;
    }
    const d = this.descs[this.i];
    if (d === undefined) return undefined;
    const pa = u64ToNumber(d.addr) + this.used * rangeBlockSize(d.sz); // ADDR < 2^52
    this.used++;
    return { pa, level: rangeLevel(d.sz), state: d.state };
  }
}

export interface MapInputs {
  cursor: BlockCursor;
  level: number;
  size: number;
}

/**
 * validate_map_inputs_common, after gran(rd). Checks in order:
 *  1 realm not NEW or ACTIVE                                   -> REALM
 *  2 top <= base                                               -> INPUT
 *  3 oaddr type: SINGLE (oaddr is the descriptor) or LIST (oaddr 8-byte aligned, list_count
 *    clipped to the end of its granule, not 0, the granule NS); NONE or 3 -> INPUT
 *  4 first descriptor empty (CNT 0) or its ST not `state`     -> INPUT
 *  5 level = 3 - SZ not in [1, 3]; base not inside the IPA space and aligned to the level;
 *    top - 4K not a valid 4K address; the range not wholly inside (DATA) / outside (UNPROT) the PAR
 *                                                              -> INPUT
 *  6 top - base smaller than one block                         -> RTT(level)
 */
export function validateMapInputs(
  rmm: RmmState, realm: Realm, base: bigint, top: bigint, flags: bigint, oaddr: bigint,
  state: RmiOpMemState, inPar: boolean,
): number | MapInputs {
  if (realm.state !== RealmState.NEW && realm.state !== RealmState.ACTIVE) return ERROR_REALM;
  if (top <= base) return ERROR_INPUT;
  const f = decodeRttFlags(flags);
  let descs: AddrRange[];
  if (f.oaddrType === RmiAddrType.SINGLE) {
    descs = [decodeRangeDesc(oaddr)];
  } else if (f.oaddrType === RmiAddrType.LIST) {
    const o = toNum(oaddr);
    const offset = o % GRANULE_SIZE;
    if (offset % 8 !== 0) return ERROR_INPUT;
    const count = Math.min(f.listCount, (GRANULE_SIZE - offset) / 8);
    if (count === 0) return ERROR_INPUT;
    if (nsListGranule(rmm, o) < 0) return ERROR_INPUT;
    descs = [];
    for (let i = 0; i < count; i++) descs.push(decodeRangeDesc(rmm.machine.mem.readU64(o + 8 * i)));
  } else {
    return ERROR_INPUT;
  }
  const first = descs[0]!;
  if (first.cnt === 0 || first.state !== state) return ERROR_INPUT;
  const level = rangeLevel(first.sz);
  const b = toNum(base);
  const last = toNum(top) - GRANULE_SIZE;
  if (!validMapLevel(level) || !validMapAddr(realm, b, level) || !validMapAddr(realm, last, 3)) return ERROR_INPUT;
  if ((realm.addrInPar(b) && realm.addrInPar(last)) !== inPar) return ERROR_INPUT;
  const size = mapSize(level);
  if (toNum(top) - b < size) return rttError(level);
  return { cursor: new BlockCursor(descs), level, size };
}

/** gran(rd) RD (-> INPUT), then validateMapInputs: the realm and the decoded inputs, or the packed error. */
export function rdMapInputs(
  rmm: RmmState, rd: bigint, base: bigint, top: bigint, flags: bigint, oaddr: bigint,
  state: RmiOpMemState, inPar: boolean,
): number | { realm: Realm; inp: MapInputs } {
  const rdG = gran(rmm, rd, GranuleState.RD);
  if (rdG < 0) return ERROR_INPUT;
  const realm = rmm.realms.get(rdG)!;
  const inp = validateMapInputs(rmm, realm, base, top, flags, oaddr, state, inPar);
  return typeof inp === "number" ? inp : { realm, inp };
}

/**
 * map_pop_next_block: the next block for the entry at `outTop`, or the status that stops the
 * loop: list exhausted or wrong ST -> INPUT; a block of another size -> RTT(level); the block
 * passes top -> RTT(level); PA not aligned to the block size, or the block above 2^48 without
 * LPA2 -> INPUT.
 */
export function popBlock(cur: BlockCursor, realm: Realm, state: RmiOpMemState, level: number, size: number, outTop: number, top: number): number | { pa: number } {
  const b = cur.pop();
  if (b === undefined || b.state !== state) return ERROR_INPUT;
  if (b.level !== level) return rttError(level);
  if (outTop + size > top) return rttError(level);
  if (b.pa % size !== 0) return ERROR_INPUT;
  if (!realm.lpa2 && b.pa + size > pow2(48)) return ERROR_INPUT;
  return { pa: b.pa };
}

/** map_partial_progress_finalize: any block mapped -> SUCCESS with x1 = out_top; else the error. */
export function finishMap(rmm: RmmState, status: number, outTop: number, base: number): number {
  if (outTop > base) {
    rmm.out1 = BigInt(outTop);
    return SUCCESS;
  }
  return status;
}

// ---------------------------------------------------------------------------------------------
// Unmap
// ---------------------------------------------------------------------------------------------

export interface UnmapInputs {
  type: RmiAddrType;
  /** LIST: NS PA of the output list; its capacity (descriptors). */
  oaddr: number;
  capacity: number;
}

/**
 * validate_unmap_inputs, after gran(rd) (no realm state check: unmapping works in every state,
 * including ZOMBIE). Checks in order, all INPUT: base/top not 4K aligned or top <= base; base or
 * top - 4K outside the IPA space; the range not wholly inside (DATA) / outside (UNPROT) the PAR;
 * NONE/SINGLE with oaddr or list_count non-zero; LIST with list_count 0, oaddr not 8-byte aligned
 * or its granule not NS; any other type. LIST capacity = min(list_count, 512, slots left in the
 * granule).
 */
export function validateUnmapInputs(rmm: RmmState, realm: Realm, base: bigint, top: bigint, flags: bigint, oaddr: bigint, inPar: boolean): number | UnmapInputs {
  const b = toNum(base);
  const t = toNum(top);
  if (b % GRANULE_SIZE !== 0 || t % GRANULE_SIZE !== 0 || top <= base) return ERROR_INPUT;
  const last = t - GRANULE_SIZE;
  if (!validMapAddr(realm, b, 3) || !validMapAddr(realm, last, 3)) return ERROR_INPUT;
  if (inPar ? !(realm.addrInPar(b) && realm.addrInPar(last)) : realm.addrInPar(b) || realm.addrInPar(last)) return ERROR_INPUT;
  const f = decodeRttFlags(flags);
  if (f.oaddrType === RmiAddrType.NONE || f.oaddrType === RmiAddrType.SINGLE) {
    if (oaddr !== 0n || f.listCount !== 0) return ERROR_INPUT;
    return { type: f.oaddrType, oaddr: 0, capacity: f.oaddrType === RmiAddrType.SINGLE ? 1 : ADDR_LIST_MAX_RANGES };
  }
  if (f.oaddrType === RmiAddrType.LIST) {
    if (f.listCount === 0) return ERROR_INPUT;
    const o = toNum(oaddr);
    if (o % 8 !== 0) return ERROR_INPUT;
    if (nsListGranule(rmm, o) < 0) return ERROR_INPUT;
    const slots = ADDR_LIST_MAX_RANGES - Math.floor((o % GRANULE_SIZE) / 8);
    return { type: RmiAddrType.LIST, oaddr: o, capacity: Math.min(f.listCount, ADDR_LIST_MAX_RANGES, slots) };
  }
  return ERROR_INPUT;
}

/** The freed-address accumulator of an unmap (TF-RMM addr_list, LIST_TYPE_OUTPUT). */
export class OutList {
  readonly descs: { pa: number; cnt: number; size: number }[] = [];
  constructor(private readonly max: number, private readonly state: RmiOpMemState) {}

  /** addr_list_add_block: extend a descriptor at either end, else open a new one (if room). */
  add(pa: number, size: number): boolean {
    for (const d of this.descs) {
      if (d.size !== size || d.cnt >= RANGE_DESC_MAX_CNT) continue;
      if (pa === d.pa + d.cnt * size) {
        d.cnt++;
        return true;
      }
      if (pa === d.pa - size) {
        d.pa = pa;
        d.cnt++;
        return true;
      }
    }
    if (this.descs.length >= this.max) return false;
    this.descs.push({ pa, cnt: 1, size });
    return true;
  }

  encoded(i: number, withState: boolean): bigint {
    const d = this.descs[i]!;
    const level = 3 - Math.round((Math.log2(d.size) - 12) / 9);
    return encodeRangeDesc({ addr: BigInt(d.pa), sz: sizeOfLevel(level), cnt: d.cnt, state: withState ? this.state : 0 });
  }
}

/**
 * rtt_unmap_format_result: SUCCESS, x1 = out_top; SINGLE: x2 = the one descriptor, formed as
 * TF-RMM does (addr | CNT | SZ, ST left 0); LIST: the descriptors (with ST) are written to the
 * host's list and x3 = how many.
 */
export function finishUnmap(rmm: RmmState, inp: UnmapInputs, out: OutList, outTop: number): number {
  rmm.out1 = BigInt(outTop);
  rmm.out2 = 0n;
  rmm.out3 = 0n;
  if (out.descs.length === 0) return SUCCESS;
  if (inp.type === RmiAddrType.SINGLE) {
    rmm.out2 = out.encoded(0, false);
  } else if (inp.type === RmiAddrType.LIST) {
    for (let i = 0; i < out.descs.length; i++) rmm.machine.mem.writeU64(inp.oaddr + 8 * i, out.encoded(i, true));
    rmm.out3 = BigInt(out.descs.length);
  }
  return SUCCESS;
}

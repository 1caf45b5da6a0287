/**
 * Stateful RMI operations (SRO), RMM v2.0 (beta): a command that cannot finish at once returns
 * RMI_INCOMPLETE with a handle in x1 and, in x0 bits [15:8], what it needs next (MEMREQ [9:8]:
 * NONE -> RMI_OP_CONTINUE, DONATE -> RMI_OP_MEM_DONATE, RECLAIM -> RMI_OP_MEM_RECLAIM) and
 * whether RMI_OP_CANCEL is allowed (bit 10). The host drives it with those calls until a terminal
 * status (anything but INCOMPLETE) releases the handle.
 *
 * Sources: TF-RMM main runtime/rmi/sro.c (smc_op_continue, smc_op_mem_donate,
 * smc_op_mem_reclaim, smc_op_cancel, rmi_op_dispatch), lib/addr_list (list validation, merging
 * of reclaimed granules into range descriptors), lib/sro_context; Linux v14 arch/arm64/kernel/rmi.c
 * rmi_sro_execute / rmi_sro_memxfer_execute. Deterministic handles: 1, 2, 3, ...
 */
import { GRANULE_SIZE } from "../arch/geometry.js";
import {
  ADDR_LIST_MAX_RANGES,
  RANGE_DESC_MAX_CNT,
  RmiOpMemReq,
  RmiOpMemState,
  decodeRangeDesc,
  encodeDonateRequest,
  encodeRangeDesc,
  incompleteIndex,
  rangeBlockSize,
  type DonateRequest,
} from "./abi/range-desc.js";
import { findGranule } from "./checks.js";
import { GranuleState } from "./granule.js";
import type { RmmState } from "./state.js";
import { ERROR_INPUT, RmiStatus, pack } from "./status.js";

export type SroExpect = "CONTINUE" | "DONATE" | "RECLAIM";

/** Hooks of one kind of operation (REC_CREATE, REC_DESTROY, RTT_DATA_MAP, ...). */
export interface SroHooks {
  /** RMI_OP_CONTINUE: returns the packed result; outputs go to rmm.out*. INCOMPLETE keeps the SRO. */
  onContinue(rmm: RmmState, sro: SroContext): number;
  /** RMI_OP_MEM_DONATE: take one donated (DELEGATED, checked) granule. */
  onDonate?(rmm: RmmState, sro: SroContext, g: number): void;
  /** All requested memory donated: what to expect next (normally CONTINUE). */
  onDonateDone?(rmm: RmmState, sro: SroContext): void;
  /** All queued memory reclaimed. */
  onReclaimDone?(rmm: RmmState, sro: SroContext): void;
  /** RMI_OP_CANCEL (only called when canCancel). */
  onCancel?(rmm: RmmState, sro: SroContext): number;
  /** Granules the operation holds besides its reclaim queue (e.g. aux granules donated so far). */
  held?(sro: SroContext): readonly number[];
}

export class SroContext {
  expect: SroExpect = "CONTINUE";
  canCancel = false;
  /** Outstanding donate request (while expect === "DONATE"); count is what is still missing. */
  donate: DonateRequest | undefined;
  /** Granules to hand back through RMI_OP_MEM_RECLAIM, in order; each goes DELEGATED when handed back. */
  readonly reclaim: number[] = [];
  /** Operation-specific state. */
  data: Record<string, unknown> = {};

  constructor(
    readonly handle: number,
    /** Spec name of the command that started the operation. */
    readonly command: string,
    readonly hooks: SroHooks,
  ) {}

  /** The packed RMI_INCOMPLETE for the current expectation; x1 = handle, x2 = donate request. */
  incomplete(rmm: RmmState): number {
    const memreq = this.expect === "DONATE" ? RmiOpMemReq.DONATE : this.expect === "RECLAIM" ? RmiOpMemReq.RECLAIM : RmiOpMemReq.NONE;
    rmm.out1 = BigInt(this.handle);
    rmm.out2 = this.expect === "DONATE" && this.donate !== undefined ? encodeDonateRequest(this.donate) : 0n;
    return pack(RmiStatus.RMI_INCOMPLETE, incompleteIndex(memreq, this.canCancel));
  }
}

/** The SRO contexts of one RMM (in rmm.ext.sro). */
export class SroTable {
  private next = 1;
  readonly live = new Map<number, SroContext>();

  start(command: string, hooks: SroHooks): SroContext {
    const s = new SroContext(this.next++, command, hooks);
    this.live.set(s.handle, s);
    return s;
  }

  find(handle: bigint): SroContext | undefined {
    if (handle <= 0n || handle > 0xffff_ffffn) return undefined;
    return this.live.get(Number(handle));
  }

  release(s: SroContext): void {
    this.live.delete(s.handle);
  }
}

/** The handle's SRO, if any (reads only: creates nothing in rmm.ext). */
export function sroFind(rmm: RmmState, handle: bigint): SroContext | undefined {
  return (rmm.ext.sro as SroTable | undefined)?.find(handle);
}

/**
 * Granules held by in-flight SROs (donated but not yet installed, or queued for reclaim), for
 * invariant checks: a REC_AUX granule held here belongs to no REC yet, or no longer.
 */
export function sroHeldGranules(rmm: RmmState): Set<number> {
  const out = new Set<number>();
  const t = rmm.ext.sro as SroTable | undefined;
  if (t === undefined) return out;
  for (const s of t.live.values()) {
    for (const g of s.reclaim) out.add(g);
    for (const g of s.hooks.held?.(s) ?? []) out.add(g);
  }
  return out;
}

export function sroTable(rmm: RmmState): SroTable {
  let t = rmm.ext.sro as SroTable | undefined;
  if (t === undefined) {
    t = new SroTable();
    rmm.ext.sro = t;
  }
  return t;
}

/** After a hook ran: a terminal status releases the handle. */
function settle(rmm: RmmState, s: SroContext, x0: number): number {
  if (x0 % 256 !== RmiStatus.RMI_INCOMPLETE) sroTable(rmm).release(s);
  return x0;
}

/**
 * The NS granule holding an address list at `listPa` (8-byte aligned, anywhere in its granule)
 * and how many slots fit before the granule ends. TF-RMM addr_list_copy_from_host /
 * addr_list_partial_copy_to_host: the granule must be tracked and in state NS.
 */
function nsListGranule(rmm: RmmState, listPa: number): number {
  const base = listPa - (listPa % GRANULE_SIZE);
  const g = findGranule(rmm, BigInt(base));
  if (g < 0 || rmm.granules.state(g) !== GranuleState.NS) return -1;
  return g;
}

/** list_count clipped to ADDR_LIST_MAX_RANGES and to the slots left in the list's granule. */
function clipCount(listPa: number, count: bigint): number {
  const offset = Math.floor((listPa % GRANULE_SIZE) / 8);
  const c = count > BigInt(ADDR_LIST_MAX_RANGES) ? ADDR_LIST_MAX_RANGES : Number(count);
  return Math.min(c, ADDR_LIST_MAX_RANGES - offset);
}

/** RMI_OP_CONTINUE(handle, flags). */
export function opContinue(rmm: RmmState, handle: bigint, _flags: bigint): number {
  const s = sroFind(rmm, handle);
  if (s === undefined) return ERROR_INPUT;
  if (s.expect !== "CONTINUE") return ERROR_INPUT;
  return settle(rmm, s, s.hooks.onContinue(rmm, s));
}

/** RMI_OP_CANCEL(handle). */
export function opCancel(rmm: RmmState, handle: bigint): number {
  const s = sroFind(rmm, handle);
  if (s === undefined) return ERROR_INPUT;
  if (!s.canCancel || s.hooks.onCancel === undefined) return ERROR_INPUT;
  return settle(rmm, s, s.hooks.onCancel(rmm, s));
}

/**
 * RMI_OP_MEM_DONATE(handle, list_pa, count) -> x1 = granules consumed, x2 = next request.
 * Checks in TF-RMM smc_op_mem_donate order: handle; expecting a donation; list 8-byte aligned;
 * list granule NS; every non-empty descriptor valid (block aligned, size 4K/2M/1G, state as
 * requested, at most one descriptor if contiguous memory was asked for); total <= what is still
 * requested. Then granules are taken in list order; each must be DELEGATED: the first one that is
 * not stops the donation (none taken -> RMI_ERROR_INPUT, nothing changed).
 */
export function opMemDonate(rmm: RmmState, handle: bigint, listPtr: bigint, count: bigint): number {
  const s = sroFind(rmm, handle);
  if (s === undefined) return ERROR_INPUT;
  if (s.expect !== "DONATE" || s.donate === undefined || s.hooks.onDonate === undefined) return ERROR_INPUT;
  if (listPtr % 8n !== 0n || listPtr >= 1n << 52n) return ERROR_INPUT;
  const listPa = Number(listPtr);
  const n = clipCount(listPa, count);
  const lg = nsListGranule(rmm, listPa);
  if (lg < 0) return ERROR_INPUT;
  const req = s.donate;
  const wantBytes = req.count * rangeBlockSize(req.sz);
  let total = 0;
  let valid = 0;
  const ranges = [];
  for (let i = 0; i < n; i++) {
    const r = decodeRangeDesc(rmm.machine.mem.readU64(listPa + 8 * i));
    if (r.cnt === 0) continue; // empty descriptor, skipped
    valid++;
    if (r.sz > 2) return ERROR_INPUT; // not a valid block size for a 4K granule
    const size = rangeBlockSize(r.sz);
    const addr = Number(r.addr);
    if (addr % size !== 0) return ERROR_INPUT;
    if (r.state !== req.state) return ERROR_INPUT;
    if (req.contig) {
      const bytes = size * r.cnt;
      if (valid > 1 || !Number.isInteger(Math.log2(bytes)) || addr % bytes !== 0) return ERROR_INPUT;
    }
    total += size * r.cnt;
    ranges.push({ addr, bytes: size * r.cnt });
  }
  if (total > wantBytes) return ERROR_INPUT;
  // Take granules in order until one is not DELEGATED.
  const taken: number[] = [];
  const seen = new Set<number>();
  outer: for (const r of ranges) {
    for (let off = 0; off < r.bytes; off += GRANULE_SIZE) {
      const g = findGranule(rmm, BigInt(r.addr + off));
      if (g < 0 || rmm.granules.state(g) !== GranuleState.DELEGATED || seen.has(g)) break outer;
      seen.add(g);
      taken.push(g);
    }
  }
  if (taken.length === 0 && total > 0) return ERROR_INPUT;
  for (const g of taken) s.hooks.onDonate(rmm, s, g);
  const perBlock = rangeBlockSize(req.sz) / GRANULE_SIZE;
  req.count -= Math.floor(taken.length / perBlock);
  const x0 = req.count <= 0 ? (s.hooks.onDonateDone?.(rmm, s), s.incomplete(rmm)) : s.incomplete(rmm);
  rmm.out1 = BigInt(taken.length);
  return x0;
}

/**
 * RMI_OP_MEM_RECLAIM(handle, list_pa, capacity) -> x1 = descriptors written. Hands back queued
 * granules as RmiAddrRangeDesc entries (state DELEGATED; contiguous granules merged into one
 * descriptor, at most 1023 per descriptor, as lib/addr_list addr_list_add_block does); each
 * granule handed back becomes DELEGATED (scrubbed). capacity 0 writes nothing.
 */
export function opMemReclaim(rmm: RmmState, handle: bigint, listPtr: bigint, capacity: bigint): number {
  const s = sroFind(rmm, handle);
  if (s === undefined) return ERROR_INPUT;
  if (listPtr % 8n !== 0n || listPtr >= 1n << 52n) return ERROR_INPUT;
  if (s.expect !== "RECLAIM") return ERROR_INPUT;
  const listPa = Number(listPtr);
  const cap = clipCount(listPa, capacity);
  if (cap === 0) {
    const x0 = s.incomplete(rmm);
    rmm.out1 = 0n;
    return x0;
  }
  if (nsListGranule(rmm, listPa) < 0) return ERROR_INPUT;
  // Build descriptors: [first granule, count]; a granule joins a descriptor it extends at either end.
  const descs: { first: number; cnt: number }[] = [];
  let used = 0;
  for (const g of s.reclaim) {
    let placed = false;
    for (const d of descs) {
      if (d.cnt >= RANGE_DESC_MAX_CNT) continue;
      if (g === d.first + d.cnt) {
        d.cnt++;
        placed = true;
        break;
      }
      if (g === d.first - 1) {
        d.first = g;
        d.cnt++;
        placed = true;
        break;
      }
    }
    if (!placed) {
      if (descs.length === cap) break;
      descs.push({ first: g, cnt: 1 });
    }
    used++;
  }
  const handed = s.reclaim.splice(0, used);
  descs.forEach((d, i) => {
    rmm.machine.mem.writeU64(listPa + 8 * i, encodeRangeDesc({ addr: BigInt(d.first * GRANULE_SIZE), cnt: d.cnt, state: RmiOpMemState.DELEGATED }));
  });
  for (const g of handed) {
    rmm.granules.setState(g, GranuleState.DELEGATED);
    rmm.granules.setRef(g, 0);
    rmm.machine.mem.zero(g);
  }
  if (s.reclaim.length === 0) s.hooks.onReclaimDone?.(rmm, s);
  const x0 = s.incomplete(rmm);
  rmm.out1 = BigInt(descs.length);
  return x0;
}

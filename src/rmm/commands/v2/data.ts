/**
 * RMM v2.0 protected data commands: RMI_RTT_DATA_MAP_INIT (0x153), RMI_RTT_DATA_MAP (0x1F5),
 * RMI_RTT_DATA_UNMAP (0x1F6), and the unmap sweep shared with RMI_RTT_UNPROT_UNMAP.
 * Sources: TF-RMM main runtime/rmi/rtt_map.c (smc_rtt_data_map_init, smc_rtt_data_map,
 * data_map_one_entry, data_map_drain_pending, data_map_continue_handler), runtime/rmi/rtt_unmap.c
 * (smc_rtt_data_unmap, rtt_unmap_run, rtt_unmap_one_table, unmap_make_new_s2tte).
 */
import { GRANULE_SIZE, mapSize, pow2, toNum } from "../../../arch/geometry.js";
import { RmiAddrType, RmiOpMemState } from "../../abi/range-desc.js";
import { findGranuleAt, gran, nsGranule } from "../../checks.js";
import type { RmiCommand } from "../../dispatch.js";
import { GranuleState } from "../../granule.js";
import { rimExtendData } from "../../measurement.js";
import { RealmState, type Realm } from "../../realm.js";
import type { RmmState } from "../../state.js";
import { rttError, validMapAddr, walk } from "../../rtt-ops.js";
import { S2tte, assignedWith, isLive, ripasOf, type Rtt } from "../../s2tt.js";
import { sroTable, type SroHooks } from "../../sro.js";
import { ERROR_INPUT, ERROR_REALM, RmiStatus, SUCCESS, pack } from "../../status.js";
import { OutList, finishMap, finishUnmap, popBlock, rdMapInputs, validateUnmapInputs, type UnmapInputs } from "./range-rtt.js";
import { drainPending, isDrainPending, progressOf, slotKey } from "./state.js";

const RMI_BUSY = pack(RmiStatus.RMI_BUSY);

/**
 * RMI_RTT_DATA_MAP_INIT(rd, data, ipa, src, flags): RMI_DATA_CREATE's semantics under its v2.0
 * name; NEW realms only. Checks in TF-RMM main order:
 *  1 flags not NO_MEASURE (0) / MEASURE (1)                         -> INPUT
 *  2 src not an NS granule                                          -> INPUT
 *  3 gran(rd) RD                                                    -> INPUT
 *  4 realm not NEW                                                  -> REALM
 *  5 ipa not in the PAR, not 4K aligned, or outside the IPA space   -> INPUT
 *  6 data at or above 2^48 without LPA2                             -> INPUT
 *  7 walk to level 3 stops at l < 3                                 -> RTT(l)
 *  8 the entry is not UNASSIGNED (any RIPAS); drain pending          -> RTT(3); BUSY
 *  9 gran(data) DELEGATED (so data == rd fails here)                -> INPUT
 * Effects: data = copy of src, RIM extended (measure content if flags = 1), entry ASSIGNED/RAM,
 * data -> DATA, leaf RTT refcount +1.
 */
function rttDataMapInit(rmm: RmmState, rd: bigint, data: bigint, ipa: bigint, src: bigint, flags: bigint): number {
  if (flags !== 0n && flags !== 1n) return ERROR_INPUT;
  const srcG = nsGranule(rmm, src);
  if (srcG < 0) return ERROR_INPUT;
  const rdG = gran(rmm, rd, GranuleState.RD);
  if (rdG < 0) return ERROR_INPUT;
  const realm = rmm.realms.get(rdG)!;
  if (realm.state !== RealmState.NEW) return ERROR_REALM;
  const a = toNum(ipa);
  if (!realm.addrInPar(a) || !validMapAddr(realm, a, 3)) return ERROR_INPUT;
  if (!realm.lpa2 && toNum(data) >= pow2(48)) return ERROR_INPUT;
  const w = walk(rmm, realm, a, 3);
  if (w.level !== 3) return rttError(w.level);
  const k = w.table.kind[w.index]! as S2tte;
  if (k > S2tte.UNASSIGNED_DESTROYED) return rttError(3);
  if (isDrainPending(rmm, w.table.g, w.index)) return RMI_BUSY;
  const dataG = gran(rmm, data, GranuleState.DELEGATED);
  if (dataG < 0) return ERROR_INPUT;
  rmm.machine.mem.copy(dataG, srcG);
  realm.rim = rimExtendData(realm.hashAlgo, realm.rim, a, flags, rmm.machine.mem.granuleBytes(dataG));
  const t = w.table;
  t.kind[w.index] = S2tte.ASSIGNED_RAM;
  t.addr[w.index] = dataG * GRANULE_SIZE;
  t.attr[w.index] = 0;
  rmm.granules.setState(dataG, GranuleState.DATA);
  rmm.granules.setRef(dataG, 0);
  rmm.granules.addRef(t.g, 1);
  return SUCCESS;
}

/** Are all granules of [pa, pa + size) tracked and DELEGATED? */
function blockDelegated(rmm: RmmState, pa: number, size: number): boolean {
  for (let off = 0; off < size; off += GRANULE_SIZE) {
    const g = findGranuleAt(rmm, pa + off);
    if (g < 0 || rmm.granules.state(g) !== GranuleState.DELEGATED) return false;
  }
  return true;
}

/** DELEGATED -> DATA (zeroed under the realm's MEC: buffer_granule_mecid_map_zeroed) for [pa, pa + bytes). */
function toData(rmm: RmmState, pa: number, bytes: number): void {
  for (let off = 0; off < bytes; off += GRANULE_SIZE) {
    const g = (pa + off) / GRANULE_SIZE;
    rmm.granules.setState(g, GranuleState.DATA);
    rmm.granules.setRef(g, 0);
    rmm.machine.mem.zero(g);
  }
}

/** Entry i of leaf t becomes ASSIGNED at pa, RIPAS unchanged (s2tte_create_assigned_unchanged). */
function assignBlock(t: Rtt, i: number, pa: number): void {
  const k = t.kind[i]! as S2tte;
  t.kind[i] = assignedWith(ripasOf(k)!);
  t.addr[i] = pa;
  t.attr[i] = 0;
}

interface DataMapYield {
  t: Rtt;
  index: number;
  pa: number;
  size: number;
  /** IPA of the block being drained, and the call's base. */
  ipa: number;
  initBase: number;
  drained: number;
}

/** Drain the next chunk of a yielded block; finish or roll back (data_map_drain_pending). */
function drainChunk(rmm: RmmState, d: DataMapYield, chunk: number): "done" | "yield" | "rollback" {
  const end = Math.min(d.size, d.drained + chunk * GRANULE_SIZE);
  for (let off = d.drained; off < end; off += GRANULE_SIZE) {
    const g = findGranuleAt(rmm, d.pa + off);
    if (g < 0 || rmm.granules.state(g) !== GranuleState.DELEGATED) {
      // Rollback: the granules drained so far go back to DELEGATED, the marker and pin go.
      for (let o = 0; o < off; o += GRANULE_SIZE) {
        const h = (d.pa + o) / GRANULE_SIZE;
        rmm.granules.setState(h, GranuleState.DELEGATED);
        rmm.machine.mem.zero(h);
      }
      drainPending(rmm).delete(slotKey(d.t.g, d.index));
      rmm.granules.addRef(d.t.g, -1);
      return "rollback";
    }
    rmm.granules.setState(g, GranuleState.DATA);
    rmm.granules.setRef(g, 0);
    rmm.machine.mem.zero(g);
  }
  d.drained = end;
  if (d.drained < d.size) return "yield";
  drainPending(rmm).delete(slotKey(d.t.g, d.index));
  assignBlock(d.t, d.index, d.pa); // the leaf refcount was taken when the slot was stamped
  return "done";
}

const DATA_MAP_HOOKS: SroHooks = {
  onContinue(rmm, s) {
    const d = s.data as unknown as DataMapYield;
    const r = drainChunk(rmm, d, progressOf(rmm).dataMapYieldGranules);
    if (r === "yield") {
      const x0 = s.incomplete(rmm);
      rmm.out1 = 0n;
      return x0;
    }
    if (r === "rollback") return finishMap(rmm, ERROR_INPUT, d.ipa, d.initBase);
    rmm.out1 = BigInt(d.ipa + d.size);
    return SUCCESS;
  },
};

/**
 * RMI_RTT_DATA_MAP(rd, base, top, flags, oaddr) -> x1 = out_top. gran(rd) -> INPUT, then
 * validateMapInputs (descriptors DELEGATED, range in the PAR), the walk to the descriptor's level
 * (stops at l < level -> RTT(l)), then one leaf RTT from base, block by block (at most
 * progress.maxEntriesPerCall entries): popBlock; entry ASSIGNED with the same PA -> progress
 * (idempotent); ASSIGNED elsewhere or not UNASSIGNED -> RTT(level); drain pending -> BUSY; a
 * granule of the block not DELEGATED -> INPUT. Mapping: granules -> DATA (zeroed), entry ASSIGNED
 * with its RIPAS unchanged, leaf refcount +1. The first error ends the call: with progress it
 * becomes SUCCESS with x1 = out_top.
 */
function rttDataMap(rmm: RmmState, rd: bigint, base: bigint, top: bigint, flags: bigint, oaddr: bigint): number {
  const a = rdMapInputs(rmm, rd, base, top, flags, oaddr, RmiOpMemState.DELEGATED, true);
  if (typeof a === "number") return a;
  const { realm, inp } = a;
  const b = toNum(base);
  const tp = toNum(top);
  const w = walk(rmm, realm, b, inp.level);
  if (w.level !== inp.level) return rttError(w.level);
  const t = w.table;
  const prog = progressOf(rmm);
  let outTop = b;
  let status: number = SUCCESS;
  let n = 0;
  for (let i = w.index; i < t.entries && n < prog.maxEntriesPerCall; i++, n++) {
    const blk = popBlock(inp.cursor, realm, RmiOpMemState.DELEGATED, inp.level, inp.size, outTop, tp);
    if (typeof blk === "number") {
      status = blk;
      break;
    }
    const k = t.kind[i]! as S2tte;
    if (k >= S2tte.ASSIGNED_EMPTY && k <= S2tte.ASSIGNED_DESTROYED) {
      if (t.addr[i] !== blk.pa) {
        status = rttError(inp.level);
        break;
      }
      outTop += inp.size;
      continue;
    }
    if (k > S2tte.UNASSIGNED_DESTROYED) {
      status = rttError(inp.level);
      break;
    }
    if (isDrainPending(rmm, t.g, i)) {
      status = RMI_BUSY;
      break;
    }
    if (!blockDelegated(rmm, blk.pa, inp.size)) {
      status = ERROR_INPUT;
      break;
    }
    const granules = inp.size / GRANULE_SIZE;
    if (prog.dataMapYieldGranules > 0 && granules > prog.dataMapYieldGranules) {
      // Stamp the slot, pin the leaf, drain the first chunk and yield (RMI_INCOMPLETE).
      drainPending(rmm).set(slotKey(t.g, i), 0);
      rmm.granules.addRef(t.g, 1);
      const s = sroTable(rmm).start("RMI_RTT_DATA_MAP", DATA_MAP_HOOKS);
      drainPending(rmm).set(slotKey(t.g, i), s.handle);
      const d: DataMapYield = { t, index: i, pa: blk.pa, size: inp.size, ipa: outTop, initBase: b, drained: 0 };
      s.data = d as unknown as Record<string, unknown>;
      drainChunk(rmm, d, prog.dataMapYieldGranules);
      s.expect = "CONTINUE";
      return s.incomplete(rmm);
    }
    toData(rmm, blk.pa, inp.size);
    assignBlock(t, i, blk.pa);
    rmm.granules.addRef(t.g, 1);
    outTop += inp.size;
  }
  return finishMap(rmm, status, outTop, b);
}

export type UnmapFlavour = "DATA" | "UNPROT";

/**
 * rtt_unmap_run + rtt_unmap_one_table: walk to level 3 from base (level L = where the walk
 * stops); base not aligned to L -> RTT(L) (x1..x3 = 0). Then sweep the leaf from base: non-live
 * entries are skipped; stop at top, at the end of the leaf, after progress.maxEntriesPerCall
 * unmapped entries, at a TABLE entry or a live entry larger than what is left of the range
 * (either one on the very first entry -> RTT(L)), at a PA discontinuity (SINGLE) or when the
 * output list is full. DATA: ASSIGNED RAM -> UNASSIGNED DESTROYED, EMPTY -> EMPTY, DESTROYED ->
 * DESTROYED, the DATA granules -> DELEGATED (scrubbed; the host undelegates them), leaf refcount
 * -1. UNPROT: ASSIGNED_NS -> UNASSIGNED_NS.
 */
export function unmapSweep(rmm: RmmState, realm: Realm, base: bigint, top: bigint, inp: UnmapInputs, flavour: UnmapFlavour): number {
  const b = toNum(base);
  const tp = toNum(top);
  const w = walk(rmm, realm, b, 3);
  const level = w.level;
  const size = mapSize(level);
  if (b % size !== 0) return rttError(level);
  const t = w.table;
  const out = new OutList(inp.capacity, flavour === "DATA" ? RmiOpMemState.DELEGATED : RmiOpMemState.UNDELEGATED);
  const max = progressOf(rmm).maxEntriesPerCall;
  let addr = b;
  let prevPa = -1;
  let done = 0;
  for (let i = w.index; i < t.entries && done < max; i++) {
    const first = i === w.index;
    const k = t.kind[i]! as S2tte;
    if (!isLive(k)) {
      if (addr + size > tp) {
        if (first) return rttError(level);
        break;
      }
      addr += size;
      continue;
    }
    if (k === S2tte.TABLE || addr + size > tp) {
      if (first) return rttError(level);
      break;
    }
    const wanted = flavour === "DATA" ? k >= S2tte.ASSIGNED_EMPTY && k <= S2tte.ASSIGNED_DESTROYED : k === S2tte.ASSIGNED_NS;
    if (!wanted) {
      if (first) return rttError(level);
      break;
    }
    const pa = t.addr[i]!;
    if (inp.type === RmiAddrType.SINGLE && prevPa >= 0 && pa !== prevPa + size) break; // SINGLE: contiguous only
    if (!out.add(pa, size)) break;
    if (flavour === "DATA") {
      t.kind[i] = k === S2tte.ASSIGNED_EMPTY ? S2tte.UNASSIGNED_EMPTY : S2tte.UNASSIGNED_DESTROYED;
      for (let off = 0; off < size; off += GRANULE_SIZE) {
        const g = (pa + off) / GRANULE_SIZE;
        rmm.granules.setState(g, GranuleState.DELEGATED);
        rmm.granules.setRef(g, 0);
        rmm.machine.mem.zero(g);
      }
      rmm.granules.addRef(t.g, -1);
    } else {
      t.kind[i] = S2tte.UNASSIGNED_NS;
    }
    t.addr[i] = 0;
    t.attr[i] = 0;
    prevPa = pa;
    addr += size;
    done++;
  }
  return finishUnmap(rmm, inp, out, addr);
}

/** RMI_RTT_DATA_UNMAP(rd, base, top, flags, oaddr) -> x1 = out_top, x2 = range (SINGLE), x3 = count (LIST). */
function rttDataUnmap(rmm: RmmState, rd: bigint, base: bigint, top: bigint, flags: bigint, oaddr: bigint): number {
  return rangeUnmap(rmm, rd, base, top, flags, oaddr, "DATA");
}

/**
 * RTT_DATA_UNMAP / RTT_UNPROT_UNMAP: gran(rd) RD (-> INPUT), validateUnmapInputs (the range
 * inside the PAR for DATA, outside for UNPROT), then unmapSweep.
 */
export function rangeUnmap(rmm: RmmState, rd: bigint, base: bigint, top: bigint, flags: bigint, oaddr: bigint, flavour: UnmapFlavour): number {
  const rdG = gran(rmm, rd, GranuleState.RD);
  if (rdG < 0) return ERROR_INPUT;
  const realm = rmm.realms.get(rdG)!;
  const inp = validateUnmapInputs(rmm, realm, base, top, flags, oaddr, flavour === "DATA");
  if (typeof inp === "number") return inp;
  return unmapSweep(rmm, realm, base, top, inp, flavour);
}

export const V2_DATA_COMMANDS: RmiCommand[] = [
  { name: "RMI_RTT_DATA_MAP_INIT", fnum: 0x153, method: "rttDataMapInit", args: ["rd", "data", "ipa", "src", "flags"], outs: [], handler: rttDataMapInit, abi: ["2.0"] },
  { name: "RMI_RTT_DATA_MAP", fnum: 0x1f5, method: "rttDataMap", args: ["rd", "base", "top", "flags", "oaddr"], outs: ["top"], handler: rttDataMap, abi: ["2.0"] },
  { name: "RMI_RTT_DATA_UNMAP", fnum: 0x1f6, method: "rttDataUnmap", args: ["rd", "base", "top", "flags", "oaddr"], outs: ["top", "range", "count"], handler: rttDataUnmap, abi: ["2.0"] },
];

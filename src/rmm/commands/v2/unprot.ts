/**
 * RMM v2.0 unprotected (NS) mappings: RMI_RTT_UNPROT_MAP (0x1FB) and RMI_RTT_UNPROT_UNMAP (0x1FC).
 * Same shape as RTT_DATA_MAP / RTT_DATA_UNMAP, but the range lies wholly outside the PAR, the
 * descriptors carry ST = UNDELEGATED, the map writes ASSIGNED_NS entries whose attributes come
 * from the flags (RmiRttUnprotMapFlags MEMATTR [18:16] -> S2TTE MemAttr[4:2]; S2AP [22:19], direct
 * encoding bit 0 W / bit 1 R -> S2TTE S2AP[7:6] = R at bit 6, W at bit 7), and no granule changes
 * state (NS mappings take no reference).
 * Sources: TF-RMM main runtime/rmi/rtt_map.c (validate_unprot_map_inputs, build_unprot_map_attrs,
 * unprot_map_one_entry, smc_rtt_unprot_map), runtime/rmi/rtt_unmap.c (smc_rtt_unprot_unmap);
 * lib/s2tt host_ns_s2tte_is_valid (via rtt-ops.ts hostNsDescValid).
 */
import { toNum } from "../../../arch/geometry.js";
import { RMI_S2AP_DIRECT_READ, RMI_S2AP_DIRECT_WRITE, RmiOpMemState, decodeRttFlags } from "../../abi/range-desc.js";
import type { RmiCommand } from "../../dispatch.js";
import type { RmmState } from "../../state.js";
import { hostNsDescValid, nsDescOf, rttError, walk } from "../../rtt-ops.js";
import { S2tte } from "../../s2tt.js";
import { ERROR_INPUT } from "../../status.js";
import { rangeUnmap } from "./data.js";
import { finishMap, popBlock, rdMapInputs } from "./range-rtt.js";
import { isDrainPending, progressOf } from "./state.js";

/** S2TTE attribute bits of an NS mapping from the flags, or -1 if S2AP has bits beyond R/W. */
export function unprotAttrs(flags: bigint): number {
  const f = decodeRttFlags(flags);
  if ((f.s2ap & ~(RMI_S2AP_DIRECT_READ | RMI_S2AP_DIRECT_WRITE)) !== 0) return -1;
  let attr = f.memattr * 4; // MemAttr[4:2]
  if ((f.s2ap & RMI_S2AP_DIRECT_READ) !== 0) attr += 0x40; // S2AP[0]: read
  if ((f.s2ap & RMI_S2AP_DIRECT_WRITE) !== 0) attr += 0x80; // S2AP[1]: write
  return attr;
}

/**
 * RMI_RTT_UNPROT_MAP(rd, base, top, flags, oaddr) -> x1 = out_top. gran(rd) -> INPUT; then
 * validateMapInputs (descriptors UNDELEGATED, range outside the PAR); S2AP bits beyond R/W ->
 * INPUT; walk to the level (stops early -> RTT(l)); per block: popBlock; the descriptor
 * PA | attributes not a valid host NS descriptor for the level (e.g. MemAttr 0b100) -> INPUT;
 * slot drain pending -> RTT(level); ASSIGNED_NS with the same PA and attributes -> progress
 * (idempotent); not UNASSIGNED_NS -> RTT(level); else ASSIGNED_NS. With progress any error
 * becomes SUCCESS with x1 = out_top.
 */
function rttUnprotMap(rmm: RmmState, rd: bigint, base: bigint, top: bigint, flags: bigint, oaddr: bigint): number {
  const a = rdMapInputs(rmm, rd, base, top, flags, oaddr, RmiOpMemState.UNDELEGATED, false);
  if (typeof a === "number") return a;
  const { realm, inp } = a;
  const attr = unprotAttrs(flags);
  if (attr < 0) return ERROR_INPUT;
  const b = toNum(base);
  const tp = toNum(top);
  const w = walk(rmm, realm, b, inp.level);
  if (w.level !== inp.level) return rttError(w.level);
  const t = w.table;
  const max = progressOf(rmm).maxEntriesPerCall;
  let outTop = b;
  let status = ERROR_INPUT;
  let n = 0;
  for (let i = w.index; i < t.entries && n < max; i++, n++) {
    const blk = popBlock(inp.cursor, realm, RmiOpMemState.UNDELEGATED, inp.level, inp.size, outTop, tp);
    if (typeof blk === "number") {
      status = blk;
      break;
    }
    if (!hostNsDescValid(nsDescOf(blk.pa, attr, realm.lpa2), inp.level, realm.lpa2)) {
      status = ERROR_INPUT;
      break;
    }
    if (isDrainPending(rmm, t.g, i)) {
      status = rttError(inp.level);
      break;
    }
    const k = t.kind[i]! as S2tte;
    if (k === S2tte.ASSIGNED_NS && t.addr[i] === blk.pa && t.attr[i] === attr) {
      outTop += inp.size;
      continue;
    }
    if (k !== S2tte.UNASSIGNED_NS) {
      status = rttError(inp.level);
      break;
    }
    t.kind[i] = S2tte.ASSIGNED_NS;
    t.addr[i] = blk.pa;
    t.attr[i] = attr;
    outTop += inp.size;
  }
  return finishMap(rmm, status, outTop, b);
}

/** RMI_RTT_UNPROT_UNMAP(rd, base, top, flags, oaddr) -> x1 = out_top, x2 = range (SINGLE), x3 = count (LIST). */
function rttUnprotUnmap(rmm: RmmState, rd: bigint, base: bigint, top: bigint, flags: bigint, oaddr: bigint): number {
  return rangeUnmap(rmm, rd, base, top, flags, oaddr, "UNPROT");
}

export const V2_UNPROT_COMMANDS: RmiCommand[] = [
  { name: "RMI_RTT_UNPROT_MAP", fnum: 0x1fb, method: "rttUnprotMap", args: ["rd", "base", "top", "flags", "oaddr"], outs: ["top"], handler: rttUnprotMap, abi: ["2.0"] },
  { name: "RMI_RTT_UNPROT_UNMAP", fnum: 0x1fc, method: "rttUnprotUnmap", args: ["rd", "base", "top", "flags", "oaddr"], outs: ["top", "range", "count"], handler: rttUnprotUnmap, abi: ["2.0"] },
];

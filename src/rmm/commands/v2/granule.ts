/**
 * RMI_GRANULE_RANGE_DELEGATE (0x1F1) / RMI_GRANULE_RANGE_UNDELEGATE (0x1F2) (base, top) -> x1 = out_top.
 *
 * Order (TF-RMM main runtime/rmi/granule.c): base or top not 4 KiB aligned, or top <= base ->
 * INPUT with x1 = base. Then granule by granule from base, with the v1.0 per-granule checks
 * (delegateOne / undelegateOne: tracked DRAM, state, GPT): the first granule failing -> that error
 * with x1 = base (nothing changed); a later one stops the call with SUCCESS and x1 = its address
 * ("a complete prefix takes precedence over a suffix error", granule_sro.c). At most
 * progress.maxGranulesPerCall granules per call (TF-RMM main: 1). The host loops until
 * out_top == top (Linux v14 rmi_delegate_range).
 */
import { GRANULE_SIZE, toNum } from "../../../arch/geometry.js";
import { findGranuleAt } from "../../checks.js";
import type { RmiCommand } from "../../dispatch.js";
import type { RmmState } from "../../state.js";
import { ERROR_INPUT, SUCCESS } from "../../status.js";
import { delegateOne, undelegateOne } from "../granule.js";
import { progressOf } from "./state.js";

function rangeOp(rmm: RmmState, base: bigint, top: bigint, one: (rmm: RmmState, g: number) => number): number {
  rmm.out1 = base;
  const b = toNum(base);
  const t = toNum(top);
  // b and t 4 KiB aligned (tested without % on an address: fmod), top > base
  if (Math.floor(b / GRANULE_SIZE) * GRANULE_SIZE !== b || Math.floor(t / GRANULE_SIZE) * GRANULE_SIZE !== t || top <= base) return ERROR_INPUT;
  const max = progressOf(rmm).maxGranulesPerCall;
  let addr = b;
  let done = 0;
  while (addr < t && done < max) {
    const g = findGranuleAt(rmm, addr);
    const r = g < 0 ? ERROR_INPUT : one(rmm, g);
    if (r !== SUCCESS) {
      if (done === 0) return r;
      break;
    }
    addr += GRANULE_SIZE;
    done++;
  }
  rmm.out1 = BigInt(addr);
  return SUCCESS;
}

function granuleRangeDelegate(rmm: RmmState, base: bigint, top: bigint): number {
  return rangeOp(rmm, base, top, delegateOne);
}

function granuleRangeUndelegate(rmm: RmmState, base: bigint, top: bigint): number {
  return rangeOp(rmm, base, top, undelegateOne);
}

export const V2_GRANULE_COMMANDS: RmiCommand[] = [
  { name: "RMI_GRANULE_RANGE_DELEGATE", fnum: 0x1f1, method: "granuleRangeDelegate", args: ["base", "top"], outs: ["top"], handler: granuleRangeDelegate, abi: ["2.0"] },
  { name: "RMI_GRANULE_RANGE_UNDELEGATE", fnum: 0x1f2, method: "granuleRangeUndelegate", args: ["base", "top"], outs: ["top"], handler: granuleRangeUndelegate, abi: ["2.0"] },
];

/**
 * Granule tracking and the GPT at RMM v2.0 init: RMI_GRANULE_TRACKING_GET (0x1E1) and
 * RMI_GPT_L1_CREATE (0x1F3), the two calls the v13/v14 hosts make after RMM_ACTIVATE for every
 * memblock region (v13 10/48 kvm rmi_init_metadata, v14 08/44 arch/arm64/kernel/rmi.c: verify
 * that the RMM tracks the memory FINE/CONVENTIONAL, then make sure the L1 GPTs exist).
 *
 * The simulated RMM tracks the platform's DRAM (the memory map's "dram" regions: its memory banks)
 * at fine granularity in tracking regions of 1 GiB (RMM_CONFIG_SET accepts only
 * tracking_region_size 0 = 1 GiB with 4 KiB granules). MMIO and Secure regions are not RMM banks:
 * they read as unpopulated, like any other address.
 *
 * GRANULE_TRACKING_GET has two forms (S29, Mathieu Poirier on v13 10/48):
 *  - range form (spec 2.0-bet1 and later; v14; TF-RMM main runtime/rmi/granule.c
 *    smc_granule_tracking_get + lib tracking_region_get_info): (base, top) -> x1 = RmiMemCategory,
 *    x2 = RmiTrackingRegionState, x3 = the end of the longest prefix of [base, top) with that
 *    category and state. Checks in order: base or top above the PA size, base >= top, base or top
 *    not granule aligned -> INPUT. A populated address reports its bank's category (DRAM:
 *    CONVENTIONAL) and, once the RMM is active, FINE (TRACKING_NONE before RMM_ACTIVATE: TF-RMM
 *    main reports trs_none until tracking is initialised); a piece ends at the end of its bank or of
 *    its tracking region. An unpopulated address reports category NONE, state RESERVED, up to the
 *    next bank. Pieces with the same category and state are merged up to top.
 *  - region form (the bet0 RMM v13 ran against; selected by the v1.0 compatibility switch, which
 *    models that RMM): (addr) -> x1 = category, x2 = state; x2 (top) is ignored. addr above the PA
 *    size or not aligned to the 1 GiB tracking region -> INPUT; a region whose base is not a
 *    tracked granule -> INPUT (TF-RMM of the bet0 era: find_granule(addr) on the region base, no
 *    granule and no device granule leaves RMI_ERROR_INPUT). So a region that holds DRAM but does
 *    not start in it (DRAM at 0x100_4300_0000) is an error for the posting that aligned down.
 * Callable before RMM_ACTIVATE (TF-RMM main runtime/core/handler.c).
 *
 * GPT_L1_CREATE(addr): addr above the PA size or not aligned to L0GPTSZ (1 GiB: FEATURES reg1
 * L0GPTSZ = 0) -> INPUT; otherwise RMI_ERROR_GPT: the simulated GPT is created by the firmware
 * with L1 tables for all of memory, so the L1 table already exists (TF-RMM of the v13/v14 era
 * smc_gpt_l1_create with static L1 GPTs; the v13/v14 hosts read RMI_ERROR_GPT as "already
 * exists"). Later TF-RMM main answers ERROR_GLOBAL there (level 0, addr), not modelled.
 * Sources: TF-RMM main lib/smc/include/smc-rmi.h (FIDs), Linux v13/v14 arm-smccc-rmi.h
 * (RMI_MEM_CATEGORY_*, RMI_TRACKING_*), rmi_cmds.h rmi_granule_tracking_get / rmi_gpt_l1_create.
 */
import { GRANULE_SIZE, toNum } from "../../../arch/geometry.js";
import type { RmiCommand } from "../../dispatch.js";
import type { RmmState } from "../../state.js";
import { ERROR_INPUT, RmiStatus, SUCCESS } from "../../status.js";

/** RmiMemCategory (Linux arm-smccc-rmi.h RMI_MEM_CATEGORY_*; TF-RMM main enum tr_mem_cat). */
export enum RmiMemCategory {
  RMI_MEM_CATEGORY_CONVENTIONAL = 0,
  RMI_MEM_CATEGORY_DEV_NCOH = 1,
  RMI_MEM_CATEGORY_DEV_COH = 2,
  RMI_MEM_CATEGORY_NONE = 3,
}

/** RmiTrackingRegionState (Linux RMI_TRACKING_*; TF-RMM main enum tr_state). */
export enum RmiTrackingRegionState {
  RMI_TRACKING_RESERVED = 0,
  RMI_TRACKING_NONE = 1,
  RMI_TRACKING_FINE = 2,
  RMI_TRACKING_COARSE = 3,
  RMI_TRACKING_INTERMEDIATE = 4,
}

/** The tracking region size in effect: 1 GiB (tracking_region_size 0 with 4 KiB granules). */
export const TRACKING_REGION_SIZE = 2 ** 30;
/** L0GPTSZ of the simulated GPT (FEATURES register 1 L0GPTSZ = 0: 30 bits). */
export const L0GPT_SIZE = 2 ** 30;

interface TrackingInfo {
  category: RmiMemCategory;
  state: RmiTrackingRegionState;
  /** First address after addr where category or state may change, capped at the limit. */
  top: number;
}

/**
 * tracking_region_get_info(addr, limit) for addr < limit: the category and state at addr, and
 * where that piece ends (end of the bank or of the tracking region, whichever is first; for an
 * unpopulated address, the next bank's base). Cost: one pass over the (tiny) memory map.
 */
function trackingInfo(rmm: RmmState, addr: number, limit: number): TrackingInfo {
  let nextBank = limit;
  for (const r of rmm.machine.map.regions) {
    if (r.kind !== "dram") continue;
    if (addr >= r.base && addr < r.end) {
      const regionEnd = (Math.floor(addr / TRACKING_REGION_SIZE) + 1) * TRACKING_REGION_SIZE;
      return {
        category: RmiMemCategory.RMI_MEM_CATEGORY_CONVENTIONAL,
        state: rmm.active ? RmiTrackingRegionState.RMI_TRACKING_FINE : RmiTrackingRegionState.RMI_TRACKING_NONE,
        top: Math.min(regionEnd, limit, r.end),
      };
    }
    if (r.base > addr && r.base < nextBank) nextBank = r.base;
  }
  return { category: RmiMemCategory.RMI_MEM_CATEGORY_NONE, state: RmiTrackingRegionState.RMI_TRACKING_RESERVED, top: nextBank };
}

/** The bet0 region form (see the module comment): the region at addr, by its base granule. */
function trackingGetRegion(rmm: RmmState, addr: bigint): number {
  const a = toNum(addr);
  if (a >= rmm.machine.map.paLimit) return ERROR_INPUT;
  if (a % TRACKING_REGION_SIZE !== 0) return ERROR_INPUT;
  if (!rmm.machine.map.isDram(a)) return ERROR_INPUT;
  rmm.out1 = BigInt(RmiMemCategory.RMI_MEM_CATEGORY_CONVENTIONAL);
  rmm.out2 = BigInt(RmiTrackingRegionState.RMI_TRACKING_FINE);
  return SUCCESS;
}

/** RMI_GRANULE_TRACKING_GET(base, top) -> category, state, top (range form; region form with v1Compat). */
function granuleTrackingGet(rmm: RmmState, base: bigint, top: bigint): number {
  if (rmm.v1Compat) return trackingGetRegion(rmm, base);
  const paSize = rmm.machine.map.paLimit;
  const b = toNum(base);
  const t = toNum(top);
  // the exclusive top may equal the PA size (TF-RMM main)
  if (b > paSize || t > paSize || b >= t || b % GRANULE_SIZE !== 0 || t % GRANULE_SIZE !== 0) return ERROR_INPUT;
  const first = trackingInfo(rmm, b, t);
  let cursor = first.top;
  while (cursor < t) {
    const next = trackingInfo(rmm, cursor, t);
    if (next.category !== first.category || next.state !== first.state) break;
    cursor = next.top;
  }
  rmm.out1 = BigInt(first.category);
  rmm.out2 = BigInt(first.state);
  rmm.out3 = BigInt(cursor);
  return SUCCESS;
}

/** RMI_GPT_L1_CREATE(addr): INPUT for a bad address, else ERROR_GPT (the L1 table exists). */
function gptL1Create(rmm: RmmState, addr: bigint): number {
  const a = toNum(addr);
  if (a >= rmm.machine.map.paLimit || a % L0GPT_SIZE !== 0) return ERROR_INPUT;
  return RmiStatus.RMI_ERROR_GPT;
}

export const V2_TRACKING_COMMANDS: RmiCommand[] = [
  { name: "RMI_GRANULE_TRACKING_GET", fnum: 0x1e1, method: "granuleTrackingGet", args: ["base", "top"], outs: ["category", "state", "top"], handler: granuleTrackingGet, abi: ["2.0"], beforeActivate: true },
  { name: "RMI_GPT_L1_CREATE", fnum: 0x1f3, method: "gptL1Create", args: ["addr"], outs: [], handler: gptL1Create, abi: ["2.0"] },
];

/**
 * RMM v2.0 global state kept in `rmm.ext`: the RmmConfig given by RMM_CONFIG_SET, the partial
 * progress rules, and the slots an in-flight RTT_DATA_MAP has stamped "drain pending".
 *
 * Partial progress (docs/rmm-2.0.md "When the RMM stops early"): every range command makes at
 * least one unit of progress when it succeeds, and may stop early with out_top < top. The rule is
 * deterministic and configurable so host retry loops get exercised:
 *  - GRANULE_RANGE_(UN)DELEGATE: at most `maxGranulesPerCall` granules per call
 *    (default 1: TF-RMM main runtime/rmi/granule.c delegates exactly one granule per call);
 *  - RTT_DATA_MAP / RTT_DATA_UNMAP / RTT_UNPROT_MAP / RTT_UNPROT_UNMAP / RTT_INIT_RIPAS: at most
 *    `maxEntriesPerCall` RTT entries per call (default 512: the call never crosses the end of one
 *    leaf RTT, as TF-RMM rtt_map.c / rtt_unmap.c / rtt.c do);
 *  - RTT_DATA_MAP: a block of more than `dataMapYieldGranules` granules yields RMI_INCOMPLETE
 *    (MEMREQ NONE, not cancellable) after each such chunk, to be finished with RMI_OP_CONTINUE
 *    (default 0 = never; TF-RMM yields there only on a pending physical IRQ).
 */
import type { RmmState } from "../../state.js";

export interface RmmProgressOptions {
  maxGranulesPerCall?: number;
  maxEntriesPerCall?: number;
  dataMapYieldGranules?: number;
}

export interface ResolvedProgress {
  maxGranulesPerCall: number;
  maxEntriesPerCall: number;
  dataMapYieldGranules: number;
}

export const DEFAULT_PROGRESS: Readonly<ResolvedProgress> = {
  maxGranulesPerCall: 1,
  maxEntriesPerCall: 512,
  dataMapYieldGranules: 0,
};

function positive(name: string, v: number | undefined, def: number, allowZero: boolean): number {
  if (v === undefined) return def;
  if (typeof v !== "number" || Number.isNaN(v) || v < (allowZero ? 0 : 1) || (v !== Infinity && !Number.isInteger(v))) {
    throw new RangeError(`progress.${name} must be an integer >= ${allowZero ? 0 : 1} (or Infinity), got ${String(v)}`);
  }
  return v;
}

/**
 * The progress rule of this RMM (validated on use; nothing is cached in rmm.ext, whose contents
 * are simulated state: a failed command must leave it unchanged).
 */
export function progressOf(rmm: RmmState): ResolvedProgress {
  const o = (rmm.ext.progress ?? {}) as RmmProgressOptions;
  return {
    maxGranulesPerCall: positive("maxGranulesPerCall", o.maxGranulesPerCall, DEFAULT_PROGRESS.maxGranulesPerCall, false),
    maxEntriesPerCall: positive("maxEntriesPerCall", o.maxEntriesPerCall, DEFAULT_PROGRESS.maxEntriesPerCall, false),
    dataMapYieldGranules: positive("dataMapYieldGranules", o.dataMapYieldGranules, DEFAULT_PROGRESS.dataMapYieldGranules, true),
  };
}

/** The configuration RMM_CONFIG_SET stored (RMM_CONFIG_GET reports it). */
export interface V2Config {
  trackingRegionSize: number;
  rmiGranuleSize: number;
}

/** The configuration in effect (the default {0, 0} until RMM_CONFIG_SET stores one). */
export function configOf(rmm: RmmState): Readonly<V2Config> {
  return (rmm.ext.v2Config as V2Config | undefined) ?? { trackingRegionSize: 0, rmiGranuleSize: 0 };
}

export function setConfig(rmm: RmmState, c: V2Config): void {
  rmm.ext.v2Config = { ...c };
}

/**
 * Slots of leaf RTTs that an in-flight RTT_DATA_MAP has stamped "drain pending" (TF-RMM
 * S2TTE_SW_DRAIN_PENDING): the entry still reads UNASSIGNED, but map commands on it return
 * RMI_BUSY until the SRO finishes. Key: RTT granule index * 512 + entry index -> SRO handle.
 */
export function drainPending(rmm: RmmState): Map<number, number> {
  let m = rmm.ext.drainPending as Map<number, number> | undefined;
  if (m === undefined) {
    m = new Map();
    rmm.ext.drainPending = m;
  }
  return m;
}

/** Is the slot stamped drain pending? (Reads only: creates nothing in rmm.ext.) */
export function isDrainPending(rmm: RmmState, rttG: number, index: number): boolean {
  const m = rmm.ext.drainPending as Map<number, number> | undefined;
  return m !== undefined && m.has(slotKey(rttG, index));
}

export function slotKey(rttG: number, index: number): number {
  return rttG * 512 + index;
}

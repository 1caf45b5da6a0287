/**
 * The argument checks every RMI command shares. Source: TF-RMM lib/granule (find_granule,
 * find_lock_granule), runtime/core/buffer.c (ns_buffer_read/write), RMM spec B4.3 notation.
 */
import { GRANULE_SIZE, pow2, toNum } from "../arch/geometry.js";
import { Pas } from "../platform/gpt.js";
import { GranuleState } from "./granule.js";
import type { RmmState } from "./state.js";

/**
 * find_granule: `addr` is 4 KiB aligned and names RMM-tracked conventional memory (DRAM below
 * the PA width). Returns the granule index, or -1.
 */
export function findGranule(rmm: RmmState, addr: bigint): number {
  return findGranuleAt(rmm, toNum(addr));
}

/** find_granule of an address the RMM already holds as a number (`toNum` of a register). */
export function findGranuleAt(rmm: RmmState, a: number): number {
  // aligned: a is a whole number of granules (a % GRANULE_SIZE on a number above 2^31 is a call to fmod)
  const g = Math.floor(a / GRANULE_SIZE);
  if (g * GRANULE_SIZE !== a) return -1;
  if (a >= rmm.machine.map.paLimit || !rmm.machine.map.isDram(a)) return -1;
  return g;
}

/** gran(x): find_granule and the expected state. Returns the granule index or -1 (RMI_ERROR_INPUT). */
export function gran(rmm: RmmState, addr: bigint, state: GranuleState): number {
  const g = findGranule(rmm, addr);
  if (g < 0 || rmm.granules.state(g) !== state) return -1;
  return g;
}

/**
 * ns(x): an NS buffer the RMM reads or writes (params, src, run): aligned, tracked DRAM, and in
 * the NS PAS (a Realm/Secure/Root granule faults in the RMM's access, which it reports as INPUT).
 */
export function nsGranule(rmm: RmmState, addr: bigint): number {
  const g = findGranule(rmm, addr);
  if (g < 0 || rmm.machine.gpt.get(g) !== Pas.NS) return -1;
  return g;
}

/** Without FEAT_LPA2, a granule used as an RTT or mapped as DATA must lie below 2^48 (`*_bound2`). */
export function paAboveLimit(g: number, lpa2: boolean): boolean {
  return !lpa2 && g * GRANULE_SIZE >= pow2(48);
}

/** Copy of an NS granule's 4 KiB (RMM "ns_buffer_read" of a whole structure). */
export function nsReadGranule(rmm: RmmState, g: number): Uint8Array {
  return rmm.machine.mem.read(g * GRANULE_SIZE, GRANULE_SIZE);
}

/** Level argument as a signed 64-bit value (RTT levels are signed, -1 is valid with LPA2). */
export function levelArg(x: bigint): number {
  const s = BigInt.asIntN(64, x);
  return s < -8n || s > 8n ? 99 : Number(s);
}

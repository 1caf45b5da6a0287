/**
 * arch/arm64/kvm/rmi.c (v13; arch/arm64/kernel/rmi.c in v14), the granule range helpers.
 * RMM v2.0 range helpers of the v13/v14 postings:
 *  - v13 KVM `delegate_range` / `undelegate_range` (v13 rmi.c), v14 kernel `rmi_delegate_range` /
 *    `rmi_undelegate_range` (v14 09/44): loop GRANULE_RANGE_(UN)DELEGATE from out_top; a raw
 *    RMI_BUSY/RMI_BLOCKED retries; any other error is returned. Only v14's rmi_undelegate_range
 *    WARNs on a zero size; v13 returns its `ret` uninitialised for a zero size;
 *  - the address-range descriptor as each posting builds it (S07: v13 PAGE=3 .. P4D=0, v14
 *    PAGE=0 .. P4D=3) and as both decode it (`level_to_size`: 0 = PAGE .. 3 = P4D);
 *  - get_page after a failed undelegate (the page is lost to the normal world).
 * Sources: v13 rmi.c snapshot (delegate_range .. level_to_size), v14 09/44, v14 rmi.c snapshot
 * (level_to_size), v13 06/48 and v14 04/44 (RMI_ADDR_RANGE_*).
 */
import { GRANULE_SIZE, SZ_2M } from "../../arch/geometry.js";
import { RANGE_DESC, RmiOpMemState } from "../../rmm/abi/range-desc.js";
import { KernelHang } from "../../sched/coop.js";
import type { Kvm } from "../kvm.js";
import type { KvmEnv } from "../env.js";
import type { SeriesProfile } from "../series/profile.js";
import { RMI_BLOCKED, RMI_BUSY, RMI_SUCCESS } from "../rmi_cmds.js";

/** Linux block size classes of a descriptor. */
export type DescSize = "PAGE" | "PMD" | "PUD" | "P4D";
const SIZE_ORDER: DescSize[] = ["PAGE", "PMD", "PUD", "P4D"];

/** S07: the SZ value a posting writes for a size class. */
export function descSizeCode(profile: SeriesProfile, size: DescSize): number {
  const i = SIZE_ORDER.indexOf(size);
  return profile.rangeDescEncoder === "v13-inverted" ? 3 - i : i;
}

/** ST (bit 63) set: an undelegated range. */
const ST_BIT = 1n << RANGE_DESC.ST_SHIFT;

/** The largest count of the default (page) form: CNT capped at 511 (v13/v14). */
export const RMI_ADDR_RANGE_MAX_PAGES = 511;

/**
 * RMI_ADDR_RANGE(addr, size class, count, state) as the posting encodes it (its own SZ codes):
 * SZ [1:0], CNT [11:2], ADDR = PA [51:12], ST bit 63 (1 = undelegated).
 */
export function rmi_addr_range(profile: SeriesProfile, addr: number, size: DescSize, count: number, state: RmiOpMemState): bigint {
  const code = descSizeCode(profile, size);
  // The usual case in number arithmetic, one conversion: SZ + CNT * 4 + ADDR is exact below 2^53
  // (ADDR < 2^52, CNT < 2^10); ST is bit 63, added as a bigint. Anything else: the bigint sum.
  if (addr >= 0 && addr < 2 ** 52 && Number.isInteger(addr) && count >= 0 && count < 1024 && Number.isInteger(count) && (state === 0 || state === 1)) {
    const low = BigInt(code + count * 4 + addr);
    return state === 0 ? low : low + ST_BIT;
  }
  const sz = BigInt(code);
  return (sz << RANGE_DESC.SZ_SHIFT) + (BigInt(count) << RANGE_DESC.CNT_SHIFT) + BigInt(addr) + (BigInt(state) << RANGE_DESC.ST_SHIFT);
}

/**
 * `level_to_size` (v13 and v14 alike) on the SZ field: 0 -> PAGE_SIZE, 1 -> PMD_SIZE,
 * 2 -> PUD_SIZE, 3 -> P4D_SIZE. With CONFIG_PGTABLE_LEVELS = 4 and 4K pages P4D is folded into
 * the PGD (512 GiB); with 3 levels PUD and P4D both fold to the PGD (1 GiB): S28.
 */
export function level_to_size(sz: number, pgtableLevels = 4): number {
  const pud = 2 ** 30;
  const pgdir = pgtableLevels >= 4 ? 2 ** 39 : pud;
  return [GRANULE_SIZE, SZ_2M, pgtableLevels >= 3 ? pud : pgdir, pgdir][sz]!;
}

/** A decoded descriptor as the posting reads it (its decoder, not the RMM's). */
export function decode_range_desc(d: bigint, pgtableLevels = 4): { addr: number; size: number; count: number; undelegated: boolean; sz: number } {
  const v = BigInt.asUintN(64, d);
  const sz = Number((v >> RANGE_DESC.SZ_SHIFT) & RANGE_DESC.SZ_MASK);
  const count = Number((v >> RANGE_DESC.CNT_SHIFT) & RANGE_DESC.CNT_MASK);
  const addr = Number(((v >> RANGE_DESC.ADDR_SHIFT) & RANGE_DESC.ADDR_MASK) << 12n);
  return { addr, size: level_to_size(sz, pgtableLevels) * count, count, undelegated: (v >> RANGE_DESC.ST_SHIFT) % 2n === 1n, sz };
}

/** Calls without progress (BUSY/BLOCKED, or SUCCESS with out_top not above base) before the loop is reported as a hang. */
const SPIN_BOUND = 4096;

/**
 * The loop of v13 delegate_range/undelegate_range and v14 rmi_delegate_range/rmi_undelegate_range
 * (the same body): `ret` is compared raw (`ret == RMI_SUCCESS`, `ret != RMI_BUSY && ret !=
 * RMI_BLOCKED`), SUCCESS moves on to out_top whatever it is (no progress check: the posted loop
 * spins, reported here as a KernelHang after SPIN_BOUND calls), any other status is returned.
 * `top` is how far it got (the posted functions do not return it; callers here use it for reports).
 */
function rangeLoop(host: KvmEnv, which: "delegate" | "undelegate", phys: number, size: number): { ret: number; top: number } {
  const rmi = host.rmi;
  const end = phys + size;
  let base = phys;
  let spins = 0;
  while (base < end) {
    const r = which === "delegate" ? rmi.granule_range_delegate(base, end) : rmi.granule_range_undelegate(base, end);
    if (r.ret === RMI_SUCCESS && r.top > base) {
      spins = 0;
      base = r.top;
      continue;
    }
    if (r.ret !== RMI_SUCCESS && r.ret !== RMI_BUSY && r.ret !== RMI_BLOCKED) return { ret: r.ret, top: base };
    if (++spins > SPIN_BOUND) throw new KernelHang(`${which}_range`, spins);
    if (r.ret === RMI_SUCCESS) base = r.top; // no progress: the posted loop goes on from out_top
  }
  return { ret: 0, top: base };
}

/**
 * A zero size: the loop does not run. v14 returns its initialised `ret = 0` (rmi_undelegate_range
 * WARNs first); v13's `unsigned long ret;` is returned uninitialised: flagged, and read as 0 (or
 * garbage with poisonUninit).
 */
function zeroSize(host: KvmEnv, which: "delegate" | "undelegate", phys: number): { ret: number; top: number } {
  if (host.profile.rangeHelpers === "kernel") {
    if (which === "undelegate") host.warn("rmi_undelegate_range", "WARN_ON(size == 0)");
    return { ret: 0, top: phys };
  }
  const ret = host.poisonUninit ? 0xdead : 0;
  host.log.push("event", `${which}_range(0x${phys.toString(16)}, 0): the loop does not run and \`ret\` is returned uninitialised (v13 rmi.c); read as ${ret === 0 ? "0" : "garbage 0xdead"}`);
  return { ret, top: phys };
}

/** v13 delegate_range / v14 rmi_delegate_range(phys, size): 0, or the RMI status that stopped it. */
export function delegate_range(kvm: Kvm | KvmEnv, phys: number, size: number): { ret: number; top: number } {
  const host = "env" in kvm ? kvm.env : kvm;
  if (size === 0) return zeroSize(host, "delegate", phys);
  return rangeLoop(host, "delegate", phys, size);
}

/** v13 undelegate_range / v14 rmi_undelegate_range(phys, size): 0, or the RMI status that stopped it. */
export function undelegate_range(kvm: Kvm | KvmEnv, phys: number, size: number): { ret: number; top: number } {
  const host = "env" in kvm ? kvm.env : kvm;
  if (size === 0) return zeroSize(host, "undelegate", phys);
  return rangeLoop(host, "undelegate", phys, size);
}

/**
 * get_page(phys_to_page(pa)) after a failed undelegate ("Page can't be returned to NS world so is
 * lost"): one more reference on a page the host allocator knows, marked leaked.
 */
export function get_page_lost(kvm: Kvm, pa: number, why: string): void {
  const pages = kvm.env.pages;
  if (pages.page(pa) === undefined) return;
  pages.get(pa);
  pages.leak(pa, why);
}

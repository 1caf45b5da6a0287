/**
 * arch/arm64/kvm/rmi.c (rme.c in v8/v10), unmapping; kvm_realm_unmap_range is the realm branch
 * of mmu.c's __unmap_stage2_range.
 * Unmapping realm memory: realm_destroy_private_granule, realm_unmap_private_page/range,
 * realm_unmap_shared_range, undelegate_range_desc and kvm_realm_unmap_range (the realm branch of
 * __unmap_stage2_range). Sources: v9 15/43 (stand-in for v8/v10 15), v12 17/46, v13 21/48,
 * v14 23/44 "Handle RMI_EXIT_RIPAS_CHANGE"; the v12/v13/v14 rmi.c snapshots. Per function:
 * docs/provenance.md.
 */
import { GRANULE_SIZE, alignUp } from "../../arch/geometry.js";
import { KernelHang, runSync } from "../../sched/coop.js";
import { ENOMEM, ENXIO } from "../errno.js";
import { Kvm, PAGE_SIZE, PHYS_ADDR_MAX, RMM_RTT_MAX_LEVEL } from "../kvm.js";
import { RMI_ERROR_RTT, RMI_RETURN_INDEX, RMI_RETURN_STATUS, RMI_SUCCESS } from "../rmi_cmds.js";
import { alloc_rtt, find_map_level, free_rtt, get_start_level, realm_create_rtt_levels, realm_fold_rtt_level, realm_rtt_create, rmi_rtt_level_mapsize } from "./rtt.js";
import { decode_range_desc, undelegate_range } from "./range.js";
import { RmiAddrType, encodeRttFlags } from "../../rmm/abi/range-desc.js";

/** `x |= bit` for a power-of-two bit, without 32-bit operators. */
export function setBit(x: number, bit: number): number {
  return Math.floor(x / bit) % 2 === 0 ? x + bit : x;
}

/** 2 ** (n - 1) for n = 0..64 (a table: sharedBit is on every fault's path). */
const SHARED_BITS: readonly number[] = Array.from({ length: 65 }, (_, n) => 2 ** (n - 1));

/** BIT(ia_bits - 1): the shared (unprotected) IPA bit. */
export function sharedBit(kvm: Kvm): number {
  return SHARED_BITS[kvm.realm.iaBits] ?? 2 ** (kvm.realm.iaBits - 1);
}

/** Consecutive passes of an unmap loop at the same address before it is reported as a hang. */
const SPIN_BOUND = 4096;

/**
 * Simulator bound, not in the posted code: the posted unmap loops go on from whatever address the
 * RMM returned (an error's out_top is 0) and retry after creating an RTT without a limit. A loop
 * asking at the same address SPIN_BOUND times in a row would spin forever: a KernelHang.
 */
class SpinGuard {
  private last = -1;
  private n = 0;
  constructor(private readonly fn: string) {}
  at(addr: number): void {
    if (addr !== this.last) {
      this.last = addr;
      this.n = 0;
    } else if (++this.n > SPIN_BOUND) {
      throw new KernelHang(this.fn, this.n);
    }
  }
}

/**
 * realm_destroy_private_granule(ipa, &next) (v9 15/43, v12 rmi.c): DATA_DESTROY; ERROR_RTT with
 * next > ipa: UNASSIGNED, done; else the IPA is mapped as a block: WARN_ON(alloc_rtt failed) ->
 * -ENOMEM, WARN_ON(index != 2), RTT_CREATE at level 3 (unfold; WARN_ON(fail) -> free_rtt, -ENXIO)
 * and retry; another error: WARN_ON, -ENXIO; then UNDELEGATE the data granule: WARN_ON(fail) ->
 * -ENXIO. v9/v10 realm_unmap_private_page then free_page()s the data page (the reference its fault
 * kept), only when every granule of the page was undelegated: a failed undelegate leaves that
 * reference held for good (no get_page). v12 frees nothing: guest_memfd owns the page and will
 * free it although it is still delegated. Either way the page is marked leaked.
 */
export function realm_destroy_private_granule(kvm: Kvm, ipa: number): { ret: number; next: number } {
  const rmi = kvm.env.rmi;
  for (;;) {
    const d = rmi.data_destroy(kvm.realm.rd, ipa);
    if (RMI_RETURN_STATUS(d.ret) === RMI_ERROR_RTT) {
      if (d.top > ipa) return { ret: 0, next: d.top }; // UNASSIGNED
      const rtt = runSync(alloc_rtt(kvm, null));
      if (rtt === PHYS_ADDR_MAX) {
        kvm.warn("realm_destroy_private_granule", "alloc_rtt failed");
        return { ret: -ENOMEM, next: d.top };
      }
      // ASSIGNED as a block: split it. The index should be 2 (a 2 MiB block).
      if (RMI_RETURN_INDEX(d.ret) !== 2) kvm.warn("realm_destroy_private_granule", `DATA_DESTROY 0x${ipa.toString(16)}: ERROR_RTT index ${RMI_RETURN_INDEX(d.ret)} != 2`);
      const c = realm_rtt_create(kvm, ipa, 3, rtt);
      if (c !== RMI_SUCCESS) {
        kvm.warn("realm_destroy_private_granule", `RTT_CREATE (unfold) 0x${ipa.toString(16)} returned ${c}`);
        free_rtt(kvm, rtt);
        return { ret: -ENXIO, next: d.top };
      }
      continue;
    }
    if (d.ret !== RMI_SUCCESS) {
      kvm.warn("realm_destroy_private_granule", `DATA_DESTROY 0x${ipa.toString(16)} returned ${d.ret}`);
      return { ret: -ENXIO, next: d.top };
    }
    const pages = kvm.env.pages;
    if (rmi.granule_undelegate(d.data) !== RMI_SUCCESS) {
      kvm.warn("realm_destroy_private_granule", `undelegate of 0x${d.data.toString(16)} failed`);
      if (pages.page(d.data) !== undefined) {
        pages.leak(d.data, kvm.profile.privateUnmapDropsRef ? "undelegate failed (private unmap: the fault's reference is never dropped)" : "undelegate failed (private unmap: guest_memfd will free it while delegated)");
      }
      return { ret: -ENXIO, next: d.top };
    }
    if (kvm.profile.privateUnmapDropsRef && pages.page(d.data) !== undefined) pages.put(d.data);
    return { ret: 0, next: d.top };
  }
}

/** realm_unmap_private_page(ipa, &next): every RMM granule of one host page, from *next_addr. */
function realm_unmap_private_page(kvm: Kvm, ipa: number): { ret: number; next: number } {
  const end = alignUp(ipa + 1, PAGE_SIZE);
  let next = ipa;
  for (let addr = ipa; addr < end; addr = next) {
    const r = realm_destroy_private_granule(kvm, addr);
    next = r.next;
    if (r.ret) return r;
  }
  return { ret: 0, next };
}

/**
 * undelegate_range_desc(desc) (v13 rmi.c, v14 rmi.c): the posting's own decoder (level_to_size);
 * a range already UNDELEGATED -> 0; v14 also returns 0 for a zero size (v13 calls
 * undelegate_range(addr, 0), whose `ret` is uninitialised: see range.ts); else the result of
 * (rmi_)undelegate_range: 0 or the RMI status. No WARN and no get_page here: the caller WARNs. The
 * granules the failed call did not return stay delegated while guest_memfd owns them: marked leaked.
 */
export function undelegate_range_desc(kvm: Kvm, desc: bigint): number {
  const d = decode_range_desc(desc);
  if (d.undelegated) return 0;
  if (d.size === 0 && kvm.profile.rangeHelpers === "kernel") return 0;
  const r = undelegate_range(kvm, d.addr, d.size);
  if (r.ret !== 0) {
    // Bookkeeping only: the granules from the failure point that the RMM still holds delegated.
    const pages = kvm.env.pages;
    for (let a = r.top; a < d.addr + d.size && kvm.env.delegated(a); a += GRANULE_SIZE) {
      if (pages.page(a) !== undefined) pages.leak(a, "undelegate failed (undelegate_range_desc): left delegated");
    }
  }
  return r.ret;
}

/**
 * realm_unmap_private_range on RMM v2.0 (v13 21/48, v14 23/44), for (addr = start; addr < end;
 * addr = next_addr): RTT_DATA_UNMAP(addr, end, SINGLE); ERROR_RTT with next_addr > addr:
 * UNASSIGNED, `continue` from next_addr; with next_addr == addr: a block to split, alloc_rtt
 * (WARN_ON -> return) and RTT_CREATE one level below the index (WARN_ON -> free_rtt, return) and
 * retry (goto retry); another error: WARN_ON and `continue` from the next_addr it returned (0
 * after an error: the loop starts again at IPA 0, below `start`); success: undelegate_range_desc,
 * WARN_ON(ret) -> break; cond_resched when may_block. The returns skip the fold; the break does
 * not. The guest_memfd references are not touched (S24).
 */
function realm_unmap_private_range_v2(kvm: Kvm, start: number, end: number, mayBlock: boolean): void {
  const rmi = kvm.env.rmi;
  const flags = encodeRttFlags({ oaddrType: RmiAddrType.SINGLE });
  const guard = new SpinGuard("realm_unmap_private_range");
  for (let addr = start; addr < end; ) {
    guard.at(addr);
    const r = rmi.rtt_data_unmap(kvm.realm.rd, addr, end, flags, 0n);
    if (RMI_RETURN_STATUS(r.ret) === RMI_ERROR_RTT) {
      if (r.top > addr) {
        addr = r.top; // UNASSIGNED
        continue;
      }
      const rtt = runSync(alloc_rtt(kvm, null));
      if (rtt === PHYS_ADDR_MAX) {
        kvm.warn("realm_unmap_private_range", "alloc_rtt failed");
        return;
      }
      const level = RMI_RETURN_INDEX(r.ret) + 1;
      const c = realm_rtt_create(kvm, addr, level, rtt);
      if (c !== RMI_SUCCESS) {
        kvm.warn("realm_unmap_private_range", `RTT_CREATE (unfold) 0x${addr.toString(16)} level ${level} returned ${c}`);
        free_rtt(kvm, rtt);
        return;
      }
      continue; // goto retry
    }
    if (r.ret !== RMI_SUCCESS) {
      kvm.warn("realm_unmap_private_range", `RTT_DATA_UNMAP 0x${addr.toString(16)}..0x${end.toString(16)} returned ${r.ret}; continuing from 0x${r.top.toString(16)}`);
      addr = r.top;
      continue;
    }
    if (undelegate_range_desc(kvm, r.range) !== 0) {
      kvm.warn("realm_unmap_private_range", `undelegate_range_desc(0x${r.range.toString(16)}) failed: stop unmapping at 0x${r.top.toString(16)}`);
      break;
    }
    addr = r.top;
    kvm.condResched(kvm.profile.mayBlockPropagated && mayBlock);
  }
  realm_fold_rtt_level(kvm, get_start_level(kvm) + 1, start, end);
}

/**
 * v14 23/44 realm_unmap_shared_range: RTT_UNPROT_UNMAP(addr, end, NONE) from next_addr; ERROR_RTT
 * with err_level >= find_map_level(addr, end): nothing present, next_addr = addr +
 * mapsize(err_level); below it: realm_create_rtt_levels(addr, err_level, level) (WARN_ON -> return,
 * no fold) and retry at addr; another error: WARN_ON, return. cond_resched (may_block) after every
 * pass that goes on, the ERROR_RTT ones included. Folds afterwards.
 */
function realm_unmap_shared_range_v2(kvm: Kvm, start: number, end: number, mayBlock: boolean): void {
  const rmi = kvm.env.rmi;
  const bit = sharedBit(kvm);
  start = setBit(start, bit);
  end = setBit(end, bit);
  const flags = encodeRttFlags({ oaddrType: RmiAddrType.NONE });
  const guard = new SpinGuard("realm_unmap_shared_range");
  let next: number;
  for (let addr = start; addr < end; addr = next) {
    guard.at(addr);
    const r = rmi.rtt_unprot_unmap(kvm.realm.rd, addr, end, flags, 0n);
    next = r.top;
    switch (RMI_RETURN_STATUS(r.ret)) {
      case RMI_SUCCESS:
        break;
      case RMI_ERROR_RTT: {
        const errLevel = RMI_RETURN_INDEX(r.ret);
        const level = find_map_level(kvm, addr, end);
        if (errLevel >= level) {
          next = addr + rmi_rtt_level_mapsize(errLevel); // nothing present, so skip
          break;
        }
        const c = runSync(realm_create_rtt_levels(kvm, addr, errLevel, level, null));
        if (c) {
          kvm.warn("realm_unmap_shared_range", `realm_create_rtt_levels 0x${addr.toString(16)} ${errLevel} -> ${level} returned ${c}`);
          return;
        }
        next = addr; // retry with the RTT levels in place
        break;
      }
      default:
        kvm.warn("realm_unmap_shared_range", `RTT_UNPROT_UNMAP 0x${addr.toString(16)}..0x${end.toString(16)} returned ${r.ret}`);
        return;
    }
    kvm.condResched(kvm.profile.mayBlockPropagated && mayBlock);
  }
  realm_fold_rtt_level(kvm, get_start_level(kvm) + 1, start, end);
}

/**
 * realm_unmap_private_range(start, end, may_block) (v9 15/43, v12 rmi.c): realm_unmap_private_page
 * from next_addr, break on an error, cond_resched when may_block (v8: no may_block, v9 15/43
 * changelog); then fold what became homogeneous.
 */
export function realm_unmap_private_range(kvm: Kvm, start: number, end: number, mayBlock: boolean): void {
  if (kvm.profile.privateUnmap === "rtt_data_unmap") return realm_unmap_private_range_v2(kvm, start, end, mayBlock);
  const guard = new SpinGuard("realm_unmap_private_range");
  let next: number;
  for (let addr = start; addr < end; addr = next) {
    guard.at(addr);
    const r = realm_unmap_private_page(kvm, addr);
    next = r.next;
    if (r.ret) break;
    kvm.condResched(kvm.profile.mayBlockPropagated && mayBlock);
  }
  realm_fold_rtt_level(kvm, get_start_level(kvm) + 1, start, end);
}

/**
 * realm_unmap_shared_range(level, start, end, may_block) (v9 15/43, v12 17/46, v13 21/48): blocks of
 * `level` with RTT_UNMAP_UNPROTECTED, recursing deeper for unaligned parts and for a table found
 * where a block was asked for (ERROR_RTT with next_addr == addr); any other error: WARN_ON, return.
 * cond_resched_rwlock_write after every pass: when may_block (v9 15/43 on); v8 15/43, which has no
 * may_block, unconditionally (mayBlockPropagated false; Gavin Shan's v8 review, docs/provenance.md).
 * rmi_rtt_level_mapsize(level) is computed before the WARN_ON(level > RMM_RTT_MAX_LEVEL), so a
 * level 4 WARNs twice. v9+ fold afterwards (sharedUnmapFolds).
 */
export function realm_unmap_shared_range(kvm: Kvm, level: number, start: number, end: number, mayBlock: boolean): void {
  if (kvm.profile.sharedUnmap === "rtt_unprot_unmap") return realm_unmap_shared_range_v2(kvm, start, end, mayBlock);
  if (level > RMM_RTT_MAX_LEVEL) {
    kvm.warn("rmi_rtt_level_mapsize", `level ${level} > ${RMM_RTT_MAX_LEVEL}`);
    kvm.warn("realm_unmap_shared_range", `level ${level} > ${RMM_RTT_MAX_LEVEL}`);
    return;
  }
  const rmi = kvm.env.rmi;
  const size = rmi_rtt_level_mapsize(level);
  const bit = sharedBit(kvm);
  start = setBit(start, bit);
  end = setBit(end, bit);
  const guard = new SpinGuard("realm_unmap_shared_range");
  let next: number;
  for (let addr = start; addr < end; addr = next) {
    guard.at(addr);
    const align = alignUp(addr, size);
    next = alignUp(addr + 1, size);
    if (align !== addr || next > end) {
      // Need to recurse deeper.
      if (addr < align) next = align;
      realm_unmap_shared_range(kvm, level + 1, addr, Math.min(next, end), mayBlock);
      continue;
    }
    const u = rmi.rtt_unmap_unprotected(kvm.realm.rd, addr, level);
    next = u.top;
    switch (RMI_RETURN_STATUS(u.ret)) {
      case RMI_SUCCESS:
        break;
      case RMI_ERROR_RTT:
        if (u.top === addr) {
          // A mapping here, but not a block at this level: clear it one level deeper.
          next = alignUp(addr + 1, size);
          realm_unmap_shared_range(kvm, level + 1, addr, next, mayBlock);
        }
        break;
      default:
        kvm.warn("realm_unmap_shared_range", `RTT_UNMAP_UNPROTECTED 0x${addr.toString(16)} level ${level} returned ${u.ret}`);
        return;
    }
    kvm.condResched(kvm.profile.mayBlockPropagated ? mayBlock : true, mayBlock);
  }
  if (kvm.profile.sharedUnmapFolds) realm_fold_rtt_level(kvm, get_start_level(kvm) + 1, start, end);
}

/**
 * kvm_realm_unmap_range(kvm, start, size, unmap_private, may_block): end = min(BIT(ia_bits - 1),
 * start + size) - before the created check in v8..v12 (unmapClampBeforeCreatedCheck, S31), after
 * it in v13/v14; the shared alias is always unmapped (v14 without a level), the private range only
 * when asked.
 */
export function kvm_realm_unmap_range(kvm: Kvm, start: number, size: number, unmapPrivate: boolean, mayBlock: boolean): void {
  const end = Math.min(sharedBit(kvm), start + size);
  if (kvm.profile.unmapClampBeforeCreatedCheck && kvm.realm.iaBits === 0) {
    kvm.flags.push("S31: kvm_realm_unmap_range computes BIT(ia_bits - 1) with ia_bits == 0 (undefined shift)");
    kvm.event("kvm_realm_unmap_range: BIT(ia_bits - 1) with ia_bits == 0 (UB shift) before the created check");
  }
  if (!kvm.realmCreated) return;
  realm_unmap_shared_range(kvm, find_map_level(kvm, start, end), start, end, mayBlock);
  if (unmapPrivate) realm_unmap_private_range(kvm, start, end, mayBlock);
}

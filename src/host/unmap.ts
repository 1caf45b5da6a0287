/**
 * Unmapping realm memory: realm_destroy_private_granule, realm_unmap_private_page/range,
 * realm_unmap_shared_range and kvm_realm_unmap_range (the realm branch of
 * __unmap_stage2_range). Source: linux-cca-series.md §5.10; v12 rmi.c.
 */
import { GRANULE_SIZE, alignUp } from "../arch/geometry.js";
import { runSync } from "./coop.js";
import { ENOMEM, ENXIO } from "./errno.js";
import { Kvm, PAGE_SIZE, PHYS_ADDR_MAX, RMM_RTT_MAX_LEVEL } from "./kvm.js";
import { RMI_ERROR_RTT, RMI_RETURN_INDEX, RMI_RETURN_STATUS, RMI_SUCCESS } from "./rmi.js";
import { alloc_rtt, find_map_level, free_rtt, get_start_level, realm_create_rtt_levels, realm_fold_rtt_level, realm_rtt_create, rmi_rtt_level_mapsize } from "./rtt.js";
import { undelegate_range_desc } from "./range.js";
import { RmiAddrType, encodeRttFlags } from "../rmm/abi/range-desc.js";

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

/**
 * realm_destroy_private_granule(ipa, &next): DATA_DESTROY; an L2 block is split by creating an L3
 * RTT first (unfold); then UNDELEGATE the data granule. v8/v10 drop the guest_memfd page reference
 * kept since the fault, and pin the page if the undelegate fails; v12 does neither.
 */
export function realm_destroy_private_granule(kvm: Kvm, ipa: number): { ret: number; next: number } {
  const rmi = kvm.host.rmi;
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
    const pages = kvm.host.pages;
    if (rmi.granule_undelegate(d.data) !== RMI_SUCCESS) {
      kvm.warn("realm_destroy_private_granule", `undelegate of 0x${d.data.toString(16)} failed`);
      if (kvm.profile.privateUnmapDropsRef) {
        if (pages.page(d.data) !== undefined) {
          pages.get(d.data); // pin: the page can never go back to the NS world
          pages.leak(d.data, "undelegate failed (private unmap)");
        }
      } else if (pages.page(d.data) !== undefined) {
        pages.leak(d.data, "undelegate failed (private unmap, not pinned)");
      }
      return { ret: -ENXIO, next: d.top };
    }
    if (kvm.profile.privateUnmapDropsRef && pages.page(d.data) !== undefined) pages.put(d.data);
    return { ret: 0, next: d.top };
  }
}

/** realm_unmap_private_page(ipa, &next): every RMM granule of one host page. */
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
 * realm_unmap_private_range on RMM v2.0 (v13/v14): RTT_DATA_UNMAP(addr, end, SINGLE) from out_top;
 * ERROR_RTT with out_top > addr: nothing mapped there, continue; with out_top == addr: a block to
 * split, create the RTT one level deeper and retry (a failed alloc_rtt or RTT_CREATE is
 * WARN_ON + return, without the fold); other errors WARN and continue from out_top. The returned
 * range is undelegated (undelegate_range_desc).
 * The guest_memfd references are not touched (S24).
 */
function realm_unmap_private_range_v2(kvm: Kvm, start: number, end: number, mayBlock: boolean): void {
  const rmi = kvm.host.rmi;
  const flags = encodeRttFlags({ oaddrType: RmiAddrType.SINGLE });
  let addr = start;
  let stuck = 0;
  while (addr < end) {
    const r = rmi.rtt_data_unmap(kvm.realm.rd, addr, end, flags, 0n);
    const st = RMI_RETURN_STATUS(r.ret);
    if (st === RMI_ERROR_RTT) {
      if (r.top > addr) {
        addr = r.top;
        continue;
      }
      // simulator guard, not in the posted code: the retry after creating the RTT should progress
      if (++stuck > 4) {
        kvm.warn("realm_unmap_private_range", `RTT_DATA_UNMAP 0x${addr.toString(16)} keeps failing: ${r.ret}`);
        return;
      }
      const level = RMI_RETURN_INDEX(r.ret) + 1;
      const rtt = runSync(alloc_rtt(kvm, null));
      if (rtt === PHYS_ADDR_MAX) {
        kvm.warn("realm_unmap_private_range", "alloc_rtt failed");
        return;
      }
      const c = realm_rtt_create(kvm, addr, level, rtt);
      if (c !== RMI_SUCCESS) {
        kvm.warn("realm_unmap_private_range", `RTT_CREATE (unfold) 0x${addr.toString(16)} level ${level} returned ${c}`);
        free_rtt(kvm, rtt);
        return;
      }
      continue;
    }
    if (r.ret !== RMI_SUCCESS) {
      kvm.warn("realm_unmap_private_range", `RTT_DATA_UNMAP 0x${addr.toString(16)}..0x${end.toString(16)} returned ${r.ret}`);
      if (r.top <= addr) break; // simulator guard: the posted loop would not move on
      addr = r.top;
      continue;
    }
    stuck = 0;
    // post-v14 stops the loop when this fails (WARN_ON + break); the model keeps going, as the v13
    // runs of S07/S15 (a misread descriptor fails every undelegate) were written against
    if (r.range !== 0n) undelegate_range_desc(kvm, r.range);
    addr = Math.max(r.top, addr + GRANULE_SIZE);
    kvm.condResched(kvm.profile.mayBlockPropagated && mayBlock);
  }
  realm_fold_rtt_level(kvm, get_start_level(kvm) + 1, start, end);
}

/**
 * v14 realm_unmap_shared_range: RTT_UNPROT_UNMAP(addr, end, NONE) from out_top; ERROR_RTT at or
 * below find_map_level: nothing mapped, skip one block of that level; above: create the RTTs and
 * retry. Folds afterwards.
 */
function realm_unmap_shared_range_v2(kvm: Kvm, start: number, end: number, mayBlock: boolean): void {
  const rmi = kvm.host.rmi;
  const bit = sharedBit(kvm);
  start = setBit(start, bit);
  end = setBit(end, bit);
  const flags = encodeRttFlags({ oaddrType: RmiAddrType.NONE });
  let addr = start;
  let stuck = 0;
  while (addr < end) {
    const r = rmi.rtt_unprot_unmap(kvm.realm.rd, addr, end, flags, 0n);
    const st = RMI_RETURN_STATUS(r.ret);
    if (st === RMI_ERROR_RTT) {
      const errLevel = RMI_RETURN_INDEX(r.ret);
      const level = find_map_level(kvm, addr, end);
      if (errLevel >= level) {
        addr = alignUp(addr + 1, rmi_rtt_level_mapsize(errLevel));
        continue;
      }
      // simulator guard, not in the posted code: the retry after creating the RTTs should progress
      if (++stuck > 4) {
        kvm.warn("realm_unmap_shared_range", `RTT_UNPROT_UNMAP 0x${addr.toString(16)} keeps failing: ${r.ret}`);
        return;
      }
      const c = runSync(realm_create_rtt_levels(kvm, addr, errLevel, level, null));
      if (c) {
        // WARN_ON(ret) and return: no fold
        kvm.warn("realm_unmap_shared_range", `realm_create_rtt_levels 0x${addr.toString(16)} ${errLevel} -> ${level} returned ${c}`);
        return;
      }
      continue;
    }
    if (r.ret !== RMI_SUCCESS) {
      kvm.warn("realm_unmap_shared_range", `RTT_UNPROT_UNMAP 0x${addr.toString(16)}..0x${end.toString(16)} returned ${r.ret}`);
      return;
    }
    stuck = 0;
    addr = Math.max(r.top, addr + GRANULE_SIZE);
    kvm.condResched(kvm.profile.mayBlockPropagated && mayBlock);
  }
  realm_fold_rtt_level(kvm, get_start_level(kvm) + 1, start, end);
}

/** realm_unmap_private_range(start, end, may_block), then fold what became homogeneous. */
export function realm_unmap_private_range(kvm: Kvm, start: number, end: number, mayBlock: boolean): void {
  if (kvm.profile.privateUnmap === "rtt_data_unmap") return realm_unmap_private_range_v2(kvm, start, end, mayBlock);
  let next: number;
  for (let addr = start; addr < end; addr = next) {
    const r = realm_unmap_private_page(kvm, addr);
    next = Math.max(r.next, addr + GRANULE_SIZE);
    if (r.ret) break;
    kvm.condResched(kvm.profile.mayBlockPropagated && mayBlock);
  }
  realm_fold_rtt_level(kvm, get_start_level(kvm) + 1, start, end);
}

/** realm_unmap_shared_range(level, start, end, may_block): RTT_UNMAP_UNPROTECTED, recursing deeper. */
export function realm_unmap_shared_range(kvm: Kvm, level: number, start: number, end: number, mayBlock: boolean): void {
  if (kvm.profile.sharedUnmap === "rtt_unprot_unmap") return realm_unmap_shared_range_v2(kvm, start, end, mayBlock);
  if (level > RMM_RTT_MAX_LEVEL) {
    kvm.warn("realm_unmap_shared_range", `level ${level} > ${RMM_RTT_MAX_LEVEL}`);
    return;
  }
  const rmi = kvm.host.rmi;
  const size = rmi_rtt_level_mapsize(level);
  const bit = sharedBit(kvm);
  start = setBit(start, bit);
  end = setBit(end, bit);
  let next: number;
  for (let addr = start; addr < end; addr = next) {
    const align = alignUp(addr, size);
    next = alignUp(addr + 1, size);
    if (align !== addr || next > end) {
      // Need to recurse deeper.
      if (addr < align) next = align;
      realm_unmap_shared_range(kvm, level + 1, addr, Math.min(next, end), mayBlock);
      continue;
    }
    const u = rmi.rtt_unmap_unprotected(kvm.realm.rd, addr, level);
    switch (RMI_RETURN_STATUS(u.ret)) {
      case RMI_SUCCESS:
        next = u.top;
        break;
      case RMI_ERROR_RTT:
        next = u.top;
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
    if (next <= addr) next = alignUp(addr + 1, size);
    kvm.condResched(kvm.profile.mayBlockPropagated && mayBlock);
  }
  if (kvm.profile.sharedUnmapFolds) realm_fold_rtt_level(kvm, get_start_level(kvm) + 1, start, end);
}

/**
 * kvm_realm_unmap_range(kvm, start, size, unmap_private, may_block): the shared alias is always
 * unmapped (there is no private-only mode); the private range only when asked.
 */
export function kvm_realm_unmap_range(kvm: Kvm, start: number, size: number, unmapPrivate: boolean, mayBlock: boolean): void {
  let end = start + size;
  if (kvm.profile.unmapClampBeforeCreatedCheck && kvm.realm.iaBits === 0) {
    kvm.flags.push("S31: kvm_realm_unmap_range computes BIT(ia_bits - 1) with ia_bits == 0 (undefined shift)");
    kvm.event("kvm_realm_unmap_range: BIT(ia_bits - 1) with ia_bits == 0 (UB shift) before the created check");
  }
  if (!kvm.realmCreated) return;
  end = Math.min(sharedBit(kvm), end);
  if (start >= end) return;
  realm_unmap_shared_range(kvm, find_map_level(kvm, start, end), start, end, mayBlock);
  if (unmapPrivate) realm_unmap_private_range(kvm, start, end, mayBlock);
}

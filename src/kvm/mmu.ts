/**
 * arch/arm64/kvm/mmu.c as the series changes it:
 *   - the stage-2 fault path for realms: kvm_handle_guest_abort, kvm_gpa_from_fault,
 *     shared_ipa_fault, private_memslot_fault (v8/v10), gmem_abort (v12+), user_mem_abort,
 *     realm_map_ipa, io_mem_abort, the userspace backing, and the attribute-mismatch
 *     KVM_EXIT_MEMORY_FAULT;
 *   - stage-2 teardown: kvm_free_stage2_pgd (the realm unmap), kvm_realm_uninit_stage2 (v14 17/44);
 *   - KVM_SET_USER_MEMORY_REGION2 deleting or moving a memslot (kvm_arch_flush_shadow_memslot ->
 *     kvm_stage2_unmap_range -> kvm_realm_unmap_range): S31 A, which can happen before the RD
 *     exists (ia_bits still 0).
 * Sources: v8 20/43 (seed 001), v10 20/43, v12 07/46, 10/46, 24/46, v13 27/48 (seed 000),
 * v14 14/44, 17/44, 29/44 (the mmu.c hunks); the unchanged parts follow upstream
 * arch/arm64/kvm/mmu.c of the posting's base. Per function: docs/provenance.md.
 */
import { GRANULE_SIZE, SZ_2M } from "../arch/geometry.js";
import { pt, returns, type Gen, IOCTL_TID, runSync } from "../sched/coop.js";
import { EAGAIN, EFAULT, EINVAL, ENOMEM, ENOSYS } from "./errno.js";
import { Kvm, PAGE_SIZE, type Memslot, type UserMemory, type Vcpu, RealmStateK } from "./kvm.js";
import { KVM_PGTABLE_PROT_R, KVM_PGTABLE_PROT_W, realm_map_non_secure, realm_map_non_secure_range, realm_map_protected } from "./rmi/map.js";
import { cache_min_pages, topup_memcache } from "./rmi/ripas.js";
import { sharedBit, kvm_realm_unmap_range } from "./rmi/unmap.js";
import { kvm_gmem_get_pfn } from "./guest_memfd.js";
import { kvm_realm_destroy_rtts } from "./rmi/rtt.js";

/** What the REC exit told the host about the abort. */
export interface AbortInfo {
  /** Fault IPA, page aligned (from HPFAR). */
  ipa: number;
  write: boolean;
  exec: boolean;
  /** ESR.ISV: the access can be emulated (unprotected IPA data abort). */
  isv: boolean;
  /** Access size in bytes (ESR.SAS) when isv. */
  len: number;
}

/** kvm_gpa_from_fault: clear the top IPA bit, so both aliases give the same gfn. */
export function kvm_gpa_from_fault(kvm: Kvm, ipa: number): number {
  const bit = sharedBit(kvm);
  return Math.floor(ipa / bit) % 2 === 1 ? ipa - bit : ipa;
}

/** shared_ipa_fault (v12+). */
export function shared_ipa_fault(kvm: Kvm, ipa: number): boolean {
  return kvm_gpa_from_fault(kvm, ipa) !== ipa;
}

/**
 * The userspace page behind gfn (faulting it in): a 2 MiB THP when the VMA allows and the 2 MiB
 * region is still empty, else a 4 KiB page. Returns the PA and the page size mapping it.
 */
export function user_page(kvm: Kvm, user: UserMemory, gfn: number): { pa: number; size: number } {
  const region = Math.floor((gfn * GRANULE_SIZE) / SZ_2M);
  const huge = user.huge.get(region);
  if (huge !== undefined) return { pa: huge + ((gfn * GRANULE_SIZE) % SZ_2M), size: SZ_2M };
  const small = user.small.get(gfn);
  if (small !== undefined) return { pa: small, size: PAGE_SIZE };
  if (user.thp && !regionHasSmallPages(user, region)) {
    const base = kvm.env.pages.allocHuge("user", kvm.id);
    if (base >= 0) {
      user.huge.set(region, base);
      return { pa: base + ((gfn * GRANULE_SIZE) % SZ_2M), size: SZ_2M };
    }
  }
  const pa = kvm.allocPage("user");
  if (pa < 0) return { pa: -1, size: 0 };
  user.small.set(gfn, pa);
  return { pa, size: PAGE_SIZE };
}

function regionHasSmallPages(user: UserMemory, region: number): boolean {
  const first = (region * SZ_2M) / GRANULE_SIZE;
  for (let g = first; g < first + 512; g++) if (user.small.has(g)) return true;
  return false;
}

/** kvm_prepare_memory_fault_exit + -EFAULT (required by the API documentation). */
function memory_fault_exit(vcpu: Vcpu, gpa: number, size: number, write: boolean, isPrivate: boolean): number {
  vcpu.lastExit = { kind: "memory-fault", fault: { gpa, size, private: isPrivate, write } };
  vcpu.kvm.event(`KVM_EXIT_MEMORY_FAULT gpa 0x${gpa.toString(16)} size 0x${size.toString(16)} ${isPrivate ? "private" : "shared"}`);
  return -EFAULT;
}

/** v8/v10 private_memslot_fault: >0 handled, -EINVAL "not a private fault", other errors returned. */
function* private_memslot_fault(vcpu: Vcpu, faultIpa: number, slot: Memslot, a: AbortInfo): Gen<number> {
  const kvm = vcpu.kvm;
  const gpa = kvm_gpa_from_fault(kvm, faultIpa);
  const gfn = gpa / PAGE_SIZE;
  const isPrivGfn = kvm.memIsPrivate(gfn);
  // The shared address is an alias of the private GPA with the top bit set: if the fault
  // address matches the GPA it is the private alias.
  const isPrivFault = gpa === faultIpa;
  if (isPrivGfn !== isPrivFault) return memory_fault_exit(vcpu, gpa, PAGE_SIZE, a.write, isPrivFault);
  if (!isPrivFault) return -EINVAL; // not a private mapping: handle normally
  const t = topup_memcache(vcpu, cache_min_pages(kvm));
  if (t) return t;
  const pfn = kvm_gmem_get_pfn(kvm, slot.gmem!, gfn);
  if (pfn < 0) return pfn;
  // FIXME (as posted): should be able to use bigger than PAGE_SIZE mappings. No mmu_lock here.
  const ret = yield* realm_map_ipa(kvm, faultIpa, pfn, PAGE_SIZE, KVM_PGTABLE_PROT_W, vcpu.memcache);
  if (ret === 0) return 1; // handled; the page reference is kept until the private unmap
  kvm.env.pages.put(pfn);
  return ret;
}

/**
 * v12+ gmem_abort (realm branch): attribute check, memcache, kvm_gmem_get_pfn, kvm_fault_lock,
 * mmu_invalidate_retry (-EAGAIN), realm_map_ipa. The page reference (profile.gmemRefAfterMap):
 * v12 24/46 and v13 27/48 "if successful don't release the page" (`goto out_unlock` past
 * kvm_release_faultin_page), v14 29/44 `goto out_release_page` after every map.
 */
function* gmem_abort(vcpu: Vcpu, faultIpa: number, slot: Memslot, a: AbortInfo): Gen<number> {
  const kvm = vcpu.kvm;
  const gpa = kvm_gpa_from_fault(kvm, faultIpa);
  const isPrivGfn = kvm.memIsPrivate(gpa / PAGE_SIZE);
  const isPrivFault = gpa === faultIpa;
  if (isPrivGfn !== isPrivFault) return memory_fault_exit(vcpu, gpa, PAGE_SIZE, a.write, isPrivFault);
  const t = topup_memcache(vcpu, cache_min_pages(kvm));
  if (t) return t;
  const gfn = gpa / PAGE_SIZE;
  const mmuSeq = kvm.mmuInvalidateSeq;
  const pfn = kvm_gmem_get_pfn(kvm, slot.gmem!, gfn);
  if (pfn < 0) {
    // kvm_prepare_memory_fault_exit(vcpu, gpa, ...), then `return ret`: the error of
    // kvm_gmem_get_pfn, not -EFAULT (v12 24/46, v13 27/48, v14 29/44).
    memory_fault_exit(vcpu, gpa, PAGE_SIZE, a.write, false);
    return pfn;
  }
  yield* kvm.mmuLock.read();
  let ret: number;
  try {
    if (kvm.mmuInvalidateSeq !== mmuSeq) {
      ret = -EAGAIN;
    } else {
      ret = yield* realm_map_ipa(kvm, faultIpa, pfn, PAGE_SIZE, KVM_PGTABLE_PROT_W, vcpu.memcache);
    }
    if (kvm.profile.gmemRefAfterMap === "release-always" || ret !== 0) kvm.env.pages.put(pfn);
  } finally {
    kvm.mmuLock.readUnlock();
  }
  return ret;
}

/**
 * user_mem_abort for a REC: v8..v13 force a write fault (PTE-sized unless forcePte is off); v14's
 * refactored fault path does not (S05: a read fault reaches realm_map_ipa without W) and, with THP,
 * enlarges the mapping while passing the unaligned fault_ipa (S06).
 */
function* user_mem_abort(vcpu: Vcpu, faultIpa: number, slot: Memslot, a: AbortInfo): Gen<number> {
  const kvm = vcpu.kvm;
  // v8..v13: Realms cannot map protected pages read-only (FIXME as posted: unprotected could be).
  const write = kvm.profile.sharedFaultForcesWrite || a.write;
  const prot = KVM_PGTABLE_PROT_R + (write ? KVM_PGTABLE_PROT_W : 0);
  const gfn = kvm_gpa_from_fault(kvm, faultIpa) / PAGE_SIZE;
  const t = topup_memcache(vcpu, cache_min_pages(kvm));
  if (t) return t;
  const page = user_page(kvm, slot.user, gfn);
  if (page.pa < 0) return -ENOMEM;
  let size = PAGE_SIZE;
  let pa = page.pa;
  let ipa = faultIpa;
  if (!kvm.forcePte && page.size === SZ_2M) {
    // transparent_hugepage_adjust: only if the whole block lies in the memslot.
    const gpaBlock = kvm_gpa_from_fault(kvm, faultIpa) - (kvm_gpa_from_fault(kvm, faultIpa) % SZ_2M);
    const slotStart = slot.baseGfn * PAGE_SIZE;
    const slotEnd = slotStart + slot.npages * PAGE_SIZE;
    if (gpaBlock >= slotStart && gpaBlock + SZ_2M <= slotEnd) {
      size = SZ_2M;
      // S06 (v14 29/44, Gavin): pfn/gfn are adjusted but the realm branch keeps fault_ipa.
      if (!kvm.profile.thpPassesUnalignedIpa) ipa = faultIpa - (faultIpa % SZ_2M);
      pa = page.pa - (page.pa % SZ_2M);
    }
  }
  if (kvm.profile.privateFault === "gmem_abort" && !shared_ipa_fault(kvm, faultIpa)) {
    // v12+: protected addresses are handled in gmem_abort.
    return -EINVAL;
  }
  yield* kvm.mmuLock.read();
  let ret: number;
  try {
    ret = yield* realm_map_ipa(kvm, ipa, pa, size, prot, vcpu.memcache);
  } finally {
    kvm.mmuLock.readUnlock();
  }
  return ret === -EAGAIN ? 0 : ret;
}

/** io_mem_abort: an emulatable access exits to the VMM (KVM_EXIT_MMIO); anything else fails. */
function io_mem_abort(vcpu: Vcpu, gpa: number, a: AbortInfo): number {
  if (!a.isv) {
    vcpu.kvm.event(`io_mem_abort: non-emulatable abort at 0x${gpa.toString(16)} (ENOSYS)`);
    return -ENOSYS;
  }
  vcpu.lastExit = { kind: "mmio", ipa: gpa, write: a.write, len: a.len };
  return 0;
}

/**
 * kvm_handle_guest_abort (realm part): 1 = resume the guest, 0 = exit to userspace
 * (vcpu.lastExit says why), < 0 = error to userspace.
 */
export function* kvm_handle_guest_abort(vcpu: Vcpu, a: AbortInfo): Gen<number> {
  const kvm = vcpu.kvm;
  const ipa = a.ipa;
  const gfn = kvm_gpa_from_fault(kvm, ipa) / PAGE_SIZE;
  const slot = kvm.memslotOf(gfn);
  yield pt("fault");
  let ret: number;
  if (slot === undefined) {
    ret = io_mem_abort(vcpu, kvm_gpa_from_fault(kvm, ipa), a);
    return ret === 0 ? 0 : ret;
  }
  if (kvm.profile.privateFault === "private_memslot_fault") {
    if (slot.gmem !== undefined) {
      ret = yield* private_memslot_fault(vcpu, ipa, slot, a);
      if (ret !== -EINVAL) return ret > 0 ? 1 : ret;
    }
    ret = yield* user_mem_abort(vcpu, ipa, slot, a);
  } else if (slot.gmem !== undefined && !shared_ipa_fault(kvm, ipa)) {
    ret = yield* gmem_abort(vcpu, ipa, slot, a);
    if (ret === -EAGAIN) ret = 0;
  } else {
    ret = yield* user_mem_abort(vcpu, ipa, slot, a);
  }
  if (ret === 0) return 1;
  return ret;
}

/**
 * kvm_arch_flush_shadow_memslot for memslot `id` (the VMM deletes or moves it, or munmaps its VMA):
 * kvm_stage2_unmap_range(mmu, gpa, size, true). The slot's backing is the VMM's and stays.
 */
export function kvm_arch_flush_shadow_memslot(kvm: Kvm, id: number): void {
  const s = kvm.memslots.find((m) => m.id === id);
  if (s === undefined) throw new RangeError(`kvm_arch_flush_shadow_memslot: VM ${kvm.id} has no memslot ${id}`);
  runSync((function* () {
    yield* kvm.mmuLock.write(IOCTL_TID);
    try {
      kvm_realm_unmap_range(kvm, s.baseGfn * GRANULE_SIZE, s.npages * GRANULE_SIZE, true, true);
    } finally {
      kvm.mmuLock.writeUnlock();
    }
  })());
  kvm.event(`memslot ${id} flushed (0x${(s.baseGfn * GRANULE_SIZE).toString(16)} +0x${(s.npages * GRANULE_SIZE).toString(16)})`);
}

/** The PGD pages as stage-2 tables: the generic walker follows valid table descriptors (S13). */
function junk_walk(kvm: Kvm): number {
  const ns = kvm.env.ns;
  let visited = 0;
  for (let off = 0; off < kvm.mmu.pgdSize; off += 8) {
    const d = ns.readU64(BigInt(kvm.mmu.pgdPhys + off));
    if ((d & 3n) === 3n) visited++;
  }
  return visited;
}

/**
 * kvm_arch_post_set_memory_attributes (mmu.c, v14 25/44; the model uses it for every posting):
 * to private, unmap the shared alias (KVM_FILTER_SHARED); to shared, the private pages
 * (KVM_FILTER_PRIVATE). The realm unmap (kvm_realm_unmap_range) has no private-only mode: making
 * memory shared unmaps the shared alias too. Called with mmu_lock held.
 */
export function kvm_arch_post_set_memory_attributes(kvm: Kvm, gpa: number, size: number, priv: boolean): void {
  kvm_realm_unmap_range(kvm, gpa, size, !priv, true);
}

/**
 * kvm_free_stage2_pgd for a realm (mmu.c). v8..v13, neither DEAD nor NONE (from
 * mmu_notifier_release): under the mmu_lock unmap everything (v8 20/43: [0, ~0ULL & PAGE_MASK)
 * with may_block false; v10 20/43 on: [0, BIT(ia_bits - 1)) with true: freePgdUnmapMayBlock),
 * unlock, kvm_realm_destroy_rtts (v10 10/43 on), keep the PGD (the realm's root RTTs). Otherwise the
 * pgt is taken: v8 walks the PGD pages as ordinary stage-2 tables and frees them (v9 07/43
 * stand-in, S13); v10..v13 skip the walk and never free the PGD pages (v12 07/46 "Avoid walking
 * the stage 2 page tables", S14); v14 14/44 frees them (kvm_pgtable_stage2_destroy_pgd) and has no
 * realm branch (v14 17/44 moves it to kvm_realm_uninit_stage2): freePgdWhenDead.
 */
export function kvm_free_stage2_pgd(kvm: Kvm): void {
  if (!kvm.mmu.pgt && kvm.mmu.pgdPhys < 0) return;
  const st = kvm.realm.state;
  if (kvm.profile.stage2Uninit === "kvm_free_stage2_pgd" && st !== RealmStateK.DEAD && st !== RealmStateK.NONE) {
    kvm.mmuLock.lockSync(IOCTL_TID);
    try {
      if (kvm.profile.freePgdUnmapMayBlock) kvm_realm_unmap_range(kvm, 0, sharedBit(kvm), true, true);
      else kvm_realm_unmap_range(kvm, 0, 2 ** 64 - GRANULE_SIZE, true, false);
    } finally {
      kvm.mmuLock.writeUnlock();
    }
    kvm_realm_destroy_rtts(kvm);
    return;
  }
  if (!kvm.mmu.pgt) return; // the PGD was leaked on purpose (realm_create_rd error path)
  switch (kvm.profile.freePgdWhenDead) {
    case "walk-junk": {
      const n = junk_walk(kvm);
      kvm.flags.push(`S13: kvm_free_stage2_pgd walked ${kvm.mmu.pgdSize / GRANULE_SIZE} former root RTT page(s) as stage-2 tables (${n} descriptor(s) followed)`);
      kvm.event(`kvm_free_stage2_pgd: generic walk of the undelegated PGD (former root RTTs), ${n} table descriptor(s) followed`);
      freePgd(kvm);
      break;
    }
    case "skip-leak-pgd":
      kvm.event("kvm_free_stage2_pgd: realm, skipping the stage-2 walk (the PGD pages are not freed)");
      kvm.mmu.pgt = false;
      break;
    case "destroy-pgd":
      freePgd(kvm);
      break;
  }
}

function freePgd(kvm: Kvm): void {
  for (let off = 0; off < kvm.mmu.pgdSize; off += GRANULE_SIZE) kvm.env.pages.put(kvm.mmu.pgdPhys + off);
  kvm.mmu.pgt = false;
  kvm.mmu.pgdPhys = -1;
}

/**
 * v14 kvm_realm_uninit_stage2 (from kvm_uninit_stage2_mmu at mmu_notifier_release): only for an
 * ACTIVE realm (early return otherwise), unmap the protected IPA space and tear down the RTTs; the
 * PGD stays (the root RTTs belong to the RD until REALM_DESTROY). Seed 004 (v14 17/44).
 */
export function kvm_realm_uninit_stage2(kvm: Kvm): void {
  if (kvm.realm.state !== RealmStateK.ACTIVE) return;
  kvm.mmuLock.lockSync(IOCTL_TID);
  try {
    kvm_realm_unmap_range(kvm, 0, sharedBit(kvm), true, true);
  } finally {
    kvm.mmuLock.writeUnlock();
  }
  kvm_realm_destroy_rtts(kvm);
}

/**
 * realm_map_ipa(ipa, pfn, map_size, prot, memcache): W is required; shared half -> non-secure.
 * A plain function handing over the generator that maps (its callers iterate it at once, `yield*`:
 * the check and the WARN happen at the same point as in a generator).
 */
export function realm_map_ipa(kvm: Kvm, ipa: number, phys: number, size: number, prot: number, mc: number[]): Gen<number> {
  if (Math.floor(prot / KVM_PGTABLE_PROT_W) % 2 === 0) {
    kvm.warn("realm_map_ipa", "mapping without write permission");
    return returns(-EFAULT);
  }
  ipa -= ipa % PAGE_SIZE;
  if (ipa >= sharedBit(kvm)) {
    if (kvm.profile.sharedMap === "rtt_unprot_map") return realm_map_non_secure_range(kvm, ipa, phys, size, prot, mc);
    return realm_map_non_secure(kvm, ipa, phys, size, mc);
  }
  return realm_map_protected(kvm, ipa, phys, size, mc);
}

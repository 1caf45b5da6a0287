/**
 * VMM operations on guest memory that reach the realm code through MMU invalidations:
 *   - fallocate(PUNCH_HOLE) on the guest_memfd (kvm_gmem_punch_hole -> kvm_gmem_invalidate_begin:
 *     mmu_invalidate_seq bumped, the range unmapped under mmu_lock, then the pages dropped): S30;
 *   - KVM_SET_USER_MEMORY_REGION2 deleting or moving a memslot (kvm_arch_flush_shadow_memslot ->
 *     kvm_stage2_unmap_range -> kvm_realm_unmap_range): S31 A, which can happen before the RD
 *     exists (ia_bits still 0).
 * Generators where another thread can interleave (they take mmu_lock), like the fault path.
 */
import { GRANULE_SIZE } from "../arch/geometry.js";
import { IOCTL_TID, pt, runSync, type Gen } from "./coop.js";
import type { Kvm } from "./kvm.js";
import { kvm_realm_unmap_range } from "./unmap.js";

/** kvm_gmem_punch_hole for [gpa, gpa + size) of the memslot's guest_memfd. */
export function* kvm_gmem_punch_hole(kvm: Kvm, gpa: number, size: number, tid = IOCTL_TID + 1): Gen<void> {
  const gfn0 = gpa / GRANULE_SIZE;
  const slot = kvm.memslotOf(gfn0);
  if (slot?.gmem === undefined) throw new RangeError(`kvm_gmem_punch_hole: 0x${gpa.toString(16)} is not guest_memfd-backed`);
  yield pt("gmem_invalidate_begin");
  kvm.mmuInvalidateSeq++; // kvm_mmu_invalidate_begin
  yield* kvm.mmuLock.write(tid);
  try {
    kvm_realm_unmap_range(kvm, gpa, size, true, true); // KVM_FILTER_PRIVATE: private (and shared alias)
  } finally {
    kvm.mmuLock.writeUnlock();
  }
  // truncate_inode_pages_range: the file drops its reference to each page.
  for (let g = gfn0; g < gfn0 + size / GRANULE_SIZE; g++) {
    const pa = slot.gmem.pages.get(g);
    if (pa === undefined) continue;
    slot.gmem.pages.delete(g);
    kvm.host.pages.put(pa);
  }
  kvm.event(`guest_memfd: hole punched at 0x${gpa.toString(16)} +0x${size.toString(16)}`);
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

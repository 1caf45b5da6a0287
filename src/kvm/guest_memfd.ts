/**
 * virt/kvm/guest_memfd.c as realms use it:
 *   - kvm_gmem_get_pfn: the private page behind a gfn, allocated on first use (v8 19/43, 20/43,
 *     v10 20/43 call it from the fault path and populate);
 *   - fallocate(PUNCH_HOLE) on the guest_memfd (kvm_gmem_punch_hole -> kvm_gmem_invalidate_begin:
 *     mmu_invalidate_seq bumped, the range unmapped under mmu_lock, then the pages dropped): S30.
 * Generators where another thread can interleave (they take mmu_lock), like the fault path.
 */
import { GRANULE_SIZE } from "../arch/geometry.js";
import { IOCTL_TID, pt, type Gen } from "../sched/coop.js";
import type { Kvm, GuestMemfd } from "./kvm.js";
import { kvm_realm_unmap_range } from "./rmi/unmap.js";
import { ENOMEM } from "./errno.js";

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
    kvm.env.pages.put(pa);
  }
  kvm.event(`guest_memfd: hole punched at 0x${gpa.toString(16)} +0x${size.toString(16)}`);
}

/** kvm_gmem_get_pfn: the guest_memfd page of gfn (allocated on first use) with one more reference. */
export function kvm_gmem_get_pfn(kvm: Kvm, gmem: GuestMemfd, gfn: number): number {
  let pa = gmem.pages.get(gfn);
  if (pa === undefined) {
    pa = kvm.allocPage("gmem");
    if (pa < 0) return -ENOMEM;
    gmem.pages.set(gfn, pa);
  }
  kvm.env.pages.get(pa);
  return pa;
}

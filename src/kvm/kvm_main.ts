/**
 * virt/kvm/kvm_main.c as the realm series reaches it: kvm_create_vm (KVM_CREATE_VM of a realm),
 * kvm_vm_set_mem_attributes (KVM_SET_MEMORY_ATTRIBUTES), the MMU notifier's range invalidation,
 * kvm_destroy_vm (the VMM's exit:
 * mmu_notifier_release, the guest_memfd release, kvm_arch_destroy_vm). Sources: v12 07/46, 10/46,
 * v13 12/48, 15/48, v14 14/44, 17/44; per function: docs/provenance.md.
 */
import { IOCTL_TID } from "../sched/coop.js";
import { GRANULE_SIZE } from "../arch/geometry.js";
import { Kvm, RealmStateK } from "./kvm.js";
import type { KvmEnv } from "./env.js";
import { kvm_arch_init_vm_realm } from "./arm.js";
import { kvm_destroy_rec } from "./rmi/rec.js";
import { kvm_realm_unmap_range } from "./rmi/unmap.js";
import { kvm_arch_post_set_memory_attributes, kvm_free_stage2_pgd, kvm_realm_uninit_stage2 } from "./mmu.js";
import { kvm_destroy_realm } from "./rmi/lifecycle.js";

/**
 * KVM_CREATE_VM(KVM_VM_TYPE_ARM_REALM): kvm_create_vm with the realm part of kvm_arch_init_vm
 * (kvm_arch_init_vm_realm, src/kvm/arm.ts). The new VM, or a negative errno (nothing left
 * allocated).
 */
export function kvm_create_vm(env: KvmEnv, id: number, ipaBits: number): Kvm | number {
  const kvm = new Kvm(env, id, env.profile, ipaBits);
  const r = kvm_arch_init_vm_realm(kvm);
  return r ? r : kvm;
}

/**
 * KVM_SET_MEMORY_ATTRIBUTES (kvm_vm_set_mem_attributes): the attribute bitmap over
 * [gpa, gpa + size), an MMU invalidation (mmu_invalidate_seq bumped), then under mmu_lock the
 * arch hook kvm_arch_post_set_memory_attributes (mmu.c, v14 25/44).
 */
export function kvm_vm_set_mem_attributes(kvm: Kvm, gpa: number, size: number, priv: boolean): void {
  kvm.privateGfns.setRange(gpa / GRANULE_SIZE, (gpa + size) / GRANULE_SIZE, priv);
  kvm_handle_gfn_range(kvm, () => kvm_arch_post_set_memory_attributes(kvm, gpa, size, priv));
}

/**
 * The MMU notifier on the VMM's mm (kvm_mmu_notifier_invalidate_range_start): the userspace
 * mapping of [start, start + size) changes (khugepaged collapsing it into a huge page), so KVM
 * bumps mmu_invalidate_seq and unmaps the range from stage 2 under mmu_lock (kvm_unmap_gfn_range
 * -> __unmap_stage2_range with KVM_FILTER_SHARED: the shared alias only).
 */
export function kvm_mmu_notifier_invalidate_range_start(kvm: Kvm, start: number, size: number): void {
  kvm_handle_gfn_range(kvm, () => kvm_realm_unmap_range(kvm, start, size, false, true));
}

/**
 * What kvm_handle_gfn_range and __kvm_handle_hva_range (kvm_main.c) share for these callers, on
 * the ioctl thread: the invalidation begins (kvm_mmu_invalidate_begin, modelled as the
 * mmu_invalidate_seq bump that user_mem_abort's retry check reads), then the handler runs under
 * mmu_lock held for write.
 */
function kvm_handle_gfn_range(kvm: Kvm, handler: () => void): void {
  kvm.mmuInvalidateSeq++;
  kvm.mmuLock.lockSync(IOCTL_TID);
  try {
    handler();
  } finally {
    kvm.mmuLock.writeUnlock();
  }
}

/**
 * kvm_destroy_vm as the VMM's exit drives it: mmu_notifier_release (kvm_free_stage2_pgd), the
 * guest_memfd release (private invalidation, pages dropped), kvm_arch_destroy_vm (vCPUs and
 * RECs, then kvm_destroy_realm), and the VMM's memory going away.
 */
export function kvm_destroy_vm(kvm: Kvm): void {
  const pages = kvm.env.pages;
  // 1. exit_mmap -> mmu_notifier_release -> kvm_arch_flush_shadow_all -> kvm_free_stage2_pgd
  kvm.env.log.push("event", `VM ${kvm.id}: mmu_notifier_release`);
  if (kvm.profile.stage2Uninit === "kvm_realm_uninit_stage2") kvm_realm_uninit_stage2(kvm);
  else kvm_free_stage2_pgd(kvm);
  // The VMM's anonymous memory goes with its mm.
  for (const s of kvm.memslots) {
    for (const [, pa] of s.user.small) pages.put(pa);
    for (const [, base] of s.user.huge) for (let a = base; a < base + 512 * GRANULE_SIZE; a += GRANULE_SIZE) pages.put(a);
    s.user.small.clear();
    s.user.huge.clear();
  }
  // 2. guest_memfd release: invalidate the private range (kvm_realm_unmap_range checks only
  // kvm_realm_is_created: a realm left DEAD by a failed activation still has its RD), then drop the
  // file's page references.
  for (const s of kvm.memslots) {
    if (s.gmem === undefined) continue;
    kvm.mmuLock.lockSync(IOCTL_TID);
    try {
      kvm_realm_unmap_range(kvm, s.baseGfn * GRANULE_SIZE, s.npages * GRANULE_SIZE, true, true);
    } finally {
      kvm.mmuLock.writeUnlock();
    }
    for (const [, pa] of s.gmem.pages) pages.put(pa);
    s.gmem.pages.clear();
  }
  // 3. kvm_arch_destroy_vm: vCPUs (RECs, memcaches), then the realm.
  kvm.env.log.push("event", `VM ${kvm.id}: kvm_arch_destroy_vm`);
  for (const v of kvm.vcpus) {
    kvm_destroy_rec(v);
    for (const p of v.memcache) pages.put(p);
    v.memcache.length = 0;
  }
  kvm_destroy_realm(kvm);
  // v14 (14/44, 17/44): kvm_uninit_stage2_mmu calls only kvm_realm_uninit_stage2 for a realm (an
  // early return unless ACTIVE) and kvm_destroy_realm returns before kvm_free_stage2_pgd when the
  // realm was never created: nothing frees the PGD of a realm VM that never got an RD.
  if (kvm.profile.stage2Uninit === "kvm_realm_uninit_stage2" && kvm.realm.state === RealmStateK.NONE && kvm.mmu.pgt) {
    kvm.event("kvm_destroy_vm: the realm was never created: no path calls kvm_free_stage2_pgd, the PGD pages are not freed (v14 14/44, 17/44)");
  }
  kvm.destroyed = true;
  // Whatever KVM still holds for this VM now can never come back.
  for (const p of pages.pagesOf(kvm.id)) {
    if (!p.leaked) pages.leak(p.pa, `still held after VM ${kvm.id} was destroyed (${p.owner})`);
  }
}

import { IOCTL_TID } from "./coop.js";
/**
 * Realm lifecycle on the KVM side: populate (v8/v10 CAP POPULATE_REALM, v12 KVM_ARM_RMI_POPULATE),
 * activation (v8/v10 CAP ACTIVATE_REALM, v12 kvm_activate_realm on first run), and teardown
 * (kvm_free_stage2_pgd, kvm_destroy_realm, kvm_destroy_vm in the order the kernel calls them).
 * Teardown sources: v9 07/43 (stand-in for v8/v10 07), v10 10/43, v12 07/46, 10/46, 23/46,
 * v13 12/48, 15/48, v14 14/44, 17/44, and the mmu.c hunks of v8 20/43 .. v14 29/44
 * (kvm_free_stage2_pgd's unmap); per function: docs/provenance.md.
 */
import { GRANULE_SIZE } from "../arch/geometry.js";
import { EINVAL, ENOENT, ENXIO, EOPNOTSUPP } from "./errno.js";
import { Kvm, RealmStateK, RMM_PAGE_SIZE, type Vcpu } from "./kvm.js";
import { user_page } from "./mmu.js";
import { KVM_ARM_RME_POPULATE_FLAGS_MEASURE, kvm_arm_rmi_populate, kvm_populate_realm, VmmBuffer } from "./populate-uapi.js";
import { free_params, realm_ensure_created, vmid_release } from "./realm-create.js";
import { kvm_create_rec, kvm_destroy_rec } from "./rec.js";
import { set_ripas_of_protected_regions } from "./ripas.js";
import { RMI_SUCCESS } from "./rmi.js";
import { free_delegated_granule, kvm_realm_destroy_rtts } from "./rtt.js";
import { undelegate_range } from "./range.js";
import { kvm_realm_unmap_range, sharedBit } from "./unmap.js";

/** Where the VMM's copy of the image lives for the v12+ populate ioctl (any user address). */
const VMM_IMAGE_VA = 0x7f00_0000_0000;

/**
 * The VMM populating [base, base + bytes.length) with the image `bytes` (measured when `measure`)
 * through the posting's uAPI (populate-uapi.ts): v8/v10 write the image into the memslot's
 * userspace mapping and enable KVM_CAP_ARM_RME POPULATE_REALM; v12+ pass a VMM buffer to
 * KVM_ARM_RMI_POPULATE. Returns the bytes populated as the ioctl reports them (v8/v10: all of them
 * on success; v12: the ioctl's int; v13/v14: how far the ioctl advanced `base`) or a negative errno.
 */
export function populate(kvm: Kvm, base: number, bytes: Uint8Array, measure: boolean): number {
  const flags = measure ? KVM_ARM_RME_POPULATE_FLAGS_MEASURE : 0;
  const size = bytes.length;
  if (kvm.profile.populateUapi === "cap-populate-realm") {
    const ns = kvm.host.platform.ns;
    for (let off = 0; off < size; off += GRANULE_SIZE) {
      const gfn = Math.floor((base + off) / GRANULE_SIZE);
      const slot = kvm.memslotOf(gfn);
      const pa = slot === undefined ? -1 : user_page(kvm, slot.user, gfn).pa;
      if (pa >= 0) ns.write(BigInt(pa), bytes.subarray(off, off + GRANULE_SIZE));
    }
    const r = kvm_populate_realm(kvm, { base, size, flags });
    return r < 0 ? r : size;
  }
  const buf = new VmmBuffer(kvm, VMM_IMAGE_VA, bytes);
  try {
    const args = { base, size, flags, sourceUaddr: VMM_IMAGE_VA, reserved: 0 };
    const r = kvm_arm_rmi_populate(kvm, args, buf);
    if (r < 0 || kvm.profile.populateUapi === "ioctl-int-bytes") return r;
    return args.base - base;
  } finally {
    buf.free();
  }
}

/** v8/v10 KVM_ARM_VCPU_FINALIZE(KVM_ARM_VCPU_REC): the REC is created while the realm is NEW. */
export function kvm_finalize_rec(vcpu: Vcpu, entry: bigint): number {
  if (vcpu.kvm.realm.state !== RealmStateK.NEW) return -ENOENT;
  const r = kvm_create_rec(vcpu, entry);
  if (r === 0) vcpu.finalized = true;
  return r;
}

/** v8/v10 KVM_CAP_ARM_RME_ACTIVATE_REALM. */
export function kvm_activate_realm_cap(kvm: Kvm): number {
  if (kvm.realm.state !== RealmStateK.NEW) return -EINVAL;
  if (kvm.host.rmi.realm_activate(kvm.realm.rd) !== RMI_SUCCESS) return -ENXIO;
  kvm.realm.state = RealmStateK.ACTIVE;
  return 0;
}

/** v12 kvm_activate_realm (from kvm_arch_vcpu_run_pid_change, the first run of a vCPU). */
export function kvm_activate_realm(kvm: Kvm, entry: bigint): number {
  if (kvm.realm.state === RealmStateK.ACTIVE) return 0;
  if (kvm.profile.activationEarlyExit === "active-or-later" && (kvm.realm.state === RealmStateK.DYING || kvm.realm.state === RealmStateK.DEAD)) return 0;
  if (!kvm.profile.activationIrqchipAfterDead && !kvm.irqchipInKernel) return -EOPNOTSUPP;
  const r = realm_ensure_created(kvm);
  if (r) return r;
  // Mark state as dead in case we fail.
  kvm.realm.state = RealmStateK.DEAD;
  if (!kvm.irqchipInKernel) return -EOPNOTSUPP; // S17 A: the realm stays DEAD
  for (const v of kvm.vcpus) {
    const c = kvm_create_rec(v, entry);
    if (c) return c;
  }
  const s = set_ripas_of_protected_regions(kvm);
  if (s) return s;
  if (kvm.host.rmi.realm_activate(kvm.realm.rd) !== RMI_SUCCESS) return -ENXIO;
  kvm.realm.state = RealmStateK.ACTIVE;
  kvm.event("realm activated");
  return 0;
}

/** The PGD pages as stage-2 tables: the generic walker follows valid table descriptors (S13). */
function junk_walk(kvm: Kvm): number {
  const ns = kvm.host.platform.ns;
  let visited = 0;
  for (let off = 0; off < kvm.mmu.pgdSize; off += 8) {
    const d = ns.readU64(BigInt(kvm.mmu.pgdPhys + off));
    if ((d & 3n) === 3n) visited++;
  }
  return visited;
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
  for (let off = 0; off < kvm.mmu.pgdSize; off += GRANULE_SIZE) kvm.host.pages.put(kvm.mmu.pgdPhys + off);
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
 * kvm_destroy_realm's write_lock + kvm_realm_unmap_range(kvm, 0, BIT(ia_bits - 1), true, true) +
 * write_unlock. v12/v13 do it before the created check (S31 B): on a never-created realm ia_bits is
 * still 0 and the size argument itself is a shift by -1, whatever the callee checks first.
 */
function unmap_all_locked(kvm: Kvm): void {
  if (kvm.realm.iaBits === 0) {
    kvm.flags.push("S31: kvm_destroy_realm computes BIT(ia_bits - 1) with ia_bits == 0 (undefined shift) before its created check");
    kvm.event("kvm_destroy_realm: BIT(ia_bits - 1) with ia_bits == 0 (UB shift) before the created check");
  }
  kvm.mmuLock.lockSync(IOCTL_TID);
  try {
    kvm_realm_unmap_range(kvm, 0, kvm.realm.iaBits === 0 ? 0 : sharedBit(kvm), true, true);
  } finally {
    kvm.mmuLock.writeUnlock();
  }
}

/**
 * kvm_destroy_realm on RMM v2.0. v13: write-lock + unmap [0, BIT(ia_bits - 1)) before the created
 * check; free params; !created -> return; DYING; destroy RTTs; REALM_DESTROY; free the RD;
 * undelegate_range(PGD); DEAD; kvm_free_stage2_pgd. v14: free params; !created -> return; DYING;
 * unmap again (Aneesh, S15); REALM_TERMINATE; destroy RTTs; REALM_DESTROY; free the RD; undelegate
 * the PGD; DEAD; kvm_free_stage2_pgd (which now frees the PGD). A failure WARNs and returns: the
 * realm stays DYING (S16).
 */
function kvm_destroy_realm_v2(kvm: Kvm): void {
  const realm = kvm.realm;
  const rmi = kvm.host.rmi;
  if (kvm.profile.destroyRealmUnmapsFirst) unmap_all_locked(kvm);
  free_params(kvm);
  if (!kvm.realmCreated) return;
  realm.state = RealmStateK.DYING;
  if (!kvm.profile.destroyRealmUnmapsFirst) unmap_all_locked(kvm);
  if (realm.rd >= 0) {
    if (kvm.profile.realmTerminate && rmi.realm_terminate(realm.rd) !== RMI_SUCCESS) {
      kvm.warn("kvm_destroy_realm", `REALM_TERMINATE 0x${realm.rd.toString(16)} failed: the realm stays DYING`);
      return;
    }
    kvm_realm_destroy_rtts(kvm);
    if (rmi.realm_destroy(realm.rd) !== RMI_SUCCESS) {
      kvm.warn("kvm_destroy_realm", `REALM_DESTROY 0x${realm.rd.toString(16)} failed: the realm stays DYING`);
      return;
    }
    free_delegated_granule(kvm, realm.rd);
    realm.rd = -1;
  }
  if (undelegate_range(kvm, kvm.mmu.pgdPhys, kvm.mmu.pgdSize).ret !== 0) {
    kvm.warn("kvm_destroy_realm", `undelegate of the PGD 0x${kvm.mmu.pgdPhys.toString(16)} failed`);
    return;
  }
  realm.state = RealmStateK.DEAD;
  kvm_free_stage2_pgd(kvm);
}

/** kvm_destroy_realm (v8/v10; v12 unmaps and destroys the RTTs before its created check). */
export function kvm_destroy_realm(kvm: Kvm): void {
  if (kvm.profile.rmm === "2.0") return kvm_destroy_realm_v2(kvm);
  const realm = kvm.realm;
  if (kvm.profile.destroyRealmUnmapsFirst) {
    unmap_all_locked(kvm);
    if (realm.iaBits === 0) kvm.flags.push("S31: kvm_realm_destroy_rtts with ia_bits == 0 (never-created realm)");
    else kvm_realm_destroy_rtts(kvm);
  }
  free_params(kvm);
  if (!kvm.realmCreated) return;
  realm.state = RealmStateK.DYING;
  if (realm.rd >= 0) {
    if (kvm.host.rmi.realm_destroy(realm.rd) !== RMI_SUCCESS) {
      kvm.warn("kvm_destroy_realm", `REALM_DESTROY 0x${realm.rd.toString(16)} failed: the realm stays DYING`);
      return;
    }
    free_delegated_granule(kvm, realm.rd);
    realm.rd = -1;
  }
  vmid_release(kvm, realm.vmid);
  for (let i = 0; i < kvm.mmu.pgdSize; i += RMM_PAGE_SIZE) {
    const pgd = kvm.mmu.pgdPhys + i;
    if (kvm.host.rmi.granule_undelegate(pgd) !== RMI_SUCCESS) {
      kvm.warn("kvm_destroy_realm", `undelegate of PGD granule 0x${pgd.toString(16)} failed`);
      return;
    }
  }
  realm.state = RealmStateK.DEAD;
  // Now that the realm is destroyed, free the entry level RTTs.
  kvm_free_stage2_pgd(kvm);
}

/**
 * kvm_destroy_vm as the VMM's exit drives it: mmu_notifier_release (kvm_free_stage2_pgd), the
 * guest_memfd release (private invalidation, pages dropped), kvm_arch_destroy_vm (vCPUs and
 * RECs, then kvm_destroy_realm), and the VMM's memory going away.
 */
export function kvm_destroy_vm(kvm: Kvm): void {
  const pages = kvm.host.pages;
  // 1. exit_mmap -> mmu_notifier_release -> kvm_arch_flush_shadow_all -> kvm_free_stage2_pgd
  kvm.host.log.push("event", `VM ${kvm.id}: mmu_notifier_release`);
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
  kvm.host.log.push("event", `VM ${kvm.id}: kvm_arch_destroy_vm`);
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

/**
 * arch/arm64/kvm/rmi.c (rme.c in v8/v10), realm lifecycle: activation (v8/v10 CAP ACTIVATE_REALM
 * and KVM_ARM_VCPU_FINALIZE, v12+ kvm_activate_realm on first run) and teardown
 * (kvm_destroy_realm and its RMM v2.0 form). Teardown sources: v9 07/43 (stand-in for v8/v10 07),
 * v10 10/43, v12 07/46, 10/46, 23/46, v13 12/48, 15/48, v14 14/44, 17/44; per function:
 * docs/provenance.md.
 */
import { IOCTL_TID } from "../../sched/coop.js";
import { EINVAL, ENOENT, ENXIO, EOPNOTSUPP } from "../errno.js";
import { Kvm, RealmStateK, RMM_PAGE_SIZE, type Vcpu } from "../kvm.js";
import { free_params, realm_ensure_created, vmid_release } from "./realm.js";
import { kvm_create_rec } from "./rec.js";
import { set_ripas_of_protected_regions } from "./ripas.js";
import { RMI_SUCCESS } from "../rmi_cmds.js";
import { free_delegated_granule, kvm_realm_destroy_rtts } from "./rtt.js";
import { undelegate_range } from "./range.js";
import { kvm_realm_unmap_range, sharedBit } from "./unmap.js";
import { kvm_free_stage2_pgd } from "../mmu.js";

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
  if (kvm.env.rmi.realm_activate(kvm.realm.rd) !== RMI_SUCCESS) return -ENXIO;
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
  if (kvm.env.rmi.realm_activate(kvm.realm.rd) !== RMI_SUCCESS) return -ENXIO;
  kvm.realm.state = RealmStateK.ACTIVE;
  kvm.event("realm activated");
  return 0;
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
  const rmi = kvm.env.rmi;
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
    if (kvm.env.rmi.realm_destroy(realm.rd) !== RMI_SUCCESS) {
      kvm.warn("kvm_destroy_realm", `REALM_DESTROY 0x${realm.rd.toString(16)} failed: the realm stays DYING`);
      return;
    }
    free_delegated_granule(kvm, realm.rd);
    realm.rd = -1;
  }
  vmid_release(kvm, realm.vmid);
  for (let i = 0; i < kvm.mmu.pgdSize; i += RMM_PAGE_SIZE) {
    const pgd = kvm.mmu.pgdPhys + i;
    if (kvm.env.rmi.granule_undelegate(pgd) !== RMI_SUCCESS) {
      kvm.warn("kvm_destroy_realm", `undelegate of PGD granule 0x${pgd.toString(16)} failed`);
      return;
    }
  }
  realm.state = RealmStateK.DEAD;
  // Now that the realm is destroyed, free the entry level RTTs.
  kvm_free_stage2_pgd(kvm);
}

/**
 * arch/arm64/kvm/rmi.c (rme.c in v8/v10), realm creation (kvm_arch_init_vm's realm part is in
 * ../arm.ts).
 * Realm creation on the KVM side: the realm part of KVM_CREATE_VM (kvm_arch_init_vm: the stage-2
 * PGD, then kvm_init_realm_vm / v14 kvm_init_realm for the params page), the v8/v10
 * KVM_CAP_ARM_RME config and create ioctls (kvm_rme_config_realm, kvm_create_realm), the host VMID
 * allocator (rme_vmid_* in v8/v10, rmi_vmid_* in v12), realm_num_root_rtts, realm_create_rd and
 * realm_ensure_created (v12+).
 * Sources: v9 07/43 (stand-in for v8/v10 07/43), v12 07/46, 22/46 and 23/46, v13 12/48 and 26/48,
 * v14 14/44 and 28/44; seed 002 (v12 22/46) and Steven's reply to it.
 */
import { GRANULE_SIZE } from "../../arch/geometry.js";
import { encodeRealmParams } from "../../rmm/abi/realm-params.js";
import { EBUSY, EEXIST, EINVAL, ENOMEM, ENXIO } from "../errno.js";
import { Kvm, RealmStateK, RMM_PAGE_SIZE } from "../kvm.js";
import { RMI_FEATURE_REGISTER_0_HASH_SHA_256, RMI_FEATURE_REGISTER_0_HASH_SHA_512, RMI_SUCCESS } from "../rmi_cmds.js";
import { get_start_level, undelegate_page, delegate_page } from "./rtt.js";
import { delegate_range, undelegate_range } from "./range.js";
import { rmi_has_feature } from "./init.js";

/** kvm_init_realm_vm (v14 kvm_init_realm): a zeroed page for struct realm_params. */
export function kvm_init_realm_vm(kvm: Kvm): number {
  const p = kvm.allocPage("kvm-params");
  if (p < 0) return -ENOMEM;
  kvm.realm.params = p;
  return 0;
}

/** The `if (realm->params) { free_page(params); params = NULL; }` of kvm_destroy_realm and realm_create_rd. */
export function free_params(kvm: Kvm): void {
  if (kvm.realm.params >= 0) {
    kvm.env.pages.put(kvm.realm.params);
    kvm.realm.params = -1;
  }
}

/** ARM_RME_CONFIG_* (v9 07/43 uapi) and the hash algorithms of struct arm_rme_config. */
export const ARM_RME_CONFIG_RPV = 0;
export const ARM_RME_CONFIG_HASH_ALGO = 1;
export const ARM_RME_CONFIG_HASH_ALGO_SHA256 = 0;
export const ARM_RME_CONFIG_HASH_ALGO_SHA512 = 1;

/**
 * v8/v10 KVM_ENABLE_CAP(KVM_CAP_ARM_RME, KVM_CAP_ARM_RME_CONFIG_REALM) -> kvm_rme_config_realm
 * (v9 07/43): -EBUSY once created; RPV copied into the params page; HASH_ALGO checked against
 * RMI_FEATURES(0) (config_realm_hash_algo: -EINVAL when the RMM lacks it); other items -EINVAL.
 */
export function kvm_rme_config_realm(kvm: Kvm, cfg: { cfg: number; hashAlgo?: number; rpv?: Uint8Array }): number {
  if (kvm.realmCreated) return -EBUSY;
  const realm = kvm.realm;
  switch (cfg.cfg) {
    case ARM_RME_CONFIG_RPV:
      realm.rpv.set((cfg.rpv ?? new Uint8Array(64)).subarray(0, 64));
      return 0;
    case ARM_RME_CONFIG_HASH_ALGO: {
      const h = cfg.hashAlgo;
      if (h === ARM_RME_CONFIG_HASH_ALGO_SHA256) {
        if (!rmi_has_feature(kvm.env, RMI_FEATURE_REGISTER_0_HASH_SHA_256)) return -EINVAL;
      } else if (h === ARM_RME_CONFIG_HASH_ALGO_SHA512) {
        if (!rmi_has_feature(kvm.env, RMI_FEATURE_REGISTER_0_HASH_SHA_512)) return -EINVAL;
      } else return -EINVAL;
      realm.hashAlgo = h;
      return 0;
    }
    default:
      return -EINVAL;
  }
}

/** realm_num_root_rtts (v9 07/43, v12 22/46; gone in v13: rtt_num_start = pgd_size / PAGE_SIZE). */
export function realm_num_root_rtts(kvm: Kvm): number {
  const levels = 4 - get_start_level(kvm);
  const slIpaBits = levels * 9 + 12;
  if (slIpaBits >= kvm.realm.iaBits) return 1;
  return 2 ** (kvm.realm.iaBits - slIpaBits);
}

/**
 * realm_create_rd (v9 07/43 for v8/v10, v12 22/46): WARN_ON(rd || !params) -> -EEXIST; too few
 * PGD pages -> -EINVAL; RD page (-ENOMEM), GRANULE_DELEGATE of the RD (-ENXIO, page freed), of each
 * PGD granule, the params (s2sz, start level, root count, rtt_base, vmid; hash_algo/rpv from the
 * v8/v10 CONFIG_REALM cap, zero in v12), REALM_CREATE, WARN_ON(REC_AUX_COUNT) with
 * WARN_ON(REALM_DESTROY). Unwind: undelegate PGD granules [0, i) from the top (a failure WARNs,
 * leaks the PGD: mmu.pgt = NULL, break), then the RD (a failure WARNs and leaks it), free the RD.
 * On success v12 sets NEW and frees the params here; v8/v10 do it in kvm_create_realm. On failure
 * the params page stays with the VM (kvm_destroy_realm frees it).
 */
export function realm_create_rd(kvm: Kvm): number {
  if (kvm.profile.rmm === "2.0") return realm_create_rd_v2(kvm);
  const realm = kvm.realm;
  const rmi = kvm.env.rmi;
  const pgdSize = kvm.mmu.pgdSize;
  realm.iaBits = kvm.mmu.iaBits;
  const rttNumStart = realm_num_root_rtts(kvm);

  if (realm.rd >= 0 || realm.params < 0) {
    kvm.warn("realm_create_rd", "RD already set or params missing");
    return -EEXIST;
  }
  if (pgdSize / RMM_PAGE_SIZE < rttNumStart) return -EINVAL;

  const rd = kvm.allocPage("kvm-rd");
  if (rd < 0) return -ENOMEM;
  let r = 0;
  let i = 0;
  const unwind = (): number => {
    while (i > 0) {
      i -= RMM_PAGE_SIZE;
      const pgd = kvm.mmu.pgdPhys + i;
      if (rmi.granule_undelegate(pgd) !== RMI_SUCCESS) {
        kvm.warn("realm_create_rd", `undelegate of PGD granule 0x${pgd.toString(16)} failed: leak the PGD`);
        kvm.mmu.pgt = false; // leak the pages if they cannot be returned
        break;
      }
    }
    if (rmi.granule_undelegate(rd) !== RMI_SUCCESS) {
      kvm.warn("realm_create_rd", `undelegate of RD 0x${rd.toString(16)} failed: leak it`);
      kvm.env.pages.leak(rd, "RD undelegate failed (realm_create_rd)");
      return r;
    }
    kvm.env.pages.put(rd);
    return r;
  };

  if (rmi.granule_delegate(rd) !== RMI_SUCCESS) {
    kvm.env.pages.put(rd);
    return -ENXIO;
  }
  for (i = 0; i < pgdSize; i += RMM_PAGE_SIZE) {
    if (rmi.granule_delegate(kvm.mmu.pgdPhys + i) !== RMI_SUCCESS) {
      r = -ENXIO;
      return unwind();
    }
  }
  const params = encodeRealmParams({
    s2sz: kvm.mmu.iaBits,
    rttLevelStart: get_start_level(kvm),
    rttNumStart,
    rttBase: BigInt(kvm.mmu.pgdPhys),
    vmid: realm.vmid,
    hashAlgo: realm.hashAlgo,
    rpv: realm.rpv,
  });
  kvm.env.ns.write(BigInt(realm.params), params);
  if (rmi.realm_create(rd, realm.params) !== RMI_SUCCESS) {
    r = -ENXIO;
    return unwind();
  }
  const aux = rmi.rec_aux_count(rd);
  if (aux.ret !== RMI_SUCCESS) {
    kvm.warn("realm_create_rd", `REC_AUX_COUNT failed: ${aux.ret}`);
    if (rmi.realm_destroy(rd) !== RMI_SUCCESS) kvm.warn("realm_create_rd", "REALM_DESTROY failed");
    if (kvm.profile.realmCreateRd === "v8-aux-r-unset") {
      // S09 (v9 07/43): this path jumps to the unwind without setting `r`, declared `int i, r;` and
      // assigned only on the other error paths: the function returns an uninitialised value
      // (fixed in v10: v12 07/46 "Changes since v9: Fix an error path in realm_create_rd() to
      // actually return an error value"). Modelled as a stale 0 (the caller then takes the realm
      // as created, NEW with rd == NULL), or -0xdead when the host poisons uninitialised reads.
      r = kvm.env.poisonUninit ? -0xdead : 0;
      kvm.flags.push(`S09: realm_create_rd returns an uninitialised r after REC_AUX_COUNT failed (${r === 0 ? "stale 0" : "garbage"})`);
      kvm.event(`realm_create_rd: r never set on the REC_AUX_COUNT error path: returns an uninitialised value (modelled: ${r})`);
    } else {
      r = -ENXIO;
    }
    return unwind();
  }
  realm.numAux = aux.auxCount;
  realm.rd = rd;
  return 0;
}

/**
 * realm_create_rd, v13 26/48 / v14 28/44 (RMM v2.0): the RD with delegate_page (v14
 * rmi_delegate_page), the PGD with one delegate_range (v14 rmi_delegate_range), REALM_CREATE with
 * rtt_num_start = pgd_size / PAGE_SIZE and no VMID (the RMM owns them), v13 WARN_ON(REC_AUX_COUNT)
 * (the temporary v1.0 SMC) with WARN_ON(REALM_DESTROY). The PMU and LPA2 flags of the params are
 * not set: the simulated host has no vPMU and no LPA2 (4 KiB, <= 48-bit IPA).
 * Unwind (S09): v13 undelegate_range(pgd, i) with `i` declared and never assigned; v14 the whole
 * PGD even when the delegation stopped part-way; a failure WARNs and leaks the PGD (mmu.pgt =
 * NULL); then the RD is undelegated (a failure WARNs and leaks it) and freed.
 */
function realm_create_rd_v2(kvm: Kvm): number {
  const realm = kvm.realm;
  const rmi = kvm.env.rmi;
  const pgdSize = kvm.mmu.pgdSize;
  const pgd = kvm.mmu.pgdPhys;
  realm.iaBits = kvm.mmu.iaBits;
  if (realm.rd >= 0 || realm.params < 0) {
    kvm.warn("realm_create_rd", "RD already set or params missing");
    return -EEXIST;
  }
  const rd = kvm.allocPage("kvm-rd");
  if (rd < 0) return -ENOMEM;
  if (delegate_page(kvm, rd) !== RMI_SUCCESS) {
    kvm.env.pages.put(rd);
    return -ENXIO;
  }
  let r = -ENXIO;
  const unwind = (): number => {
    let len: number;
    if (kvm.profile.realmCreateRd === "v13-uninit-i") {
      // S09 (v13 26/48): the PGD loop counter `i` is gone; the unwind still passes it, uninitialised,
      // as the size. Modelled as a stale 0, or 0xdead000 when the host poisons uninitialised reads.
      len = kvm.env.poisonUninit ? 0xdead000 : 0;
      kvm.flags.push(`S09: realm_create_rd undelegates the PGD with an uninitialised length (${len === 0 ? "stale 0" : "garbage"})`);
      // (with a stale 0, v13's undelegate_range(phys, 0) returns its own uninitialised `ret`:
      // range.ts models that read)
    } else {
      len = pgdSize; // v14: the whole PGD, whatever was delegated
    }
    if (undelegate_range(kvm, pgd, len).ret !== 0) {
      kvm.warn("realm_create_rd", `undelegate of the PGD [0x${pgd.toString(16)}, +0x${len.toString(16)}) failed: leak the PGD`);
      kvm.mmu.pgt = false;
    }
    if (undelegate_page(kvm, rd) !== RMI_SUCCESS) {
      kvm.warn("realm_create_rd", `undelegate of RD 0x${rd.toString(16)} failed: leak it`);
      kvm.env.pages.leak(rd, "RD undelegate failed (realm_create_rd)");
      return r;
    }
    kvm.env.pages.put(rd);
    return r;
  };
  if (delegate_range(kvm, pgd, pgdSize).ret !== 0) return unwind();
  const params = encodeRealmParams({
    s2sz: kvm.mmu.iaBits,
    rttLevelStart: get_start_level(kvm),
    rttNumStart: pgdSize / RMM_PAGE_SIZE, // pgd_size / PAGE_SIZE (realm_num_root_rtts is gone)
    rttBase: BigInt(pgd),
    hashAlgo: 0,
  });
  kvm.env.ns.write(BigInt(realm.params), params);
  if (rmi.realm_create(rd, realm.params) !== RMI_SUCCESS) return unwind();
  if (kvm.profile.recAuxCount) {
    const aux = rmi.rec_aux_count(rd);
    if (aux.ret !== RMI_SUCCESS) {
      kvm.warn("realm_create_rd", `REC_AUX_COUNT failed: ${aux.ret}`);
      if (rmi.realm_destroy(rd) !== RMI_SUCCESS) kvm.warn("realm_create_rd", "REALM_DESTROY failed");
      return unwind();
    }
    realm.numAux = aux.auxCount;
  }
  realm.rd = rd;
  return 0;
}

/** Host VMID bitmap (rme_vmid_reserve): lowest free VMID, 1 << 16 of them. */
export function vmid_reserve(kvm: Kvm): number {
  const used = kvm.env.vmids;
  for (let v = 0; v < 65536; v++) {
    if (!used.has(v)) {
      used.add(v);
      return v;
    }
  }
  return -ENOMEM;
}

export function vmid_release(kvm: Kvm, vmid: number): void {
  kvm.env.vmids.delete(vmid);
}

/**
 * What kvm_create_realm (v8/v10) and realm_ensure_created (v12+) do once they have decided to
 * create: reserve a host VMID (v8..v12), realm_create_rd (VMID released on failure), NEW, free the
 * params page.
 */
function create_realm_locked(kvm: Kvm): number {
  let vmid = -1;
  if (kvm.profile.hostVmid) {
    vmid = vmid_reserve(kvm);
    if (vmid < 0) return vmid;
    kvm.realm.vmid = vmid;
  }
  const r = realm_create_rd(kvm);
  if (r) {
    if (vmid >= 0) vmid_release(kvm, vmid);
    return r;
  }
  kvm.realm.state = RealmStateK.NEW;
  free_params(kvm);
  kvm.event(`realm created: RD 0x${kvm.realm.rd.toString(16)}, ${kvm.mmu.pgdSize / GRANULE_SIZE} root RTT(s), ${vmid >= 0 ? `VMID ${vmid}` : "VMID from the RMM"}`);
  return 0;
}

/** v8/v10 KVM_CAP_ARM_RME_CREATE_REALM -> kvm_create_realm: -EEXIST once created. */
export function kvm_create_realm(kvm: Kvm): number {
  if (kvm.realmCreated) return -EEXIST;
  return create_realm_locked(kvm);
}

/** v12 realm_ensure_created: NONE -> create; NEW -> ok; DEAD -> -ENXIO; ACTIVE/DYING -> -EBUSY. */
export function realm_ensure_created(kvm: Kvm): number {
  switch (kvm.realm.state) {
    case RealmStateK.NONE:
      return create_realm_locked(kvm);
    case RealmStateK.NEW:
      return 0;
    case RealmStateK.DEAD:
      return -ENXIO;
    default:
      return -EBUSY;
  }
}

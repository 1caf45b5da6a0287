/**
 * Realm creation on the KVM side: kvm_init_realm_vm (params page), the host VMID allocator
 * (rme_vmid_reserve/release, v8..v12), realm_num_root_rtts, realm_create_rd, kvm_create_realm
 * (v8/v10 KVM_CAP_ARM_RME_CREATE_REALM) and realm_ensure_created (v12+); the v13/v14 range form
 * of realm_create_rd with its error-path bugs (S09).
 * Sources: linux-cca-series.md §5.1, §5.2, S09; seed 002 (v12 22/46).
 */
import { GRANULE_SIZE } from "../arch/geometry.js";
import { encodeRealmParams } from "../rmm/abi/realm-params.js";
import { EBUSY, EEXIST, EINVAL, ENOMEM, ENXIO } from "./errno.js";
import { Kvm, RealmStateK, RMM_PAGE_SIZE } from "./kvm.js";
import { RMI_SUCCESS } from "./rmi.js";
import { get_start_level, undelegate_page, delegate_page } from "./rtt.js";
import { delegate_range, undelegate_range } from "./range.js";

/** kvm_init_realm_vm: a zeroed page for struct realm_params. */
export function kvm_init_realm_vm(kvm: Kvm): number {
  const p = kvm.allocPage("kvm-params");
  if (p < 0) return -ENOMEM;
  kvm.realm.params = p;
  return 0;
}

export function free_params(kvm: Kvm): void {
  if (kvm.realm.params >= 0) {
    kvm.host.pages.put(kvm.realm.params);
    kvm.realm.params = -1;
  }
}

/** realm_num_root_rtts (v8..v12). */
export function realm_num_root_rtts(kvm: Kvm): number {
  const levels = 4 - get_start_level(kvm);
  const slIpaBits = levels * 9 + 12;
  if (slIpaBits >= kvm.realm.iaBits) return 1;
  return 2 ** (kvm.realm.iaBits - slIpaBits);
}

/** realm_create_rd: delegate the RD and PGD granules, REALM_CREATE, REC_AUX_COUNT; unwind on error. */
export function realm_create_rd(kvm: Kvm): number {
  if (kvm.profile.rmm === "2.0") return realm_create_rd_v2(kvm);
  const realm = kvm.realm;
  const rmi = kvm.host.rmi;
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
      kvm.host.pages.leak(rd, "RD undelegate failed (realm_create_rd)");
      return r;
    }
    kvm.host.pages.put(rd);
    return r;
  };

  if (rmi.granule_delegate(rd) !== RMI_SUCCESS) {
    kvm.host.pages.put(rd);
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
  kvm.host.platform.ns.write(BigInt(realm.params), params);
  if (rmi.realm_create(rd, realm.params) !== RMI_SUCCESS) {
    r = -ENXIO;
    return unwind();
  }
  const aux = rmi.rec_aux_count(rd);
  if (aux.ret !== RMI_SUCCESS) {
    kvm.warn("realm_create_rd", `REC_AUX_COUNT failed: ${aux.ret}`);
    if (rmi.realm_destroy(rd) !== RMI_SUCCESS) kvm.warn("realm_create_rd", "REALM_DESTROY failed");
    if (kvm.profile.realmCreateRd === "v8-aux-r-unset") {
      // S09 (v9 07/43, zhuangyiwei): the jump to the unwind leaves `r` as it was: 0 after the
      // successful REALM_CREATE, so the caller takes the realm as created (with rd == NULL).
      kvm.flags.push("S09: realm_create_rd returns an unset r after REC_AUX_COUNT failed");
      r = kvm.host.poisonUninit ? -0xdead : 0;
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
 * realm_create_rd, v13/v14 (RMM v2.0): the RD with one range delegation, the PGD with
 * delegate_range (v13) / rmi_delegate_range (v14), REALM_CREATE without a VMID, REC_AUX_COUNT (v13
 * temporary v1.0 SMC). Unwind (S09): v13 undelegate_range(pgd, i) with `i` never initialised;
 * v14 the whole PGD even when the delegation stopped part-way; a failure there WARNs and leaks the
 * PGD (mmu.pgt = NULL); the RD is undelegated (leaked if that fails).
 */
function realm_create_rd_v2(kvm: Kvm): number {
  const realm = kvm.realm;
  const rmi = kvm.host.rmi;
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
    kvm.host.pages.put(rd);
    return -ENXIO;
  }
  let r = -ENXIO;
  const unwind = (): number => {
    let len: number;
    if (kvm.profile.realmCreateRd === "v13-uninit-i") {
      // S09 (v13): the PGD loop counter `i` is gone; the unwind still uses it, uninitialised.
      len = kvm.host.poisonUninit ? 0xdead000 : 0;
      kvm.flags.push(`S09: realm_create_rd undelegates the PGD with an uninitialised length (${len === 0 ? "stale 0" : "garbage"})`);
    } else {
      len = pgdSize; // v14: the whole PGD, whatever was delegated (Gavin, v14 28/44)
    }
    if (undelegate_range(kvm, pgd, len).ret !== 0) {
      kvm.warn("realm_create_rd", `undelegate of the PGD [0x${pgd.toString(16)}, +0x${len.toString(16)}) failed: leak the PGD`);
      kvm.mmu.pgt = false;
    }
    if (undelegate_page(kvm, rd) !== RMI_SUCCESS) {
      kvm.warn("realm_create_rd", `undelegate of RD 0x${rd.toString(16)} failed: leak it`);
      kvm.host.pages.leak(rd, "RD undelegate failed (realm_create_rd)");
      return r;
    }
    kvm.host.pages.put(rd);
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
  kvm.host.platform.ns.write(BigInt(realm.params), params);
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
  const used = kvm.host.vmids;
  for (let v = 0; v < 65536; v++) {
    if (!used.has(v)) {
      used.add(v);
      return v;
    }
  }
  return -ENOMEM;
}

export function vmid_release(kvm: Kvm, vmid: number): void {
  kvm.host.vmids.delete(vmid);
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

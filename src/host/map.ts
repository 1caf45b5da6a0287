/**
 * Mapping realm memory on a stage-2 fault: realm_map_ipa, realm_map_protected (DATA_CREATE_UNKNOWN
 * per granule, optional fold to an L2 block) and realm_map_non_secure (RTT_MAP_UNPROTECTED).
 * Generators: they yield before each RMI call where another vCPU can interleave.
 * Sources: v8 20/43 (seed 001), v10 20/43, v12 24/46 (realm_map_ipa, fold_rtt, realm_map_protected,
 * realm_map_non_secure), v13 27/48 (realm_map_non_secure through the temporary v1.0 SMC).
 */
import { pt, returns, type Gen } from "./coop.js";
import { EFAULT, EINVAL, ENXIO } from "./errno.js";
import { Kvm, PAGE_SIZE, RMM_L2_BLOCK_SIZE, RMM_PAGE_SIZE, RMM_RTT_BLOCK_LEVEL, RMM_RTT_MAX_LEVEL } from "./kvm.js";
import { RMI_ERROR_RTT, RMI_RETURN_INDEX, RMI_RETURN_STATUS, RMI_SUCCESS } from "./rmi.js";
import { fold_rtt, realm_create_rtt_levels } from "./rtt.js";
import { get_page_lost } from "./range.js";
import { sharedBit } from "./unmap.js";
import { KVM_PGTABLE_PROT_W, realm_map_non_secure_range, realm_map_protected_range } from "./map-range.js";

export { KVM_PGTABLE_PROT_R, KVM_PGTABLE_PROT_W } from "./map-range.js";

/** PTE_S2_MEMATTR(MT_S2_FWB_NORMAL) | S2AP_R | S2AP_W: MemAttr[4:2] = 0b110, S2AP[7:6] = 0b11. */
export const NS_DESC_ATTRS = 0x18 + 0x40 + 0x80;

/**
 * realm_map_protected(ipa, pfn, map_size, memcache). A plain function handing over the posting's
 * generator (the range form of v13/v14 or DATA_CREATE_UNKNOWN per granule), which runs when the
 * caller iterates it (every caller does so at once, `yield*`).
 */
export function realm_map_protected(kvm: Kvm, ipa: number, phys: number, mapSize: number, mc: number[]): Gen<number> {
  if (kvm.profile.protectedMap !== "data_create_unknown") return realm_map_protected_range(kvm, ipa, phys, mapSize, mc);
  return realm_map_protected_dcu(kvm, ipa, phys, mapSize, mc);
}

/** realm_map_protected of v8..v12: delegate and DATA_CREATE_UNKNOWN per granule. */
function* realm_map_protected_dcu(kvm: Kvm, ipa: number, phys: number, mapSize: number, mc: number[]): Gen<number> {
  const rmi = kvm.host.rmi;
  const rd = kvm.realm.rd;
  const baseIpa = ipa;
  const mapLevel = mapSize % RMM_L2_BLOCK_SIZE === 0 ? RMM_RTT_BLOCK_LEVEL : RMM_RTT_MAX_LEVEL;
  if (mapSize % RMM_PAGE_SIZE !== 0 || ipa % mapSize !== 0) {
    kvm.warn("realm_map_protected", `unaligned request 0x${ipa.toString(16)} size 0x${mapSize.toString(16)}`);
    return -EINVAL;
  }
  if (mapLevel < RMM_RTT_MAX_LEVEL) {
    // A temporary RTT is needed during the map: pre-create it (errors handled below).
    yield* realm_create_rtt_levels(kvm, ipa, mapLevel, RMM_RTT_MAX_LEVEL, mc);
  }
  let size = 0;
  let ret = 0;
  let failed: "undelegate" | "destroy" | null = null;
  for (size = 0; size < mapSize; size += RMM_PAGE_SIZE) {
    yield pt("GRANULE_DELEGATE");
    if (rmi.granule_delegate(phys) !== RMI_SUCCESS) {
      // "It's likely we raced with another VCPU on the same fault": return to the guest.
      kvm.event(`realm_map_protected: delegate of 0x${phys.toString(16)} failed, assume another vCPU handled the fault`);
      return 0;
    }
    yield pt("DATA_CREATE_UNKNOWN");
    ret = rmi.data_create_unknown(rd, phys, ipa);
    if (RMI_RETURN_STATUS(ret) === RMI_ERROR_RTT) {
      // Create missing RTTs and retry.
      const level = RMI_RETURN_INDEX(ret);
      if (level === RMM_RTT_MAX_LEVEL) kvm.warn("realm_map_protected", `DATA_CREATE_UNKNOWN 0x${ipa.toString(16)}: ERROR_RTT at level 3`);
      const c = yield* realm_create_rtt_levels(kvm, ipa, level, RMM_RTT_MAX_LEVEL, mc);
      if (c) {
        ret = c;
        failed = "undelegate";
        break;
      }
      yield pt("DATA_CREATE_UNKNOWN");
      ret = rmi.data_create_unknown(rd, phys, ipa);
    }
    if (ret !== RMI_SUCCESS) {
      kvm.warn("realm_map_protected", `DATA_CREATE_UNKNOWN 0x${ipa.toString(16)} returned ${ret}`);
      failed = "undelegate";
      break;
    }
    phys += RMM_PAGE_SIZE;
    ipa += RMM_PAGE_SIZE;
  }
  if (failed === null && mapSize === RMM_L2_BLOCK_SIZE) {
    const f = fold_rtt(kvm, baseIpa, mapLevel + 1);
    if (f !== 0) {
      kvm.warn("realm_map_protected", `fold_rtt 0x${baseIpa.toString(16)} returned ${f}`);
      failed = "destroy";
    }
  }
  if (failed === null) return 0;
  if (failed === "undelegate") {
    if (rmi.granule_undelegate(phys) !== RMI_SUCCESS) {
      kvm.warn("realm_map_protected", `undelegate of 0x${phys.toString(16)} failed`);
      get_page_lost(kvm, phys, "undelegate failed (realm_map_protected unwind)");
    }
  }
  while (size > 0) {
    phys -= RMM_PAGE_SIZE;
    size -= RMM_PAGE_SIZE;
    ipa -= RMM_PAGE_SIZE;
    const d = rmi.data_destroy(rd, ipa);
    if (d.ret !== RMI_SUCCESS) kvm.warn("realm_map_protected", `DATA_DESTROY 0x${ipa.toString(16)} returned ${d.ret}`);
    if (rmi.granule_undelegate(phys) !== RMI_SUCCESS) {
      kvm.warn("realm_map_protected", `undelegate of 0x${phys.toString(16)} failed`);
      get_page_lost(kvm, phys, "undelegate failed (realm_map_protected unwind)");
    }
  }
  return -ENXIO;
}

/** realm_map_non_secure(ipa, pfn, size, memcache): v8 maps an aligned 2 MiB at L2, v9+ L3 only. */
export function* realm_map_non_secure(kvm: Kvm, ipa: number, phys: number, size: number, mc: number[]): Gen<number> {
  const rmi = kvm.host.rmi;
  const rd = kvm.realm.rd;
  if (size % RMM_PAGE_SIZE !== 0 || ipa % size !== 0) {
    kvm.warn("realm_map_non_secure", `unaligned request 0x${ipa.toString(16)} size 0x${size.toString(16)}`);
    return -EINVAL;
  }
  let mapLevel: number;
  let mapSize: number;
  if (kvm.profile.sharedMapLevel === "L2-block-if-aligned" && size % RMM_L2_BLOCK_SIZE === 0) {
    mapLevel = 2;
    mapSize = RMM_L2_BLOCK_SIZE;
  } else {
    mapLevel = RMM_RTT_MAX_LEVEL; // v9+: "TODO: Support block mappings"
    mapSize = RMM_PAGE_SIZE;
  }
  for (let offset = 0; offset < size; offset += mapSize) {
    const desc = phys + NS_DESC_ATTRS;
    yield pt("RTT_MAP_UNPROTECTED");
    let ret = rmi.rtt_map_unprotected(rd, ipa, mapLevel, desc);
    if (RMI_RETURN_STATUS(ret) === RMI_ERROR_RTT) {
      // Create missing RTTs and retry (a no-op when the index is already map_level: S01).
      const level = RMI_RETURN_INDEX(ret);
      const c = yield* realm_create_rtt_levels(kvm, ipa, level, mapLevel, mc);
      if (c) return -ENXIO;
      yield pt("RTT_MAP_UNPROTECTED");
      ret = rmi.rtt_map_unprotected(rd, ipa, mapLevel, desc);
    }
    // A remaining ERROR_RTT is taken as "another thread already populated the RTTE".
    if (ret !== RMI_SUCCESS && RMI_RETURN_STATUS(ret) !== RMI_ERROR_RTT) return -ENXIO;
    if (ret !== RMI_SUCCESS) kvm.event(`realm_map_non_secure: RTT_MAP_UNPROTECTED 0x${ipa.toString(16)} level ${mapLevel} -> ERROR_RTT ${RMI_RETURN_INDEX(ret)} ignored`);
    ipa += mapSize;
    phys += mapSize;
  }
  return 0;
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

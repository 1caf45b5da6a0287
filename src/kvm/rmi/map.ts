/**
 * arch/arm64/kvm/rmi.c (rme.c in v8/v10), mapping realm memory on a stage-2 fault (realm_map_ipa,
 * in mmu.c, calls them): realm_map_protected (DATA_CREATE_UNKNOWN per granule, optional fold to
 * an L2 block) and realm_map_non_secure (RTT_MAP_UNPROTECTED).
 * Generators: they yield before each RMI call where another vCPU can interleave.
 * Sources: v8 20/43 (seed 001), v10 20/43, v12 24/46 (realm_map_ipa, fold_rtt, realm_map_protected,
 * realm_map_non_secure), v13 27/48 (realm_map_non_secure through the temporary v1.0 SMC).
 * The RMM v2.0 range forms (v13/v14: realm_map_protected around RTT_DATA_MAP and
 * realm_map_non_secure around RTT_UNPROT_MAP, addr_range_desc, rmi_rtt_data_map) follow below:
 * v13 27/48 and v14 29/44, the v13/v14 rmi.c snapshots; seed 000 (v13 27/48); v13 06/48 and
 * v14 05/44 (rmi_rtt_data_map).
 */
import { pt, type Gen } from "../../sched/coop.js";
import { EINVAL, ENXIO } from "../errno.js";
import { Kvm, PAGE_SIZE, RMM_L2_BLOCK_SIZE, RMM_PAGE_SIZE, RMM_RTT_BLOCK_LEVEL, RMM_RTT_MAX_LEVEL } from "../kvm.js";
import { RMI_ERROR_RTT, RMI_RETURN_INDEX, RMI_RETURN_STATUS, RMI_SUCCESS, RMI_INCOMPLETE } from "../rmi_cmds.js";
import { fold_rtt, realm_create_rtt_levels } from "./rtt.js";
import { get_page_lost, RMI_ADDR_RANGE_MAX_PAGES, delegate_range, level_to_size, rmi_addr_range, undelegate_range, type DescSize } from "./range.js";
import { realm_unmap_private_range } from "./unmap.js";
import { RMI_S2AP_DIRECT_READ, RMI_S2AP_DIRECT_WRITE, RmiAddrType, RmiOpMemState, encodeRttFlags } from "../../rmm/abi/range-desc.js";


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
  const rmi = kvm.env.rmi;
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
  const rmi = kvm.env.rmi;
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

// ---- RMM v2.0 (v13/v14): the range forms ----

/** MEMATTR of RTT_UNPROT_MAP for normal memory (MT_S2_FWB_NORMAL: MemAttr[4:2] = 0b110). */
export const RMI_MEMATTR_NORMAL = 6;
export const KVM_PGTABLE_PROT_R = 1;
export const KVM_PGTABLE_PROT_W = 2;

/** The sizes addr_range_desc switches on (PAGE_SIZE, PMD_SIZE, PUD_SIZE, P4D_SIZE), with their class. */
const SIZE_CLASSES: readonly (readonly [DescSize, number])[] = (["PAGE", "PMD", "PUD", "P4D"] as const).map((c, i) => [c, level_to_size(i)] as const);

/**
 * addr_range_desc(phys, size) (v13 27/48, v14 29/44): `switch (size)`: a size equal to P4D_SIZE,
 * PUD_SIZE, PMD_SIZE or PAGE_SIZE is one block of that size (CNT 1, SZ as the posting encodes it,
 * S07); any other length the page form with CNT = MIN(size >> PAGE_SHIFT, PTRS_PER_PTE - 1). No
 * alignment check besides WARN_ON(phys & ~PAGE_MASK). The posted function never sets ST (bit 63 =
 * RMI_OP_MEM_DELEGATED); `state` is what the model writes there (see realm_map_non_secure_range).
 */
export function addr_range_desc(kvm: Kvm, phys: number, size: number, state: RmiOpMemState): bigint {
  if (phys % PAGE_SIZE !== 0) kvm.warn("addr_range_desc", `WARN_ON(phys & ~PAGE_MASK): 0x${phys.toString(16)}`);
  const pa = phys - (phys % PAGE_SIZE);
  for (const [c, sz] of SIZE_CLASSES) if (size === sz) return rmi_addr_range(kvm.profile, pa, c, 1, state);
  return rmi_addr_range(kvm.profile, pa, "PAGE", Math.min(Math.floor(size / PAGE_SIZE), RMI_ADDR_RANGE_MAX_PAGES), state);
}

/** ERROR_RTT at `level` during a range map: create the missing tables (as posted to L3; S02 override: one level). */
function* create_for_map(kvm: Kvm, ipa: number, level: number, mc: number[]): Gen<number> {
  const to = kvm.profile.rangeMapCreatesOneLevel ? Math.min(level + 1, RMM_RTT_MAX_LEVEL) : RMM_RTT_MAX_LEVEL;
  return yield* realm_create_rtt_levels(kvm, ipa, level, to, mc);
}

/** RTT_DATA_MAP's flags for one output address (RMI_ADDR_TYPE_SINGLE), encoded once. */
const SINGLE_FLAGS = encodeRttFlags({ oaddrType: RmiAddrType.SINGLE });

/**
 * rmi_rtt_data_map (v13 06/48, v14 05/44): an RMI_INCOMPLETE answer is not handled ("FIXME"):
 * `return WARN_ON(res.a0)`, i.e. 1, and out_top is not written (left at `ipa` here).
 */
function rmi_rtt_data_map(kvm: Kvm, ipa: number, top: number, desc: bigint): { ret: number; top: number } {
  const r = kvm.env.rmi.rtt_data_map(kvm.realm.rd, ipa, top, SINGLE_FLAGS, desc);
  if (RMI_RETURN_STATUS(r.ret) !== RMI_INCOMPLETE) return r;
  kvm.warn("rmi_rtt_data_map", `RTT_DATA_MAP 0x${ipa.toString(16)} returned RMI_INCOMPLETE (${r.ret}): FIXME, WARN_ON(res.a0)`);
  return { ret: 1, top: ipa };
}

/**
 * realm_map_protected (v13 27/48, v14 29/44): delegate the folio with one range delegation
 * (failure = "raced with another vCPU", return 0), then loop RTT_DATA_MAP(ipa, ipa_top, SINGLE,
 * addr_range_desc(phys, ipa_top - ipa)) advancing ipa and phys by out_top; ERROR_RTT -> WARN_ON at
 * L3, create RTTs to L3, retry once with the same descriptor. v13 pre-creates a temporary L3 RTT
 * for 2 MiB sizes and folds it afterwards; v14 does neither.
 * Unwind (S08), `goto err_undelegate`: v13 undelegates map_size bytes from the *advanced* phys
 * (get_page(phys) if that fails), then `err:` realm_unmap_private_range(base_ipa, ipa, true); a
 * failed fold jumps to `err:` directly. v14 unmaps [base_ipa, ipa) first, then undelegates
 * [base_phys, +map_size) (get_page(base_phys) if that fails). Both pass may_block = true to the
 * unmap although gmem_abort holds mmu_lock for read (kvm_fault_lock); only a multi-call map reaches
 * it with a non-empty range, which gmem_abort's PAGE_SIZE maps never are.
 */
export function* realm_map_protected_range(kvm: Kvm, ipa: number, phys: number, mapSize: number, mc: number[]): Gen<number> {
  const baseIpa = ipa;
  const basePhys = phys;
  const top = ipa + mapSize;
  const v13 = kvm.profile.protectedMap === "v13-data_map";
  if (mapSize % PAGE_SIZE !== 0 || ipa % mapSize !== 0) {
    kvm.warn("realm_map_protected", `unaligned request 0x${ipa.toString(16)} size 0x${mapSize.toString(16)}`);
    return -EINVAL;
  }
  const mapLevel = mapSize % RMM_L2_BLOCK_SIZE === 0 ? RMM_RTT_BLOCK_LEVEL : RMM_RTT_MAX_LEVEL;
  if (v13 && mapLevel < RMM_RTT_MAX_LEVEL) {
    // v13: a temporary RTT is needed during the map (errors handled below).
    yield* realm_create_rtt_levels(kvm, ipa, mapLevel, RMM_RTT_MAX_LEVEL, mc);
  }
  yield pt("GRANULE_DELEGATE");
  if (delegate_range(kvm, phys, mapSize).ret !== 0) {
    // "It's likely we raced with another VCPU on the same fault": return to the guest.
    kvm.event(`realm_map_protected: delegate of 0x${phys.toString(16)} failed, assume another vCPU handled the fault`);
    return 0;
  }
  // the label the posted code jumps to: err_undelegate, or (v13, fold) err
  let failed: "err_undelegate" | "err" | null = null;
  while (ipa < top) {
    const desc = addr_range_desc(kvm, phys, top - ipa, RmiOpMemState.DELEGATED);
    yield pt("RTT_DATA_MAP");
    let r = rmi_rtt_data_map(kvm, ipa, top, desc);
    if (RMI_RETURN_STATUS(r.ret) === RMI_ERROR_RTT) {
      const level = RMI_RETURN_INDEX(r.ret);
      if (level === RMM_RTT_MAX_LEVEL) kvm.warn("realm_map_protected", `RTT_DATA_MAP 0x${ipa.toString(16)}: ERROR_RTT at level 3`);
      if (yield* create_for_map(kvm, ipa, level, mc)) {
        failed = "err_undelegate";
        break;
      }
      yield pt("RTT_DATA_MAP");
      r = rmi_rtt_data_map(kvm, ipa, top, desc);
    }
    if (r.ret !== RMI_SUCCESS) {
      kvm.warn("realm_map_protected", `RTT_DATA_MAP 0x${ipa.toString(16)}..0x${top.toString(16)} returned ${r.ret}`);
      failed = "err_undelegate";
      break;
    }
    phys += r.top - ipa;
    ipa = r.top;
  }
  if (failed === null && v13 && mapSize === RMM_L2_BLOCK_SIZE) {
    const f = fold_rtt(kvm, baseIpa, mapLevel + 1);
    if (f !== 0) {
      kvm.warn("realm_map_protected", `fold_rtt 0x${baseIpa.toString(16)} returned ${f}`);
      failed = "err";
    }
  }
  if (failed === null) return 0;
  if (kvm.profile.protectedMapUnwind === "v13-advanced-phys") {
    // S08 (v13): `phys` was advanced by the progress made; map_size bytes from there.
    if (failed === "err_undelegate" && undelegate_range(kvm, phys, mapSize).ret !== 0) {
      kvm.warn("realm_map_protected", `undelegate_range(0x${phys.toString(16)}, 0x${mapSize.toString(16)}) failed`);
      get_page_lost(kvm, phys, "undelegate failed (realm_map_protected unwind)");
    }
    realm_unmap_private_range(kvm, baseIpa, ipa, true);
  } else {
    // S08 (v14): the unmap already undelegates what it returns; then the whole range again.
    realm_unmap_private_range(kvm, baseIpa, ipa, true);
    if (undelegate_range(kvm, basePhys, mapSize).ret !== 0) {
      kvm.warn("realm_map_protected", `rmi_undelegate_range(0x${basePhys.toString(16)}, 0x${mapSize.toString(16)}) failed`);
      get_page_lost(kvm, basePhys, "undelegate failed (realm_map_protected unwind)");
    }
  }
  return -ENXIO;
}

/**
 * realm_map_non_secure (v14 29/44): RTT_UNPROT_MAP(ipa, ipa_top, flags = SINGLE | MEMATTR | S2AP,
 * addr_range_desc(phys, ipa_top - ipa)) looping on out_top. ERROR_RTT: WARN_ON at the last level,
 * create the tables to L3 (S02 override: one level) and return the error of that if any, retry
 * once; a remaining error is WARNed and returned as the raw positive RMI status (S04: the fault
 * path then resumes the guest).
 * Descriptor state: the posted addr_range_desc leaves ST = 0 (RMI_OP_MEM_DELEGATED) here too; the
 * simulated RMM (RMM 2.0 bet1, TF-RMM validate_map_inputs_common) requires ST = UNDELEGATED for
 * RTT_UNPROT_MAP and would refuse every v14 shared fault, which v14 did not see on the RMM it ran
 * against (kvmtool cca/v12 shared memory works). The model writes ST = UNDELEGATED.
 */
export function* realm_map_non_secure_range(kvm: Kvm, ipa: number, phys: number, size: number, prot: number, mc: number[]): Gen<number> {
  const rmi = kvm.env.rmi;
  const rd = kvm.realm.rd;
  if (size % PAGE_SIZE !== 0 || ipa % size !== 0) {
    // S06: a THP-enlarged size with the unaligned fault_ipa lands here.
    kvm.warn("realm_map_non_secure", `unaligned request 0x${ipa.toString(16)} size 0x${size.toString(16)}`);
    return -EINVAL;
  }
  let s2ap = 0;
  if (Math.floor(prot / KVM_PGTABLE_PROT_R) % 2 === 1) s2ap += RMI_S2AP_DIRECT_READ;
  if (Math.floor(prot / KVM_PGTABLE_PROT_W) % 2 === 1) s2ap += RMI_S2AP_DIRECT_WRITE;
  const flags = encodeRttFlags({ oaddrType: RmiAddrType.SINGLE, memattr: RMI_MEMATTR_NORMAL, s2ap });
  const top = ipa + size;
  while (ipa < top) {
    const desc = addr_range_desc(kvm, phys, top - ipa, RmiOpMemState.UNDELEGATED);
    yield pt("RTT_UNPROT_MAP");
    let r = rmi.rtt_unprot_map(rd, ipa, top, flags, desc);
    if (RMI_RETURN_STATUS(r.ret) === RMI_ERROR_RTT) {
      const level = RMI_RETURN_INDEX(r.ret);
      if (level === RMM_RTT_MAX_LEVEL) kvm.warn("realm_map_non_secure", `RTT_UNPROT_MAP 0x${ipa.toString(16)}: ERROR_RTT at the last level`);
      const c = yield* create_for_map(kvm, ipa, level, mc);
      if (c) return c; // v14: `if (ret) return ret;` (-ENOMEM or -ENXIO from realm_create_rtt_levels)
      yield pt("RTT_UNPROT_MAP");
      r = rmi.rtt_unprot_map(rd, ipa, top, flags, desc);
    }
    if (r.ret !== RMI_SUCCESS) {
      kvm.warn("realm_map_non_secure", `RTT_UNPROT_MAP 0x${ipa.toString(16)}..0x${top.toString(16)} returned ${r.ret}`);
      return r.ret; // the raw (positive) RMI status goes up the fault path (S04)
    }
    phys += r.top - ipa;
    ipa = r.top;
  }
  return 0;
}

/**
 * Mapping realm memory on RMM v2.0 (v13/v14): realm_map_protected around RTT_DATA_MAP and
 * realm_map_non_secure around RTT_UNPROT_MAP (v14). Generators: they yield before each RMI call
 * where another vCPU can interleave.
 * Sources: linux-cca-series.md §5.8, §5.9, S02, S04, S06, S07, S08; seed 000 (v13 27/48);
 * rmm-model.md §9.3, §10.
 */
import { pt, type Gen } from "./coop.js";
import { EINVAL, ENXIO } from "./errno.js";
import { Kvm, PAGE_SIZE, RMM_L2_BLOCK_SIZE, RMM_RTT_BLOCK_LEVEL, RMM_RTT_MAX_LEVEL } from "./kvm.js";
import { RMI_ERROR_RTT, RMI_INCOMPLETE, RMI_RETURN_INDEX, RMI_RETURN_STATUS, RMI_SUCCESS } from "./rmi.js";
import { RMI_ADDR_RANGE_MAX_PAGES, delegate_range, rmi_addr_range, undelegate_range, type DescSize } from "./range.js";
import { fold_rtt, realm_create_rtt_levels } from "./rtt.js";
import { realm_unmap_private_range } from "./unmap.js";
import { RMI_S2AP_DIRECT_READ, RMI_S2AP_DIRECT_WRITE, RmiAddrType, RmiOpMemState, encodeRttFlags } from "../rmm/abi/range-desc.js";

/** MEMATTR of RTT_UNPROT_MAP for normal memory (FWB Normal WB: MemAttr[4:2] = 0b110). */
export const RMI_MEMATTR_NORMAL = 6;
export const KVM_PGTABLE_PROT_R = 1;
export const KVM_PGTABLE_PROT_W = 2;

/**
 * The descriptor for [phys, phys + remaining): the default page form, CNT = min(pages, 511); with
 * the post-v14 fix (S02) the largest block class equal to what is left when it is aligned.
 */
function map_desc(kvm: Kvm, ipa: number, phys: number, remaining: number, state: RmiOpMemState): bigint {
  if (kvm.profile.rangeMapCreatesOneLevel) {
    const classes: [DescSize, number][] = [["PUD", 2 ** 30], ["PMD", RMM_L2_BLOCK_SIZE]];
    for (const [c, sz] of classes) if (remaining === sz && ipa % sz === 0 && phys % sz === 0) return rmi_addr_range(kvm.profile, phys, c, 1, state);
  }
  return rmi_addr_range(kvm.profile, phys, "PAGE", Math.min(remaining / PAGE_SIZE, RMI_ADDR_RANGE_MAX_PAGES), state);
}

/** ERROR_RTT at `level` during a range map: create the missing tables (S02: all to L3, or one). */
function* create_for_map(kvm: Kvm, ipa: number, level: number, mc: number[]): Gen<number> {
  const to = kvm.profile.rangeMapCreatesOneLevel ? Math.min(level + 1, RMM_RTT_MAX_LEVEL) : RMM_RTT_MAX_LEVEL;
  return yield* realm_create_rtt_levels(kvm, ipa, level, to, mc);
}

/** RTT_DATA_MAP's flags for one output address (OADDR_TYPE SINGLE), encoded once. */
const SINGLE_FLAGS = encodeRttFlags({ oaddrType: RmiAddrType.SINGLE });

/** An RTT_DATA_MAP that yielded RMI_INCOMPLETE (MEMREQ NONE) is finished with OP_CONTINUE. */
function finish_incomplete(kvm: Kvm, r: { ret: number; top: number; handle: bigint }): { ret: number; top: number } {
  let ret = r.ret;
  let top = r.top;
  const handle = r.handle;
  for (let n = 0; RMI_RETURN_STATUS(ret) === RMI_INCOMPLETE && n < 100_000; n++) {
    const c = kvm.host.rmi.op_continue(handle);
    ret = c.ret;
    top = Number(c.handle);
  }
  return { ret, top };
}

function pin(kvm: Kvm, pa: number, why: string): void {
  const pages = kvm.host.pages;
  if (pages.page(pa) !== undefined) {
    pages.get(pa);
    pages.leak(pa, why);
  }
}

/**
 * realm_map_protected (v13/v14): delegate the folio with one range delegation (failure = "raced
 * with another vCPU", return 0), then loop RTT_DATA_MAP(ipa, top, SINGLE, desc) advancing ipa and
 * phys by the progress made; ERROR_RTT -> WARN at L3, create RTTs, retry once. v13 pre-creates a
 * temporary L3 RTT for 2 MiB sizes and folds it afterwards; v14 does neither.
 * Unwind (S08): v13 undelegates map_size bytes from the *advanced* phys, then unmaps [base, ipa);
 * v14 unmaps [base, ipa), then undelegates the whole [base_phys, +map_size) again.
 */
export function* realm_map_protected_range(kvm: Kvm, ipa: number, phys: number, mapSize: number, mc: number[]): Gen<number> {
  const rmi = kvm.host.rmi;
  const rd = kvm.realm.rd;
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
  const flags = SINGLE_FLAGS;
  let failed = false;
  while (ipa < top) {
    const desc = () => map_desc(kvm, ipa, phys, top - ipa, RmiOpMemState.DELEGATED);
    yield pt("RTT_DATA_MAP");
    let r = finish_incomplete(kvm, rmi.rtt_data_map(rd, ipa, top, flags, desc()));
    if (RMI_RETURN_STATUS(r.ret) === RMI_ERROR_RTT) {
      const level = RMI_RETURN_INDEX(r.ret);
      if (level === RMM_RTT_MAX_LEVEL) kvm.warn("realm_map_protected", `RTT_DATA_MAP 0x${ipa.toString(16)}: ERROR_RTT at level 3`);
      const c = yield* create_for_map(kvm, ipa, level, mc);
      if (c) {
        failed = true;
        break;
      }
      yield pt("RTT_DATA_MAP");
      r = finish_incomplete(kvm, rmi.rtt_data_map(rd, ipa, top, flags, desc()));
    }
    if (r.ret !== RMI_SUCCESS) {
      kvm.warn("realm_map_protected", `RTT_DATA_MAP 0x${ipa.toString(16)}..0x${top.toString(16)} returned ${r.ret}`);
      failed = true;
      break;
    }
    phys += r.top - ipa;
    ipa = r.top;
  }
  if (!failed && v13 && mapSize === RMM_L2_BLOCK_SIZE) {
    const f = fold_rtt(kvm, baseIpa, mapLevel + 1);
    if (f !== 0) {
      kvm.warn("realm_map_protected", `fold_rtt 0x${baseIpa.toString(16)} returned ${f}`);
      failed = true;
    }
  }
  if (!failed) return 0;
  if (kvm.profile.protectedMapUnwind === "v13-advanced-phys") {
    // S08 (v13): `phys` was advanced by the progress made; map_size bytes from there.
    const u = undelegate_range(kvm, phys, mapSize);
    if (u.ret !== 0) {
      kvm.warn("realm_map_protected", `undelegate [0x${phys.toString(16)}, +0x${mapSize.toString(16)}) failed at 0x${u.top.toString(16)}`);
      pin(kvm, u.top, "undelegate failed (realm_map_protected unwind)");
    }
    if (ipa > baseIpa) realm_unmap_private_range(kvm, baseIpa, ipa, false);
  } else {
    // S08 (v14): the unmap already undelegates what it returns; then the whole range again.
    if (ipa > baseIpa) realm_unmap_private_range(kvm, baseIpa, ipa, false);
    const u = undelegate_range(kvm, basePhys, mapSize);
    if (u.ret !== 0) {
      kvm.warn("realm_map_protected", `undelegate [0x${basePhys.toString(16)}, +0x${mapSize.toString(16)}) failed at 0x${u.top.toString(16)}`);
      pin(kvm, u.top, "undelegate failed (realm_map_protected unwind)");
    }
  }
  return -ENXIO;
}

/**
 * realm_map_non_secure (v14): RTT_UNPROT_MAP(ipa, top, flags = SINGLE | MEMATTR | S2AP, desc)
 * looping on progress. ERROR_RTT: WARN if already at the last level, create the tables (to L3;
 * post-v14 one level), retry; a remaining error is WARNed and returned as the raw positive RMI
 * status (S04: the fault path then resumes the guest).
 */
export function* realm_map_non_secure_range(kvm: Kvm, ipa: number, phys: number, size: number, prot: number, mc: number[]): Gen<number> {
  const rmi = kvm.host.rmi;
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
    const desc = () => map_desc(kvm, ipa, phys, top - ipa, RmiOpMemState.UNDELEGATED);
    yield pt("RTT_UNPROT_MAP");
    let r = rmi.rtt_unprot_map(rd, ipa, top, flags, desc());
    if (RMI_RETURN_STATUS(r.ret) === RMI_ERROR_RTT) {
      const level = RMI_RETURN_INDEX(r.ret);
      if (level === RMM_RTT_MAX_LEVEL) kvm.warn("realm_map_non_secure", `RTT_UNPROT_MAP 0x${ipa.toString(16)}: ERROR_RTT at the last level`);
      const c = yield* create_for_map(kvm, ipa, level, mc);
      if (c) return -ENXIO;
      yield pt("RTT_UNPROT_MAP");
      r = rmi.rtt_unprot_map(rd, ipa, top, flags, desc());
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

/**
 * KVM's RTT helpers (arch/arm64/kvm/rme.c v8/v10, rmi.c v12..v14): delegated-granule allocation and
 * accounting, RTT create/fold/destroy wrappers, realm_create_rtt_levels, fold_rtt,
 * realm_fold_rtt_level, realm_tear_down_rtt_level/range, kvm_realm_destroy_rtts.
 * Sources: v10 10/43, v12 10/46, v13 15/48, v14 17/44 "RTT tear down"; v9 15/43 (stand-in for
 * v8/v10 15), v12 17/46, v13 21/48, v14 23/44 (alloc_rtt, realm_create_rtt_levels,
 * realm_fold_rtt_level); the v12/v13/v14 rmi.c snapshots. Per function: docs/provenance.md.
 */
import { alignDown, alignUp, mapSize, stage2_pgtable_levels } from "../../arch/geometry.js";
import { pt, type Gen } from "../../sched/coop.js";
import { EBUSY, EINVAL, ENOMEM, ENXIO } from "../errno.js";
import { Kvm, PHYS_ADDR_MAX, RMM_RTT_MAX_LEVEL } from "../kvm.js";
import { RMI_ERROR_RTT, RMI_RETURN_INDEX, RMI_RETURN_STATUS, RMI_SUCCESS } from "../rmi_cmds.js";
import { delegate_range, undelegate_range } from "./range.js";
import { PAGE_SIZE } from "../kvm.js";

/**
 * Delegate one page: GRANULE_DELEGATE (RMM v1.0) or the range helper over PAGE_SIZE (v13
 * delegate_page, v14 rmi_delegate_page). 0 on success, else the RMI status (or errno).
 */
export function delegate_page(kvm: Kvm, phys: number): number {
  if (kvm.profile.rmm === "1.0") return kvm.env.rmi.granule_delegate(phys);
  return delegate_range(kvm, phys, PAGE_SIZE).ret;
}

/** Undelegate one page (GRANULE_UNDELEGATE or the range helper). 0 on success. */
export function undelegate_page(kvm: Kvm, phys: number): number {
  if (kvm.profile.rmm === "1.0") return kvm.env.rmi.granule_undelegate(phys);
  return undelegate_range(kvm, phys, PAGE_SIZE).ret;
}

/** rmi_rtt_level_mapsize(level). */
export function rmi_rtt_level_mapsize(level: number): number {
  return mapSize(Math.min(level, RMM_RTT_MAX_LEVEL));
}

/** get_start_level(realm): 4 - stage2_pgtable_levels(ia_bits) (open coded as 4 - ((ia_bits - 8) / 9) in v10/v12). */
export function get_start_level(kvm: Kvm): number {
  return 4 - stage2_pgtable_levels(kvm.realm.iaBits);
}

/** find_map_level (v9+): the largest level whose block is aligned at start and fits before end. */
export function find_map_level(kvm: Kvm, start: number, end: number): number {
  let level = RMM_RTT_MAX_LEVEL;
  while (level > get_start_level(kvm)) {
    const size = rmi_rtt_level_mapsize(level - 1);
    if (start % size !== 0 || start + size > end) break;
    level--;
  }
  return level;
}

/**
 * alloc_delegated_granule(mc) (v12 17/46, v13 21/48, v14 23/44): a page from the vCPU memcache
 * (kvm_mmu_memory_cache_alloc), or a fresh GFP_ATOMIC allocation when `mc` is NULL; then
 * GRANULE_DELEGATE (v13 delegate_page, v14 rmi_delegate_page); a failed delegate frees the page.
 * Returns the PA or PHYS_ADDR_MAX (-1). An empty memcache is the generic kvm_mmu_memory_cache_alloc
 * (virt/kvm/kvm_main.c): WARN_ON(!mc->nobjs), then a GFP_ATOMIC allocation (BUG_ON if that fails:
 * modelled as a second WARN and PHYS_ADDR_MAX).
 */
export function* alloc_delegated_granule(kvm: Kvm, mc: number[] | null): Gen<number> {
  let phys: number;
  if (mc !== null && mc.length > 0) {
    phys = mc.pop()!;
    kvm.env.pages.page(phys)!.owner = "kvm-rtt";
  } else {
    if (mc !== null) kvm.warn("kvm_mmu_memory_cache_alloc", "WARN_ON(!mc->nobjs): empty memcache, GFP_ATOMIC fallback");
    phys = kvm.allocPage("kvm-rtt");
    if (phys < 0 && mc !== null) kvm.warn("kvm_mmu_memory_cache_alloc", "BUG_ON(!p): the GFP_ATOMIC fallback failed");
  }
  if (phys < 0) return PHYS_ADDR_MAX;
  yield pt("GRANULE_DELEGATE");
  if (delegate_page(kvm, phys) !== RMI_SUCCESS) {
    kvm.env.pages.put(phys);
    return PHYS_ADDR_MAX;
  }
  return phys;
}

/** alloc_rtt(mc) (v9 15/43 "Introduce alloc_rtt()"; v8 accounted in alloc_delegated_granule): +1 page-table page. */
export function* alloc_rtt(kvm: Kvm, mc: number[] | null): Gen<number> {
  const phys = yield* alloc_delegated_granule(kvm, mc);
  if (phys !== PHYS_ADDR_MAX) kvm.accountPgtablePages(1);
  return phys;
}

/**
 * free_delegated_granule(phys) (v12 07/46; v13 12/48 / v14 09/44 free_delegated_page):
 * WARN_ON(undelegate) -> "leak the page", -EBUSY; else free_page. v8 also un-accounted one
 * page-table page here, for every granule (v9 07/43 changelog "Fix free_delegated_granule() to not
 * call kvm_account_pgtable_pages()"): freeDelegatedGranuleUnaccounts, S11.
 */
export function free_delegated_granule(kvm: Kvm, phys: number): number {
  if (undelegate_page(kvm, phys) !== RMI_SUCCESS) {
    kvm.warn("free_delegated_granule", `undelegate of 0x${phys.toString(16)} failed: leak the page`);
    kvm.env.pages.leak(phys, "undelegate failed (free_delegated_granule)");
    return -EBUSY;
  }
  if (kvm.profile.freeDelegatedGranuleUnaccounts) kvm.accountPgtablePages(-1);
  kvm.env.pages.put(phys);
  return 0;
}

/** free_rtt(phys) (v10 10/43 on): un-account only if the granule really came back (leaked RTTs stay counted). */
export function free_rtt(kvm: Kvm, phys: number): void {
  if (free_delegated_granule(kvm, phys) !== 0) return;
  if (!kvm.profile.freeDelegatedGranuleUnaccounts) kvm.accountPgtablePages(-1);
}

/** realm_rtt_create: align to the parent block and RTT_CREATE. */
export function realm_rtt_create(kvm: Kvm, addr: number, level: number, phys: number): number {
  addr = alignDown(addr, rmi_rtt_level_mapsize(level - 1));
  return kvm.env.rmi.rtt_create(kvm.realm.rd, phys, addr, level);
}

/** realm_rtt_fold: align to the parent block and RTT_FOLD; returns the freed RTT. */
export function realm_rtt_fold(kvm: Kvm, addr: number, level: number): { ret: number; rtt: number } {
  addr = alignDown(addr, rmi_rtt_level_mapsize(level - 1));
  return kvm.env.rmi.rtt_fold(kvm.realm.rd, addr, level);
}

/**
 * realm_create_rtt_levels(ipa, level, max_level, mc): create the tables from level+1 down to
 * max_level. "Already exists" (ERROR_RTT at new_level - 1) continues: v10 (v9 15/43 stand-in)
 * forgets the new granule, v12 on free_rtt it (rttExistsFreesNewGranule); v8 15/43 compares the
 * index with the new level itself, which RTT_CREATE never reports, so it WARNs, frees and fails
 * instead (rttExistsChecksNewLevel). S10. Another error WARNs, free_rtt, -ENXIO. Does nothing at
 * all when level >= max_level (the root of S01).
 */
export function* realm_create_rtt_levels(kvm: Kvm, ipa: number, level: number, maxLevel: number, mc: number[] | null): Gen<number> {
  while (level++ < maxLevel) {
    const rtt = yield* alloc_rtt(kvm, mc);
    if (rtt === PHYS_ADDR_MAX) return -ENOMEM;
    yield pt("RTT_CREATE");
    const ret = realm_rtt_create(kvm, ipa, level, rtt);
    const existsIndex = kvm.profile.rttExistsChecksNewLevel ? level : level - 1;
    if (RMI_RETURN_STATUS(ret) === RMI_ERROR_RTT && RMI_RETURN_INDEX(ret) === existsIndex) {
      // The RTT already exists, continue.
      if (kvm.profile.rttExistsFreesNewGranule) free_rtt(kvm, rtt);
      else {
        // the posted code forgets the granule here: still delegated, referenced by nothing
        kvm.event(`realm_create_rtt_levels: RTT at level ${level} for 0x${ipa.toString(16)} already exists; granule 0x${rtt.toString(16)} not freed`);
        kvm.env.pages.leak(rtt, "realm_create_rtt_levels: 'already exists', the new RTT granule is not freed (delegated)");
      }
      continue;
    }
    if (ret !== RMI_SUCCESS) {
      kvm.warn("realm_create_rtt_levels", `Failed to create RTT at level ${level}: ${ret}`);
      free_rtt(kvm, rtt);
      return -ENXIO;
    }
  }
  return 0;
}

/** fold_rtt(addr, level): fold, then free the returned RTT (v8 free_delegated_granule, v9+ free_rtt). */
export function fold_rtt(kvm: Kvm, addr: number, level: number): number {
  const r = realm_rtt_fold(kvm, addr, level);
  if (r.ret !== RMI_SUCCESS) return r.ret;
  free_rtt(kvm, r.rtt);
  return 0;
}

/**
 * realm_fold_rtt_level(level, start, end) (v9+): fold every table in [start, end) that can be
 * folded, recursing deeper where a child is not homogeneous. Returns the count not folded, or a
 * negative errno.
 *
 * As posted (v9 rme.c through the post-v14 rmi.c), each step folds at align_addr =
 * ALIGN(addr, map_size), which rounds UP; realm_rtt_fold's own ALIGN_DOWN (v10+) is then a no-op.
 * For a start that is not aligned to the parent block (1 GiB at level 2) the RTT_FOLD targets the
 * next block (0x80c0000000 for 0x8080400000): after a small unmap it answers ERROR_RTT below the
 * level (no table there), counts as "not folded" and never recurses, so the table the unmap
 * emptied is only folded when the range starts on a 1 GiB boundary (teardown). Reproduced as
 * posted [inferred: not discussed on the list].
 */
export function realm_fold_rtt_level(kvm: Kvm, level: number, start: number, end: number): number {
  if (level > RMM_RTT_MAX_LEVEL) {
    kvm.warn("realm_fold_rtt_level", `level ${level} > ${RMM_RTT_MAX_LEVEL}`);
    return -EINVAL;
  }
  const size = rmi_rtt_level_mapsize(level - 1);
  let notFolded = 0;
  let next: number;
  for (let addr = start; addr < end; addr = next) {
    const align = alignUp(addr, size);
    next = alignUp(addr + 1, size);
    const r = realm_rtt_fold(kvm, align, level);
    switch (RMI_RETURN_STATUS(r.ret)) {
      case RMI_SUCCESS:
        free_rtt(kvm, r.rtt);
        break;
      case RMI_ERROR_RTT: {
        if (level === RMM_RTT_MAX_LEVEL || RMI_RETURN_INDEX(r.ret) < level) {
          notFolded++;
          break;
        }
        const sub = realm_fold_rtt_level(kvm, level + 1, addr, next);
        if (sub < 0) return sub;
        if (sub === 0) next = addr; // try again at this level
        break;
      }
      default:
        kvm.warn("realm_fold_rtt_level", `RTT_FOLD 0x${align.toString(16)} level ${level} returned ${r.ret}`);
        return -ENXIO;
    }
  }
  return notFolded;
}

/**
 * realm_tear_down_rtt_level(level, start, end): RTT_DESTROY every table below the root in
 * [start, end), bottom-up, skipping missing ones with the `top` output.
 */
export function realm_tear_down_rtt_level(kvm: Kvm, level: number, start: number, end: number): number {
  if (level > RMM_RTT_MAX_LEVEL) {
    kvm.warn("realm_tear_down_rtt_level", `level ${level} > ${RMM_RTT_MAX_LEVEL}`);
    return -EINVAL;
  }
  const size = rmi_rtt_level_mapsize(level - 1);
  let next: number;
  for (let addr = start; addr < end; addr = next) {
    const align = alignUp(addr, size);
    next = alignUp(addr + 1, size);
    if (next > end || align !== addr) {
      // The target range is smaller than what this level covers: recurse deeper.
      const r = realm_tear_down_rtt_level(kvm, level + 1, addr, Math.min(next, end));
      if (r) return r;
      continue;
    }
    const d = kvm.env.rmi.rtt_destroy(kvm.realm.rd, addr, level);
    switch (RMI_RETURN_STATUS(d.ret)) {
      case RMI_SUCCESS:
        free_rtt(kvm, d.rtt);
        next = d.top; // RTT_DESTROY writes next_addr on success too
        break;
      case RMI_ERROR_RTT: {
        if (d.top > addr) {
          next = d.top; // missing RTT, skip
          break;
        }
        if (RMI_RETURN_INDEX(d.ret) !== level) {
          kvm.warn("realm_tear_down_rtt_level", `RTT_DESTROY 0x${addr.toString(16)} level ${level}: ERROR_RTT index ${RMI_RETURN_INDEX(d.ret)}`);
          return -EBUSY;
        }
        if (level === RMM_RTT_MAX_LEVEL) {
          kvm.warn("realm_tear_down_rtt_level", `RTT_DESTROY 0x${addr.toString(16)}: live entries at the last level`);
          return -EBUSY;
        }
        // The table has live entries: tear down its children, then retry here.
        const r = realm_tear_down_rtt_level(kvm, level + 1, addr, alignUp(addr + 1, size));
        if (r) return r;
        next = addr;
        break;
      }
      default:
        kvm.warn("realm_tear_down_rtt_level", `RTT_DESTROY 0x${addr.toString(16)} level ${level} returned ${d.ret}`);
        return -ENXIO;
    }
  }
  return 0;
}

/** realm_tear_down_rtt_range: root RTTs can only go after the RD, so start at start level + 1. */
export function realm_tear_down_rtt_range(kvm: Kvm, start: number, end: number): number {
  return realm_tear_down_rtt_level(kvm, get_start_level(kvm) + 1, start, end);
}

/**
 * kvm_realm_destroy_rtts: tear down [0, 1 << ia_bits). v8..v13 WARN_ON the result; v14 17/44
 * ignores it (destroyRttsWarns).
 */
export function kvm_realm_destroy_rtts(kvm: Kvm): void {
  const r = realm_tear_down_rtt_range(kvm, 0, 2 ** kvm.realm.iaBits);
  if (r && kvm.profile.destroyRttsWarns) kvm.warn("kvm_realm_destroy_rtts", `realm_tear_down_rtt_range returned ${r}`);
  else if (r) kvm.event(`kvm_realm_destroy_rtts: realm_tear_down_rtt_range returned ${r} (ignored, no WARN in v14 17/44)`);
}

/**
 * arch/arm64/kvm/rmi.c (rme.c in v8/v10), populate.
 * Populating a realm's initial contents, per posting:
 *   - v8/v10 KVM_ENABLE_CAP(KVM_CAP_ARM_RME, POPULATE_REALM) {base, size, flags} ->
 *     kvm_populate_realm (v8 19/43; v10 19/43 was not found, v8 decides): realm NEW (-EPERM), base
 *     and size page aligned and flags within RMI_MEASURE_CONTENT (-EINVAL), base + size must not
 *     wrap; 2 MiB parts, each a populate_region over one memslot (-EFAULT without a memslot,
 *     -EINVAL past its end, -EPERM if it cannot be private); the source is the memslot's own
 *     userspace mapping (the shared alias).
 *   - v12 KVM_ARM_RMI_POPULATE {base, size, source_uaddr, flags, reserved} -> kvm_arm_rmi_populate
 *     (v12 20/46): reserved, flags, base and end alignment checked (source_uaddr from v13 24/48 on);
 *     realm_ensure_created; kvm_gmem_populate with populate_region_cb, which takes the source
 *     *page* containing each source address (an unaligned source_uaddr shifts the contents); the
 *     page count times PAGE_SIZE is returned as an `int` (Marc, v12 06/46).
 *   - v13 24/48 / v14 26/44: the same ioctl updates base/size/source_uaddr in place and returns 0;
 *     the callback is realm_data_map_init (v13: realm_create_protected_data_page), which returns
 *     the raw RMI status on failure. kvm_gmem_populate returns `ret && !i ? ret : i`, so a positive
 *     RMI status for the first page is taken as a page count: the struct advances by that many
 *     pages and the ioctl returns 0 (S22).
 * v8..v12 pass the uAPI flags to DATA_CREATE, not the computed data_flags (kernel test robot,
 * v12 20/46; profile.populatePassesUapiFlags). `measureFlag` is the value of the uAPI MEASURE bit:
 * 1 as posted (equal to RMI_MEASURE_CONTENT, which hides the flags bug); another value exposes it.
 */
import { GRANULE_SIZE, SZ_2M } from "../../arch/geometry.js";
import { EFAULT, EINVAL, EIO, ENXIO, EPERM } from "../errno.js";
import { Kvm, RealmStateK, RMM_RTT_MAX_LEVEL } from "../kvm.js";
import { kvm_gmem_get_pfn } from "../guest_memfd.js";
import { user_page } from "../mmu.js";
import { realm_ensure_created } from "./realm.js";
import { RMI_ERROR_RTT, RMI_RETURN_INDEX, RMI_RETURN_STATUS, RMI_SUCCESS } from "../rmi_cmds.js";
import { delegate_page, realm_create_rtt_levels, undelegate_page } from "./rtt.js";
import { runSync } from "../../sched/coop.js";

export const KVM_ARM_RME_POPULATE_FLAGS_MEASURE = 1;
export const RMI_MEASURE_CONTENT = 1;

export interface PopulateArgs {
  base: number;
  size: number;
  flags: number;
  /** v12+: the VMM's source address. */
  sourceUaddr?: number;
  /** v12+: must be zero. */
  reserved?: number;
}

/** The VMM's source buffer at a user virtual address (any alignment), backed by host pages. */
export class VmmBuffer {
  private readonly pages = new Map<number, number>();
  constructor(private readonly kvm: Kvm, readonly va: number, bytes: Uint8Array) {
    const ns = kvm.env.ns;
    for (let off = 0; off < bytes.length;) {
      const a = va + off;
      const inPage = a % GRANULE_SIZE;
      const n = Math.min(GRANULE_SIZE - inPage, bytes.length - off);
      const pa = this.pageFor(a);
      ns.write(BigInt(pa + inPage), bytes.subarray(off, off + n));
      off += n;
    }
  }

  private pageFor(uaddr: number): number {
    const vpn = Math.floor(uaddr / GRANULE_SIZE);
    let pa = this.pages.get(vpn);
    if (pa === undefined) {
      pa = this.kvm.allocPage("vmm");
      if (pa < 0) throw new Error("VmmBuffer: out of host memory");
      this.pages.set(vpn, pa);
    }
    return pa;
  }

  /** get_user_pages(uaddr): the page containing uaddr (the offset inside it is not kept). */
  pageContaining(uaddr: number): number {
    return this.pageFor(uaddr);
  }

  /** munmap. */
  free(): void {
    for (const pa of this.pages.values()) this.kvm.env.pages.put(pa);
    this.pages.clear();
  }
}

/** C `int` conversion of a byte count (two's complement, 32 bits), as the v12 ioctl returns it. */
export function toCInt(n: number): number {
  const m = ((n % 2 ** 32) + 2 ** 32) % 2 ** 32;
  return m >= 2 ** 31 ? m - 2 ** 32 : m;
}

/** KVM_BUG_ON(cond, kvm): WARN_ON_ONCE and mark the VM bugged (vCPU ioctls then fail with -EIO). */
export function kvm_bug_on(kvm: Kvm, fn: string, msg: string): void {
  kvm.warn(fn, `KVM_BUG_ON: ${msg}`);
  kvm.vmBugged = true;
  kvm.event(`KVM_BUG_ON in ${fn}: VM ${kvm.id} is bugged (vCPU ioctls fail with -EIO)`);
}

/**
 * v8 19/43, v12 20/46 realm_create_protected_data_granule: DELEGATE dst (-ENXIO), DATA_CREATE; on
 * ERROR_RTT WARN_ON(level == 3), create the RTTs (atomic allocations) and retry once (-EIO).
 */
function realm_create_protected_data_granule(kvm: Kvm, ipa: number, dst: number, src: number, flags: number): number {
  const rmi = kvm.env.rmi;
  if (rmi.granule_delegate(dst) !== RMI_SUCCESS) return -ENXIO;
  let ret = rmi.data_create(kvm.realm.rd, dst, ipa, src, flags);
  if (RMI_RETURN_STATUS(ret) === RMI_ERROR_RTT) {
    const level = RMI_RETURN_INDEX(ret);
    if (level === RMM_RTT_MAX_LEVEL) kvm.warn("realm_create_protected_data_granule", `DATA_CREATE 0x${ipa.toString(16)}: ERROR_RTT at level 3`);
    if (runSync(realm_create_rtt_levels(kvm, ipa, level, RMM_RTT_MAX_LEVEL, null))) return -EIO;
    ret = rmi.data_create(kvm.realm.rd, dst, ipa, src, flags);
  }
  return ret ? -EIO : 0;
}

/**
 * v8 19/43, v12 20/46 realm_create_protected_data_page: one host page (one granule on a 4K host);
 * after -EIO the granule is undelegated (WARN: get_page pins it, leaked). 0 or -ENXIO.
 */
export function realm_create_protected_data_page(kvm: Kvm, ipa: number, dst: number, src: number, flags: number): number {
  const ret = realm_create_protected_data_granule(kvm, ipa, dst, src, flags);
  if (ret === 0) return 0;
  if (ret === -EIO && undelegate_page(kvm, dst) !== RMI_SUCCESS) {
    kvm.warn("realm_create_protected_data_page", `undelegate of 0x${dst.toString(16)} failed`);
    kvm.env.pages.get(dst);
    kvm.env.pages.leak(dst, "undelegate failed (populate unwind)");
  }
  return -ENXIO;
}

/**
 * v14 26/44 realm_data_map_init (v13 24/48 realm_create_protected_data_page): delegate dst
 * (-ENXIO), RTT_DATA_MAP_INIT; on ERROR_RTT `KVM_BUG_ON(level == 3, kvm)` (WARN, VM bugged, and on
 * it goes), realm_create_rtt_levels (a no-op at level 3) and, if that succeeded, one retry. Any
 * failure undelegates dst (WARN: get_page, leaked) and returns `ret` as it is: the RMI status
 * (positive) or realm_create_rtt_levels' -errno.
 */
function realm_data_map_init(kvm: Kvm, ipa: number, dst: number, src: number, flags: number): number {
  const rmi = kvm.env.rmi;
  if (delegate_page(kvm, dst) !== RMI_SUCCESS) return -ENXIO;
  let ret = rmi.rtt_data_map_init(kvm.realm.rd, dst, ipa, src, flags);
  if (RMI_RETURN_STATUS(ret) === RMI_ERROR_RTT) {
    const level = RMI_RETURN_INDEX(ret);
    if (level === RMM_RTT_MAX_LEVEL) kvm_bug_on(kvm, "realm_data_map_init", `RTT_DATA_MAP_INIT 0x${ipa.toString(16)}: ERROR_RTT at level 3`);
    ret = runSync(realm_create_rtt_levels(kvm, ipa, level, RMM_RTT_MAX_LEVEL, null));
    if (!ret) ret = rmi.rtt_data_map_init(kvm.realm.rd, dst, ipa, src, flags);
  }
  if (ret && undelegate_page(kvm, dst) !== RMI_SUCCESS) {
    kvm.warn("realm_data_map_init", `undelegate of 0x${dst.toString(16)} failed`);
    kvm.env.pages.get(dst);
    kvm.env.pages.leak(dst, "undelegate failed (populate unwind)");
  }
  return ret;
}

/** populate_region_cb for one page: v12 20/46 (DATA_CREATE), v13 24/48 / v14 26/44 (RTT_DATA_MAP_INIT). */
function populate_region_cb(kvm: Kvm, gfn: number, dst: number, src: number, flags: number): number {
  const ipa = gfn * GRANULE_SIZE;
  if (kvm.profile.populateCall === "rtt_data_map_init") return realm_data_map_init(kvm, ipa, dst, src, flags);
  return realm_create_protected_data_page(kvm, ipa, dst, src, flags);
}

/**
 * kvm_gmem_populate (virt/kvm/guest_memfd.c, generic KVM; not part of the postings - inferred from
 * upstream): WARN_ON_ONCE(npages <= 0) -> -EINVAL; the start memslot must be guest_memfd backed
 * (-EINVAL); npages is clamped to that memslot; per page: the guest_memfd folio (a reference),
 * the callback, folio_put; stops at the first error and returns `ret && !i ? ret : i`.
 * Not modelled: the "prepared" folio tracking and the PRIVATE memory-attribute check.
 */
function kvm_gmem_populate(kvm: Kvm, startGfn: number, npages: number, srcPage: (i: number) => number, flags: number): number {
  if (npages <= 0) {
    kvm.warn("kvm_gmem_populate", "npages <= 0");
    return -EINVAL;
  }
  const slot = kvm.memslotOf(startGfn);
  if (slot === undefined || slot.gmem === undefined) return -EINVAL;
  const n = Math.min(npages, slot.npages - (startGfn - slot.baseGfn));
  let ret = 0;
  let i = 0;
  for (; i < n; i++) {
    const gfn = startGfn + i;
    const pfn = kvm_gmem_get_pfn(kvm, slot.gmem, gfn);
    if (pfn < 0) {
      ret = pfn;
      break;
    }
    ret = populate_region_cb(kvm, gfn, pfn, srcPage(i), flags);
    kvm.env.pages.put(pfn); // folio_put
    if (ret) break;
  }
  if (ret > 0 && i === 0) {
    // v13/v14: realm_data_map_init's RMI status comes back as if it were a page count (S22)
    kvm.event(`kvm_gmem_populate: the first page failed with RMI status ${ret}, returned as ${ret} page(s) populated`);
    kvm.flags.push(`S22: kvm_gmem_populate returned the callback's RMI status ${ret} as the number of pages populated`);
  }
  return ret && !i ? ret : i;
}

/**
 * v8 19/43 populate_region(kvm, ipa_base, ipa_end, flags): one memslot (-EFAULT if none, -EINVAL
 * if the range runs past it, -EPERM if it cannot be private); per page the userspace page
 * (faulted in for write) is the source and the guest_memfd page the destination; the guest_memfd
 * reference kvm_gmem_get_pfn took is never dropped (kept for the mapped page, leaked on failure).
 */
function populate_region_v8(kvm: Kvm, ipaBase: number, ipaEnd: number, flags: number): number {
  const slot = kvm.memslotOf(ipaBase / GRANULE_SIZE);
  if (slot === undefined) return -EFAULT;
  // "We require the region to be contained within a single memslot"
  if (slot.baseGfn + slot.npages < ipaEnd / GRANULE_SIZE) return -EINVAL;
  if (slot.gmem === undefined) return -EPERM; // !kvm_slot_can_be_private
  for (let ipa = ipaBase; ipa < ipaEnd; ipa += GRANULE_SIZE) {
    const gfn = ipa / GRANULE_SIZE;
    const src = user_page(kvm, slot.user, gfn).pa; // __kvm_faultin_pfn(FOLL_WRITE)
    if (src < 0) return -EFAULT;
    const dst = kvm_gmem_get_pfn(kvm, slot.gmem, gfn);
    if (dst < 0) return dst;
    const r = realm_create_protected_data_page(kvm, ipa, dst, src, flags);
    if (r) return r;
  }
  return 0;
}

function rmiDataFlags(kvm: Kvm, uapiFlags: number, measureFlag: number): number {
  if (kvm.profile.populatePassesUapiFlags) return uapiFlags; // S22: data_flags set but not used
  return Math.floor(uapiFlags / measureFlag) % 2 === 1 ? RMI_MEASURE_CONTENT : 0;
}

/** v8/v10 kvm_populate_realm (KVM_CAP_ARM_RME_POPULATE_REALM). 0 or a negative errno. */
export function kvm_populate_realm(kvm: Kvm, args: PopulateArgs, measureFlag = KVM_ARM_RME_POPULATE_FLAGS_MEASURE): number {
  if (kvm.profile.populateUapi !== "cap-populate-realm") throw new Error(`kvm_populate_realm: ${kvm.profile.id} has no KVM_CAP_ARM_RME populate (use kvm_arm_rmi_populate)`);
  if (kvm.vmBugged) return -EIO; // kvm_vm_ioctl on a bugged VM
  if (kvm.realm.state !== RealmStateK.NEW) return -EPERM;
  if (args.base % GRANULE_SIZE !== 0 || args.size % GRANULE_SIZE !== 0) return -EINVAL;
  // `args->flags & ~RMI_MEASURE_CONTENT`: v8 checks the uAPI flags against the RMI constant
  if (args.flags !== 0 && args.flags !== RMI_MEASURE_CONTENT) return -EINVAL;
  const end = args.base + args.size;
  if (end >= 2 ** 64) return -EINVAL; // ipa_end < ipa_base: the u64 sum wrapped
  const flags = rmiDataFlags(kvm, args.flags, measureFlag);
  // "Perform the population in parts to ensure locks are not held for too long"
  for (let base = args.base; base < end;) {
    const chunkEnd = Math.min(end, base + SZ_2M);
    const r = populate_region_v8(kvm, base, chunkEnd, flags);
    if (r) return r;
    base = chunkEnd;
  }
  return 0;
}

/**
 * KVM_ARM_RMI_POPULATE (v12 20/46, v13 24/48, v14 26/44 kvm_arm_rmi_populate). v12: the byte count
 * as a C int, or a negative errno. v13/v14: 0 with `args` advanced by the pages populated (as
 * kvm_gmem_populate reports them), or a negative errno. `buf` is the VMM memory the uaddr points into.
 */
export function kvm_arm_rmi_populate(kvm: Kvm, args: PopulateArgs, buf: VmmBuffer, measureFlag = KVM_ARM_RME_POPULATE_FLAGS_MEASURE): number {
  const x = kvm.profile;
  if (x.populateUapi === "cap-populate-realm") throw new Error(`kvm_arm_rmi_populate: ${kvm.profile.id} has the KVM_CAP_ARM_RME populate (use kvm_populate_realm)`);
  if (kvm.vmBugged) return -EIO; // kvm_vm_ioctl on a bugged VM
  const src0 = args.sourceUaddr ?? 0;
  if ((args.reserved ?? 0) !== 0) return -EINVAL;
  if (args.flags !== 0 && args.flags !== measureFlag) return -EINVAL; // flags within MEASURE
  if (args.base % GRANULE_SIZE !== 0 || (args.base + args.size) % GRANULE_SIZE !== 0) return -EINVAL;
  if (x.populateChecksSourceAlignment && src0 % GRANULE_SIZE !== 0) return -EINVAL;
  const r = realm_ensure_created(kvm);
  if (r) return r;
  // size 0 (S22; Gavin on v14 26/44: a WARN, Steven's fix returns 0 early): kvm_gmem_populate's
  // WARN_ON_ONCE(npages <= 0) -> -EINVAL, the same in v12, v13 and v14 as posted.
  const npages = Math.floor(args.size / GRANULE_SIZE);
  const flags = rmiDataFlags(kvm, args.flags, measureFlag);
  const pages = kvm_gmem_populate(kvm, args.base / GRANULE_SIZE, npages, (i) => buf.pageContaining(src0 + i * GRANULE_SIZE), flags);
  if (pages < 0) return pages;
  if (x.populateUapi === "ioctl-int-bytes") return toCInt(pages * GRANULE_SIZE);
  args.size = (args.size - pages * GRANULE_SIZE + 2 ** 64) % 2 ** 64; // u64 arithmetic
  args.sourceUaddr = src0 + pages * GRANULE_SIZE;
  args.base += pages * GRANULE_SIZE;
  return 0;
}

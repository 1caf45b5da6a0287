/**
 * The populate uAPI of the RMM v1.0 postings, with its argument checks (linux-cca-series.md §5.6,
 * §9; S22):
 *   - v8/v10 KVM_ENABLE_CAP(KVM_CAP_ARM_RME, POPULATE_REALM) {base, size, flags} ->
 *     kvm_populate_realm: realm NEW (-EPERM), base/size page aligned, flags within MEASURE,
 *     base + size must not wrap; 2 MiB chunks (populate_region); the source is the shared alias
 *     (the same memslot's userspace mapping).
 *   - v12 KVM_ARM_RMI_POPULATE {base, size, source_uaddr, flags, reserved} ->
 *     kvm_arm_rmi_populate: reserved, flags, base and end alignment are checked, source_uaddr is
 *     not (added in v13); realm_ensure_created; kvm_gmem_populate takes the source *page* that
 *     contains each source address, so an unaligned source_uaddr silently shifts the contents;
 *     the byte count is returned as an `int` (Marc, v12 06/46).
 * In both, the RMI flags passed to DATA_CREATE are the uAPI flags as given (the computed
 * data_flags is unused: kernel test robot, v12 20/46) where the posting does that
 * (profile.populatePassesUapiFlags). `measureFlag` is the value of the uAPI MEASURE bit: 1 as
 * posted (equal to RMI_MEASURE_CONTENT, which hides the flags bug); another value exposes it.
 */
import { GRANULE_SIZE, SZ_2M } from "../arch/geometry.js";
import { EINVAL, EPERM } from "./errno.js";
import { Kvm, RealmStateK } from "./kvm.js";
import { realm_create_protected_data_page, KVM_ARM_RME_POPULATE_FLAGS_MEASURE, RMI_MEASURE_CONTENT } from "./lifecycle.js";
import { kvm_gmem_get_pfn, user_page } from "./mmu.js";
import { realm_ensure_created } from "./realm-create.js";

export interface PopulateArgs {
  base: number;
  size: number;
  flags: number;
  /** v12: the VMM's source address. */
  sourceUaddr?: number;
  /** v12: must be zero. */
  reserved?: number;
}

/** The VMM's source buffer at a user virtual address (any alignment), backed by host pages. */
export class VmmBuffer {
  private readonly pages = new Map<number, number>();
  constructor(private readonly kvm: Kvm, readonly va: number, bytes: Uint8Array) {
    const ns = kvm.host.platform.ns;
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
    for (const pa of this.pages.values()) this.kvm.host.pages.put(pa);
    this.pages.clear();
  }
}

/** C `int` conversion of a byte count (two's complement, 32 bits), as the v12 ioctl returns it. */
export function toCInt(n: number): number {
  const m = ((n % 2 ** 32) + 2 ** 32) % 2 ** 32;
  return m >= 2 ** 31 ? m - 2 ** 32 : m;
}

function rmiDataFlags(kvm: Kvm, uapiFlags: number, measureFlag: number): number {
  if (kvm.profile.populatePassesUapiFlags) return uapiFlags; // S22: data_flags set but not used
  return Math.floor(uapiFlags / measureFlag) % 2 === 1 ? RMI_MEASURE_CONTENT : 0;
}

/** One host page of the populate: guest_memfd page, DATA_CREATE from `src`, reference handling. */
function populate_page(kvm: Kvm, ipa: number, src: number, flags: number): number {
  const gfn = ipa / GRANULE_SIZE;
  const slot = kvm.memslotOf(gfn);
  if (slot === undefined || slot.gmem === undefined) return -EINVAL;
  const dst = kvm_gmem_get_pfn(kvm, slot.gmem, gfn);
  if (dst < 0) return dst;
  const r = realm_create_protected_data_page(kvm, ipa, dst, src, flags);
  // v8/v10 keep the guest_memfd reference of a populated page; v12's kvm_gmem_populate drops it.
  if (r !== 0 || kvm.profile.gmemRefAfterMap === "release-always") kvm.host.pages.put(dst);
  return r;
}

/** v8/v10 kvm_populate_realm (KVM_CAP_ARM_RME_POPULATE_REALM). 0 or a negative errno. */
export function kvm_populate_realm(kvm: Kvm, args: PopulateArgs, measureFlag = KVM_ARM_RME_POPULATE_FLAGS_MEASURE): number {
  if (kvm.profile.populateUapi !== "cap-populate-realm") throw new Error(`kvm_populate_realm: ${kvm.profile.id} has no KVM_CAP_ARM_RME populate (use kvm_arm_rmi_populate)`);
  if (kvm.realm.state !== RealmStateK.NEW) return -EPERM;
  if (args.base % GRANULE_SIZE !== 0 || args.size % GRANULE_SIZE !== 0) return -EINVAL;
  if (args.flags !== 0 && args.flags !== measureFlag) return -EINVAL; // flags within MEASURE
  const end = args.base + args.size;
  if (end >= 2 ** 64) return -EINVAL; // ipa_end < ipa_base: the u64 sum wrapped
  const flags = rmiDataFlags(kvm, args.flags, measureFlag);
  // Perform the populate in 2 MiB parts so locks are not held for too long.
  for (let base = args.base; base < end;) {
    const chunkEnd = Math.min(end, base + SZ_2M);
    for (let ipa = base; ipa < chunkEnd; ipa += GRANULE_SIZE) {
      const gfn = ipa / GRANULE_SIZE;
      const slot = kvm.memslotOf(gfn);
      if (slot === undefined) return -EINVAL;
      const src = user_page(kvm, slot.user, gfn).pa; // the shared alias' backing page
      if (src < 0) return -EINVAL;
      const r = populate_page(kvm, ipa, src, flags);
      if (r) return r;
    }
    base = chunkEnd;
  }
  return 0;
}

/**
 * v12 kvm_arm_rmi_populate (KVM_ARM_RMI_POPULATE): the byte count as a C int, or a negative errno.
 * `buf` is the VMM's source memory the uaddr points into.
 */
export function kvm_arm_rmi_populate(kvm: Kvm, args: PopulateArgs, buf: VmmBuffer, measureFlag = KVM_ARM_RME_POPULATE_FLAGS_MEASURE): number {
  const x = kvm.profile;
  if (x.populateUapi === "cap-populate-realm") throw new Error(`kvm_arm_rmi_populate: ${kvm.profile.id} has the KVM_CAP_ARM_RME populate (use kvm_populate_realm)`);
  const src0 = args.sourceUaddr ?? 0;
  if ((args.reserved ?? 0) !== 0) return -EINVAL;
  if (args.flags !== 0 && args.flags !== measureFlag) return -EINVAL; // flags within MEASURE
  if (args.base % GRANULE_SIZE !== 0 || (args.base + args.size) % GRANULE_SIZE !== 0) return -EINVAL;
  if (x.populateChecksSourceAlignment && src0 % GRANULE_SIZE !== 0) return -EINVAL;
  const r = realm_ensure_created(kvm);
  if (r) return r;
  const npages = args.size / GRANULE_SIZE;
  // upstream kvm_gmem_populate: WARN_ON_ONCE(npages <= 0) -> -EINVAL [inferred for v12]
  if (npages <= 0) {
    kvm.warn("kvm_gmem_populate", "npages <= 0");
    return -EINVAL;
  }
  const flags = rmiDataFlags(kvm, args.flags, measureFlag);
  let done = 0;
  for (let i = 0; i < npages; i++) {
    const src = buf.pageContaining(src0 + i * GRANULE_SIZE);
    const p = populate_page(kvm, args.base + i * GRANULE_SIZE, src, flags);
    if (p) {
      if (done === 0) return p;
      break;
    }
    done++;
  }
  return toCInt(done * GRANULE_SIZE);
}

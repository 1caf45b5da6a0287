/**
 * The VMM side of populating a realm's initial image (kvmtool's realm setup): v8/v10 write the
 * image through the memslot's userspace mapping then enable KVM_CAP_ARM_RME POPULATE_REALM; v12+
 * pass a VMM buffer to KVM_ARM_RMI_POPULATE (src/kvm/rmi/populate.ts).
 */
import { GRANULE_SIZE } from "../arch/geometry.js";
import { Kvm } from "../kvm/kvm.js";
import { user_page } from "../kvm/mmu.js";
import { KVM_ARM_RME_POPULATE_FLAGS_MEASURE, kvm_arm_rmi_populate, kvm_populate_realm, VmmBuffer } from "../kvm/rmi/populate.js";

/** Where the VMM's copy of the image lives for the v12+ populate ioctl (any user address). */
const VMM_IMAGE_VA = 0x7f00_0000_0000;

/**
 * The VMM populating [base, base + bytes.length) with the image `bytes` (measured when `measure`)
 * through the posting's uAPI (src/kvm/rmi/populate.ts): v8/v10 write the image into the memslot's
 * userspace mapping and enable KVM_CAP_ARM_RME POPULATE_REALM; v12+ pass a VMM buffer to
 * KVM_ARM_RMI_POPULATE. Returns the bytes populated as the ioctl reports them (v8/v10: all of them
 * on success; v12: the ioctl's int; v13/v14: how far the ioctl advanced `base`) or a negative errno.
 */
export function populate(kvm: Kvm, base: number, bytes: Uint8Array, measure: boolean): number {
  const flags = measure ? KVM_ARM_RME_POPULATE_FLAGS_MEASURE : 0;
  const size = bytes.length;
  if (kvm.profile.populateUapi === "cap-populate-realm") {
    const ns = kvm.env.ns;
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

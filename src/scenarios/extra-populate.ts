/**
 * S22 — populate interface edge cases of the RMM v1.0 postings (v8 19/43 and v12 20/46
 * populate; the ioctls in src/host/populate-uapi.ts):
 *   flags: v8..v12 pass the uAPI flags to DATA_CREATE instead of the computed RMI flags (kernel
 *     test robot, v12 20/46). Harmless as posted (both MEASURE bits are 1). With the uAPI bit given
 *     another value (2 here): v12 DATA_CREATE gets flags 2, which the RMM refuses (RMI_ERROR_INPUT,
 *     -ENXIO); v8 19/43 checks `args->flags & ~RMI_MEASURE_CONTENT` (the RMI constant), so the
 *     ioctl fails with -EINVAL before any RMI call (v10 19/43 is not saved: v8 decides).
 *   source alignment (v12): source_uaddr is not checked (added in v13); kvm_gmem_populate copies
 *     whole source pages, so an unaligned source shifts the realm's initial contents (measured).
 *   size 0: v8/v10 populate nothing and return 0; v12 creates the RD, then kvm_gmem_populate's
 *     WARN_ON_ONCE(npages <= 0) fires and -EINVAL is returned [inferred from upstream].
 * Not run: the v12 `int` byte count for >= 2 GiB (needs a 2 GiB populate), v13/v14 (in-place
 * struct, wrap, double populate: the RMM v2.0 host's populate).
 */
import { Host } from "../host/host.js";
import { kvm_init_ipa_range_realm } from "../host/ripas.js";
import { kvm_create_realm } from "../host/realm-create.js";
import { kvm_arm_rmi_populate, kvm_populate_realm, VmmBuffer } from "../host/populate-uapi.js";
import { errnoName } from "../host/errno.js";
import type { RealmVm } from "../host/vm.js";
import { RAM, rdExists, type ExtraScenario } from "./extra-common.js";

const IMAGE = 64 * 1024;
const SRC_VA = 0x7f00_0000_0000;

function image(): Uint8Array {
  const b = new Uint8Array(IMAGE);
  for (let i = 0; i < b.length; i++) b[i] = ((i * 131 + 7) % 251) + 1; // never zero
  return b;
}

function hex(b: Uint8Array): string {
  let s = "";
  for (const x of b) s += x.toString(16).padStart(2, "0");
  return s;
}

/** A realm VM taken to the point where the VMM populates (v8/v10: CREATE_REALM + INIT_RIPAS). */
function prepared(host: Host): RealmVm {
  const vm = host.createRealm({ ipaBits: 40, memory: 16n << 20n, vcpus: 1, image: 0n });
  if (vm.kvm.profile.uapi === "vmm-driven") {
    const c = kvm_create_realm(vm.kvm);
    const i = c === 0 ? kvm_init_ipa_range_realm(vm.kvm, Number(RAM), 16 << 20) : c;
    if (c !== 0 || i !== 0) throw new Error(`S22: realm set-up failed (${errnoName(c)}, ${errnoName(i)})`);
  }
  return vm;
}

function populateImage(vm: RealmVm, bytes: Uint8Array, measureFlag: number, srcVa = SRC_VA, size = bytes.length): number {
  const k = vm.kvm;
  if (k.profile.uapi === "vmm-driven") {
    vm.vmmWrite(RAM, bytes); // v8/v10 copy from the shared alias of the same memslot
    return kvm_populate_realm(k, { base: Number(RAM), size, flags: measureFlag }, measureFlag);
  }
  const buf = new VmmBuffer(k, srcVa, bytes);
  try {
    return kvm_arm_rmi_populate(k, { base: Number(RAM), size, sourceUaddr: srcVa, flags: measureFlag, reserved: 0 }, buf, measureFlag);
  } finally {
    buf.free();
  }
}

export const S22: ExtraScenario = {
  id: "S22",
  title: "Populate edge cases: uAPI flags passed to the RMM, unaligned source_uaddr, size 0",
  affects: ["v8", "v10", "v12"],
  run(series, mk) {
    const host = Host.create({ series, seed: 1 });
    const rec = mk(host);
    const x = host.profile;
    if (x.populateUapi === "ioctl-in-place") {
      rec.notes.push("v13/v14 populate (struct updated in place, size 0, wrap, double populate) belongs to the RMM v2.0 host: not run by this module");
      rec.data.run = false;
      return { host, rec };
    }
    const img = image();
    const rmm = host.platform.rmm;
    const lastDataCreate = (from: number) => host.trace.slice(from).filter((l) => l.startsWith("SMC_RMI_DATA_CREATE ")).slice(-1)[0] ?? null;
    // flags, as posted: MEASURE is 1 in the uAPI and in the RMI
    const a = prepared(host);
    const ra = populateImage(a, img, 1);
    rec.data.flagsAsPosted = { ret: ra, measured: ra >= 0, rim: hex(rmm.realms.get(a.kvm.realm.rd / 4096)!.rim).slice(0, 16) };
    // flags with the uAPI MEASURE bit = 2
    const b = prepared(host);
    const fromB = host.trace.length;
    const rb = populateImage(b, img, 2);
    rec.data.flagsUapiBit2 = { ret: rb < 0 ? errnoName(rb) : rb, dataCreate: lastDataCreate(fromB) };
    rec.check("populate with the uAPI MEASURE bit = 2", { outcome: rb < 0 ? "error" : "ok" });
    // source alignment (only the v12 ioctl has a source address)
    if (x.populateUapi === "ioctl-int-bytes") {
      const c = prepared(host);
      const rc = populateImage(c, img, 1, SRC_VA + 0x800);
      const m = c.mappingOf(RAM);
      const got = m.pa === undefined ? new Uint8Array(0) : host.platform.machine.mem.read(Number(m.pa), 4096);
      const matches = got.length === 4096 && got.every((v, i) => v === img[i]);
      const shifted = got.length === 4096 && got.subarray(0x800).every((v, i) => v === img[i]) && got.subarray(0, 0x800).every((v) => v === 0);
      rec.data.unalignedSource = { ret: rc < 0 ? errnoName(rc) : rc, firstPageMatchesImage: matches, firstPageShiftedBy0x800: shifted };
      if (rc >= 0 && !matches) rec.mark("error", "unaligned source_uaddr accepted: the realm's measured contents are shifted by 0x800");
    } else {
      rec.data.unalignedSource = "n/a (v8/v10 populate from the shared alias: no source address)";
    }
    // size 0
    const d = prepared(host);
    const w0 = host.warnCount;
    const rd0 = rdExists(d);
    const r0 = populateImage(d, img, 1, SRC_VA, 0);
    rec.data.size0 = { ret: r0 < 0 ? errnoName(r0) : r0, warns: host.warnCount - w0, rdCreatedByIt: !rd0 && rdExists(d) };
    rec.check("populate with size 0");
    return { host, rec };
  },
};

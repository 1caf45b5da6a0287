/**
 * S22 — populate interface edge cases of the RMM v1.0 postings (v8 19/43 and v12 20/46
 * populate; the ioctls in src/kvm/rmi/populate.ts):
 *   flags: v8..v12 pass the uAPI flags to DATA_CREATE instead of the computed RMI flags (kernel
 *     test robot, v12 20/46). Harmless as posted (both MEASURE bits are 1). With the uAPI bit given
 *     another value (2 here): v12 DATA_CREATE gets flags 2, which the RMM refuses (RMI_ERROR_INPUT,
 *     -ENXIO); v8 19/43 checks `args->flags & ~RMI_MEASURE_CONTENT` (the RMI constant), so the
 *     ioctl fails with -EINVAL before any RMI call (v10 19/43 is not saved: v8 decides).
 *   source alignment (v12): source_uaddr is not checked (added in v13); kvm_gmem_populate copies
 *     whole source pages, so an unaligned source shifts the realm's initial contents (measured).
 *   size 0: v8/v10 populate nothing and return 0; v12 creates the RD, then kvm_gmem_populate's
 *     WARN_ON_ONCE(npages <= 0) fires and -EINVAL is returned [inferred from upstream].
 * RMM v2.0 postings (v13 24/48, v14 26/44 populate, the struct updated in place):
 *   size 0 (WARN), the same page populated twice, and RTT_DATA_MAP_INIT answering ERROR_RTT at
 *   level 3 (KVM_BUG_ON, then the RMI status returned as a page count).
 * Not run: the v12 `int` byte count for >= 2 GiB (needs a 2 GiB populate), the v13/v14 wrap.
 */
import type { Host } from "../host/host.js";
import { profileOf, type SeriesId } from "../kvm/series/index.js";
import { kvm_init_ipa_range_realm } from "../kvm/rmi/ripas.js";
import { kvm_create_realm } from "../kvm/rmi/realm.js";
import { kvm_arm_rmi_populate, kvm_populate_realm, VmmBuffer } from "../kvm/rmi/populate.js";
import { errnoName } from "../kvm/errno.js";
import { populate } from "../vmm/populate.js";
import type { RealmVm } from "../vmm/vm.js";
import { RAM, rdExists, newHost } from "./helpers.js";
import type { Recorder, ScenarioDef } from "./scenario.js";

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

/** v8..v12 (RMM v1.0): the uAPI flags passed to the RMM, an unaligned source_uaddr, size 0. */
function runRmm10(series: SeriesId, mk: (host: Host) => Recorder): { host: Host; rec: Recorder } {
  const host = newHost(series);
  const rec = mk(host);
  const x = host.profile;
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
}

/** v13/v14 (RMM v2.0): size 0 (WARN), double populate, RTT_DATA_MAP_INIT at L3 -> KVM_BUG_ON. */
function runRmm20(series: SeriesId, mk: (host: Host) => Recorder): { host: Host; rec: Recorder } {
  const host = newHost(series);
  const rec = mk(host);
  const vm = host.createRealm({ ipaBits: 40, memory: 16n << 20n, vcpus: 1, image: 0n });
  const k = vm.kvm;
  if (host.profile.uapi === "vmm-driven") kvm_create_realm(k);
  const base = Number(RAM);
  const page = new Uint8Array(4096).fill(0x5a);
  const z = populate(k, base, new Uint8Array(0), true);
  rec.data.sizeZero = { ret: errnoName(z), warns: host.warnCount };
  rec.check("populate size 0");
  const p1 = populate(k, base, page, true);
  const p2 = populate(k, base, page, true);
  rec.data.double = { first: p1 < 0 ? errnoName(p1) : p1, second: p2 < 0 ? errnoName(p2) : p2 };
  rec.check("populate the same page twice");
  // An RMM whose delegate skips already-delegated granules (spec clarification under
  // discussion): the map call then reports ERROR_RTT at level 3.
  host.inject({ rmi: host.platform.abi === "2.0" ? "RTT_DATA_MAP_INIT" : "DATA_CREATE", status: "RMI_ERROR_RTT", index: 3, count: 2 });
  const p3 = populate(k, base + 0x1000, page, true);
  rec.data.errorRttL3 = { ret: p3 < 0 ? errnoName(p3) : p3, vmBugged: k.vmBugged };
  // v13 24/48 / v14 26/44: KVM_BUG_ON does not return (no-op RTT creation, one retry), the
  // undelegated page's RMI status comes back from kvm_gmem_populate as a page count
  if (p3 > 0) rec.notes.push(`ERROR_RTT at level 3: KVM_BUG_ON, then realm_data_map_init returns the RMI status 0x304, which kvm_gmem_populate returns as 772 pages populated: KVM_ARM_RMI_POPULATE returns 0 with base advanced by ${p3} bytes and size underflowed (the summary says -EIO)`);
  rec.check("populate with ERROR_RTT at level 3");
  vm.start();
  rec.data.kvmRun = host.trace.filter((l) => l.startsWith("IOCTL: KVM_RUN(vcpu0) = ")).map((l) => l.slice(7));
  return { host, rec };
}

export const S22: ScenarioDef = {
  id: "S22",
  title: "Populate interface edge cases: flags, source alignment, size 0, double populate, ERROR_RTT at L3 (KVM_BUG_ON on v13/v14)",
  affects: ["v8", "v10", "v12", "v13", "v14"],
  run: (series, mk) => (profileOf(series).rmm === "2.0" ? runRmm20 : runRmm10)(series, mk),
};

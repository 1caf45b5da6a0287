/**
 * Issue 10, area "run": RECs, enter/exit handling, RIPAS init and change, populate, activation,
 * checked against the posted code (../shared/reference/postings). Each case drives the Host API
 * into one path and asserts what the posting does there: RMI calls after the failure point, the
 * errno, WARNs, pages leaked or still referenced.
 */
import { describe, it, expect } from "vitest";
import { Host } from "../../src/host/host.js";
import { SERIES_IDS, type SeriesId } from "../../src/kvm/series/index.js";
import { runSync } from "../../src/sched/coop.js";
import { kvm_vcpu_run } from "../../src/kvm/arm.js";
import { untilDone } from "../../src/sched/run-control.js";
import { handle_rec_exit } from "../../src/kvm/rmi-exit.js";
import { handle_rec_exit as handle_rec_exit_sync } from "../../src/kvm-sync/rmi-exit.js";
import { kvm_create_rec, kvm_destroy_rec } from "../../src/kvm/rmi/rec.js";
import { REC_RUN, RmiExitReason } from "../../src/rmm/abi/rec-params.js";
import { kvm_finalize_rec } from "../../src/kvm/rmi/lifecycle.js";
import { populate } from "../../src/vmm/populate.js";
import { kvm_create_realm } from "../../src/kvm/rmi/realm.js";
import { kvm_init_ipa_range_realm } from "../../src/kvm/rmi/ripas.js";
import { kvm_arm_rmi_populate, kvm_populate_realm, VmmBuffer } from "../../src/kvm/rmi/populate.js";
import type { RealmVm } from "../../src/vmm/vm.js";
import { interleave } from "../../src/sched/sched.js";
import { psciOps, realmMpidr } from "../../src/guest/guest.js";

const RAM = 0x8000_0000n;
const SRC_VA = 0x7f00_0000_0000;

function smcs(host: Host, from = 0): string[] {
  return host.trace.slice(from).filter((l) => l.startsWith("SMC_RMI_")).map((l) => l.split(" ")[0]!.replace("SMC_RMI_", ""));
}

function started(series: SeriesId, vcpus = 1): { host: Host; vm: RealmVm } {
  const host = Host.create({ series, seed: 1 });
  const vm = host.createRealm({ ipaBits: 40, memory: 16n << 20n, vcpus });
  expect(vm.start().ok).toBe(true);
  return { host, vm };
}

/** One KVM_RUN of vcpu `i` with the realm code `guest` (the RMM's guest hook) until an exit to userspace. */
function runWith(host: Host, vm: RealmVm, guest: (v: Parameters<NonNullable<typeof host.platform.rmm.guest>>[0]) => void, i = 0) {
  const prev = host.platform.rmm.guest;
  host.platform.rmm.guest = guest;
  try {
    return runSync(kvm_vcpu_run(vm.kvm.vcpus[i]!, untilDone(vm.entry, () => false, () => 0, 50)));
  } finally {
    host.platform.rmm.guest = prev;
  }
}

describe("handle_rec_exit (v9 16/43, v12 16/46, v13 20/48, v14 22/44 rmi-exit.c)", () => {
  for (const series of SERIES_IDS) {
    it(`${series}: an instruction abort on an unmapped protected page is rec_exit_sync_iabt: -ENXIO, nothing mapped`, () => {
      const { host, vm } = started(series);
      const ipa = RAM + 0x40_0000n;
      const w = host.warnCount;
      const from = host.trace.length;
      const t = vm.touch(ipa, { access: "exec" });
      expect(t.outcome).toBe("error");
      expect(t.errno).toBe("-ENXIO");
      // no stage-2 fault handling after the exit: only REC_ENTER, no map / RTT call
      expect(smcs(host, from).every((c) => c === "REC_ENTER")).toBe(true);
      expect(vm.mappingOf(ipa).state).not.toMatch(/^ASSIGNED/);
      expect(host.warnCount).toBe(w); // vcpu_err, no WARN
      // a data abort on the same page is still handled (rec_exit_sync_dabt)
      expect(vm.touch(ipa, { access: "write" }).outcome).toBe("ok");
    });

    it(`${series}: a host call exit has no case: KVM_EXIT_INTERNAL_ERROR, KVM_RUN returns 0, no WARN`, () => {
      const { host, vm } = started(series);
      const w = host.warnCount;
      const r = runWith(host, vm, (v) => {
        v.hostCall(7);
      });
      expect(r.ret).toBe(0);
      expect(vm.kvm.vcpus[0]!.lastExit).toEqual({ kind: "internal-error", reason: RmiExitReason.RMI_EXIT_HOST_CALL });
      expect(host.warnCount).toBe(w);
    });
  }

  it("RMI_EXIT_SERROR: v14 resumes (1), v8..v13 KVM_EXIT_INTERNAL_ERROR (0); the generator and its generated non-yielding form agree", () => {
    for (const series of SERIES_IDS) {
      const { host, vm } = started(series);
      const v = vm.kvm.vcpus[0]!;
      host.platform.ns.writeU64(BigInt(v.rec.run + REC_RUN.exit.exit_reason), BigInt(RmiExitReason.RMI_EXIT_SERROR));
      const direct = handle_rec_exit_sync(v, 0);
      const gen = runSync(handle_rec_exit(v, 0));
      expect([direct, gen]).toEqual(series === "v14" ? [1, 1] : [0, 0]);
      if (series !== "v14") expect(v.lastExit).toEqual({ kind: "internal-error", reason: RmiExitReason.RMI_EXIT_SERROR });
    }
  });

  it("a SYNC exit with an EC other than SYS64/DABT/IABT is rec_exit_reason_notimpl: -ENXIO (both paths)", () => {
    const { host, vm } = started("v12");
    const v = vm.kvm.vcpus[0]!;
    const run = BigInt(v.rec.run);
    host.platform.ns.writeU64(run + BigInt(REC_RUN.exit.exit_reason), BigInt(RmiExitReason.RMI_EXIT_SYNC));
    host.platform.ns.writeU64(run + BigInt(REC_RUN.exit.esr), 0x01n << 26n); // EC WFx
    expect(handle_rec_exit_sync(v, 0)).toBe(-6);
    expect(runSync(handle_rec_exit(v, 0))).toBe(-6);
    host.platform.ns.writeU64(run + BigInt(REC_RUN.exit.esr), 0x18n << 26n); // EC SYS64: kvm_handle_sys_reg
    expect(handle_rec_exit_sync(v, 0)).toBe(1);
    expect(runSync(handle_rec_exit(v, 0))).toBe(1);
  });
});

describe("v14 kvm_rec_complete_psci (v14 rmi.c): realm_psci_complete's result is ignored", () => {
  it("a failing PSCI_COMPLETE does not fail KVM_RUN (the model returned -EINVAL); the next REC_ENTER still happens", () => {
    const host = Host.create({ series: "v14", seed: 1 });
    const vm = host.createRealm({ ipaBits: 40, memory: 16n << 20n, vcpus: 2 });
    host.inject({ rmi: "PSCI_COMPLETE", status: "RMI_ERROR_INPUT" });
    const s = vm.start();
    const run0 = s.steps.find((x) => x.ioctl === "KVM_RUN(vcpu0)");
    expect(run0?.ret).not.toBe("-EINVAL");
    const calls = smcs(host);
    const i = calls.indexOf("PSCI_COMPLETE");
    expect(i).toBeGreaterThan(0);
    expect(calls.slice(i + 1)).toContain("REC_ENTER");
    expect(host.trace.some((l) => l.includes("kvm_rec_complete_psci: PSCI_COMPLETE returned"))).toBe(true);
  });
});

describe("kvm_init_ipa_range_realm (v9 15/43 stands in for v8/v10 15): no alignment check", () => {
  for (const series of ["v8", "v10"] as const) {
    it(`${series}: an unaligned base reaches RTT_INIT_RIPAS; its error is ripas_change's WARN_ON(1) and -ENXIO`, () => {
      const host = Host.create({ series, seed: 1 });
      const vm = host.createRealm({ ipaBits: 40, memory: 16n << 20n, vcpus: 1, image: 0n });
      expect(kvm_create_realm(vm.kvm)).toBe(0);
      const from = host.trace.length;
      const w = host.warnCount;
      expect(kvm_init_ipa_range_realm(vm.kvm, Number(RAM) + 0x800, 0x1000)).toBe(-6);
      expect(smcs(host, from)).toEqual(["RTT_INIT_RIPAS"]);
      expect(host.warnCount).toBe(w + 1);
      // a wrapping range is still refused before any RMI call
      expect(kvm_init_ipa_range_realm(vm.kvm, 2 ** 64 - 0x1000, 0x2000)).toBe(-22);
    });
  }
});

describe("kvm_create_rec's unwind: rec->run (v10 11/43, v12 12/46 leave it set; v13 17/48 clears it)", () => {
  it("v10: a failed KVM_ARM_VCPU_FINALIZE leaves rec->run dangling: the retry is -EBUSY, KVM_RUN is -EPERM, destroy WARNs", () => {
    const host = Host.create({ series: "v10", seed: 1 });
    const vm = host.createRealm({ ipaBits: 40, memory: 16n << 20n, vcpus: 1, image: 0n });
    const k = vm.kvm;
    expect(kvm_create_realm(k)).toBe(0);
    host.inject({ rmi: "REC_CREATE", status: "RMI_ERROR_INPUT" });
    const v = k.vcpus[0]!;
    const from = host.trace.length;
    expect(kvm_finalize_rec(v, vm.entry)).toBe(-6);
    // REC_CREATE failed -> free_rec_aux (undelegate each aux granule), undelegate the REC page
    const after = smcs(host, from);
    expect(after.slice(after.indexOf("REC_CREATE"))).toEqual(["REC_CREATE", ...Array(k.realm.numAux).fill("GRANULE_UNDELEGATE"), "GRANULE_UNDELEGATE"]);
    expect(kvm_finalize_rec(v, vm.entry)).toBe(-16); // `if (rec->run) return -EBUSY;`
    const r = runSync(kvm_vcpu_run(v, untilDone(vm.entry, () => true, () => 0)));
    expect(r.ret).toBe(-1); // kvm_arm_vcpu_is_finalized: -EPERM (the model said -ENOEXEC)
    const w = host.warnCount;
    const from2 = host.trace.length;
    kvm_destroy_rec(v); // from kvm_arm_vcpu_destroy
    // kvm_destroy_rec: free_page(rec->run) again, REC_DESTROY on the freed REC page -> WARN
    expect(smcs(host, from2)).toEqual(["REC_DESTROY"]);
    expect(host.warnCount).toBe(w + 1);
    expect(k.flags.some((f) => f.includes("double free"))).toBe(true);
  });

  for (const series of ["v12", "v13"] as const) {
    it(`${series}: vCPU 0's REC_CREATE fails at activation; destroy ${series === "v12" ? "REC_DESTROYs the freed page (WARN)" : "has nothing to do for it"}`, () => {
      const host = Host.create({ series, seed: 1 });
      const vm = host.createRealm({ ipaBits: 40, memory: 16n << 20n, vcpus: 2 });
      host.inject({ rmi: "REC_CREATE", status: "RMI_ERROR_INPUT" });
      const s = vm.start();
      expect(s.ok).toBe(false);
      expect(vm.state).toBe("DEAD");
      const v0 = vm.kvm.vcpus[0]!;
      expect(v0.rec.stale).toBe(series === "v12");
      // the next KVM_RUN: v12 activation again -> realm_ensure_created on DEAD: -ENXIO; v13: state
      // >= ACTIVE returns 0, then kvm_rec_pre_enter on a DEAD realm: -EINVAL (the model said -ENOEXEC)
      const r = runSync(kvm_vcpu_run(v0, untilDone(vm.entry, () => true, () => 0)));
      expect(r.ret).toBe(series === "v12" ? -6 : -22);
      const w = host.warnCount;
      const from = host.trace.length;
      for (const v of vm.kvm.vcpus) kvm_destroy_rec(v); // kvm_arm_vcpu_destroy, per vCPU
      // v12: REC_DESTROY of vCPU 0's freed REC page (WARN); vCPU 1 never got a REC: nothing to do
      expect(smcs(host, from)).toEqual(series === "v12" ? ["REC_DESTROY"] : []);
      expect(host.warnCount - w).toBe(series === "v12" ? 1 : 0);
    });
  }

  it("v14: an SRO failure inside rmi_rec_create is -ENXIO from kvm_create_rec (not the SRO's errno)", () => {
    const host = Host.create({ series: "v14", seed: 1 });
    const vm = host.createRealm({ ipaBits: 40, memory: 16n << 20n, vcpus: 1, image: 0n });
    // make the RD exist, then let the first aux donation's page allocation fail
    expect(populate(vm.kvm, Number(RAM), new Uint8Array(0), true)).toBe(-22); // kvm_gmem_populate: npages <= 0
    host.inject({ alloc: "page", nth: 4 });
    expect(kvm_create_rec(vm.kvm.vcpus[0]!, vm.entry)).toBe(-6);
  });
});

describe("populate, v8 19/43 kvm_populate_realm / populate_region", () => {
  function prepared(series: "v8" | "v10"): { host: Host; vm: RealmVm } {
    const host = Host.create({ series, seed: 1 });
    const vm = host.createRealm({ ipaBits: 40, memory: 16n << 20n, vcpus: 1, image: 0n });
    expect(kvm_create_realm(vm.kvm)).toBe(0);
    expect(kvm_init_ipa_range_realm(vm.kvm, Number(RAM), 16 << 20)).toBe(0);
    return { host, vm };
  }

  it("no memslot at base: -EFAULT (the model said -EINVAL); a range running past the memslot: -EINVAL before any DATA_CREATE", () => {
    const { host, vm } = prepared("v8");
    expect(kvm_populate_realm(vm.kvm, { base: Number(RAM) - 0x20_0000, size: 0x1000, flags: 1 })).toBe(-14);
    const from = host.trace.length;
    // the last 2 MiB part starts inside the memslot and ends 4 KiB past it
    expect(kvm_populate_realm(vm.kvm, { base: Number(RAM) + (16 << 20) - 0x1000, size: 0x2000, flags: 1 })).toBe(-22);
    expect(smcs(host, from)).toEqual([]);
  });

  it("flags are checked against RMI_MEASURE_CONTENT (`args->flags & ~RMI_MEASURE_CONTENT`): a uAPI MEASURE bit of 2 is -EINVAL, no RMI call", () => {
    const { host, vm } = prepared("v10");
    const from = host.trace.length;
    expect(kvm_populate_realm(vm.kvm, { base: Number(RAM), size: 0x1000, flags: 2 }, 2)).toBe(-22);
    expect(smcs(host, from)).toEqual([]);
  });

  it("a failing DATA_CREATE: the granule is undelegated, -ENXIO, and the guest_memfd reference is never dropped", () => {
    const { host, vm } = prepared("v8");
    const k = vm.kvm;
    host.inject({ rmi: "DATA_CREATE", status: "RMI_ERROR_INPUT" });
    const from = host.trace.length;
    expect(kvm_populate_realm(k, { base: Number(RAM), size: 0x1000, flags: 1 })).toBe(-6);
    expect(smcs(host, from)).toEqual(["GRANULE_DELEGATE", "DATA_CREATE", "GRANULE_UNDELEGATE"]);
    const pa = k.memslots[0]!.gmem!.pages.get(Number(RAM) / 4096)!;
    // guest_memfd's own reference + kvm_gmem_get_pfn's, which populate_region never puts
    expect(host.pages.page(pa)!.refcount).toBe(2);
  });
});

describe("populate, v13 24/48 / v14 26/44: realm_data_map_init and kvm_gmem_populate", () => {
  for (const series of ["v13", "v14"] as const) {
    it(`${series}: ERROR_RTT at level 3: KVM_BUG_ON, create (no-op) and one retry, undelegate; the RMI status is read as a page count`, () => {
      const host = Host.create({ series, seed: 1 });
      const vm = host.createRealm({ ipaBits: 40, memory: 16n << 20n, vcpus: 1, image: 0n });
      const k = vm.kvm;
      const buf = new VmmBuffer(k, SRC_VA, new Uint8Array(4096).fill(0x5a));
      // size 0: realm_ensure_created (the RD), then kvm_gmem_populate's WARN_ON_ONCE(npages <= 0)
      expect(kvm_arm_rmi_populate(k, { base: Number(RAM), size: 0, flags: 1, sourceUaddr: SRC_VA, reserved: 0 }, buf)).toBe(-22);
      expect(host.warnCount).toBe(1);
      host.inject({ rmi: "RTT_DATA_MAP_INIT", status: "RMI_ERROR_RTT", index: 3, count: 2 });
      const w = host.warnCount;
      const from = host.trace.length;
      const args = { base: Number(RAM), size: 0x1000, flags: 1, sourceUaddr: SRC_VA, reserved: 0 };
      expect(kvm_arm_rmi_populate(k, args, buf)).toBe(0);
      expect(smcs(host, from)).toEqual(["GRANULE_RANGE_DELEGATE", "RTT_DATA_MAP_INIT", "RTT_DATA_MAP_INIT", "GRANULE_RANGE_UNDELEGATE"]);
      expect(k.vmBugged).toBe(true);
      expect(host.warnCount).toBe(w + 1);
      // ERROR_RTT | 3 << 8 = 0x304 = 772 "pages": base and source advance 772 pages, size underflows
      expect(args.base).toBe(Number(RAM) + 772 * 4096);
      expect(args.sourceUaddr).toBe(SRC_VA + 772 * 4096);
      expect(args.size).toBe(2 ** 64 - 771 * 4096);
      // kvm_gmem_populate's folio_put: no reference left beyond guest_memfd's own
      const pa = k.memslots[0]!.gmem!.pages.get(Number(RAM) / 4096)!;
      expect(host.pages.page(pa)!.refcount).toBe(1);
      buf.free();
    });
  }

  it("v13: a populated page keeps no extra guest_memfd reference (kvm_gmem_populate puts its folio)", () => {
    const host = Host.create({ series: "v13", seed: 1 });
    const vm = host.createRealm({ ipaBits: 40, memory: 16n << 20n, vcpus: 1, image: 0n });
    const k = vm.kvm;
    const buf = new VmmBuffer(k, SRC_VA, new Uint8Array(8192).fill(1));
    const args = { base: Number(RAM), size: 0x2000, flags: 1, sourceUaddr: SRC_VA, reserved: 0 };
    expect(kvm_arm_rmi_populate(k, args, buf)).toBe(0);
    expect(args).toMatchObject({ base: Number(RAM) + 0x2000, size: 0, sourceUaddr: SRC_VA + 0x2000 });
    for (const off of [0, 0x1000]) expect(host.pages.page(k.memslots[0]!.gmem!.pages.get((Number(RAM) + off) / 4096)!)!.refcount).toBe(1);
    buf.free();
  });
});

describe("v13 17/48 RECs: plain REC_CREATE with the aux granules in RecParams (SRO only from v14 19/44)", () => {
  it("v13 activation: REC_AUX_COUNT at RD creation, then per vCPU delegate REC + aux, REC_CREATE; no SRO operation", () => {
    const { host, vm } = started("v13", 2);
    const calls = smcs(host);
    expect(calls).toContain("REC_AUX_COUNT");
    expect(calls.filter((c) => c === "REC_CREATE").length).toBe(2);
    expect(calls.some((c) => c.startsWith("OP_"))).toBe(false);
    expect(host.stats().granules.REC_AUX).toBe(2 * vm.kvm.realm.numAux);
    const from = host.trace.length;
    for (const v of vm.kvm.vcpus) kvm_destroy_rec(v);
    // REC_DESTROY, then free_rec_aux (undelegate each aux page), then the REC page
    expect(smcs(host, from)).toEqual(Array(2).fill(["REC_DESTROY", ...Array(vm.kvm.realm.numAux).fill("GRANULE_RANGE_UNDELEGATE"), "GRANULE_RANGE_UNDELEGATE"]).flat());
  });

  for (const series of ["v12", "v13"] as const) {
    it(`${series}: the third aux delegate fails: ${series === "v13" ? "the two earlier aux pages are undelegated and never freed" : "free_rec_aux undelegates and frees the two earlier aux pages"}`, () => {
      const host = Host.create({ series, seed: 1 });
      const vm = host.createRealm({ ipaBits: 40, memory: 16n << 20n, vcpus: 1, image: 0n });
      const k = vm.kvm;
      expect(populate(k, Number(RAM), new Uint8Array(0), true)).toBe(-22); // creates the RD, then WARNs (npages <= 0)
      const delegate = series === "v12" ? "GRANULE_DELEGATE" : "GRANULE_RANGE_DELEGATE";
      const undelegate = series === "v12" ? "GRANULE_UNDELEGATE" : "GRANULE_RANGE_UNDELEGATE";
      host.inject({ rmi: delegate, nth: 4, status: "RMI_ERROR_INPUT" }); // REC page, aux 0, aux 1, aux 2 (fails)
      const leaked0 = host.stats().leakedPages;
      const from = host.trace.length;
      expect(kvm_create_rec(k.vcpus[0]!, vm.entry)).toBe(-6);
      // after the failed delegate: the two aux pages (v13: highest first; v12: free_rec_aux order), then the REC page
      expect(smcs(host, from)).toEqual([delegate, delegate, delegate, delegate, undelegate, undelegate, undelegate]);
      expect(host.stats().leakedPages - leaked0).toBe(series === "v13" ? 2 : 0);
      expect(host.warnCount).toBe(1); // kvm_gmem_populate's npages <= 0 only: no WARN on this unwind
    });
  }
});

describe("the same paths through the scheduler (vCPU threads, src/sched interleave)", () => {
  it("v14: vCPU 0's CPU_ON with a failing PSCI_COMPLETE, interleaved with vCPU 1: no KVM_RUN ends in -EINVAL", () => {
    const host = Host.create({ series: "v14", seed: 1 });
    const vm = host.createRealm({ ipaBits: 40, memory: 16n << 20n, vcpus: 2 });
    expect(vm.start().ok).toBe(true);
    vm.run(1, [psciOps.cpuOff()]);
    host.inject({ rmi: "PSCI_COMPLETE", status: "RMI_ERROR_INPUT" });
    const { threads } = vm.raceThreads([
      { vcpu: 0, ops: [psciOps.cpuOn(realmMpidr(1), vm.entry)] },
      { vcpu: 1, ops: [{ kind: "access", ipa: RAM + 0x3000n, access: "read" }] },
    ]);
    const { results } = interleave(threads, (runnable) => runnable[0]!);
    expect(results[0]!.ret).not.toBe(-22);
    expect(host.trace.some((l) => l.includes("kvm_rec_complete_psci: PSCI_COMPLETE returned"))).toBe(true);
  });

  it("v12: an instruction fetch on vCPU 1's thread ends its KVM_RUN with -ENXIO while vCPU 0 maps a page", () => {
    const { host, vm } = started("v12", 2);
    const { threads } = vm.raceThreads([
      { vcpu: 0, ops: [{ kind: "access", ipa: RAM + 0x50_0000n, access: "write" }] },
      { vcpu: 1, ops: [{ kind: "access", ipa: RAM + 0x60_0000n, access: "exec" }] },
    ]);
    const { results } = interleave(threads, (runnable) => runnable[runnable.length - 1]!);
    expect(results[1]!.ret).toBe(-6);
    expect(vm.mappingOf(RAM + 0x50_0000n).state).toMatch(/^ASSIGNED/);
    expect(vm.mappingOf(RAM + 0x60_0000n).state).not.toMatch(/^ASSIGNED/);
    expect(host.warnCount).toBe(0);
  });
});

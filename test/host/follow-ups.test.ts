/**
 * Host model follow-ups (issue 4, notes/host-issues.md): vm.start() reports the real KVM_RUN errno
 * once; the former series/extra.ts variation points are SeriesProfile fields that overrides reach;
 * kvm-arm.mode is a HostOptions field.
 */
import { describe, it, expect } from "vitest";
import { Host } from "../../src/host/host.js";
import { vcpuDebugState } from "../../src/kvm/arm.js";
import { kvm_realm_vhe_check } from "../../src/kvm/vgic.js";
import { PROFILES, SERIES_IDS } from "../../src/kvm/series/index.js";
import { populate } from "../../src/vmm/populate.js";

const RAM = 0x8000_0000n;

describe("vm.start() reports a failed KVM_RUN with its real errno, once", () => {
  it("v12 without an in-kernel irqchip: the step and the single trace line say -EOPNOTSUPP", () => {
    const host = Host.create({ series: "v12", seed: 1 });
    const vm = host.createRealm({ ipaBits: 40, memory: 16n << 20n, irqchip: false });
    const s = vm.start();
    expect(s.ok).toBe(false);
    expect(s.steps.at(-1)).toEqual({ ioctl: "KVM_RUN(vcpu0)", ret: "-EOPNOTSUPP" });
    const runs = host.trace.filter((l) => l.startsWith("IOCTL: KVM_RUN(vcpu0)"));
    expect(runs).toEqual(["IOCTL: KVM_RUN(vcpu0) = -EOPNOTSUPP"]);
    expect(host.trace.some((l) => l.includes("EPERM"))).toBe(false);
  });

  it("v13 after KVM_BUG_ON in populate: KVM_RUN fails with -EIO, logged once, no -EPERM", () => {
    const host = Host.create({ series: "v13", seed: 1 });
    const vm = host.createRealm({ ipaBits: 40, memory: 16n << 20n, image: 0n });
    host.inject({ rmi: "RTT_DATA_MAP_INIT", status: "RMI_ERROR_RTT", index: 3, count: 2 });
    // v13 24/48: the raw RMI status (ERROR_RTT index 3 = 0x304) comes back from
    // kvm_gmem_populate as 772 "pages populated": the ioctl returns 0, base advances 772 pages.
    expect(populate(vm.kvm, Number(RAM), new Uint8Array(4096), true)).toBe(0x304 * 4096);
    expect(vm.kvm.vmBugged).toBe(true);
    const s = vm.start();
    expect(s.ok).toBe(false);
    expect(s.steps).toEqual([{ ioctl: "KVM_RUN(vcpu0)", ret: "-EIO" }]);
    expect(host.trace.filter((l) => l.startsWith("IOCTL: KVM_RUN(vcpu0)"))).toEqual(["IOCTL: KVM_RUN(vcpu0) = -EIO"]);
  });

  it("a successful start logs each KVM_RUN once with 0", () => {
    const host = Host.create({ series: "v14", seed: 1 });
    const vm = host.createRealm({ ipaBits: 40, memory: 16n << 20n, vcpus: 2 });
    const s = vm.start();
    expect(s.ok).toBe(true);
    expect(s.steps.filter((x) => x.ioctl.startsWith("KVM_RUN"))).toEqual([{ ioctl: "KVM_RUN(vcpu0)", ret: "0" }, { ioctl: "KVM_RUN(vcpu1)", ret: "0" }]);
    expect(host.trace.filter((l) => l.startsWith("IOCTL: KVM_RUN("))).toEqual(["IOCTL: KVM_RUN(vcpu0) = 0", "IOCTL: KVM_RUN(vcpu1) = 0"]);
  });
});

describe("per-posting variation points live in SeriesProfile (series/extra.ts merged)", () => {
  it("every profile has the run-path, vGIC and populate fields, with the values of §5/§6", () => {
    const pick = (id: (typeof SERIES_IDS)[number]) => {
      const p = PROFILES[id]!;
      return [p.ripasTopWrittenOnError, p.firstRunIrqchipCheck, p.recDebugLoadPut, p.gicStateVia, p.vheRequired, p.populateUapi, p.populateChecksSourceAlignment];
    };
    expect(pick("v8")).toEqual([true, true, "balanced", "rec_run", false, "cap-populate-realm", false]);
    expect(pick("v10")).toEqual([false, true, "balanced", "rec_run", false, "cap-populate-realm", false]);
    expect(pick("v12")).toEqual([false, false, "balanced", "rec_run", false, "ioctl-int-bytes", false]);
    expect(pick("v13")).toEqual([false, false, "balanced", "sysregs", false, "ioctl-in-place", true]);
    expect(pick("v14")).toEqual([false, false, "load-only", "sysregs", true, "ioctl-in-place", true]);
  });

  it("overrides reach them: v14 with a balanced debug put (S27 fixed) keeps depth 0", () => {
    const run = (overrides?: { recDebugLoadPut: "balanced" }) => {
      const host = Host.create(overrides ? { series: "v14", seed: 1, overrides } : { series: "v14", seed: 1 });
      const vm = host.createRealm({ ipaBits: 40, memory: 16n << 20n });
      vm.start();
      for (let i = 0n; i < 3n; i++) vm.touch(RAM + 0x10000n + i * 0x1000n, { access: "write" });
      return vcpuDebugState(vm.kvm.vcpus[0]!).depth;
    };
    expect(run()).toBeGreaterThanOrEqual(4);
    expect(run({ recDebugLoadPut: "balanced" })).toBe(0);
  });

  it("overrides reach them: v12 with the v8/v10 first-run irqchip check never creates the RD", () => {
    const go = (firstRunIrqchipCheck?: boolean) => {
      const host = Host.create(firstRunIrqchipCheck === undefined ? { series: "v12", seed: 1 } : { series: "v12", seed: 1, overrides: { firstRunIrqchipCheck } });
      const vm = host.createRealm({ ipaBits: 40, memory: 16n << 20n, irqchip: false, image: 0n });
      const s = vm.start();
      return { ret: s.steps.at(-1)!.ret, state: vm.state, rd: host.granules().RD };
    };
    expect(go()).toEqual({ ret: "-EOPNOTSUPP", state: "DEAD", rd: 1 });
    expect(go(true)).toEqual({ ret: "-EOPNOTSUPP", state: "NONE", rd: 0 });
  });
});

describe("HostOptions.kvmArmMode", () => {
  it("defaults to VHE; nVHE disables realms on v14 only", () => {
    expect(Host.create({ series: "v14" }).kvmArmMode).toBe("vhe");
    expect(kvm_realm_vhe_check(Host.create({ series: "v14", kvmArmMode: "nvhe" }))).toBe(-22);
    expect(kvm_realm_vhe_check(Host.create({ series: "v13", kvmArmMode: "nvhe" }))).toBe(0);
    expect(kvm_realm_vhe_check(Host.create({ series: "v14", kvmArmMode: "vhe" }))).toBe(0);
  });

  it("rejects anything else, naming the option", () => {
    expect(() => Host.create({ series: "v14", kvmArmMode: "hvhe" as never })).toThrow(/kvmArmMode/);
  });
});

describe("bad guest addresses (acceptance F5)", () => {
  it("a negative IPA is refused with a readable number, naming the call, and changes nothing", () => {
    const host = Host.create({ series: "v12", seed: 1 });
    const vm = host.createRealm({ ipaBits: 40, memory: 16n << 20n });
    vm.start();
    const calls = host.rmiCalls;
    expect(() => vm.touch(-1n, { access: "write" })).toThrow("touch: IPA must be non-negative, got -1");
    expect(() => vm.share(-0x1000n, 0x1000n)).toThrow(/^share: IPA must be non-negative, got -4096$/);
    expect(() => vm.vmmWrite(-8n, new Uint8Array(1))).toThrow(/vmmWrite: gpa must be a non-negative bigint/);
    expect(host.rmiCalls).toBe(calls);
  });
});

describe("realm_fold_rtt_level as posted (issue 2)", () => {
  it("v12: after a 2 MiB private unmap the fold is issued at ALIGN(addr, 1 GiB) (rounded up), misses the L3 table and leaves it", () => {
    const host = Host.create({ series: "v12", seed: 1 });
    const vm = host.createRealm({ ipaBits: 40, memory: 64n << 20n });
    vm.start();
    const B = RAM + (8n << 20n); // 0x80800000: 2 MiB aligned, not 1 GiB aligned
    vm.touch(B + 0x1000n, { access: "write" });
    expect(vm.mappingOf(B + 0x1000n)).toMatchObject({ level: 3, state: "ASSIGNED_RAM" });
    const n0 = host.trace.length;
    expect(vm.share(B, 2n << 20n).outcome).toBe("ok");
    const folds = host.trace.slice(n0).filter((l) => l.startsWith("SMC_RMI_RTT_FOLD"));
    expect(folds.length).toBeGreaterThan(0);
    // private alias: ALIGN(0x80800000, 1 GiB) = 0xc0000000; shared alias: 0x8080800000 -> 0x80c0000000
    for (const l of folds) expect(l.split(" ")[2]).toMatch(/^(80)?c0000000$/);
    expect(folds.every((l) => l.endsWith("> RMI_ERROR_RTT 1"))).toBe(true);
    // the L3 table under B is still there although it is homogeneous (every entry UNASSIGNED EMPTY):
    // an RTT_FOLD at B itself (ALIGN_DOWN) would have folded it
    expect(vm.mappingOf(B + 0x1000n)).toMatchObject({ level: 3, state: "UNASSIGNED_EMPTY" });
    const rtts = host.granules().RTT;
    expect(host.rmi.rtt_fold(vm.kvm.realm.rd, Number(B), 3).ret).toBe(0);
    expect(host.granules().RTT).toBe(rtts - 1);
  });

  it("v12: the teardown unmap starts at 0 (1 GiB aligned), so there the fold walk does reach the tables", () => {
    const host = Host.create({ series: "v12", seed: 1 });
    const vm = host.createRealm({ ipaBits: 40, memory: 64n << 20n });
    vm.start();
    vm.touch(RAM + (8n << 20n), { access: "write" });
    const n0 = host.trace.length;
    vm.destroy();
    const folds = host.trace.slice(n0).filter((l) => l.startsWith("SMC_RMI_RTT_FOLD"));
    expect(folds.some((l) => l.split(" ")[2] === "80000000" && l.includes(" 2 > "))).toBe(true);
  });
});

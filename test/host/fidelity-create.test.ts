/**
 * Issue 10, area "create": realm creation, RMI init, the rmi_cmds.h wrappers and the SRO loop,
 * each case asserting what the posted code does on that path (RMI calls after the failure point,
 * errno, WARNs, pages leaked or still held). Plus issue 11 defect 8 (the params page after a
 * failed KVM_CREATE_VM).
 *
 * Failure cases:
 *  C1 KVM_CREATE_VM: the PGD allocation fails (first allocation): -ENOMEM, nothing allocated
 *  C2 KVM_CREATE_VM: the params page fails: v8..v13 leak the PGD (err_free_cpumask), v14 frees it
 *  C3 realm_create_rd: the RD allocation fails: -ENOMEM, VMID released, params stay with the VM
 *  C4 v8 realm_create_rd: REC_AUX_COUNT fails, `r` uninitialised (stale 0 / garbage)
 *  C5 v13 realm_create_rd: REALM_CREATE fails, undelegate_range(pgd, i) with i uninitialised
 *  C6 kvm_init_rmi v8..v12: RMI_VERSION, RMI_FEATURES(0); failures leave realm support off
 *  C7 kvm_init_rmi v13/v14: RMM_CONFIG_SET failing is -EINVAL
 *  C8 v13/v14 wrappers: RMI_INCOMPLETE from GRANULE_RANGE_DELEGATE / RTT_DATA_MAP / GPT_L1_CREATE
 *  C9 rmi_sro_execute: a donation that cannot be allocated returns -ENOMEM, no RMI_OP_CANCEL
 *  C10 rmi_sro_execute: OP_MEM_DONATE's error status is the result (not checked, no WARN)
 *  C11 v8/v10 KVM_CAP_ARM_RME_CONFIG_REALM (kvm_rme_config_realm)
 *  C12 the `long level` argument of the RTT wrappers (-1 is all ones)
 *  C13 v14 rmi_rec_create: the first SMC of the SRO retried while BUSY
 */
import { describe, expect, it } from "vitest";
import { Host } from "../../src/host/host.js";
import { RealmStateK } from "../../src/kvm/kvm.js";
import {
  ARM_RME_CONFIG_HASH_ALGO, ARM_RME_CONFIG_HASH_ALGO_SHA256, ARM_RME_CONFIG_RPV, kvm_create_realm, kvm_rme_config_realm, realm_ensure_created,
} from "../../src/kvm/rmi/realm.js";
import { kvm_init_rmi, rmiUnavailableReason } from "../../src/kvm/rmi/init.js";
import { RMI_INCOMPLETE } from "../../src/kvm/rmi_cmds.js";
import { rmi_sro_execute } from "../../src/kvm/rmi/sro.js";
import { SERIES_IDS } from "../../src/kvm/series/index.js";

const RMM_V1 = ["v8", "v10", "v12"] as const;
const RMM_V2 = ["v13", "v14"] as const;

/** SMC names in the trace from `from` on (RMI_ prefix dropped). */
function smcs(host: Host, from = 0): string[] {
  return host.trace.slice(from).filter((l) => l.startsWith("SMC_RMI_")).map((l) => l.split(" ")[0]!.replace("SMC_RMI_", ""));
}

function create(host: Host): number {
  const k = host.vms.at(-1)!.kvm;
  return host.profile.uapi === "vmm-driven" ? kvm_create_realm(k) : realm_ensure_created(k);
}

describe("C1/C2 KVM_CREATE_VM: PGD then params (kvm_arch_init_vm), issue 11 defect 8", () => {
  for (const series of SERIES_IDS) {
    it(`${series}: the PGD allocation failing leaves nothing allocated`, () => {
      const host = Host.create({ series, seed: 1 });
      const used = host.pages.usedPages;
      host.inject({ alloc: "page", nth: 1 });
      expect(() => host.createRealm({ ipaBits: 40 })).toThrow(/KVM_CREATE_VM returns -ENOMEM/);
      expect(host.pages.usedPages).toBe(used);
      expect(host.pages.leakedPages).toBe(0);
      expect(host.vms).toHaveLength(0);
    });
    it(`${series}: the params page failing: ${series === "v14" ? "err_uninit_mmu frees the PGD" : "err_free_cpumask leaks the PGD, counted"}`, () => {
      const host = Host.create({ series, seed: 1 });
      const used = host.pages.usedPages;
      host.inject({ alloc: "page", nth: 2 });
      expect(() => host.createRealm({ ipaBits: 40 })).toThrow(/KVM_CREATE_VM returns -ENOMEM/);
      // the params page is never left allocated; ipaBits 40 = 2 root tables
      expect([...host.pages.allocated()].filter((p) => p.owner === "kvm-params")).toEqual([]);
      const leaked = series === "v14" ? 0 : 2;
      expect(host.pages.usedPages).toBe(used + leaked);
      expect(host.pages.leakedPages).toBe(leaked);
      expect([...host.pages.allocated()].filter((p) => p.leaked).map((p) => p.owner)).toEqual(Array(leaked).fill("kvm-pgd"));
      // a later VM is unaffected (the leaked pages belong to no VM)
      const vm = host.createRealm({ ipaBits: 40, memory: 16n << 20n });
      expect(vm.kvm.realm.params).toBeGreaterThan(0);
      expect(host.pages.pagesOf(vm.id).filter((p) => p.leaked)).toEqual([]);
    });
  }
});

describe("C3 realm_create_rd: the RD page allocation fails", () => {
  for (const series of SERIES_IDS) {
    it(`${series}: -ENOMEM before any RMI call, VMID released, params kept until the VM is destroyed`, () => {
      const host = Host.create({ series, seed: 1 });
      const vm = host.createRealm({ ipaBits: 40, memory: 16n << 20n });
      const k = vm.kvm;
      const params = k.realm.params;
      const n0 = host.trace.length;
      host.inject({ alloc: "page", nth: 1 });
      expect(create(host)).toBe(-12);
      expect(smcs(host, n0)).toEqual([]);
      expect(k.realm.state).toBe(RealmStateK.NONE);
      expect(host.vmids.size).toBe(0);
      expect(host.pages.page(params)?.owner).toBe("kvm-params"); // realm_create_rd frees it only on success
      vm.destroy();
      expect(host.pages.page(params)).toBeUndefined(); // kvm_destroy_realm: if (realm->params) free_page
    });
  }
});

describe("C4 v8 realm_create_rd: REC_AUX_COUNT fails, r uninitialised (v9 07/43)", () => {
  it("stale 0: the caller takes the realm as created (NEW, rd NULL) after the full unwind", () => {
    const host = Host.create({ series: "v8", seed: 1 });
    const vm = host.createRealm({ ipaBits: 40, memory: 16n << 20n });
    host.inject({ rmi: "REC_AUX_COUNT", status: "RMI_ERROR_INPUT" });
    const n0 = host.trace.length;
    expect(kvm_create_realm(vm.kvm)).toBe(0);
    // WARN_ON(REC_AUX_COUNT), REALM_DESTROY, then the unwind: PGD granules from the top, the RD
    expect(smcs(host, n0)).toEqual(["GRANULE_DELEGATE", "GRANULE_DELEGATE", "GRANULE_DELEGATE", "REALM_CREATE", "REC_AUX_COUNT", "REALM_DESTROY", "GRANULE_UNDELEGATE", "GRANULE_UNDELEGATE", "GRANULE_UNDELEGATE"]);
    expect(host.warns.map((w) => w.fn)).toEqual(["realm_create_rd"]);
    expect(vm.kvm.realm.state).toBe(RealmStateK.NEW);
    expect(vm.kvm.realm.rd).toBe(-1);
    expect(vm.kvm.flags).toEqual(["S09: realm_create_rd returns an uninitialised r after REC_AUX_COUNT failed (stale 0)"]);
  });
  it("garbage: the error reaches the VMM, the VMID is released", () => {
    const host = Host.create({ series: "v8", seed: 1, poisonUninit: true });
    const vm = host.createRealm({ ipaBits: 40, memory: 16n << 20n });
    host.inject({ rmi: "REC_AUX_COUNT", status: "RMI_ERROR_INPUT" });
    expect(kvm_create_realm(vm.kvm)).toBe(-0xdead);
    expect(vm.kvm.realm.state).toBe(RealmStateK.NONE);
    expect(host.vmids.size).toBe(0);
    expect(host.pages.page(vm.kvm.realm.params)?.owner).toBe("kvm-params");
  });
});

describe("C5 v13 realm_create_rd: undelegate_range(pgd, i) with i uninitialised (v13 26/48)", () => {
  it("stale 0: no PGD undelegate call, its own ret uninitialised (stale 0): no WARN, PGD left delegated, RD returned", () => {
    const host = Host.create({ series: "v13", seed: 1 });
    const vm = host.createRealm({ ipaBits: 40, memory: 16n << 20n });
    host.inject({ rmi: "REALM_CREATE", status: "RMI_ERROR_INPUT" });
    const n0 = host.trace.length;
    expect(realm_ensure_created(vm.kvm)).toBe(-6);
    // RD, the PGD (the RMM answers a granule per call here), REALM_CREATE; unwind: nothing for
    // the PGD (size 0), the RD
    expect(smcs(host, n0)).toEqual(["GRANULE_RANGE_DELEGATE", "GRANULE_RANGE_DELEGATE", "GRANULE_RANGE_DELEGATE", "REALM_CREATE", "GRANULE_RANGE_UNDELEGATE"]);
    expect(host.warnCount).toBe(0);
    expect(vm.kvm.mmu.pgt).toBe(true);
    expect(vm.kvm.flags).toEqual(["S09: realm_create_rd undelegates the PGD with an uninitialised length (stale 0)"]);
    const pgd = vm.kvm.mmu.pgdPhys;
    expect([0, 1].map((i) => host.platform.rmm.granules.state(pgd / 4096 + i))).not.toContain(0);
  });
});

describe("C6 kvm_init_rmi on RMM v1.0 postings (v9 07/43, v12 07/46)", () => {
  for (const series of RMM_V1) {
    it(`${series}: RMI_VERSION(1.0) then RMI_FEATURES(0) at host start`, () => {
      const host = Host.create({ series, seed: 1 });
      expect(host.rmiInit).toBe(0);
      expect(smcs(host)).toEqual(["VERSION", "FEATURES"]);
      expect(host.trace.find((l) => l.startsWith("SMC_RMI_VERSION"))).toMatch(/^SMC_RMI_VERSION 10000 /);
    });
  }
  it("RMI_VERSION refused: realm support off, KVM_CREATE_VM of a realm fails, naming the ABI", () => {
    const host = Host.create({ series: "v12", seed: 1 });
    host.inject({ rmi: "VERSION", status: "RMI_ERROR_INPUT" });
    expect(kvm_init_rmi(host)).toBe(-6);
    expect(smcs(host).slice(2)).toEqual(["VERSION"]); // no RMI_FEATURES after the refusal
    // (an injected status leaves x1/x2, the RMM's lowest and highest revision, at 0)
    expect(rmiUnavailableReason(host)).toMatch(/Unsupported RMI ABI \(v0\.0 - v0\.0\) we want v1\.0/);
    expect(() => host.createRealm()).toThrow(/realm support is disabled/);
    expect(host.warnCount).toBe(0);
  });
  it("RMI_FEATURES(0) failing WARNs and leaves realm support off", () => {
    const host = Host.create({ series: "v10", seed: 1 });
    host.inject({ rmi: "FEATURES", status: "RMI_ERROR_INPUT" });
    expect(kvm_init_rmi(host)).toBe(-6);
    expect(host.warns.map((w) => w.fn)).toEqual(["kvm_init_rmi"]);
    expect(() => host.createRealm()).toThrow(/RMI_FEATURES\(0\) failed/);
  });
});

describe("C7 kvm_init_rmi on RMM v2.0 postings (v13 rmi.c rmi_configure)", () => {
  for (const series of RMM_V2) {
    it(`${series}: RMM_CONFIG_SET failing is -EINVAL ("RMM config set failed"), RMM_ACTIVATE not called`, () => {
      const host = Host.create({ series, seed: 1 });
      expect(host.rmiInit).toBe(0);
      const n0 = host.trace.length;
      host.inject({ rmi: "RMM_CONFIG_SET", status: "RMI_ERROR_INPUT" });
      expect(kvm_init_rmi(host)).toBe(-22);
      expect(smcs(host, n0)).toEqual(["VERSION", "FEATURES", "FEATURES", "RMM_CONFIG_SET"]);
      expect(rmiUnavailableReason(host)).toMatch(/RMM config set failed \(-EINVAL\)/);
    });
  }
});

describe("C8 v13/v14 wrappers: RMI_INCOMPLETE where the posting has `return WARN_ON(res.a0)`", () => {
  for (const series of RMM_V2) {
    it(`${series}: GRANULE_RANGE_DELEGATE of the RD answering INCOMPLETE: WARN, 1, realm_create_rd -ENXIO`, () => {
      const host = Host.create({ series, seed: 1 });
      const vm = host.createRealm({ ipaBits: 40, memory: 16n << 20n });
      host.inject({ rmi: "GRANULE_RANGE_DELEGATE", status: "RMI_INCOMPLETE" });
      const n0 = host.trace.length;
      expect(realm_ensure_created(vm.kvm)).toBe(-6);
      expect(smcs(host, n0)).toEqual(["GRANULE_RANGE_DELEGATE"]); // free_rd: no further call
      expect(host.warns.map((w) => w.fn)).toEqual(["rmi_granule_range_delegate"]);
      expect(host.pages.leakedPages).toBe(0);
    });
    it(`${series}: RTT_DATA_MAP and GPT_L1_CREATE answering INCOMPLETE return 1 with a WARN`, () => {
      const host = Host.create({ series, seed: 1 });
      host.inject({ rmi: "RTT_DATA_MAP", status: "RMI_INCOMPLETE" });
      host.inject({ rmi: "GPT_L1_CREATE", status: "RMI_INCOMPLETE" });
      expect(host.rmi.rtt_data_map(0x1000, 0, 0x1000, 0n, 0n).ret).toBe(1);
      expect(host.rmi.gpt_l1_create(0)).toBe(1);
      expect(host.warns.map((w) => w.fn)).toEqual(["rmi_rtt_data_map", "rmi_gpt_l1_create"]);
    });
  }
});

describe("C9/C10 rmi_sro_execute (v14 10/44)", () => {
  it("a donation the host cannot allocate: WARN, -ENOMEM, no RMI call (no RMI_OP_CANCEL: FIXME)", () => {
    const host = Host.create({ series: "v14", seed: 1 });
    const k = host.createRealm({ ipaBits: 40, memory: 16n << 20n }).kvm;
    const n0 = host.trace.length;
    // INCOMPLETE | MEMREQ DONATE | CAN_CANCEL; request: 16 x 4 KiB, non-contiguous, delegated
    const first = { ret: RMI_INCOMPLETE + (1 + 4) * 256, handle: 1n, request: 16n << 2n };
    let unconsumed = 0;
    const r = rmi_sro_execute(k, first, { donate: () => null, reclaimed: () => {}, unconsumed: (d) => { unconsumed += d.length; } }, "rmi_rec_create");
    expect(r).toBe(-12);
    expect(smcs(host, n0)).toEqual([]);
    expect(host.warns.map((w) => w.fn)).toEqual(["rmi_rec_create"]);
    expect(host.warns[0]!.msg).toMatch(/no RMI_OP_CANCEL/);
    expect(unconsumed).toBe(0);
  });
  it("a partial allocation: -ENOMEM, what was allocated is handed to rmi_sro_free, nothing donated", () => {
    const host = Host.create({ series: "v14", seed: 1 });
    const k = host.createRealm({ ipaBits: 40, memory: 16n << 20n }).kvm;
    const n0 = host.trace.length;
    const first = { ret: RMI_INCOMPLETE + (1 + 4) * 256, handle: 1n, request: 16n << 2n };
    let freed = 0;
    const r = rmi_sro_execute(k, first, { donate: () => [0x1000n, 0x2000n], reclaimed: () => {}, unconsumed: (d) => { freed += d.length; } });
    expect(r).toBe(-12);
    expect(smcs(host, n0)).toEqual([]);
    expect(freed).toBe(2);
  });
  it("OP_MEM_DONATE's error status ends the loop and is the result, without a WARN from the loop", () => {
    const host = Host.create({ series: "v14", seed: 1 });
    const vm = host.createRealm({ ipaBits: 40, memory: 16n << 20n, vcpus: 1 });
    host.inject({ rmi: "OP_MEM_DONATE", status: "RMI_ERROR_INPUT" });
    const n0 = host.trace.length;
    vm.start();
    const calls = smcs(host, n0);
    const at = calls.indexOf("OP_MEM_DONATE");
    expect(at).toBeGreaterThan(0);
    expect(calls).not.toContain("OP_CANCEL");
    expect(host.warns.filter((w) => w.fn === "rmi_rec_create")).toEqual([]);
  });
});

describe("C11 v8/v10 KVM_CAP_ARM_RME_CONFIG_REALM (kvm_rme_config_realm, v9 07/43)", () => {
  for (const series of ["v8", "v10"] as const) {
    it(`${series}: hash SHA-256 accepted (RMI_FEATURES(0) has it), bad items -EINVAL, -EBUSY once created`, () => {
      const host = Host.create({ series, seed: 1 });
      const k = host.createRealm({ ipaBits: 40, memory: 16n << 20n }).kvm;
      expect(kvm_rme_config_realm(k, { cfg: ARM_RME_CONFIG_HASH_ALGO, hashAlgo: ARM_RME_CONFIG_HASH_ALGO_SHA256 })).toBe(0);
      expect(kvm_rme_config_realm(k, { cfg: ARM_RME_CONFIG_HASH_ALGO, hashAlgo: 7 })).toBe(-22);
      expect(kvm_rme_config_realm(k, { cfg: 9 })).toBe(-22);
      const rpv = new Uint8Array(64).fill(0xab);
      expect(kvm_rme_config_realm(k, { cfg: ARM_RME_CONFIG_RPV, rpv })).toBe(0);
      expect(k.realm.rpv).toEqual(rpv);
      expect(kvm_create_realm(k)).toBe(0);
      expect(kvm_rme_config_realm(k, { cfg: ARM_RME_CONFIG_HASH_ALGO, hashAlgo: ARM_RME_CONFIG_HASH_ALGO_SHA256 })).toBe(-16);
    });
  }
});

describe("C12 rmi_rtt_* wrappers pass `long level` as the register holds it", () => {
  it("level -1 (LPA2 start level) reaches the RMM as all ones, not 0", () => {
    const host = Host.create({ series: "v12", seed: 1 });
    const n0 = host.trace.length;
    host.rmi.rtt_create(0x1000, 0x2000, 0, -1);
    host.rmi.rtt_destroy(0x1000, 0, -1);
    const lines = host.trace.slice(n0).filter((l) => l.startsWith("SMC_RMI_RTT_"));
    expect(lines).toHaveLength(2);
    for (const l of lines) expect(l.split(" > ")[0]).toMatch(/ ffffffffffffffff$/);
  });
});

describe("C13 rmi_rec_create (v14 05/44 + 10/44): rmi_smccc_invoke repeats the first SMC while BUSY", () => {
  it("REC_CREATE answering RMI_BUSY once is issued again and the realm starts", () => {
    const host = Host.create({ series: "v14", seed: 1 });
    const vm = host.createRealm({ ipaBits: 40, memory: 16n << 20n, vcpus: 1 });
    host.inject({ rmi: "REC_CREATE", status: "RMI_BUSY" });
    const n0 = host.trace.length;
    expect(vm.start().ok).toBe(true);
    const calls = smcs(host, n0);
    const i = calls.indexOf("REC_CREATE");
    expect(calls.slice(i, i + 2)).toEqual(["REC_CREATE", "REC_CREATE"]);
    expect(host.warnCount).toBe(0);
  });
});

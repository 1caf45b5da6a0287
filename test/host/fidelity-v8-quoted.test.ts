/**
 * Issue 10: the v8 patches missing from the saved postings (04, 07, 10, 11, 15, 16, 17) read from
 * the review replies that quote them verbatim ("> +" lines). Each case names the reply; the full
 * citations (author, subject, date, Message-ID) are in docs/provenance.md:
 *  - v8 15/43 as quoted in Gavin Shan's reply of 30 Apr 2025 <cc2c5834-c942-4454-903d-11b53f8f5451@redhat.com>
 *  - v8 16/43 as quoted in Gavin Shan's reply of 30 Apr 2025 <e6a69a4a-8014-44b4-aef6-37afe0fa8d29@redhat.com>
 *  - v8 17/43 as quoted in Gavin Shan's reply of 30 Apr 2025 <b5770d9b-4f17-4be8-95a7-1549322debb2@redhat.com>
 *  - Steven Price's replies of 12 and 14 May 2025 to Suzuki K Poulose on 15/43 (<36c46f16-85c2-43f8-b460-942f34631e0d@arm.com>)
 *
 * "v8 15/43 ... (faithful)" and "v8 16/43 and 17/43 ... (faithful)" assert what the model does as
 * quoted (realm_init_ipa_state, realm_set_ipa_state, handle_rec_exit and rec_exit_ripas_change were
 * fixed to it: ripasInitErrAtMapLevel, ripasSetErrAtMapLevel, recEnterRealmError,
 * ripasChangeRejectFlag), and realm_unmap_shared_range / realm_create_rtt_levels (mayBlockPropagated,
 * rttExistsChecksNewLevel), which differed from the quoted v8 code before this round.
 */
import { describe, it, expect } from "vitest";
import { Host } from "../../src/host/host.js";
import type { SeriesId } from "../../src/kvm/series/index.js";
import { IOCTL_TID, runSync } from "../../src/sched/coop.js";
import { kvm_realm_unmap_range, realm_unmap_private_range, realm_unmap_shared_range } from "../../src/kvm/rmi/unmap.js";
import { cache_min_pages, kvm_init_ipa_range_realm, realm_set_ipa_state, topup_memcache } from "../../src/kvm/rmi/ripas.js";
import { handle_rec_exit } from "../../src/kvm/rmi-exit.js";
import { kvm_create_realm } from "../../src/kvm/rmi/realm.js";
import { RMI_ERROR_REALM, RMI_RAM } from "../../src/kvm/rmi_cmds.js";
import { REC_ENTER_FLAG_RIPAS_RESPONSE, REC_RUN, RmiExitReason } from "../../src/rmm/abi/rec-params.js";
import * as scenarios from "../../src/scenarios/index.js";
import { SHARED_40, startedRealm } from "../../src/scenarios/helpers.js";
import { RSI_ACCEPT, RSI_REJECT, RSI_SUCCESS } from "../../src/rmm/realm-exec.js";
import type { RmiCallRecord } from "../../src/rmm/trace.js";

const RAM = 0x8000_0000n;
const ENXIO = -6;
const EINVAL = -22;
const EPERM = -1;

function started(series: SeriesId) {
  const host = Host.create({ series, seed: 1 });
  const vm = host.createRealm({ ipaBits: 40, memory: 64n << 20n, vcpus: 1 });
  expect(vm.start().ok).toBe(true);
  return { host, vm };
}

const smcsSince = (host: Host, n0: number, cmd: string) => host.trace.slice(n0).filter((l) => l.startsWith(`SMC_RMI_${cmd} `));

describe("v8 15/43 as quoted in Gavin Shan's reply of 30 Apr 2025 (faithful)", () => {
  it("realm_unmap_shared_range: no realm_fold_rtt_level at the end in v8 (added in v9 after Suzuki's review); v10 (v9 15/43) folds", () => {
    for (const [series, folds] of [["v8", false], ["v10", true]] as const) {
      const { host, vm } = started(series);
      const n0 = host.trace.length;
      vm.kvm.mmuLock.lockSync(IOCTL_TID);
      try {
        realm_unmap_shared_range(vm.kvm, 2, Number(RAM), Number(RAM) + (4 << 20), false);
      } finally {
        vm.kvm.mmuLock.writeUnlock();
      }
      expect(smcsSince(host, n0, "RTT_UNMAP_UNPROTECTED").length).toBeGreaterThan(0);
      expect(smcsSince(host, n0, "RTT_FOLD").length > 0).toBe(folds);
    }
  });

  it("realm_unmap_private_range: no cond_resched at all in v8 (Gavin: 'cond_resched_rwlock_write is missed ... in realm_unmap_private_page')", () => {
    const { vm } = started("v8");
    const k = vm.kvm;
    for (let a = 0n; a < 1n << 20n; a += 0x1000n) vm.touch(RAM + (8n << 20n) + a, { access: "write" });
    const taken = k.resched.taken;
    k.mmuLock.lockSync(IOCTL_TID);
    try {
      realm_unmap_private_range(k, Number(RAM) + (8 << 20), Number(RAM) + (9 << 20), true);
    } finally {
      k.mmuLock.writeUnlock();
    }
    expect(k.resched.taken).toBe(taken);
    expect(k.resched.longestWithout).toBeGreaterThanOrEqual(256);
  });

  it("kvm_realm_unmap_range: end clamped to BIT(ia_bits - 1) before the REALM_STATE_NONE check (S31 on v8)", () => {
    const r = scenarios.run("S31", { series: "v8" });
    expect((r.data.A as { ubShifts: string[] }).ubShifts).toEqual(["S31: kvm_realm_unmap_range computes BIT(ia_bits - 1) with ia_bits == 0 (undefined shift)"]);
  });

  it("kvm_init_ipa_range_realm: end < addr -> -EINVAL before any RMI call; realm not NEW -> -EPERM", () => {
    const { host, vm } = started("v8");
    const n0 = host.trace.length;
    expect(kvm_init_ipa_range_realm(vm.kvm, 2 ** 64 - 0x1000, 0x2000)).toBe(EINVAL);
    expect(kvm_init_ipa_range_realm(vm.kvm, Number(RAM), 0x1000)).toBe(EPERM); // ACTIVE
    expect(host.trace.length).toBe(n0);
  });

  it("S01 on v8: the L2-over-L3 livelock stays (the shared unmap leaves the emptied L3 table: no fold in v8 15/43)", () => {
    const r = scenarios.run("S01", { series: "v8" });
    expect(r.outcome).toBe("livelock");
    expect(r.livelock).toBe(true);
  });
  it("v8 15/43 realm_init_ipa_state: ERROR_RTT at or below find_map_level is WARN_ON (any level) and -ENXIO", () => {
    const host = Host.create({ series: "v8", seed: 1 });
    const vm = host.createRealm({ ipaBits: 40, memory: 16n << 20n, vcpus: 1, image: 0n });
    // KVM_CAP_ARM_RME_CREATE_REALM first: kvm_init_ipa_range_realm needs a NEW realm
    expect(kvm_create_realm(vm.kvm)).toBe(0);
    const w = host.warnCount;
    host.inject({ rmi: "RTT_INIT_RIPAS", status: "RMI_ERROR_RTT", index: 2 });
    const ret = kvm_init_ipa_range_realm(vm.kvm, Number(RAM), 2 << 20); // find_map_level = 2, err_level 2
    expect(ret).toBe(ENXIO);
    expect(host.warnCount).toBe(w + 1);
  });

  it("S19 on v8 (INIT_RIPAS after POPULATE, Suzuki's case): WARN and -ENXIO", () => {
    const r = scenarios.run("S19", { series: "v8" });
    expect(r.warnCount).toBe(1);
    expect((r.data.start as { ret: string }[]).at(-1)!.ret).toBe("-ENXIO");
  });


  it("realm_init_ipa_state: the WARN_ON at level 1 too (not only level 3); v10 (v9 15/43 ripas_change) -EINVAL without a WARN", () => {
    for (const [series, ret, warns] of [["v8", ENXIO, 1], ["v10", EINVAL, 0]] as const) {
      const host = Host.create({ series, seed: 1 });
      const vm = host.createRealm({ ipaBits: 40, memory: 16n << 20n, vcpus: 1, image: 0n });
      expect(kvm_create_realm(vm.kvm)).toBe(0);
      const w = host.warnCount;
      host.inject({ rmi: "RTT_INIT_RIPAS", status: "RMI_ERROR_RTT", index: 1 });
      const n0 = host.trace.length;
      // [1 GiB, 2 GiB): find_map_level = 1, err_level 1
      expect(kvm_init_ipa_range_realm(vm.kvm, 1 << 30, 1 << 30)).toBe(ret);
      expect(host.warnCount - w).toBe(warns);
      // nothing after the failed RTT_INIT_RIPAS (no RTT_CREATE, no retry)
      expect(host.trace.slice(n0).filter((l) => l.startsWith("SMC_RMI_")).map((l) => l.split(" ")[0])).toEqual(["SMC_RMI_RTT_INIT_RIPAS"]);
    }
  });

  it("S19 notes cite the posted line and say where linux-cca-series.md differs", () => {
    const r = scenarios.run("S19", { series: "v8" });
    expect(r.notes.some((n) => n.includes("if (WARN_ON(err_level >= level)) return -ENXIO;") && n.includes("linux-cca-series.md"))).toBe(true);
  });
});

describe("v8 16/43 and 17/43 as quoted in Gavin Shan's replies of 30 Apr 2025 (faithful)", () => {
  it("v8 17/43 realm_set_ipa_state: walk_level >= find_map_level is -EINVAL without a WARN, top_ipa written", () => {
    const { host, vm } = started("v8");
    const vcpu = vm.kvm.vcpus[0]!;
    const w = host.warnCount;
    host.inject({ rmi: "RTT_SET_RIPAS", status: "RMI_ERROR_RTT", index: 3 });
    const base = Number(RAM) + (8 << 20);
    const r = runSync(realm_set_ipa_state(vcpu, base, base + 0x1000, RMI_RAM));
    expect(r).toEqual({ ret: EINVAL, top: base });
    expect(host.warnCount).toBe(w);
  });

  it("v8 17/43 realm_set_ipa_state: a failed realm_create_rtt_levels breaks with its error, top_ipa written, no WARN of its own", () => {
    const { host, vm } = started("v8");
    const vcpu = vm.kvm.vcpus[0]!;
    const base = Number(RAM) + (8 << 20);
    host.inject({ rmi: "RTT_SET_RIPAS", status: "RMI_ERROR_RTT", index: 2 }); // walk ended at L2: L3 needed
    host.inject({ rmi: "RTT_CREATE", status: "RMI_ERROR_INPUT" });
    expect(topup_memcache(vcpu, cache_min_pages(vm.kvm))).toBe(0); // as kvm_complete_ripas_change does
    const w = host.warnCount;
    const n0 = host.trace.length;
    const r = runSync(realm_set_ipa_state(vcpu, base, base + 0x1000, RMI_RAM));
    expect(r).toEqual({ ret: ENXIO, top: base });
    // the WARN is realm_create_rtt_levels' ("Failed to create RTT at level"), then no retry
    expect(host.warnCount - w).toBe(1);
    expect(host.trace.slice(n0).filter((l) => l.startsWith("WARNING: "))).toEqual([expect.stringMatching(/^WARNING: realm_create_rtt_levels: Failed to create RTT at level 3/)]);
    expect(smcsSince(host, n0, "RTT_SET_RIPAS")).toHaveLength(1);
  });

  it("v8 16/43 handle_rec_exit: RMI_ERROR_REALM index 1 (SYSTEM_OFF race) -> KVM_EXIT_UNKNOWN and return 0, not -ENXIO", () => {
    const { vm } = started("v8");
    const vcpu = vm.kvm.vcpus[0]!;
    expect(runSync(handle_rec_exit(vcpu, RMI_ERROR_REALM + (1 << 8)))).toBe(0);
    expect(vcpu.lastExit).toEqual({ kind: "unknown" });
    // any other REC_ENTER error: `if (rec_run_ret) return -ENXIO;`
    expect(runSync(handle_rec_exit(vcpu, RMI_ERROR_REALM))).toBe(ENXIO);
  });

  it("v8 16/43 rec_exit_ripas_change: an out-of-range request is -EINVAL without setting REC_ENTER_FLAG_RIPAS_RESPONSE (added in v9 16/43)", () => {
    const { vm } = started("v8");
    const vcpu = vm.kvm.vcpus[0]!;
    const ns = vm.kvm.env.ns;
    const run = BigInt(vcpu.rec.run);
    ns.writeU64(run + BigInt(REC_RUN.enter.flags), 0n);
    ns.writeU64(run + BigInt(REC_RUN.exit.exit_reason), BigInt(RmiExitReason.RMI_EXIT_RIPAS_CHANGE));
    ns.writeU64(run + BigInt(REC_RUN.exit.ripas_base), RAM);
    ns.writeU64(run + BigInt(REC_RUN.exit.ripas_top), (1n << 39n) + 0x1000n); // reaches the shared half
    expect(runSync(handle_rec_exit(vcpu, 0))).toBe(EINVAL);
    expect(ns.readU64(run + BigInt(REC_RUN.enter.flags)) & BigInt(REC_ENTER_FLAG_RIPAS_RESPONSE)).toBe(0n);
  });

  it("S25 on v8: vCPU 1's KVM_RUN after vCPU 0's SYSTEM_OFF returns 0 with KVM_EXIT_UNKNOWN (Emi Kisanuki's report); v10 KVM_EXIT_SHUTDOWN", () => {
    expect(scenarios.run("S25", { series: "v8" }).data.vcpu1).toEqual({ kvmRun: "0", exit: "KVM_EXIT_UNKNOWN" });
    expect(scenarios.run("S25", { series: "v10" }).data.vcpu1).toEqual({ kvmRun: "0", exit: "KVM_EXIT_SHUTDOWN" });
  });

  it("rec_exit_ripas_change without the reject flag: the next REC_ENTER answers a RAM request RSI_ACCEPT with no progress on v8, RSI_REJECT on v10", () => {
    for (const [series, x2] of [["v8", RSI_ACCEPT], ["v10", RSI_REJECT]] as const) {
      const { host, vm } = startedRealm(series, { ramBase: 0n, memory: 16n << 20n });
      const ns = host.platform.ns;
      const rmm = host.platform.rmm;
      const vcpu = vm.kvm.vcpus[0]!;
      const run = BigInt(vcpu.rec.run);
      const base = SHARED_40 - 0x10000n;
      expect(vm.run(0, [{ kind: "ipa-state-set", base, top: SHARED_40, ripas: 0 }]).outcome).toBe("ok");
      // the RMM reports the RAM request's top in the shared half (S21's non-conforming RMM)
      let armed = true;
      const unsub = rmm.trace.subscribe((c: RmiCallRecord) => {
        if (!armed || c.name !== "RMI_REC_ENTER" || c.x0 !== 0) return;
        if (ns.readU64(run + BigInt(REC_RUN.exit.exit_reason)) !== BigInt(RmiExitReason.RMI_EXIT_RIPAS_CHANGE)) return;
        armed = false;
        ns.writeU64(run + BigInt(REC_RUN.exit.ripas_top), SHARED_40 + 4096n);
      });
      try {
        expect(vm.run(0, [{ kind: "ipa-state-set", base, top: SHARED_40, ripas: RMI_RAM }]).errno).toBe("-EINVAL");
      } finally {
        unsub();
      }
      vm.run(0, []);
      const g = rmm.recs.get(vcpu.rec.recPage / 4096)!.gprs;
      expect([g[0], g[1], g[2]]).toEqual([RSI_SUCCESS, base, x2]);
    }
  });
});

describe("v8 15/43 realm_unmap_shared_range and realm_create_rtt_levels as quoted (faithful; were divergences)", () => {
  it("v8 15/43 realm_unmap_shared_range: cond_resched_rwlock_write on every pass, may_block or not (no may_block parameter)", () => {
    const { host, vm } = started("v8");
    const k = vm.kvm;
    const taken = k.resched.taken;
    const n0 = host.trace.length;
    k.mmuLock.lockSync(IOCTL_TID);
    try {
      // the caller cannot block (a non-blockable MMU notifier): v8 reschedules anyway
      kvm_realm_unmap_range(k, Number(RAM), 4 << 20, false, false);
    } finally {
      k.mmuLock.writeUnlock();
    }
    const passes = smcsSince(host, n0, "RTT_UNMAP_UNPROTECTED").length;
    expect(passes).toBeGreaterThan(0);
    expect(k.resched.taken - taken).toBe(passes);
    // every one of them for a caller that may not block (S12's "taken ... may_block = false" note)
    expect(k.resched.whileAtomic).toBe(passes);
  });

  it("S12 on v8: the shared unmap reschedules, the private unmap never does", () => {
    const r = scenarios.run("S12", { series: "v8" });
    const rs = r.data.resched as { taken: number; longestWithout: number; whileAtomic: number };
    expect(rs.taken).toBeGreaterThan(0);
    expect(rs.longestWithout).toBeGreaterThan(0);
    expect(r.notes.some((n) => /^no cond_resched during \d+ consecutive unmap steps/.test(n))).toBe(true);
    // v10 (v9 15/43): may_block propagated to both loops
    const v10 = scenarios.run("S12", { series: "v10" }).data.resched as { longestWithout: number; whileAtomic: number };
    expect(v10).toMatchObject({ longestWithout: 0, whileAtomic: 0 });
  });

  it("v8 15/43 realm_create_rtt_levels: 'already exists' tests RMI_RETURN_INDEX(ret) == level (never true): S10's loser WARNs, frees its RTT, -ENXIO", () => {
    const r = scenarios.run("S10", { series: "v8" });
    expect(r.data.delegatedOrphans).toBe(0);
    expect(r.trace.filter((l) => l.includes("realm_create_rtt_levels") && /WARN/i.test(l)).length).toBe(1);
  });
});

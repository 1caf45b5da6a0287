/**
 * The S01..S33 scenario catalogue (this project's ids; each entry's title names the posting and
 * patch it comes from), each runnable on every posting the host implements. A scenario only
 * scripts the trigger (VMM and guest actions, injections, interleavings); its outcome comes from
 * running the simulated code of that posting.
 */
import { GranuleState } from "../rmm/granule.js";
import { Host } from "../host/host.js";
import { availableSeries, type SeriesId } from "../host/series/index.js";
import type { RealmVm, TouchResult } from "../host/vm.js";
import { psciOps, realmMpidr, type GuestOpResult } from "../guest/guest.js";
import { interleave, explore } from "../sched/sched.js";
import { RealmStateK } from "../host/kvm.js";
import { runSync } from "../host/coop.js";
import { errnoName } from "../host/errno.js";
import { kvm_create_realm, realm_ensure_created } from "../host/realm-create.js";
import { populate } from "../host/lifecycle.js";
import { KVM_PGTABLE_PROT_R, KVM_PGTABLE_PROT_W, realm_map_ipa, realm_map_protected } from "../host/map.js";
import { topup_memcache } from "../host/ripas.js";
import { descSizeCode, level_to_size } from "../host/range.js";

export type ScenarioOutcome = "ok" | "livelock" | "leak" | "warn" | "error" | "hang";

export interface ScenarioResult {
  id: string;
  series: string;
  outcome: ScenarioOutcome;
  livelock: boolean;
  warnCount: number;
  leakedGranules: number;
  pgtablePages: number;
  rmiCalls: number;
  trace: string[];
  notes: string[];
  /** Scenario-specific measurements (counts, states, schedules). */
  data: Record<string, unknown>;
}

export interface ScenarioInfo {
  id: string;
  title: string;
  /** Postings it can run on now. */
  series: string[];
  /** Postings the catalogue says exhibit the problem. */
  affects: string[];
}

/** Runs a scenario's steps and records the first thing that went wrong. */
export class Recorder {
  first: ScenarioOutcome | undefined;
  livelock = false;
  readonly notes: string[] = [];
  readonly data: Record<string, unknown> = {};
  private warns = 0;
  private leaked = 0;
  /** WARNs raised on the other hosts a scenario ran (variants), counted in the result's warnCount. */
  otherRunWarns = 0;
  constructor(readonly host: Host) {}

  leakedGranules(): number {
    const rmm = this.host.platform.rmm;
    let orphans = 0;
    for (const [g, st] of rmm.granules.nonNs()) {
      if (st !== GranuleState.DELEGATED) continue;
      const p = this.host.pages.page(g * 4096);
      if (p === undefined || !p.leaked) orphans++;
    }
    return this.host.pages.leakedPages + orphans;
  }

  /** Call after each step: notes what went wrong first. */
  check(label: string, r?: TouchResult | { outcome: string }): void {
    if (r !== undefined) {
      if (r.outcome === "livelock") this.livelock = true;
      const bad: Record<string, ScenarioOutcome> = { livelock: "livelock", hang: "hang", error: "error" };
      if (bad[r.outcome] !== undefined) this.mark(bad[r.outcome]!, `${label}: ${r.outcome}`);
    }
    if (this.host.warnCount > this.warns) this.mark("warn", `${label}: ${this.host.warnCount - this.warns} WARN(s)`);
    this.warns = this.host.warnCount;
    const l = this.leakedGranules();
    if (l > this.leaked) this.mark("leak", `${label}: ${l - this.leaked} granule(s)/page(s) leaked`);
    this.leaked = l;
  }

  mark(o: ScenarioOutcome, note: string): void {
    this.notes.push(note);
    if (this.first === undefined) this.first = o;
  }
}

export interface ScenarioDef {
  id: string;
  title: string;
  affects: SeriesId[];
  run(series: SeriesId, rec: (host: Host) => Recorder): { host: Host; rec: Recorder };
}

const SHARED_40 = 1n << 39n;
const RAM = 0x8000_0000n;

/** The PSCI return value a guest PSCI op got (signed), or null if it did not complete. */
function psciReturn(r: GuestOpResult | undefined): number | null {
  return typeof r === "object" ? Number(BigInt.asIntN(64, r.psci)) : null;
}

function started(series: SeriesId, opts: Parameters<Host["createRealm"]>[0] = {}): { host: Host; vm: RealmVm } {
  const host = Host.create({ series, seed: 1 });
  const vm = host.createRealm({ ipaBits: 40, memory: 64n << 20n, vcpus: 1, ...opts });
  const s = vm.start();
  if (!s.ok) host.log.push("event", `scenario: start failed: ${JSON.stringify(s.steps)}`);
  return { host, vm };
}

const DEFS: ScenarioDef[] = [
  {
    id: "S01",
    title: "Shared L3 page, then the whole 2 MiB block shared -> endless refault (Suzuki, v8 20/43)",
    affects: ["v8"],
    run(series, mk) {
      const { host, vm } = started(series, { forcePte: false, thp: true });
      const rec = mk(host);
      const B = RAM + (4n << 20n);
      vm.vmmWrite(B, new Uint8Array([1])); // the VMM touched P first: 4 KiB backing
      rec.check("share P", vm.share(B, 4096n));
      rec.check("touch P", vm.touch(B | SHARED_40, { access: "write" }));
      rec.check("share rest of B", vm.share(B + 4096n, (2n << 20n) - 4096n));
      vm.collapse(B);
      const q = B + 0x5000n;
      const t = vm.touch(q | SHARED_40, { access: "write" });
      rec.check("touch Q", t);
      const m = vm.mappingOf(q | SHARED_40);
      rec.data.qMapping = { level: m.level, state: m.state };
      rec.notes.push(`Q ${t.outcome}; Q's entry: level ${m.level} ${m.state}`);
      return { host, rec };
    },
  },
  {
    id: "S03",
    title: "Two vCPUs fault on the same private page (true race; and a delegate failure read as a race)",
    affects: ["v8", "v10", "v12"],
    run(series, mk) {
      // Variant 1: every interleaving of two vCPUs faulting on one private page.
      const X = RAM + 0x20000n; // past the populated image, in its L3 table
      const runs = explore(() => {
        const { host, vm } = started(series, { vcpus: 2 });
        const { threads } = vm.raceThreads([
          { vcpu: 0, ops: [{ kind: "access", ipa: X, access: "write" }] },
          { vcpu: 1, ops: [{ kind: "access", ipa: X, access: "read" }] },
        ]);
        return {
          threads,
          check: () => {
            const m = vm.mappingOf(X);
            const page = host.pages.page(Number(m.pa ?? -1n));
            const raced = host.trace.some((l) => l.includes("assume another vCPU handled the fault"));
            return { state: m.state, data: host.granules().DATA, refcount: page?.refcount ?? 0, warns: host.warnCount, raced };
          },
        };
      }, { maxPreemptions: 2 });
      // Variant 2: the gmem page cannot be delegated (already delegated for another purpose).
      const { host, vm } = started(series, { vcpus: 2 });
      const rec = mk(host);
      rec.data.interleavings = runs.length;
      const summary = new Map<string, number>();
      for (const r of runs) {
        const k = JSON.stringify(r.result);
        summary.set(k, (summary.get(k) ?? 0) + 1);
      }
      rec.data.variant1 = [...summary].map(([k, n]) => ({ ...JSON.parse(k), schedules: n }));
      const pa = vm.gmemPage(X);
      // RMM v2.0 (v13/v14) delegates through GRANULE_RANGE_DELEGATE (base = the page).
      host.inject({ rmi: host.platform.abi === "2.0" ? "GRANULE_RANGE_DELEGATE" : "GRANULE_DELEGATE", status: "RMI_ERROR_INPUT", pa, count: Infinity });
      rec.check("touch X with the page undelegatable", vm.touch(X, { vcpu: 1, access: "write" }));
      // Issue 5: the catalogue's "page refcount balanced" does not hold where the caller keeps the
      // kvm_gmem_get_pfn reference whenever realm_map_ipa returns 0, and the delegate "race"
      // returns 0 (v8 20/43 and v10 20/43 private_memslot_fault, v12 24/46 and v13 27/48
      // gmem_abort: "if successful don't release the page"; realm_map_protected returns 0 after a
      // failed delegate) [inferred].
      const extraRefs = runs.reduce((m, r) => Math.max(m, (r.result.refcount ?? 1) - 1), 0);
      if (extraRefs > 0) {
        rec.notes.push(`variant 1: up to ${extraRefs} extra guest_memfd reference(s): after a failed delegate realm_map_protected returns 0 ("likely raced"), ${host.profile.privateFault} keeps its kvm_gmem_get_pfn reference as for a map, the unmap drops one per DATA granule [inferred; catalogue: balanced]`);
      }
      return { host, rec };
    },
  },
  {
    id: "S10",
    title: "RTT \"already exists\": v10 (the v9 15/43 code) leaks the freshly allocated RTT; v8 WARNs and fails the fault",
    affects: ["v8", "v10"],
    run(series, mk) {
      const { host, vm } = started(series, { vcpus: 2 });
      const rec = mk(host);
      const X1 = RAM + (4n << 20n) + 0x1000n;
      const X2 = RAM + (4n << 20n) + 0x2000n;
      const { threads } = vm.raceThreads([
        { vcpu: 0, ops: [{ kind: "access", ipa: X1, access: "write" }] },
        { vcpu: 1, ops: [{ kind: "access", ipa: X2, access: "write" }] },
      ]);
      // Both vCPUs allocate and delegate an RTT before either creates it.
      interleave(threads, (runnable, _s, at) => {
        const waiting = runnable.filter((t) => at[t] !== "RTT_CREATE");
        return waiting.length > 0 ? waiting[0]! : runnable[0]!;
      });
      host.step("race on the missing L3 RTT");
      rec.check("race");
      rec.data.delegatedOrphans = host.granules().DELEGATED;
      // realm_create_rtt_levels: v9 15/43 (the stand-in for v8 and v10 15/43; the v10 changelog says
      // only "Minor coding style fixes") continues on "already exists" without free_rtt; v12 17/46 frees it.
      // v8 15/43 (quoted in Gavin Shan's review) tests the index against the new level: never "already
      // exists", so the loser WARNs, frees its RTT and fails (realm_map_protected -ENXIO).
      if (host.profile.rttExistsChecksNewLevel) rec.notes.push("realm_create_rtt_levels (v8 15/43): RMI_RETURN_INDEX(ret) == level is never true for an existing RTT (RTT_CREATE answers level - 1): WARN \"Failed to create RTT\", free, -ENXIO; the summary's v8 leak is the v9 code");
      else if (!host.profile.rttExistsFreesNewGranule) rec.notes.push("realm_create_rtt_levels (v9 15/43 code): \"The RTT already exists, continue\" without free_rtt: the loser's delegated RTT is lost (the summary expected the v9 review fix in v10; the v10 changelog does not name it)");
      return { host, rec };
    },
  },
  {
    id: "S11",
    title: "Page-table accounting drift (v8) and leaked-RTT accounting (v9+)",
    affects: ["v8"],
    run(series, mk) {
      const { host, vm } = started(series, { vcpus: 2 });
      const rec = mk(host);
      rec.check("touch", vm.touch(RAM + (8n << 20n), { access: "write" }));
      rec.data.pgtableBeforeDestroy = vm.kvm.pgtablePages;
      vm.destroy();
      rec.check("destroy");
      rec.data.pgtableAfterDestroy = vm.kvm.pgtablePages;
      if (vm.kvm.pgtablePages !== 0) rec.notes.push(`kvm_account_pgtable_pages ends at ${vm.kvm.pgtablePages} after destroy`);
      return { host, rec };
    },
  },
  {
    id: "S12",
    title: "RCU stall during large unmaps (may_block not propagated, v8)",
    affects: ["v8"],
    run(series, mk) {
      const { host, vm } = started(series, { memory: 16n << 20n });
      const rec = mk(host);
      for (let a = 0n; a < 16n << 20n; a += 0x10000n) vm.touch(RAM + a, { access: "write" });
      vm.destroy();
      rec.check("destroy");
      rec.data.resched = { ...vm.kvm.resched };
      // v8 15/43 as quoted in Gavin Shan's reply of 30 Apr 2025: realm_unmap_private_range never
      // reschedules, realm_unmap_shared_range always does (it has no may_block), also for a caller
      // that may not block. v9 15/43 propagates may_block to both.
      const rs = vm.kvm.resched;
      if (rs.longestWithout > 0) rec.notes.push(`no cond_resched during ${rs.longestWithout} consecutive unmap steps (RCU stall risk)`);
      if (rs.whileAtomic > 0) rec.notes.push(`cond_resched_rwlock_write taken ${rs.whileAtomic} time(s) for a caller that passed may_block = false`);
      return { host, rec };
    },
  },
  {
    id: "S13",
    title: "Host walks the former root RTTs as stage-2 tables after realm destruction (v8, v9)",
    affects: ["v8"],
    run(series, mk) {
      const { host, vm } = started(series);
      const rec = mk(host);
      vm.destroy();
      rec.check("destroy");
      const walked = vm.kvm.flags.filter((f) => f.startsWith("S13"));
      if (walked.length > 0) rec.mark("error", walked[0]!);
      return { host, rec };
    },
  },
  {
    id: "S14",
    title: "Root RTT / PGD pages never freed on realm destroy (v10..v13)",
    affects: ["v10", "v12"],
    run(series, mk) {
      const host = Host.create({ series, seed: 1 });
      const rec = mk(host);
      const before = host.pages.freePages;
      const vm = host.createRealm({ ipaBits: 40, memory: 64n << 20n, vcpus: 1 });
      vm.start();
      vm.touch(RAM + 0x10000n, { access: "write" });
      vm.destroy();
      rec.check("create, run, destroy");
      rec.data.freePagesLost = before - host.pages.freePages;
      rec.data.pgdPages = vm.kvm.mmu.pgdSize / 4096;
      return { host, rec };
    },
  },
  {
    id: "S16",
    title: "Destroy-time RMM errors strand the realm in DYING",
    affects: ["v8", "v10", "v12"],
    run(series, mk) {
      const { host, vm } = started(series);
      const rec = mk(host);
      host.inject({ rmi: "REALM_DESTROY", status: "RMI_ERROR_REALM" });
      vm.destroy();
      rec.check("destroy with REALM_DESTROY failing");
      rec.data.state = vm.state;
      rec.data.vmidHeld = host.vmids.has(vm.kvm.realm.vmid);
      return { host, rec };
    },
  },
  {
    id: "S19",
    title: "INIT_RIPAS over memory that is already populated",
    affects: ["v8", "v10", "v12"],
    run(series, mk) {
      const host = Host.create({ series, seed: 1 });
      const rec = mk(host);
      const vm = host.createRealm({ ipaBits: 40, memory: 64n << 20n, vcpus: 1, image: 16n << 20n, initRipasAfterPopulate: true });
      const s = vm.start();
      rec.data.start = s.steps;
      rec.data.rttInitRipasCalls = host.trace.filter((l) => l.startsWith("SMC_RMI_RTT_INIT_RIPAS")).length;
      rec.check("start", { outcome: s.ok ? "ok" : "error" });
      // RTT_INIT_RIPAS answers ERROR_RTT at level 3 (the populated DATA entries) = find_map_level
      if (host.profile.ripasInitErrAtMapLevel === "warn-enxio") {
        rec.notes.push("v8 15/43 realm_init_ipa_state (as quoted in Gavin Shan's reply of 30 Apr 2025): `if (WARN_ON(err_level >= level)) return -ENXIO;` at any level: INIT_RIPAS_REALM fails with -ENXIO after a VMM-triggerable WARN. (linux-cca-series.md: WARN_ON(level == 3) and -EINVAL, which was Suzuki's review suggestion, not the posted code; v9 15/43 drops the WARN and returns -EINVAL.)");
      }
      if (host.platform.abi === "2.0") {
        // The v2.0 RMM accepts INIT_RIPAS over populated (ASSIGNED) entries, so the v13 hack is never
        // reached. Variant: an RMM that still answers ERROR_RTT at level 3 for each populated page.
        const h2 = Host.create({ series, seed: 1 });
        const vm2 = h2.createRealm({ ipaBits: 40, memory: 64n << 20n, vcpus: 1, image: 16n << 20n });
        h2.inject({ rmi: "RTT_INIT_RIPAS", status: "RMI_ERROR_RTT", index: 3, count: 4096 });
        const s2 = vm2.start();
        const hung = h2.trace.some((l) => l.startsWith("KVM: HANG"));
        rec.data.errorRttRmm = { ok: s2.ok, hang: hung, rttInitRipasCalls: h2.trace.filter((l) => l.startsWith("SMC_RMI_RTT_INIT_RIPAS")).length };
        if (hung) rec.mark("hang", "INIT_RIPAS answering ERROR_RTT at level 3: ripas_change retries forever");
      }
      return { host, rec };
    },
  },
  {
    id: "S23",
    title: "Undelegate failure in the private unmap: the page is lost",
    affects: ["v8", "v10", "v12"],
    run(series, mk) {
      const { host, vm } = started(series);
      const rec = mk(host);
      const X = RAM + (8n << 20n);
      rec.check("touch", vm.touch(X, { access: "write" }));
      const pa = vm.mappingOf(X).pa!;
      rec.data.pa = `0x${pa.toString(16)}`;
      host.inject({ undelegate: pa });
      rec.check("share (private unmap)", vm.share(X, 4096n));
      const p = host.pages.page(Number(pa));
      rec.data.page = p === undefined ? "free" : { refcount: p.refcount, leaked: p.leaked };
      return { host, rec };
    },
  },
  {
    id: "S25",
    title: "PSCI races at REC entry: SYSTEM_OFF from another vCPU (v8); a CPU_ON target entering before the completion (v14)",
    affects: ["v8", "v14"],
    run(series, mk) {
      // A (Emi Kisanuki, v8): vCPU 0 powers the system off, then vCPU 1 enters its REC.
      const { host, vm } = started(series, { vcpus: 2 });
      const rec = mk(host);
      const off = vm.run(0, [psciOps.systemOff()]);
      rec.data.vcpu0 = off.outcome;
      // vCPU 1's one KVM_RUN: REC_ENTER answers RMI_ERROR_REALM index 1 (the RD is SYSTEM_OFF).
      // (KVM's PSCI SYSTEM_OFF handling leaves a sleep request on vCPU 1, which the model does not
      // have: the VMM's next KVM_RUN is not simulated.)
      const one = vm.raceThreads([{ vcpu: 1, ops: [{ kind: "access", ipa: RAM + 0x2000n, access: "read" }] }]);
      const run1 = interleave(one.threads, (runnable) => runnable[0]!).results[0]!;
      const exit1 = vm.kvm.vcpus[1]!.lastExit.kind;
      rec.data.vcpu1 = { kvmRun: errnoName(run1.ret), exit: exit1 === "unknown" ? "KVM_EXIT_UNKNOWN" : exit1 === "shutdown" ? "KVM_EXIT_SHUTDOWN" : exit1 };
      rec.check("vcpu1 enters after SYSTEM_OFF");
      if (host.profile.recEnterRealmError === "unknown-index1") {
        // v8 16/43 handle_rec_exit (as quoted in Gavin Shan's reply of 30 Apr 2025):
        // `if (status == RMI_ERROR_REALM && index == 1) { vcpu->run->exit_reason = KVM_EXIT_UNKNOWN; return 0; }`
        rec.mark("error", "vcpu1 enters after SYSTEM_OFF: KVM_RUN returns 0 with KVM_EXIT_UNKNOWN (v8 16/43 handle_rec_exit, as quoted in Gavin Shan's reply of 30 Apr 2025); the VMM cannot tell it from an error (Emi Kisanuki, 29 May 2025: 'Error: KVM exit reason: 0 (\"KVM_EXIT_UNKNOWN\")'). linux-cca-series.md has v8 return -ENXIO for every REC_ENTER failure; the posted code has this case and returns 0.");
      }
      // B (v14 rmi.c: kvm_rec_pre_enter -> kvm_rec_complete_psci): vCPU 1 is off; vCPU 0 turns
      // it on with CPU_ON and vCPU 1's thread runs KVM_RUN as soon as KVM marks it on. v8..v13
      // answer PSCI_COMPLETE while handling the exit, so REC 1 is runnable by then; v14 answers it
      // in vCPU 0's next kvm_rec_pre_enter, and REC 1 entered before that is refused
      // (RMI_ERROR_REC): KVM_RUN -EAGAIN, the VMM runs it again.
      const b = started(series, { vcpus: 2 });
      b.vm.run(1, [psciOps.cpuOff()]);
      const target = b.vm.kvm.vcpus[1]!;
      const { threads, records } = b.vm.raceThreads([
        { vcpu: 0, ops: [psciOps.cpuOn(realmMpidr(1), b.vm.entry)] },
        { vcpu: 1, ops: [{ kind: "access", ipa: RAM + 0x3000n, access: "read" }] },
      ]);
      // vCPU 0 until KVM has turned vCPU 1 on, then vCPU 1 until its KVM_RUN returns, then vCPU 0.
      const { results } = interleave(threads, (runnable) => (!target.powerOff && runnable.includes(1) ? 1 : runnable[0]!));
      b.host.step("CPU_ON race");
      const first = results[1]!;
      // the thread's KVM_RUN stops once the guest's access is done (a signal to the VMM thread)
      const firstRun = first.stop === "guest-idle" ? "access done" : errnoName(first.ret);
      const retry = first.stop === "guest-idle" ? undefined : b.vm.run(1, []);
      const recEnterErrors = b.host.trace.filter((l) => l.startsWith("SMC_RMI_REC_ENTER") && l.includes("RMI_ERROR_REC")).length;
      rec.data.cpuOnRace = {
        vcpu1FirstRun: firstRun,
        recEnterErrorRec: recEnterErrors,
        retry: retry === undefined ? null : retry.outcome,
        vcpu1Access: records[1]![0]!.result ?? null,
        cpuOnPsciReturn: psciReturn(records[0]![0]!.result),
      };
      rec.notes.push(`CPU_ON race: vcpu1's first KVM_RUN: ${firstRun}${retry === undefined ? "" : `; run again: ${retry.outcome}`}`);
      return { host, rec };
    },
  },
  // ---- v13/v14 scenarios (RMM v2.0 postings), runnable on every posting ----
  {
    id: "S02",
    title: "v14 map paths build tables down to L3: with a 2 MiB block descriptor the retry fails (Suzuki, v14 29/44)",
    affects: ["v14"],
    run(series, mk) {
      const one = (overrides?: Parameters<typeof Host.create>[0]["overrides"]) => {
        const hostOpts: Parameters<typeof Host.create>[0] = { series, seed: 1 };
        if (overrides !== undefined) hostOpts.overrides = overrides;
        const host = Host.create(hostOpts);
        const vm = host.createRealm({ ipaBits: 40, memory: 64n << 20n, vcpus: 1, forcePte: false, thp: true });
        vm.start();
        const B = RAM + (8n << 20n); // 2 MiB aligned, no shared tables yet
        vm.share(B, 2n << 20n);
        const rtt0 = host.granules().RTT;
        const t = vm.touch(B | SHARED_40, { access: "write" });
        const m = vm.mappingOf(B | SHARED_40);
        return { host, t, rtts: host.granules().RTT - rtt0, level: m.level, state: m.state };
      };
      const a = one();
      const rec = mk(a.host);
      rec.check("touch the 2 MiB-aligned THP-backed shared block", a.t);
      rec.data.rttsAllocated = a.rtts;
      rec.data.mapping = { level: a.level, state: a.state };
      if (series === "v14") {
        const b = one({ rangeMapCreatesOneLevel: true });
        rec.data.postV14 = { rttsAllocated: b.rtts, mapping: { level: b.level, state: b.state }, outcome: b.t.outcome };
        rec.notes.push(`RTT granules for the 2 MiB block: v14 ${a.rtts}, post-v14 (one level at a time) ${b.rtts}`);
        // No table down to L2: realm_map_ipa of a 2 MiB THP at a 1 GiB shared region the share never
        // touched, twice (a fault and its refault), as user_mem_abort would call it.
        const noTables = (overrides?: Parameters<typeof Host.create>[0]["overrides"]) => {
          const h = Host.create(overrides === undefined ? { series, seed: 1 } : { series, seed: 1, overrides });
          const v = h.createRealm({ ipaBits: 40, memory: 64n << 20n, vcpus: 1, forcePte: false, thp: true });
          v.start();
          const k = v.kvm;
          const ipa = Number(SHARED_40 | (RAM + (1n << 30n)));
          const pa = h.pages.allocHuge("user", k.id);
          topup_memcache(k.vcpus[0]!, 4);
          const rtt0 = h.granules().RTT;
          const rets = [0, 1].map(() => errnoName(runSync(realm_map_ipa(k, ipa, pa, 0x20_0000, KVM_PGTABLE_PROT_R + KVM_PGTABLE_PROT_W, k.vcpus[0]!.memcache))));
          const m = v.mappingOf(BigInt(ipa));
          return { h, data: { rets, rttsAllocated: h.granules().RTT - rtt0, warns: h.warnCount, mapping: { level: m.level, state: m.state } } };
        };
        const c = noTables();
        const e = noTables({ rangeMapCreatesOneLevel: true });
        rec.data.noTables = { v14: c.data, postV14: e.data };
        // v14 29/44 realm_map_non_secure: addr_range_desc's `case PMD_SIZE` block descriptor, created
        // tables to KVM_PGTABLE_LAST_LEVEL, the retry with the same descriptor, `if (WARN_ON(ret)) return ret;`
        rec.notes.push(
          "v14 29/44 addr_range_desc gives one PMD block descriptor when exactly 2 MiB is left. After a share, the shared unmap has created the L2 table, so the THP-backed fault maps the block at L2 with no new RTT, as post-v14 does.",
          "Where no table exists down to L2, v14 creates L2 and L3 (realm_create_rtt_levels to KVM_PGTABLE_LAST_LEVEL) and re-issues the same PMD descriptor: the L2 entry is now a table, RTT_UNPROT_MAP answers ERROR_RTT(2), WARN_ON(ret) and the raw status goes up the fault path, which resumes the guest; every refault does the same (a WARN per fault, no mapping). Post-v14 (one level at a time) maps the block with one RTT. linux-cca-series.md describes one extra RTT and 4K mappings; that would hold for a page-form descriptor, which addr_range_desc does not build for a 2 MiB remainder.",
        );
        rec.otherRunWarns += c.h.warnCount + e.h.warnCount;
        if (c.h.warnCount > 0) rec.mark("warn", `no table down to L2: RTT_UNPROT_MAP of the 2 MiB block after creating L2 and L3 answers ${c.data.rets[0]}: ${c.h.warnCount} WARN(s) in a fault and its refault`);
      }
      return { host: a.host, rec };
    },
  },
  {
    id: "S04",
    title: "Two vCPUs fault on the same shared page: benign in v8..v13, two WARNs in v14",
    affects: ["v14"],
    run(series, mk) {
      const race = () => {
      const { host, vm } = started(series, { vcpus: 2 });
      const rec = new Recorder(host);
      const P = RAM + (6n << 20n);
      rec.check("share two pages", vm.share(P, 0x2000n));
      rec.check("touch the first (tables exist)", vm.touch(P | SHARED_40, { access: "write" }));
      const X = (P + 0x1000n) | SHARED_40;
      const { threads } = vm.raceThreads([
        { vcpu: 0, ops: [{ kind: "access", ipa: X, access: "write" }] },
        { vcpu: 1, ops: [{ kind: "access", ipa: X, access: "write" }] },
      ]);
      // Both vCPUs reach the map call; A maps first, then B.
      const isMap = (a: string) => a === "RTT_MAP_UNPROTECTED" || a === "RTT_UNPROT_MAP";
      const seen = [false, false];
      interleave(threads, (runnable, _s, at) => {
        for (const t of runnable) if (isMap(at[t]!)) seen[t] = true;
        const notYet = runnable.filter((t) => !seen[t]);
        return notYet.length > 0 ? notYet[0]! : runnable[0]!;
      });
      host.step("race on one shared page");
      rec.check("race");
      const m = vm.mappingOf(X);
      rec.data.mapping = { level: m.level, state: m.state };
      rec.data.warns = host.warns.filter((w) => w.fn === "realm_map_non_secure").length;
      rec.data.ignored = host.trace.filter((l) => l.includes("ERROR_RTT 3 ignored")).length;
      return { host, rec };
      };
      const a = race();
      const rec = mk(a.host);
      for (const n of a.rec.notes) rec.notes.push(n);
      if (a.rec.first !== undefined) rec.mark(a.rec.first, "the race on the simulated RMM");
      Object.assign(rec.data, a.rec.data);
      if (a.host.profile.sharedMap === "rtt_unprot_map") {
        // TF-RMM main (the simulated RMM) takes a second RTT_UNPROT_MAP of the same NS PA as
        // progress. The RMM the catalogue assumes answers ERROR_RTT at L3: model that reply.
        const b = started(series, { vcpus: 2 });
        const P = RAM + (6n << 20n);
        b.vm.share(P, 0x2000n);
        b.vm.touch(P | SHARED_40, { access: "write" });
        b.host.inject({ rmi: "RTT_UNPROT_MAP", nth: 2, status: "RMI_ERROR_RTT", index: 3, count: 2 });
        const X = (P + 0x1000n) | SHARED_40;
        const { threads } = b.vm.raceThreads([
          { vcpu: 0, ops: [{ kind: "access", ipa: X, access: "write" }] },
          { vcpu: 1, ops: [{ kind: "access", ipa: X, access: "write" }] },
        ]);
        const seen = [false, false];
        interleave(threads, (runnable, _s, at) => {
          for (const t of runnable) if (at[t] === "RTT_UNPROT_MAP") seen[t] = true;
          const notYet = runnable.filter((t) => !seen[t]);
          return notYet.length > 0 ? notYet[0]! : runnable[0]!;
        });
        const m = b.vm.mappingOf(X);
        const warns = b.host.warns.filter((w) => w.fn === "realm_map_non_secure").length;
        rec.data.errorRttRmm = { warns, mapping: { level: m.level, state: m.state } };
        rec.otherRunWarns += b.host.warnCount;
        if (warns > 0) rec.mark("warn", `race with an RMM answering ERROR_RTT(3): ${warns} WARN(s) from realm_map_non_secure`);
      }
      return { host: a.host, rec };
    },
  },
  {
    id: "S05",
    title: "Read fault on shared memory: v14 maps without W -> WARN, -EFAULT (Gavin, Suzuki; v14 29/44)",
    affects: ["v14"],
    run(series, mk) {
      const { host, vm } = started(series);
      const rec = mk(host);
      const P = RAM + (6n << 20n);
      rec.check("share", vm.share(P, 0x1000n));
      const t = vm.touch(P | SHARED_40, { access: "read" });
      rec.data.read = { outcome: t.outcome, errno: t.errno };
      rec.check("guest reads the unmapped shared page", t);
      rec.notes.push("Trigger B (MAP_PRIVATE zero page aliasing) is not modelled: userspace memory has no zero-page semantics");
      return { host, rec };
    },
  },
  {
    id: "S06",
    title: "THP-backed shared memory: v14 passes the unaligned fault IPA with a 2 MiB size (Gavin, v14 29/44)",
    affects: ["v14"],
    run(series, mk) {
      const go = (thp: boolean) => {
        const { host, vm } = started(series, { thp });
        const P = RAM + (10n << 20n);
        vm.share(P, 2n << 20n);
        const t = vm.touch((P + 0x3000n) | SHARED_40, { access: "write" });
        return { host, t };
      };
      const on = go(true);
      const rec = mk(on.host);
      rec.check("touch inside a THP-backed shared 2 MiB block", on.t);
      rec.data.thpOn = { outcome: on.t.outcome, errno: on.t.errno };
      const off = go(false);
      rec.data.thpOff = { outcome: off.t.outcome, errno: off.t.errno };
      return { host: on.host, rec };
    },
  },
  {
    id: "S07",
    title: "Address-range descriptor SZ encoding inverted in v13 (encoder PAGE=3, decoder PAGE=0)",
    affects: ["v13"],
    run(series, mk) {
      const go = (overrides?: { rmmDescConvention: "bet1" | "inverted" }) => {
        const hostOpts: Parameters<typeof Host.create>[0] = { series, seed: 1 };
        if (overrides !== undefined) hostOpts.overrides = overrides;
        const host = Host.create(hostOpts);
        const vm = host.createRealm({ ipaBits: 40, memory: 64n << 20n, vcpus: 1 });
        vm.start();
        const X = RAM + (8n << 20n);
        const t = vm.touch(X, { access: "write" });
        const w0 = host.warnCount;
        const s = vm.share(X, 0x1000n); // private unmap: RTT_DATA_UNMAP returns a descriptor to decode
        return { host, t, s, started: vm.state === "ACTIVE", mapWarns: w0, unmapWarns: host.warnCount - w0 };
      };
      const a = go();
      const rec = mk(a.host);
      if (a.t.outcome !== "ok") rec.check("private fault (RTT_DATA_MAP with the posting's descriptor)", a.t);
      rec.check("private fault, then private unmap (decode of the returned descriptor)", a.s);
      const prof = a.host.profile;
      const enc = descSizeCode(prof, "PAGE");
      rec.data.encoder = { PAGE: enc, PMD: descSizeCode(prof, "PMD") };
      rec.data.decoderReadsPageAs = level_to_size(enc);
      rec.data.rmmConvention = prof.rangeDescEncoder === "none" ? "n/a (RMM v1.0)" : prof.rmmDescConvention;
      rec.data.run = { fault: a.t.outcome, mapWarns: a.mapWarns, unmapWarns: a.unmapWarns };
      if (prof.rmm === "2.0") {
        const other = prof.rmmDescConvention === "bet1" ? "inverted" : "bet1";
        const b = go({ rmmDescConvention: other });
        rec.data.otherRmm = { convention: other, realmActive: b.started, fault: b.t.outcome, errno: b.t.errno, warns: b.host.warns.map((w) => w.fn) };
        b.host.log.lines();
      }
      return { host: a.host, rec };
    },
  },
  {
    id: "S08",
    title: "realm_map_protected unwinding after a partial RTT_DATA_MAP: wrong range (v13), double undelegate (v14)",
    affects: ["v13", "v14"],
    run(series, mk) {
      const { host, vm } = started(series);
      const rec = mk(host);
      const k = vm.kvm;
      // Latent: gmem_abort maps PAGE_SIZE (one descriptor, one call). A partial RTT_DATA_MAP needs a
      // size that is not a block size: addr_range_desc (v13 27/48, v14 29/44) gives one block for
      // exactly 2 MiB, the page form (CNT 511) for 4 MiB. Driven here with a 4 MiB folio.
      const SIZE = 0x40_0000;
      const ipa = Number(RAM) + 0x80_0000;
      const folio = host.pages.allocBlock(SIZE / 4096, "gmem", k.id);
      const v2 = host.platform.abi === "2.0";
      // Fail the second chunk (v13/v14 RTT_DATA_MAP from folio page 511; v8..v12 the 2nd granule).
      const failAt = v2 ? ipa + 511 * 4096 : ipa + 4096;
      host.inject(v2 ? { rmi: "RTT_DATA_MAP", status: "RMI_ERROR_INPUT", pa: BigInt(failAt) } : { rmi: "DATA_CREATE_UNKNOWN", status: "RMI_ERROR_INPUT", pa: BigInt(failAt) });
      topup_memcache(k.vcpus[0]!, 4);
      const n0 = host.trace.length;
      const ret = runSync(realm_map_protected(k, ipa, folio, SIZE, k.vcpus[0]!.memcache));
      host.step("realm_map_protected 4 MiB with the second chunk failing");
      rec.data.ret = errnoName(ret);
      const undel = host.trace.slice(n0).filter((l) => l.startsWith("SMC_RMI_GRANULE_RANGE_UNDELEGATE") || l.startsWith("SMC_RMI_GRANULE_UNDELEGATE"));
      const outside = undel.filter((l) => {
        const base = parseInt(l.split(" ")[1]!, 16);
        return base < folio || base >= folio + SIZE;
      });
      rec.data.undelegateCalls = undel.length;
      rec.data.undelegateOutsideFolio = outside.length;
      rec.data.undelegateFailures = undel.filter((l) => !l.includes("RMI_SUCCESS")).length;
      let stillDelegated = 0;
      for (let a = folio; a < folio + SIZE; a += 4096) if (host.platform.rmm.granules.state(a / 4096) !== GranuleState.NS) stillDelegated++;
      rec.data.folioGranulesNotReturned = stillDelegated;
      const pinned = [...host.pages.pagesOf(k.id)].filter((p) => p.leaked);
      rec.data.pinned = pinned.length;
      rec.data.pinnedFolioPage = pinned.length === 1 ? (pinned[0]!.pa - folio) / 4096 : null;
      if (v2) {
        // v13 27/48 / v14 29/44 realm_map_protected, err_undelegate
        rec.notes.push(
          "Latent in both postings: gmem_abort maps PAGE_SIZE (one descriptor, one RTT_DATA_MAP), and a 2 MiB map is one PMD block descriptor (addr_range_desc), so a partial map needs a size that is not a block size: a 4 MiB folio here.",
          host.profile.protectedMapUnwind === "v13-advanced-phys"
            ? "v13: undelegate_range(phys, map_size) starts at the advanced phys (folio page 511) and runs past the folio until it fails: WARN, get_page(phys) pins folio page 511; then realm_unmap_private_range(base_ipa, ipa) returns pages 0..510 (its decoder misreads v13's SZ, S07)."
            : "v14: realm_unmap_private_range(base_ipa, ipa) returns pages 0..510, then rmi_undelegate_range(base_phys, map_size) fails at once on page 0: WARN, get_page(base_phys); the 513 granules never mapped stay delegated (leaked).",
        );
      }
      rec.check("map with a failing chunk");
      return { host, rec };
    },
  },
  {
    id: "S09",
    title: "realm_create_rd error paths: v8 r unset, v13 uninitialised i, v14 whole-PGD undelegate after a partial delegate",
    affects: ["v8", "v13", "v14"],
    run(series, mk) {
      const host = Host.create({ series, seed: 1 });
      const rec = mk(host);
      const vm = host.createRealm({ ipaBits: 40, memory: 16n << 20n, vcpus: 1 });
      const k = vm.kvm;
      const pgd = k.mmu.pgdPhys;
      const prof = host.profile;
      let trigger: string;
      if (prof.realmCreateRd === "v13-uninit-i") {
        trigger = "REALM_CREATE fails";
        host.inject({ rmi: "REALM_CREATE", status: "RMI_ERROR_INPUT" });
      } else if (prof.realmCreateRd === "v14-whole-pgd") {
        trigger = "GRANULE_RANGE_DELEGATE fails on the 2nd of 2 PGD granules";
        host.inject({ rmi: "GRANULE_RANGE_DELEGATE", status: "RMI_ERROR_INPUT", pa: BigInt(pgd + 4096) });
      } else {
        trigger = "REC_AUX_COUNT fails";
        host.inject({ rmi: "REC_AUX_COUNT", status: "RMI_ERROR_INPUT" });
      }
      const r = prof.uapi === "vmm-driven" ? kvm_create_realm(k) : realm_ensure_created(k);
      host.step(`realm creation with ${trigger}`);
      rec.data.trigger = trigger;
      rec.data.errno = errnoName(r);
      rec.data.state = k.realm.state;
      rec.data.rdIsNull = k.realm.rd < 0;
      let pgdDelegated = 0;
      for (let a = pgd; a < pgd + k.mmu.pgdSize; a += 4096) if (host.platform.rmm.granules.state(a / 4096) !== GranuleState.NS) pgdDelegated++;
      rec.data.pgdGranulesLeftDelegated = pgdDelegated;
      rec.data.pgdLeaked = !k.mmu.pgt;
      if (r === 0 && k.realm.rd < 0) rec.mark("error", "realm_create_rd returned 0 without an RD: the realm is NEW with rd == NULL");
      rec.check("create");
      vm.destroy();
      rec.check("destroy the VM");
      rec.data.flags = k.flags.filter((f) => f.startsWith("S09"));
      return { host, rec };
    },
  },
  {
    id: "S15",
    title: "Teardown work done twice (v13 kvm_free_stage2_pgd + kvm_destroy_realm; v14 unmap in both)",
    affects: ["v13", "v14"],
    run(series, mk) {
      const { host, vm } = started(series, { vcpus: 1 });
      const rec = mk(host);
      for (let i = 0n; i < 4n; i++) vm.touch(RAM + (8n << 20n) + i * 0x1000n, { access: "write" });
      const S = RAM + (12n << 20n);
      vm.share(S, 0x1000n);
      vm.touch(S | SHARED_40, { access: "write" });
      rec.check("run");
      const n0 = host.trace.length;
      vm.destroy();
      rec.check("destroy");
      const lines = host.trace.slice(n0).filter((l) => l.startsWith("SMC_RMI_"));
      const cmd = (l: string) => l.split(" ")[0]!.replace("SMC_RMI_", "");
      const unmapCmds = new Set(["DATA_DESTROY", "RTT_UNMAP_UNPROTECTED", "RTT_DATA_UNMAP", "RTT_UNPROT_UNMAP"]);
      rec.data.unmapCalls = lines.filter((l) => unmapCmds.has(cmd(l))).length;
      rec.data.rttDestroyCalls = lines.filter((l) => cmd(l) === "RTT_DESTROY").length;
      rec.data.rttDestroySuccess = lines.filter((l) => cmd(l) === "RTT_DESTROY" && l.includes("> RMI_SUCCESS")).length;
      rec.data.teardownRmiCalls = lines.length;
      // v13 21/48 realm_unmap_private_range: undelegate_range_desc reads the RMM's PAGE descriptor as
      // P4D (S07), the undelegate fails, WARN_ON + break: the rest stays mapped and the RTT teardown
      // stops at the first live last-level table (WARN, -EBUSY).
      if (host.warns.some((w) => w.fn === "realm_unmap_private_range")) rec.notes.push("realm_unmap_private_range: undelegate_range_desc failed -> WARN_ON + break (v13 21/48 / v14 23/44): pages left mapped, RTT teardown stops at live entries");
      return { host, rec };
    },
  },
  {
    id: "S24",
    title: "guest_memfd page references over fault + unmap cycles (v12 and v13 keep one per fault)",
    affects: ["v12", "v13"],
    run(series, mk) {
      const { host, vm } = started(series);
      const rec = mk(host);
      const X = RAM + (8n << 20n);
      for (let i = 0; i < 3; i++) {
        rec.check(`fault ${i + 1}`, vm.touch(X, { access: "write" }));
        rec.check(`share ${i + 1} (private unmap)`, vm.share(X, 0x1000n));
        rec.check(`unshare ${i + 1}`, vm.unshare(X, 0x1000n));
      }
      const pa = Number(vm.gmemPage(X));
      const ref = host.pages.page(pa)?.refcount ?? 0;
      rec.data.refcount = ref; // guest_memfd's own reference is 1
      if (ref > 1) rec.mark("leak", `gmem page 0x${pa.toString(16)} holds ${ref - 1} reference(s) nobody will drop`);
      // v12 24/46 and v13 27/48 gmem_abort: "if successful don't release the page" (goto out_unlock
      // past kvm_release_faultin_page), and their private unmaps do not drop it; v14 29/44 goes to
      // out_release_page after every map; v8/v10 keep it and drop it in the private unmap.
      if (ref > 1) rec.notes.push(`${host.profile.id} gmem_abort keeps the kvm_gmem_get_pfn reference of each successful map ("if successful don't release the page") and the private unmap does not drop it: one reference per fault stays (linux-cca-series.md leaves v12 unverified; v12 24/46 keeps it as v13 27/48 does)`);
      return { host, rec };
    },
  },
  {
    id: "S28",
    title: "SRO engine: uninitialised result on MEMREQ NONE (v14 10/44), donation unit sizes with folded levels",
    affects: ["v14"],
    run(series, mk) {
      const plain = started(series);
      const flagged = plain.vm.kvm.flags.filter((f) => f.startsWith("S28")).length;
      const host = Host.create({ series, seed: 1, poisonUninit: true });
      const rec = mk(host);
      const vm = host.createRealm({ ipaBits: 40, memory: 64n << 20n, vcpus: 1 });
      const s = vm.start();
      rec.data.staleZeroReads = flagged;
      rec.data.poisoned = { startOk: s.ok, kvmRun: host.trace.filter((l) => l.startsWith("IOCTL: KVM_RUN(vcpu0) = ")).map((l) => l.slice(7)), cancels: host.trace.filter((l) => l.startsWith("SMC_RMI_OP_CANCEL")).length };
      rec.check("start with uninitialised reads poisoned", { outcome: s.ok ? "ok" : "error" });
      // Donation block size from the request unit: P4D/PUD/PMD sizes coincide with folded levels.
      rec.data.unitSizes = { levels4: [0, 1, 2, 3].map((u) => level_to_size(u, 4)), levels3: [0, 1, 2, 3].map((u) => level_to_size(u, 3)) };
      if (host.profile.sroUninitResult) {
        rec.notes.push("v14 10/44 rmi_sro_execute: `int ret;` is assigned on the DONATE/RECLAIM/default paths only; on MEMREQ NONE the check after RMI_OP_CONTINUE reads it uninitialised. Modelled as the previous iteration's value (stale 0) in the plain run and as garbage (0xdead) in the poisoned one: `if (ret) { if (can_cancel) { /* FIXME */ } if (WARN_ON(ret)) return ret; }` returns it with no RMI_OP_CANCEL (the cancel is a FIXME comment), so the REC the RMM just created is taken as a failure: kvm_create_rec -ENXIO, the REC page's undelegate WARNs and leaks it. (Before issue 10 the model sent RMI_OP_CANCEL here; the posting never does.)");
      }
      rec.notes.push("Donations above MAX_PAGE_ORDER and the FIXME for non-contiguous donations are not reached: the simulated RMM asks for 4 KiB granules only");
      return { host, rec };
    },
  },
];
DEFS.sort((a, b) => Number(a.id.slice(1)) - Number(b.id.slice(1)));

/**
 * The RMM v2.0 (v13/v14) part of a scenario whose v8..v12 part lives in an extra-*.ts module
 * (S22): registerScenario runs this part on the postings that drive RMM v2.0.
 */
const V2_PARTS: Record<string, ScenarioDef> = {
  S22: {
    id: "S22",
    title: "Populate edge cases: size 0 (WARN), double populate, RTT_DATA_MAP_INIT at L3 -> KVM_BUG_ON (v13/v14)",
    affects: ["v13", "v14"],
    run(series, mk) {
      const host = Host.create({ series, seed: 1 });
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
    },
  },
};

/** Titles of scenarios whose v8..v12 and v13/v14 parts are scripted separately. */
const SHARED_TITLES: Record<string, string> = {
  S22: "Populate interface edge cases: flags, source alignment, size 0, double populate, ERROR_RTT at L3 (KVM_BUG_ON on v13/v14)",
};

function withV2Part(d: ScenarioDef): ScenarioDef {
  const v2 = V2_PARTS[d.id];
  if (v2 === undefined) return d;
  return {
    id: d.id,
    // one catalogue entry, one title: the v1.0 and v2.0 parts are the same catalogue item
    title: SHARED_TITLES[d.id] ?? d.title,
    affects: [...new Set([...d.affects, ...v2.affects])],
    run: (series, mk) => (Host.create({ series, seed: 1 }).profile.rmm === "2.0" ? v2.run(series, mk) : d.run(series, mk)),
  };
}

/** Add a scenario module's entry (src/scenarios/extra.ts); the list stays in catalogue order. */
export function registerScenario(d: ScenarioDef): void { if (DEFS.some((x) => x.id === d.id)) throw new Error(`scenarios: ${d.id} registered twice`); DEFS.push(withV2Part(d)); DEFS.sort((a, b) => a.id.localeCompare(b.id)); }

/** The scenarios registered, with the postings they run on. */
export function list(): ScenarioInfo[] {
  return DEFS.map((d) => ({ id: d.id, title: d.title, series: availableSeries(), affects: d.affects }));
}

/**
 * Run scenario `id` on one posting; the outcome comes from running that posting's code. A bad id or
 * posting throws (naming the argument); anything that goes wrong while the scenario runs is a
 * result with outcome "error" and the exception in its notes, never a throw.
 */
export function run(id: string, opts: { series: SeriesId | string }): ScenarioResult {
  if (typeof id !== "string") throw new TypeError(`scenarios.run: id must be a string like "S01", got ${typeof id}`);
  const def = DEFS.find((d) => d.id === id.toUpperCase());
  if (def === undefined) throw new RangeError(`scenarios.run: id: unknown scenario '${id}' (registered: ${DEFS.map((d) => d.id).join(", ")})`);
  if (opts === null || typeof opts !== "object" || typeof opts.series !== "string") throw new TypeError("scenarios.run: opts.series must be a posting id, e.g. {series: \"v8\"}");
  if (!availableSeries().includes(opts.series as SeriesId)) throw new RangeError(`scenarios.run: opts.series: posting '${opts.series}' is not available (available: ${availableSeries().join(", ")})`);
  let recorder: Recorder | undefined;
  let host: Host | undefined;
  let rec: Recorder;
  try {
    ({ host, rec } = def.run(opts.series as SeriesId, (h) => (recorder = new Recorder(h))));
  } catch (e) {
    // A simulator bug or a posting the script cannot drive: report it as the scenario's result.
    const msg = e instanceof Error ? `${e.name}: ${e.message}` : String(e);
    host = recorder?.host;
    rec = recorder ?? new Recorder(Host.create({ series: opts.series as SeriesId, seed: 1 }));
    rec.mark("error", `the scenario stopped with an exception: ${msg}`);
    rec.data.exception = msg;
    host = host ?? rec.host;
  }
  const pg = host.vms.reduce((a, v) => a + v.kvm.pgtablePages, 0);
  return {
    id: def.id,
    series: opts.series,
    outcome: rec.first ?? "ok",
    livelock: rec.livelock,
    warnCount: host.warnCount + rec.otherRunWarns,
    leakedGranules: rec.leakedGranules(),
    pgtablePages: pg,
    rmiCalls: host.rmiCalls,
    trace: host.trace,
    notes: rec.notes,
    data: rec.data,
  };
}

export { RealmStateK };

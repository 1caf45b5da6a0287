/**
 * The S01..S33 scenario catalogue (linux-cca-series.md §6), each runnable on every posting the
 * host implements. A scenario only scripts the trigger (VMM and guest actions, injections,
 * interleavings); its outcome comes from running the simulated code of that posting.
 */
import { GranuleState } from "../rmm/granule.js";
import { Host } from "../host/host.js";
import { availableSeries, type SeriesId } from "../host/series/index.js";
import type { RealmVm, TouchResult } from "../host/vm.js";
import { psciOps } from "../guest/guest.js";
import { interleave, explore } from "../sched/sched.js";
import { RealmStateK } from "../host/kvm.js";

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

interface ScenarioDef {
  id: string;
  title: string;
  affects: SeriesId[];
  run(series: SeriesId, rec: (host: Host) => Recorder): { host: Host; rec: Recorder };
}

const SHARED_40 = 1n << 39n;
const RAM = 0x8000_0000n;

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
      host.inject({ rmi: "GRANULE_DELEGATE", status: "RMI_ERROR_INPUT", pa, count: Infinity });
      rec.check("touch X with the page undelegatable", vm.touch(X, { vcpu: 1, access: "write" }));
      return { host, rec };
    },
  },
  {
    id: "S10",
    title: "RTT \"already exists\" leaks the freshly allocated RTT (v8, v9)",
    affects: ["v8"],
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
      if (vm.kvm.resched.taken === 0) rec.notes.push(`no cond_resched during ${vm.kvm.resched.longestWithout} unmap steps (RCU stall risk)`);
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
    title: "PSCI SYSTEM_OFF from one vCPU while another enters its REC",
    affects: ["v8"],
    run(series, mk) {
      const { host, vm } = started(series, { vcpus: 2 });
      const rec = mk(host);
      const off = vm.run(0, [psciOps.systemOff()]);
      rec.data.vcpu0 = off.outcome;
      const t = vm.touch(RAM + 0x2000n, { vcpu: 1 });
      rec.data.vcpu1 = { outcome: t.outcome, errno: t.errno };
      rec.check("vcpu1 enters after SYSTEM_OFF", t);
      return { host, rec };
    },
  },
];

/** Add a scenario module's entry (src/scenarios/extra.ts); the list stays in catalogue order. */
export function registerScenario(d: ScenarioDef): void { if (DEFS.some((x) => x.id === d.id)) throw new Error(`scenarios: ${d.id} registered twice`); DEFS.push(d); DEFS.sort((a, b) => a.id.localeCompare(b.id)); }

/** The scenarios registered, with the postings they run on. */
export function list(): ScenarioInfo[] {
  return DEFS.map((d) => ({ id: d.id, title: d.title, series: availableSeries(), affects: d.affects }));
}

/** Run scenario `id` on one posting; the outcome comes from running that posting's code. */
export function run(id: string, opts: { series: SeriesId | string }): ScenarioResult {
  if (typeof id !== "string") throw new TypeError("scenarios.run: id must be a string like \"S01\"");
  const def = DEFS.find((d) => d.id === id.toUpperCase());
  if (def === undefined) throw new RangeError(`scenarios.run: unknown scenario '${id}' (registered: ${DEFS.map((d) => d.id).join(", ")})`);
  if (opts === null || typeof opts !== "object" || typeof opts.series !== "string") throw new TypeError("scenarios.run: opts.series must be a posting id, e.g. {series: \"v8\"}");
  if (!availableSeries().includes(opts.series as SeriesId)) throw new RangeError(`scenarios.run: posting '${opts.series}' is not available (available: ${availableSeries().join(", ")})`);
  let recorder: Recorder | undefined;
  const { host, rec } = def.run(opts.series as SeriesId, (h) => (recorder = new Recorder(h)));
  void recorder;
  const pg = host.vms.reduce((a, v) => a + v.kvm.pgtablePages, 0);
  return {
    id: def.id,
    series: opts.series,
    outcome: rec.first ?? "ok",
    livelock: rec.livelock,
    warnCount: host.warnCount,
    leakedGranules: rec.leakedGranules(),
    pgtablePages: pg,
    rmiCalls: host.rmiCalls,
    trace: host.trace,
    notes: rec.notes,
    data: rec.data,
  };
}

export { RealmStateK };

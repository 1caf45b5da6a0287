/**
 * Error-path campaigns: run a workload once on a posting recording every injection point (each RMI
 * call the host makes with the failures that call can return, each host page allocation, each
 * undelegate), then, for each point, restore the host saved before the step holding it, inject
 * that one failure, run the workload and the teardown to the end and classify what the posting's
 * code made of it. This is the kernel's fail_nth made exhaustive; a point's result is a pure
 * function of (workload, posting, seed, point).
 */
import { Host } from "../host/host.js";
import type { HostSnapshot } from "../host/snapshot.js";
import { availableSeries, type SeriesId } from "../kvm/series/index.js";
import type { RmiCallRecord } from "../rmm/trace.js";
import { describeRule, type FaultRule } from "../faults/inject.js";
import { formatRecord } from "../rmm/trace.js";
import { formatEntry, type TraceEntry } from "../trace/log.js";
import { statusFromName } from "../rmm/status.js";
import { checkStatusOverrides, explorableCommands, failuresFor, type StatusOverrides } from "./statuses.js";
import { builtinWorkload, type StepReport, type Workload } from "./workloads.js";

/** What a point's run came to, best first (a result's outcome is the worst that happened). */
export const OUTCOMES = ["clean", "warn", "leak", "livelock", "hang", "invariant", "crash"] as const;
export type Outcome = (typeof OUTCOMES)[number];

export const POINT_KINDS = ["rmi", "alloc", "undelegate"] as const;
export type PointKind = (typeof POINT_KINDS)[number];

/** A campaign: a workload, postings, failure kinds, seed (all JSON values: shards and workers rebuild it). */
export interface CampaignSpec {
  workload: string;
  series: SeriesId[];
  kinds: PointKind[];
  seed: number;
  /** Guest RAM of the workload's realm in bytes, as a decimal string (default 64 MiB). */
  memory: string;
  vcpus: number;
  /** Statuses per RMI command instead of the defaults (src/explore/statuses.ts). */
  statuses: StatusOverrides;
  /** Only these RMI commands get rmi points (short names; empty: all). */
  commands: string[];
  /** The source of a workload that is not built in (a script's text), when it has one. */
  source?: string;
}

export interface CampaignInput {
  workload: string;
  series?: string | readonly string[];
  kinds?: readonly string[];
  seed?: number;
  memory?: bigint;
  vcpus?: number;
  statuses?: Record<string, readonly string[]>;
  commands?: readonly string[];
}

/** Check a campaign's input; throws a clear error naming the bad value (nothing has run). */
export function campaignSpec(input: CampaignInput, custom?: Workload): CampaignSpec {
  if (input === null || typeof input !== "object") throw new TypeError("explore: a campaign needs {workload, series?, kinds?, seed?}");
  if (custom === undefined) builtinWorkload(input.workload, { memory: input.memory, vcpus: input.vcpus }); // validates
  else if (custom.name !== input.workload) throw new RangeError("explore: the custom workload's name must be the campaign's workload");
  const all = availableSeries();
  const s = input.series === undefined || input.series === "all" ? all : typeof input.series === "string" ? input.series.split(",") : [...input.series];
  if (s.length === 0) throw new RangeError("explore: series: no posting given");
  for (const x of s) if (!all.includes(x as SeriesId)) throw new RangeError(`explore: series: unknown posting '${x}' (available: ${all.join(", ")}, or all)`);
  const series = all.filter((x) => s.includes(x)); // posting order, no duplicates
  const kinds = input.kinds === undefined ? [...POINT_KINDS] : [...input.kinds];
  for (const k of kinds) if (!(POINT_KINDS as readonly string[]).includes(k)) throw new RangeError(`explore: kinds: unknown failure kind '${k}' (known: ${POINT_KINDS.join(", ")})`);
  const seed = input.seed ?? 1;
  if (!Number.isInteger(seed) || seed < 0 || seed > 0xffff_ffff) throw new RangeError(`explore: seed must be an integer in [0, 2^32-1], got ${String(seed)}`);
  const spec: CampaignSpec = {
    workload: input.workload,
    series,
    kinds: POINT_KINDS.filter((k) => kinds.includes(k)),
    seed,
    memory: String(input.memory ?? 64n << 20n),
    vcpus: input.vcpus ?? 2,
    statuses: checkStatusOverrides(input.statuses),
    commands: checkCommands(input.commands),
  };
  if (custom?.source !== undefined) spec.source = custom.source;
  return spec;
}

function checkCommands(c: readonly string[] | undefined): string[] {
  if (c === undefined) return [];
  if (!Array.isArray(c)) throw new TypeError("explore: commands must be a list of RMI command names");
  const known = explorableCommands();
  return c.map((x) => {
    const n = String(x).toUpperCase().replace(/^RMI_/, "");
    if (!known.includes(n)) throw new RangeError(`explore: commands: unknown RMI command '${String(x)}' (known: ${known.join(", ")})`);
    return n;
  });
}

export function workloadOf(spec: CampaignSpec, custom?: Workload): Workload {
  return custom ?? builtinWorkload(spec.workload, { memory: BigInt(spec.memory), vcpus: spec.vcpus });
}

/** One place to inject one failure. */
export interface Point {
  kind: PointKind;
  /** Index of the workload step the point is in. */
  step: number;
  /** RMI command (short name) for rmi and undelegate points. */
  cmd?: string;
  /** Which call of that command (rmi), allocation (alloc) or undelegate of that granule (undelegate) in the run, from 1. */
  occ: number;
  status?: string;
  index?: number;
  /** The granule, for undelegate points. */
  pa?: bigint;
  /** Who asked for the page, for alloc points. */
  owner?: string;
  /**
   * An rmi point whose injected failure is what the call returned in the run without failure
   * (same status and index, no output register set): a failed command has no effect (RMM spec
   * B4.3), so the run goes on exactly as without failure. runPoint stops it once the trace
   * window is taken and gives the result of the run without failure (the same bytes as running
   * it to the end; checked by test/explore).
   */
  same?: boolean;
  /** For a `same` point: index of its call's entry in the recording's log (Recording.log). */
  at?: number;
}

/** Counters at a step boundary, to aim a rule added there at the right call. */
interface Boundary {
  snap: HostSnapshot | undefined;
  /** Entries in the recording's log before the step. */
  logAt: number;
  rmiByCmd: Map<string, number>;
  allocs: number;
  undelegByPa: Map<bigint, number>;
  warns: number;
}

/** The end state the leak and WARN classification compares with. */
export interface Baseline {
  rmiCalls: number;
  warns: string[];
  /** host.checkInvariants() at the end. */
  violations: string[];
  freePages: number;
  leakedPages: number;
  delegated: number;
  pgtablePages: number;
  steps: { label: string; outcome: string; errno?: string }[];
}

export interface Recording {
  series: SeriesId;
  workload: Workload;
  boundaries: Boundary[];
  points: Point[];
  baseline: Baseline;
  /** The run without failures' log (the trace window of a `same` point is read from it). */
  log: readonly TraceEntry[];
}

function newHost(spec: CampaignSpec, series: SeriesId): Host {
  return Host.create({ series, seed: spec.seed });
}

function shortName(r: RmiCallRecord): string {
  return r.name.replace(/^RMI_/, "");
}

const UNDELEGATE = new Set(["GRANULE_UNDELEGATE", "GRANULE_RANGE_UNDELEGATE"]);

function endState(host: Host): Omit<Baseline, "steps"> {
  const g = host.granules();
  return {
    rmiCalls: host.rmiCalls,
    warns: host.warns.map((w) => w.fn),
    violations: host.checkInvariants(),
    freePages: host.pages.freePages,
    leakedPages: host.pages.leakedPages,
    delegated: g.DELEGATED + g.RD + g.REC + g.REC_AUX + g.DATA + g.RTT,
    pgtablePages: host.vms.reduce((a, v) => a + v.kvm.pgtablePages, 0),
  };
}

/**
 * Run the workload once without failures, recording the injection points and saving the host at
 * each step boundary (snapshots: false saves nothing, each point then reruns from the start).
 */
export async function record(spec: CampaignSpec, series: SeriesId, workload: Workload, opts: { snapshots?: boolean } = {}): Promise<Recording> {
  const host = newHost(spec, series);
  const boundaries: Boundary[] = [];
  const points: Point[] = [];
  const rmiByCmd = new Map<string, number>();
  const undelegByPa = new Map<bigint, number>();
  let allocs = 0;
  const steps: Baseline["steps"] = [];
  const kinds = new Set(spec.kinds);
  for (let si = 0; si < workload.steps.length; si++) {
    const st = workload.steps[si]!;
    boundaries.push({
      // without the trace history: a point reads only the entries after its own injection
      snap: opts.snapshots === false ? undefined : host.snapshot({ binary: true, history: false }),
      logAt: host.log.length,
      rmiByCmd: new Map(rmiByCmd),
      allocs,
      undelegByPa: new Map(undelegByPa),
      warns: host.warns.length,
    });
    // recording hooks, removed before the next snapshot
    const unsubscribe = host.platform.rmm.trace.subscribe((r) => {
      const cmd = shortName(r);
      const occ = (rmiByCmd.get(cmd) ?? 0) + 1;
      rmiByCmd.set(cmd, occ);
      if (kinds.has("rmi") && (spec.commands.length === 0 || spec.commands.includes(cmd))) {
        const quiet = r.outs.every((o) => o === 0n);
        for (const f of failuresFor(cmd, r.args, spec.statuses)) {
          const p: Point = { kind: "rmi", step: si, cmd, occ, status: f.status, index: f.index };
          if (quiet && statusFromName(f.status) + (f.index ?? 0) * 256 === r.x0) {
            p.same = true;
            // the host's own listener (subscribed when it was created) logged the call just now
            const e = host.log.entries[host.log.length - 1];
            if (host.log.enabled && e?.kind === "rmi" && e.rmi === r) p.at = host.log.length - 1;
          }
          points.push(p);
        }
      }
      if (UNDELEGATE.has(cmd)) {
        const pa = r.args[0]!;
        const n = (undelegByPa.get(pa) ?? 0) + 1;
        undelegByPa.set(pa, n);
        if (kinds.has("undelegate")) points.push({ kind: "undelegate", step: si, cmd, occ: n, pa });
      }
    });
    const hook = host.pages.hook;
    host.pages.hook = (req, nth) => {
      allocs++;
      // kernel allocations only: the VMM's own buffers are userspace malloc, not a kernel error path
      if (kinds.has("alloc") && req.owner !== "vmm") points.push({ kind: "alloc", step: si, occ: allocs, owner: req.owner });
      return hook?.(req, nth) ?? false;
    };
    let r: StepReport;
    try {
      r = await st.run(host);
    } finally {
      unsubscribe();
      host.pages.hook = hook;
    }
    // without any injected failure every step must do what it says: else the workload is bad input
    if (r.failed !== undefined) throw new RangeError(`explore: workload '${workload.name}' step ${si + 1} (${st.label}) fails on ${series} without any injected failure: ${r.failed}`);
    steps.push({ label: st.label, outcome: r.outcome, ...(r.errno !== undefined ? { errno: r.errno } : {}) });
  }
  return { series, workload, boundaries, points, baseline: { ...endState(host), steps }, log: host.log.entries };
}

/** The fault rule that makes `p` fail when added at the boundary before its step. */
export function ruleFor(p: Point, b: Pick<Boundary, "rmiByCmd" | "allocs" | "undelegByPa">): FaultRule {
  switch (p.kind) {
    case "rmi":
      return { rmi: p.cmd!, nth: p.occ - (b.rmiByCmd.get(p.cmd!) ?? 0), status: p.status!, index: p.index ?? 0 };
    case "alloc":
      return { alloc: "page", nth: p.occ - b.allocs };
    case "undelegate":
      // a granule that cannot be undelegated: this call and every later one on it fail
      return { rmi: p.cmd!, pa: p.pa!, nth: p.occ - (b.undelegByPa.get(p.pa!) ?? 0), count: Infinity, status: "RMI_ERROR_INPUT" };
  }
}

export interface LeakCounts {
  /** Host pages not back on the free list (compared with the run without failure). */
  pages: number;
  /** Pages the host counts as leaked. */
  leaked: number;
  /** Granules still delegated (any non-NS state). */
  granules: number;
  /** kvm_account_pgtable_pages drift. */
  pgtable: number;
}

export interface PointResult {
  series: SeriesId;
  step: string;
  kind: PointKind;
  cmd?: string;
  occ: number;
  status?: string;
  index?: number;
  pa?: string;
  owner?: string;
  outcome: Outcome;
  /** The first errno the VMM saw after the injection (null: the host recovered or did not report it). */
  errno: string | null;
  /** The function of the first WARN after the injection. */
  warn: string | null;
  leak: LeakCounts | null;
  /** Exception or invariant text (crash, invariant), the step that livelocked or hung. */
  detail?: string;
  /** Trace lines around the injection. */
  trace: string[];
}

function multisetExtra(a: readonly string[], b: readonly string[]): string[] {
  const n = new Map<string, number>();
  for (const x of b) n.set(x, (n.get(x) ?? 0) + 1);
  const out: string[] = [];
  for (const x of a) {
    const c = n.get(x) ?? 0;
    if (c > 0) n.set(x, c - 1);
    else out.push(x);
  }
  return out;
}

/** Site of a point, the same on every posting that makes that call in that step. */
export function siteOf(r: Pick<PointResult, "step" | "kind" | "cmd" | "status" | "index" | "owner">): string {
  if (r.kind === "alloc") return `${r.step} | alloc ${r.owner}`;
  if (r.kind === "undelegate") return `${r.step} | undelegate stuck`;
  return `${r.step} | ${r.cmd} ${r.status}${r.status === "RMI_ERROR_RTT" ? `:${r.index}` : ""}`;
}

/** Thrown from the RMM trace to stop a `same` point's run once its trace window is complete. */
class WindowTaken extends Error {}

/** Entries of the trace window after the injection (the window is [at - 3, at + 5)). */
const AFTER = 5;

/** Run one point: restore (or rerun to) the boundary before its step, inject, run to the end, classify. */
export async function runPoint(rec: Recording, p: Point, spec: CampaignSpec, opts: { full?: boolean | "window" } = {}): Promise<PointResult> {
  const steps = rec.workload.steps;
  const b = rec.boundaries[p.step]!;
  // a `same` point whose call is in the recording's log: nothing to run (see sameWindow)
  if (p.same === true && p.at !== undefined && opts.full !== true && opts.full !== "window") return sameAsBaseline(rec, p, sameWindow(rec, p, b));
  let host: Host;
  if (b.snap !== undefined) host = Host.restore(b.snap);
  else {
    host = newHost(spec, rec.series);
    for (let i = 0; i < p.step; i++) await steps[i]!.run(host);
  }
  // invariants once at the end (checkInvariants), not after every step; no time series
  host.invariants = false;
  host.timeSeries.enabled = false;
  // the RMM's own call log is not read (the host log has every call): not kept
  host.platform.rmm.trace.enabled = false;
  const reports: StepReport[] = [];
  let crash: string | undefined;
  let detail: string | undefined;
  try {
    host.inject(ruleFor(p, b));
  } catch (e) {
    // the failure table offered what the fault injector refuses: a bug of the explorer, shown as such
    crash = `inject: ${e instanceof Error ? e.message : String(e)}`;
  }
  const t0 = host.log.length;
  // a `same` point: stop once the window after the injection is in the log (the rest is the run without failure)
  let taken = false;
  let unsubscribe: (() => void) | undefined;
  if (p.same === true && opts.full !== true && crash === undefined) {
    const entries = host.log.entries;
    let scan = t0;
    let at = -1;
    unsubscribe = host.platform.rmm.trace.subscribe(() => {
      for (; at < 0 && scan < entries.length; scan++) if (entries[scan]!.kind === "inject" && !entries[scan]!.text!.startsWith("rule added")) at = scan;
      if (at >= 0 && entries.length >= at + AFTER) {
        taken = true;
        throw new WindowTaken();
      }
    });
  }
  for (let i = p.step; crash === undefined && !taken && i < steps.length; i++) {
    try {
      const r = await steps[i]!.run(host);
      reports.push(r);
      if (detail === undefined && (r.outcome === "livelock" || r.outcome === "hang")) detail = `${steps[i]!.label}: ${r.outcome}`;
    } catch (e) {
      if (taken) break;
      crash = `${steps[i]!.label}: ${e instanceof Error ? `${e.name}: ${e.message}` : String(e)}`;
      break;
    }
  }
  unsubscribe?.();
  if (taken) return sameAsBaseline(rec, p, traceWindow(host.log.entries, t0));
  const fired = host.faults.list()[0]?.fired ?? 0;
  if (fired === 0 && crash === undefined) crash = "the injection never fired (the run diverged from the recording: an explorer bug)";
  const end = endState(host);
  const base = rec.baseline;
  // What the invariants say at the end, beyond the run without failure: a page the host freed
  // while the RMM still has it delegated is a model inconsistency (a simulator bug); a granule
  // nobody owns or uses, or page-table accounting drift, is what the posted code leaked.
  const extra = multisetExtra(end.violations, base.violations);
  const broken = extra.filter((v) => / in the RMM but free in the host/.test(v));
  const newWarns = multisetExtra(end.warns.slice(b.warns), base.warns.slice(b.warns));
  const leak: LeakCounts = {
    pages: base.freePages - end.freePages,
    leaked: end.leakedPages - base.leakedPages,
    granules: end.delegated - base.delegated,
    pgtable: end.pgtablePages - base.pgtablePages,
  };
  const leaks = leak.pages > 0 || leak.leaked > 0 || leak.granules > 0 || leak.pgtable !== 0 || extra.length > broken.length;
  let outcome: Outcome;
  if (crash !== undefined) {
    outcome = "crash";
    detail = crash;
  } else if (broken.length > 0) {
    outcome = "invariant";
    detail = broken[0];
  } else if (reports.some((r) => r.outcome === "hang")) outcome = "hang";
  else if (reports.some((r) => r.outcome === "livelock")) outcome = "livelock";
  else if (leaks) {
    outcome = "leak";
    if (detail === undefined && extra.length > 0) detail = extra[0];
  } else if (newWarns.length > 0) outcome = "warn";
  else outcome = "clean";
  return pointResult(rec, p, { outcome, errno: reports.find((x) => x.errno !== undefined)?.errno ?? null, warn: newWarns[0] ?? null, leak: leaks ? leak : null, trace: traceWindow(host.log.entries, t0), detail });
}

/** The trace around the injection, formatted for that window only. */
function traceWindow(entries: readonly TraceEntry[], t0: number): string[] {
  let at = -1;
  for (let i = t0; i < entries.length && at < 0; i++) if (entries[i]!.kind === "inject" && !entries[i]!.text!.startsWith("rule added")) at = i;
  return at < 0 ? [] : entries.slice(Math.max(t0, at - 3), at + AFTER).map(formatEntry);
}

/**
 * A `same` point stopped after its trace window: from the injection on the run is the run
 * without failure, so it ends as that run did (its step reports, nothing leaked, no new WARN or
 * invariant), which is what runPoint computes for such a run carried to the end.
 */
function sameAsBaseline(rec: Recording, p: Point, trace: string[]): PointResult {
  const reports = rec.baseline.steps.slice(p.step);
  const bad = reports.findIndex((r) => r.outcome === "livelock" || r.outcome === "hang");
  const outcome: Outcome = reports.some((r) => r.outcome === "hang") ? "hang" : reports.some((r) => r.outcome === "livelock") ? "livelock" : "clean";
  const detail = bad < 0 ? undefined : `${reports[bad]!.label}: ${reports[bad]!.outcome}`;
  return pointResult(rec, p, { outcome, errno: reports.find((x) => x.errno !== undefined)?.errno ?? null, warn: null, leak: null, trace, detail });
}

/**
 * The trace window of a `same` point without running it: the run is the recording's up to the
 * call, where the fault injector logs its firing (the text FaultInjector.onRmi writes) and the
 * call is logged as injected (its outputs are zero, as in the recording), then the recording's
 * again. The step's own entries only, as traceWindow takes them (checked against running the
 * point: test/explore/restore.test.ts).
 */
function sameWindow(rec: Recording, p: Point, b: Boundary): string[] {
  const log = rec.log;
  const at = p.at!;
  const call = log[at]!.rmi!;
  const rule = ruleFor(p, b) as FaultRule & { nth: number };
  const out: string[] = [];
  for (let i = Math.max(b.logAt, at - 3); i < at; i++) out.push(formatEntry(log[i]!));
  out.push(formatEntry({ seq: 0, kind: "inject", step: 0, text: `${call.name} call #${rule.nth} -> ${p.status} ${p.index ?? 0} (rule ${describeRule(rule)})` }));
  out.push(formatRecord({ ...call, injected: true }));
  for (let i = at + 1; i < at + AFTER - 1 && i < log.length; i++) out.push(formatEntry(log[i]!));
  return out;
}

function pointResult(rec: Recording, p: Point, o: Pick<PointResult, "outcome" | "errno" | "warn" | "leak" | "trace" | "detail">): PointResult {
  const r: PointResult = {
    series: rec.series,
    step: rec.workload.steps[p.step]!.label,
    kind: p.kind,
    occ: p.occ,
    outcome: o.outcome,
    errno: o.errno,
    warn: o.warn,
    leak: o.leak,
    trace: o.trace,
  };
  if (p.cmd !== undefined) r.cmd = p.cmd;
  if (p.status !== undefined) r.status = p.status;
  if (p.index !== undefined && p.status === "RMI_ERROR_RTT") r.index = p.index;
  if (p.pa !== undefined) r.pa = `0x${p.pa.toString(16)}`;
  if (p.owner !== undefined) r.owner = p.owner;
  if (o.detail !== undefined) r.detail = o.detail;
  return r;
}

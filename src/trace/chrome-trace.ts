/**
 * A host's trace as Chrome trace-event JSON (the "JSON Object Format" of the Trace Event Format
 * document), which Perfetto UI (ui.perfetto.dev, "Open trace file") and chrome://tracing open:
 *
 * - one process, "host (<posting>)", with a thread (track) for the VMM and one per vCPU
 *   (`vm1 vCPU 0`, ...): a vCPU's track holds what KVM does in that vCPU's KVM_RUN ioctl (from its
 *   first REC_ENTER to the `KVM_RUN(vcpuN)` return: REC entries, stage-2 fault handling,
 *   PSCI/RIPAS handling), everything else is on the VMM's track;
 * - RMI calls as complete ("X") slices named by command, args `x1..xN` (hex), `status`,
 *   `index`, `outs`, `injected`; each KVM_RUN as an enclosing slice;
 * - REC exits (`REC exit`, or `stage-2 fault` for a data/instruction abort, with the IPA), WARNs
 *   (`WARN <function>`) and fault-injection firings (`injected fault`) as instant ("i") events;
 * - host steps (`touch 0x80000000`, `destroy`, ...) as slices on a `host steps` track;
 * - the accounting (granules by state, KVM page-table pages, leaked pages, WARNs) as counter
 *   ("C") tracks, one value per host step.
 *
 * Timestamps are simulated, not wall time: entry number `seq` of the host's log is `ts = seq`
 * microseconds, so the same seed gives the same file byte for byte.
 */
import { writeFileSync } from "node:fs";
import { recordStatus, type RmiCallRecord } from "../rmm/trace.js";
import { statusName } from "../rmm/status.js";
import type { TraceEntry, TraceLog } from "./log.js";
import type { SeriesSample } from "./series.js";

/** What a trace is made from: a Host has all three (host.log, host.timeSeries, host.series). */
export interface ChromeTraceSource {
  log: TraceLog;
  timeSeries?: { samples: readonly SeriesSample[] };
  series?: string;
}

/** One trace event (Trace Event Format). */
export interface ChromeTraceEvent {
  name: string;
  ph: "X" | "i" | "C" | "M";
  pid: number;
  tid: number;
  ts: number;
  dur?: number;
  s?: "t" | "p" | "g";
  cat?: string;
  args?: Record<string, unknown>;
}

/** The JSON object a viewer loads. */
export interface ChromeTrace {
  traceEvents: ChromeTraceEvent[];
  displayTimeUnit: "ms" | "ns";
  otherData: Record<string, string>;
}

const PID = 1;
const VMM_TID = 1;
const STEPS_TID = 2;
const hex = (v: bigint): string => "0x" + v.toString(16);

/** The recorded REC exits that are stage-2 faults (rec.ts logs "SYNC data abort IPA 0x..."). */
const ABORT = /abort IPA (0x[0-9a-f]+)/;

function rmiArgs(r: RmiCallRecord): Record<string, unknown> {
  const args: Record<string, unknown> = {};
  r.args.forEach((a, i) => (args[`x${i + 1}`] = hex(a)));
  if (r.x0 < 0) args["status"] = "SMC_UNKNOWN";
  else {
    const { status, index } = recordStatus(r);
    args["status"] = statusName(status);
    if (index !== 0) args["index"] = index;
  }
  if (r.outs.length > 0) args["outs"] = r.outs.map(hex);
  if (r.injected === true) args["injected"] = true;
  return args;
}

/**
 * Build the Chrome trace of a host (or any log + samples): deterministic, sorted by timestamp.
 * Entries dropped from a full log (TraceLog.limit) are not in it; `otherData.dropped` says how many.
 */
export function chromeTrace(src: ChromeTraceSource): ChromeTrace {
  const events: ChromeTraceEvent[] = [];
  const meta: ChromeTraceEvent[] = [];
  const threadName = new Map<number, string>();
  const rds = new Map<bigint, number>(); // RD -> VM number, in REALM_CREATE order
  const recs = new Map<bigint, { tid: number; vm: number }>();
  let nextTid = 3;
  let current = VMM_TID;
  /** Per vCPU track: where its KVM_RUN began (vCPU threads interleave under the scheduler). */
  const runStart = new Map<number, number>();
  /** "vm:vcpu" -> track, learnt from the exits logged in a REC's context. */
  const vcpuTid = new Map<string, number>();
  const entries: readonly TraceEntry[] = src.log.entries;
  const stepSpan = new Map<number, { first: number; last: number }>();

  const recThread = (rec: bigint): number => {
    let t = recs.get(rec);
    if (t === undefined) {
      t = { tid: nextTid++, vm: 0 };
      recs.set(rec, t);
      threadName.set(t.tid, `REC ${hex(rec)}`);
    }
    return t.tid;
  };

  let lastStep = entries[0]?.step ?? 0;
  let lastTs = 0;
  // Runs of the touch API end with their host step, without a KVM_RUN ioctl line.
  const closeRuns = (end: number): void => {
    for (const [tid, start] of runStart) events.push({ name: "vCPU run", cat: "run", ph: "X", pid: PID, tid, ts: start, dur: end - start, args: {} });
    runStart.clear();
  };
  for (const e of entries) {
    const ts = e.seq;
    if (e.step !== lastStep) {
      closeRuns(lastTs + 1);
      current = VMM_TID;
      lastStep = e.step;
    }
    lastTs = ts;
    const span = stepSpan.get(e.step);
    if (span === undefined) stepSpan.set(e.step, { first: ts, last: ts });
    else span.last = ts;
    if (e.kind === "rmi") {
      const r = e.rmi!;
      if (r.name === "RMI_REALM_CREATE" && r.x0 === 0 && r.args[0] !== undefined) rds.set(r.args[0], rds.size + 1);
      if (r.name === "RMI_REC_CREATE" && r.args[1] !== undefined) {
        const tid = recThread(r.args[1]);
        const vm = rds.get(r.args[0]!) ?? 0;
        recs.get(r.args[1])!.vm = vm;
        if (threadName.get(tid)!.startsWith("REC ")) threadName.set(tid, `vm${vm} REC ${hex(r.args[1])}`);
      }
      if (r.name === "RMI_REC_ENTER" && r.args[0] !== undefined) {
        current = recThread(r.args[0]);
        if (!runStart.has(current)) runStart.set(current, ts);
      }
      events.push({ name: r.name, cat: "rmi", ph: "X", pid: PID, tid: current, ts, dur: 1, args: { ...rmiArgs(r), step: e.step } });
      continue;
    }
    const text = e.text ?? "";
    switch (e.kind) {
      case "exit": {
        const vcpu = /^vcpu(\d+) (.*)$/.exec(text);
        if (vcpu !== null && current !== VMM_TID) nameVcpu(current, Number(vcpu[1]));
        const abort = ABORT.exec(text);
        const args: Record<string, unknown> = { exit: vcpu?.[2] ?? text, step: e.step };
        if (abort !== null) args["ipa"] = abort[1];
        events.push({ name: abort !== null ? "stage-2 fault" : "REC exit", cat: "exit", ph: "i", s: "t", pid: PID, tid: current, ts, args });
        break;
      }
      case "warn":
        events.push({ name: `WARN ${e.fn ?? ""}`.trim(), cat: "warn", ph: "i", s: "t", pid: PID, tid: current, ts, args: { function: e.fn ?? "", message: text, step: e.step } });
        break;
      case "inject":
        // "rule added: ..." is the user's set-up; the other lines are firings.
        if (text.startsWith("rule added")) events.push({ name: "fault rule added", cat: "inject", ph: "i", s: "t", pid: PID, tid: VMM_TID, ts, args: { rule: text, step: e.step } });
        else events.push({ name: "injected fault", cat: "inject", ph: "i", s: "t", pid: PID, tid: current, ts, args: { fault: text, step: e.step } });
        break;
      default: {
        const run = e.kind === "ioctl" ? /^KVM_RUN\(vcpu(\d+)\)/.exec(text) : null;
        const tid = run !== null ? (vcpuTid.get(`${vmOf(current)}:${run[1]}`) ?? current) : current;
        events.push({ name: e.kind === "ioctl" ? text.replace(/\(.*$|\s.*$/, "") : "KVM", cat: e.kind, ph: "i", s: "t", pid: PID, tid, ts, args: { text, step: e.step } });
        const start = runStart.get(tid);
        if (run !== null && tid !== VMM_TID && start !== undefined) {
          nameVcpu(tid, Number(run[1]));
          // The KVM_RUN ioctl: from its first REC_ENTER to its return, on the vCPU's track.
          events.push({ name: "KVM_RUN", cat: "ioctl", ph: "X", pid: PID, tid, ts: start, dur: ts + 1 - start, args: { result: text.replace(/^.*= /, ""), step: e.step } });
          runStart.delete(tid);
          current = VMM_TID;
        }
      }
    }
  }
  closeRuns(lastTs + 1);

  function vmOf(tid: number): number {
    for (const r of recs.values()) if (r.tid === tid) return r.vm;
    return 0;
  }
  function nameVcpu(tid: number, vcpu: number): void {
    const vm = vmOf(tid);
    vcpuTid.set(`${vm}:${vcpu}`, tid);
    threadName.set(tid, `vm${vm} vCPU ${vcpu}`);
  }

  // Host steps and the accounting, one sample per step, at the step's last entry.
  // A step that logged nothing takes the time of the step before it.
  let sampleTs = 0;
  for (const s of src.timeSeries?.samples ?? []) {
    const span = stepSpan.get(s.step);
    const ts = span !== undefined ? span.last + 1 : sampleTs;
    sampleTs = ts;
    if (span !== undefined) events.push({ name: s.label || `step ${s.step}`, cat: "step", ph: "X", pid: PID, tid: STEPS_TID, ts: span.first, dur: ts - span.first, args: { step: s.step } });
    events.push({ name: "granules", cat: "accounting", ph: "C", pid: PID, tid: 0, ts, args: { ...s.granules } });
    events.push({ name: "KVM page-table pages", cat: "accounting", ph: "C", pid: PID, tid: 0, ts, args: { pages: s.pgtablePages } });
    events.push({ name: "leaked pages", cat: "accounting", ph: "C", pid: PID, tid: 0, ts, args: { pages: s.leakedPages } });
    events.push({ name: "WARNs", cat: "accounting", ph: "C", pid: PID, tid: 0, ts, args: { count: s.warnCount } });
  }

  meta.push({ name: "process_name", ph: "M", pid: PID, tid: 0, ts: 0, args: { name: `host (${src.series ?? "RMM"})` } });
  meta.push({ name: "thread_name", ph: "M", pid: PID, tid: VMM_TID, ts: 0, args: { name: "VMM" } });
  meta.push({ name: "thread_sort_index", ph: "M", pid: PID, tid: VMM_TID, ts: 0, args: { sort_index: 0 } });
  meta.push({ name: "thread_name", ph: "M", pid: PID, tid: STEPS_TID, ts: 0, args: { name: "host steps" } });
  meta.push({ name: "thread_sort_index", ph: "M", pid: PID, tid: STEPS_TID, ts: 0, args: { sort_index: -1 } });
  for (const [tid, name] of [...threadName].sort((a, b) => a[0] - b[0])) {
    meta.push({ name: "thread_name", ph: "M", pid: PID, tid, ts: 0, args: { name } });
    meta.push({ name: "thread_sort_index", ph: "M", pid: PID, tid, ts: 0, args: { sort_index: tid } });
  }
  // Stable order: by time, enclosing slices (longer) before what they enclose.
  events.sort((a, b) => a.ts - b.ts || (b.dur ?? 0) - (a.dur ?? 0));
  return {
    traceEvents: [...meta, ...events],
    displayTimeUnit: "ms",
    otherData: {
      generator: "cca-realm-sim",
      clock: "simulated: 1 us per entry of the host's trace log (ts = entry seq)",
      posting: src.series ?? "",
      dropped: String(src.log.dropped),
    },
  };
}

/** The trace as JSON text (bigints already formatted as hex strings). */
export function chromeTraceJson(src: ChromeTraceSource): string {
  return JSON.stringify(chromeTrace(src));
}

/**
 * Write the trace to `file` (e.g. `writeChromeTrace(host, "realm.json")`), for Perfetto UI or
 * chrome://tracing; returns the number of bytes written.
 */
export function writeChromeTrace(src: ChromeTraceSource, file: string): number {
  const text = chromeTraceJson(src);
  writeFileSync(file, text);
  return Buffer.byteLength(text);
}

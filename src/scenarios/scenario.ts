/**
 * What a scenario is (ScenarioDef: a script of the trigger), what it records while it runs
 * (Recorder) and what running one gives (ScenarioResult, built by runScenario). The scenarios
 * themselves are the sNN-*.ts modules, listed in order in index.ts.
 */
import { GranuleState } from "../rmm/granule.js";
import { Host } from "../host/host.js";
import type { SeriesId } from "../kvm/series/index.js";
import type { TouchResult } from "../vmm/vm.js";

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

/**
 * One catalogue entry. `run` scripts the trigger on a host of `series` it creates, calls `rec` once
 * with the host the result reports (other hosts it makes are variants), and returns both.
 */
export interface ScenarioDef {
  id: string;
  title: string;
  /** Postings the catalogue says exhibit the problem. */
  affects: SeriesId[];
  run(series: SeriesId, rec: (host: Host) => Recorder): { host: Host; rec: Recorder };
}

/**
 * Run one scenario definition on one posting (the caller has checked both); the outcome comes from
 * running that posting's code. Anything that goes wrong while the scenario runs is a result with
 * outcome "error" and the exception in its notes, never a throw.
 */
export function runScenario(def: ScenarioDef, series: SeriesId): ScenarioResult {
  let recorder: Recorder | undefined;
  let host: Host | undefined;
  let rec: Recorder;
  try {
    ({ host, rec } = def.run(series, (h) => (recorder = new Recorder(h))));
  } catch (e) {
    // A simulator bug or a posting the script cannot drive: report it as the scenario's result.
    const msg = e instanceof Error ? `${e.name}: ${e.message}` : String(e);
    host = recorder?.host;
    rec = recorder ?? new Recorder(Host.create({ series, seed: 1 }));
    rec.mark("error", `the scenario stopped with an exception: ${msg}`);
    rec.data.exception = msg;
    host = host ?? rec.host;
  }
  const pg = host.vms.reduce((a, v) => a + v.kvm.pgtablePages, 0);
  return {
    id: def.id,
    series,
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

/**
 * Running a campaign: record each posting, enumerate the points (global index: postings in order,
 * points in run order), take this shard's slice (point g belongs to shard (g mod N) + 1), run them
 * here or on worker threads, and stream the result document in point order.
 */
import { createRequire } from "node:module";
import { pathToFileURL } from "node:url";
import { Worker } from "node:worker_threads";
import { campaignSpec, record, runPoint, workloadOf, type CampaignInput, type CampaignSpec, type PointResult, type Recording } from "./campaign.js";
import { makeHeader, ResultWriter, type PointLine, type PostingInfo, type ResultHeader, type Shard, type Summary } from "./result.js";
import type { Workload } from "./workloads.js";

export interface Progress {
  done: number;
  total: number;
  elapsedMs: number;
  /** Points per second so far. */
  rate: number;
  /** Estimated time left. */
  etaMs: number;
}

export interface ExploreOptions {
  shard?: Shard;
  /** Worker threads (default 0: run in this thread). Built-in workloads only. */
  workers?: number;
  /** Where the result document goes, chunk by chunk (default: nowhere; the summary is returned). */
  sink?: (chunk: string) => void;
  /** Called once the postings are recorded, before the first point runs. */
  onStart?: (header: ResultHeader) => void;
  onPoint?: (p: PointLine) => void;
  onProgress?: (p: Progress) => void;
  /** Set `aborted` to stop: the points done so far are written, the summary says complete: false. */
  signal?: { readonly aborted: boolean };
  /** A workload that is not built in (its name is input.workload). */
  workload?: Workload;
  /**
   * How worker threads rebuild a workload that is not built in (a function cannot be sent to a
   * thread): the URL of a module whose export `name` makes it from the campaign spec (e.g. a
   * script's front end, src/commands/explore-script.ts, from the script text in spec.source).
   */
  workloadModule?: WorkloadModule;
  /** Rerun each point from the start instead of restoring the saved host (default false; for checks). */
  fromScratch?: boolean;
  /**
   * With worker threads: each worker's heap in use after a forced GC (node --expose-gc; else
   * without the GC), taken by the first batch each worker finishes after 25, 50, 75 and 100% of the
   * points were sent (benchmarks: memory flat in the number of points).
   */
  onWorkerHeap?: (s: { worker: number; quarter: number; heapUsed: number }) => void;
}

export interface WorkloadModule {
  url: string;
  name: string;
}

export interface ExploreResult {
  header: ResultHeader;
  summary: Summary;
}

/** Which (posting, point) a global index is. */
interface Slot {
  g: number;
  series: number;
  k: number;
}

function postingInfo(rec: Recording): PostingInfo {
  const { warns, violations, ...rest } = rec.baseline;
  return { series: rec.series, points: rec.points.length, baseline: { ...rest, warns: warns.length, violations } };
}

/** Check the input, record the postings and list this shard's points (nothing is written yet). */
export async function prepare(input: CampaignInput, opts: Pick<ExploreOptions, "shard" | "workload" | "fromScratch" | "workers"> = {}): Promise<{ spec: CampaignSpec; recs: Recording[]; header: ResultHeader; slots: Slot[] }> {
  const spec = campaignSpec(input, opts.workload);
  const workload = workloadOf(spec, opts.workload);
  // the points run here need the step snapshots; with worker threads each worker records its own
  const snapshots = opts.fromScratch !== true && (opts.workers ?? 0) <= 1;
  const recs: Recording[] = [];
  for (const s of spec.series) recs.push(await record(spec, s, workload, { snapshots }));
  const header = makeHeader(spec, recs.map(postingInfo), opts.shard);
  const slots: Slot[] = [];
  let g = 0;
  recs.forEach((r, si) => {
    for (let k = 0; k < r.points.length; k++, g++) if (opts.shard === undefined || g % opts.shard.count === opts.shard.index - 1) slots.push({ g, series: si, k });
  });
  return { spec, recs, header, slots };
}

/** Run a campaign (or one shard of it). Bad input throws before anything is written. */
export async function explore(input: CampaignInput, opts: ExploreOptions = {}): Promise<ExploreResult> {
  const workers = opts.workers ?? 0;
  if (!Number.isInteger(workers) || workers < 0 || workers > 64) throw new RangeError(`explore: workers must be an integer in [0, 64], got ${String(workers)}`);
  if (workers > 1 && opts.workload !== undefined && opts.workloadModule === undefined) throw new RangeError("explore: worker threads rebuild a workload that is not built in from a module (workloadModule; a function cannot be sent to a worker)");
  const { spec, recs, header, slots } = await prepare(input, opts);
  const writer = new ResultWriter(opts.sink ?? (() => {}), header);
  opts.onStart?.(header);
  const t0 = Date.now();
  let done = 0;
  const emit = (p: PointLine): void => {
    writer.point(p);
    opts.onPoint?.(p);
    done++;
    if (opts.onProgress !== undefined) {
      const el = Math.max(1, Date.now() - t0);
      const rate = (done * 1000) / el;
      opts.onProgress({ done, total: slots.length, elapsedMs: el, rate, etaMs: rate > 0 ? ((slots.length - done) / rate) * 1000 : 0 });
    }
  };
  opts.onProgress?.({ done: 0, total: slots.length, elapsedMs: 0, rate: 0, etaMs: 0 });
  if (workers <= 1) {
    for (const s of slots) {
      if (opts.signal?.aborted) break;
      const rec = recs[s.series]!;
      emit({ i: s.g, ...(await runPoint(rec, rec.points[s.k]!, spec)) });
      // let Ctrl-C and progress output through between points
      if (done % 16 === 0) await new Promise((r) => setImmediate(r));
    }
  } else {
    await runOnWorkers(spec, slots, workers, emit, opts.signal, opts.workloadModule, opts.onWorkerHeap);
  }
  const summary = writer.end(done === slots.length);
  return { header, summary };
}

const BATCH = 8;

/** Run the slots on worker threads; results are emitted in slot order. */
async function runOnWorkers(spec: CampaignSpec, slots: Slot[], n: number, emit: (p: PointLine) => void, signal: { readonly aborted: boolean } | undefined, module: WorkloadModule | undefined, onHeap: ExploreOptions["onWorkerHeap"]): Promise<void> {
  // from the TypeScript sources (tests), the worker loads its module through tsx
  const ts = import.meta.url.endsWith(".ts");
  const url = new URL(ts ? "./worker.ts" : "./worker.js", import.meta.url);
  const boot = ts ? `import(${JSON.stringify(pathToFileURL(createRequire(import.meta.url).resolve("tsx/package.json").replace(/package\.json$/, "dist/esm/api/index.mjs")).href)}).then((m) => { m.register(); return import(${JSON.stringify(url.href)}); })` : undefined;
  const pool = Array.from({ length: Math.min(n, Math.ceil(slots.length / BATCH) || 1) }, () => (boot === undefined ? new Worker(url, { workerData: { spec, module } }) : new Worker(boot, { eval: true, workerData: { spec, module } })));
  const ready = new Map<number, PointLine>(); // by position in slots
  let next = 0; // next batch start to dispatch
  let flushed = 0;
  let failure: Error | undefined;
  const flush = (): void => {
    while (ready.has(flushed)) {
      emit(ready.get(flushed)!);
      ready.delete(flushed);
      flushed++;
    }
  };
  // heap probes: per worker, the last quarter of the points sent that it reported for
  const probed = pool.map(() => 0);
  try {
    await Promise.all(
      pool.map(
        (w, wi) =>
          new Promise<void>((resolve) => {
            const send = (): void => {
              // at most a few batches ahead of the oldest unwritten point (bounded reorder buffer)
              if (failure !== undefined || signal?.aborted || next >= slots.length || next - flushed > BATCH * pool.length * 4) {
                if (next < slots.length && failure === undefined && !signal?.aborted) {
                  setTimeout(send, 5);
                  return;
                }
                resolve();
                return;
              }
              const start = next;
              const batch = slots.slice(start, start + BATCH);
              next += batch.length;
              const quarter = slots.length === 0 ? 4 : Math.floor((4 * next) / slots.length);
              const probe = onHeap !== undefined && quarter > probed[wi]! ? quarter : 0;
              if (probe > 0) probed[wi] = probe;
              w.once("message", (m: { results?: PointResult[]; error?: string; heapUsed?: number }) => {
                if (probe > 0 && m.heapUsed !== undefined) onHeap!({ worker: wi, quarter: probe, heapUsed: m.heapUsed });
                if (m.error !== undefined) {
                  failure = new Error(`explore worker: ${m.error}`);
                  resolve();
                  return;
                }
                m.results!.forEach((r, j) => ready.set(start + j, { i: batch[j]!.g, ...r }));
                flush();
                send();
              });
              w.postMessage({ batch: batch.map((s) => ({ series: s.series, k: s.k })), probe: probe > 0 });
            };
            w.once("error", (e) => {
              failure = e instanceof Error ? e : new Error(String(e));
              resolve();
            });
            send();
          }),
      ),
    );
  } finally {
    await Promise.all(pool.map((w) => w.terminate()));
  }
  if (failure !== undefined) throw failure;
  // stopped early: what arrived after a gap is dropped, so the document stays in point order
  flush();
}

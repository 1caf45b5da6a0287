/** A worker thread of `explore({workers: N})`: records each posting once, then runs the batches of points it is sent. */
import { parentPort, workerData } from "node:worker_threads";
import { record, runPoint, workloadOf, type CampaignSpec, type Recording } from "./campaign.js";
import type { WorkloadModule } from "./run.js";
import type { Workload } from "./workloads.js";

const { spec, module } = workerData as { spec: CampaignSpec; module?: WorkloadModule };
const recs = new Map<number, Recording>();
let workload: Workload | undefined;

/** The campaign's workload: built in, or rebuilt from the spec by the module the main thread named. */
async function theWorkload(): Promise<Workload> {
  if (workload !== undefined) return workload;
  if (module === undefined) workload = workloadOf(spec);
  else {
    const make = (await import(module.url) as Record<string, unknown>)[module.name];
    if (typeof make !== "function") throw new TypeError(`explore worker: ${module.url} has no function ${module.name}`);
    workload = (await (make as (s: CampaignSpec) => Workload | Promise<Workload>)(spec));
  }
  return workload;
}

parentPort!.on("message", (m: { batch: { series: number; k: number }[]; probe?: boolean }) => {
  void (async () => {
    try {
      const w = await theWorkload();
      // batches come in point order, postings one after another: a posting before this batch's
      // first is done here, its recording (step snapshots) can go
      const first = m.batch[0]?.series ?? 0;
      for (const k of [...recs.keys()]) if (k < first) recs.delete(k);
      const results = [];
      for (const { series, k } of m.batch) {
        let rec = recs.get(series);
        if (rec === undefined) recs.set(series, (rec = await record(spec, spec.series[series]!, w)));
        results.push(await runPoint(rec, rec.points[k]!, spec));
      }
      if (m.probe === true) {
        // a heap probe (ExploreOptions.onWorkerHeap): after a forced GC when node has --expose-gc
        (globalThis as { gc?: () => void }).gc?.();
        parentPort!.postMessage({ results, heapUsed: process.memoryUsage().heapUsed });
      } else parentPort!.postMessage({ results });
    } catch (e) {
      parentPort!.postMessage({ error: e instanceof Error ? `${e.name}: ${e.message}` : String(e) });
    }
  })();
});

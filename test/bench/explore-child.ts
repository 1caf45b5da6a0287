/**
 * Child process of the explore benchmark (node --expose-gc): one campaign, options as JSON in
 * argv[2]; one JSON line: time, points and the heap after a forced GC when 25/50/75/100% of the
 * points are done (memory must stay flat in the number of points: results stream out), with the
 * process RSS (worker threads included) at the same moments, and each worker thread's heap after
 * a forced GC once 25/50/75/100% of the points were sent (ExploreOptions.onWorkerHeap).
 */
import { explore } from "../../src/explore/index.js";

interface Opts {
  workload: string;
  series: string;
  workers: number;
}

const o = JSON.parse(process.argv[2] ?? "{}") as Opts;
const gc = (globalThis as { gc?: () => void }).gc;
const mib = (b: number): number => Math.round((b / 2 ** 20) * 10) / 10;
const heap: number[] = [];
const rss: number[] = [];
const workerHeap: number[][] = [];
let next = 1;
let bytes = 0;
const t0 = performance.now();
const r = await explore(
  { workload: o.workload, series: o.series, memory: 64n << 20n },
  {
    workers: o.workers,
    sink: (c) => (bytes += c.length),
    onWorkerHeap: (w) => ((workerHeap[w.worker] ??= [])[w.quarter - 1] = mib(w.heapUsed)),
    onProgress: (p) => {
      if (p.total === 0 || p.done * 4 < next * p.total) return;
      next++;
      gc?.();
      heap.push(mib(process.memoryUsage().heapUsed));
      rss.push(mib(process.memoryUsage().rss));
    },
  },
);
const ms = performance.now() - t0;
const bad = Object.values(r.summary.outcomes).reduce((a, x) => a + x.crash + x.invariant, 0);
process.stdout.write(`${JSON.stringify({ ms, points: r.summary.points, bytes, heapMiB: heap, rssMiB: rss, workerHeapMiB: workerHeap, crashOrInvariant: bad, gc: gc !== undefined })}\n`);

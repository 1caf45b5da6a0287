/**
 * Issue 13 target: the `lifecycle` campaign on a 64 MiB realm, all five postings, every injection
 * point, on 2 worker threads: under 60 s; injection points per second. Also the heap growth over
 * the campaign (results stream out: it should not grow with the number of points).
 */
import { explore } from "../../src/explore/index.js";
import type { Figure } from "./harness.js";

export async function benchExplore(): Promise<Figure[]> {
  const t0 = performance.now();
  const heap0 = process.memoryUsage().heapUsed;
  let heapMax = heap0;
  let bytes = 0;
  const r = await explore(
    { workload: "lifecycle", series: "all", memory: 64n << 20n },
    {
      workers: 2,
      sink: (c) => (bytes += c.length),
      onProgress: (p) => {
        if (p.done % 500 === 0) heapMax = Math.max(heapMax, process.memoryUsage().heapUsed);
      },
    },
  );
  const ms = performance.now() - t0;
  const pts = r.summary.points;
  const bad = Object.entries(r.summary.outcomes).map(([s, o]) => `${s} crash ${o.crash} invariant ${o.invariant}`).join("; ");
  return [
    { name: "explore lifecycle, 64 MiB, all postings, 2 workers", value: ms / 1000, unit: "s", target: { value: 60, better: "lower" }, note: `${pts} points; ${bad}` },
    { name: "explore injection points per second", value: pts / (ms / 1000), unit: "points/s", note: `${(bytes / 1e6).toFixed(1)} MB of result streamed` },
    { name: "explore main-thread heap growth", value: (heapMax - heap0) / 1e6, unit: "MB", note: "results streamed, not kept" },
  ];
}

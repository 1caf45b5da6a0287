/**
 * Issue 13 target: the `lifecycle` campaign on a 64 MiB realm, all five postings, every injection
 * point, on 2 worker threads: under 60 s; injection points per second. Memory: the heap after a
 * forced GC at 25/50/75/100% of the points (results stream out: it must not grow with the number
 * of points), in the main thread of that campaign and in a campaign run in one thread (v14, the
 * whole engine in one heap). Each run is a child node with --expose-gc (explore-child.ts).
 */
import { spawnSync } from "node:child_process";
import { fileURLToPath } from "node:url";
import type { Figure } from "./harness.js";

const CHILD = fileURLToPath(new URL("./explore-child.js", import.meta.url));

interface ChildResult {
  ms: number;
  points: number;
  bytes: number;
  heapMiB: number[];
  rssMiB: number[];
  workerHeapMiB: number[][];
  crashOrInvariant: number;
}

function runChild(o: { workload: string; series: string; workers: number }): ChildResult {
  const r = spawnSync(process.execPath, ["--expose-gc", CHILD, JSON.stringify(o)], { encoding: "utf8", maxBuffer: 1 << 24 });
  const line = r.stdout.trim().split("\n").pop() ?? "";
  if (r.status !== 0 || !line.startsWith("{")) throw new Error(`explore bench child: ${(r.stderr || r.stdout || `exit ${r.status}`).trim().split("\n").slice(-3).join(" | ")}`);
  return JSON.parse(line) as ChildResult;
}

const spread = (xs: number[]): number => Math.max(...xs) - Math.min(...xs);

export async function benchExplore(): Promise<Figure[]> {
  const all = runChild({ workload: "lifecycle", series: "all", workers: 2 });
  const one = runChild({ workload: "lifecycle", series: "v14", workers: 0 });
  const s = all.ms / 1000;
  return [
    { name: "explore lifecycle, 64 MiB, all postings, 2 workers", value: s, unit: "s", target: { value: 60, better: "lower" }, note: `${all.points} points; crash/invariant ${all.crashOrInvariant}` },
    { name: "explore injection points per second", value: all.points / s, unit: "points/s", note: `${(all.bytes / 1e6).toFixed(1)} MB of result streamed` },
    { name: "explore heap after GC at 25/50/75/100% of points, main thread (2 workers)", value: spread(all.heapMiB), unit: "MiB spread", note: `heap ${all.heapMiB.join(" / ")} MiB; process RSS ${all.rssMiB.join(" / ")} MiB` },
    { name: "explore heap after GC at 25/50/75/100% of points, worker threads", value: Math.max(0, ...all.workerHeapMiB.map((w) => spread(w.filter((x) => x !== null && x !== undefined)))), unit: "MiB spread", note: all.workerHeapMiB.map((w, i) => `worker ${i + 1}: ${w.map((x) => x ?? "-").join(" / ")} MiB`).join("; ") },
    { name: "explore heap after GC at 25/50/75/100% of points, one thread (v14)", value: spread(one.heapMiB), unit: "MiB spread", note: `heap ${one.heapMiB.join(" / ")} MiB; ${one.points} points in ${(one.ms / 1000).toFixed(1)} s (${(one.points / (one.ms / 1000)).toFixed(0)} points/s)` },
  ];
}

/**
 * Benchmark harness: measured figures, printed as a table and written as JSON. Not a test: it
 * never fails on speed; it reports figures against the targets of issue 7.
 */
import { cpus, freemem, totalmem, release, platform, arch, loadavg } from "node:os";

export interface Figure {
  name: string;
  value: number;
  unit: string;
  /** Target, and whether higher or lower is better. */
  target?: { value: number; better: "higher" | "lower" };
  note?: string;
}

export function machine(): Record<string, string | number> {
  const c = cpus();
  return {
    cpu: c[0]?.model ?? "unknown",
    cores: c.length,
    memoryGiB: Math.round(totalmem() / 2 ** 30),
    freeMemoryGiB: Math.round(freemem() / 2 ** 30),
    os: `${platform()} ${release()} ${arch()}`,
    node: process.version,
    /** 1-minute load average when the run started (other jobs on the machine move the figures). */
    load1: Math.round(loadavg()[0]! * 10) / 10,
  };
}

/** Run `fn` for about `seconds`, in batches of `batch`, returning operations per second (best of 3 rounds). */
export function rate(fn: (n: number) => void, batch: number, seconds = 1): number {
  fn(Math.min(batch, 1000)); // warm-up
  let best = 0;
  for (let round = 0; round < 3; round++) {
    let ops = 0;
    const t0 = performance.now();
    let t = t0;
    while (t - t0 < (seconds * 1000) / 3) {
      fn(batch);
      ops += batch;
      t = performance.now();
    }
    best = Math.max(best, ops / ((t - t0) / 1000));
  }
  return best;
}

export function time<T>(fn: () => T): { ms: number; value: T } {
  const t0 = performance.now();
  const value = fn();
  return { ms: performance.now() - t0, value };
}

export function heapUsed(): number {
  (globalThis as { gc?: () => void }).gc?.();
  return process.memoryUsage().heapUsed;
}

export function percentile(xs: number[], p: number): number {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.floor((p / 100) * s.length))]!;
}

function fmt(v: number): string {
  if (!Number.isFinite(v)) return "-";
  if (v >= 1e6) return `${(v / 1e6).toFixed(2)}M`;
  if (v >= 1e4) return `${(v / 1e3).toFixed(1)}k`;
  if (v >= 100) return v.toFixed(0);
  return v.toFixed(2);
}

export function verdict(f: Figure): string {
  if (!Number.isFinite(f.value)) return "not measured";
  if (!f.target) return "";
  const ok = f.target.better === "higher" ? f.value >= f.target.value : f.value <= f.target.value;
  const ratio = f.target.better === "higher" ? f.value / f.target.value : f.target.value / f.value;
  return ok ? "met" : `MISSED (${(ratio * 100).toFixed(0)}% of target)`;
}

export function table(figs: Figure[]): string {
  const rows = figs.map((f) => [
    f.name,
    Number.isFinite(f.value) ? `${fmt(f.value)} ${f.unit}` : "-",
    f.target ? `${f.target.better === "higher" ? ">=" : "<="} ${fmt(f.target.value)} ${f.unit}` : "",
    verdict(f),
    f.note ?? "",
  ]);
  const head = ["benchmark", "measured", "target", "", "note"];
  const w = head.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i]!.length)));
  const line = (r: string[]) => r.map((c, i) => c.padEnd(w[i]!)).join("  ").trimEnd();
  return [line(head), line(w.map((n) => "-".repeat(n))), ...rows.map(line)].join("\n");
}

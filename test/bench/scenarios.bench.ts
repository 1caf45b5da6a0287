/** The scenario catalogue on every posting: total time per posting, and the slowest scenarios. */
import { scenarios } from "../../src/index.js";
import type { Figure } from "./harness.js";

export function benchScenarios(): Figure[] {
  const bySeries = new Map<string, { ms: number; runs: number; failed: string[] }>();
  const slow: { id: string; series: string; ms: number }[] = [];
  const list = scenarios.list();
  const t0 = performance.now();
  for (const sc of list) {
    for (const series of sc.series) {
      const e = bySeries.get(series) ?? { ms: 0, runs: 0, failed: [] };
      bySeries.set(series, e);
      const t = performance.now();
      try {
        scenarios.run(sc.id, { series });
      } catch (err) {
        e.failed.push(`${sc.id}: ${(err instanceof Error ? err.message : String(err)).slice(0, 60)}`);
      }
      const ms = performance.now() - t;
      e.ms += ms;
      e.runs++;
      slow.push({ id: sc.id, series, ms });
    }
  }
  const total = performance.now() - t0;
  const figs: Figure[] = [];
  for (const [series, e] of [...bySeries].sort((a, b) => Number(a[0].slice(1)) - Number(b[0].slice(1)))) {
    figs.push({ name: `scenarios on ${series}`, value: e.ms, unit: "ms", note: `${e.runs} scenario(s)${e.failed.length ? `; threw: ${e.failed.length} (${e.failed[0]})` : ""}` });
  }
  slow.sort((a, b) => b.ms - a.ms);
  figs.push({ name: "scenario catalogue, every posting", value: total, unit: "ms", note: `${list.length} scenarios; slowest: ${slow.slice(0, 3).map((x) => `${x.id}/${x.series} ${x.ms.toFixed(0)} ms`).join(", ")}` });
  return figs;
}

/** Inspection: granule, trace, acct, chart. Read-only (nothing here changes the simulation). */
import { writeFileSync } from "node:fs";
import type { Sample, Session } from "../session.js";
import { traceLines } from "../sim.js";
import { UsageError, type CommandSpec } from "../spec.js";
import { hex } from "../values.js";

export const granuleCommand: CommandSpec<Session> = {
  name: "granule",
  aliases: ["g"],
  summary: "one granule's PAS, state, refcount, owner",
  args: [{ name: "pa", kind: "address", help: "physical address (4 KiB aligned)" }],
  readOnly: true,
  examples: ["granule 0x80000000"],
  run(s, a) {
    const pa = a.big("pa")!;
    if (pa % 4096n !== 0n) throw new UsageError(`PA ${hex(pa)} is not 4 KiB aligned (its granule is ${hex(pa - (pa % 4096n))})`);
    const m = s.machine();
    if (pa >= 1n << BigInt(m.platform.paBits)) throw new UsageError(`PA ${hex(pa)} is above the ${m.platform.paBits}-bit PA space`);
    return { value: { ...m.platform.granule(pa), machine: m.label }, kind: "granule" };
  },
};

export const traceCommand: CommandSpec<Session> = {
  name: "trace",
  summary: "RMI calls and host events, in order",
  options: [
    { name: "last", kind: "count", meta: "N", help: "the last N lines (default 20; 0 for all)", min: 0, max: 1 << 30 },
    { name: "grep", kind: "string", meta: "TEXT", help: "only lines containing TEXT (case-insensitive)" },
  ],
  readOnly: true,
  examples: ["trace --last 50", "trace --grep RTT_CREATE"],
  run(s, a) {
    const m = s.machine();
    let lines = m.host !== undefined ? traceLines(m.host.trace) : m.platform.rmmTrace;
    const total = lines.length;
    const g = a.str("grep");
    if (g !== undefined) {
      const lg = g.toLowerCase();
      lines = lines.filter((l) => l.toLowerCase().includes(lg));
    }
    const last = a.num("last") ?? 20;
    const shown = last === 0 ? lines : lines.slice(-last);
    const note = `(${shown.length} of ${lines.length}${g !== undefined ? ` matching '${g}'` : ""}, ${total} in all, ${m.label})`;
    return { value: { machine: m.label, total, matched: lines.length, lines: [...shown, note] }, kind: "lines" };
  },
};

const ACCT_STATES = ["DELEGATED", "RD", "REC", "REC_AUX", "DATA", "RTT"];

export const acctCommand: CommandSpec<Session> = {
  name: "acct",
  summary: "accounting: delegated granules by state, page-table pages, leaked pages",
  readOnly: true,
  run(s) {
    const m = s.machine();
    if (m.host === undefined) {
      const g = m.platform.granuleCounts();
      return {
        value: { machine: m.label, granules: g, columns: ["state", "granules"], rows: Object.entries(g).map(([k, v]) => [k, v]), align: ["l", "r"], title: `granules by state (${m.label})` },
        kind: "table",
      };
    }
    const st = m.host.stats();
    const g = st.granules ?? m.platform.granuleCounts();
    const rows: (string | number)[][] = [];
    for (const k of ACCT_STATES) rows.push([k, g[k] ?? 0]);
    for (const [k, v] of Object.entries(g)) if (!ACCT_STATES.includes(k) && v !== 0) rows.push([k, v]);
    rows.push(["host free pages", st.freePages ?? 0], ["leaked pages", st.leakedPages ?? 0], ["WARNs", st.warnCount ?? 0]);
    for (const v of st.vms ?? []) rows.push([`vm ${v.id} (${v.state}) pgtable pages`, v.pgtablePages]);
    return { value: { machine: m.label, stats: st, columns: ["", "count"], rows, align: ["l", "r"], title: `accounting on the ${m.label} host` }, kind: "table" };
  },
};

/**
 * Chart series from samples: one line per granule state that was ever non-zero, plus pgtable and
 * leaked pages. At most `width` points (the last sample of each bucket), so drawing costs
 * O(width) whatever the length of the run.
 */
export function chartSeries(samples: readonly Sample[], width = 400): { name: string; values: number[] }[] {
  const n = samples.length;
  const pick: Sample[] = [];
  if (n <= width) pick.push(...samples);
  else for (let c = 0; c < width; c++) pick.push(samples[Math.floor(((c + 1) * n) / width) - 1]!);
  const names: string[] = [];
  for (const smp of pick) for (const [k, v] of Object.entries(smp.granules)) if (v !== 0 && !names.includes(k)) names.push(k);
  const out = names.map((nm) => ({ name: nm, values: pick.map((x) => x.granules[nm] ?? 0) }));
  if (pick.some((x) => x.pgtablePages !== 0)) out.push({ name: "pgtable", values: pick.map((x) => x.pgtablePages) });
  if (pick.some((x) => x.leakedPages !== 0)) out.push({ name: "leaked", values: pick.map((x) => x.leakedPages) });
  return out;
}

export const chartCommand: CommandSpec<Session> = {
  name: "chart",
  summary: "accounting over time: a terminal chart, --png for a chart.js image, --live to toggle the live view",
  options: [
    { name: "live", kind: "flag", help: "switch the live chart shown while workloads run on or off (default on)" },
    { name: "png", kind: "file", meta: "FILE", help: "write a PNG (chart.js) instead" },
    { name: "width", kind: "count", meta: "N", help: "columns (default 60)", min: 8, max: 400 },
  ],
  readOnly: true,
  async run(s, a) {
    if (a.flag("live")) {
      s.liveChart = !s.liveChart;
      return { value: { message: `live chart ${s.liveChart ? "on" : "off"} (shown while workloads run)`, live: s.liveChart }, kind: "message" };
    }
    const m = s.machine();
    const samples = s.samplesOf(m.label);
    const width = a.num("width") ?? 60;
    const series = chartSeries(samples, width);
    const png = a.str("png");
    if (png !== undefined) {
      const viz = (await import("../../index.js")) as Record<string, unknown>;
      const render = viz["renderChartPng"];
      if (typeof render !== "function") throw new UsageError("chart --png: the chart.js renderer (src/viz) is not in this build");
      if (samples.length === 0) throw new UsageError("chart --png: no samples yet (create a realm first)");
      const bytes = (render as (p: readonly Sample[], o: { title: string }) => Uint8Array)(samples, { title: `Granules by state, ${m.label} host` });
      const path = s.resolvePath(png);
      writeFileSync(path, bytes);
      return { value: { message: `wrote ${png} (${bytes.length} bytes, ${samples.length} samples)`, file: path }, kind: "message" };
    }
    return {
      value: { title: `granules by state on the ${m.label} host (${samples.length} samples)`, machine: m.label, samples: samples.length, series, width, height: 10 },
      kind: "chart",
    };
  },
};

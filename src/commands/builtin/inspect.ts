/** Inspection: granule, trace, acct, chart. Read-only (nothing here changes the simulation). */
import { writeFileSync } from "node:fs";
import type { HostStats } from "../../host/host.js";
import type { SeriesSample } from "../../trace/series.js";
import { writeChromeTrace } from "../../trace/chrome-trace.js";
import { renderChartPng } from "../../viz/chart.js";
import type { CommandContext } from "../context.js";
import { UsageError, type CommandSpec } from "../spec.js";
import { hex } from "../values.js";

export const granuleCommand: CommandSpec<CommandContext> = {
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

export const traceCommand: CommandSpec<CommandContext> = {
  name: "trace",
  summary: "RMI calls and host events, in order",
  options: [
    { name: "last", kind: "count", meta: "N", help: "the last N lines (default 20; 0 for all)", min: 0, max: 1 << 30 },
    { name: "grep", kind: "string", meta: "TEXT", help: "only lines containing TEXT (case-insensitive)" },
    { name: "export", kind: "file", meta: "FILE.json", help: "write the whole trace as Chrome trace-event JSON (Perfetto UI, chrome://tracing)" },
  ],
  readOnly: true,
  examples: ["trace --last 50", "trace --grep RTT_CREATE", "trace --export realm.json"],
  run(s, a) {
    const m = s.machine();
    const out = a.str("export");
    if (out !== undefined) {
      if (m.host === undefined) throw new UsageError("--export: no host trace here (create a realm first: new NAME)");
      const path = s.resolvePath(out);
      const bytes = writeChromeTrace(m.host, path);
      return { value: { message: `wrote ${out} (${m.host.log.length} log entries, ${bytes} bytes): open it in Perfetto UI or chrome://tracing`, file: path }, kind: "message" };
    }
    // The host's log (RMI calls and host events) or, with no realm, the bare RMM's call trace.
    const log = m.host?.log;
    const g = a.str("grep");
    const last = a.num("last") ?? 20;
    let shown: string[];
    let total: number;
    let matched: number;
    if (log !== undefined && g === undefined) {
      // Only the lines shown are formatted.
      total = matched = log.length;
      shown = last === 0 ? log.lines() : log.lines(last);
    } else {
      let lines = log !== undefined ? log.lines() : m.platform.rmmTrace;
      total = lines.length;
      if (g !== undefined) {
        const lg = g.toLowerCase();
        lines = lines.filter((l) => l.toLowerCase().includes(lg));
      }
      matched = lines.length;
      shown = last === 0 ? lines : lines.slice(-last);
    }
    const note = `(${shown.length} of ${matched}${g !== undefined ? ` matching '${g}'` : ""}, ${total} in all, ${m.label})`;
    // value.lines holds the trace lines only; the counts line is for the text rendering.
    return { value: { machine: m.label, total, matched, lines: shown, note }, kind: "lines" };
  },
};

/** The granule states the host accounts (HostStats.granules), in the order the table shows them. */
const ACCT_STATES = ["DELEGATED", "RD", "REC", "REC_AUX", "DATA", "RTT"] as const satisfies readonly (keyof HostStats["granules"])[];

export const acctCommand: CommandSpec<CommandContext> = {
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
    const rows: (string | number)[][] = ACCT_STATES.map((k) => [k, st.granules[k]]);
    rows.push(["host free pages", st.freePages], ["leaked pages", st.leakedPages], ["WARNs", st.warnCount]);
    for (const v of st.vms) rows.push([`vm ${v.id} (${v.state}) pgtable pages`, v.pgtablePages]);
    return { value: { machine: m.label, stats: st, columns: ["", "count"], rows, align: ["l", "r"], title: `accounting on the ${m.label} host` }, kind: "table" };
  },
};

/**
 * Chart series from samples: one line per granule state that was ever non-zero, plus pgtable and
 * leaked pages. At most `width` points (the last sample of each bucket), so drawing costs
 * O(width) whatever the length of the run.
 */
export function chartSeries(samples: readonly SeriesSample[], width = 400): { name: string; values: number[] }[] {
  const n = samples.length;
  const pick: SeriesSample[] = [];
  if (n <= width) pick.push(...samples);
  else for (let c = 0; c < width; c++) pick.push(samples[Math.floor(((c + 1) * n) / width) - 1]!);
  const names: string[] = [];
  for (const smp of pick) for (const [k, v] of Object.entries(smp.granules)) if (v !== 0 && !names.includes(k)) names.push(k);
  const out = names.map((nm) => ({ name: nm, values: pick.map((x) => x.granules[nm as keyof SeriesSample["granules"]]) }));
  if (pick.some((x) => x.pgtablePages !== 0)) out.push({ name: "pgtable", values: pick.map((x) => x.pgtablePages) });
  if (pick.some((x) => x.leakedPages !== 0)) out.push({ name: "leaked", values: pick.map((x) => x.leakedPages) });
  return out;
}

export const chartCommand: CommandSpec<CommandContext> = {
  name: "chart",
  summary: "accounting over time: a terminal chart, --png for a chart.js image, --live for the live view",
  help:
    "Granules by state (as the RMM holds them), KVM's page-table pages and leaked pages, one sample\n" +
    "per host step of the current realm's host. --live (or --live on) shows this chart live while\n" +
    "touch and workload commands run; --live off (or --no-live) stops that.",
  options: [
    { name: "live", kind: "switch", help: "the live chart while commands run: on (default) or off" },
    { name: "png", kind: "file", meta: "FILE", help: "write a PNG (chart.js) instead" },
    { name: "width", kind: "count", meta: "N", help: "columns (default 60)", min: 8, max: 400 },
  ],
  readOnly: true,
  examples: ["chart", "chart --png acct.png", "chart --live off"],
  run(s, a) {
    if (a.has("live")) {
      s.liveChart = a.flag("live");
      return { value: { message: `live chart ${s.liveChart ? "on" : "off"} (shown while commands run)`, live: s.liveChart }, kind: "message" };
    }
    const m = s.machine();
    const samples = s.samplesOf(m.label);
    const width = a.num("width") ?? 60;
    const series = chartSeries(samples, width);
    const png = a.str("png");
    if (png !== undefined) {
      if (samples.length === 0) throw new UsageError("--png: no samples yet (create a realm first)");
      const bytes = renderChartPng(samples, { title: `Granules by state, ${m.label} host` });
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

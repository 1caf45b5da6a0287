/**
 * Showing a campaign's result: a text summary (terminal), an HTML table and a PNG heatmap
 * (injection site x posting, each cell coloured by the worst outcome there) for the kernel, and a
 * live view that redraws while the campaign runs. The heatmap is drawn on @napi-rs/canvas with the
 * package's font (the same pixel-stable setup as src/viz/chart.ts).
 */
import { createRequire } from "node:module";
import { chartFontPath, CHART_FONT_FAMILY } from "../viz/chart.js";
import { display } from "../viz/display.js";
import { htmlTable, textTable, type CellLike } from "../viz/format.js";
import { View } from "../viz/mime.js";
import { OUTCOMES, type CampaignInput, type Outcome } from "./campaign.js";
import { SummaryBuilder, worst, type ResultHeader, type Summary } from "./result.js";
import { explore, type ExploreOptions, type ExploreResult } from "./run.js";

export const OUTCOME_COLORS: Record<Outcome, string> = {
  clean: "#2ca02c",
  warn: "#ffbf00",
  leak: "#ff7f0e",
  livelock: "#9467bd",
  hang: "#8c564b",
  invariant: "#d62728",
  crash: "#000000",
};

/** Sites where some posting does worse than clean, in site order (at most `max`). */
function interestingSites(s: Summary, max: number): { sites: string[]; more: number } {
  const all = new Set<string>();
  for (const m of Object.values(s.matrix)) for (const [site, row] of Object.entries(m)) if (worst(row) !== "clean") all.add(site);
  const sites = [...all].sort();
  return { sites: sites.slice(0, max), more: Math.max(0, sites.length - max) };
}

/**
 * A posting's row of counts: the points of this result (a shard's or a stopped run's own, not
 * the campaign's), then per outcome.
 */
function countRow(s: Summary, x: string): string[] {
  const counts = OUTCOMES.map((o) => s.outcomes[x]?.[o] ?? 0);
  return [x, String(counts.reduce((a, b) => a + b, 0)), ...counts.map(String)];
}

/** "shard i/N, n of T points" for a shard (T: the campaign's points). */
function shardText(h: ResultHeader, s: Summary): string {
  if (h.shard === null) return "";
  return `, shard ${h.shard} (${s.points} of ${h.postings.reduce((a, p) => a + p.points, 0)} points)`;
}

/** Outcome counts per posting and the diff across postings, as text. */
export function formatSummary(h: ResultHeader, s: Summary): string {
  const series = h.campaign.series;
  const rows = series.map((x) => countRow(s, x));
  const out = [`explore ${h.campaign.workload} (${h.campaign.kinds.join(", ")}), seed ${h.campaign.seed}${shardText(h, s)}${s.complete ? "" : " [partial]"}`, textTable(["posting", "points", ...OUTCOMES], rows)];
  for (const d of s.diff) {
    if (d.fixed.length + d.broke.length === 0) continue;
    out.push(`${d.from} -> ${d.to}: ${d.fixed.length} site(s) better, ${d.broke.length} worse`);
    for (const c of d.broke.slice(0, 5)) out.push(`  worse: ${c.site}: ${c.from} -> ${c.to}`);
    for (const c of d.fixed.slice(0, 5)) out.push(`  better: ${c.site}: ${c.from} -> ${c.to}`);
  }
  return out.join("\n");
}

/** The HTML table: outcome counts per posting, then the sites that are not clean somewhere. */
export function summaryHtml(h: ResultHeader, s: Summary, maxSites = 60): string {
  const series = h.campaign.series;
  const counts = htmlTable(["posting", "points", ...OUTCOMES], series.map((x) => countRow(s, x)), {
    caption: `explore ${h.campaign.workload}: ${s.points} point(s)${shardText(h, s)}${s.complete ? "" : " (running or stopped)"}`,
  });
  const { sites, more } = interestingSites(s, maxSites);
  const cell = (x: string, site: string): CellLike => {
    const row = s.matrix[x]?.[site];
    if (row === undefined) return "";
    const w = worst(row);
    const text = OUTCOMES.filter((o) => (row[o] ?? 0) > 0).map((o) => `${o} ${row[o]}`).join(", ");
    return w === "clean" ? text : { text, style: `color:${OUTCOME_COLORS[w]};font-weight:bold` };
  };
  const table = htmlTable(["site", ...series], sites.map((site) => [site, ...series.map((x) => cell(x, site))]), { caption: `sites not clean on some posting${more > 0 ? ` (first ${sites.length}; ${more} more)` : ""}` });
  return `${counts}\n${table}`;
}

interface Canvas {
  getContext(k: "2d"): Ctx;
  toBuffer(m: "image/png"): Buffer;
}
interface Ctx {
  fillStyle: string;
  font: string;
  textBaseline: string;
  fillRect(x: number, y: number, w: number, h: number): void;
  fillText(t: string, x: number, y: number): void;
}
let canvasLib: { createCanvas(w: number, h: number): Canvas; family: string } | undefined;

function canvasOf(): { createCanvas(w: number, h: number): Canvas; family: string } {
  if (canvasLib !== undefined) return canvasLib;
  const c = createRequire(import.meta.url)("@napi-rs/canvas") as { createCanvas(w: number, h: number): Canvas; GlobalFonts: { registerFromPath(p: string, a?: string): unknown } };
  const font = chartFontPath();
  const family = font !== undefined && c.GlobalFonts.registerFromPath(font, CHART_FONT_FAMILY) ? CHART_FONT_FAMILY : "DejaVu Sans";
  canvasLib = { createCanvas: c.createCanvas, family };
  return canvasLib;
}

/** The heatmap as PNG bytes: a row per site that is not clean somewhere, a column per posting. */
export function heatmapPng(h: ResultHeader, s: Summary, maxSites = 60): Buffer {
  const { createCanvas, family } = canvasOf();
  const series = h.campaign.series;
  const { sites, more } = interestingSites(s, maxSites);
  const cellW = 56;
  const cellH = 14;
  const labelW = 430;
  const top = 28;
  const legend = 26;
  const width = labelW + cellW * series.length + 10;
  const height = top + cellH * Math.max(1, sites.length) + legend + (more > 0 ? 16 : 0);
  const canvas = createCanvas(width, height);
  const g = canvas.getContext("2d");
  g.fillStyle = "#ffffff";
  g.fillRect(0, 0, width, height);
  g.textBaseline = "middle";
  g.font = `11px "${family}"`;
  g.fillStyle = "#000000";
  series.forEach((x, j) => g.fillText(x, labelW + j * cellW + 14, top - 10));
  sites.forEach((site, i) => {
    const y = top + i * cellH;
    g.fillStyle = "#000000";
    g.fillText(site.length > 70 ? `${site.slice(0, 67)}...` : site, 4, y + cellH / 2);
    series.forEach((x, j) => {
      const row = s.matrix[x]?.[site];
      g.fillStyle = row === undefined ? "#eeeeee" : OUTCOME_COLORS[worst(row)];
      g.fillRect(labelW + j * cellW + 1, y + 1, cellW - 2, cellH - 2);
    });
  });
  if (sites.length === 0) {
    g.fillStyle = "#000000";
    g.fillText("every site clean on every posting", 4, top + cellH / 2);
  }
  let ly = top + cellH * Math.max(1, sites.length) + 8;
  if (more > 0) {
    g.fillStyle = "#000000";
    g.fillText(`(${more} more site(s) not shown)`, 4, ly + 4);
    ly += 16;
  }
  OUTCOMES.forEach((o, k) => {
    const x = 4 + k * 80;
    g.fillStyle = OUTCOME_COLORS[o];
    g.fillRect(x, ly, 12, 12);
    g.fillStyle = "#000000";
    g.fillText(o, x + 16, ly + 6);
  });
  return canvas.toBuffer("image/png");
}

/** A displayable view of a result (text, HTML table, PNG heatmap). */
export function exploreView(h: ResultHeader, s: Summary, opts: { maxSites?: number; png?: boolean } = {}): View {
  return new View("explore", () => {
    const b: { "text/plain": string } & Record<string, string> = { "text/plain": formatSummary(h, s), "text/html": summaryHtml(h, s, opts.maxSites) };
    if (opts.png !== false) b["image/png"] = heatmapPng(h, s, opts.maxSites).toString("base64");
    return b;
  });
}

/**
 * Run a campaign with its view shown at once and redrawn while it runs (every `everyMs`, default
 * 500 ms), then the final result. In a notebook: one output updated in place.
 */
export async function liveExplore(input: CampaignInput, opts: ExploreOptions & { everyMs?: number; maxSites?: number } = {}): Promise<ExploreResult> {
  let header: ResultHeader | undefined;
  let builder: SummaryBuilder | undefined;
  let handle: ReturnType<typeof display> | undefined;
  let last = 0;
  const every = opts.everyMs ?? 500;
  const r = await explore(input, {
    ...opts,
    onStart: (h) => {
      header = h;
      builder = new SummaryBuilder(h.campaign.series);
      handle = display(exploreView(h, builder.build(false), { maxSites: opts.maxSites }));
      opts.onStart?.(h);
    },
    onPoint: (p) => {
      builder!.add(p);
      opts.onPoint?.(p);
      const now = Date.now();
      if (now - last >= every) {
        last = now;
        handle!.update(exploreView(header!, builder!.build(false), { maxSites: opts.maxSites }));
      }
    },
  });
  handle?.update(exploreView(r.header, r.summary, { maxSites: opts.maxSites }));
  return r;
}

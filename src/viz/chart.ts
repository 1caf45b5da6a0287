/**
 * Charts as PNG, drawn server-side with chart.js on @napi-rs/canvas (no DOM). Pixel-stable:
 * one font registered explicitly from the package (kernel/fonts/DejaVuSans.ttf), no animation,
 * devicePixelRatio 1, a painted background, fixed colours. Both libraries load on first use so
 * importing the package stays cheap.
 *
 * The renderers work on plain arrays: an accounting time series is `AccountingPoint[]`
 * ({step, granules: {DELEGATED, RD, ...}, pgtablePages, leakedPages, ...}) as the host's trace
 * samples it; anything else goes through the general `ChartSpec`.
 */
import { existsSync } from "node:fs";
import { createRequire } from "node:module";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { textTable } from "./format.js";
import { View } from "./mime.js";

/** One sample of the accounting time series (src/trace). Extra numeric fields may be charted. */
export interface AccountingPoint {
  step: number;
  /** Delegated granules by state (spec names: DELEGATED, RD, REC, REC_AUX, DATA, RTT, ...). */
  granules?: Record<string, number>;
  /** KVM's page-table page accounting (kvm_account_pgtable_pages), summed over VMs. */
  pgtablePages?: number;
  leakedPages?: number;
  /** Other numeric fields (freePages, warnCount, rmiCalls, ...) can be charted by name too. */
}

export interface ChartDataset {
  label: string;
  data: readonly (number | null)[];
  /** CSS colour; a fixed palette is used when absent. */
  color?: string;
  dashed?: boolean;
  /** Plot against the right-hand axis. */
  right?: boolean;
}

export interface ChartSpec {
  type?: "line" | "bar";
  title?: string;
  labels: readonly (string | number)[];
  datasets: readonly ChartDataset[];
  /** Draw lines as steps (counters change at discrete steps). Default true for line charts. */
  stepped?: boolean;
  xLabel?: string;
  yLabel?: string;
  y2Label?: string;
  width?: number;
  height?: number;
}

export interface AccountingChartOptions {
  title?: string;
  width?: number;
  height?: number;
  /**
   * What to plot: keys of a point, `granules.<STATE>` for one granule state. Default: every
   * granule state present, then pgtablePages and leakedPages.
   */
  series?: readonly string[];
}

/** The font family every chart uses (registered from the package's own font file). */
export const CHART_FONT_FAMILY = "RealmSans";

/** Fixed colours: the same metric has the same colour in every chart. */
const COLORS: Record<string, string> = {
  "granules.DELEGATED": "#1f77b4",
  "granules.RD": "#9467bd",
  "granules.REC": "#8c564b",
  "granules.REC_AUX": "#e377c2",
  "granules.DATA": "#2ca02c",
  "granules.RTT": "#ff7f0e",
  pgtablePages: "#17becf",
  leakedPages: "#d62728",
};
const PALETTE = ["#1f77b4", "#ff7f0e", "#2ca02c", "#d62728", "#9467bd", "#8c564b", "#e377c2", "#7f7f7f", "#bcbd22", "#17becf"];
const GRANULE_ORDER = ["DELEGATED", "RD", "REC", "REC_AUX", "DATA", "RTT"];

interface ChartLib {
  Chart: new (canvas: unknown, config: unknown) => { destroy(): void };
  createCanvas: (w: number, h: number) => { toBuffer(mime: "image/png"): Buffer };
}
let lib: ChartLib | undefined;

/** Where the package's font lives: <package root>/kernel/fonts (dist/src/viz or src/viz below). */
export function chartFontPath(): string | undefined {
  let dir = dirname(fileURLToPath(import.meta.url));
  for (let i = 0; i < 5; i++) {
    const p = join(dir, "kernel", "fonts", "DejaVuSans.ttf");
    if (existsSync(p)) return p;
    dir = dirname(dir);
  }
  return undefined;
}

function load(): ChartLib {
  if (lib !== undefined) return lib;
  const req = createRequire(import.meta.url);
  const canvas = req("@napi-rs/canvas") as {
    createCanvas: ChartLib["createCanvas"];
    GlobalFonts: { registerFromPath(path: string, alias?: string): unknown };
  };
  const chartjs = req("chart.js") as {
    Chart: ChartLib["Chart"] & { register(...x: unknown[]): void; defaults: { font: { family: string; size: number } } };
    registerables: unknown[];
  };
  const font = chartFontPath();
  let family = CHART_FONT_FAMILY;
  if (font === undefined || !canvas.GlobalFonts.registerFromPath(font, CHART_FONT_FAMILY)) {
    // Without the package font the PNG depends on the system's fonts (not pixel-stable).
    family = "DejaVu Sans";
  }
  chartjs.Chart.register(...chartjs.registerables);
  chartjs.Chart.defaults.font.family = family;
  chartjs.Chart.defaults.font.size = 12;
  lib = { Chart: chartjs.Chart, createCanvas: canvas.createCanvas };
  return lib;
}

function colorFor(key: string, i: number): string {
  return COLORS[key] ?? PALETTE[i % PALETTE.length]!;
}

/** Draw a chart to PNG bytes. */
export function renderChartSpecPng(spec: ChartSpec): Buffer {
  if (spec === null || typeof spec !== "object" || !Array.isArray(spec.labels) || !Array.isArray(spec.datasets)) {
    throw new TypeError("renderChartSpecPng: spec must be {labels: [], datasets: []}");
  }
  const { Chart, createCanvas } = load();
  const width = spec.width ?? 720;
  const height = spec.height ?? 360;
  const canvas = createCanvas(width, height);
  const type = spec.type ?? "line";
  const hasRight = spec.datasets.some((d) => d.right);
  const datasets = spec.datasets.map((d, i) => {
    const color = d.color ?? PALETTE[i % PALETTE.length]!;
    return {
      label: d.label,
      data: [...d.data],
      borderColor: color,
      backgroundColor: color,
      borderWidth: 2,
      borderDash: d.dashed ? [6, 4] : [],
      pointRadius: spec.labels.length <= 40 ? 2 : 0,
      stepped: type === "line" ? (spec.stepped ?? true) : false,
      yAxisID: d.right ? "y2" : "y",
    };
  });
  const scales: Record<string, unknown> = {
    x: { title: { display: spec.xLabel !== undefined, text: spec.xLabel ?? "" }, ticks: { maxTicksLimit: 12 } },
    y: { beginAtZero: true, title: { display: spec.yLabel !== undefined, text: spec.yLabel ?? "" }, ticks: { precision: 0 } },
  };
  if (hasRight) {
    scales["y2"] = {
      position: "right",
      beginAtZero: true,
      grid: { drawOnChartArea: false },
      title: { display: spec.y2Label !== undefined, text: spec.y2Label ?? "" },
      ticks: { precision: 0 },
    };
  }
  const chart = new Chart(canvas, {
    type,
    data: { labels: spec.labels.map(String), datasets },
    options: {
      responsive: false,
      animation: false,
      devicePixelRatio: 1,
      plugins: {
        title: { display: spec.title !== undefined, text: spec.title ?? "" },
        legend: { position: "bottom" },
      },
      scales,
    },
    plugins: [
      {
        id: "realmBackground",
        beforeDraw: (c: { ctx: CanvasRenderingContext2DLike; width: number; height: number }) => {
          c.ctx.save();
          c.ctx.fillStyle = "#ffffff";
          c.ctx.fillRect(0, 0, c.width, c.height);
          c.ctx.restore();
        },
      },
    ],
  });
  try {
    return canvas.toBuffer("image/png");
  } finally {
    chart.destroy();
  }
}

interface CanvasRenderingContext2DLike {
  save(): void;
  restore(): void;
  fillStyle: string;
  fillRect(x: number, y: number, w: number, h: number): void;
}

/** Value of `key` in a point: "granules.RTT", "pgtablePages", or a flat "RTT". */
export function pointValue(p: AccountingPoint, key: string): number | null {
  if (key.startsWith("granules.")) {
    const v = p.granules?.[key.slice("granules.".length)];
    return typeof v === "number" ? v : null;
  }
  const v = (p as unknown as Record<string, unknown>)[key];
  if (typeof v === "number") return v;
  if (typeof v === "bigint") return Number(v);
  return null;
}

/** The metrics an accounting chart shows by default: what the series actually has. */
export function defaultAccountingSeries(points: readonly AccountingPoint[]): string[] {
  const states = new Set<string>();
  let pg = false;
  let leaked = false;
  for (const p of points) {
    if (p.granules) for (const k of Object.keys(p.granules)) states.add(k);
    if (typeof p.pgtablePages === "number") pg = true;
    if (typeof p.leakedPages === "number") leaked = true;
  }
  const ordered = [
    ...GRANULE_ORDER.filter((s) => states.has(s)),
    ...[...states].filter((s) => !GRANULE_ORDER.includes(s)).sort(),
  ].map((s) => "granules." + s);
  if (pg) ordered.push("pgtablePages");
  if (leaked) ordered.push("leakedPages");
  return ordered;
}

function checkPoints(points: readonly AccountingPoint[], who: string): void {
  if (!Array.isArray(points)) throw new TypeError(`${who}: points must be an array of {step, ...}`);
  points.forEach((p, i) => {
    if (p === null || typeof p !== "object" || typeof p.step !== "number") {
      throw new TypeError(`${who}: points[${i}] has no numeric 'step'`);
    }
  });
}

function labelOf(key: string): string {
  return key.startsWith("granules.") ? key.slice("granules.".length) : key;
}

/** The ChartSpec of an accounting time series. */
export function accountingSpec(points: readonly AccountingPoint[], opts: AccountingChartOptions = {}): ChartSpec {
  checkPoints(points, "accountingSpec");
  const keys = opts.series ?? defaultAccountingSeries(points);
  const spec: ChartSpec = {
    type: "line",
    title: opts.title ?? "Accounting",
    labels: points.map((p) => p.step),
    datasets: keys.map((k, i) => ({
      label: labelOf(k),
      data: points.map((p) => pointValue(p, k)),
      color: colorFor(k, i),
      dashed: k === "pgtablePages" || k === "leakedPages",
    })),
    xLabel: "step",
    yLabel: "granules / pages",
  };
  if (opts.width !== undefined) spec.width = opts.width;
  if (opts.height !== undefined) spec.height = opts.height;
  return spec;
}

function isChartSpec(x: unknown): x is ChartSpec {
  return x !== null && typeof x === "object" && !Array.isArray(x) && Array.isArray((x as ChartSpec).datasets);
}

/**
 * PNG of an accounting time series (or of a general ChartSpec). The REPL's `chart --png` and
 * the kernel's charts both come through here.
 */
export function renderChartPng(data: readonly AccountingPoint[] | ChartSpec, opts: AccountingChartOptions = {}): Buffer {
  return renderChartSpecPng(isChartSpec(data) ? data : accountingSpec(data as readonly AccountingPoint[], opts));
}

/** Text summary of an accounting series: first, peak and last value of each metric. */
export function accountingText(points: readonly AccountingPoint[], opts: AccountingChartOptions = {}): string {
  checkPoints(points, "accountingText");
  const keys = opts.series ?? defaultAccountingSeries(points);
  const title = opts.title ?? "Accounting";
  if (points.length === 0) return `${title}: no samples`;
  const first = points[0]!;
  const last = points[points.length - 1]!;
  const rows = keys.map((k) => {
    const vals = points.map((p) => pointValue(p, k)).filter((v): v is number => v !== null);
    const f = pointValue(first, k);
    const l = pointValue(last, k);
    return [labelOf(k), f === null ? "" : String(f), vals.length ? String(Math.max(...vals)) : "", l === null ? "" : String(l)];
  });
  return `${title} (steps ${first.step}..${last.step}, ${points.length} samples)\n` + textTable(["metric", "first", "peak", "last"], rows);
}

function specText(spec: ChartSpec): string {
  const rows = spec.datasets.map((d) => {
    const vals = d.data.filter((v): v is number => v !== null);
    return [d.label, vals.length ? String(vals[0]) : "", vals.length ? String(Math.max(...vals)) : "", vals.length ? String(vals[vals.length - 1]) : ""];
  });
  return `${spec.title ?? "Chart"} (${spec.labels.length} points)\n` + textTable(["series", "first", "peak", "last"], rows);
}

/** A displayable accounting chart: image/png with a text summary as text/plain. */
export function accountingChart(points: readonly AccountingPoint[], opts: AccountingChartOptions = {}): View {
  checkPoints(points, "accountingChart");
  const copy = points.slice();
  return new View("chart", () => ({
    "text/plain": accountingText(copy, opts),
    "image/png": renderChartPng(copy, opts).toString("base64"),
  }));
}

/** A displayable chart of a general spec (line or bar). */
export function chartView(spec: ChartSpec): View {
  if (!isChartSpec(spec)) throw new TypeError("chartView: spec must be {labels: [], datasets: []}");
  return new View("chart", () => ({
    "text/plain": specText(spec),
    "image/png": renderChartSpecPng(spec).toString("base64"),
  }));
}

/**
 * Scenario results side by side, one column per posting (design.md ScenarioResult:
 * {id, series, outcome, livelock, warnCount, leakedGranules, pgtablePages, rmiCalls, trace,
 * notes}). Several scenario ids give one table each.
 */
import type { ScenarioResult } from "../scenarios/index.js";
import { escapeHtml, plain, TABLE_STYLE, textTable } from "./format.js";
import { View } from "./mime.js";

/**
 * One posting's column: a ScenarioResult of src/scenarios, or a row with the same id, series
 * and an outcome of its own (e.g. "exception": a posting the simulator could not run), with
 * whatever other ScenarioResult fields it has and an optional title.
 */
export type ComparisonRow = Pick<ScenarioResult, "id" | "series"> & { outcome: string; title?: string } & Partial<Omit<ScenarioResult, "id" | "series" | "outcome">>;

/** Postings in series order; unknown names after them, alphabetically. */
const SERIES_ORDER = ["v8", "v9", "v10", "v11", "v12", "v13", "v14", "post-v14"];

/** The rows of a comparison, in this order, when present in any result. */
const METRICS = ["outcome", "livelock", "warnCount", "leakedGranules", "pgtablePages", "rmiCalls", "notes"] as const satisfies readonly (keyof ComparisonRow)[];
type Metric = (typeof METRICS)[number];

export function isScenarioResult(x: unknown): x is ComparisonRow {
  if (x === null || typeof x !== "object") return false;
  const r = x as Record<string, unknown>;
  return typeof r["id"] === "string" && typeof r["series"] === "string" && typeof r["outcome"] === "string";
}

function seriesRank(s: string): number {
  const i = SERIES_ORDER.indexOf(s);
  return i < 0 ? SERIES_ORDER.length : i;
}

function cellValue(r: ComparisonRow, metric: Metric): string {
  const v: unknown = r[metric];
  if (Array.isArray(v)) return metric === "rmiCalls" ? String(v.length) : v.map(plain).join("; ");
  return plain(v);
}

interface Group {
  id: string;
  title?: string;
  results: ComparisonRow[];
  metrics: Metric[];
}

function groups(results: readonly ComparisonRow[]): Group[] {
  const byId = new Map<string, ComparisonRow[]>();
  for (const r of results) {
    if (!isScenarioResult(r)) throw new TypeError("comparisonView: every result needs string id, series and outcome");
    const list = byId.get(r.id) ?? [];
    list.push(r);
    byId.set(r.id, list);
  }
  return [...byId.entries()].map(([id, rs]) => {
    const sorted = rs.slice().sort((a, b) => seriesRank(a.series) - seriesRank(b.series) || (a.series < b.series ? -1 : a.series > b.series ? 1 : 0));
    const metrics = METRICS.filter((m) => sorted.some((r) => r[m] !== undefined && r[m] !== ""));
    const g: Group = { id, results: sorted, metrics };
    const t = sorted.find((r) => typeof r.title === "string")?.title;
    if (typeof t === "string") g.title = t;
    return g;
  });
}

export function comparisonText(results: readonly ComparisonRow[]): string {
  return groups(results)
    .map((g) => {
      const head = g.title ? `${g.id} ${g.title}` : g.id;
      const rows = g.metrics.map((m) => [m, ...g.results.map((r) => cellValue(r, m))]);
      return head + "\n" + textTable(["", ...g.results.map((r) => r.series)], rows);
    })
    .join("\n\n");
}

export function comparisonHtml(results: readonly ComparisonRow[]): string {
  return groups(results)
    .map((g) => {
      const head = g.title ? `${g.id} ${g.title}` : g.id;
      const out = [
        `<table class="realm-scenarios" style="${TABLE_STYLE}">`,
        `<caption style="text-align:left;font-weight:bold">${escapeHtml(head)}</caption>`,
        '<thead><tr><th></th>' + g.results.map((r) => `<th style="text-align:left">${escapeHtml(r.series)}</th>`).join("") + "</tr></thead><tbody>",
      ];
      for (const m of g.metrics) {
        const cells = g.results.map((r) => {
          const text = cellValue(r, m);
          let style = "text-align:left";
          if (m === "outcome") style += r.outcome === "ok" ? ";color:#1b7f3b;font-weight:bold" : ";color:#b00020;font-weight:bold";
          return `<td style="${style}">${escapeHtml(text)}</td>`;
        });
        out.push(`<tr><th style="text-align:left">${escapeHtml(m)}</th>${cells.join("")}</tr>`);
      }
      out.push("</tbody></table>");
      return out.join("\n");
    })
    .join("\n<br/>\n");
}

function isRowList(x: readonly ComparisonRow[] | ComparisonRow): x is readonly ComparisonRow[] {
  return Array.isArray(x);
}

/** A displayable per-posting comparison of scenario results. */
export function comparisonView(results: readonly ComparisonRow[] | ComparisonRow): View {
  const list: ComparisonRow[] = isRowList(results) ? results.slice() : [results];
  groups(list); // validate now
  return new View("scenarios", () => ({ "text/plain": comparisonText(list), "text/html": comparisonHtml(list) }));
}

/**
 * Which simulator values display richly on their own (a cell's value, `display(x)`): values
 * that carry their own MIME bundle, RTT trees (vm.rtt()), scenario results, accounting time
 * series, trace logs. Recognised by shape, so plain data from any layer qualifies.
 */
import { accountingChart, type AccountingPoint } from "./chart.js";
import { isDisplayable, MIME_BUNDLE, type MimeBundle } from "./mime.js";
import { isRttTreeLike, rttView } from "./rtt.js";
import { comparisonView, isScenarioResult } from "./scenarios.js";
import { isTraceLine, traceView } from "./trace.js";

function isAccountingPoint(x: unknown): x is AccountingPoint {
  if (x === null || typeof x !== "object") return false;
  const p = x as Record<string, unknown>;
  return typeof p["step"] === "number" && ((p["granules"] !== null && typeof p["granules"] === "object") || typeof p["pgtablePages"] === "number");
}

function isTraceLog(x: unknown): boolean {
  if (x === null || typeof x !== "object") return false;
  const t = x as { lines?: unknown; entries?: unknown };
  return typeof t.lines === "function" && Array.isArray(t.entries);
}

/** The rich MIME bundle of a value, or undefined when it has no special view. */
export function toMimeBundle(value: unknown): MimeBundle | undefined {
  if (isDisplayable(value)) return value[MIME_BUNDLE]();
  if (value === null || typeof value !== "object") return undefined;
  if (Array.isArray(value)) {
    if (value.length === 0) return undefined;
    if (value.every(isScenarioResult)) return comparisonView(value)[MIME_BUNDLE]();
    if (value.every(isAccountingPoint)) return accountingChart(value as AccountingPoint[])[MIME_BUNDLE]();
    if (value.every(isTraceLine)) return traceView(value)[MIME_BUNDLE]();
    if (isRttTreeLike(value)) return rttView(value)[MIME_BUNDLE]();
    return undefined;
  }
  if (isScenarioResult(value)) return comparisonView(value)[MIME_BUNDLE]();
  if (isRttTreeLike(value)) return rttView(value)[MIME_BUNDLE]();
  if (isTraceLog(value)) return traceView(value)[MIME_BUNDLE]();
  const samples = (value as { samples?: unknown }).samples;
  if (Array.isArray(samples) && samples.length > 0 && samples.every(isAccountingPoint)) {
    return accountingChart(samples as AccountingPoint[])[MIME_BUNDLE]();
  }
  return undefined;
}

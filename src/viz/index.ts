/**
 * src/viz: how simulator objects look in notebooks and terminals. Views (RTT tree, accounting
 * chart, trace table, per-posting comparison) are MIME bundles: text/plain always, plus
 * text/html or image/png. `display()` sends them to the front end (the realm Jupyter kernel
 * installs the sink), `liveChart()` updates one chart in place.
 */
export { MIME_BUNDLE, View, isDisplayable, type Displayable, type MimeBundle } from "./mime.js";
export {
  accountingChart,
  accountingSpec,
  accountingText,
  chartView,
  renderChartPng,
  renderChartSpecPng,
  CHART_FONT_FAMILY,
  type AccountingPoint,
  type AccountingChartOptions,
  type ChartSpec,
  type ChartDataset,
} from "./chart.js";
export { rttView, rttText, rttHtml, normalizeRttTree, isRttTreeLike, type RttViewOptions } from "./rtt.js";
export { traceView, traceText, traceHtml, traceRows, parseTraceLine, isTraceLine, rmiCallCounts, type TraceRow, type TraceViewOptions } from "./trace.js";
export { comparisonView, comparisonText, comparisonHtml, isScenarioResult, type ComparisonRow } from "./scenarios.js";
export { toMimeBundle } from "./auto.js";
export {
  display,
  DisplayHandle,
  liveChart,
  LiveChart,
  mimeBundleOf,
  setDisplaySink,
  type DisplaySink,
  type DisplaySinkOptions,
  type DisplayOptions,
  type LiveChartOptions,
} from "./display.js";

/**
 * Traces as tables: RMI calls in TF-RMM's log format (`SMC_RMI_RTT_CREATE 80040000 0 3 >
 * RMI_ERROR_RTT 2`) split into command / arguments / result, host events (KVM:, IOCTL:, EXIT:,
 * INJECT:, WARNING:) on their own rows. Accepts the host's TraceLog (src/trace/log.ts), its
 * entries, or plain lines.
 */
import { escapeHtml, TABLE_STYLE } from "./format.js";
import { View } from "./mime.js";

export interface TraceViewOptions {
  /** Only the last N lines (after filtering). */
  last?: number;
  /** Only lines containing this text. */
  grep?: string;
  title?: string;
}

export interface TraceRow {
  /** Position in the full trace, from 0. */
  n: number;
  /** Host step, when the trace records it. */
  step?: number;
  kind: "rmi" | "event" | "warn" | "inject" | "exit" | "ioctl";
  /** RMI: command without the SMC_ prefix (RMI_RTT_CREATE); events: the line's tag. */
  command: string;
  args: string;
  /** RMI: status name and index (RMI_ERROR_RTT 2); events: the text. */
  result: string;
  /** RMI: output registers (hex) after the status. */
  outputs: string;
  ok: boolean;
  line: string;
}

/** A line of a host trace: an RMI call in TF-RMM's format, or a tagged host event. */
const TRACE_LINE = /^(SMC_\S+ .*> |KVM: |IOCTL: |EXIT: |INJECT: |WARNING: )/;

export function isTraceLine(x: unknown): x is string {
  return typeof x === "string" && TRACE_LINE.test(x);
}

const RMI_LINE = /^SMC_(\S+)\s*(.*?)\s*>\s*(SMC_UNKNOWN|RMI_[A-Z_]+)((?:\s+[0-9a-f]+)*)(\s+\(injected\))?\s*$/;

/** Split one trace line into columns. */
export function parseTraceLine(line: string, n: number, step?: number): TraceRow {
  const m = RMI_LINE.exec(line);
  const base = step === undefined ? { n } : { n, step };
  if (m) {
    const status = m[3]!;
    const nums = (m[4] ?? "").trim().split(/\s+/).filter((x) => x !== "");
    // src/rmm/trace.ts formatRecord: after a failure status comes its index (printed when
    // non-zero or for RMI_ERROR_RTT), then output registers; RMI_SUCCESS has index 0, not printed.
    const index = status !== "RMI_SUCCESS" && status !== "SMC_UNKNOWN" && nums.length > 0 ? nums.shift() : undefined;
    const result = index !== undefined ? `${status} ${index}` : status;
    return {
      ...base,
      kind: "rmi",
      command: m[1]!,
      args: m[2]!,
      result: result + (m[5] ? " (injected)" : ""),
      outputs: nums.join(" "),
      ok: status === "RMI_SUCCESS",
      line,
    };
  }
  const tag = /^(KVM|IOCTL|EXIT|INJECT|WARNING):\s*(.*)$/.exec(line);
  if (tag) {
    const kind = ({ KVM: "event", IOCTL: "ioctl", EXIT: "exit", INJECT: "inject", WARNING: "warn" } as const)[
      tag[1] as "KVM" | "IOCTL" | "EXIT" | "INJECT" | "WARNING"
    ];
    return { ...base, kind, command: tag[1]!, args: "", result: tag[2]!, outputs: "", ok: kind !== "warn", line };
  }
  return { ...base, kind: "event", command: "", args: "", result: line, outputs: "", ok: true, line };
}

interface EntryLike {
  step?: unknown;
}

/** Lines (and steps, when known) of whatever trace container was given. */
export function traceRows(trace: unknown): TraceRow[] {
  const t = trace as { lines?: unknown; entries?: unknown; records?: unknown; rmmTrace?: unknown };
  if (Array.isArray(trace)) {
    return trace.map((x, i) => (typeof x === "string" ? parseTraceLine(x, i) : parseTraceLine(String(x), i)));
  }
  if (trace !== null && typeof trace === "object" && typeof t.lines === "function") {
    const lines = (t.lines as () => string[]).call(trace);
    const entries = Array.isArray(t.entries) ? (t.entries as EntryLike[]) : undefined;
    return lines.map((l, i) => {
      const s = entries?.[i]?.step;
      return parseTraceLine(l, i, typeof s === "number" ? s : undefined);
    });
  }
  throw new TypeError("traceView: trace must be an array of lines or a trace log with lines()");
}

function select(rows: TraceRow[], opts: TraceViewOptions): TraceRow[] {
  let out = rows;
  if (opts.grep !== undefined && opts.grep !== "") {
    const g = opts.grep;
    out = out.filter((r) => r.line.includes(g));
  }
  if (opts.last !== undefined) out = out.slice(Math.max(0, out.length - opts.last));
  return out;
}

export function traceText(trace: unknown, opts: TraceViewOptions = {}): string {
  const all = traceRows(trace);
  const rows = select(all, opts);
  const head = `${opts.title ?? "Trace"}: ${rows.length} of ${all.length} lines`;
  const width = String(all.length).length;
  return [head, ...rows.map((r) => `${String(r.n).padStart(width)}  ${r.line}`)].join("\n");
}

export function traceHtml(trace: unknown, opts: TraceViewOptions = {}): string {
  const all = traceRows(trace);
  const rows = select(all, opts);
  const withStep = rows.some((r) => r.step !== undefined);
  const head = ["#", ...(withStep ? ["step"] : []), "command", "arguments", "result", "outputs"];
  const out: string[] = [
    `<table class="realm-trace" style="${TABLE_STYLE};font-family:monospace;font-size:90%">`,
    `<caption style="text-align:left;font-weight:bold">${escapeHtml(opts.title ?? "Trace")} (${rows.length} of ${all.length} lines)</caption>`,
    // Every cell says its alignment: the classic Notebook right-aligns cells that do not.
    "<thead><tr>" + head.map((h) => `<th style="text-align:${h === "#" || h === "step" ? "right" : "left"}">${h}</th>`).join("") + "</tr></thead><tbody>",
  ];
  const L = 'style="text-align:left"';
  const num = (v: unknown): string => `<td style="text-align:right">${String(v ?? "")}</td>`;
  for (const r of rows) {
    const stepCell = withStep ? num(r.step) : "";
    if (r.kind === "rmi") {
      const result = r.ok ? L : 'style="text-align:left;color:#b00020"';
      out.push(
        `<tr>${num(r.n)}${stepCell}<td ${L}>${escapeHtml(r.command)}</td><td ${L}>${escapeHtml(r.args)}</td>` +
          `<td ${result}>${escapeHtml(r.result)}</td><td ${L}>${escapeHtml(r.outputs)}</td></tr>`,
      );
    } else {
      const color = r.kind === "warn" ? "color:#b00020;font-weight:bold" : r.kind === "inject" ? "color:#8a4b00" : "color:#555";
      out.push(
        `<tr>${num(r.n)}${stepCell}<td style="text-align:left;${color}">${escapeHtml(r.command)}</td>` +
          `<td colspan="3" style="text-align:left;${color}">${escapeHtml(r.result)}</td></tr>`,
      );
    }
  }
  out.push("</tbody></table>");
  return out.join("\n");
}

/** A displayable trace table. */
export function traceView(trace: unknown, opts: TraceViewOptions = {}): View {
  traceRows(trace); // validate now: a bad argument is reported where it was given
  return new View("trace", () => ({ "text/plain": traceText(trace, opts), "text/html": traceHtml(trace, opts) }));
}

/** Calls per RMI command in a trace, sorted by name (a compact summary for comparisons). */
export function rmiCallCounts(trace: unknown): Record<string, number> {
  const counts: Record<string, number> = {};
  for (const r of traceRows(trace)) if (r.kind === "rmi") counts[r.command] = (counts[r.command] ?? 0) + 1;
  return Object.fromEntries(Object.entries(counts).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)));
}


/**
 * Plain-text renderings of command results, keyed by the result's kind. Input is the
 * JSON-friendly value (bigints already hex strings). The REPL colours this text; the kernel has
 * its own HTML renderers and uses this as the text/plain fallback.
 */
import { textChart, type ChartSeries } from "./chart.js";
import { renderRttTree, renderRttWalk } from "./rtt.js";

export interface TableValue {
  title?: string;
  columns: string[];
  rows: (string | number | boolean | null)[][];
  /** Right-align these columns (numbers). */
  align?: ("l" | "r")[];
  footer?: string;
}

export function table(t: TableValue): string {
  const cells = t.rows.map((r) => r.map((c) => (c === null ? "-" : String(c))));
  const w = t.columns.map((c, i) => Math.max(c.length, ...cells.map((r) => (r[i] ?? "").length)));
  const fmt = (r: string[]) =>
    r
      .map((c, i) => ((t.align?.[i] ?? "l") === "r" ? c.padStart(w[i]!) : c.padEnd(w[i]!)))
      .join("  ")
      .trimEnd();
  const out: string[] = [];
  if (t.title) out.push(t.title);
  out.push(fmt(t.columns));
  for (const r of cells) out.push(fmt(r));
  if (t.footer) out.push(t.footer);
  return out.join("\n");
}

type Renderer = (v: any) => string;

/** `RMI_ERROR_RTT (level 2)`, `RMI_ERROR_INPUT`, `RMI_ERROR_REALM (index 1)` (RMM spec B4.4: x0 = status | index << 8). */
export function statusText(status: string, index: number): string {
  if (status === "RMI_ERROR_RTT") return `${status} (level ${index})`;
  return index !== 0 ? `${status} (index ${index})` : status;
}

const RENDERERS: Record<string, Renderer> = {
  none: () => "",
  error: (v) => String(v?.message ?? v ?? ""),
  message: (v) => String(v.message ?? ""),
  lines: (v) => [...(v.lines as string[]), ...(typeof v.note === "string" ? [v.note] : [])].join("\n"),
  help: (v) => String(v.text),
  table: (v) => table(v as TableValue),
  rmi: (v) => {
    const head = `${v.command} ${Object.values(v.args as Record<string, string>).join(" ")}`.trimEnd();
    const out = [`${statusText(v.status, v.index)}    (${head} on ${v.machine})`];
    const outs = Object.entries(v.outputs as Record<string, string>);
    if (outs.length > 0 && (v.status === "RMI_SUCCESS" || outs.some(([, x]) => x !== "0x0"))) {
      for (const [k, x] of outs) out.push(`  ${k} = ${x}`);
    }
    return out.join("\n");
  },
  granule: (v) => {
    const rows: [string, string][] = [
      ["pa", v.pa],
      ["state", v.state],
      ["pas", v.pas],
      ["refcount", String(v.refcount)],
      ["region", v.region + (v.tracked ? "" : " (not tracked by the RMM)")],
    ];
    if (v.owner !== undefined) rows.push(["owner", `RD ${v.owner}`]);
    if (v.realmState !== undefined) rows.push(["realm state", v.realmState]);
    if (v.level !== undefined) rows.push(["rtt level", String(v.level)]);
    if (v.recIndex !== undefined) rows.push(["rec index", String(v.recIndex)]);
    if (v.machine !== undefined) rows.push(["machine", v.machine]);
    return rows.map(([k, x]) => `${k.padEnd(12)}${x}`).join("\n");
  },
  realm: (v) => String(v.message),
  rtt: (v) => renderRttTree(v),
  "rtt-walk": (v) => renderRttWalk(v),
  touch: (v) => {
    const o = Object.entries(v.outcomes as Record<string, number>).map(([k, n]) => (v.done === 1 ? k : `${n} ${k}`)).join(", ");
    const what = `${v.access} ${v.ipa}${v.done > 1 ? ` x${v.done} (stride ${v.stride})` : ""} on vCPU ${v.vcpu}`;
    const extra = v.done === 1 && v.results[0]?.errno ? ` ${v.results[0].errno}` : "";
    return `${what}: ${o}${extra} (${v.exits} exit${v.exits === 1 ? "" : "s"}, ${v.rmiCalls} RMI call${v.rmiCalls === 1 ? "" : "s"})${v.interrupted ? ` — stopped after ${v.done} of ${v.count}` : ""}${v.stopped ? `\n  stopped: ${v.stopped}` : ""}`;
  },
  range: (v) => {
    const r = v.result ?? {};
    const o = typeof r === "object" && r !== null && "outcome" in r ? `${r.outcome}${r.errno ? ` ${r.errno}` : ""} (${r.exits} exits, ${r.rmiCalls} RMI calls)` : "done";
    return `${v.op} ${v.ipa} +${v.size}: ${o}`;
  },
  workload: (v) => {
    const o = Object.entries(v.outcomes as Record<string, number>).map(([k, n]) => `${n} ${k}`).join(", ");
    const g = Object.entries(v.granules as Record<string, number>).filter(([, n]) => n !== 0).map(([k, n]) => `${k} ${n}`).join("  ");
    return `workload ${v.workload}: ${v.steps}/${v.of} steps${v.interrupted ? " (stopped)" : ""}: ${o || "nothing"}; ${v.exits} exits, ${v.rmiCalls} RMI calls${v.stopped ? `\n  stopped: ${v.stopped}` : ""}\n  granules: ${g || "none"}${v.leakedPages ? `  leaked pages ${v.leakedPages}` : ""}${v.warnCount ? `  WARNs ${v.warnCount}` : ""}`;
  },
  chart: (v) => {
    const series = v.series as ChartSeries[];
    const chart = textChart(series, { width: v.width ?? 60, height: v.height ?? 10 });
    return (v.title ? v.title + "\n" : "") + chart + (v.note ? "\n" + v.note : "");
  },
};

/** Register a renderer for a kind (command families with their own result shapes). */
export function registerTextRenderer(kind: string, r: Renderer): void {
  RENDERERS[kind] = r;
}

export function renderText(kind: string, value: unknown): string {
  const r = RENDERERS[kind];
  if (r !== undefined) {
    try {
      return r(value);
    } catch {
      /* fall through to the generic rendering */
    }
  }
  return generic(value, "");
}

function generic(v: unknown, indent: string): string {
  if (v === null || v === undefined) return "";
  if (typeof v !== "object") return String(v);
  if (Array.isArray(v)) {
    if (v.every((x) => x === null || typeof x !== "object")) return v.join(", ");
    return v.map((x) => `${indent}- ${generic(x, indent + "  ").trimStart()}`).join("\n");
  }
  const lines: string[] = [];
  for (const [k, x] of Object.entries(v)) {
    if (x !== null && typeof x === "object" && !(Array.isArray(x) && x.every((y) => y === null || typeof y !== "object"))) {
      lines.push(`${indent}${k}:`);
      lines.push(generic(x, indent + "  "));
    } else lines.push(`${indent}${k}: ${generic(x, "")}`);
  }
  return lines.join("\n");
}

/**
 * Errors as Jupyter reports them (messaging spec, "error" / execute_reply status "error"):
 * ename, evalue and a traceback naming the cell line. Runtime errors map their stack frames
 * through the cell's source maps; type errors come from tslab's diagnostics. Paths of the
 * package are shown relative to it (stored notebook outputs must not depend on where the
 * package lives).
 */
import { inspect } from "node:util";

export interface JupyterError {
  ename: string;
  evalue: string;
  traceback: string[];
}

/** A compile diagnostic as tslab's converter reports it (positions 0-based). */
export interface DiagnosticLike {
  start: { line: number; character: number };
  end?: { line: number; character: number };
  messageText: string;
  code?: number;
  fileName?: string;
}

/** The source of one executed cell and how to map its JavaScript positions back. */
export interface CellInfo {
  /** Name frames of this cell carry, e.g. "cell[3]". */
  name: string;
  source: string;
  /** 1-based JS line/column -> 1-based cell line/column. */
  map?: (line: number, col: number) => { line: number; col: number } | undefined;
}

function sourceExcerpt(source: string, line: number, col?: number): string[] {
  const lines = source.split("\n");
  const text = lines[line - 1];
  if (text === undefined) return [];
  const num = String(line);
  const out = [`  ${num} | ${text}`];
  if (col !== undefined && col >= 1) out.push(`  ${" ".repeat(num.length)} | ${" ".repeat(col - 1)}^`);
  return out;
}

/** Type errors (and other diagnostics) of a cell. */
export function diagnosticsError(cell: CellInfo, diags: readonly DiagnosticLike[]): JupyterError {
  const tb: string[] = [];
  for (const d of diags) {
    const line = d.start.line + 1;
    const col = d.start.character + 1;
    const where = d.fileName ? `${d.fileName}:${line}:${col}` : `${cell.name}:${line}:${col}`;
    const code = d.code !== undefined ? ` (TS${d.code})` : "";
    tb.push(`TSError: ${where} - ${d.messageText}${code}`);
    if (!d.fileName) tb.push(...sourceExcerpt(cell.source, line, col));
  }
  const first = diags[0];
  const evalue = first
    ? `${cell.name} line ${first.start.line + 1}: ${first.messageText}` + (diags.length > 1 ? ` (and ${diags.length - 1} more)` : "")
    : "compilation failed";
  return { ename: "TSError", evalue, traceback: tb };
}

export interface StackOptions {
  /** Absolute package root; its paths become `cca-realm-sim/...`. */
  packageRoot: string;
  /** Cells that may appear in the stack, by name. */
  cells: ReadonlyMap<string, CellInfo>;
}

const INTERNAL_FRAME = /\((?:node:vm|node:internal)|^\s*at (?:node:vm|node:internal)|\/tslab\/dist\/|\/dist\/kernel\/|\/kernel\/[a-z-]+\.(?:ts|js):/;

function escapeRe(s: string): string {
  return s.replace(/[.*+?^${}()|[\]\\]/g, "\\$&");
}

/**
 * Rewrite a V8 stack: cell frames to cell line/column, package paths relative, and drop the
 * frames of the kernel and tslab below the cell.
 */
export function formatStack(stack: string, opts: StackOptions): { lines: string[]; innermost?: { cell: CellInfo; line: number; col: number } } {
  const out: string[] = [];
  let innermost: { cell: CellInfo; line: number; col: number } | undefined;
  const cellRe = /(cell\[\d+\]):(\d+):(\d+)/g;
  const rootRe = new RegExp(escapeRe(opts.packageRoot.replace(/\\/g, "/")) + "/", "g");
  // Node decorates errors thrown by vm scripts with "file:line\nsource\n   ^\n\n" (JS
  // positions): drop it, the cell excerpt below says the same in cell terms.
  const lines = stack.replace(/^[^\n]*:\d+\n[^\n]*\n[ \t]*\^+[^\n]*\n\n/, "").split("\n");
  let inFrames = false;
  let sawCell = false;
  for (const raw of lines) {
    const isFrame = /^\s+at /.test(raw);
    if (isFrame) inFrames = true;
    if (inFrames && !isFrame) continue;
    if (isFrame && INTERNAL_FRAME.test(raw)) {
      if (sawCell) break; // below the cell: the kernel's and tslab's own frames
      continue;
    }
    let dropLine = false;
    let line = raw.replace(cellRe, (m, name: string, l: string, c: string) => {
      const cell = opts.cells.get(name);
      if (cell === undefined) return m;
      if (cell.map === undefined) return m;
      const pos = cell.map(Number(l), Number(c));
      if (pos === undefined) {
        dropLine = true; // tslab's wrapper around the cell, not cell code
        return m;
      }
      if (innermost === undefined) innermost = { cell, line: pos.line, col: pos.col };
      sawCell = true;
      return `${name}:${pos.line}:${pos.col}`;
    });
    if (dropLine) continue;
    line = line.replace(rootRe, "cca-realm-sim/");
    out.push(line);
  }
  const r: { lines: string[]; innermost?: { cell: CellInfo; line: number; col: number } } = { lines: out };
  if (innermost !== undefined) r.innermost = innermost;
  return r;
}

const INTERRUPT_MESSAGES = ["Script execution was interrupted by `SIGINT`", "Interrupted asynchronously"];

/** A thrown value as a Jupyter error. */
export function thrownError(value: unknown, opts: StackOptions): JupyterError {
  if (value instanceof Error || (value !== null && typeof value === "object" && typeof (value as Error).stack === "string")) {
    const e = value as Error;
    const message = String(e.message ?? "");
    if (INTERRUPT_MESSAGES.some((m) => message.includes(m))) {
      return { ename: "KeyboardInterrupt", evalue: "interrupted", traceback: ["KeyboardInterrupt: the cell was interrupted"] };
    }
    const ename = typeof e.name === "string" && e.name ? e.name : (e.constructor?.name ?? "Error");
    const { lines, innermost } = formatStack(String(e.stack ?? `${ename}: ${message}`), opts);
    const tb = lines.length > 0 ? lines : [`${ename}: ${message}`];
    if (innermost !== undefined) {
      tb.push(`${innermost.cell.name} line ${innermost.line}:`);
      tb.push(...sourceExcerpt(innermost.cell.source, innermost.line, innermost.col));
    }
    return { ename, evalue: message, traceback: tb };
  }
  const text = typeof value === "string" ? value : inspect(value);
  return { ename: "Uncaught", evalue: text, traceback: [`Uncaught ${text}`] };
}

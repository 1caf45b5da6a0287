/**
 * `%realm <command>` lines and `%%realm` cells: the realm> command language (src/commands, the
 * same parser and executor as the REPL and `realm run`) inside notebooks.
 *
 * A `%realm` line in a TypeScript cell becomes `await` of the kernel's magic function, on the
 * same line (cell line numbers do not move), with the command as a template literal so
 * `${expr}` puts TypeScript values into commands. A `%%realm` cell is a list of commands, run
 * in order until one fails.
 */
import type { RunResult, Session } from "../src/commands/index.js";
import { htmlTable } from "../src/viz/format.js";
import { accountingChart } from "../src/viz/chart.js";
import { rttView } from "../src/viz/rtt.js";
import { isTraceLine, traceView } from "../src/viz/trace.js";
import { toMimeBundle } from "../src/viz/auto.js";
import { MIME_BUNDLE, type MimeBundle } from "../src/viz/mime.js";

/** Global name the rewritten `%realm` lines call. */
export const MAGIC_FN = "__realmMagic__";

const LINE_MAGIC = /^(\s*)%realm(?:\s+(.*?))?\s*$/;
const CELL_MAGIC = /^\s*%%realm\b(.*)$/;

/** Is this cell a `%%realm` cell? Then its command lines (with cell line numbers, 1-based). */
export function cellMagicLines(code: string): { line: number; text: string }[] | undefined {
  const lines = code.split("\n");
  if (lines.length === 0 || !CELL_MAGIC.test(lines[0]!)) return undefined;
  const out: { line: number; text: string }[] = [];
  const rest = CELL_MAGIC.exec(lines[0]!)![1]!.trim();
  if (rest !== "") out.push({ line: 1, text: rest });
  for (let i = 1; i < lines.length; i++) {
    const t = lines[i]!.trim();
    if (t === "" || t.startsWith("#") || t.startsWith("//")) continue;
    out.push({ line: i + 1, text: t });
  }
  return out;
}

function templateEscape(s: string): string {
  // Keep ${...} live; escape what would end or alter the template literal.
  return s.replace(/\\/g, "\\\\").replace(/`/g, "\\`");
}

export interface Rewritten {
  code: string;
  /** Per line (0-based): length change (new - old), for mapping cursor positions. */
  delta: number[];
  /** 0-based lines that were %realm lines. */
  magicLines: Set<number>;
}

/** Rewrite `%realm` lines of a TypeScript cell, keeping every line where it was. */
export function rewriteLineMagics(code: string): Rewritten {
  const lines = code.split("\n");
  const delta: number[] = [];
  const magicLines = new Set<number>();
  const out = lines.map((l, i) => {
    const m = LINE_MAGIC.exec(l);
    if (!m) {
      delta.push(0);
      return l;
    }
    magicLines.add(i);
    // A trailing "// comment" is TypeScript's, not part of the command.
    const cmd = (m[2] ?? "").replace(/\s+\/\/.*$/, "");
    // Not "await (" : TypeScript would read that as a call of a function named await.
    const nl = `${m[1]}await ${MAGIC_FN}(\`${templateEscape(cmd)}\`, ${i + 1});`;
    delta.push(nl.length - l.length);
    return nl;
  });
  return { code: out.join("\n"), delta, magicLines };
}

/** How much the lines before the line holding `pos` of `text` grew in the rewrite. */
function shiftBefore(text: string, rw: Rewritten, pos: number): number {
  let shift = 0;
  let line = 0;
  for (let nl = text.indexOf("\n"); nl >= 0 && nl < pos; nl = text.indexOf("\n", nl + 1)) shift += rw.delta[line++] ?? 0;
  return shift;
}

/** Map an offset in the original cell to the rewritten one. */
export function mapOffset(code: string, rw: Rewritten, pos: number): number {
  return pos + shiftBefore(code, rw, pos);
}

/** Map an offset in the rewritten cell back to the original one. */
export function unmapOffset(rewritten: string, rw: Rewritten, pos: number): number {
  return pos - shiftBefore(rewritten, rw, pos);
}

/** Where the cursor is, if it is on a %realm line: the command text and the cursor in it. */
export function magicAtCursor(code: string, pos: number): { command: string; cursor: number; offset: number } | undefined {
  const lineStart = code.lastIndexOf("\n", pos - 1) + 1;
  let lineEnd = code.indexOf("\n", pos);
  if (lineEnd < 0) lineEnd = code.length;
  const line = code.slice(lineStart, lineEnd);
  const cell = CELL_MAGIC.test(code.split("\n")[0] ?? "");
  if (cell && lineStart > 0) return { command: line, cursor: pos - lineStart, offset: lineStart };
  const m = /^(\s*%%?realm\s+)/.exec(line);
  if (!m) return undefined;
  const off = lineStart + m[1]!.length;
  if (pos < off) return undefined;
  return { command: line.slice(m[1]!.length), cursor: pos - off, offset: off };
}

/**
 * The display of one command result: its text, plus a rich view where the kind has one (a
 * `chart` result is drawn as a PNG from the session's accounting samples of that machine).
 */
export function resultBundle(r: RunResult, session?: Session): MimeBundle {
  const text = r.ok ? (r.text ?? "") : `error: ${r.error ?? r.text ?? "failed"}`;
  const bundle: MimeBundle = { "text/plain": text };
  if (!r.ok) return bundle;
  const v = r.value as Record<string, unknown> | null | undefined;
  try {
    switch (r.kind) {
      case "table": {
        const cols = v?.["columns"];
        const rows = v?.["rows"];
        if (Array.isArray(cols) && Array.isArray(rows)) {
          const title = v?.["title"];
          const opts = typeof title === "string" ? { caption: title } : {};
          bundle["text/html"] = htmlTable(cols.map(String), rows.map((row) => (Array.isArray(row) ? row.map((c) => (c === null || c === undefined ? "" : String(c))) : [String(row)])), opts);
        }
        break;
      }
      case "lines": {
        const lines = v?.["lines"];
        const trace = Array.isArray(lines) ? lines.filter(isTraceLine) : [];
        if (trace.length > 0) bundle["text/html"] = traceView(trace)[MIME_BUNDLE]()["text/html"]!;
        break;
      }
      case "chart": {
        const pts = session !== undefined && typeof v?.["machine"] === "string" ? session.samplesOf(v["machine"]) : [];
        if (pts.length > 0) {
          const title = v?.["title"];
          bundle["image/png"] = accountingChart(pts, typeof title === "string" ? { title } : {})[MIME_BUNDLE]()["image/png"]!;
        }
        break;
      }
      case "rtt": {
        const tree = v?.["tree"] ?? v;
        const b = rttView(tree)[MIME_BUNDLE]();
        if (b["text/html"]) bundle["text/html"] = b["text/html"];
        break;
      }
      default: {
        const b = toMimeBundle(r.value);
        if (b) for (const [k, x] of Object.entries(b)) if (k !== "text/plain") bundle[k] = x;
      }
    }
  } catch {
    // A value this renderer does not understand keeps its text rendering.
  }
  return bundle;
}

/** A failed command inside a cell, reported as a Jupyter error. */
export class RealmCommandError extends Error {
  constructor(
    readonly result: RunResult,
    readonly cellLine: number,
  ) {
    super(result.error ?? result.text ?? "command failed");
    this.name = "RealmCommandError";
  }
}

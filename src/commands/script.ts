/**
 * Scripts: one command per line (`#` comments, blank lines ignored, a trailing `\` continues a
 * line). `realm run FILE` and `%%realm` cells run them through the same session executor.
 *
 * One input reader (`LineReader`) for scripts and the piped REPL: a line ends at LF, CRLF or a
 * lone CR (as Node's readline has it), and continues on the next when it ends in a backslash
 * that escapes nothing, outside quotes and comments (lexer.ts endsInContinuation) - a `\` at the
 * end of a comment does not swallow the next command.
 */
import { endsInContinuation } from "./lexer.js";
import type { Progress, RunOptions, RunResult } from "./context.js";

/** What runs a script's lines (a Session). */
export interface LineRunner {
  run(line: string, opts?: RunOptions): Promise<RunResult>;
}

/** Physical lines of a text (LF, CRLF or a lone CR end a line). */
export function physicalLines(text: string): string[] {
  return text.split(/\r\n|\n|\r/);
}

/** Assembles physical lines into command lines (continuations joined), numbered by first line. */
export class LineReader {
  private pending: string | undefined;
  private first = 0;
  private count = 0;

  /** One physical line (without its line end): the complete command line, or undefined while it continues. */
  push(raw: string): { lineNo: number; line: string } | undefined {
    this.count++;
    if (this.pending === undefined) this.first = this.count;
    const text = (this.pending ?? "") + raw;
    if (endsInContinuation(text)) {
      this.pending = text.replace(/\\[ \t]*$/, " ");
      return undefined;
    }
    this.pending = undefined;
    return { lineNo: this.first, line: text };
  }

  /** End of input: a line still waiting for its continuation is complete as it is. */
  end(): { lineNo: number; line: string } | undefined {
    const p = this.pending;
    this.pending = undefined;
    return p === undefined ? undefined : { lineNo: this.first, line: p };
  }
}

export interface ScriptOptions {
  /** Run every line even after a failure (default: stop at the first failure). */
  keepGoing?: boolean;
  /** Called after each command, in order. */
  onResult?: (r: RunResult, lineNo: number) => void | Promise<void>;
  signal?: AbortSignal;
  /** Progress of long commands (session RunOptions.onProgress). */
  onProgress?: (p: Progress) => void;
}

export interface ScriptReport {
  results: (RunResult & { lineNo: number })[];
  failed: number;
  /** Line number of the first failure, if any. */
  firstFailure?: number;
  /** The script ran `exit`. */
  exited: boolean;
  interrupted: boolean;
}

/** Split a script into (line number, command) pairs. */
export function scriptLines(text: string): { lineNo: number; line: string }[] {
  const out: { lineNo: number; line: string }[] = [];
  const reader = new LineReader();
  const add = (l: { lineNo: number; line: string } | undefined) => {
    if (l === undefined) return;
    const t = l.line.trim();
    if (t !== "" && !t.startsWith("#")) out.push({ lineNo: l.lineNo, line: t });
  };
  for (const raw of physicalLines(text)) add(reader.push(raw));
  add(reader.end());
  return out;
}

export async function runScript(session: LineRunner, text: string, opts: ScriptOptions = {}): Promise<ScriptReport> {
  const rep: ScriptReport = { results: [], failed: 0, exited: false, interrupted: false };
  for (const { lineNo, line } of scriptLines(text)) {
    if (opts.signal?.aborted) {
      rep.interrupted = true;
      break;
    }
    const ro: RunOptions = {};
    if (opts.signal !== undefined) ro.signal = opts.signal;
    if (opts.onProgress !== undefined) ro.onProgress = opts.onProgress;
    const r = await session.run(line, ro);
    rep.results.push({ ...r, lineNo });
    await opts.onResult?.(r, lineNo);
    if (r.interrupted) {
      rep.interrupted = true;
      break;
    }
    if (!r.ok) {
      rep.failed++;
      rep.firstFailure ??= lineNo;
      if (!opts.keepGoing) break;
    }
    if (r.exit) {
      rep.exited = true;
      break;
    }
  }
  return rep;
}

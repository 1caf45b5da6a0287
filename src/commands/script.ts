/**
 * Scripts: one command per line (`#` comments, blank lines ignored, a trailing `\` continues a
 * line). `realm run FILE` and `%%realm` cells run them through the same session executor.
 */
import type { RunResult, Session } from "./session.js";

export interface ScriptOptions {
  /** Run every line even after a failure (default: stop at the first failure). */
  keepGoing?: boolean;
  /** Called after each command, in order. */
  onResult?: (r: RunResult, lineNo: number) => void | Promise<void>;
  signal?: AbortSignal;
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
  const raw = text.split(/\r?\n/);
  for (let i = 0; i < raw.length; i++) {
    let line = raw[i]!;
    const lineNo = i + 1;
    while (/\\\s*$/.test(line) && i + 1 < raw.length) {
      line = line.replace(/\\\s*$/, " ") + raw[++i]!;
    }
    const t = line.trim();
    if (t === "" || t.startsWith("#")) continue;
    out.push({ lineNo, line: t });
  }
  return out;
}

export async function runScript(session: Session, text: string, opts: ScriptOptions = {}): Promise<ScriptReport> {
  const rep: ScriptReport = { results: [], failed: 0, exited: false, interrupted: false };
  for (const { lineNo, line } of scriptLines(text)) {
    if (opts.signal?.aborted) {
      rep.interrupted = true;
      break;
    }
    const r = await session.run(line, opts.signal !== undefined ? { signal: opts.signal } : {});
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

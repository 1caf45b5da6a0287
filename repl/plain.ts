/**
 * Front ends without Ink: `realm run FILE [--json] [--keep-going]` and the plain line mode used
 * when stdin is not a terminal (piped input never touches raw mode). Both run lines through the
 * same session executor as the Ink REPL.
 */
import { createInterface } from "node:readline";
import type { Readable, Writable } from "node:stream";
import { LineReader, runScript } from "../src/commands/script.js";
import type { Progress, RunResult, Session } from "../src/commands/session.js";

export interface Streams {
  stdout: Writable;
  stderr: Writable;
}

/** One JSON object per command (`realm run --json`). */
export function jsonLine(r: RunResult, lineNo?: number): string {
  const o: Record<string, unknown> = {};
  if (lineNo !== undefined) o["lineNo"] = lineNo;
  o["line"] = r.line;
  o["command"] = r.command;
  o["ok"] = r.ok;
  o["kind"] = r.kind;
  o["value"] = r.value;
  o["text"] = r.text;
  if (r.error !== undefined) o["error"] = r.error;
  if (r.interrupted) o["interrupted"] = true;
  return JSON.stringify(o);
}

/**
 * Progress of a long command on stderr (never on stdout: `--json` output stays one JSON object
 * per line): nothing for the first second, then at most one report a second - rewritten in place
 * on a terminal, one line each otherwise. `done()` ends it (clears the terminal line).
 */
export function progressReporter(err: Writable & { isTTY?: boolean }, now: () => number = () => performance.now()): { onProgress: (p: Progress) => void; done: () => void } {
  const t0 = now();
  let last = t0;
  let shown = false;
  return {
    onProgress: (p) => {
      const t = now();
      if (t - t0 < 1000 || t - last < 1000) return;
      last = t;
      const pct = p.total > 0 ? ` (${((100 * p.done) / p.total).toFixed(1)}%)` : "";
      const text = `${p.command}: ${p.done}/${p.total}${pct}, ${((t - t0) / 1000).toFixed(0)} s (Ctrl-C stops it)`;
      err.write(err.isTTY ? `\r${text}\x1b[K` : `progress: ${text}\n`);
      shown = true;
    },
    done: () => {
      if (shown && err.isTTY) err.write("\r\x1b[K");
    },
  };
}

export interface RunFileOptions {
  json?: boolean;
  keepGoing?: boolean;
  /** Name shown in messages. */
  name: string;
  signal?: AbortSignal;
}

/** Run a script; returns the exit code (0, or 1 when a command failed). */
export async function runFile(session: Session, text: string, io: Streams, opts: RunFileOptions): Promise<number> {
  let progress = progressReporter(io.stderr);
  const rep = await runScript(session, text, {
    keepGoing: opts.keepGoing ?? false,
    ...(opts.signal !== undefined ? { signal: opts.signal } : {}),
    onProgress: (p) => progress.onProgress(p),
    onResult: (r, lineNo) => {
      progress.done();
      progress = progressReporter(io.stderr);
      if (opts.json) {
        io.stdout.write(jsonLine(r, lineNo) + "\n");
        return;
      }
      io.stdout.write(`realm> ${r.line}\n`);
      if (r.text !== "" && (r.ok || r.text !== r.error)) io.stdout.write(r.text + "\n");
      if (!r.ok) io.stderr.write(`${opts.name}:${lineNo}: ${r.error ?? r.text}\n`);
    },
  });
  if (rep.interrupted) return 130;
  return rep.failed > 0 ? 1 : 0;
}

/**
 * Line mode over a stream: every line is a command; results on stdout, failures on stderr.
 * Lines are read as `realm run` reads a script (script.ts LineReader: the same line ends and
 * `\` continuations). Returns 0, or 1 when any command failed. SIGINT (from the caller) stops a
 * running command; long commands report progress on stderr.
 */
export async function runLines(session: Session, input: Readable, io: Streams, signalFor: () => AbortSignal): Promise<number> {
  const rl = createInterface({ input, terminal: false, crlfDelay: Infinity });
  const reader = new LineReader();
  let failed = 0;
  const run = async (line: string): Promise<boolean> => {
    const progress = progressReporter(io.stderr);
    const r = await session.run(line, { signal: signalFor(), onProgress: progress.onProgress });
    progress.done();
    if (r.text !== "" && (r.ok || r.text !== r.error)) io.stdout.write(r.text + "\n");
    if (!r.ok) {
      failed++;
      io.stderr.write(`error: ${r.error ?? r.text}\n`);
    }
    return r.exit === true;
  };
  let exited = false;
  for await (const raw of rl) {
    const l = reader.push(raw);
    if (l !== undefined && (exited = await run(l.line))) break;
  }
  const last = reader.end();
  if (!exited && last !== undefined) await run(last.line);
  rl.close();
  return failed > 0 ? 1 : 0;
}

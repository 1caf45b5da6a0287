/**
 * Front ends without Ink: `realm run FILE [--json] [--keep-going]` and the plain line mode used
 * when stdin is not a terminal (piped input never touches raw mode). Both run lines through the
 * same session executor as the Ink REPL.
 */
import { createInterface } from "node:readline";
import type { Readable, Writable } from "node:stream";
import { runScript } from "../src/commands/script.js";
import type { RunResult, Session } from "../src/commands/session.js";

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

export interface RunFileOptions {
  json?: boolean;
  keepGoing?: boolean;
  /** Name shown in messages. */
  name: string;
  signal?: AbortSignal;
}

/** Run a script; returns the exit code (0, or 1 when a command failed). */
export async function runFile(session: Session, text: string, io: Streams, opts: RunFileOptions): Promise<number> {
  const rep = await runScript(session, text, {
    keepGoing: opts.keepGoing ?? false,
    ...(opts.signal !== undefined ? { signal: opts.signal } : {}),
    onResult: (r, lineNo) => {
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
 * Returns 0, or 1 when any command failed. SIGINT (from the caller) stops a running command.
 */
export async function runLines(session: Session, input: Readable, io: Streams, signalFor: () => AbortSignal): Promise<number> {
  const rl = createInterface({ input, terminal: false, crlfDelay: Infinity });
  let failed = 0;
  for await (const line of rl) {
    const r = await session.run(line, { signal: signalFor() });
    if (r.text !== "" && (r.ok || r.text !== r.error)) io.stdout.write(r.text + "\n");
    if (!r.ok) {
      failed++;
      io.stderr.write(`error: ${r.error ?? r.text}\n`);
    }
    if (r.exit) break;
  }
  rl.close();
  return failed > 0 ? 1 : 0;
}

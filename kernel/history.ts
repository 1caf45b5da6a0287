/**
 * Input history kept across kernel sessions, answering `history_request` (messaging spec:
 * hist_access_type "tail", "range", "search") the way IPython's HistoryManager does: entries are
 * (session, line, input), sessions numbered from 1, each kernel start a new session, `line` the
 * execution count. Stored as JSON lines in `$REALM_KERNEL_HISTORY`, default
 * `<Jupyter data dir>/realm_kernel_history.jsonl`.
 */
import { appendFileSync, existsSync, mkdirSync, readFileSync } from "node:fs";
import { dirname, join } from "node:path";
import { userDataDir } from "./install.js";

/** One stored input: [session, line, input]. */
export type HistoryEntry = [number, number, string];

/** The history file this kernel uses. */
export function historyFile(env: NodeJS.ProcessEnv = process.env): string {
  return env["REALM_KERNEL_HISTORY"] ?? join(userDataDir(env), "realm_kernel_history.jsonl");
}

export interface HistoryRequest {
  output?: boolean;
  raw?: boolean;
  hist_access_type?: string;
  session?: number;
  start?: number;
  stop?: number | null;
  n?: number | null;
  pattern?: string;
  unique?: boolean;
}

/** The inputs of this and earlier sessions; appends each new input to the file. */
export class History {
  readonly session: number;
  private readonly entries: HistoryEntry[] = [];

  constructor(readonly file: string = historyFile()) {
    if (existsSync(file)) {
      for (const line of readFileSync(file, "utf8").split("\n")) {
        if (line === "") continue;
        try {
          const e = JSON.parse(line) as unknown;
          if (Array.isArray(e) && typeof e[0] === "number" && typeof e[1] === "number" && typeof e[2] === "string") this.entries.push(e as HistoryEntry);
        } catch {
          // a torn line (two kernels writing at once): skip it
        }
      }
    }
    this.session = this.entries.reduce((m, e) => Math.max(m, e[0]), 0) + 1;
  }

  /** Record input `line` (the execution count) of this session. */
  add(line: number, input: string): void {
    const e: HistoryEntry = [this.session, line, input];
    this.entries.push(e);
    try {
      mkdirSync(dirname(this.file), { recursive: true });
      appendFileSync(this.file, JSON.stringify(e) + "\n");
    } catch {
      // history is a convenience: a read-only home must not break execution
    }
  }

  /** The history_reply content for a history_request. */
  reply(req: HistoryRequest): Record<string, unknown> {
    const type = req.hist_access_type ?? "tail";
    let found: HistoryEntry[];
    if (type === "tail") {
      const n = req.n ?? 10;
      found = n <= 0 ? [] : this.entries.slice(-n);
    } else if (type === "range") {
      // session 0 (or absent) is this one, negative counts back from it (IPython).
      const s = req.session ?? 0;
      const session = s <= 0 ? this.session + s : s;
      const start = req.start ?? 1;
      const stop = req.stop ?? Infinity;
      found = this.entries.filter((e) => e[0] === session && e[1] >= start && e[1] < stop);
    } else if (type === "search") {
      const re = globToRegExp(req.pattern ?? "*");
      found = this.entries.filter((e) => re.test(e[2]));
      if (req.unique === true) {
        const seen = new Set<string>();
        const last: HistoryEntry[] = [];
        for (let i = found.length - 1; i >= 0; i--) {
          if (seen.has(found[i]![2])) continue;
          seen.add(found[i]![2]);
          last.unshift(found[i]!);
        }
        found = last;
      }
      if (req.n != null) found = req.n <= 0 ? [] : found.slice(-req.n);
    } else {
      return { status: "error", ename: "ValueError", evalue: `unknown hist_access_type ${JSON.stringify(type)}`, traceback: [], history: [] };
    }
    const history = req.output === true ? found.map(([s, l, i]) => [s, l, [i, null]]) : found.map((e) => [...e]);
    return { status: "ok", history };
  }
}

/** IPython's search patterns: glob `*` and `?`, matched against the whole input. */
function globToRegExp(glob: string): RegExp {
  const body = glob.replace(/[.+^${}()|[\]\\]/g, "\\$&").replace(/\*/g, "[\\s\\S]*").replace(/\?/g, "[\\s\\S]");
  return new RegExp(`^${body}$`);
}

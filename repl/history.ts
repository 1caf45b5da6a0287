/**
 * Command history: one line per command, newest last, consecutive duplicates dropped.
 *
 * Two parts. `History` is the file (REALM_HISTORY, else ~/.realm_history): it loads the lines
 * at start and appends each command run, trimming the file to `limit` lines now and then.
 * `HistoryNav` is the in-memory value the REPL's reducer (state.ts) holds: the entries and the
 * browsing position. Up/down browse it (the line being typed is kept as the draft); reverse
 * search finds older lines containing a text. Both record a line with the same `recordLine`.
 */
import { appendFileSync, mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { homedir } from "node:os";
import { dirname, join } from "node:path";

export function defaultHistoryPath(env: NodeJS.ProcessEnv = process.env): string {
  return env["REALM_HISTORY"] || join(homedir(), ".realm_history");
}

/** The entries with `line` added (trimmed), or the same array when it is blank or repeats the newest. */
export function recordLine(entries: readonly string[], line: string): readonly string[] {
  const t = line.trim();
  if (t === "" || entries[entries.length - 1] === t) return entries;
  return [...entries, t];
}

/** Memory bound: past twice `limit` entries, keep the newest `limit`. */
export function trimEntries(entries: readonly string[], limit: number): readonly string[] {
  return entries.length > limit * 2 ? entries.slice(entries.length - limit) : entries;
}

export class History {
  private lines: readonly string[] = [];
  private appended = 0;

  constructor(
    /** File to keep the history in; undefined keeps it in memory only. */
    readonly file: string | undefined,
    readonly limit = 1000,
  ) {
    if (file !== undefined) {
      try {
        this.lines = readFileSync(file, "utf8").split("\n").filter((l) => l.trim() !== "").slice(-limit);
      } catch {
        /* no history yet */
      }
    }
  }

  /** Oldest first. */
  get entries(): readonly string[] {
    return this.lines;
  }

  /** Record a command that runs (and append it to the file). */
  add(line: string): void {
    const next = recordLine(this.lines, line);
    if (next === this.lines) return;
    this.lines = next;
    if (this.file !== undefined) {
      try {
        mkdirSync(dirname(this.file), { recursive: true });
        appendFileSync(this.file, next[next.length - 1] + "\n");
        this.appended++;
        // Trim the file now and then so it stays at `limit` lines.
        if (this.appended % 100 === 0 && next.length > this.limit) this.compact();
      } catch {
        /* history is a convenience: a read-only home must not break the REPL */
      }
    }
    this.lines = trimEntries(next, this.limit);
  }

  private compact(): void {
    writeFileSync(this.file!, this.lines.slice(-this.limit).join("\n") + "\n");
  }
}

/** History as the REPL browses it: `pos` is the entry shown, `entries.length` means "the draft". */
export interface HistoryNav {
  readonly entries: readonly string[];
  readonly limit: number;
  readonly pos: number;
  /** The line that was being typed when browsing started (restored by Down past the newest). */
  readonly draft: string;
}

export function historyNav(entries: readonly string[], limit = 1000): HistoryNav {
  return { entries, limit, pos: entries.length, draft: "" };
}

/** A command ran: record it, stop browsing. */
export function navRecord(h: HistoryNav, line: string): HistoryNav {
  const entries = trimEntries(recordLine(h.entries, line), h.limit);
  return { entries, limit: h.limit, pos: entries.length, draft: "" };
}

/** Stop browsing (the line was edited or submitted). */
export function navReset(h: HistoryNav): HistoryNav {
  return h.pos === h.entries.length && h.draft === "" ? h : { ...h, pos: h.entries.length, draft: "" };
}

/** Up: the previous entry (the current text is kept as the draft on the first step); undefined at the oldest. */
export function navUp(h: HistoryNav, current: string): { nav: HistoryNav; line: string } | undefined {
  if (h.pos === 0) return undefined;
  const pos = h.pos - 1;
  return { nav: { ...h, pos, draft: h.pos === h.entries.length ? current : h.draft }, line: h.entries[pos]! };
}

/** Down: the next entry, or the draft after the newest; undefined when not browsing. */
export function navDown(h: HistoryNav): { nav: HistoryNav; line: string } | undefined {
  if (h.pos >= h.entries.length) return undefined;
  const pos = h.pos + 1;
  return { nav: { ...h, pos }, line: pos === h.entries.length ? h.draft : h.entries[pos]! };
}

/** Reverse search: the newest entry containing `query` strictly before index `before`. */
export function searchBack(entries: readonly string[], query: string, before = entries.length): { index: number; line: string } | undefined {
  if (query === "") return undefined;
  for (let i = Math.min(before, entries.length) - 1; i >= 0; i--) {
    if (entries[i]!.includes(query)) return { index: i, line: entries[i]! };
  }
  return undefined;
}

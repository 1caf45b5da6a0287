/**
 * Command history kept in a file (REALM_HISTORY, else ~/.realm_history): one line per command,
 * newest last, consecutive duplicates dropped, at most `limit` lines. Up/down browse it (the
 * line being typed is kept as the draft); reverse search finds older lines containing a text.
 */
import { appendFileSync, mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { homedir } from "node:os";
import { dirname, join } from "node:path";

export function defaultHistoryPath(env: NodeJS.ProcessEnv = process.env): string {
  return env["REALM_HISTORY"] || join(homedir(), ".realm_history");
}

export class History {
  readonly entries: string[] = [];
  /** Browsing position: entries.length means "the draft". */
  private pos = 0;
  private draft = "";
  private appended = 0;

  constructor(
    /** File to keep the history in; undefined keeps it in memory only. */
    readonly file: string | undefined,
    readonly limit = 1000,
  ) {
    if (file !== undefined) {
      try {
        const lines = readFileSync(file, "utf8").split("\n").filter((l) => l.trim() !== "");
        this.entries.push(...lines.slice(-limit));
      } catch {
        /* no history yet */
      }
    }
    this.pos = this.entries.length;
  }

  /** Record a submitted line (and append it to the file). */
  add(line: string): void {
    const t = line.trim();
    this.pos = this.entries.length;
    this.draft = "";
    if (t === "" || this.entries[this.entries.length - 1] === t) {
      this.pos = this.entries.length;
      return;
    }
    this.entries.push(t);
    this.pos = this.entries.length;
    if (this.file !== undefined) {
      try {
        mkdirSync(dirname(this.file), { recursive: true });
        appendFileSync(this.file, t + "\n");
        this.appended++;
        // Trim the file now and then so it stays at `limit` lines.
        if (this.appended % 100 === 0 && this.entries.length > this.limit) this.compact();
      } catch {
        /* history is a convenience: a read-only home must not break the REPL */
      }
    }
    if (this.entries.length > this.limit * 2) this.entries.splice(0, this.entries.length - this.limit);
    this.pos = this.entries.length;
  }

  private compact(): void {
    const keep = this.entries.slice(-this.limit);
    writeFileSync(this.file!, keep.join("\n") + "\n");
  }

  /** Up: the previous entry (the current text is kept as the draft on the first step). */
  up(current: string): string | undefined {
    if (this.pos === 0) return undefined;
    if (this.pos === this.entries.length) this.draft = current;
    this.pos--;
    return this.entries[this.pos];
  }

  /** Down: the next entry, or the draft after the newest. */
  down(): string | undefined {
    if (this.pos >= this.entries.length) return undefined;
    this.pos++;
    return this.pos === this.entries.length ? this.draft : this.entries[this.pos];
  }

  /** Stop browsing (the line was edited or submitted). */
  reset(): void {
    this.pos = this.entries.length;
    this.draft = "";
  }

  /** Reverse search: the newest entry containing `query` strictly before index `before`. */
  search(query: string, before = this.entries.length): { index: number; line: string } | undefined {
    if (query === "") return undefined;
    for (let i = Math.min(before, this.entries.length) - 1; i >= 0; i--) {
      if (this.entries[i]!.includes(query)) return { index: i, line: this.entries[i]! };
    }
    return undefined;
  }
}

/**
 * The host's ordered log: every RMI call (in the RMM's own trace format, taken from the RMM's
 * call log as it happens), host events (ioctls, REC exits, decisions of the posted code), WARNs
 * (function name + message) and fault-injection firings. Lines are formatted on demand.
 */
import { formatRecord, type RmiCallRecord } from "../rmm/trace.js";

export type TraceKind = "rmi" | "event" | "warn" | "inject" | "exit" | "ioctl";

export interface TraceEntry {
  seq: number;
  kind: TraceKind;
  /** Host step (see TimeSeries) the entry belongs to. */
  step: number;
  /** For "rmi" entries: the RMM's record. */
  rmi?: RmiCallRecord;
  /** For other entries: the text (function name first for WARNs). */
  text?: string;
  /** For WARNs: the function that warned. */
  fn?: string;
}

/** One trace entry as the `trace` command prints it (RMI calls in TF-RMM's format, `KVM:`, `WARNING:`, ...). */
export function formatEntry(e: TraceEntry): string {
  switch (e.kind) {
    case "rmi":
      return formatRecord(e.rmi!);
    case "warn":
      return `WARNING: ${e.fn}: ${e.text}`;
    case "inject":
      return `INJECT: ${e.text}`;
    case "exit":
      return `EXIT: ${e.text}`;
    case "ioctl":
      return `IOCTL: ${e.text}`;
    default:
      return `KVM: ${e.text}`;
  }
}

/** The host's ordered, bounded log of RMI calls, host events, REC exits, ioctls, WARNs and injections. */
export class TraceLog {
  readonly entries: TraceEntry[] = [];
  enabled = true;
  /** Entries kept at most; older ones are dropped (counted). */
  limit = 2_000_000;
  dropped = 0;
  step = 0;
  private seq = 0;
  private cache: string[] = [];

  push(kind: TraceKind, text: string, fn?: string): void {
    if (!this.enabled) return;
    const e: TraceEntry = { seq: this.seq++, kind, step: this.step, text };
    if (fn !== undefined) e.fn = fn;
    this.add(e);
  }

  pushRmi(r: RmiCallRecord): void {
    if (!this.enabled) return;
    this.add({ seq: this.seq++, kind: "rmi", step: this.step, rmi: r });
  }

  private add(e: TraceEntry): void {
    if (this.entries.length >= this.limit) {
      const n = Math.ceil(this.limit / 2);
      this.entries.splice(0, n);
      this.cache.splice(0, Math.min(n, this.cache.length));
      this.dropped += n;
    }
    this.entries.push(e);
  }

  get length(): number {
    return this.entries.length;
  }

  /** Formatted lines (all, or the last `last`). */
  lines(last?: number): string[] {
    while (this.cache.length < this.entries.length) this.cache.push(formatEntry(this.entries[this.cache.length]!));
    return last === undefined ? this.cache.slice() : this.cache.slice(Math.max(0, this.cache.length - last));
  }

  /** Lines from entry index `from` on (for "what did this call do"). */
  linesSince(from: number): string[] {
    this.lines(0);
    return this.cache.slice(from);
  }

  grep(text: string): string[] {
    return this.lines().filter((l) => l.includes(text));
  }

  clear(): void {
    this.entries.length = 0;
    this.cache.length = 0;
  }

  /** The arrays that hold the history (entries and their formatted lines), for a snapshot without it. */
  historyArrays(): readonly object[] {
    return [this.entries, this.cache];
  }
}

/**
 * The RMM's own call log: one record per RMI call, formatted on demand in TF-RMM's style
 * (`SMC_RMI_RTT_CREATE 80040000 0 3 > RMI_ERROR_RTT 2`). Records are cheap (formatting is lazy)
 * and the log can be switched off for benchmarks.
 */
import { RmiStatus, statusName } from "./status.js";

export interface RmiCallRecord {
  /** Sequence number, from 0, over the lifetime of the RMM. */
  seq: number;
  name: string;
  args: bigint[];
  /** Packed x0 (status | index << 8), or -1 for SMC_UNKNOWN. */
  x0: number;
  outs: bigint[];
  /** Set when fault injection produced the result instead of the RMM. */
  injected?: boolean;
}

export function recordStatus(r: RmiCallRecord): { status: number; index: number } {
  return { status: r.x0 % 256, index: Math.floor(r.x0 / 256) % 256 };
}

/** Format one record the way TF-RMM's RMI logger prints it. */
export function formatRecord(r: RmiCallRecord): string {
  const args = r.args.map((a) => a.toString(16)).join(" ");
  if (r.x0 < 0) return `SMC_${r.name} ${args} > SMC_UNKNOWN`;
  const { status, index } = recordStatus(r);
  let s = `SMC_${r.name}${args ? " " + args : ""} > ${statusName(status)}`;
  if (index !== 0 || status === RmiStatus.RMI_ERROR_RTT) s += ` ${index}`;
  if (r.outs.length > 0 && (status === RmiStatus.RMI_SUCCESS || r.outs.some((o) => o !== 0n))) {
    s += " " + r.outs.map((o) => o.toString(16)).join(" ");
  }
  if (r.injected) s += " (injected)";
  return s;
}

export type RmiCallListener = (r: RmiCallRecord) => void;

export class RmiTrace {
  enabled = true;
  /** Records kept; older ones are dropped past `limit` (counted in `dropped`). */
  limit = 1_000_000;
  dropped = 0;
  seq = 0;
  readonly records: RmiCallRecord[] = [];
  private readonly listeners: RmiCallListener[] = [];

  push(r: RmiCallRecord): void {
    if (this.enabled) {
      if (this.records.length >= this.limit) {
        const drop = Math.ceil(this.limit / 2);
        this.records.splice(0, drop);
        this.dropped += drop;
      }
      this.records.push(r);
    }
    for (const l of this.listeners) l(r);
  }

  get wanted(): boolean {
    return this.enabled || this.listeners.length > 0;
  }

  subscribe(l: RmiCallListener): () => void {
    this.listeners.push(l);
    return () => {
      const i = this.listeners.indexOf(l);
      if (i >= 0) this.listeners.splice(i, 1);
    };
  }

  lines(last?: number): string[] {
    const rs = last === undefined ? this.records : this.records.slice(-last);
    return rs.map(formatRecord);
  }

  clear(): void {
    this.records.length = 0;
  }
}

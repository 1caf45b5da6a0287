/**
 * The per-step time series charts are drawn from: granules by state (as the RMM holds them),
 * KVM's page-table page accounting, host pages free/leaked, WARNs, and RMI calls by command.
 * One sample per host step (an ioctl, a guest action, a teardown phase).
 */

export interface SeriesSample {
  step: number;
  /** What the step was ("touch 0x80000000", "destroy", ...). */
  label: string;
  granules: { DELEGATED: number; RD: number; REC: number; REC_AUX: number; DATA: number; RTT: number };
  /** Sum of kvm_account_pgtable_pages over live VMs. */
  pgtablePages: number;
  freePages: number;
  leakedPages: number;
  warnCount: number;
  /** RMI calls so far, total and by command name (RMI_ prefix dropped). */
  rmiCalls: number;
  rmiByCommand: Record<string, number>;
}

export class TimeSeries {
  readonly samples: SeriesSample[] = [];
  enabled = true;

  push(s: SeriesSample): void {
    if (this.enabled) this.samples.push(s);
  }

  /** Column view, e.g. series.column("pgtablePages"). */
  column<K extends "pgtablePages" | "freePages" | "leakedPages" | "warnCount" | "rmiCalls">(k: K): number[] {
    return this.samples.map((s) => s[k]);
  }

  toJSON(): SeriesSample[] {
    return this.samples;
  }
}

/**
 * The per-step time series charts are drawn from: granules by state (as the RMM holds them),
 * KVM's page-table page accounting, host pages free/leaked, WARNs, and RMI calls by command.
 * One sample per host step (an ioctl, a guest action, a teardown phase).
 *
 * Bounded: at most `capacity` samples are kept (default 8,192, a few MB). When the series is
 * full it is downsampled in place: the samples are cut into buckets of consecutive steps and each
 * bucket keeps its first and last sample and, for every charted column (each granule state,
 * pgtablePages, freePages, leakedPages, warnCount, rmiCalls), the samples holding the bucket's
 * minimum and maximum. So the chart keeps its shape (every sample keeps its own `step` for the
 * x axis), every peak and trough of every column survives (a column's extreme is its bucket's
 * extreme at every round), and a long flat or monotone stretch shrinks to its two ends.
 * `downsampled` counts the samples dropped. Cost: amortised O(1) per sample.
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

const GRANULE_COLUMNS = ["DELEGATED", "RD", "REC", "REC_AUX", "DATA", "RTT"] as const;
const COLUMNS = ["pgtablePages", "freePages", "leakedPages", "warnCount", "rmiCalls"] as const;

/** The value of charted column c (granule states first) of a sample. */
function columnValue(s: SeriesSample, c: number): number {
  return c < GRANULE_COLUMNS.length ? s.granules[GRANULE_COLUMNS[c]!] : s[COLUMNS[c - GRANULE_COLUMNS.length]!];
}
const NCOLUMNS = GRANULE_COLUMNS.length + COLUMNS.length;

/** The host's per-step accounting samples (bounded; downsampled keeping every column's extremes). */
export class TimeSeries {
  readonly samples: SeriesSample[] = [];
  enabled = true;
  /** Samples dropped by downsampling so far. */
  downsampled = 0;
  private cap: number;

  constructor(capacity = 8192) {
    this.cap = TimeSeries.checkCapacity(capacity);
  }

  /** Samples kept at most (>= 16); lowering it downsamples now. */
  get capacity(): number {
    return this.cap;
  }

  set capacity(n: number) {
    this.cap = TimeSeries.checkCapacity(n);
    if (this.samples.length > this.cap) this.downsample();
  }

  private static checkCapacity(n: unknown): number {
    if (typeof n !== "number" || !Number.isSafeInteger(n) || n < 16) throw new RangeError(`TimeSeries: capacity must be an integer >= 16, got ${String(n)}`);
    return n;
  }

  push(s: SeriesSample): void {
    if (!this.enabled) return;
    this.samples.push(s);
    if (this.samples.length > this.cap) this.downsample();
  }

  /**
   * Down to at most half the capacity: buckets of `width` consecutive samples, each keeping its
   * first and last sample and the argmin/argmax of every column; the width doubles until the
   * result fits (so a series whose buckets are all extremes still shrinks).
   */
  private downsample(): void {
    const before = this.samples.length;
    const target = Math.floor(this.cap / 2);
    let width = 4;
    let kept: SeriesSample[] = this.samples;
    while (kept.length > target) {
      const next: SeriesSample[] = [];
      for (let b = 0; b < kept.length; b += width) {
        const end = Math.min(kept.length, b + width);
        const keep = new Set<number>([b, end - 1]);
        for (let c = 0; c < NCOLUMNS; c++) {
          let lo = b;
          let hi = b;
          for (let i = b + 1; i < end; i++) {
            const v = columnValue(kept[i]!, c);
            if (v < columnValue(kept[lo]!, c)) lo = i;
            if (v > columnValue(kept[hi]!, c)) hi = i;
          }
          keep.add(lo).add(hi);
        }
        for (const i of [...keep].sort((x, y) => x - y)) next.push(kept[i]!);
      }
      kept = next;
      width *= 2;
    }
    this.samples.length = 0;
    for (const s of kept) this.samples.push(s);
    this.downsampled += before - kept.length;
  }

  /** Column view, e.g. series.column("pgtablePages"). */
  column<K extends "pgtablePages" | "freePages" | "leakedPages" | "warnCount" | "rmiCalls">(k: K): number[] {
    return this.samples.map((s) => s[k]);
  }

  toJSON(): SeriesSample[] {
    return this.samples;
  }
}

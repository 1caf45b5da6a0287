/**
 * `display(value)`: show a value as its richest representation. In the realm Jupyter kernel the
 * kernel installs a sink that sends Jupyter `display_data` / `update_display_data` messages
 * (messaging spec 5.3, transient.display_id); anywhere else the text rendering is printed.
 *
 * A display handle updates its output in place (one display, updated), which is how a
 * long-running workload charts its accounting live (`liveChart`).
 */
import { inspect } from "node:util";
import { accountingChart, type AccountingChartOptions, type AccountingPoint } from "./chart.js";
import { isDisplayable, MIME_BUNDLE, type MimeBundle } from "./mime.js";
import { toMimeBundle } from "./auto.js";

export interface DisplaySinkOptions {
  /** Set for displays that can be updated later. */
  displayId?: string;
  /** true: replace the output with this display id instead of adding one. */
  update: boolean;
}

export type DisplaySink = (bundle: MimeBundle, opts: DisplaySinkOptions) => void;

let sink: DisplaySink | undefined;
let nextId = 1;

/** Install (or remove, with undefined) the front end's display sink. Returns the previous one. */
export function setDisplaySink(s: DisplaySink | undefined): DisplaySink | undefined {
  const prev = sink;
  sink = s;
  return prev;
}

/** The MIME bundle of any value: rich for simulator views and data, util.inspect otherwise. */
export function mimeBundleOf(value: unknown): MimeBundle {
  if (isDisplayable(value)) return value[MIME_BUNDLE]();
  return toMimeBundle(value) ?? { "text/plain": typeof value === "string" ? value : inspect(value) };
}

function emit(bundle: MimeBundle, opts: DisplaySinkOptions): void {
  if (sink !== undefined) sink(bundle, opts);
  else process.stdout.write(bundle["text/plain"] + "\n");
}

export class DisplayHandle {
  constructor(readonly id: string) {}

  /** Replace what this display shows. */
  update(value: unknown): void {
    emit(mimeBundleOf(value), { displayId: this.id, update: true });
  }
}

export interface DisplayOptions {
  /** Display id to use (default: a fresh, deterministic one). */
  id?: string;
}

/** Show `value` now; the returned handle updates the same output later. */
export function display(value: unknown, opts: DisplayOptions = {}): DisplayHandle {
  const id = opts.id ?? `realm-display-${nextId++}`;
  emit(mimeBundleOf(value), { displayId: id, update: false });
  return new DisplayHandle(id);
}

export interface LiveChartOptions extends AccountingChartOptions {
  /** Redraw after every `every` samples (default 1). The last sample is always drawn by done(). */
  every?: number;
}

/**
 * An accounting chart that redraws in place as samples arrive. `await chart.push(sample)`
 * yields to the event loop after a redraw so the front end receives it while the workload
 * runs; `done()` draws the final state.
 */
export class LiveChart {
  readonly points: AccountingPoint[] = [];
  private readonly handle: DisplayHandle;
  private pending = 0;

  constructor(private readonly opts: LiveChartOptions = {}) {
    if (opts.every !== undefined && (!Number.isInteger(opts.every) || opts.every < 1)) {
      throw new RangeError("liveChart: every must be a positive integer");
    }
    this.handle = display(accountingChart([], opts));
  }

  get id(): string {
    return this.handle.id;
  }

  /** Add samples; redraws when `every` samples have accumulated. */
  async push(...samples: AccountingPoint[]): Promise<void> {
    for (const s of samples) {
      if (s === null || typeof s !== "object" || typeof s.step !== "number") throw new TypeError("liveChart.push: a sample needs a numeric step");
      this.points.push(s);
      this.pending++;
    }
    if (this.pending >= (this.opts.every ?? 1)) {
      this.redraw();
      await new Promise<void>((resolve) => setImmediate(resolve));
    }
  }

  /** Draw the final state (if anything is not drawn yet). */
  done(): void {
    if (this.pending > 0) this.redraw();
  }

  private redraw(): void {
    this.pending = 0;
    this.handle.update(accountingChart(this.points, this.opts));
  }
}

/**
 * An accounting chart shown once and updated in place while samples arrive (`await
 * live.push(sample)`, `live.done()`); in a notebook one output, in a terminal a redraw.
 */
export function liveChart(opts: LiveChartOptions = {}): LiveChart {
  return new LiveChart(opts);
}

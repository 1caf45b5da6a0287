/**
 * Interrupting asynchronous cell code, as ipykernel's KeyboardInterrupt does for Python: after
 * an interrupt, the interrupted cell's pending timers never fire and the callbacks it scheduled
 * never run, so `for (;;) { await sleep(50); ticks++ }` stops for good instead of going on in the
 * background.
 *
 * Each cell runs inside an AsyncLocalStorage context (`CellScope`); Node carries the context
 * into every promise continuation, timer and immediate the cell creates, however deep. The
 * global scheduling functions (setTimeout, setInterval, setImmediate, queueMicrotask,
 * process.nextTick) are wrapped once: a callback scheduled from a cancelled scope does not run,
 * and `cancel()` clears the scope's pending timers and immediates at once (nothing is left to
 * keep the process busy). A promise continuation waiting on such a timer is never resumed.
 * Code outside any cell (the kernel itself) is not affected.
 *
 * Limit: a continuation waiting on I/O the cell started (a socket, fs.promises) still resumes
 * when that I/O completes; the next timer or immediate it schedules then does not run.
 */
import { AsyncLocalStorage } from "node:async_hooks";

/** The asynchronous work of one cell. */
export class CellScope {
  cancelled = false;
  private readonly timers = new Set<NodeJS.Timeout>();
  private readonly immediates = new Set<NodeJS.Immediate>();

  /** Stop the cell's pending timers and immediates; nothing it scheduled runs any more. */
  cancel(): void {
    this.cancelled = true;
    for (const t of this.timers) originals.clearTimeout(t);
    for (const i of this.immediates) originals.clearImmediate(i);
    this.timers.clear();
    this.immediates.clear();
  }

  /** @internal */ addTimer(t: NodeJS.Timeout): void {
    this.timers.add(t);
  }
  /** @internal */ dropTimer(t: NodeJS.Timeout): void {
    this.timers.delete(t);
  }
  /** @internal */ addImmediate(i: NodeJS.Immediate): void {
    this.immediates.add(i);
  }
  /** @internal */ dropImmediate(i: NodeJS.Immediate): void {
    this.immediates.delete(i);
  }
}

const storage = new AsyncLocalStorage<CellScope>();

const originals = {
  setTimeout: globalThis.setTimeout,
  setInterval: globalThis.setInterval,
  setImmediate: globalThis.setImmediate,
  clearTimeout: globalThis.clearTimeout,
  clearImmediate: globalThis.clearImmediate,
  queueMicrotask: globalThis.queueMicrotask,
  nextTick: process.nextTick,
};

let installed = false;

type Callback = (...args: unknown[]) => void;

/** Wrap the global scheduling functions (once per process). */
export function installCancellation(): void {
  if (installed) return;
  installed = true;
  const g = globalThis as unknown as Record<string, unknown>;
  const timer = (orig: typeof setTimeout, repeat: boolean) =>
    function (this: unknown, cb: Callback, ms?: number, ...args: unknown[]): NodeJS.Timeout {
      const scope = storage.getStore();
      if (scope === undefined || typeof cb !== "function") return (orig as Function).call(this, cb, ms, ...args) as NodeJS.Timeout;
      if (scope.cancelled) return (orig as Function).call(this, () => undefined, 0) as NodeJS.Timeout;
      const t: NodeJS.Timeout = (orig as Function).call(
        this,
        (...a: unknown[]) => {
          if (!repeat) scope.dropTimer(t);
          if (scope.cancelled) {
            originals.clearTimeout(t);
            return;
          }
          cb(...a);
        },
        ms,
        ...args,
      ) as NodeJS.Timeout;
      scope.addTimer(t);
      return t;
    };
  g["setTimeout"] = Object.assign(timer(originals.setTimeout, false), originals.setTimeout);
  g["setInterval"] = Object.assign(timer(originals.setInterval as unknown as typeof setTimeout, true), originals.setInterval);
  const wrappedClear = (t: NodeJS.Timeout | string | number | undefined): void => {
    const scope = storage.getStore();
    if (scope !== undefined && typeof t === "object") scope.dropTimer(t);
    originals.clearTimeout(t);
  };
  g["clearTimeout"] = wrappedClear;
  g["clearInterval"] = wrappedClear;
  g["setImmediate"] = Object.assign(function (this: unknown, cb: Callback, ...args: unknown[]): NodeJS.Immediate {
    const scope = storage.getStore();
    if (scope === undefined || typeof cb !== "function") return (originals.setImmediate as Function).call(this, cb, ...args) as NodeJS.Immediate;
    const i: NodeJS.Immediate = originals.setImmediate((...a: unknown[]) => {
      scope.dropImmediate(i);
      if (!scope.cancelled) cb(...a);
    }, ...args);
    if (!scope.cancelled) scope.addImmediate(i);
    return i;
  }, originals.setImmediate);
  g["queueMicrotask"] = (cb: () => void): void => {
    const scope = storage.getStore();
    originals.queueMicrotask(scope === undefined ? cb : () => void (scope.cancelled || cb()));
  };
  process.nextTick = ((cb: Callback, ...args: unknown[]): void => {
    const scope = storage.getStore();
    if (scope === undefined || typeof cb !== "function") return originals.nextTick(cb, ...args);
    originals.nextTick((...a: unknown[]) => void (scope.cancelled || cb(...a)), ...args);
  }) as typeof process.nextTick;
}

/** Run `f` (and everything asynchronous it starts) in `scope`. */
export function runInScope<T>(scope: CellScope, f: () => T): T {
  return storage.run(scope, f);
}

/** Run `f` outside any cell's scope (kernel work triggered from inside a cell). */
export function runOutsideScopes<T>(f: () => T): T {
  return storage.exit(f);
}

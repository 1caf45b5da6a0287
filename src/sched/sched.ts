/**
 * Deterministic interleaving of host threads (vCPU threads in KVM_RUN) at the points where the
 * posted code can race: the generators of src/kvm yield before delegate, RTT create, map and
 * lock acquisition. `explore` enumerates schedules by replay (stateless model checking):
 * exhaustive up to a bound on preemptions, or a seeded random sample of schedules.
 */
import type { Gen, YieldPoint } from "./coop.js";
import { Prng } from "../arch/prng.js";

export interface RunOutcome<R> {
  schedule: number[];
  result: R;
}

/** Step the threads, picking at each decision point by `pick`; returns the trace of choices. */
export function interleave<T>(threads: Gen<T>[], pick: (runnable: number[], step: number, at: readonly string[], last: number) => number): { choices: number[]; results: T[] } {
  const n = threads.length;
  const results: (T | undefined)[] = new Array(n).fill(undefined);
  const finished = new Array<boolean>(n).fill(false);
  // the point each thread waits at (its `blocked` is a method: called on the point, not detached)
  const blocked: (YieldPoint | undefined)[] = new Array(n).fill(undefined);
  const started = new Array<boolean>(n).fill(false);
  const at: string[] = new Array<string>(n).fill("start");
  const choices: number[] = [];
  let step = 0;
  let last = -1;
  for (;;) {
    const runnable: number[] = [];
    for (let i = 0; i < n; i++) if (!finished[i] && !(blocked[i]?.blocked?.() ?? false)) runnable.push(i);
    if (runnable.length === 0) {
      if (finished.every((f) => f)) break;
      throw new Error("sched: deadlock: every live thread is blocked");
    }
    const t = runnable.length === 1 ? runnable[0]! : pick(runnable, step++, at, last);
    last = t;
    if (runnable.length > 1) choices.push(t);
    started[t] = true;
    const r = threads[t]!.next();
    if (r.done) {
      finished[t] = true;
      results[t] = r.value;
      at[t] = "done";
    } else {
      blocked[t] = r.value;
      at[t] = r.value.at;
    }
  }
  return { choices, results: results as T[] };
}

/**
 * Explore schedules of a small system. `make()` builds a fresh system and returns its threads and
 * a `check` run after the threads finish. Exhaustive (depth-first over every decision) unless
 * `samples` is given, in which case that many schedules are drawn with the seeded PRNG.
 */
export function explore<R>(
  make: () => { threads: Gen<unknown>[]; check: () => R },
  opts: { samples?: number; seed?: number; maxRuns?: number; maxPreemptions?: number } = {},
): RunOutcome<R>[] {
  const out: RunOutcome<R>[] = [];
  if (opts.samples !== undefined) {
    const rnd = new Prng(opts.seed ?? 1, 1);
    for (let k = 0; k < opts.samples; k++) {
      const sys = make();
      const { choices } = interleave(sys.threads, (r) => r[rnd.int(r.length)]!);
      out.push({ schedule: choices, result: sys.check() });
    }
    return out;
  }
  const maxRuns = opts.maxRuns ?? 100_000;
  const bound = opts.maxPreemptions ?? Infinity;
  // Depth-first over decision prefixes: each run follows `prefix`, then keeps running the thread
  // that ran last (no preemption) or the first runnable. A preemption = switching away from a
  // thread that could have continued; schedules with more than `maxPreemptions` are skipped
  // (preemption bounding: every bug needing at most that many preemptions is found).
  const stack: { prefix: number[] }[] = [{ prefix: [] }];
  while (stack.length > 0) {
    if (out.length >= maxRuns) throw new Error(`sched: more than ${maxRuns} schedules; use sampling or a preemption bound`);
    const { prefix } = stack.pop()!;
    const sys = make();
    const options: number[][] = [];
    const lasts: number[] = [];
    const { choices } = interleave(sys.threads, (runnable, step, _at, last) => {
      options[step] = runnable;
      lasts[step] = last;
      if (step < prefix.length) return prefix[step]!;
      return runnable.includes(last) ? last : runnable[0]!;
    });
    out.push({ schedule: choices, result: sys.check() });
    const pre: number[] = [];
    let count = 0;
    for (let d = 0; d < choices.length; d++) {
      pre.push(count);
      if (options[d]!.includes(lasts[d]!) && choices[d] !== lasts[d]) count++;
    }
    for (let d = choices.length - 1; d >= prefix.length; d--) {
      for (const alt of options[d]!) {
        if (alt === choices[d]) continue;
        const p = pre[d]! + (options[d]!.includes(lasts[d]!) && alt !== lasts[d] ? 1 : 0);
        if (p <= bound) stack.push({ prefix: [...choices.slice(0, d), alt] });
      }
    }
  }
  return out;
}

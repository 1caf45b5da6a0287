/**
 * Cooperative threads for the host code paths that can race (vCPU threads in KVM_RUN).
 * Such functions are generators: they `yield` a YieldPoint just before each step where the posted
 * code can be interleaved with another thread (an RMI call of the racy kind, taking a lock).
 * Called from a single thread (an ioctl), they run to completion with `runSync`; the scheduler
 * (src/sched) steps several of them to explore interleavings.
 */

export interface YieldPoint {
  /** What the thread is about to do ("GRANULE_DELEGATE", "mmu_lock", ...). */
  at: string;
  /** While true the thread cannot make progress (waiting for a lock). */
  blocked?: () => boolean;
}

export type Gen<T> = Generator<YieldPoint, T, void>;

/** Run a generator to completion in a single thread. A blocked wait here is a deadlock (bug). */
export function runSync<T>(g: Gen<T>): T {
  for (;;) {
    const r = g.next();
    if (r.done) return r.value;
    syncPoint(r.value);
  }
}

/**
 * A yield point passed in a single thread: what runSync does at each yield (the generated
 * non-yielding form of a thread step, src/kvm-sync, calls it where the step yields).
 */
export function syncPoint(p: YieldPoint): void {
  if (p.blocked?.()) throw new Error(`host: deadlock: single thread blocked at ${p.at}`);
}

/** The yield points by name: one frozen object each (a yield per RMI call allocated one). */
const POINTS = new Map<string, YieldPoint>();

/** A point where another thread may run. */
export function pt(at: string): YieldPoint {
  let p = POINTS.get(at);
  if (p === undefined) POINTS.set(at, (p = Object.freeze({ at })));
  return p;
}

/**
 * A thread step that returns `v` at once: for plain functions that return a Gen (a dispatcher
 * handing over the generator that does the work, one level less for every yield through it).
 */
export function* returns<T>(v: T): Gen<T> {
  return v;
}

/** Thread id used by ioctl paths (no vCPU thread). */
export const IOCTL_TID = 1000;

/**
 * A lock's yield point: `blocked` a method, not a closure, so a host holding locks is plain data
 * (src/host/snapshot.ts copies it).
 */
export class LockPoint implements YieldPoint {
  constructor(readonly at: string, private readonly lock: RwLock, private readonly write: boolean) {
    Object.freeze(this);
  }

  blocked(): boolean {
    return this.lock.writer >= 0 || (this.write && this.lock.readers > 0);
  }
}

/** kvm->mmu_lock (an rwlock), and any other lock the posted code takes. */
export class RwLock {
  writer = -1;
  readers = 0;
  // the lock's two yield points, made once (not an object, a string and a closure per acquisition)
  private readonly writePoint: YieldPoint;
  private readonly readPoint: YieldPoint;
  constructor(readonly name: string) {
    this.writePoint = new LockPoint(`${name}:write`, this, true);
    this.readPoint = new LockPoint(`${name}:read`, this, false);
  }

  *write(tid: number): Gen<void> {
    for (;;) {
      yield this.writePoint;
      if (this.writer < 0 && this.readers === 0) break;
    }
    this.writer = tid;
  }

  writeUnlock(): void {
    if (this.writer < 0) throw new Error(`host: ${this.name} write-unlocked while not held`);
    this.writer = -1;
  }

  *read(): Gen<void> {
    for (;;) {
      yield this.readPoint;
      if (this.writer < 0) break;
    }
    this.readers++;
  }

  /**
   * write() in a single thread, for the generated non-yielding form (src/kvm-sync): what runSync
   * does with write()'s generator - a held lock is a deadlock - without the generator.
   */
  writeNow(tid: number): void {
    syncPoint(this.writePoint);
    this.writer = tid;
  }

  /** read() in a single thread (src/kvm-sync), as writeNow. */
  readNow(): void {
    syncPoint(this.readPoint);
    this.readers++;
  }

  readUnlock(): void {
    if (this.readers <= 0) throw new Error(`host: ${this.name} read-unlocked while not held`);
    this.readers--;
  }

  /** Synchronous acquisition for ioctl paths (no other thread runs). */
  lockSync(tid: number): void {
    if (this.writer >= 0 || this.readers > 0) throw new Error(`host: ${this.name} already held (deadlock)`);
    this.writer = tid;
  }
}

/** A kernel loop that does not terminate is reported, not run forever: the posted code hangs. */
export class KernelHang extends Error {
  override readonly name = "KernelHang";
  constructor(readonly fn: string, readonly iterations: number) {
    super(`${fn}: no progress after ${iterations} iterations (the posted code loops forever here)`);
  }
}

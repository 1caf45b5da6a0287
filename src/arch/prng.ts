/**
 * xorshift32: the simulator's one deterministic PRNG (every random choice comes from a seeded
 * instance, so the same seed gives the same trace). A seed of 0 would stick at 0: it is replaced.
 */
export class Prng {
  private s: number;
  constructor(seed: number, zeroSeed = 0x9e3779b9) {
    this.s = (seed >>> 0) || zeroSeed;
  }
  /** The next 32-bit state: uniform in [1, 2^32). */
  u32(): number {
    let x = this.s;
    x ^= x << 13;
    x ^= x >>> 17;
    x ^= x << 5;
    this.s = x >>> 0;
    return this.s;
  }
  /** Uniform in [0, 1). */
  next(): number {
    return this.u32() / 4294967296;
  }
  /** One element of `xs`, uniformly. */
  pick<T>(xs: readonly T[]): T {
    return xs[this.int(xs.length)]!;
  }
  /** Uniform integer in [0, n). */
  int(n: number): number {
    return Math.floor(this.next() * n);
  }
}

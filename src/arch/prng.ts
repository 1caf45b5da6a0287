/**
 * xorshift32: the simulator's one deterministic PRNG (every random choice comes from a seeded
 * instance, so the same seed gives the same trace). A seed of 0 would stick at 0: it is replaced.
 */
export class Prng {
  private s: number;
  constructor(seed: number, zeroSeed = 0x9e3779b9) {
    this.s = (seed >>> 0) || zeroSeed;
  }
  /** Uniform in [0, 1). */
  next(): number {
    let x = this.s;
    x ^= x << 13;
    x ^= x >>> 17;
    x ^= x << 5;
    this.s = x >>> 0;
    return this.s / 4294967296;
  }
  /** Uniform integer in [0, n). */
  int(n: number): number {
    return Math.floor(this.next() * n);
  }
}

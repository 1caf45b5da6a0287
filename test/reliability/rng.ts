/**
 * The fuzzers' generator: the simulator's PRNG (xorshift32, src/arch/prng.ts) with `int(n)` taken
 * as the 32-bit state modulo n, the draw the generated sequences were first made with (keeps the
 * recorded seeds' sequences).
 */
import { Prng } from "../../src/arch/prng.js";

export class Rng extends Prng {
  override int(n: number): number {
    return this.u32() % n;
  }
}

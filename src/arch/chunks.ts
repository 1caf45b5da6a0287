/**
 * A sparse table indexed by a page or granule number: fixed-size chunks (typed arrays, or a
 * record of them) allocated on first write, so a large address space costs nothing until it
 * is used. The chunk looked up last is kept, since consecutive lookups mostly fall in one chunk.
 * Used by the RMM's granule table (src/rmm/granule.ts), the GPT (src/platform/gpt.ts) and the
 * host page allocator (src/host/page-alloc.ts).
 */
export class Chunks<C> {
  private readonly map = new Map<number, C>();
  private lastIdx = -1;
  private last: C | undefined;

  /** `size` numbers per chunk; `make(ci)` builds chunk `ci` (numbers ci*size .. ci*size+size-1). */
  constructor(
    readonly size: number,
    private readonly make: (ci: number) => C,
  ) {}

  /** The chunk holding number `n`, if it was ever written. */
  find(n: number): C | undefined {
    const ci = Math.floor(n / this.size);
    if (ci === this.lastIdx) return this.last;
    const c = this.map.get(ci);
    if (c !== undefined) {
      this.lastIdx = ci;
      this.last = c;
    }
    return c;
  }

  /** The chunk holding number `n`, made on first use. */
  forWrite(n: number): C {
    let c = this.find(n);
    if (c === undefined) {
      const ci = Math.floor(n / this.size);
      c = this.make(ci);
      this.map.set(ci, c);
      this.lastIdx = ci;
      this.last = c;
    }
    return c;
  }

  /** The chunks made so far as [first number of the chunk, chunk], in increasing order. */
  *sorted(): Generator<[number, C]> {
    const keys = [...this.map.keys()].sort((a, b) => a - b);
    for (const ci of keys) yield [ci * this.size, this.map.get(ci)!];
  }
}

/**
 * A sparse table indexed by a page or granule number: fixed-size chunks (typed arrays, or a
 * record of them) allocated on first write, so a large address space costs nothing until it
 * is used. The chunk looked up last is kept, since consecutive lookups mostly fall in one chunk.
 * Used by the RMM's granule table (src/rmm/granule.ts), the GPT (src/platform/gpt.ts) and the
 * host page allocator (src/host/page-alloc.ts).
 *
 * Copy on write: a host restored from a binary snapshot (src/host/snapshot.ts) shares the
 * snapshot's chunk buffers instead of copying them (`adoptShared`); the first forWrite() on a
 * shared chunk copies it. A record chunk keeps its identity (its typed arrays are replaced in
 * place, so a holder of the record sees the copy); a typed-array chunk is replaced in the map.
 * Writes go through forWrite() only: find() is for reading.
 */
export class Chunks<C> {
  private readonly map = new Map<number, C>();
  private lastIdx = -1;
  private last: C | undefined;
  /** Chunk indices still shared with a snapshot (copied on their first write); undefined: none. */
  private shared: Set<number> | undefined = undefined;

  /** `size` numbers per chunk; `make(ci)` builds chunk `ci` (numbers ci*size .. ci*size+size-1). */
  constructor(
    readonly size: number,
    private readonly make: (ci: number) => C,
  ) {}

  /** The chunk holding number `n`, if it was ever written. For reading only. */
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

  /** The chunk holding number `n`, made on first use, owned by this table (copied if shared). */
  forWrite(n: number): C {
    let c = this.find(n);
    if (c === undefined) {
      const ci = Math.floor(n / this.size);
      c = this.make(ci);
      this.map.set(ci, c);
      this.lastIdx = ci;
      this.last = c;
    } else if (this.shared !== undefined) {
      const ci = Math.floor(n / this.size);
      if (this.shared.delete(ci)) {
        if (this.shared.size === 0) this.shared = undefined;
        c = copyChunk(c);
        this.map.set(ci, c);
        this.lastIdx = ci;
        this.last = c;
      }
    }
    return c;
  }

  /**
   * Every chunk held now is shared with a snapshot (its buffers must not be written): each is
   * copied on its first write. `false`: every chunk is this table's own (a restore that copied).
   */
  adoptShared(shared: boolean): void {
    this.shared = shared && this.map.size > 0 ? new Set(this.map.keys()) : undefined;
  }

  /** The chunks made so far as [first number of the chunk, chunk], in increasing order. */
  *sorted(): Generator<[number, C]> {
    const keys = [...this.map.keys()].sort((a, b) => a - b);
    for (const ci of keys) yield [ci * this.size, this.map.get(ci)!];
  }
}

/**
 * A copy of a chunk: a typed array is sliced; a record of typed arrays keeps its identity and
 * gets copies of its arrays in place (the same fields, in the same order).
 */
function copyChunk<C>(c: C): C {
  if (ArrayBuffer.isView(c)) return (c as unknown as Uint8Array).slice() as unknown as C;
  const r = c as unknown as Record<string, unknown>;
  for (const k of Object.keys(r)) {
    const v = r[k];
    if (ArrayBuffer.isView(v)) r[k] = (v as unknown as Uint8Array).slice();
  }
  return c;
}

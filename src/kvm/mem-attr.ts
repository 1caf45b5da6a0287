/**
 * kvm->mem_attr_array for the one attribute the realm host uses, KVM_MEMORY_ATTRIBUTE_PRIVATE:
 * whether a gfn is private. Linux keeps an xarray entry per gfn (virt/kvm/kvm_main.c
 * kvm_vm_set_mem_attributes, kvm_get_memory_attributes); here one bit per gfn in chunks allocated
 * on first use, so a lookup on the fault path is O(1) and a 16 GiB realm's RAM costs 512 KiB
 * (a Set of numbers cost ~40 bytes per gfn and slowed every lookup as it grew).
 * The methods have Set<number>'s meaning (has/add/delete/size, iteration in increasing order);
 * a value that is not a gfn (negative, fractional: an unaligned gpa divided by the page size) is
 * kept in a plain Set beside the bits, as a Set<number> would have kept it.
 */

/** gfns per chunk (2^18 = 1 GiB of 4 KiB pages, 32 KiB of bits). */
const CHUNK = 2 ** 18;
/**
 * A chunk with every bit set, shared by all fully private GiBs (never written: a write copies it
 * first), so setting the attribute over a 1 TiB memslot costs 1,024 map entries, not 32 MiB.
 */
const FULL = new Uint8Array(CHUNK / 8).fill(0xff);

export class GfnBitmap implements Iterable<number> {
  private readonly chunks = new Map<number, Uint8Array>();
  private count = 0;
  /** Values that are not gfns (see above). */
  private readonly other = new Set<number>();

  /** Number of values set. */
  get size(): number {
    return this.count + this.other.size;
  }

  has(gfn: number): boolean {
    if (!isGfn(gfn)) return this.other.has(gfn);
    const c = this.chunks.get(Math.floor(gfn / CHUNK));
    if (c === undefined) return false;
    const i = gfn % CHUNK;
    return (c[Math.floor(i / 8)]! & (1 << (i % 8))) !== 0;
  }

  add(gfn: number): this {
    if (!isGfn(gfn)) {
      this.other.add(gfn);
      return this;
    }
    const ci = Math.floor(gfn / CHUNK);
    let c = this.chunks.get(ci);
    if (c === undefined) {
      c = new Uint8Array(CHUNK / 8);
      this.chunks.set(ci, c);
    }
    const i = gfn % CHUNK;
    const byte = Math.floor(i / 8);
    const bit = 1 << (i % 8);
    if ((c[byte]! & bit) === 0) {
      // (never a FULL chunk: it has every bit set)
      c[byte] = c[byte]! | bit;
      this.count++;
    }
    return this;
  }

  delete(gfn: number): boolean {
    if (!isGfn(gfn)) return this.other.delete(gfn);
    if (!this.has(gfn)) return false;
    const ci = Math.floor(gfn / CHUNK);
    let c = this.chunks.get(ci)!;
    if (c === FULL) this.chunks.set(ci, (c = FULL.slice()));
    const i = gfn % CHUNK;
    const byte = Math.floor(i / 8);
    c[byte] = c[byte]! & ~(1 << (i % 8));
    this.count--;
    return true;
  }

  /**
   * Set (`on`) or clear every gfn of [first, end) (kvm_vm_set_mem_attributes over a range): whole
   * chunks at once, so the cost follows the number of GiBs, not of pages.
   */
  setRange(first: number, end: number, on: boolean): void {
    let g = first;
    // whole chunks only for a range of gfns (an unaligned gpa / page size goes value by value, as before)
    const whole = isGfn(first) && isGfn(end);
    while (g < end) {
      const ci = Math.floor(g / CHUNK);
      const chunkEnd = (ci + 1) * CHUNK;
      if (whole && g % CHUNK === 0 && chunkEnd <= end) {
        // a whole chunk: FULL (shared) or gone
        const c = this.chunks.get(ci);
        this.count -= c === undefined ? 0 : c === FULL ? CHUNK : popcount(c);
        if (on) {
          this.chunks.set(ci, FULL);
          this.count += CHUNK;
        } else this.chunks.delete(ci);
        g = chunkEnd;
        continue;
      }
      const stop = whole ? Math.min(end, chunkEnd) : end;
      for (; g < stop; g++) {
        if (on) this.add(g);
        else this.delete(g);
      }
    }
  }

  clear(): void {
    this.chunks.clear();
    this.count = 0;
    this.other.clear();
  }

  /** The gfns in increasing order, then any other values in insertion order. */
  *[Symbol.iterator](): Iterator<number> {
    const keys = [...this.chunks.keys()].sort((a, b) => a - b);
    for (const ci of keys) {
      const c = this.chunks.get(ci)!;
      for (let b = 0; b < c.length; b++) {
        const v = c[b]!;
        if (v === 0) continue;
        for (let k = 0; k < 8; k++) if ((v & (1 << k)) !== 0) yield ci * CHUNK + b * 8 + k;
      }
    }
    yield* this.other;
  }
}

function popcount(c: Uint8Array): number {
  let n = 0;
  for (let b = 0; b < c.length; b++) {
    let v = c[b]!;
    while (v !== 0) {
      v &= v - 1;
      n++;
    }
  }
  return n;
}

function isGfn(v: number): boolean {
  return Number.isSafeInteger(v) && v >= 0;
}

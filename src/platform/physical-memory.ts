/**
 * Physical memory contents, kept sparse per 4 KiB granule: a granule that was never written (or
 * was scrubbed) holds no buffer and reads as zeroes.
 *
 * Copy on write: a host restored from a binary snapshot shares the snapshot's page buffers
 * (`adoptShared`, src/host/snapshot.ts); a shared page is copied on its first write. Writes go
 * through write(), writeU64(), granuleForWrite() only: page() and granuleBytes() are for reading.
 */
import { GRANULE_SIZE } from "../arch/geometry.js";

export class PhysicalMemory {
  private readonly pages = new Map<number, Uint8Array>();
  /** Granules whose buffer is still shared with a snapshot (copied on first write); undefined: none. */
  private shared: Set<number> | undefined = undefined;

  /** Number of granules holding a buffer (i.e. that may be non-zero). */
  get residentGranules(): number {
    return this.pages.size;
  }

  /** Granule indices holding a buffer (possibly non-zero), in increasing order. */
  residentIndices(): number[] {
    return [...this.pages.keys()].sort((a, b) => a - b);
  }

  page(g: number): Uint8Array | undefined {
    return this.pages.get(g);
  }

  /** The granule's 4 KiB buffer for writing in place (allocated, zeroed, on first use). */
  granuleForWrite(g: number): Uint8Array {
    return this.pageForWrite(g);
  }

  private pageForWrite(g: number): Uint8Array {
    let p = this.pages.get(g);
    if (p === undefined) {
      p = new Uint8Array(GRANULE_SIZE);
      this.pages.set(g, p);
    } else if (this.shared !== undefined && this.shared.delete(g)) {
      if (this.shared.size === 0) this.shared = undefined;
      p = p.slice();
      this.pages.set(g, p);
    }
    return p;
  }

  /**
   * Every page buffer held now is shared with a snapshot (must not be written): each is copied on
   * its first write. `false`: every buffer is this memory's own (a restore that copied).
   */
  adoptShared(shared: boolean): void {
    this.shared = shared && this.pages.size > 0 ? new Set(this.pages.keys()) : undefined;
  }

  read(pa: number, length: number): Uint8Array {
    const out = new Uint8Array(length);
    let done = 0;
    while (done < length) {
      const a = pa + done;
      const g = Math.floor(a / GRANULE_SIZE);
      const off = a - g * GRANULE_SIZE;
      const n = Math.min(GRANULE_SIZE - off, length - done);
      const p = this.pages.get(g);
      if (p !== undefined) out.set(p.subarray(off, off + n), done);
      done += n;
    }
    return out;
  }

  write(pa: number, bytes: Uint8Array): void {
    let done = 0;
    while (done < bytes.length) {
      const a = pa + done;
      const g = Math.floor(a / GRANULE_SIZE);
      const off = a - g * GRANULE_SIZE;
      const n = Math.min(GRANULE_SIZE - off, bytes.length - done);
      this.pageForWrite(g).set(bytes.subarray(done, done + n), off);
      done += n;
    }
  }

  readU64(pa: number): bigint {
    const g = Math.floor(pa / GRANULE_SIZE);
    const p = this.pages.get(g);
    if (p === undefined) return 0n;
    const off = pa - g * GRANULE_SIZE;
    // a view over the page, kept for the last page read (a hot path: the host reading REC run pages)
    if (p !== this.viewPage) {
      this.viewPage = p;
      this.view = new DataView(p.buffer, p.byteOffset, p.byteLength);
    }
    const v = this.view!;
    if (off + 8 > GRANULE_SIZE) return v.getBigUint64(off, true); // RangeError, as before
    return v.getUint32(off, true) === 0 && v.getUint32(off + 4, true) === 0 ? 0n : v.getBigUint64(off, true);
  }

  /** The 32-bit word at `pa` (little endian), 0 where nothing was written. */
  readU32(pa: number): number {
    const g = Math.floor(pa / GRANULE_SIZE);
    const p = this.pages.get(g);
    if (p === undefined) return 0;
    if (p !== this.viewPage) {
      this.viewPage = p;
      this.view = new DataView(p.buffer, p.byteOffset, p.byteLength);
    }
    return this.view!.getUint32(pa - g * GRANULE_SIZE, true); // RangeError past the granule
  }

  /** Number(readU64(pa)), the same value rounded the same way, without a bigint below 2^53. */
  readU64Number(pa: number): number {
    const hi = this.readU32(pa + 4);
    return hi < 0x20_0000 ? hi * 0x1_0000_0000 + this.readU32(pa) : Number(this.readU64(pa));
  }

  private viewPage: Uint8Array | undefined;
  private view: DataView | undefined;

  writeU64(pa: number, v: bigint): void {
    const g = Math.floor(pa / GRANULE_SIZE);
    const off = pa - g * GRANULE_SIZE;
    const p = this.pageForWrite(g);
    if (off + 8 > GRANULE_SIZE) {
      new DataView(p.buffer).setBigUint64(off, BigInt.asUintN(64, v), true); // RangeError, as before
      return;
    }
    U64_VIEW.setBigUint64(0, BigInt.asUintN(64, v), true);
    for (let i = 0; i < 8; i++) p[off + i] = U64_BYTES[i]!;
  }

  /** Zero a whole granule (scrub). */
  zero(g: number): void {
    this.pages.delete(g);
    this.shared?.delete(g);
  }

  /** Copy one granule's contents to another. */
  copy(dst: number, src: number): void {
    const s = this.pages.get(src);
    if (s === undefined) this.pages.delete(dst);
    else this.pages.set(dst, s.slice());
    this.shared?.delete(dst);
  }

  isZero(g: number): boolean {
    const p = this.pages.get(g);
    if (p === undefined) return true;
    for (let i = 0; i < p.length; i++) if (p[i] !== 0) return false;
    return true;
  }

  /** The granule's 4 KiB, shared (do not keep). Zeroes for a page never written. */
  granuleBytes(g: number): Uint8Array {
    return this.pages.get(g) ?? ZERO_PAGE;
  }
}

const ZERO_PAGE = new Uint8Array(GRANULE_SIZE);
/** Scratch for 64-bit accesses. */
const U64_BYTES = new Uint8Array(8);
const U64_VIEW = new DataView(U64_BYTES.buffer);

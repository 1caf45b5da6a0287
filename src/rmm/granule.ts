/**
 * Granule states and refcounts as the RMM tracks them, one entry per 4 KiB granule of DRAM.
 * Kept in lazily allocated typed-array chunks keyed by granule index, so a 64 GiB map costs
 * nothing until touched. Source: RMM spec A2.2 (granule states); TF-RMM lib/granule.
 */
import { Chunks } from "../arch/chunks.js";

export enum GranuleState {
  /** Spec: UNDELEGATED. TF-RMM: GRANULE_STATE_NS. */
  NS = 0,
  DELEGATED = 1,
  RD = 2,
  REC = 3,
  REC_AUX = 4,
  DATA = 5,
  RTT = 6,
  PDEV = 7,
  PDEV_AUX = 8,
  VDEV = 9,
  VDEV_AUX = 10,
  /** v2.0: an object half built or half torn down by a stateful operation (SRO). */
  PARTIAL = 11,
  /** v2.0: RMM-owned memory donated through OP_MEM_DONATE. */
  INTERNAL = 12,
}

export const GRANULE_STATE_NAMES: readonly string[] = [
  "UNDELEGATED", "DELEGATED", "RD", "REC", "REC_AUX", "DATA", "RTT",
  "PDEV", "PDEV_AUX", "VDEV", "VDEV_AUX", "PARTIAL", "INTERNAL",
];

const CHUNK = 65536;

/** Granules per block of the `touched` summary. */
const BLOCK = 64;

interface Chunk {
  state: Uint8Array;
  refcount: Int32Array;
  /** Per block of 64 granules: 1 once any of them left NS (never cleared), so nonNs() skips the rest. */
  touched: Uint8Array;
}

export class GranuleTable {
  private readonly chunks = new Chunks<Chunk>(CHUNK, () => ({ state: new Uint8Array(CHUNK), refcount: new Int32Array(CHUNK), touched: new Uint8Array(CHUNK / BLOCK) }));
  /** Granules per state, kept up to date on every transition (accounting is O(1)). */
  readonly counts = new Float64Array(GRANULE_STATE_NAMES.length);
  /**
   * When set, every granule whose state is set is appended here (the host's incremental invariant
   * checks read and empty it; src/host/invariants.ts). Undefined: no journal.
   */
  journal: number[] | undefined = undefined;

  state(g: number): GranuleState {
    const c = this.chunks.find(g);
    return c === undefined ? GranuleState.NS : (c.state[g % CHUNK]! as GranuleState);
  }

  setState(g: number, s: GranuleState): void {
    const c = this.chunks.forWrite(g);
    const i = g % CHUNK;
    const old = c.state[i]!;
    if (old !== GranuleState.NS) this.counts[old]!--;
    if (s !== GranuleState.NS) {
      this.counts[s]!++;
      c.touched[Math.floor(i / BLOCK)] = 1;
    }
    c.state[i] = s;
    if (this.journal !== undefined) this.journal.push(g);
  }

  refcount(g: number): number {
    const c = this.chunks.find(g);
    return c === undefined ? 0 : c.refcount[g % CHUNK]!;
  }

  addRef(g: number, delta: number): void {
    const c = this.chunks.forWrite(g);
    c.refcount[g % CHUNK]! += delta;
  }

  setRef(g: number, v: number): void {
    this.chunks.forWrite(g).refcount[g % CHUNK] = v;
  }

  /**
   * Every granule not in state NS, in address order (for invariant checks and listings): only the
   * blocks of 64 granules that ever left NS are read (a chunk is 256 MiB: reading all of it made
   * each call cost ~50 us per chunk ever written, whatever was delegated).
   */
  *nonNs(): Generator<[number, GranuleState]> {
    for (const [first, c] of this.chunks.sorted()) {
      // four block flags at a time: most blocks never left NS
      const words = new Uint32Array(c.touched.buffer, c.touched.byteOffset, c.touched.length / 4);
      for (let w = 0; w < words.length; w++) {
        if (words[w] === 0) continue;
        for (let b = w * 4; b < w * 4 + 4; b++) {
          if (c.touched[b] === 0) continue;
          for (let i = b * BLOCK; i < (b + 1) * BLOCK; i++) {
            const s = c.state[i]!;
            if (s !== GranuleState.NS) yield [first + i, s as GranuleState];
          }
        }
      }
    }
  }

  countOf(s: GranuleState): number {
    return this.counts[s]!;
  }
}

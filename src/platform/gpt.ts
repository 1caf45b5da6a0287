/**
 * Granule Protection Table: the physical address space (PAS) of every granule, as EL3 keeps it.
 * Stored per 4 KiB granule in lazily allocated chunks, so a large memory map costs nothing until a
 * granule's PAS differs from its region's default. Source: Arm ARM (RME) GPT; TF-A gpt_rme.
 */
import { Chunks } from "../arch/chunks.js";
import { MemoryMap } from "./memory-map.js";

export enum Pas {
  NS = 0,
  REALM = 1,
  SECURE = 2,
  ROOT = 3,
}

export const PAS_NAMES = ["NS", "REALM", "SECURE", "ROOT"] as const;
export type PasName = (typeof PAS_NAMES)[number];

const CHUNK = 65536; // granules per chunk (256 MiB)
/**
 * Granules per block of a chunk's `touched` summary, kept after the chunk's CHUNK PAS bytes: a
 * block's byte is 1 once any of its granules was written (never cleared), so changed() reads only
 * those blocks, not 256 MiB worth of granules per chunk.
 */
const BLOCK = 64;

export class Gpt {
  private readonly chunks = new Chunks<Uint8Array>(CHUNK, (ci) => this.newChunk(ci));
  constructor(private readonly map: MemoryMap) {}

  private defaultPas(pa: number): Pas {
    const r = this.map.regionOf(pa);
    return r?.kind === "secure" ? Pas.SECURE : Pas.NS;
  }

  /** PAS of the granule at granule index `g` (address g * 4K). */
  get(g: number): Pas {
    const c = this.chunks.find(g);
    if (c === undefined) return this.defaultPas(g * 4096);
    return (c[g % CHUNK]! as Pas);
  }

  set(g: number, pas: Pas): void {
    const c = this.chunks.forWrite(g);
    const i = g % CHUNK;
    c[i] = pas;
    c[CHUNK + Math.floor(i / BLOCK)] = 1;
  }

  /** Chunk `ci` as first written: every granule with its region's default PAS. */
  private newChunk(ci: number): Uint8Array {
    const base = ci * CHUNK;
    const def = this.defaultPas(base * 4096);
    // Regions are 4K-granular, so a chunk may straddle two regions: fill it granule by granule
    // only in that rare case.
    const c = new Uint8Array(CHUNK + CHUNK / BLOCK).fill(def, 0, CHUNK);
    const r = this.map.regionOf(base * 4096);
    if (r === undefined || r.end < (base + CHUNK) * 4096) {
      for (let i = 0; i < CHUNK; i++) c[i] = this.defaultPas((base + i) * 4096);
    }
    return c;
  }

  /**
   * Granules whose PAS differs from their region's default, in address order (for invariant
   * checks and state snapshots; cost proportional to the chunks ever written, not to memory).
   */
  *changed(): Generator<[number, Pas]> {
    for (const [base, c] of this.chunks.sorted()) {
      const def = this.defaults(base / CHUNK);
      // four block flags at a time: most blocks were never written
      const words = new Uint32Array(c.buffer, c.byteOffset + CHUNK, CHUNK / BLOCK / 4);
      for (let w = 0; w < words.length; w++) {
        if (words[w] === 0) continue;
        for (let b = w * 4; b < w * 4 + 4; b++) {
          if (c[CHUNK + b] === 0) continue;
          for (let i = b * BLOCK; i < (b + 1) * BLOCK; i++) if (c[i] !== def[i]) yield [base + i, c[i]! as Pas];
        }
      }
    }
  }

  private readonly defaultChunks = new Map<number, Uint8Array>();

  /** The default PAS of every granule of chunk `ci` (the memory map never changes). */
  private defaults(ci: number): Uint8Array {
    let d = this.defaultChunks.get(ci);
    if (d === undefined) {
      const base = ci * CHUNK;
      d = new Uint8Array(CHUNK);
      for (let i = 0; i < CHUNK; i++) d[i] = this.defaultPas((base + i) * 4096);
      this.defaultChunks.set(ci, d);
    }
    return d;
  }

  /** EL3's answer to the RMM's GPT transition request (RMM_GTSI_DELEGATE / UNDELEGATE). */
  transition(g: number, from: Pas, to: Pas): boolean {
    if (this.get(g) !== from) return false;
    this.set(g, to);
    return true;
  }
}

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
    this.chunks.forWrite(g)[g % CHUNK] = pas;
  }

  /** Chunk `ci` as first written: every granule with its region's default PAS. */
  private newChunk(ci: number): Uint8Array {
    const base = ci * CHUNK;
    const def = this.defaultPas(base * 4096);
    // Regions are 4K-granular, so a chunk may straddle two regions: fill it granule by granule
    // only in that rare case.
    const c = new Uint8Array(CHUNK).fill(def);
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
      // Compare four granules at a time: most of a chunk has its default PAS.
      const w = new Uint32Array(c.buffer, c.byteOffset, CHUNK / 4);
      const dw = new Uint32Array(def.buffer, def.byteOffset, CHUNK / 4);
      for (let j = 0; j < w.length; j++) {
        if (w[j] === dw[j]) continue;
        for (let i = j * 4; i < j * 4 + 4; i++) if (c[i] !== def[i]) yield [base + i, c[i]! as Pas];
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

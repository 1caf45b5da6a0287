/**
 * Granule Protection Table: the physical address space (PAS) of every granule, as EL3 keeps it.
 * Stored per 4 KiB granule in lazily allocated chunks, so a large memory map costs nothing until a
 * granule's PAS differs from its region's default. Source: Arm ARM (RME) GPT; TF-A gpt_rme.
 */
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
  private readonly chunks = new Map<number, Uint8Array>();
  constructor(private readonly map: MemoryMap) {}

  private defaultPas(pa: number): Pas {
    const r = this.map.regionOf(pa);
    return r?.kind === "secure" ? Pas.SECURE : Pas.NS;
  }

  /** PAS of the granule at granule index `g` (address g * 4K). */
  get(g: number): Pas {
    const c = this.chunks.get(Math.floor(g / CHUNK));
    if (c === undefined) return this.defaultPas(g * 4096);
    return (c[g % CHUNK]! as Pas);
  }

  set(g: number, pas: Pas): void {
    const ci = Math.floor(g / CHUNK);
    let c = this.chunks.get(ci);
    if (c === undefined) {
      const base = ci * CHUNK;
      const def = this.defaultPas(base * 4096);
      // Regions are 4K-granular, so a chunk may straddle two regions: fill it granule by granule
      // only in that rare case.
      c = new Uint8Array(CHUNK).fill(def);
      const r = this.map.regionOf(base * 4096);
      if (r === undefined || r.end < (base + CHUNK) * 4096) {
        for (let i = 0; i < CHUNK; i++) c[i] = this.defaultPas((base + i) * 4096);
      }
      this.chunks.set(ci, c);
    }
    c[g % CHUNK] = pas;
  }

  /** EL3's answer to the RMM's GPT transition request (RMM_GTSI_DELEGATE / UNDELEGATE). */
  transition(g: number, from: Pas, to: Pas): boolean {
    if (this.get(g) !== from) return false;
    this.set(g, to);
    return true;
  }
}

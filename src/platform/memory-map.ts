/**
 * The platform's physical memory map (design.md "Platform and raw RMI").
 * Default: DRAM at 0x8000_0000 (2 GiB), MMIO at 0x1C00_0000 (16 MiB), Secure DRAM at 0x0600_0000
 * (16 MiB). Anything else below 2^paBits is not memory.
 */

export type RegionKind = "dram" | "mmio" | "secure";

export interface MemoryRegion {
  kind: RegionKind;
  base: bigint;
  size: bigint;
}

export const DEFAULT_MEMORY_MAP: readonly MemoryRegion[] = Object.freeze([
  { kind: "secure", base: 0x0600_0000n, size: 16n << 20n },
  { kind: "mmio", base: 0x1c00_0000n, size: 16n << 20n },
  { kind: "dram", base: 0x8000_0000n, size: 2n << 30n },
]);

/** A region with number bounds, used on hot paths. */
export interface Region {
  kind: RegionKind;
  base: number;
  end: number; // exclusive
}

export class MemoryMap {
  readonly regions: readonly Region[];
  readonly paBits: number;
  readonly paLimit: number;

  constructor(map: readonly MemoryRegion[], paBits: number) {
    if (!Number.isInteger(paBits) || paBits < 32 || paBits > 52) {
      throw new RangeError(`paBits: expected an integer in [32, 52], got ${paBits}`);
    }
    this.paBits = paBits;
    this.paLimit = 2 ** paBits;
    const regions: Region[] = [];
    for (const [i, r] of map.entries()) {
      if (r.kind !== "dram" && r.kind !== "mmio" && r.kind !== "secure") {
        throw new TypeError(`memoryMap[${i}].kind: expected "dram", "mmio" or "secure", got ${String(r.kind)}`);
      }
      if (typeof r.base !== "bigint" || typeof r.size !== "bigint") {
        throw new TypeError(`memoryMap[${i}]: base and size must be bigint`);
      }
      if (r.base < 0n || r.size <= 0n || r.base % 4096n !== 0n || r.size % 4096n !== 0n) {
        throw new RangeError(`memoryMap[${i}]: base and size must be positive multiples of 4 KiB`);
      }
      if (r.base + r.size > (1n << BigInt(paBits))) {
        throw new RangeError(`memoryMap[${i}]: region ends above 2^${paBits}`);
      }
      regions.push({ kind: r.kind, base: Number(r.base), end: Number(r.base + r.size) });
    }
    regions.sort((a, b) => a.base - b.base);
    for (let i = 1; i < regions.length; i++) {
      if (regions[i]!.base < regions[i - 1]!.end) throw new RangeError("memoryMap: regions overlap");
    }
    this.regions = regions;
  }

  /** The region holding `pa`, or undefined when `pa` is not memory. */
  regionOf(pa: number): Region | undefined {
    // Maps are tiny (a handful of regions): a linear scan beats anything clever.
    for (const r of this.regions) if (pa >= r.base && pa < r.end) return r;
    return undefined;
  }

  /** True when [pa, pa + 4K) is conventional DRAM that the RMM tracks as granules. */
  isDram(pa: number): boolean {
    for (const r of this.regions) if (r.kind === "dram" && pa >= r.base && pa < r.end) return true;
    return false;
  }

  toJSON(): MemoryRegion[] {
    return this.regions.map((r) => ({ kind: r.kind, base: BigInt(r.base), size: BigInt(r.end - r.base) }));
  }
}

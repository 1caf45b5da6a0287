/**
 * The physical machine below the RMM: memory map, memory contents, GPT, and the Non-secure
 * world's view of memory. The RMM (src/rmm) is built on top of this; `Platform` (src/system)
 * puts the two together.
 */
import { GRANULE_SIZE } from "../arch/geometry.js";
import { requireAddress, requireLength, requireBytes } from "./args.js";
import { ExternalAbort, GranuleProtectionFault } from "./errors.js";
import { Gpt, Pas, PAS_NAMES } from "./gpt.js";
import { DEFAULT_MEMORY_MAP, MemoryMap, type MemoryRegion } from "./memory-map.js";
import { PhysicalMemory } from "./physical-memory.js";

export interface MachineOptions {
  memoryMap?: readonly MemoryRegion[];
  paBits?: number;
}

/** Non-secure world accesses: a granule whose PAS is not NS raises GranuleProtectionFault. */
export interface NsAccess {
  write(pa: bigint, bytes: Uint8Array): void;
  read(pa: bigint, length: number): Uint8Array;
  writeU64(pa: bigint, value: bigint): void;
  readU64(pa: bigint): bigint;
  /**
   * readU64/writeU64 at a PA given as a number (a field of a REC run page): the same checks and
   * faults, without a bigint address per access.
   */
  readU64At(pa: number): bigint;
  writeU64At(pa: number, value: bigint): void;
  /** Number(readU64At(pa)), the same value rounded the same way, without the bigint. */
  readU64NumberAt(pa: number): number;
  /** The low 32 bits of the 64-bit field at `pa` (the whole field is checked), as a number. */
  readU32At(pa: number): number;
}

/** A PA given as a number: used as is when it is one, else checked as the bigint forms check it. */
const paNumber = (pa: number): number => (Number.isSafeInteger(pa) && pa >= 0 ? pa : requireAddress("pa", BigInt(pa)));

export class Machine {
  readonly map: MemoryMap;
  readonly mem = new PhysicalMemory();
  readonly gpt: Gpt;
  readonly ns: NsAccess;

  constructor(opts: MachineOptions = {}) {
    this.map = new MemoryMap(opts.memoryMap ?? DEFAULT_MEMORY_MAP, opts.paBits ?? 48);
    this.gpt = new Gpt(this.map);
    this.ns = {
      write: (pa, bytes) => {
        const a = requireAddress("pa", pa);
        requireLength("bytes.length", requireBytes("bytes", bytes).length);
        // a zero-length access touches no granule: nothing to check, nothing to do
        if (bytes.length === 0) return;
        this.checkNs(a, bytes.length, "write");
        this.mem.write(a, bytes);
      },
      read: (pa, length) => {
        const a = requireAddress("pa", pa);
        requireLength("length", length);
        if (length === 0) return new Uint8Array(0);
        this.checkNs(a, length, "read");
        return this.mem.read(a, length);
      },
      writeU64: (pa, value) => {
        const a = requireAddress("pa", pa);
        if (typeof value !== "bigint") throw new TypeError("value: expected a bigint");
        this.checkNs(a, 8, "write");
        this.mem.writeU64(a, value);
      },
      readU64: (pa) => {
        const a = requireAddress("pa", pa);
        this.checkNs(a, 8, "read");
        return this.mem.readU64(a);
      },
      readU64At: (pa) => {
        const a = paNumber(pa);
        this.checkNs(a, 8, "read");
        return this.mem.readU64(a);
      },
      writeU64At: (pa, value) => {
        const a = paNumber(pa);
        if (typeof value !== "bigint") throw new TypeError("value: expected a bigint");
        this.checkNs(a, 8, "write");
        this.mem.writeU64(a, value);
      },
      readU64NumberAt: (pa) => {
        const a = paNumber(pa);
        this.checkNs(a, 8, "read");
        return this.mem.readU64Number(a);
      },
      readU32At: (pa) => {
        const a = paNumber(pa);
        this.checkNs(a, 8, "read");
        return this.mem.readU32(a);
      },
    };
  }

  get memoryMap(): MemoryRegion[] {
    return this.map.toJSON();
  }

  get paBits(): number {
    return this.map.paBits;
  }

  /** Check every granule of [pa, pa+len) is memory in the NS PAS; throws otherwise. */
  private checkNs(pa: number, len: number, access: "read" | "write"): void {
    const first = Math.floor(pa / GRANULE_SIZE);
    const last = Math.floor((pa + Math.max(len, 1) - 1) / GRANULE_SIZE);
    // one granule (a register-sized access): the same two checks without the loop
    if (first === last && this.map.regionOf(pa) !== undefined && this.gpt.get(first) === Pas.NS) return;
    for (let g = first; g <= last; g++) {
      const a = g * GRANULE_SIZE;
      if (this.map.regionOf(a) === undefined) throw new ExternalAbort(BigInt(Math.max(a, pa)), access);
      const pas = this.gpt.get(g);
      if (pas !== Pas.NS) throw new GranuleProtectionFault(BigInt(Math.max(a, pa)), PAS_NAMES[pas], access);
    }
  }

  /** True if the RMM may use [pa, pa+4K) as an NS buffer (params, src, run): NS PAS memory. */
  isNsMemory(pa: number): boolean {
    return this.map.regionOf(pa) !== undefined && this.gpt.get(Math.floor(pa / GRANULE_SIZE)) === Pas.NS;
  }
}



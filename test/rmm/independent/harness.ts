/**
 * Harness for the independent RMI cases: written from the specification's failure conditions
 * (rmm-model.md §1, §3.2, §4, §5, §6), NOT from the simulator's command code. Stimuli go only
 * through `Platform.create({rmm: "1.0"})`, `p.ns.write` and `p.smc` with raw function IDs; the
 * structures (RmiRealmParams, RmiRecParams, RmiRecRun) are built here byte by byte from the
 * documented offsets. `p.granule()` / `p.ns.read()` are used only to observe.
 */
import { expect } from "vitest";
import { Platform } from "../../../src/index.js";

export const G = 0x1000n;
export const SZ_2M = 0x20_0000n;
export const SZ_1G = 0x4000_0000n;
/** Default memory map (design.md): DRAM 0x8000_0000 + 2 GiB, MMIO 0x1C00_0000 + 16 MiB, Secure 0x0600_0000 + 16 MiB. */
export const DRAM_BASE = 0x8000_0000n;
export const DRAM_END = 0x1_0000_0000n;
export const MMIO = 0x1c00_0000n;
export const SECURE = 0x0600_0000n;
export const NOT_MEMORY = 0x4000_0000n; // between MMIO and DRAM: not memory
export const U64_MAX = (1n << 64n) - 1n;

/** RMI v1.0 function IDs (rmm-model.md §1.2): SMC64 fast calls, 0xC4000000 | fnum. */
export const FID = {
  VERSION: 0xc400_0150n,
  GRANULE_DELEGATE: 0xc400_0151n,
  GRANULE_UNDELEGATE: 0xc400_0152n,
  DATA_CREATE: 0xc400_0153n,
  DATA_CREATE_UNKNOWN: 0xc400_0154n,
  DATA_DESTROY: 0xc400_0155n,
  REALM_ACTIVATE: 0xc400_0157n,
  REALM_CREATE: 0xc400_0158n,
  REALM_DESTROY: 0xc400_0159n,
  REC_CREATE: 0xc400_015an,
  REC_DESTROY: 0xc400_015bn,
  REC_ENTER: 0xc400_015cn,
  RTT_CREATE: 0xc400_015dn,
  RTT_DESTROY: 0xc400_015en,
  RTT_MAP_UNPROTECTED: 0xc400_015fn,
  RTT_READ_ENTRY: 0xc400_0161n,
  RTT_UNMAP_UNPROTECTED: 0xc400_0162n,
  PSCI_COMPLETE: 0xc400_0164n,
  FEATURES: 0xc400_0165n,
  RTT_FOLD: 0xc400_0166n,
  REC_AUX_COUNT: 0xc400_0167n,
  RTT_INIT_RIPAS: 0xc400_0168n,
  RTT_SET_RIPAS: 0xc400_0169n,
} as const;

/** Status codes (§1.1). */
export const SUCCESS = 0;
export const INPUT = 1;
export const REALM = 2;
export const REC = 3;
export const RTT = 4;

/** RTT entry states (RmiRttEntryState) and RIPAS (RmiRipas), §4.4. */
export const UNASSIGNED = 0n;
export const ASSIGNED = 1n;
export const TABLE = 2n;
export const EMPTY = 0n;
export const RAM = 1n;
export const DESTROYED = 2n;

export interface SmcResult {
  x0: bigint;
  status: number;
  index: number;
  x1: bigint;
  x2: bigint;
  x3: bigint;
  x4: bigint;
}

export function decode(x: bigint[]): SmcResult {
  const x0 = x[0]!;
  return { x0, status: Number(x0 & 0xffn), index: Number((x0 >> 8n) & 0xffn), x1: x[1]!, x2: x[2]!, x3: x[3]!, x4: x[4]! };
}

export interface RealmConfig {
  flags?: bigint;
  s2sz?: number;
  sveVl?: bigint;
  numBps?: bigint;
  numWps?: bigint;
  pmuNumCtrs?: bigint;
  hash?: number;
  vmid?: number;
  rttBase: bigint;
  sl?: number;
  num?: number;
}

/** RmiRealmParams, 4096 bytes (§3.2). */
export function realmParams(c: RealmConfig): Uint8Array {
  const b = new Uint8Array(4096);
  const v = new DataView(b.buffer);
  v.setBigUint64(0x000, c.flags ?? 0n, true);
  v.setBigUint64(0x008, BigInt(c.s2sz ?? 40), true);
  v.setBigUint64(0x010, c.sveVl ?? 0n, true);
  v.setBigUint64(0x018, c.numBps ?? 1n, true);
  v.setBigUint64(0x020, c.numWps ?? 1n, true);
  v.setBigUint64(0x028, c.pmuNumCtrs ?? 0n, true);
  b[0x030] = c.hash ?? 0;
  for (let i = 0; i < 64; i++) b[0x400 + i] = (i * 7 + 1) % 256; // rpv
  v.setUint16(0x800, c.vmid ?? 1, true);
  v.setBigUint64(0x808, c.rttBase, true);
  v.setBigInt64(0x810, BigInt(c.sl ?? 1), true);
  v.setBigUint64(0x818, BigInt(c.num ?? 2), true);
  return b;
}

export interface RecConfig {
  flags?: bigint; // bit0 RUNNABLE
  mpidr?: bigint;
  pc?: bigint;
  gprs?: bigint[];
  numAux?: bigint;
  aux: bigint[];
}

/** RmiRecParams, 4096 bytes (§5.8). */
export function recParams(c: RecConfig): Uint8Array {
  const b = new Uint8Array(4096);
  const v = new DataView(b.buffer);
  v.setBigUint64(0x000, c.flags ?? 1n, true);
  v.setBigUint64(0x100, c.mpidr ?? 0n, true);
  v.setBigUint64(0x200, c.pc ?? 0x8_0000n, true);
  (c.gprs ?? []).forEach((g, i) => v.setBigUint64(0x300 + 8 * i, g, true));
  v.setBigUint64(0x800, c.numAux ?? BigInt(c.aux.length), true);
  c.aux.forEach((a, i) => v.setBigUint64(0x808 + 8 * i, a, true));
  return b;
}

/** RmiRecRun entry part (§5.10): flags @0, gprs @0x200, gicv3_hcr @0x300, lrs @0x308. */
export function recRun(c: { flags?: bigint; gicv3Hcr?: bigint; gprs?: bigint[] } = {}): Uint8Array {
  const b = new Uint8Array(4096);
  const v = new DataView(b.buffer);
  v.setBigUint64(0x000, c.flags ?? 0n, true);
  (c.gprs ?? []).forEach((g, i) => v.setBigUint64(0x200 + 8 * i, g, true));
  v.setBigUint64(0x300, c.gicv3Hcr ?? 0n, true);
  return b;
}

export const RUN_EXIT_REASON = 0x800;

/** A platform with a bump allocator over DRAM and checked helpers. */
export class Rig {
  readonly p = Platform.create({ rmm: "1.0" });
  private next = DRAM_BASE;

  smc(fid: bigint, ...args: bigint[]): SmcResult {
    return decode(this.p.smc(fid, ...args));
  }

  /** Call and assert the packed status (and RTT level). */
  expect(fid: bigint, args: bigint[], status: number, index = 0): SmcResult {
    const r = this.smc(fid, ...args);
    expect({ status: r.status, index: r.index }, `${fid.toString(16)}(${args.map((a) => a.toString(16)).join(", ")})`).toEqual({ status, index });
    return r;
  }

  ok(fid: bigint, ...args: bigint[]): SmcResult {
    return this.expect(fid, args, SUCCESS);
  }

  /** A fresh NS granule (never handed out before). */
  page(): bigint {
    const a = this.next;
    this.next += G;
    return a;
  }

  /** `n` contiguous fresh granules aligned to n * 4 KiB. */
  pages(n: number): bigint {
    const span = BigInt(n) * G;
    const off = (this.next - DRAM_BASE) % span;
    if (off !== 0n) this.next += span - off;
    const a = this.next;
    this.next += span;
    return a;
  }

  delegated(): bigint {
    const a = this.page();
    this.ok(FID.GRANULE_DELEGATE, a);
    return a;
  }

  state(pa: bigint): string {
    return this.p.granule(pa).state;
  }

  /** Everything observable that a failed command must leave alone. */
  snapshot(): string {
    const gs: string[] = [];
    for (let a = DRAM_BASE; a < this.next; a += G) {
      const g = this.p.granule(a);
      gs.push(`${a.toString(16)}:${g.state}:${g.pas}:${g.refcount}:${g.realmState ?? ""}`);
    }
    return gs.join(" ");
  }

  /** Write params and create a realm (s2sz 40, sl 1, two root RTTs unless told otherwise). */
  realm(cfg: Partial<RealmConfig> = {}): Realm {
    const num = cfg.num ?? 2;
    const rtt = this.pages(num);
    for (let i = 0n; i < BigInt(num); i++) this.ok(FID.GRANULE_DELEGATE, rtt + i * G);
    const rd = this.delegated();
    const params = this.page();
    this.p.ns.write(params, realmParams({ vmid: this.vmid++, ...cfg, rttBase: rtt }));
    this.ok(FID.REALM_CREATE, rd, params);
    return { rd, rtt, num, s2sz: cfg.s2sz ?? 40, sl: cfg.sl ?? 1 };
  }

  private vmid = 1;

  /** REC_AUX_COUNT then REC_CREATE with fresh aux granules. */
  rec(rd: bigint, index: number, runnable = true): { rec: bigint; aux: bigint[] } {
    const n = Number(this.ok(FID.REC_AUX_COUNT, rd).x1);
    const aux = Array.from({ length: n }, () => this.delegated());
    const rec = this.delegated();
    const params = this.page();
    this.p.ns.write(params, recParams({ flags: runnable ? 1n : 0n, mpidr: mpidr(index), aux }));
    this.ok(FID.REC_CREATE, rd, rec, params);
    return { rec, aux };
  }

  /** RTT_CREATE for every level from sl+1 to `level` at `ipa`. */
  tables(r: Realm, ipa: bigint, level = 3): bigint[] {
    const out: bigint[] = [];
    for (let l = r.sl + 1; l <= level; l++) {
      const t = this.delegated();
      this.ok(FID.RTT_CREATE, r.rd, t, alignDown(ipa, mapSize(l - 1)), BigInt(l));
      out.push(t);
    }
    return out;
  }

  readEntry(r: Realm, ipa: bigint, level: number): { level: bigint; state: bigint; desc: bigint; ripas: bigint } {
    const e = this.ok(FID.RTT_READ_ENTRY, r.rd, ipa, BigInt(level));
    return { level: e.x1, state: e.x2, desc: e.x3, ripas: e.x4 };
  }
}

export interface Realm {
  rd: bigint;
  rtt: bigint;
  num: number;
  s2sz: number;
  sl: number;
}

/** RmiRecMpidr for REC index i < 16 (Aff0). */
export function mpidr(i: number): bigint {
  return BigInt(i % 16) | (BigInt(Math.floor(i / 16) % 256) << 8n);
}

/** Size mapped by one entry at `level` (§4.1). */
export function mapSize(level: number): bigint {
  return 1n << BigInt(12 + 9 * (3 - level));
}

export function alignDown(a: bigint, size: bigint): bigint {
  return a - (a % size);
}

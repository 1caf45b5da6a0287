/**
 * Shared helpers for RMM tests: build realms the way a host does (delegate, write RealmParams to
 * NS memory, REALM_CREATE), hand out granules, create RTT levels, map pages, and take a digest of
 * the RMM state to check that a failed command changed nothing.
 */
import { expect, it } from "vitest";
import { Platform, type PlatformOptions } from "../../src/index.js";
import { DEFAULT_MEMORY_MAP } from "../../src/platform/memory-map.js";
import { encodeRealmParams, type RealmParams } from "../../src/rmm/abi/realm-params.js";
import { GranuleState } from "../../src/rmm/granule.js";
import type { Realm } from "../../src/rmm/realm.js";
import { Rec } from "../../src/rmm/rec.js";

export const DRAM_BASE = 0x8000_0000n;
export const DRAM_SIZE = 0x8000_0000n;
export const MMIO_BASE = 0x1c00_0000n;
export const SECURE_BASE = 0x0600_0000n;
export const G = 0x1000n;
export const SZ_2M = 0x20_0000n;
export const SZ_1G = 0x4000_0000n;

/** RMI_RTT_READ_ENTRY states and RIPAS values (spec encodings). */
export const UNASSIGNED = 0n;
export const ASSIGNED = 1n;
export const TABLE = 2n;
export const EMPTY = 0n;
export const RAM = 1n;
export const DESTROYED = 2n;

/** A Normal WB (FWB), RW descriptor attribute set: MemAttr 0b110 at [4:2], S2AP 0b11 at [7:6]. */
export const NS_ATTRS = 0x18n | 0xc0n;

/** Hands out granules from DRAM in address order (starting high enough to avoid the RMM's own use in tests). */
export class Granules {
  private next: bigint;
  constructor(start: bigint = DRAM_BASE + 0x100_0000n) {
    this.next = start;
  }
  /** An NS (undelegated) granule. */
  ns(): bigint {
    const a = this.next;
    this.next += G;
    return a;
  }
  /** n contiguous granules aligned to `align`. */
  aligned(align: bigint, n = 1n): bigint {
    this.next = ((this.next + align - 1n) / align) * align;
    const a = this.next;
    this.next += n * G;
    return a;
  }
}

export interface TestRealm {
  p: Platform;
  rd: bigint;
  rtt: bigint;
  alloc: Granules;
  params: RealmParams;
  /** The RMM's realm object (white-box). */
  realm: Realm;
  /** Delegate a fresh granule and return its PA. */
  delegated(): bigint;
  /** Delegate `n` contiguous granules aligned to `align` and return the first PA. */
  delegatedBlock(align: bigint, n: bigint): bigint;
}

/** A platform with DRAM above 2^48 too (for the *_bound2 checks) and, optionally, LPA2 (s2sz up to 52). */
export function highPlatform(lpa2: boolean): Platform {
  return Platform.create({
    rmm: "1.0",
    paBits: 52,
    memoryMap: [...DEFAULT_MEMORY_MAP, { kind: "dram", base: 1n << 48n, size: 1n << 30n }],
    features: { lpa2, s2sz: lpa2 ? 52 : 48 },
  });
}

export function delegate(p: Platform, pa: bigint): void {
  const r = p.rmi.granuleDelegate(pa);
  if (r.status !== "RMI_SUCCESS") throw new Error(`delegate 0x${pa.toString(16)}: ${r.status}`);
}

export interface RealmOptions {
  platform?: PlatformOptions;
  s2sz?: number;
  sl?: number;
  lpa2?: boolean;
  hashAlgo?: number;
  vmid?: number;
  /** Use this platform instead of a new one. */
  p?: Platform;
  alloc?: Granules;
}

/** Root table count for (s2sz, sl) (RMM: 1 if one table at sl resolves s2sz, else 2^(s2sz - sl_bits)). */
export function rootCount(s2sz: number, sl: number): number {
  const slBits = (3 - sl) * 9 + 12 + 9;
  return s2sz <= slBits ? 1 : 2 ** (s2sz - slBits);
}

/** Create a realm as a host would: delegate RD and root RTTs, write params to NS memory, REALM_CREATE. */
export function makeRealm(o: RealmOptions = {}): TestRealm {
  const p = o.p ?? Platform.create({ rmm: "1.0", ...o.platform });
  const alloc = o.alloc ?? new Granules();
  const s2sz = o.s2sz ?? 40;
  const sl = o.sl ?? (s2sz <= 39 ? 1 : s2sz <= 48 ? (s2sz <= 43 ? 1 : 0) : 0);
  const num = rootCount(s2sz, sl);
  const rd = alloc.ns();
  const rtt = alloc.aligned(BigInt(num) * G, BigInt(num));
  const paramsPa = alloc.ns();
  delegate(p, rd);
  for (let i = 0n; i < BigInt(num); i++) delegate(p, rtt + i * G);
  const params: RealmParams = {
    flags: o.lpa2 ? 1n : 0n,
    s2sz,
    hashAlgo: o.hashAlgo ?? 0,
    vmid: o.vmid ?? 1,
    rttBase: rtt,
    rttLevelStart: sl,
    rttNumStart: num,
  };
  p.ns.write(paramsPa, encodeRealmParams(params));
  const r = p.rmi.realmCreate(rd, paramsPa);
  if (r.status !== "RMI_SUCCESS") throw new Error(`realmCreate: ${r.status}`);
  const realm = p.rmm.realms.get(Number(rd / G))!;
  return {
    p, rd, rtt, alloc, params, realm,
    delegated() {
      const a = alloc.ns();
      delegate(p, a);
      return a;
    },
    delegatedBlock(align: bigint, n: bigint) {
      const a = alloc.aligned(align, n);
      for (let i = 0n; i < n; i++) delegate(p, a + i * G);
      return a;
    },
  };
}

/** Create RTTs for `ipa` down to `level` (each missing level from the first the walk lacks). */
export function createRtts(t: TestRealm, ipa: bigint, level: number): void {
  for (let l = t.realm.sl + 1; l <= level; l++) {
    const e = t.p.rmi.rttReadEntry(t.rd, alignDown(ipa, mapSizeOf(l - 1)), l - 1);
    if (BigInt.asIntN(64, e.walkLevel) === BigInt(l - 1) && e.state === TABLE) continue;
    const r = t.p.rmi.rttCreate(t.rd, t.delegated(), alignDown(ipa, mapSizeOf(l - 1)), l);
    if (r.status !== "RMI_SUCCESS") throw new Error(`rttCreate(${ipa.toString(16)}, ${l}): ${r.status} ${r.index}`);
  }
}

export function mapSizeOf(level: number): bigint {
  return 1n << BigInt(12 + 9 * (3 - level));
}

export function alignDown(a: bigint, size: bigint): bigint {
  return a - (a % size);
}

/** An NS granule filled with a byte pattern (a DATA_CREATE source). */
export function nsPage(t: TestRealm, seed = 0x5a): bigint {
  const src = t.alloc.ns();
  const b = new Uint8Array(4096);
  for (let i = 0; i < b.length; i++) b[i] = (seed + i * 7) & 0xff;
  t.p.ns.write(src, b);
  return src;
}

/** DATA_CREATE_UNKNOWN a fresh granule at ipa (RTTs must exist). Returns the data PA. */
export function mapUnknown(t: TestRealm, ipa: bigint): bigint {
  const d = t.delegated();
  const r = t.p.rmi.dataCreateUnknown(t.rd, d, ipa);
  if (r.status !== "RMI_SUCCESS") throw new Error(`dataCreateUnknown(${ipa.toString(16)}): ${r.status} ${r.index}`);
  return d;
}

/** Map 512 contiguous, 2 MiB aligned pages at the 2 MiB aligned `ipa` (L3 table must exist). Returns the block PA. */
export function map512(t: TestRealm, ipa: bigint, how: "unknown" | "ram" = "unknown"): bigint {
  const pa = t.delegatedBlock(SZ_2M, 512n);
  const src = how === "ram" ? nsPage(t) : 0n;
  for (let i = 0n; i < 512n; i++) {
    const r = how === "ram"
      ? t.p.rmi.dataCreate(t.rd, pa + i * G, ipa + i * G, src, 0n)
      : t.p.rmi.dataCreateUnknown(t.rd, pa + i * G, ipa + i * G);
    if (r.status !== "RMI_SUCCESS") throw new Error(`map512: ${r.status} ${r.index}`);
  }
  return pa;
}

/** RTT_READ_ENTRY as a compact tuple [walkLevel, state, desc, ripas] (walkLevel signed). */
export function entry(t: TestRealm, ipa: bigint, level: number): [number, bigint, bigint, bigint] {
  const r = t.p.rmi.rttReadEntry(t.rd, ipa, level);
  expect(r.status).toBe("RMI_SUCCESS");
  return [Number(BigInt.asIntN(64, r.walkLevel)), r.state, r.desc, r.ripas];
}

/**
 * A REC of the realm, made white-box (REC_CREATE belongs to another family): a delegated granule
 * turned REC, registered with the RMM, RD refcount +1.
 */
export function makeRec(t: TestRealm): { pa: bigint; rec: Rec } {
  const pa = t.delegated();
  const g = Number(pa / G);
  const rmm = t.p.rmm;
  const rec = new Rec(g, t.realm.rd, t.realm.recCount++, 0n, [], true, 0n, []);
  rmm.granules.setState(g, GranuleState.REC);
  rmm.granules.addRef(t.realm.rd, 1);
  rmm.recs.set(g, rec);
  return { pa, rec };
}

/**
 * A digest of the RMM state that RTT/DATA/RIPAS commands can change: granule states and
 * refcounts, every RTT's entries, each realm's state and RIM, each REC's RIPAS request, and the
 * contents of every non-NS granule.
 */
export function digest(p: Platform): string {
  const rmm = p.rmm;
  const parts: string[] = [];
  for (const [g, s] of rmm.granules.nonNs()) {
    const page = p.machine.mem.page(g);
    parts.push(`g${g}:${s}:${rmm.granules.refcount(g)}:${page ? Buffer.from(page).toString("base64") : "-"}`);
  }
  for (const k of [...rmm.rtts.keys()].sort((a, b) => a - b)) {
    const t = rmm.rtts.get(k)!;
    parts.push(`t${k}:${t.level}:${t.base}:${t.rd}:${Array.from(t.kind).join(",")}:${Array.from(t.addr).join(",")}:${Array.from(t.attr).join(",")}`);
  }
  for (const [g, r] of [...rmm.realms.entries()].sort((a, b) => a[0] - b[0])) {
    parts.push(`r${g}:${r.state}:${Buffer.from(r.rim).toString("hex")}`);
  }
  for (const [g, r] of [...rmm.recs.entries()].sort((a, b) => a[0] - b[0])) {
    parts.push(`c${g}:${JSON.stringify(r.ripas ?? null)}`);
  }
  return parts.join("\n");
}

/** A failure-condition case: set up so that exactly this condition (and no earlier one) holds. */
export interface FailCase {
  name: string;
  status: string;
  index?: number;
  /** Extra expected outputs (e.g. {top: ...}). */
  outs?: Record<string, bigint>;
  run: () => { status: string; index: number; [k: string]: unknown };
}

/** Run a failure case and check status, index, outputs, and that nothing changed. */
export function expectFailure(p: Platform, c: FailCase): void {
  const before = digest(p);
  const r = c.run();
  expect({ case: c.name, status: r.status, index: r.index }).toEqual({ case: c.name, status: c.status, index: c.index ?? 0 });
  for (const [k, v] of Object.entries(c.outs ?? {})) expect({ case: c.name, [k]: r[k] }).toEqual({ case: c.name, [k]: v });
  expect(digest(p) === before, `${c.name}: state changed by a failing command`).toBe(true);
}

/** One test per failure case, each case built on a fresh `setup()` when the tests are collected. */
export function itFailureCases<T extends { p: Platform }>(setup: () => T, cases: readonly ((t: T) => FailCase)[]): void {
  for (const mk of cases) {
    const t = setup();
    const c = mk(t);
    it(c.name, () => expectFailure(t.p, c));
  }
}

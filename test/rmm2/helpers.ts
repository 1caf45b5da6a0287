/**
 * Helpers for the RMM v2.0 tests: a host that drives the RMM through p.rmi / p.ns the way the
 * v13/v14 postings do (range delegation loops, SRO donation/reclaim loops).
 */
import { expect } from "vitest";
import { Platform, rmmDigest, type PlatformOptions } from "../../src/index.js";
import { encodeRealmParams } from "../../src/rmm/abi/realm-params.js";
import { encodeRecParams, recIndexToMpidr } from "../../src/rmm/abi/rec-params.js";
import { encodeRmmConfig } from "../../src/rmm/abi/rmm-config.js";
import { RmiAddrType, RmiOpMemReq, decodeDonateRequest, decodeIncomplete, decodeRangeList, encodeRangeDesc, encodeRangeList, encodeRttFlags, RmiOpMemState, type AddrRange } from "../../src/rmm/abi/range-desc.js";

export const DRAM = 0x8000_0000n;
export const G = 0x1000n;
/** NS scratch pages (never delegated by the tests). */
export const NS_PARAMS = DRAM + 0x7000_0000n;
export const NS_LIST = NS_PARAMS + G;
export const NS_CFG = NS_PARAMS + 2n * G;
export const NS_SRC = NS_PARAMS + 3n * G;
export const NS_RECLAIM = NS_PARAMS + 4n * G;
/** Granules the tests delegate come from here up. */
export const POOL = DRAM + 0x100_0000n;

export const RD = POOL;
/** Two concatenated level-1 root RTTs (s2sz 40), 8K aligned. */
export const PGD = POOL + 2n * G;

export function platform2(opts: PlatformOptions = {}): Platform {
  return Platform.create({ rmm: "2.0", ...opts });
}

export function ok(r: { status: string; index: number }): void {
  expect(`${r.status}/${r.index}`).toBe("RMI_SUCCESS/0");
}

/** Run `f` and expect it to change nothing (the RMM state and NS memory: rmmDigest). */
export function unchanged<T>(p: Platform, f: () => T): T {
  const before = rmmDigest(p);
  const r = f();
  expect(rmmDigest(p)).toBe(before);
  return r;
}

/** RMM boot as Linux v14 arm64_init_rmi: VERSION, FEATURES 0..4, CONFIG_SET {0,0}, ACTIVATE. */
export function boot(p: Platform): void {
  ok(p.rmi.version(0x2_0000n));
  for (let i = 0; i < 5; i++) ok(p.rmi.features(i));
  p.ns.write(NS_CFG, encodeRmmConfig({ trackingRegionSize: 0, rmiGranuleSize: 0 }));
  ok(p.rmi.rmmConfigSet(NS_CFG));
  ok(p.rmi.rmmActivate());
}

/** rmi_delegate_range: loop until out_top == top. Returns the number of calls. */
export function delegateRange(p: Platform, base: bigint, top: bigint): number {
  let calls = 0;
  while (base < top) {
    const r = p.rmi.granuleRangeDelegate(base, top);
    calls++;
    ok(r);
    expect(r.top > base).toBe(true);
    base = r.top;
  }
  return calls;
}

export function undelegateRange(p: Platform, base: bigint, top: bigint): number {
  let calls = 0;
  while (base < top) {
    const r = p.rmi.granuleRangeUndelegate(base, top);
    calls++;
    ok(r);
    base = r.top;
  }
  return calls;
}

/** Realm params as Linux v14 realm_create_rd: s2sz 40, start level 1, two root tables. */
export function writeRealmParams(p: Platform, over: Partial<Parameters<typeof encodeRealmParams>[0]> = {}): void {
  p.ns.write(NS_PARAMS, encodeRealmParams({ s2sz: 40, rttBase: PGD, rttLevelStart: 1, rttNumStart: 2, hashAlgo: 0, ...over }));
}

export function createRealm(p: Platform): void {
  delegateRange(p, RD, RD + G);
  delegateRange(p, PGD, PGD + 2n * G);
  writeRealmParams(p);
  ok(p.rmi.realmCreate(RD, NS_PARAMS));
}

/** RMI_RTT_CREATE at levels 2..3 for ipa, delegating the tables from `at`; returns the next free PA. */
export function rttsFor(p: Platform, ipa: bigint, at: bigint, toLevel = 3): bigint {
  for (let level = 2; level <= toLevel; level++) {
    const base = ipa - (ipa % (1n << BigInt(12 + 9 * (4 - level))));
    const r = p.rmi.rttReadEntry(RD, base, level - 1);
    if (r.state === 2n) continue; // TABLE already
    delegateRange(p, at, at + G);
    ok(p.rmi.rttCreate(RD, at, base, level));
    at += G;
  }
  return at;
}

/**
 * REC_CREATE as an SRO with donation (Linux v14 rmi_sro_memxfer_execute): donate the aux granules
 * from `auxBase` (already delegated) `perCall` at a time, then OP_CONTINUE. Returns the final result.
 */
export function recCreateSro(p: Platform, rec: bigint, auxBase: bigint, opts: { index?: number; runnable?: boolean; perCall?: number } = {}) {
  p.ns.write(NS_PARAMS, encodeRecParams({ flags: opts.runnable === false ? 0n : 1n, mpidr: recIndexToMpidr(opts.index ?? 0), pc: 0x8000_0000n }));
  let r = p.rmi.recCreate(RD, rec, NS_PARAMS);
  expect(r.status).toBe("RMI_INCOMPLETE");
  const handle = r.handle as bigint;
  let next = auxBase;
  let request = r.request as bigint;
  for (let guard = 0; guard < 100; guard++) {
    const info = decodeIncomplete(r.index);
    if (r.status !== "RMI_INCOMPLETE") return r;
    if (info.memreq === RmiOpMemReq.DONATE) {
      const want = decodeDonateRequest(request).count;
      const n = Math.min(want, opts.perCall ?? want);
      const descs: bigint[] = [];
      for (let i = 0; i < n; i++) descs.push(encodeRangeDesc({ addr: next + BigInt(i) * G, cnt: 1 }));
      p.ns.write(NS_LIST, encodeRangeList(descs));
      const d = p.rmi.opMemDonate(handle, NS_LIST, n);
      expect(d.consumed).toBe(BigInt(n));
      next += BigInt(n) * G;
      request = d.request as bigint;
      r = d;
    } else if (info.memreq === RmiOpMemReq.RECLAIM) {
      r = p.rmi.opMemReclaim(handle, NS_RECLAIM, 512);
    } else {
      r = p.rmi.opContinue(handle, 0);
    }
  }
  throw new Error("SRO did not finish");
}

/** Drive an SRO that asks for reclaim to its end; returns {result, reclaimed ranges}. */
export function finishReclaim(p: Platform, first: { status: string; index: number; handle?: unknown }, capacity = 512) {
  const handle = first.handle as bigint;
  const ranges: AddrRange[] = [];
  let r: { status: string; index: number; [k: string]: unknown } = first;
  for (let guard = 0; guard < 1000 && r.status === "RMI_INCOMPLETE"; guard++) {
    const info = decodeIncomplete(r.index);
    if (info.memreq === RmiOpMemReq.RECLAIM) {
      r = p.rmi.opMemReclaim(handle, NS_RECLAIM, capacity);
      const n = Number(r.count as bigint);
      ranges.push(...decodeRangeList(p.ns.read(NS_RECLAIM, 8 * n), n));
    } else if (info.memreq === RmiOpMemReq.NONE) {
      r = p.rmi.opContinue(handle, 0);
    } else {
      throw new Error("unexpected donate request");
    }
  }
  return { result: r, ranges };
}

export const SINGLE = encodeRttFlags({ oaddrType: RmiAddrType.SINGLE });
export const NONE = encodeRttFlags({ oaddrType: RmiAddrType.NONE });
export function listFlags(count: number): bigint {
  return encodeRttFlags({ oaddrType: RmiAddrType.LIST, listCount: count });
}
export function pageDesc(pa: bigint, cnt = 1, state: RmiOpMemState = RmiOpMemState.DELEGATED): bigint {
  return encodeRangeDesc({ addr: pa, cnt, state });
}

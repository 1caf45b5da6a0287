/**
 * RMI_REALM_CREATE / RMI_REALM_ACTIVATE / RMI_REALM_DESTROY (v1.0): failure conditions in order
 * (rmm-model.md 5.4-5.6), the start level / IPA width / concatenation rules (4.2), and the
 * effects through p.granule() and RTT_READ_ENTRY. RmiRealmParams are written byte by byte here.
 */
import { describe, expect, it } from "vitest";
import { Pas, Platform, type PlatformOptions } from "../../src/index.js";
import { G, Granules, MMIO_BASE, SECURE_BASE, createRtts, delegate, makeRealm } from "./helpers.js";
import { createRec, expectFail, realmWithRecs } from "./rec-helpers.js";

interface Params {
  flags?: bigint;
  s2sz?: number;
  sveVl?: number;
  numBps?: number;
  numWps?: number;
  pmuNumCtrs?: number;
  hash?: number;
  vmid?: number;
  rttBase: bigint;
  sl?: number;
  num?: number;
}

/** RmiRealmParams (RMM spec / TF-RMM smc-rmi.h struct rmi_realm_params, v1.0). */
function realmParamsBytes(q: Params): Uint8Array {
  const b = new Uint8Array(4096);
  const v = new DataView(b.buffer);
  v.setBigUint64(0x000, q.flags ?? 0n, true);
  v.setBigUint64(0x008, BigInt(q.s2sz ?? 40), true);
  v.setBigUint64(0x010, BigInt(q.sveVl ?? 0), true);
  v.setBigUint64(0x018, BigInt(q.numBps ?? 1), true);
  v.setBigUint64(0x020, BigInt(q.numWps ?? 1), true);
  v.setBigUint64(0x028, BigInt(q.pmuNumCtrs ?? 0), true);
  b[0x030] = q.hash ?? 0;
  b.fill(0x3c, 0x400, 0x440); // rpv
  v.setUint16(0x800, q.vmid ?? 1, true);
  v.setBigUint64(0x808, q.rttBase, true);
  v.setBigInt64(0x810, BigInt(q.sl ?? 1), true);
  v.setBigUint64(0x818, BigInt(q.num ?? 2), true);
  return b;
}

/** A platform with delegated candidate granules: rd, and 16 root RTT granules aligned to 64 KiB. */
function setup(opts: PlatformOptions = {}) {
  const p = Platform.create({ rmm: "1.0", ...opts });
  const alloc = new Granules();
  const rtt = alloc.aligned(16n * G, 16n);
  for (let i = 0n; i < 16n; i++) delegate(p, rtt + i * G);
  const rd = alloc.ns();
  delegate(p, rd);
  const params = (q: Omit<Params, "rttBase"> & { rttBase?: bigint }): bigint => {
    const pa = alloc.ns();
    p.ns.write(pa, realmParamsBytes({ rttBase: rtt, ...q }));
    return pa;
  };
  return { p, alloc, rtt, rd, params };
}

/** PA of the realm's first root RTT (white-box, for p.granule). */
function setupRtt(p: Platform, rd: bigint): bigint {
  return BigInt(p.rmm.realms.get(Number(rd / G))!.rttBase) * G;
}

describe("RMI_REALM_CREATE failure conditions in order", () => {
  it("params buffer, LPA2, s2sz, bps/wps, SVE, PMU, start level, root count, hash, vmid, alias, granules", () => {
    const { p, alloc, rtt, rd, params } = setup();
    const create = (pp: bigint, r = rd) => () => p.rmi.realmCreate(r, pp);
    const good = params({});
    // 1 params: align, bound, NS state/PAS
    expectFail(p, "params unaligned", "RMI_ERROR_INPUT", 0, create(good + 0x20n));
    expectFail(p, "params MMIO", "RMI_ERROR_INPUT", 0, create(MMIO_BASE));
    expectFail(p, "params secure", "RMI_ERROR_INPUT", 0, create(SECURE_BASE));
    expectFail(p, "params outside PA", "RMI_ERROR_INPUT", 0, create(1n << 48n));
    expectFail(p, "params delegated", "RMI_ERROR_INPUT", 0, create(rtt));
    const root = alloc.ns();
    p.machine.gpt.set(Number(root / G), Pas.ROOT);
    expectFail(p, "params GPT root", "RMI_ERROR_INPUT", 0, create(root));
    // each later case also breaks the vmid/alias/granule checks (rd = rtt, vmid irrelevant) to show order
    const cases: [string, Omit<Params, "rttBase">][] = [
      ["2 LPA2 not supported", { flags: 1n }],
      ["3 s2sz 31", { s2sz: 31 }],
      ["3 s2sz 49 > feature 48", { s2sz: 49, sl: 0, num: 2 }],
      ["4 num_bps 0", { numBps: 0 }],
      ["4 num_bps 7 > 6", { numBps: 7 }],
      ["4 num_wps 0", { numWps: 0 }],
      ["4 num_wps 5 > 4", { numWps: 5 }],
      ["5 SVE not supported", { flags: 2n }],
      ["6 PMU counters 9 > 8", { flags: 4n, pmuNumCtrs: 9 }],
      ["6 PMU 0 counters without FEAT_HPMN0", { flags: 4n, pmuNumCtrs: 0 }],
      ["7 sl 2 for s2sz 40", { sl: 2, num: 16 }],
      ["7 sl 3", { s2sz: 32, sl: 3, num: 1 }],
      ["7 sl -1 without LPA2", { s2sz: 40, sl: -1, num: 1 }],
      ["7 sl 1 for s2sz 44", { s2sz: 44, sl: 1, num: 32 }],
      ["7 sl 0 for s2sz 39", { s2sz: 39, sl: 0, num: 1 }],
      ["7 sl 4", { sl: 4, num: 1 }],
      ["8 rtt_num_start 1 for (40, 1)", { num: 1 }],
      ["8 rtt_num_start 4 for (40, 1)", { num: 4 }],
      ["8 rtt_num_start 2 for (48, 0)", { s2sz: 48, sl: 0, num: 2 }],
      ["9 hash 2", { hash: 2 }],
      ["9 hash 0xff", { hash: 0xff }],
    ];
    for (const [name, q] of cases) expectFail(p, name, "RMI_ERROR_INPUT", 0, create(params({ ...q }), rtt));
    // 10 vmid in use
    expect(p.rmi.realmCreate(rd, params({ vmid: 9 })).status).toBe("RMI_SUCCESS");
    const rd2 = alloc.ns();
    delegate(p, rd2);
    const rtt2 = alloc.aligned(2n * G, 2n);
    delegate(p, rtt2);
    delegate(p, rtt2 + G);
    expectFail(p, "10 vmid in use", "RMI_ERROR_INPUT", 0, create(params({ vmid: 9, rttBase: rtt2 }), rtt2));
    // 11 alias: rd inside [rtt_base, rtt_base + num * 4K)
    expectFail(p, "11 rd == rtt_base + 4K", "RMI_ERROR_INPUT", 0, create(params({ vmid: 10, rttBase: rtt2 }), rtt2 + G));
    // 12 granules: rd not DELEGATED/unaligned, a root not DELEGATED, rtt_base misaligned for 2 roots
    expectFail(p, "12 rd is an RD", "RMI_ERROR_INPUT", 0, create(params({ vmid: 10, rttBase: rtt2 }), rd));
    expectFail(p, "12 rd unaligned", "RMI_ERROR_INPUT", 0, create(params({ vmid: 10, rttBase: rtt2 }), rd2 + 4n));
    expectFail(p, "12 rd undelegated", "RMI_ERROR_INPUT", 0, create(params({ vmid: 10, rttBase: rtt2 }), alloc.ns()));
    expectFail(p, "12 rtt in use (the first realm's root)", "RMI_ERROR_INPUT", 0, create(params({ vmid: 10, rttBase: rtt }), rd2));
    const lone = alloc.aligned(2n * G, 2n);
    delegate(p, lone); // the second granule stays undelegated
    expectFail(p, "12 second root undelegated", "RMI_ERROR_INPUT", 0, create(params({ vmid: 10, rttBase: lone }), rd2));
    expectFail(p, "12 rtt_base not aligned to 2 x 4K", "RMI_ERROR_INPUT", 0, create(params({ vmid: 10, rttBase: rtt2 + G }), rd2));
    expectFail(p, "12 rtt_base MMIO", "RMI_ERROR_INPUT", 0, create(params({ vmid: 10, rttBase: MMIO_BASE }), rd2));
    expect(p.rmi.realmCreate(rd2, params({ vmid: 10, rttBase: rtt2 })).status).toBe("RMI_SUCCESS");
  });

  it("vmid must be below the number of VMIDs", () => {
    const { p, rd, params } = setup({ features: { vmidCount: 256 } });
    const pp = params({ vmid: 256 });
    expectFail(p, "vmid 256 of 256", "RMI_ERROR_INPUT", 0, () => p.rmi.realmCreate(rd, pp));
    expect(p.rmi.realmCreate(rd, params({ vmid: 255 })).status).toBe("RMI_SUCCESS");
  });

  it("accepts exactly the (s2sz, start level, root count) combinations of the concatenation rules", () => {
    const ok: [number, number, number][] = [[32, 2, 4], [33, 2, 8], [34, 2, 16], [32, 1, 1], [39, 1, 1], [40, 1, 2], [42, 1, 8], [43, 1, 16], [40, 0, 1], [48, 0, 1]];
    const bad: [number, number, number][] = [[35, 2, 32], [31, 2, 2], [44, 1, 32], [39, 0, 1], [49, 0, 2], [33, 3, 1]];
    for (const [s2sz, sl, num] of ok) {
      const { p, rd, params } = setup();
      expect({ s2sz, sl, num, r: p.rmi.realmCreate(rd, params({ s2sz, sl, num })).status }).toEqual({ s2sz, sl, num, r: "RMI_SUCCESS" });
      expect(p.granule(setupRtt(p, rd)).level).toBe(sl);
    }
    for (const [s2sz, sl, num] of bad) {
      const { p, rd, params } = setup();
      expect({ s2sz, sl, num, r: p.rmi.realmCreate(rd, params({ s2sz, sl, num })).status }).toEqual({ s2sz, sl, num, r: "RMI_ERROR_INPUT" });
    }
    // LPA2: level 0 with up to 16 concatenated tables, level -1 for 49..52 bits
    const lpa2 = { paBits: 52, features: { lpa2: true, s2sz: 52 } };
    for (const [s2sz, sl, num] of [[52, 0, 16], [49, 0, 2], [49, -1, 1], [52, -1, 1], [48, 0, 1]] as [number, number, number][]) {
      const { p, rd, params } = setup(lpa2);
      expect({ s2sz, sl, num, r: p.rmi.realmCreate(rd, params({ flags: 1n, s2sz, sl, num })).status }).toEqual({ s2sz, sl, num, r: "RMI_SUCCESS" });
    }
    for (const [s2sz, sl, num] of [[48, -1, 1], [53, -1, 1], [52, 0, 8]] as [number, number, number][]) {
      const { p, rd, params } = setup(lpa2);
      expect({ s2sz, sl, num, r: p.rmi.realmCreate(rd, params({ flags: 1n, s2sz, sl, num })).status }).toEqual({ s2sz, sl, num, r: "RMI_ERROR_INPUT" });
    }
    // without the LPA2 flag, 52-bit and level -1 are refused even on an LPA2 platform
    const { p, rd, params } = setup(lpa2);
    expect(p.rmi.realmCreate(rd, params({ s2sz: 52, sl: 0, num: 16 })).status).toBe("RMI_ERROR_INPUT");
    // level 0 needs a PA width of at least 44 bits
    const small = setup({ paBits: 40 });
    expect(small.p.rmi.realmCreate(small.rd, small.params({ s2sz: 40, sl: 0, num: 1 })).status).toBe("RMI_ERROR_INPUT");
    expect(small.p.rmi.realmCreate(small.rd, small.params({ s2sz: 40, sl: 1, num: 2 })).status).toBe("RMI_SUCCESS");
  });

  it("SVE and PMU within the features, PMU with 0 counters given FEAT_HPMN0", () => {
    const s = setup({ features: { sve: true, sveVl: 3, hpmn0: true } });
    const pp = s.params({ flags: 2n, sveVl: 4 });
    expectFail(s.p, "SVE VL 4 > 3", "RMI_ERROR_INPUT", 0, () => s.p.rmi.realmCreate(s.rd, pp));
    expect(s.p.rmi.realmCreate(s.rd, s.params({ flags: 6n, sveVl: 3, pmuNumCtrs: 0 })).status).toBe("RMI_SUCCESS");
  });

  it("success: RD and root RTTs, protected roots UNASSIGNED EMPTY, unprotected ones UNASSIGNED (NS)", () => {
    const { p, rtt, rd, params } = setup();
    expect(p.rmi.realmCreate(rd, params({ s2sz: 40, sl: 1, num: 2 }))).toEqual({ status: "RMI_SUCCESS", index: 0 });
    expect(p.granule(rd)).toMatchObject({ state: "RD", refcount: 0, realmState: "NEW" });
    for (const r of [rtt, rtt + G]) expect(p.granule(r)).toMatchObject({ state: "RTT", refcount: 0, level: 1, owner: rd });
    expect(p.granule(rtt + 2n * G).state).toBe("DELEGATED"); // only num root tables taken
    const e = (ipa: bigint) => {
      const r = p.rmi.rttReadEntry(rd, ipa, 1n);
      return [r.status, r.walkLevel, r.state, r.desc, r.ripas];
    };
    expect(e(0n)).toEqual(["RMI_SUCCESS", 1n, 0n, 0n, 0n]);
    expect(e((1n << 39n) - (1n << 30n))).toEqual(["RMI_SUCCESS", 1n, 0n, 0n, 0n]);
    expect(e(1n << 39n)).toEqual(["RMI_SUCCESS", 1n, 0n, 0n, 0n]);
    expect(p.rmi.rttReadEntry(rd, 1n << 40n, 1n).status).toBe("RMI_ERROR_INPUT");
    expect(p.rmi.recAuxCount(rd).auxCount).toBe(16n);
  });
});

describe("RMI_REALM_ACTIVATE", () => {
  it("rd must be an RD; realm must be NEW", () => {
    const { t } = realmWithRecs(1, { activate: false });
    const p = t.p;
    expectFail(p, "rd unaligned", "RMI_ERROR_INPUT", 0, () => p.rmi.realmActivate(t.rd + 1n));
    expectFail(p, "rd is an RTT", "RMI_ERROR_INPUT", 0, () => p.rmi.realmActivate(t.rtt));
    expectFail(p, "rd MMIO", "RMI_ERROR_INPUT", 0, () => p.rmi.realmActivate(MMIO_BASE));
    expect(p.rmi.realmActivate(t.rd)).toEqual({ status: "RMI_SUCCESS", index: 0 });
    expect(p.granule(t.rd).realmState).toBe("ACTIVE");
    expectFail(p, "ACTIVE", "RMI_ERROR_REALM", 0, () => p.rmi.realmActivate(t.rd));
    // SYSTEM_OFF (the realm turned itself off)
    const run = t.alloc.ns();
    p.ns.write(run, new Uint8Array(0x800));
    p.rmm.guest = (v) => void v.psci(0x8400_0008n);
    const rec = [...p.rmm.recs.keys()][0]!;
    expect(p.rmi.recEnter(BigInt(rec) * G, run).status).toBe("RMI_SUCCESS");
    expect(p.granule(t.rd).realmState).toBe("SYSTEM_OFF");
    expectFail(p, "SYSTEM_OFF", "RMI_ERROR_REALM", 0, () => p.rmi.realmActivate(t.rd));
  });
});

describe("RMI_REALM_DESTROY", () => {
  it("rd must be an RD; a realm with RECs or a live root RTT is REALM; then everything is released", () => {
    const t = makeRealm({ vmid: 5 });
    const p = t.p;
    const { rec } = createRec(t);
    expectFail(p, "rd unaligned", "RMI_ERROR_INPUT", 0, () => p.rmi.realmDestroy(t.rd + 0x800n));
    expectFail(p, "rd is a REC", "RMI_ERROR_INPUT", 0, () => p.rmi.realmDestroy(rec));
    expectFail(p, "live: a REC exists", "RMI_ERROR_REALM", 0, () => p.rmi.realmDestroy(t.rd));
    expect(p.rmi.recDestroy(rec).status).toBe("RMI_SUCCESS");
    // a TABLE entry in a root RTT
    createRtts(t, 0x4000_0000n, 2);
    expect(p.granule(t.rtt).refcount).toBe(1);
    expectFail(p, "live: root TABLE entry", "RMI_ERROR_REALM", 0, () => p.rmi.realmDestroy(t.rd));
    const d = p.rmi.rttDestroy(t.rd, 0x4000_0000n, 2n);
    expect(d.status).toBe("RMI_SUCCESS");
    expect(p.rmi.realmDestroy(t.rd)).toEqual({ status: "RMI_SUCCESS", index: 0 });
    for (const g of [t.rd, t.rtt, t.rtt + G, d.rtt]) {
      expect(p.granule(g)).toMatchObject({ state: "DELEGATED", refcount: 0 });
      expect(p.machine.mem.isZero(Number(g / G))).toBe(true);
    }
    expectFail(p, "destroyed twice", "RMI_ERROR_INPUT", 0, () => p.rmi.realmDestroy(t.rd));
    // the RD, roots and VMID can be used again
    const again = makeRealm({ p, alloc: t.alloc, vmid: 5 });
    expect(p.granule(again.rd).state).toBe("RD");
  });
});

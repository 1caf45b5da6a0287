/** RTT_UNPROT_MAP / RTT_UNPROT_UNMAP, and the SRO flows of REC_CREATE / REC_DESTROY. */
import { describe, expect, it } from "vitest";
import { RmiAddrType, RmiOpMemReq, RmiOpMemState, decodeDonateRequest, decodeIncomplete, decodeRangeList, encodeRangeDesc, encodeRangeList, encodeRecParams, encodeRttFlags, recIndexToMpidr } from "../../src/index.js";
import { DRAM, G, NS_LIST, NS_PARAMS, NS_RECLAIM, NONE, POOL, RD, SINGLE, createRealm, delegateRange, finishReclaim, listFlags, ok, pageDesc, platform2, recCreateSro, rttsFor, unchanged } from "./helpers.js";

const SH = 1n << 39n;
const NSPAGE = DRAM + 0x6000_0000n;
const RW_WB = encodeRttFlags({ oaddrType: RmiAddrType.SINGLE, memattr: 6, s2ap: 3 });
const ns = (pa: bigint, cnt = 1) => pageDesc(pa, cnt, RmiOpMemState.UNDELEGATED);

function setup() {
  const p = platform2({ startActive: true, progress: { maxGranulesPerCall: Infinity } });
  createRealm(p);
  rttsFor(p, SH, POOL + 0x10n * G);
  return p;
}

describe("RTT_UNPROT_MAP / RTT_UNPROT_UNMAP", () => {
  it("map failure conditions in order", () => {
    const p = setup();
    const T: [string, bigint, bigint, bigint, bigint, string, number?][] = [
      ["protected range", 0n, G, RW_WB, ns(NSPAGE), "RMI_ERROR_INPUT"],
      ["descriptor DELEGATED", SH, SH + G, RW_WB, pageDesc(NSPAGE), "RMI_ERROR_INPUT"],
      ["S2AP bit 2", SH, SH + G, encodeRttFlags({ oaddrType: 1, memattr: 6, s2ap: 4 }), ns(NSPAGE), "RMI_ERROR_INPUT"],
      ["no L3 table", SH + 0x20_0000n, SH + 0x20_1000n, RW_WB, ns(NSPAGE), "RMI_ERROR_RTT", 2],
      ["MemAttr 0b100 (FWB reserved)", SH, SH + G, encodeRttFlags({ oaddrType: 1, memattr: 4, s2ap: 3 }), ns(NSPAGE), "RMI_ERROR_INPUT"],
      ["OA above 2^48", SH, SH + G, RW_WB, ns(1n << 48n), "RMI_ERROR_INPUT"],
    ];
    for (const [what, b, t, f, o, status, index] of T) {
      expect(unchanged(p, () => p.rmi.rttUnprotMap(RD, b, t, f, o)), what).toMatchObject({ status, index: index ?? 0 });
    }
    ok(p.rmi.rttUnprotMap(RD, SH, SH + G, RW_WB, ns(NSPAGE)));
    // Same mapping again: idempotent. Other attributes or PA: RTT(3).
    ok(p.rmi.rttUnprotMap(RD, SH, SH + G, RW_WB, ns(NSPAGE)));
    const ro = encodeRttFlags({ oaddrType: 1, memattr: 6, s2ap: 2 });
    expect(unchanged(p, () => p.rmi.rttUnprotMap(RD, SH, SH + G, ro, ns(NSPAGE)))).toMatchObject({ status: "RMI_ERROR_RTT", index: 3 });
    expect(p.rmi.rttReadEntry(RD, SH, 3)).toMatchObject({ state: 1n, desc: NSPAGE | 0x18n | 0xc0n });
    expect(p.granule(NSPAGE)).toMatchObject({ state: "UNDELEGATED", refcount: 0 });
  });

  it("maps a LIST of NS pages and a 2 MiB NS block; unmap returns them with ST = UNDELEGATED", () => {
    const p = setup();
    p.ns.write(NS_LIST, encodeRangeList([ns(NSPAGE, 2), ns(NSPAGE + 8n * G)]));
    const list = encodeRttFlags({ oaddrType: RmiAddrType.LIST, listCount: 2, memattr: 6, s2ap: 1 });
    expect(p.rmi.rttUnprotMap(RD, SH, SH + 4n * G, list, NS_LIST)).toMatchObject({ status: "RMI_SUCCESS", top: SH + 3n * G });
    let r = p.rmi.rttUnprotUnmap(RD, SH, SH + 0x20_0000n, listFlags(4), NS_LIST);
    expect(r).toMatchObject({ status: "RMI_SUCCESS", top: SH + 0x20_0000n, count: 2n });
    expect(decodeRangeList(p.ns.read(NS_LIST, 16))).toEqual([
      { addr: NSPAGE, sz: 0, cnt: 2, state: 1 },
      { addr: NSPAGE + 8n * G, sz: 0, cnt: 1, state: 1 },
    ]);
    // 2 MiB block at level 2 in the next 2 MiB (L2 table exists).
    const blk = encodeRangeDesc({ addr: DRAM + 0x6020_0000n, sz: 1, cnt: 1, state: RmiOpMemState.UNDELEGATED });
    ok(p.rmi.rttUnprotMap(RD, SH + 0x20_0000n, SH + 0x40_0000n, RW_WB, blk));
    expect(p.rmi.rttReadEntry(RD, SH + 0x20_0000n, 2)).toMatchObject({ walkLevel: 2n, state: 1n });
    r = p.rmi.rttUnprotUnmap(RD, SH + 0x20_0000n, SH + 0x40_0000n, SINGLE, 0n);
    // TF-RMM forms x2 as addr | CNT | SZ (ST not set) for SINGLE.
    expect(r).toMatchObject({ status: "RMI_SUCCESS", top: SH + 0x40_0000n, range: encodeRangeDesc({ addr: DRAM + 0x6020_0000n, sz: 1, cnt: 1 }) });
    expect(unchanged(p, () => p.rmi.rttUnprotUnmap(RD, 0n, G, NONE, 0n)).status).toBe("RMI_ERROR_INPUT");
  });
});

describe("SRO: REC_CREATE and REC_DESTROY", () => {
  const REC = POOL + 0x40n * G;
  const AUX = REC + G;
  function setupRec() {
    const p = platform2({ startActive: true, progress: { maxGranulesPerCall: Infinity } });
    createRealm(p);
    delegateRange(p, REC, REC + 17n * G);
    return p;
  }

  it("REC_CREATE asks for 16 delegated 4 KiB granules, cancellable; donation can come in pieces", () => {
    const p = setupRec();
    expect(unchanged(p, () => p.rmi.recCreate(RD, NS_PARAMS, NS_PARAMS)).status).toBe("RMI_ERROR_INPUT");
    p.ns.write(NS_PARAMS, encodeRecParams({ flags: 1n, mpidr: 0n }));
    const r = p.rmi.recCreate(RD, REC, NS_PARAMS);
    expect(r.status).toBe("RMI_INCOMPLETE");
    expect(decodeIncomplete(r.index)).toEqual({ memreq: RmiOpMemReq.DONATE, canCancel: true });
    expect(decodeDonateRequest(r.request as bigint)).toEqual({ sz: 0, count: 16, contig: false, state: 0 });
    expect(p.granule(REC).state).toBe("PARTIAL");
    const h = r.handle as bigint;
    // OP failure conditions while a donation is expected.
    expect(unchanged(p, () => p.rmi.opContinue(h, 0)).status).toBe("RMI_ERROR_INPUT");
    expect(unchanged(p, () => p.rmi.opMemReclaim(h, NS_RECLAIM, 4)).status).toBe("RMI_ERROR_INPUT");
    expect(unchanged(p, () => p.rmi.opMemDonate(h + 99n, NS_LIST, 1)).status).toBe("RMI_ERROR_INPUT");
    expect(unchanged(p, () => p.rmi.opMemDonate(h, NS_LIST + 4n, 1)).status).toBe("RMI_ERROR_INPUT");
    expect(unchanged(p, () => p.rmi.opMemDonate(h, AUX, 1)).status).toBe("RMI_ERROR_INPUT"); // list not NS
    p.ns.write(NS_LIST, encodeRangeList([pageDesc(AUX, 17)]));
    expect(unchanged(p, () => p.rmi.opMemDonate(h, NS_LIST, 1)).status).toBe("RMI_ERROR_INPUT"); // more than requested
    p.ns.write(NS_LIST, encodeRangeList([pageDesc(AUX, 1, RmiOpMemState.UNDELEGATED)]));
    expect(unchanged(p, () => p.rmi.opMemDonate(h, NS_LIST, 1)).status).toBe("RMI_ERROR_INPUT"); // wrong state
    p.ns.write(NS_LIST, encodeRangeList([pageDesc(NS_PARAMS)]));
    expect(unchanged(p, () => p.rmi.opMemDonate(h, NS_LIST, 1)).status).toBe("RMI_ERROR_INPUT"); // not delegated
    // Donate 5 + 11 (the second list has an empty descriptor in the middle).
    p.ns.write(NS_LIST, encodeRangeList([pageDesc(AUX, 5)]));
    let d = p.rmi.opMemDonate(h, NS_LIST, 1);
    expect(d).toMatchObject({ status: "RMI_INCOMPLETE", consumed: 5n });
    expect(decodeDonateRequest(d.request as bigint).count).toBe(11);
    p.ns.write(NS_LIST, encodeRangeList([pageDesc(AUX + 5n * G, 6), pageDesc(0n, 0), pageDesc(AUX + 11n * G, 5)]));
    d = p.rmi.opMemDonate(h, NS_LIST, 3);
    expect(d).toMatchObject({ status: "RMI_INCOMPLETE", consumed: 11n, request: 0n });
    expect(decodeIncomplete(d.index).memreq).toBe(RmiOpMemReq.NONE);
    expect(p.granuleCounts().REC_AUX).toBe(16);
    ok(p.rmi.opContinue(h, 0));
    expect(p.granule(REC)).toMatchObject({ state: "REC", recIndex: 0 });
    expect(p.granule(RD).refcount).toBe(1);
    expect(p.rmi.opContinue(h, 0).status).toBe("RMI_ERROR_INPUT"); // handle released
  });

  it("a failing check after the donation asks for a reclaim, then reports the error", () => {
    const p = setupRec();
    ok(p.rmi.realmActivate(RD));
    const r = recCreateSro(p, REC, AUX, { perCall: 16 });
    expect(r.status).toBe("RMI_ERROR_REALM");
    expect(p.granule(REC).state).toBe("DELEGATED");
    expect(p.granuleCounts()).toMatchObject({ DELEGATED: 17, REC_AUX: 0, PARTIAL: 0 });
    // mpidr not the next index: INPUT, after the reclaim.
    const q = setupRec();
    expect(recCreateSro(q, REC, AUX, { index: 1 }).status).toBe("RMI_ERROR_INPUT");
    expect(q.granuleCounts()).toMatchObject({ DELEGATED: 17, REC_AUX: 0 });
  });

  it("OP_CANCEL: before any donation -> SUCCESS; after some -> reclaim first", () => {
    const p = setupRec();
    p.ns.write(NS_PARAMS, encodeRecParams({ flags: 1n, mpidr: recIndexToMpidr(0) }));
    let r = p.rmi.recCreate(RD, REC, NS_PARAMS);
    ok(p.rmi.opCancel(r.handle as bigint));
    expect(p.granule(REC).state).toBe("DELEGATED");
    r = p.rmi.recCreate(RD, REC, NS_PARAMS);
    const h = r.handle as bigint;
    p.ns.write(NS_LIST, encodeRangeList([pageDesc(AUX, 3)]));
    p.rmi.opMemDonate(h, NS_LIST, 1);
    const c = p.rmi.opCancel(h);
    expect(c.status).toBe("RMI_INCOMPLETE");
    expect(decodeIncomplete(c.index)).toEqual({ memreq: RmiOpMemReq.RECLAIM, canCancel: false });
    expect(p.rmi.opCancel(h).status).toBe("RMI_ERROR_INPUT");
    const fin = finishReclaim(p, { ...c, handle: h });
    ok(fin.result);
    expect(fin.ranges).toEqual([{ addr: AUX, sz: 0, cnt: 3, state: 0 }]);
    expect(p.granuleCounts()).toMatchObject({ DELEGATED: 17, REC_AUX: 0, PARTIAL: 0 });
  });

  it("REC_DESTROY hands the aux granules back by reclaim, a few descriptors at a time", () => {
    const p = setupRec();
    // Donate the aux granules out of order so they form several runs.
    const order = [5, 6, 7, 0, 1, 10, 11, 12, 13, 2, 3, 4, 8, 9, 14, 15];
    p.ns.write(NS_PARAMS, encodeRecParams({ flags: 1n, mpidr: 0n }));
    const r = p.rmi.recCreate(RD, REC, NS_PARAMS);
    const h = r.handle as bigint;
    p.ns.write(NS_LIST, encodeRangeList(order.map((i) => pageDesc(AUX + BigInt(i) * G))));
    p.rmi.opMemDonate(h, NS_LIST, 16);
    ok(p.rmi.opContinue(h, 0));
    expect(unchanged(p, () => p.rmi.recDestroy(AUX)).status).toBe("RMI_ERROR_INPUT");
    const d = p.rmi.recDestroy(REC);
    expect(d.status).toBe("RMI_INCOMPLETE");
    expect(decodeIncomplete(d.index)).toEqual({ memreq: RmiOpMemReq.RECLAIM, canCancel: false });
    expect(p.granule(REC).state).toBe("PARTIAL");
    expect(p.granule(RD).refcount).toBe(0);
    const z = p.rmi.opMemReclaim(d.handle as bigint, NS_RECLAIM, 0);
    expect(z).toMatchObject({ status: "RMI_INCOMPLETE", count: 0n });
    const fin = finishReclaim(p, d, 1);
    ok(fin.result);
    const got = fin.ranges.flatMap((x) => Array.from({ length: x.cnt }, (_, i) => x.addr + BigInt(i) * G)).sort();
    expect(got).toEqual(order.map((i) => AUX + BigInt(i) * G).sort());
    expect(fin.ranges.length).toBeLessThan(16); // contiguous granules merged
    expect(p.granuleCounts()).toMatchObject({ DELEGATED: 17, REC: 0, REC_AUX: 0, PARTIAL: 0 });
  });

  it("REC_DESTROY of a running REC -> REC", () => {
    const p = setupRec();
    ok(recCreateSro(p, REC, AUX));
    p.rmm.granules.setRef(Number(REC / G), 1); // inside REC_ENTER
    expect(unchanged(p, () => p.rmi.recDestroy(REC)).status).toBe("RMI_ERROR_REC");
  });
});

/** RTT_DATA_MAP_INIT, RTT_DATA_MAP, RTT_DATA_UNMAP, range RTT_INIT_RIPAS (RMM 2.0). */
import { describe, expect, it } from "vitest";
import { RmiAddrSize, RmiOpMemState, decodeIncomplete, decodeRangeList, encodeRangeDesc, encodeRangeList, type PlatformOptions } from "../../src/index.js";
import { G, NS_LIST, NS_PARAMS, NS_SRC, NONE, POOL, RD, SINGLE, createRealm, delegateRange, listFlags, ok, pageDesc, platform2, rttsFor, unchanged } from "./helpers.js";

const DATA = POOL + 0x100n * G; // 1 MiB of delegated pages
const BLK = 0x8000_0000n + 0x400_0000n; // a 2 MiB aligned block

function setup(opts: PlatformOptions = {}) {
  const p = platform2({ startActive: true, ...opts, progress: { maxGranulesPerCall: Infinity, ...opts.progress } });
  createRealm(p);
  rttsFor(p, 0n, POOL + 0x10n * G); // L2 + L3 tables covering IPA [0, 2 MiB)
  delegateRange(p, DATA, DATA + 256n * G);
  return p;
}

describe("RTT_DATA_MAP_INIT", () => {
  it("failure conditions in TF-RMM main order", () => {
    const p = setup();
    p.ns.write(NS_SRC, new Uint8Array(4096).fill(7));
    const T: [string, bigint, bigint, bigint, bigint, bigint, string, number?][] = [
      ["flags 2", RD, DATA, 0n, NS_SRC, 2n, "RMI_ERROR_INPUT"],
      ["src delegated", RD, DATA, 0n, DATA + G, 0n, "RMI_ERROR_INPUT"],
      ["src MMIO", RD, DATA, 0n, 0x1c00_0000n, 0n, "RMI_ERROR_INPUT"],
      ["rd not RD", DATA, DATA, 0n, NS_SRC, 0n, "RMI_ERROR_INPUT"],
      ["ipa unprotected", RD, DATA, 1n << 39n, NS_SRC, 0n, "RMI_ERROR_INPUT"],
      ["ipa unaligned", RD, DATA, 0x10n, NS_SRC, 0n, "RMI_ERROR_INPUT"],
      ["no L3 table", RD, DATA, 0x20_0000n, NS_SRC, 0n, "RMI_ERROR_RTT", 2],
      ["data not delegated", RD, NS_PARAMS, 0n, NS_SRC, 0n, "RMI_ERROR_INPUT"],
      ["data == rd", RD, RD, 0n, NS_SRC, 0n, "RMI_ERROR_INPUT"],
    ];
    for (const [what, rd, data, ipa, src, flags, status, index] of T) {
      expect(unchanged(p, () => p.rmi.rttDataMapInit(rd, data, ipa, src, flags)), what).toMatchObject({ status, index: index ?? 0 });
    }
    ok(p.rmi.rttDataMapInit(RD, DATA, 0n, NS_SRC, 1n));
    expect(p.ns.read(NS_SRC, 1)[0]).toBe(7);
    expect(p.rmi.rttReadEntry(RD, 0n, 3)).toMatchObject({ state: 1n, ripas: 1n, desc: DATA });
    expect(p.granule(POOL + 0x11n * G).refcount).toBe(1); // the L3 table
    expect(unchanged(p, () => p.rmi.rttDataMapInit(RD, DATA + G, 0n, NS_SRC, 0n))).toMatchObject({ status: "RMI_ERROR_RTT", index: 3 });
    ok(p.rmi.realmActivate(RD));
    expect(unchanged(p, () => p.rmi.rttDataMapInit(RD, DATA + G, 0x1000n, NS_SRC, 0n)).status).toBe("RMI_ERROR_REALM");
  });
});

describe("RTT_DATA_MAP", () => {
  it("failure conditions in order", () => {
    const p = setup();
    p.ns.write(NS_LIST, encodeRangeList([pageDesc(DATA)]));
    const T: [string, bigint, bigint, bigint, bigint, bigint, string, number?][] = [
      ["rd", DATA, 0n, G, SINGLE, pageDesc(DATA), "RMI_ERROR_INPUT"],
      ["top == base", RD, G, G, SINGLE, pageDesc(DATA), "RMI_ERROR_INPUT"],
      ["type NONE", RD, 0n, G, NONE, pageDesc(DATA), "RMI_ERROR_INPUT"],
      ["LIST count 0", RD, 0n, G, listFlags(0), NS_LIST, "RMI_ERROR_INPUT"],
      ["LIST unaligned", RD, 0n, G, listFlags(1), NS_LIST + 4n, "RMI_ERROR_INPUT"],
      ["LIST in delegated memory", RD, 0n, G, listFlags(1), DATA, "RMI_ERROR_INPUT"],
      ["first descriptor empty", RD, 0n, G, SINGLE, pageDesc(DATA, 0), "RMI_ERROR_INPUT"],
      ["descriptor UNDELEGATED", RD, 0n, G, SINGLE, pageDesc(DATA, 1, RmiOpMemState.UNDELEGATED), "RMI_ERROR_INPUT"],
      ["level 0 (SZ 3)", RD, 0n, G, SINGLE, encodeRangeDesc({ addr: 0n, sz: RmiAddrSize.BLOCK_L0, cnt: 1 }), "RMI_ERROR_INPUT"],
      ["base not aligned to the level", RD, G, 0x40_0000n, SINGLE, encodeRangeDesc({ addr: BLK, sz: 1, cnt: 1 }), "RMI_ERROR_INPUT"],
      ["top unaligned", RD, 0n, G + 8n, SINGLE, pageDesc(DATA), "RMI_ERROR_INPUT"],
      ["range leaves the PAR", RD, (1n << 39n) - G, (1n << 39n) + G, SINGLE, pageDesc(DATA), "RMI_ERROR_INPUT"],
      ["range shorter than a block", RD, 0n, G, SINGLE, encodeRangeDesc({ addr: BLK, sz: 1, cnt: 1 }), "RMI_ERROR_RTT", 2],
      ["no L3 table", RD, 0x20_0000n, 0x20_1000n, SINGLE, pageDesc(DATA), "RMI_ERROR_RTT", 2],
      ["no L2 table for a block", RD, 0x4000_0000n, 0x4020_0000n, SINGLE, encodeRangeDesc({ addr: BLK, sz: 1, cnt: 1 }), "RMI_ERROR_RTT", 1],
      ["PA not aligned to the block", RD, 0x20_0000n, 0x40_0000n, SINGLE, encodeRangeDesc({ addr: BLK + G, sz: 1, cnt: 1 }), "RMI_ERROR_INPUT"],
      ["PA above 2^48", RD, 0n, G, SINGLE, pageDesc(1n << 48n), "RMI_ERROR_INPUT"],
      ["granule not delegated", RD, 0n, G, SINGLE, pageDesc(NS_PARAMS), "RMI_ERROR_INPUT"],
      ["block of 2 MiB at a L3 entry", RD, 0n, 0x20_0000n, SINGLE, encodeRangeDesc({ addr: BLK, sz: 1, cnt: 1 }), "RMI_ERROR_RTT", 2],
    ];
    for (const [what, rd, b, t, f, o, status, index] of T) {
      expect(unchanged(p, () => p.rmi.rttDataMap(rd, b, t, f, o)), what).toMatchObject({ status, index: index ?? 0, top: 0n });
    }
    ok(p.rmi.rttDataMap(RD, 0n, G, SINGLE, pageDesc(DATA)));
    expect(unchanged(p, () => p.rmi.rttDataMap(RD, 0n, G, SINGLE, pageDesc(DATA + G)))).toMatchObject({ status: "RMI_ERROR_RTT", index: 3 });
    ok(p.rmi.realmTerminate(RD));
    expect(unchanged(p, () => p.rmi.rttDataMap(RD, G, 2n * G, SINGLE, pageDesc(DATA + G))).status).toBe("RMI_ERROR_REALM");
  });

  it("maps pages with RIPAS unchanged, is idempotent, stops early with SUCCESS and out_top", () => {
    const p = setup();
    // 8 pages; the 5th PA is not delegated: 4 mapped, out_top = 4 pages.
    ok(p.rmi.granuleRangeUndelegate(DATA + 4n * G, DATA + 5n * G));
    const r = p.rmi.rttDataMap(RD, 0n, 8n * G, SINGLE, pageDesc(DATA, 8));
    expect(r).toMatchObject({ status: "RMI_SUCCESS", top: 4n * G });
    expect(p.rmi.rttReadEntry(RD, 3n * G, 3)).toMatchObject({ state: 1n, ripas: 0n, desc: DATA + 3n * G });
    expect(p.rmi.rttReadEntry(RD, 4n * G, 3)).toMatchObject({ state: 0n });
    // Same call again: the mapped entries count as progress (same PA), it stops at the same place.
    expect(p.rmi.rttDataMap(RD, 0n, 8n * G, SINGLE, pageDesc(DATA, 8))).toMatchObject({ status: "RMI_SUCCESS", top: 4n * G });
    expect(p.granuleCounts().DATA).toBe(4);
    // The list ends before top: progress up to where it ends.
    expect(p.rmi.rttDataMap(RD, 5n * G, 8n * G, SINGLE, pageDesc(DATA + 5n * G, 2))).toMatchObject({ status: "RMI_SUCCESS", top: 7n * G });
  });

  it("LIST operands are read from NS memory, anywhere in a granule, clipped at its end", () => {
    const p = setup();
    const at = NS_LIST + 4096n - 16n; // room for 2 descriptors
    p.ns.write(at, encodeRangeList([pageDesc(DATA + 10n * G), pageDesc(DATA + 20n * G, 2)]));
    const r = p.rmi.rttDataMap(RD, 0n, 8n * G, listFlags(100), at);
    expect(r).toMatchObject({ status: "RMI_SUCCESS", top: 3n * G });
    expect([0n, G, 2n * G].map((ipa) => p.rmi.rttReadEntry(RD, ipa, 3).desc)).toEqual([DATA + 10n * G, DATA + 20n * G, DATA + 21n * G]);
    // A later descriptor of another size stops with progress.
    p.ns.write(NS_LIST, encodeRangeList([pageDesc(DATA + 30n * G), encodeRangeDesc({ addr: BLK, sz: 1, cnt: 1 })]));
    expect(p.rmi.rttDataMap(RD, 8n * G, 16n * G, listFlags(2), NS_LIST)).toMatchObject({ status: "RMI_SUCCESS", top: 9n * G });
  });

  it("maps a 2 MiB block at level 2 and never crosses the end of the leaf RTT", () => {
    const p = setup();
    rttsFor(p, 0x4000_0000n, POOL + 0x20n * G, 2);
    delegateRange(p, BLK, BLK + 0x60_0000n);
    const descs = encodeRangeDesc({ addr: BLK, sz: 1, cnt: 3 });
    // [1 GiB - 2 MiB ... 1 GiB + 4 MiB) crosses from one L2 table into another: stops at 1 GiB.
    rttsFor(p, 0n, POOL, 2);
    const r = p.rmi.rttDataMap(RD, 0x3fe0_0000n, 0x4040_0000n, SINGLE, descs);
    expect(r).toMatchObject({ status: "RMI_SUCCESS", top: 0x4000_0000n });
    expect(p.rmi.rttReadEntry(RD, 0x3fe0_0000n, 2)).toMatchObject({ walkLevel: 2n, state: 1n, desc: BLK });
    expect(p.granuleCounts().DATA).toBe(512);
  });

  it("maxEntriesPerCall bounds the entries per call", () => {
    const p = setup({ progress: { maxEntriesPerCall: 3 } });
    let base = 0n;
    let calls = 0;
    while (base < 8n * G) {
      const r = p.rmi.rttDataMap(RD, base, 8n * G, SINGLE, pageDesc(DATA + base, Number((8n * G - base) / G)));
      ok(r);
      base = r.top as bigint;
      calls++;
    }
    expect(calls).toBe(3);
  });

  it("dataMapYieldGranules: a block yields INCOMPLETE and finishes with OP_CONTINUE; BUSY meanwhile", () => {
    const p = setup({ progress: { dataMapYieldGranules: 200 } });
    rttsFor(p, 0n, POOL + 0x20n * G, 2);
    delegateRange(p, BLK, BLK + 0x20_0000n);
    ok(p.rmi.rttDataMap(RD, 0x20_0000n - G, 0x20_0000n, SINGLE, pageDesc(DATA))); // pages never yield
    let r = p.rmi.rttDataMap(RD, 0x20_0000n, 0x40_0000n, SINGLE, encodeRangeDesc({ addr: BLK, sz: 1, cnt: 1 }));
    expect(r.status).toBe("RMI_INCOMPLETE");
    expect(decodeIncomplete(r.index)).toEqual({ memreq: 0, canCancel: false });
    const h = r.top as bigint; // x1 of an INCOMPLETE is the SRO handle
    expect(h).toBeGreaterThan(0n);
    expect(p.rmi.rttReadEntry(RD, 0x20_0000n, 2)).toMatchObject({ state: 0n });
    expect(p.rmi.rttDataMap(RD, 0x20_0000n, 0x40_0000n, SINGLE, encodeRangeDesc({ addr: BLK, sz: 1, cnt: 1 })).status).toBe("RMI_BUSY");
    expect(p.rmi.opCancel(h).status).toBe("RMI_ERROR_INPUT");
    r = p.rmi.opContinue(h, 0);
    expect(r).toMatchObject({ status: "RMI_INCOMPLETE", handle: 0n });
    r = p.rmi.opContinue(h, 0);
    expect(r).toMatchObject({ status: "RMI_SUCCESS", handle: 0x40_0000n });
    expect(p.rmi.opContinue(h, 0).status).toBe("RMI_ERROR_INPUT"); // released
    expect(p.rmi.rttReadEntry(RD, 0x20_0000n, 2)).toMatchObject({ state: 1n, desc: BLK });
    expect(p.granuleCounts().DATA).toBe(513);
  });

  it("a yielded block rolls back when the host undelegates one of its granules", () => {
    const p = setup({ progress: { dataMapYieldGranules: 256 } });
    rttsFor(p, 0x4000_0000n, POOL + 0x20n * G, 2);
    delegateRange(p, BLK, BLK + 0x20_0000n);
    const r = p.rmi.rttDataMap(RD, 0x4000_0000n, 0x4020_0000n, SINGLE, encodeRangeDesc({ addr: BLK, sz: 1, cnt: 1 }));
    expect(r.status).toBe("RMI_INCOMPLETE");
    ok(p.rmi.granuleRangeUndelegate(BLK + 0x1ff000n, BLK + 0x20_0000n));
    expect(p.rmi.opContinue(r.top as bigint, 0).status).toBe("RMI_ERROR_INPUT");
    expect(p.granuleCounts().DATA).toBe(0);
    expect(p.rmi.rttReadEntry(RD, 0x4000_0000n, 2)).toMatchObject({ state: 0n });
  });
});

describe("RTT_DATA_UNMAP", () => {
  function mapped() {
    const p = setup();
    // IPA pages 0..7 -> DATA+0..3, DATA+10..13 (two contiguous runs)
    ok(p.rmi.rttDataMap(RD, 0n, 4n * G, SINGLE, pageDesc(DATA, 4)));
    ok(p.rmi.rttDataMap(RD, 4n * G, 8n * G, SINGLE, pageDesc(DATA + 10n * G, 4)));
    return p;
  }

  it("failure conditions in order (no realm state check)", () => {
    const p = mapped();
    const T: [string, bigint, bigint, bigint, bigint, bigint, string, number?][] = [
      ["rd", DATA, 0n, G, SINGLE, 0n, "RMI_ERROR_INPUT"],
      ["base unaligned", RD, 8n, G, SINGLE, 0n, "RMI_ERROR_INPUT"],
      ["top <= base", RD, G, G, SINGLE, 0n, "RMI_ERROR_INPUT"],
      ["top past the IPA space", RD, 0n, (1n << 40n) + G, SINGLE, 0n, "RMI_ERROR_INPUT"],
      ["not in the PAR", RD, 1n << 39n, (1n << 39n) + G, SINGLE, 0n, "RMI_ERROR_INPUT"],
      ["SINGLE with oaddr", RD, 0n, G, SINGLE, 8n, "RMI_ERROR_INPUT"],
      ["NONE with list count", RD, 0n, G, NONE | (1n << 2n), 0n, "RMI_ERROR_INPUT"],
      ["LIST count 0", RD, 0n, G, listFlags(0), NS_LIST, "RMI_ERROR_INPUT"],
      ["LIST unaligned", RD, 0n, G, listFlags(1), NS_LIST + 1n, "RMI_ERROR_INPUT"],
      ["LIST not NS", RD, 0n, G, listFlags(1), DATA + 100n * G, "RMI_ERROR_INPUT"],
      ["type 3", RD, 0n, G, 3n, 0n, "RMI_ERROR_INPUT"],
      ["base inside a 2 MiB unassigned entry", RD, 0x20_1000n, 0x20_2000n, SINGLE, 0n, "RMI_ERROR_RTT", 2],
      ["non-live entry larger than the range", RD, 0x20_0000n, 0x20_1000n, SINGLE, 0n, "RMI_ERROR_RTT", 2],
    ];
    for (const [what, rd, b, t, f, o, status, index] of T) {
      expect(unchanged(p, () => p.rmi.rttDataUnmap(rd, b, t, f, o)), what).toMatchObject({ status, index: index ?? 0, top: 0n, range: 0n, count: 0n });
    }
  });

  it("SINGLE returns one contiguous run; the DATA granules go back to DELEGATED", () => {
    const p = mapped();
    ok(p.rmi.realmTerminate(RD));
    let r = p.rmi.rttDataUnmap(RD, 0n, 0x20_0000n, SINGLE, 0n);
    expect(r).toMatchObject({ status: "RMI_SUCCESS", top: 4n * G, range: pageDesc(DATA, 4), count: 0n });
    expect(p.granule(DATA)).toMatchObject({ state: "DELEGATED" });
    expect(p.rmi.rttReadEntry(RD, 0n, 3)).toMatchObject({ state: 0n, ripas: 0n });
    r = p.rmi.rttDataUnmap(RD, 4n * G, 0x20_0000n, SINGLE, 0n);
    expect(r).toMatchObject({ status: "RMI_SUCCESS", top: 0x20_0000n, range: pageDesc(DATA + 10n * G, 4) });
    r = p.rmi.rttDataUnmap(RD, 0n, 0x20_0000n, SINGLE, 0n);
    expect(r).toMatchObject({ status: "RMI_SUCCESS", top: 0x20_0000n, range: 0n });
    expect(p.granuleCounts().DATA).toBe(0);
    expect(p.granule(POOL + 0x11n * G).refcount).toBe(0);
  });

  it("LIST writes merged descriptors to NS memory; NONE returns nothing; RAM becomes DESTROYED", () => {
    const p = mapped();
    ok(p.rmi.rttInitRipas(RD, 0n, 8n * G));
    let r = p.rmi.rttDataUnmap(RD, 0n, 8n * G, listFlags(8), NS_LIST);
    expect(r).toMatchObject({ status: "RMI_SUCCESS", top: 8n * G, range: 0n, count: 2n });
    expect(decodeRangeList(p.ns.read(NS_LIST, 16))).toEqual([
      { addr: DATA, sz: 0, cnt: 4, state: 0 },
      { addr: DATA + 10n * G, sz: 0, cnt: 4, state: 0 },
    ]);
    expect(p.rmi.rttReadEntry(RD, 0n, 3)).toMatchObject({ state: 0n, ripas: 2n });
    const q = mapped();
    r = q.rmi.rttDataUnmap(RD, 0n, 8n * G, listFlags(1), NS_LIST);
    expect(r).toMatchObject({ status: "RMI_SUCCESS", top: 4n * G, count: 1n }); // list full
    r = q.rmi.rttDataUnmap(RD, 4n * G, 8n * G, NONE, 0n);
    expect(r).toMatchObject({ status: "RMI_SUCCESS", top: 8n * G, range: 0n, count: 0n });
    expect(q.granuleCounts().DATA).toBe(0);
  });

  it("a 2 MiB block unmaps at level 2; a range ending inside it is RMI_ERROR_RTT 2", () => {
    const p = setup();
    rttsFor(p, 0x4000_0000n, POOL + 0x20n * G, 2);
    delegateRange(p, BLK, BLK + 0x20_0000n);
    ok(p.rmi.rttDataMap(RD, 0x4000_0000n, 0x4020_0000n, SINGLE, encodeRangeDesc({ addr: BLK, sz: 1, cnt: 1 })));
    expect(unchanged(p, () => p.rmi.rttDataUnmap(RD, 0x4000_0000n, 0x4010_0000n, SINGLE, 0n))).toMatchObject({ status: "RMI_ERROR_RTT", index: 2 });
    expect(p.rmi.rttDataUnmap(RD, 0x4000_0000n, 0x4020_0000n, SINGLE, 0n)).toMatchObject({
      status: "RMI_SUCCESS", top: 0x4020_0000n, range: encodeRangeDesc({ addr: BLK, sz: 1, cnt: 1 }),
    });
    expect(p.granuleCounts().DATA).toBe(0);
  });
});

describe("RTT_INIT_RIPAS (v2.0)", () => {
  it("failure conditions in order; no RIM extension; ASSIGNED EMPTY -> RAM", () => {
    const p = setup();
    ok(p.rmi.rttDataMap(RD, G, 2n * G, SINGLE, pageDesc(DATA)));
    const T: [string, bigint, bigint, bigint, string, number?][] = [
      ["top <= base", RD, G, G, "RMI_ERROR_INPUT"],
      ["rd", DATA, 0n, G, "RMI_ERROR_INPUT"],
      ["top unaligned", RD, 0n, G + 1n, "RMI_ERROR_INPUT"],
      ["outside the PAR", RD, (1n << 39n) - G, (1n << 39n) + G, "RMI_ERROR_INPUT"],
      ["base not aligned to the walk level", RD, 0x20_1000n, 0x20_2000n, "RMI_ERROR_RTT", 2],
      ["no progress (2 MiB entry, 4 KiB range)", RD, 0x20_0000n, 0x20_1000n, "RMI_ERROR_RTT", 2],
    ];
    for (const [what, rd, b, t, status, index] of T) {
      expect(unchanged(p, () => p.rmi.rttInitRipas(rd, b, t)), what).toMatchObject({ status, index: index ?? 0 });
    }
    const rim = [...p.rmm.realms.get(Number(RD / G))!.rim];
    expect(p.rmi.rttInitRipas(RD, 0n, 0x40_0000n)).toMatchObject({ status: "RMI_SUCCESS", top: 0x20_0000n });
    expect([...p.rmm.realms.get(Number(RD / G))!.rim]).toEqual(rim);
    expect(p.rmi.rttReadEntry(RD, G, 3)).toMatchObject({ state: 1n, ripas: 1n });
    ok(p.rmi.realmActivate(RD));
    expect(unchanged(p, () => p.rmi.rttInitRipas(RD, 0x20_0000n, 0x40_0000n)).status).toBe("RMI_ERROR_REALM");
  });
});

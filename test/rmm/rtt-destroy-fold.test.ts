import { describe, expect, it } from "vitest";
import { Platform } from "../../src/index.js";
import {
  ASSIGNED, DESTROYED, EMPTY, G, Granules, NS_ATTRS, RAM, SZ_1G, SZ_2M, TABLE, UNASSIGNED,
  createRtts, digest, entry, expectFailure, itFailureCases, makeRealm, map512, mapUnknown, type FailCase, type TestRealm,
} from "./helpers.js";

const NS_HALF = 1n << 39n; // s2sz 40

describe("RMI_RTT_DESTROY failure conditions, in spec order", () => {
  // Each realm: s2sz 40 sl 1, an L2 table at 3 GiB (a live entry in root 0) and an L3 table at
  // 3 GiB holding one page.
  function setup(): TestRealm {
    const t = makeRealm({ s2sz: 40, sl: 1 });
    createRtts(t, 3n * SZ_1G, 3);
    mapUnknown(t, 3n * SZ_1G + 0x5000n);
    return t;
  }
  const cases: ((t: TestRealm) => FailCase)[] = [
    (t) => ({ name: "rd_align", status: "RMI_ERROR_INPUT", outs: { rtt: 0n, top: 0n }, run: () => t.p.rmi.rttDestroy(t.rd + 0x10n, 3n * SZ_1G, 2) }),
    (t) => ({ name: "rd_state", status: "RMI_ERROR_INPUT", outs: { top: 0n }, run: () => t.p.rmi.rttDestroy(t.rtt, 3n * SZ_1G, 2) }),
    (t) => ({ name: "level_bound (root)", status: "RMI_ERROR_INPUT", outs: { top: 0n }, run: () => t.p.rmi.rttDestroy(t.rd, 0n, 1) }),
    (t) => ({ name: "level_bound (4)", status: "RMI_ERROR_INPUT", outs: { top: 0n }, run: () => t.p.rmi.rttDestroy(t.rd, 3n * SZ_1G, 4) }),
    (t) => ({ name: "ipa_align", status: "RMI_ERROR_INPUT", outs: { top: 0n }, run: () => t.p.rmi.rttDestroy(t.rd, 3n * SZ_1G + G, 3) }),
    (t) => ({ name: "ipa_bound", status: "RMI_ERROR_INPUT", outs: { top: 0n }, run: () => t.p.rmi.rttDestroy(t.rd, 1n << 40n, 2) }),
    (t) => ({
      name: "rtt_walk (no L2 at 1 GiB): RTT(1), top = next live root entry",
      status: "RMI_ERROR_RTT", index: 1, outs: { rtt: 0n, top: 3n * SZ_1G },
      run: () => t.p.rmi.rttDestroy(t.rd, SZ_1G, 3),
    }),
    (t) => ({
      name: "rtte_state (parent UNASSIGNED): RTT(level-1), top skips to the live entry",
      status: "RMI_ERROR_RTT", index: 1, outs: { top: 3n * SZ_1G },
      run: () => t.p.rmi.rttDestroy(t.rd, SZ_1G, 2),
    }),
    (t) => ({
      name: "rtte_state (no live entry after): top = end of the root table",
      status: "RMI_ERROR_RTT", index: 1, outs: { top: NS_HALF },
      run: () => t.p.rmi.rttDestroy(t.rd, 4n * SZ_1G, 2),
    }),
    (t) => ({
      name: "rtt_live (L3 holds a page): RTT(level), top = ipa",
      status: "RMI_ERROR_RTT", index: 3, outs: { rtt: 0n, top: 3n * SZ_1G },
      run: () => t.p.rmi.rttDestroy(t.rd, 3n * SZ_1G, 3),
    }),
    (t) => ({
      name: "rtt_live (L2 holds a table): RTT(2), top = ipa",
      status: "RMI_ERROR_RTT", index: 2, outs: { top: 3n * SZ_1G },
      run: () => t.p.rmi.rttDestroy(t.rd, 3n * SZ_1G, 2),
    }),
  ];
  itFailureCases(setup, cases);

  it("a parent that is an assigned block: RTT(level-1) with top = ipa (the block is live)", () => {
    const t = makeRealm({ s2sz: 40, sl: 1 });
    createRtts(t, 0n, 3);
    map512(t, 0n);
    expect(t.p.rmi.rttFold(t.rd, 0n, 3).status).toBe("RMI_SUCCESS");
    expectFailure(t.p, { name: "block parent", status: "RMI_ERROR_RTT", index: 2, outs: { top: 0n }, run: () => t.p.rmi.rttDestroy(t.rd, 0n, 3) });
  });
});

describe("RMI_RTT_DESTROY effects", () => {
  it("protected: parent becomes UNASSIGNED/DESTROYED, child DELEGATED and zeroed, refcounts drop", () => {
    const t = makeRealm({ s2sz: 40, sl: 1 });
    createRtts(t, 0n, 3);
    createRtts(t, 4n * SZ_2M, 3);
    const l2 = entry(t, 0n, 1)[2];
    const l3 = entry(t, 0n, 2)[2];
    expect(t.p.granule(l2).refcount).toBe(2);
    const r = t.p.rmi.rttDestroy(t.rd, 0n, 3);
    expect(r).toEqual({ status: "RMI_SUCCESS", index: 0, rtt: l3, top: 4n * SZ_2M });
    expect(t.p.granule(l3)).toMatchObject({ state: "DELEGATED", refcount: 0 });
    expect(t.p.machine.mem.isZero(Number(l3 / G))).toBe(true);
    expect(t.p.granule(l2).refcount).toBe(1);
    expect(entry(t, 0n, 3)).toEqual([2, UNASSIGNED, 0n, DESTROYED]);
    // the RTT granule can be undelegated again
    expect(t.p.rmi.granuleUndelegate(l3).status).toBe("RMI_SUCCESS");
  });

  it("unprotected: parent becomes UNASSIGNED_NS; an RTT holding only ASSIGNED_NS entries is not live", () => {
    const t = makeRealm({ s2sz: 40, sl: 1 });
    const ipa = NS_HALF + SZ_2M;
    createRtts(t, ipa, 3);
    expect(t.p.rmi.rttMapUnprotected(t.rd, ipa + G, 3, 0x9000_0000n | NS_ATTRS).status).toBe("RMI_SUCCESS");
    const l3 = entry(t, ipa, 2)[2];
    expect(t.p.granule(l3).refcount).toBe(0);
    const r = t.p.rmi.rttDestroy(t.rd, ipa, 3);
    expect(r).toMatchObject({ status: "RMI_SUCCESS", rtt: l3, top: NS_HALF + SZ_1G });
    expect(entry(t, ipa + G, 3)).toEqual([2, UNASSIGNED, 0n, EMPTY]);
  });

  it("bottom-up teardown with `top` skipping reaches an empty realm that REALM_DESTROY accepts", () => {
    const t = makeRealm({ s2sz: 40, sl: 1 });
    for (const ipa of [0n, 5n * SZ_2M, 2n * SZ_1G + 7n * SZ_2M, NS_HALF + 3n * SZ_1G]) createRtts(t, ipa, 3);
    expect(t.p.rmi.realmDestroy(t.rd).status).toBe("RMI_ERROR_REALM");
    // level 3 tables, walking the IPA space with top
    let destroyed = 0;
    for (const [level, step] of [[3, SZ_2M], [2, SZ_1G]] as const) {
      for (let ipa = 0n; ipa < 1n << 40n;) {
        const r = t.p.rmi.rttDestroy(t.rd, ipa, level);
        if (r.status === "RMI_SUCCESS") destroyed++;
        else expect(r.status).toBe("RMI_ERROR_RTT");
        ipa = r.top > ipa ? r.top : ipa + step;
      }
    }
    expect(destroyed).toBe(4 + 3);
    expect(t.p.granule(t.rtt).refcount + t.p.granule(t.rtt + G).refcount).toBe(0);
    expect(t.p.rmi.realmDestroy(t.rd).status).toBe("RMI_SUCCESS");
    expect(t.p.granuleCounts().RTT).toBe(0);
  });
});

describe("RMI_RTT_FOLD failure conditions, in spec order", () => {
  function setup(): TestRealm {
    const t = makeRealm({ s2sz: 40, sl: 1 });
    createRtts(t, 0n, 3);
    return t;
  }
  const cases: ((t: TestRealm) => FailCase)[] = [
    (t) => ({ name: "rd_align", status: "RMI_ERROR_INPUT", outs: { rtt: 0n }, run: () => t.p.rmi.rttFold(t.rd + 8n, 0n, 3) }),
    (t) => ({ name: "rd_state", status: "RMI_ERROR_INPUT", run: () => t.p.rmi.rttFold(t.rtt, 0n, 3) }),
    (t) => ({ name: "level_bound (root)", status: "RMI_ERROR_INPUT", run: () => t.p.rmi.rttFold(t.rd, 0n, 1) }),
    (t) => ({ name: "level_bound (4)", status: "RMI_ERROR_INPUT", run: () => t.p.rmi.rttFold(t.rd, 0n, 4) }),
    (t) => ({ name: "ipa_align", status: "RMI_ERROR_INPUT", run: () => t.p.rmi.rttFold(t.rd, G, 3) }),
    (t) => ({ name: "ipa_bound", status: "RMI_ERROR_INPUT", run: () => t.p.rmi.rttFold(t.rd, 1n << 40n, 2) }),
    (t) => ({ name: "rtt_walk (no L2 at 1 GiB)", status: "RMI_ERROR_RTT", index: 1, run: () => t.p.rmi.rttFold(t.rd, SZ_1G, 3) }),
    (t) => ({ name: "rtte_state (parent not TABLE)", status: "RMI_ERROR_RTT", index: 2, run: () => t.p.rmi.rttFold(t.rd, SZ_2M, 3) }),
    (t) => {
      mapUnknown(t, 0x3000n);
      return { name: "not homogeneous (one page mapped)", status: "RMI_ERROR_RTT", index: 3, run: () => t.p.rmi.rttFold(t.rd, 0n, 3) };
    },
    (t) => {
      // mixed RIPAS among unassigned entries
      t.p.rmm.realms.get(Number(t.rd / G))!; // (white-box not needed: INIT_RIPAS one page)
      expect(t.p.rmi.rttInitRipas(t.rd, 0n, G).status).toBe("RMI_SUCCESS");
      return { name: "not homogeneous (mixed RIPAS)", status: "RMI_ERROR_RTT", index: 3, run: () => t.p.rmi.rttFold(t.rd, 0n, 3) };
    },
    (t) => {
      createRtts(t, 0n, 3);
      return { name: "L2 table with a TABLE entry", status: "RMI_ERROR_RTT", index: 2, run: () => t.p.rmi.rttFold(t.rd, 0n, 2) };
    },
  ];
  itFailureCases(setup, cases);

  it("512 assigned pages that are not one aligned contiguous block, or mix RIPAS, do not fold: RTT(3)", () => {
    // non-contiguous: two halves swapped
    const t1 = setup();
    const pa = t1.delegatedBlock(SZ_2M, 512n);
    for (let i = 0n; i < 512n; i++) expect(t1.p.rmi.dataCreateUnknown(t1.rd, pa + ((i + 256n) % 512n) * G, i * G).status).toBe("RMI_SUCCESS");
    expectFailure(t1.p, { name: "non-contiguous", status: "RMI_ERROR_RTT", index: 3, run: () => t1.p.rmi.rttFold(t1.rd, 0n, 3) });
    // contiguous but the first PA is not 2 MiB aligned
    const t2 = setup();
    const pb = t2.delegatedBlock(SZ_2M, 513n) + G;
    for (let i = 0n; i < 512n; i++) expect(t2.p.rmi.dataCreateUnknown(t2.rd, pb + i * G, i * G).status).toBe("RMI_SUCCESS");
    expectFailure(t2.p, { name: "unaligned", status: "RMI_ERROR_RTT", index: 3, run: () => t2.p.rmi.rttFold(t2.rd, 0n, 3) });
    // mixed RIPAS (the first page RAM via INIT_RIPAS, the rest EMPTY)
    const t3 = setup();
    expect(t3.p.rmi.rttInitRipas(t3.rd, 0n, G).status).toBe("RMI_SUCCESS");
    map512(t3, 0n);
    expect(entry(t3, 0n, 3)[3]).toBe(RAM);
    expectFailure(t3.p, { name: "mixed RIPAS", status: "RMI_ERROR_RTT", index: 3, run: () => t3.p.rmi.rttFold(t3.rd, 0n, 3) });
  });

  it("NS pages with different attributes or non-contiguous OAs do not fold: RTT(3)", () => {
    const t = makeRealm({ s2sz: 40, sl: 1 });
    createRtts(t, NS_HALF, 3);
    for (let i = 0n; i < 512n; i++) {
      const attrs = i === 100n ? 0x18n | 0x40n : NS_ATTRS; // one read-only page
      expect(t.p.rmi.rttMapUnprotected(t.rd, NS_HALF + i * G, 3, (0x9000_0000n + i * G) | attrs).status).toBe("RMI_SUCCESS");
    }
    expectFailure(t.p, { name: "attrs differ", status: "RMI_ERROR_RTT", index: 3, run: () => t.p.rmi.rttFold(t.rd, NS_HALF, 3) });
  });

  it("a full level-1 table cannot become a level-0 block: RTT(level-1)", () => {
    const t = makeRealm({ s2sz: 48, sl: 0 });
    const ns = 1n << 47n;
    createRtts(t, ns, 1);
    for (let i = 0n; i < 512n; i++) {
      expect(t.p.rmi.rttMapUnprotected(t.rd, ns + i * SZ_1G, 1, (i * SZ_1G) | NS_ATTRS).status).toBe("RMI_SUCCESS");
    }
    expectFailure(t.p, { name: "NS block at level 0", status: "RMI_ERROR_RTT", index: 0, run: () => t.p.rmi.rttFold(t.rd, ns, 1) });
    // an all-unassigned level-1 table folds fine
    createRtts(t, 0n, 1);
    expect(t.p.rmi.rttFold(t.rd, 0n, 1).status).toBe("RMI_SUCCESS");
    expect(entry(t, 0n, 1)).toEqual([0, UNASSIGNED, 0n, EMPTY]);
  });
});

describe("fold / unfold round trips", () => {
  it("unassigned L3 table folds into its L2 entry (keeping RIPAS) and can be re-created", () => {
    const t = makeRealm({ s2sz: 40, sl: 1 });
    createRtts(t, 0n, 3);
    expect(t.p.rmi.rttInitRipas(t.rd, 0n, SZ_2M)).toMatchObject({ status: "RMI_SUCCESS", top: SZ_2M });
    const l2 = entry(t, 0n, 1)[2];
    const l3 = entry(t, 0n, 2)[2];
    const before = t.p.granule(l2).refcount;
    expect(t.p.rmi.rttFold(t.rd, 0n, 3)).toEqual({ status: "RMI_SUCCESS", index: 0, rtt: l3 });
    expect(t.p.granule(l2).refcount).toBe(before - 1);
    expect(t.p.granule(l3)).toMatchObject({ state: "DELEGATED", refcount: 0 });
    expect(entry(t, 0n, 3)).toEqual([2, UNASSIGNED, 0n, RAM]);
    createRtts(t, 0n, 3);
    expect(entry(t, 0x1ff000n, 3)).toEqual([3, UNASSIGNED, 0n, RAM]);
  });

  it("512 pages -> 2 MiB block -> 512 pages, state and refcounts identical after the round trip", () => {
    const t = makeRealm({ s2sz: 40, sl: 1 });
    createRtts(t, SZ_2M, 3);
    const pa = map512(t, SZ_2M, "ram");
    const l2 = entry(t, 0n, 1)[2];
    const l3 = entry(t, SZ_2M, 2)[2];
    const snapshotEntries = () => [0n, 0x1000n, 0x1ff000n].map((o) => entry(t, SZ_2M + o, 3));
    const pages = snapshotEntries();
    expect(pages[1]).toEqual([3, ASSIGNED, pa + 0x1000n, RAM]);
    expect(t.p.granule(l3).refcount).toBe(512);
    expect(t.p.granule(l2).refcount).toBe(1);
    expect(t.p.rmi.rttFold(t.rd, SZ_2M, 3)).toMatchObject({ status: "RMI_SUCCESS", rtt: l3 });
    expect(entry(t, SZ_2M + 0x1000n, 3)).toEqual([2, ASSIGNED, pa, RAM]);
    expect(t.p.granule(l2).refcount).toBe(1); // the table's reference became the block's
    // DATA_DESTROY cannot reach a page of the block: RTT(2), top = ipa (live block)
    expect(t.p.rmi.dataDestroy(t.rd, SZ_2M + 0x1000n)).toEqual({ status: "RMI_ERROR_RTT", index: 2, data: 0n, top: SZ_2M + 0x1000n });
    // unfold with the same granule
    expect(t.p.rmi.granuleDelegate(l3).status).toBe("RMI_ERROR_INPUT"); // still DELEGATED
    expect(t.p.rmi.rttCreate(t.rd, l3, SZ_2M, 3).status).toBe("RMI_SUCCESS");
    expect(snapshotEntries()).toEqual(pages);
    expect(t.p.granule(l3).refcount).toBe(512);
    expect(t.p.granule(l2).refcount).toBe(1);
    // and the pages can now be destroyed one by one
    expect(t.p.rmi.dataDestroy(t.rd, SZ_2M + 0x1000n)).toMatchObject({ status: "RMI_SUCCESS", data: pa + 0x1000n });
    expect(t.p.granule(l3).refcount).toBe(511);
  });

  it("ASSIGNED_NS pages fold into an L2 NS block and an L2 of NS blocks into a 1 GiB NS block", () => {
    const t = makeRealm({ s2sz: 40, sl: 1 });
    const base = NS_HALF + SZ_1G;
    createRtts(t, base, 3);
    for (let i = 0n; i < 512n; i++) expect(t.p.rmi.rttMapUnprotected(t.rd, base + i * G, 3, (SZ_1G + i * G) | NS_ATTRS).status).toBe("RMI_SUCCESS");
    expect(t.p.rmi.rttFold(t.rd, base, 3).status).toBe("RMI_SUCCESS");
    expect(entry(t, base + 0x5000n, 3)).toEqual([2, ASSIGNED, SZ_1G | NS_ATTRS, EMPTY]);
    for (let i = 1n; i < 512n; i++) expect(t.p.rmi.rttMapUnprotected(t.rd, base + i * SZ_2M, 2, (SZ_1G + i * SZ_2M) | NS_ATTRS).status).toBe("RMI_SUCCESS");
    const l2 = entry(t, base, 1)[2];
    expect(t.p.granule(l2).refcount).toBe(0);
    const rootRef = t.p.granule(t.rtt + G).refcount;
    expect(t.p.rmi.rttFold(t.rd, base, 2)).toMatchObject({ status: "RMI_SUCCESS", rtt: l2 });
    expect(entry(t, base + 0x12_3000n, 3)).toEqual([1, ASSIGNED, SZ_1G | NS_ATTRS, EMPTY]);
    expect(t.p.granule(t.rtt + G).refcount).toBe(rootRef - 1);
    // unmap the 1 GiB block at level 1: no live entry follows in that root table
    expect(t.p.rmi.rttUnmapUnprotected(t.rd, base, 1)).toMatchObject({ status: "RMI_SUCCESS", top: 1n << 40n });
  });

  it("a 1 GiB protected block: 512 x 512 pages fold twice, and unfold back", () => {
    const p = Platform.create({ rmm: "1.0", trace: false });
    const t = makeRealm({ p, s2sz: 40, sl: 1, alloc: new Granules(0x8000_0000n + 0x10_0000n) });
    const blockIpa = SZ_1G;
    createRtts(t, blockIpa, 2);
    const l3s: bigint[] = [];
    for (let i = 0n; i < 512n; i++) {
      const r = t.delegated();
      l3s.push(r);
      expect(p.rmi.rttCreate(t.rd, r, blockIpa + i * SZ_2M, 3).status).toBe("RMI_SUCCESS");
    }
    const pa = t.delegatedBlock(SZ_1G, 512n * 512n);
    expect(pa).toBe(0xc000_0000n);
    for (let i = 0n; i < 512n * 512n; i++) {
      if (p.rmi.dataCreateUnknown(t.rd, pa + i * G, blockIpa + i * G).status !== "RMI_SUCCESS") throw new Error(`page ${i}`);
    }
    for (let i = 0n; i < 512n; i++) expect(p.rmi.rttFold(t.rd, blockIpa + i * SZ_2M, 3).status).toBe("RMI_SUCCESS");
    const l2 = entry(t, blockIpa, 1)[2];
    expect(p.granule(l2).refcount).toBe(512);
    expect(p.rmi.rttFold(t.rd, blockIpa, 2)).toMatchObject({ status: "RMI_SUCCESS", rtt: l2 });
    expect(entry(t, blockIpa + 0x1234_5000n, 3)).toEqual([1, ASSIGNED, pa, EMPTY]);
    expect(p.granuleCounts().DATA).toBe(512 * 512);
    const before = digest(p);
    // unfold to L2 blocks: child refcount 512
    expect(p.rmi.rttCreate(t.rd, l2, blockIpa, 2).status).toBe("RMI_SUCCESS");
    expect(p.granule(l2).refcount).toBe(512);
    expect(entry(t, blockIpa + 3n * SZ_2M + 0x5000n, 3)).toEqual([2, ASSIGNED, pa + 3n * SZ_2M, EMPTY]);
    expect(p.rmi.rttFold(t.rd, blockIpa, 2).status).toBe("RMI_SUCCESS");
    expect(digest(p)).toBe(before);
    expect(l3s.length).toBe(512);
  });
});

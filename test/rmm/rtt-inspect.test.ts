import { describe, expect, it } from "vitest";
import { formatRttTree, formatRttWalkPath, formatSize, rttTree, rttWalkPath } from "../../src/index.js";
import { G, NS_ATTRS, SZ_1G, SZ_2M, createRtts, entry, makeRealm, map512, mapUnknown } from "./helpers.js";

describe("rttTree", () => {
  it("a fresh realm: two roots, each one run of UNASSIGNED/EMPTY or UNASSIGNED_NS", () => {
    const t = makeRealm({ s2sz: 40, sl: 1 });
    const tree = rttTree(t.p.rmm, t.rd);
    expect(tree).toMatchObject({ rd: t.rd, s2sz: 40, sl: 1, numRoot: 2, lpa2: false, parSize: 1n << 39n });
    expect(tree.roots.map((r) => [r.pa, r.level, r.base, r.size, r.refcount])).toEqual([
      [t.rtt, 1, 0n, 1n << 39n, 0],
      [t.rtt + G, 1, 1n << 39n, 1n << 39n, 0],
    ]);
    expect(tree.roots[0]!.entries).toEqual([{ index: 0, count: 512, level: 1, ipa: 0n, size: 1n << 39n, state: "UNASSIGNED", ripas: "EMPTY" }]);
    expect(tree.roots[1]!.entries).toEqual([{ index: 0, count: 512, level: 1, ipa: 1n << 39n, size: 1n << 39n, state: "UNASSIGNED_NS" }]);
    expect(tree.stats.tables).toEqual({ 1: 2 });
  });

  it("collapses runs (contiguous pages, alike unassigned entries) and agrees with RTT_READ_ENTRY", () => {
    const t = makeRealm({ s2sz: 40, sl: 1 });
    createRtts(t, 0n, 3);
    const pa = map512(t, 0n); // 512 contiguous pages
    expect(t.p.rmi.dataDestroy(t.rd, 100n * G).status).toBe("RMI_SUCCESS"); // a hole
    createRtts(t, (1n << 39n) + SZ_2M, 2);
    expect(t.p.rmi.rttMapUnprotected(t.rd, (1n << 39n) + SZ_2M, 2, SZ_1G | NS_ATTRS).status).toBe("RMI_SUCCESS");
    const tree = rttTree(t.p.rmm, t.rd);
    const l2 = tree.roots[0]!.entries[0]!.table!;
    expect(l2.level).toBe(2);
    const l3 = l2.entries[0]!.table!;
    expect(l3.refcount).toBe(511);
    expect(l3.entries.map((e) => [e.index, e.count, e.state, e.ripas, e.pa])).toEqual([
      [0, 100, "ASSIGNED", "EMPTY", pa],
      [100, 1, "UNASSIGNED", "EMPTY", undefined],
      [101, 411, "ASSIGNED", "EMPTY", pa + 101n * G],
    ]);
    expect(l2.entries.slice(1)).toEqual([{ index: 1, count: 511, level: 2, ipa: SZ_2M, size: 511n * SZ_2M, state: "UNASSIGNED", ripas: "EMPTY" }]);
    const ns = tree.roots[1]!.entries[0]!.table!;
    expect(ns.entries[1]).toMatchObject({ index: 1, count: 1, state: "ASSIGNED_NS", pa: SZ_1G, desc: SZ_1G | NS_ATTRS });
    expect(entry(t, (1n << 39n) + SZ_2M, 2)[2]).toBe(ns.entries[1]!.desc);
    expect(tree.stats.assigned.EMPTY).toBe(511n * G);
    expect(tree.stats.assignedNs).toBe(SZ_2M);
    expect(tree.stats.tables).toEqual({ 1: 2, 2: 2, 3: 1 });
    // without collapsing every entry is listed
    const full = rttTree(t.p.rmm, t.realm, { collapse: false });
    expect(full.roots[0]!.entries[0]!.table!.entries[0]!.table!.entries).toHaveLength(512);
  });

  it("range and depth limits keep the output small", () => {
    const t = makeRealm({ s2sz: 40, sl: 1 });
    createRtts(t, 0n, 3);
    createRtts(t, 3n * SZ_1G, 3);
    mapUnknown(t, 3n * SZ_1G + 0x5000n);
    const tree = rttTree(t.p.rmm, t.rd, { base: 3n * SZ_1G, top: 3n * SZ_1G + SZ_2M });
    expect(tree.roots).toHaveLength(1);
    expect(tree.roots[0]!.entries).toHaveLength(1);
    const leaf = tree.roots[0]!.entries[0]!.table!.entries[0]!.table!;
    expect(leaf.entries.map((e) => e.state)).toEqual(["UNASSIGNED", "ASSIGNED", "UNASSIGNED"]);
    const shallow = rttTree(t.p.rmm, t.rd, { maxLevel: 1 });
    expect(shallow.roots[0]!.entries[0]).toMatchObject({ state: "TABLE", pa: entry(t, 0n, 1)[2] });
    expect(shallow.roots[0]!.entries[0]!.table).toBeUndefined();
    expect(() => rttTree(t.p.rmm, t.rd + G)).toThrow(/no realm/);
  });

  it("formats as text", () => {
    const t = makeRealm({ s2sz: 40, sl: 1 });
    createRtts(t, 0n, 2);
    const lines = formatRttTree(rttTree(t.p.rmm, t.rd));
    expect(lines[0]).toBe(`realm rd 0x${t.rd.toString(16)}: s2sz 40, start level 1, 2 root RTT(s); PAR [0, 0x8000000000)`);
    expect(lines[1]).toBe(`  L1 RTT 0x${t.rtt.toString(16)} [0x0, 0x8000000000) refcount 1`);
    expect(lines[2]).toMatch(/^ {4}\[0\] 0x0 \+1G TABLE -> RTT 0x[0-9a-f]+$/);
    expect(lines[4]).toBe("        [0..511] 0x0 +1G UNASSIGNED/EMPTY");
    expect(formatSize(1n << 39n)).toBe("512G");
    expect(formatSize(SZ_2M * 3n)).toBe("6M");
    expect(formatSize(0x1800n)).toBe("6K");
  });
});

describe("rttWalkPath", () => {
  it("lists the entries one walk reads, root to leaf", () => {
    const t = makeRealm({ s2sz: 40, sl: 1 });
    createRtts(t, 0n, 3);
    const d = mapUnknown(t, 0x7000n);
    const path = rttWalkPath(t.p.rmm, t.rd, 0x7123n);
    expect(path.map((s) => [s.level, s.index, s.state])).toEqual([[1, 0, "TABLE"], [2, 0, "TABLE"], [3, 7, "ASSIGNED"]]);
    expect(path[2]).toMatchObject({ ipa: 0x7000n, size: G, ripas: "EMPTY", pa: d });
    expect(path[0]!.rtt).toBe(t.rtt);
    // stops at the first non-table entry; the second root serves the unprotected half
    const ns = rttWalkPath(t.p.rmm, t.realm, (1n << 39n) + SZ_1G);
    expect(ns).toEqual([{ level: 1, rtt: t.rtt + G, index: 1, ipa: (1n << 39n) + SZ_1G, size: SZ_1G, state: "UNASSIGNED_NS" }]);
    expect(formatRttWalkPath(path)[2]).toBe(`L3 RTT ${"0x" + path[2]!.rtt.toString(16)}[7] 0x7000 +4K ASSIGNED/EMPTY pa 0x${d.toString(16)}`);
    expect(() => rttWalkPath(t.p.rmm, t.rd, 1n << 40n)).toThrow(/outside/);
  });
});

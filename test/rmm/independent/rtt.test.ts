/**
 * Independent cases: RTT_CREATE, RTT_DESTROY, RTT_FOLD, RTT_MAP_UNPROTECTED,
 * RTT_UNMAP_UNPROTECTED, RTT_READ_ENTRY, RTT_INIT_RIPAS (rmm-model.md §4, §5.12-§5.18).
 * The realm is s2sz 40, rtt_level_start 1, two root RTTs: PAR = [0, 2^39), unprotected half
 * [2^39, 2^40); a root entry maps 1 GiB.
 */
import { describe, expect, it } from "vitest";
import {
  ASSIGNED, DESTROYED, EMPTY, FID, G, INPUT, MMIO, RAM, REALM, RTT, Rig, SZ_1G, SZ_2M, TABLE, U64_MAX, UNASSIGNED, type Realm,
} from "./harness.js";

const NS_BASE = 1n << 39n; // first unprotected IPA
const L = (n: number) => BigInt.asUintN(64, BigInt(n));

function setup(): { h: Rig; r: Realm } {
  const h = new Rig();
  return { h, r: h.realm() };
}

describe("RMI_RTT_CREATE (§5.12)", () => {
  const rows: [string, number, number, (h: Rig, r: Realm) => bigint[]][] = [
    // [label, status, index, make args (rd, rtt, ipa, level)]
    ["rtt_state: rtt UNDELEGATED", INPUT, 0, (h, r) => [r.rd, h.page(), 0n, 2n]],
    ["rtt_align", INPUT, 0, (h, r) => [r.rd, h.delegated() + 8n, 0n, 2n]],
    ["rtt_bound: MMIO", INPUT, 0, (_h, r) => [r.rd, MMIO, 0n, 2n]],
    ["rtt_state: rtt is the RD", INPUT, 0, (_h, r) => [r.rd, r.rd, 0n, 2n]],
    ["rd_state: rd is DELEGATED", INPUT, 0, (h) => [h.delegated(), h.delegated(), 0n, 2n]],
    ["level_bound: the root level", INPUT, 0, (h, r) => [r.rd, h.delegated(), 0n, 1n]],
    ["level_bound: level 0", INPUT, 0, (h, r) => [r.rd, h.delegated(), 0n, 0n]],
    ["level_bound: level -1", INPUT, 0, (h, r) => [r.rd, h.delegated(), 0n, L(-1)]],
    ["level_bound: level 4", INPUT, 0, (h, r) => [r.rd, h.delegated(), 0n, 4n]],
    ["ipa_bound: ipa = 2^40", INPUT, 0, (h, r) => [r.rd, h.delegated(), 1n << 40n, 2n]],
    ["ipa_bound: huge", INPUT, 0, (h, r) => [r.rd, h.delegated(), U64_MAX - SZ_1G + 1n, 2n]],
    ["ipa_align: level 2 needs 1 GiB alignment", INPUT, 0, (h, r) => [r.rd, h.delegated(), SZ_2M, 2n]],
    ["ipa_align: level 3 needs 2 MiB alignment", INPUT, 0, (h, r) => [r.rd, h.delegated(), G, 3n]],
    ["rtt_walk: level 3 without a level-2 table stops at 1", RTT, 1, (h, r) => [r.rd, h.delegated(), 0n, 3n]],
    ["rtt_walk: unprotected too", RTT, 1, (h, r) => [r.rd, h.delegated(), NS_BASE, 3n]],
  ];
  it.each(rows)("%s -> status %i index %i, nothing changes", (_, status, index, make) => {
    const { h, r } = setup();
    const args = make(h, r);
    const before = h.snapshot();
    h.expect(FID.RTT_CREATE, args, status, index);
    expect(h.snapshot()).toBe(before);
  });

  it("ordering: level_bound beats rtt_walk; ipa checks beat the walk; rtt state beats everything else", () => {
    const { h, r } = setup();
    h.expect(FID.RTT_CREATE, [r.rd, h.delegated(), G, 4n], INPUT);
    h.expect(FID.RTT_CREATE, [r.rd, h.delegated(), SZ_2M + G, 3n], INPUT); // unaligned and no L2: INPUT, not RTT(1)
    h.expect(FID.RTT_CREATE, [r.rd, h.page(), 0n, 3n], INPUT); // rtt not delegated beats rtt_walk
  });

  it("rtte_state: the parent is already a TABLE -> RTT(level-1)", () => {
    const { h, r } = setup();
    h.tables(r, 0n, 3);
    h.expect(FID.RTT_CREATE, [r.rd, h.delegated(), 0n, 2n], RTT, 1);
    h.expect(FID.RTT_CREATE, [r.rd, h.delegated(), 0n, 3n], RTT, 2);
  });

  it("success: parent becomes TABLE -> rtt, rtt granule RTT, parent refcount +1, child inherits the parent's state", () => {
    const { h, r } = setup();
    const t2 = h.delegated();
    h.ok(FID.RTT_CREATE, r.rd, t2, 0n, 2n);
    expect(h.p.granule(t2)).toMatchObject({ state: "RTT", refcount: 0 });
    expect(h.p.granule(r.rtt).refcount).toBe(1);
    expect(h.readEntry(r, 0n, 1)).toEqual({ level: 1n, state: TABLE, desc: t2, ripas: EMPTY });
    expect(h.readEntry(r, SZ_2M * 5n, 2)).toEqual({ level: 2n, state: UNASSIGNED, desc: 0n, ripas: EMPTY });
    // Unprotected: children of UNASSIGNED_NS are UNASSIGNED_NS.
    const n2 = h.delegated();
    h.ok(FID.RTT_CREATE, r.rd, n2, NS_BASE, 2n);
    expect(h.p.granule(r.rtt + G).refcount).toBe(1); // the second root covers [2^39, 2^40)
    expect(h.readEntry(r, NS_BASE + SZ_2M, 2)).toEqual({ level: 2n, state: UNASSIGNED, desc: 0n, ripas: EMPTY });
  });

  it("a child of an UNASSIGNED/RAM entry is all RAM (INIT_RIPAS on a 1 GiB entry first)", () => {
    const { h, r } = setup();
    expect(h.ok(FID.RTT_INIT_RIPAS, r.rd, 0n, SZ_1G).x1).toBe(SZ_1G);
    h.tables(r, 0n, 3);
    expect(h.readEntry(r, 0x1ff000n, 3)).toEqual({ level: 3n, state: UNASSIGNED, desc: 0n, ripas: RAM });
  });
});

describe("RMI_RTT_DESTROY (§5.13)", () => {
  it("INPUT rows return x2 = 0 and change nothing", () => {
    const { h, r } = setup();
    h.tables(r, 0n, 3);
    const before = h.snapshot();
    for (const args of [
      [r.rtt, 0n, 3n], // rd is an RTT
      [r.rd + 8n, 0n, 3n],
      [r.rd, 0n, 1n], // root level
      [r.rd, 0n, 4n],
      [r.rd, G, 3n], // ipa not aligned to level 2 (2 MiB)
      [r.rd, 1n << 40n, 2n],
    ]) {
      const x = h.expect(FID.RTT_DESTROY, args, INPUT);
      expect([x.x1, x.x2]).toEqual([0n, 0n]);
    }
    expect(h.snapshot()).toBe(before);
  });

  it("rtt_walk: RTT(l) with x2 = the next live entry (or the table's end)", () => {
    const { h, r } = setup();
    // No level-2 table at all: the walk stops at the root (level 1); nothing live in root 0 -> its end, 2^39.
    let x = h.expect(FID.RTT_DESTROY, [r.rd, 0n, 3n], RTT, 1);
    expect(x.x2).toBe(1n << 39n);
    // A level-2 table at 1 GiB: from IPA 0 the next live root entry is 1 GiB.
    h.tables(r, SZ_1G, 2);
    x = h.expect(FID.RTT_DESTROY, [r.rd, 0n, 3n], RTT, 1);
    expect(x.x2).toBe(SZ_1G);
    // Parent (level-2 entry) not a TABLE: RTT(2); nothing live in that level-2 table -> 2 GiB.
    x = h.expect(FID.RTT_DESTROY, [r.rd, SZ_1G + SZ_2M, 3n], RTT, 2);
    expect(x.x2).toBe(2n * SZ_1G);
  });

  it("rtt live: RTT(level) with x2 = ipa", () => {
    const { h, r } = setup();
    const [, t3] = h.tables(r, 0n, 3);
    const d = h.delegated();
    h.ok(FID.DATA_CREATE_UNKNOWN, r.rd, d, 0x5000n);
    const before = h.snapshot();
    let x = h.expect(FID.RTT_DESTROY, [r.rd, 0n, 3n], RTT, 3);
    expect(x.x2).toBe(0n);
    x = h.expect(FID.RTT_DESTROY, [r.rd, 0n, 2n], RTT, 2); // the level-2 table holds a TABLE entry
    expect(x.x2).toBe(0n);
    expect(h.snapshot()).toBe(before);
    h.ok(FID.DATA_DESTROY, r.rd, 0x5000n);
    x = h.ok(FID.RTT_DESTROY, r.rd, 0n, 3n);
    expect(x.x1).toBe(t3);
  });

  it("success: parent UNASSIGNED/DESTROYED (protected) or UNASSIGNED_NS; child DELEGATED; x1 = rtt, x2 = top", () => {
    const { h, r } = setup();
    const [t2, t3] = h.tables(r, 0n, 3);
    const [, n3] = h.tables(r, NS_BASE, 3);
    let x = h.ok(FID.RTT_DESTROY, r.rd, 0n, 3n);
    expect([x.x1, x.x2]).toEqual([t3, SZ_1G]); // nothing live after entry 0 of the level-2 table
    expect(h.p.granule(t3!)).toMatchObject({ state: "DELEGATED", refcount: 0 });
    expect(h.readEntry(r, 0n, 2)).toEqual({ level: 2n, state: UNASSIGNED, desc: 0n, ripas: DESTROYED });
    expect(h.p.granule(t2!).refcount).toBe(0);
    x = h.ok(FID.RTT_DESTROY, r.rd, NS_BASE, 3n);
    expect(x.x1).toBe(n3);
    expect(h.readEntry(r, NS_BASE, 2)).toEqual({ level: 2n, state: UNASSIGNED, desc: 0n, ripas: EMPTY });
    x = h.ok(FID.RTT_DESTROY, r.rd, 0n, 2n);
    expect([x.x1, x.x2]).toEqual([t2, 1n << 39n]);
    expect(h.readEntry(r, 0n, 1)).toEqual({ level: 1n, state: UNASSIGNED, desc: 0n, ripas: DESTROYED });
    expect(h.p.granule(r.rtt).refcount).toBe(0);
  });

  it("an RTT holding only ASSIGNED_NS entries is not live (refcount 0) and can be destroyed", () => {
    const { h, r } = setup();
    const [, n3] = h.tables(r, NS_BASE, 3);
    h.ok(FID.RTT_MAP_UNPROTECTED, r.rd, NS_BASE, 3n, h.page());
    expect(h.p.granule(n3!).refcount).toBe(0);
    h.ok(FID.RTT_DESTROY, r.rd, NS_BASE, 3n);
  });
});

describe("RMI_RTT_MAP_UNPROTECTED / RTT_UNMAP_UNPROTECTED (§5.15, §5.16)", () => {
  it("map failures in order", () => {
    const { h, r } = setup();
    h.tables(r, NS_BASE, 3);
    const oa = h.page();
    const rows: [bigint[], number, number][] = [
      [[r.rd, NS_BASE, 0n, oa], INPUT, 0], // level_bound (0 < 1)
      [[r.rd, NS_BASE, 4n, oa], INPUT, 0],
      [[r.rtt, NS_BASE, 3n, oa], INPUT, 0], // rd_state
      [[r.rd, NS_BASE, 3n, oa | (1n << 10n)], INPUT, 0], // desc: AF is not the host's (only OA, MemAttr, S2AP, SH)
      [[r.rd, NS_BASE, 3n, oa | 1n], INPUT, 0], // desc: descriptor type bits are not the host's
      [[r.rd, NS_BASE, 3n, oa | (1n << 54n)], INPUT, 0], // desc: XN is not the host's
      [[r.rd, NS_BASE, 3n, oa | (4n << 2n)], INPUT, 0], // MemAttr 0b100 reserved (FWB)
      [[r.rd, NS_BASE, 3n, oa | (3n << 8n)], INPUT, 0], // SH is the RMM's in v1.0 (TF-RMM rel0 S2TTE_NS_ATTR_MASK = MemAttr | S2AP)
      [[r.rd, NS_BASE, 3n, 1n << 48n], INPUT, 0], // OA >= 2^48 without LPA2
      [[r.rd, NS_BASE, 2n, oa], INPUT, 0], // OA not aligned to the 2 MiB block
      [[r.rd, NS_BASE + 0x800n, 3n, oa], INPUT, 0], // ipa_align
      [[r.rd, 1n << 40n, 3n, oa], INPUT, 0], // ipa_bound
      [[r.rd, 0x5000n, 3n, oa], INPUT, 0], // protected IPA
      [[r.rd, NS_BASE + SZ_1G, 3n, oa], RTT, 1], // walk stops at the root
      [[r.rd, NS_BASE + SZ_2M, 3n, oa], RTT, 2], // no level-3 table there
      [[r.rd, NS_BASE, 1n, 0n], RTT, 1], // level 1 entry is a TABLE, not UNASSIGNED_NS
    ];
    const before = h.snapshot();
    for (const [args, status, index] of rows) h.expect(FID.RTT_MAP_UNPROTECTED, args, status, index);
    expect(h.snapshot()).toBe(before);
    // level_bound beats rd_state and desc.
    h.expect(FID.RTT_MAP_UNPROTECTED, [r.rtt, NS_BASE, 9n, U64_MAX], INPUT);
  });

  it("map, read back, remap fails with RTT(3), unmap returns top", () => {
    const { h, r } = setup();
    h.tables(r, NS_BASE, 3);
    const oa = h.page();
    const attrs = (5n << 2n) | (3n << 6n); // MemAttr 0b101, S2AP RW
    h.ok(FID.RTT_MAP_UNPROTECTED, r.rd, NS_BASE + G, 3n, oa | attrs);
    // READ_ENTRY gives back the host's descriptor: OA and the host-controlled attributes, exactly.
    expect(h.readEntry(r, NS_BASE + G, 3)).toEqual({ level: 3n, state: ASSIGNED, desc: oa | attrs, ripas: EMPTY });
    h.expect(FID.RTT_MAP_UNPROTECTED, [r.rd, NS_BASE + G, 3n, oa], RTT, 3);
    // Unmap failures: an UNASSIGNED_NS entry is RTT(3) with x1 = the next live entry.
    let x = h.expect(FID.RTT_UNMAP_UNPROTECTED, [r.rd, NS_BASE, 3n], RTT, 3);
    expect(x.x1).toBe(NS_BASE + G);
    x = h.expect(FID.RTT_UNMAP_UNPROTECTED, [r.rd, NS_BASE + 2n * G, 3n], RTT, 3);
    expect(x.x1).toBe(NS_BASE + SZ_2M);
    h.expect(FID.RTT_UNMAP_UNPROTECTED, [r.rd, 0x1000n, 3n], INPUT); // protected
    h.expect(FID.RTT_UNMAP_UNPROTECTED, [r.rd, NS_BASE + G, 4n], INPUT);
    h.expect(FID.RTT_UNMAP_UNPROTECTED, [r.rd, NS_BASE + SZ_1G, 3n], RTT, 1);
    x = h.ok(FID.RTT_UNMAP_UNPROTECTED, r.rd, NS_BASE + G, 3n);
    expect(x.x1).toBe(NS_BASE + SZ_2M);
    expect(h.readEntry(r, NS_BASE + G, 3)).toEqual({ level: 3n, state: UNASSIGNED, desc: 0n, ripas: EMPTY });
  });

  it("a 2 MiB NS block mapped directly at level 2; READ_ENTRY at level 3 stops at 2", () => {
    const { h, r } = setup();
    h.tables(r, NS_BASE, 2);
    h.ok(FID.RTT_MAP_UNPROTECTED, r.rd, NS_BASE + SZ_2M, 2n, MMIO);
    const e = h.readEntry(r, NS_BASE + SZ_2M + 0x3000n, 3);
    expect(e.level).toBe(2n);
    expect(e.state).toBe(ASSIGNED);
    expect(e.desc & 0xffff_ffe0_0000n).toBe(MMIO);
    const x = h.ok(FID.RTT_UNMAP_UNPROTECTED, r.rd, NS_BASE + SZ_2M, 2n);
    expect(x.x1).toBe(NS_BASE + SZ_1G);
  });
});

describe("RMI_RTT_READ_ENTRY (§5.17)", () => {
  it("failures return INPUT with x1..x4 = 0", () => {
    const { h, r } = setup();
    for (const args of [
      [r.rtt, 0n, 1n],
      [MMIO, 0n, 1n],
      [r.rd, 0n, 0n], // level < sl
      [r.rd, 0n, 4n],
      [r.rd, 0n, L(-1)],
      [r.rd, G + 8n, 3n], // unaligned
      [r.rd, G, 2n], // not aligned to level 2
      [r.rd, 1n << 40n, 1n], // out of range
    ]) {
      const x = h.expect(FID.RTT_READ_ENTRY, args, INPUT);
      expect([x.x1, x.x2, x.x3, x.x4]).toEqual([0n, 0n, 0n, 0n]);
    }
  });

  it("reads at the root level and at the deepest level reached", () => {
    const { h, r } = setup();
    expect(h.readEntry(r, (1n << 40n) - SZ_1G, 1)).toEqual({ level: 1n, state: UNASSIGNED, desc: 0n, ripas: EMPTY });
    const [t2] = h.tables(r, SZ_1G, 2);
    expect(h.readEntry(r, SZ_1G + 7n * G, 3)).toEqual({ level: 2n, state: UNASSIGNED, desc: 0n, ripas: EMPTY });
    expect(h.readEntry(r, SZ_1G, 1)).toEqual({ level: 1n, state: TABLE, desc: t2, ripas: EMPTY });
  });
});

describe("RMI_RTT_FOLD (§5.14, §4.6)", () => {
  it("failures in order", () => {
    const { h, r } = setup();
    h.tables(r, 0n, 3);
    const d = h.delegated();
    h.ok(FID.DATA_CREATE_UNKNOWN, r.rd, d, 0n);
    const before = h.snapshot();
    h.expect(FID.RTT_FOLD, [r.rtt, 0n, 3n], INPUT);
    h.expect(FID.RTT_FOLD, [r.rd, 0n, 1n], INPUT); // the root cannot be folded
    h.expect(FID.RTT_FOLD, [r.rd, 0n, 4n], INPUT);
    h.expect(FID.RTT_FOLD, [r.rd, G, 3n], INPUT);
    h.expect(FID.RTT_FOLD, [r.rd, SZ_1G, 3n], RTT, 1); // walk stops at the root
    h.expect(FID.RTT_FOLD, [r.rd, SZ_2M, 3n], RTT, 2); // parent not a TABLE
    h.expect(FID.RTT_FOLD, [r.rd, 0n, 3n], RTT, 3); // 1 assigned + 511 unassigned: not homogeneous
    h.expect(FID.RTT_FOLD, [r.rd, SZ_1G, 9n], INPUT); // level_bound beats rtt_walk
    expect(h.snapshot()).toBe(before);
  });

  it("folds 512 UNASSIGNED entries with one RIPAS, not mixed RIPAS", () => {
    const { h, r } = setup();
    const [, t3] = h.tables(r, 0n, 3);
    h.ok(FID.RTT_INIT_RIPAS, r.rd, 0n, G);
    h.expect(FID.RTT_FOLD, [r.rd, 0n, 3n], RTT, 3);
    h.ok(FID.RTT_INIT_RIPAS, r.rd, G, SZ_2M);
    const x = h.ok(FID.RTT_FOLD, r.rd, 0n, 3n);
    expect(x.x1).toBe(t3);
    expect(h.p.granule(t3!).state).toBe("DELEGATED");
    expect(h.readEntry(r, 0n, 2)).toEqual({ level: 2n, state: UNASSIGNED, desc: 0n, ripas: RAM });
  });

  it("folds 512 ASSIGNED_NS entries with contiguous OAs and equal attributes into a block", () => {
    const { h, r } = setup();
    const [, t3] = h.tables(r, NS_BASE, 3);
    for (let i = 0n; i < 512n; i++) h.ok(FID.RTT_MAP_UNPROTECTED, r.rd, NS_BASE + i * G, 3n, MMIO + i * G);
    h.ok(FID.RTT_UNMAP_UNPROTECTED, r.rd, NS_BASE + 9n * G, 3n);
    h.ok(FID.RTT_MAP_UNPROTECTED, r.rd, NS_BASE + 9n * G, 3n, MMIO + 10n * G); // breaks contiguity
    h.expect(FID.RTT_FOLD, [r.rd, NS_BASE, 3n], RTT, 3);
    h.ok(FID.RTT_UNMAP_UNPROTECTED, r.rd, NS_BASE + 9n * G, 3n);
    h.ok(FID.RTT_MAP_UNPROTECTED, r.rd, NS_BASE + 9n * G, 3n, MMIO + 9n * G);
    expect(h.ok(FID.RTT_FOLD, r.rd, NS_BASE, 3n).x1).toBe(t3);
    const e = h.readEntry(r, NS_BASE, 2);
    expect([e.level, e.state, e.desc & 0xffff_ffff_f000n]).toEqual([2n, ASSIGNED, MMIO]);
  });
});

describe("RMI_RTT_INIT_RIPAS (§5.18)", () => {
  it("failures in order", () => {
    const { h, r } = setup();
    h.tables(r, 0n, 3);
    const d = h.delegated();
    h.ok(FID.DATA_CREATE_UNKNOWN, r.rd, d, 4n * G);
    const before = h.snapshot();
    const rows: [bigint[], number, number][] = [
      [[r.rd, G, G], INPUT, 0], // size_valid: top <= base
      [[r.rd, 2n * G, G], INPUT, 0],
      [[r.rtt, 0n, G], INPUT, 0], // rd
      [[r.rd, 8n, G], INPUT, 0], // base unaligned
      [[r.rd, 0n, G + 8n], INPUT, 0], // top unaligned
      [[r.rd, NS_BASE, NS_BASE + G], INPUT, 0], // not in the PAR
      [[r.rd, NS_BASE - G, NS_BASE + G], INPUT, 0], // top - 4K outside the PAR
      [[r.rd, SZ_2M + G, SZ_2M + 2n * G], RTT, 2], // base not aligned to the deepest level there (2)
      [[r.rd, 4n * G, 5n * G], RTT, 3], // the entry is ASSIGNED: no progress
      [[r.rd, SZ_2M, SZ_2M + G], RTT, 2], // top < base + 2 MiB: no progress
    ];
    for (const [args, status, index] of rows) h.expect(FID.RTT_INIT_RIPAS, args, status, index);
    expect(h.snapshot()).toBe(before);
  });

  it("REALM once the realm is ACTIVE; INPUT checks come first", () => {
    const { h, r } = setup();
    h.ok(FID.REALM_ACTIVATE, r.rd);
    h.expect(FID.RTT_INIT_RIPAS, [r.rd, 0n, G], REALM);
    h.expect(FID.RTT_INIT_RIPAS, [r.rd, 0n, G + 8n], INPUT);
    h.expect(FID.RTT_INIT_RIPAS, [r.rd, SZ_2M + G, SZ_2M + 2n * G], REALM); // REALM beats base_align
  });

  it("progress: stops before an ASSIGNED entry, at the end of the table, and counts RAM entries as processed", () => {
    const { h, r } = setup();
    h.tables(r, 0n, 3);
    const d = h.delegated();
    h.ok(FID.DATA_CREATE_UNKNOWN, r.rd, d, 4n * G);
    expect(h.ok(FID.RTT_INIT_RIPAS, r.rd, 0n, 8n * G).x1).toBe(4n * G);
    expect(h.readEntry(r, 3n * G, 3).ripas).toBe(RAM);
    expect(h.readEntry(r, 4n * G, 3)).toMatchObject({ state: ASSIGNED, ripas: EMPTY });
    expect(h.ok(FID.RTT_INIT_RIPAS, r.rd, 0n, 2n * G).x1).toBe(2n * G); // already RAM: still progress
    expect(h.ok(FID.RTT_INIT_RIPAS, r.rd, 5n * G, SZ_1G).x1).toBe(SZ_2M); // never past the level-3 table
    // At level 1 (no table): one 1 GiB entry per step, never beyond the root table.
    expect(h.ok(FID.RTT_INIT_RIPAS, r.rd, SZ_1G, 3n * SZ_1G).x1).toBe(3n * SZ_1G);
    expect(h.readEntry(r, 2n * SZ_1G, 1).ripas).toBe(RAM);
  });
});

/**
 * Independent scenarios (rmm-model.md §4.5-§4.7, §5, §10 v1.0 host flow): create a realm, map
 * pages, fold them into a 2 MiB block, unfold it, and destroy everything in the right order and
 * in wrong orders. Only p.smc / p.ns.write drive the platform.
 */
import { describe, expect, it } from "vitest";
import {
  ASSIGNED, DESTROYED, EMPTY, FID, G, INPUT, RAM, REALM, RTT, Rig, SZ_1G, SZ_2M, TABLE, UNASSIGNED, type Realm,
} from "./harness.js";

const BLOCK_IPA = 2n * SZ_2M; // 4 MiB: a 2 MiB aligned protected IPA

/** A realm (NEW) with 512 DATA pages at BLOCK_IPA backed by 2 MiB aligned contiguous PAs, content measured. */
function populated(h: Rig): { r: Realm; base: bigint; l2: bigint; l3: bigint } {
  const r = h.realm();
  const [l2, l3] = h.tables(r, BLOCK_IPA, 3);
  const src = h.page();
  h.p.ns.write(src, new TextEncoder().encode("realm image page"));
  h.ok(FID.RTT_INIT_RIPAS, r.rd, BLOCK_IPA, BLOCK_IPA + SZ_2M);
  const base = 0x8020_0000n; // 2 MiB aligned DRAM, beyond what the rig hands out first
  for (let i = 0n; i < 512n; i++) {
    h.ok(FID.GRANULE_DELEGATE, base + i * G);
    h.ok(FID.DATA_CREATE, r.rd, base + i * G, BLOCK_IPA + i * G, src, i % 2n);
  }
  return { r, base, l2: l2!, l3: l3! };
}

describe("realm lifecycle through raw SMCs", () => {
  it("create, map pages, fold to a 2 MiB block, unfold, destroy in the right order", () => {
    const h = new Rig();
    const { r, base, l2, l3 } = populated(h);
    expect(h.p.granule(l3).refcount).toBe(512);
    expect(h.p.granule(l2).refcount).toBe(1);
    // Fold: the level-3 RTT goes back to DELEGATED, the level-2 entry becomes an ASSIGNED RAM block.
    const f = h.ok(FID.RTT_FOLD, r.rd, BLOCK_IPA, 3n);
    expect(f.x1).toBe(l3);
    expect(h.p.granule(l3)).toMatchObject({ state: "DELEGATED", refcount: 0 });
    expect(h.readEntry(r, BLOCK_IPA, 2)).toEqual({ level: 2n, state: ASSIGNED, desc: base, ripas: RAM });
    expect(h.readEntry(r, BLOCK_IPA + 0x1234_000n % SZ_2M, 3)).toEqual({ level: 2n, state: ASSIGNED, desc: base, ripas: RAM });
    expect(h.p.granule(l2).refcount).toBe(1);
    // The data granules are still DATA and still unreachable from NS.
    expect(h.p.granule(base + 100n * G).state).toBe("DATA");
    expect(() => h.p.ns.read(base + 100n * G, 1)).toThrow();
    // Activate, then unfold with RTT_CREATE under the block: 512 ASSIGNED entries, contiguous PAs.
    h.ok(FID.REALM_ACTIVATE, r.rd);
    const u = h.delegated();
    h.ok(FID.RTT_CREATE, r.rd, u, BLOCK_IPA, 3n);
    expect(h.p.granule(u)).toMatchObject({ state: "RTT", refcount: 512 });
    expect(h.p.granule(l2).refcount).toBe(1);
    for (const i of [0n, 1n, 255n, 511n]) {
      expect(h.readEntry(r, BLOCK_IPA + i * G, 3)).toEqual({ level: 3n, state: ASSIGNED, desc: base + i * G, ripas: RAM });
    }
    // Tear down: DATA_DESTROY every page (walking with `top`), UNDELEGATE, RTT_DESTROY bottom-up, REALM_DESTROY.
    let ipa = BLOCK_IPA;
    let destroyed = 0;
    while (ipa < BLOCK_IPA + SZ_2M) {
      const x = h.smc(FID.DATA_DESTROY, r.rd, ipa);
      if (x.status === 0) {
        h.ok(FID.GRANULE_UNDELEGATE, x.x1);
        destroyed++;
      } else {
        expect(x.status).toBe(RTT);
      }
      ipa = x.status === 0 ? x.x2 : x.x2 > ipa ? x.x2 : ipa + G;
    }
    expect(destroyed).toBe(512);
    expect(h.readEntry(r, BLOCK_IPA + 7n * G, 3)).toEqual({ level: 3n, state: UNASSIGNED, desc: 0n, ripas: DESTROYED });
    expect(h.ok(FID.RTT_DESTROY, r.rd, BLOCK_IPA, 3n).x1).toBe(u);
    expect(h.ok(FID.RTT_DESTROY, r.rd, 0n, 2n).x1).toBe(l2);
    h.ok(FID.REALM_DESTROY, r.rd);
    for (const a of [u, l2, l3, r.rd, r.rtt, r.rtt + G]) h.ok(FID.GRANULE_UNDELEGATE, a);
    for (let a = 0x8000_0000n; a < 0x8040_0000n; a += G) expect(h.p.granule(a).state).toBe("UNDELEGATED");
  });

  it("wrong orders fail without changing anything", () => {
    const h = new Rig();
    const { r, base, l2, l3 } = populated(h);
    const { rec } = h.rec(r.rd, 0);
    const before = h.snapshot();
    h.expect(FID.REALM_DESTROY, [r.rd], REALM); // RECs and tables still there
    h.expect(FID.GRANULE_UNDELEGATE, [r.rd], INPUT);
    h.expect(FID.GRANULE_UNDELEGATE, [l3], INPUT);
    h.expect(FID.GRANULE_UNDELEGATE, [base], INPUT); // DATA
    h.expect(FID.GRANULE_UNDELEGATE, [rec], INPUT);
    let x = h.expect(FID.RTT_DESTROY, [r.rd, BLOCK_IPA, 3n], RTT, 3); // live level-3 table
    expect(x.x2).toBe(BLOCK_IPA);
    x = h.expect(FID.RTT_DESTROY, [r.rd, 0n, 2n], RTT, 2); // live level-2 table
    expect(x.x2).toBe(0n);
    expect(h.snapshot()).toBe(before);
    // Fold the block, then DATA_DESTROY on it reports the block: RTT(2) with top = ipa.
    h.ok(FID.RTT_FOLD, r.rd, BLOCK_IPA, 3n);
    x = h.expect(FID.DATA_DESTROY, [r.rd, BLOCK_IPA + 5n * G], RTT, 2);
    expect(x.x2).toBe(BLOCK_IPA + 5n * G);
    x = h.expect(FID.DATA_DESTROY, [r.rd, 0n], RTT, 2); // an unassigned level-2 entry: top is the block
    expect(x.x2).toBe(BLOCK_IPA);
    h.expect(FID.RTT_DESTROY, [r.rd, 0n, 2n], RTT, 2); // a level-2 table holding a block is live
    h.expect(FID.RTT_FOLD, [r.rd, 0n, 2n], RTT, 2); // 1 block + 511 unassigned: not homogeneous
    // Undelegating the old level-3 RTT is fine now; REC_DESTROY then still leaves the realm live.
    h.ok(FID.GRANULE_UNDELEGATE, l3);
    h.ok(FID.REC_DESTROY, rec);
    h.expect(FID.REALM_DESTROY, [r.rd], REALM);
    expect(h.p.granule(l2).state).toBe("RTT");
  });

  it("fold refuses mixed RIPAS, non-contiguous PAs and a misaligned first PA", () => {
    const h = new Rig();
    const r = h.realm();
    h.tables(r, 0n, 3);
    // 512 pages from a non-2MiB-aligned contiguous run: contiguous but the first PA is not block aligned.
    const start = 0x8030_1000n;
    for (let i = 0n; i < 512n; i++) {
      h.ok(FID.GRANULE_DELEGATE, start + i * G);
      h.ok(FID.DATA_CREATE_UNKNOWN, r.rd, start + i * G, i * G);
    }
    h.expect(FID.RTT_FOLD, [r.rd, 0n, 3n], RTT, 3);
    // Same RIPAS everywhere (EMPTY) but misaligned: swap to aligned PAs page by page.
    const aligned = 0x8060_0000n;
    for (let i = 0n; i < 512n; i++) {
      const d = h.ok(FID.DATA_DESTROY, r.rd, i * G).x1;
      h.ok(FID.GRANULE_UNDELEGATE, d);
      h.ok(FID.GRANULE_DELEGATE, aligned + i * G);
    }
    // RIPAS now DESTROYED? No: EMPTY entries go back to UNASSIGNED/EMPTY (§5.21).
    expect(h.readEntry(r, 0n, 3)).toEqual({ level: 3n, state: UNASSIGNED, desc: 0n, ripas: EMPTY });
    for (let i = 0n; i < 512n; i++) h.ok(FID.DATA_CREATE_UNKNOWN, r.rd, aligned + ((i + 1n) % 512n) * G, i * G);
    h.expect(FID.RTT_FOLD, [r.rd, 0n, 3n], RTT, 3); // aligned set, but rotated: not contiguous
    for (let i = 0n; i < 512n; i++) h.ok(FID.DATA_DESTROY, r.rd, i * G);
    for (let i = 0n; i < 512n; i++) h.ok(FID.DATA_CREATE_UNKNOWN, r.rd, aligned + i * G, i * G);
    const l3 = h.readEntry(r, 0n, 2).desc;
    expect(h.ok(FID.RTT_FOLD, r.rd, 0n, 3n).x1).toBe(l3);
    expect(h.readEntry(r, 0n, 2)).toEqual({ level: 2n, state: ASSIGNED, desc: aligned, ripas: EMPTY });
  });

  it("a level-2 table of 512 UNASSIGNED/EMPTY entries folds back into the root; one holding a TABLE does not", () => {
    const h = new Rig();
    const r = h.realm();
    const [l2] = h.tables(r, SZ_1G, 2);
    expect(h.ok(FID.RTT_FOLD, r.rd, SZ_1G, 2n).x1).toBe(l2);
    expect(h.readEntry(r, SZ_1G, 1)).toEqual({ level: 1n, state: UNASSIGNED, desc: 0n, ripas: EMPTY });
    expect(h.p.granule(r.rtt).refcount).toBe(0);
    h.tables(r, SZ_1G, 3);
    h.expect(FID.RTT_FOLD, [r.rd, SZ_1G, 2n], RTT, 2);
  });

  it("REALM_DESTROY needs the root RTTs empty of tables: destroy L2 tables first", () => {
    const h = new Rig();
    const r = h.realm();
    const [l2] = h.tables(r, 1n << 39n, 2); // an unprotected-half table
    h.expect(FID.REALM_DESTROY, [r.rd], REALM);
    h.ok(FID.RTT_DESTROY, r.rd, 1n << 39n, 2n);
    expect(h.readEntry(r, 1n << 39n, 1)).toEqual({ level: 1n, state: UNASSIGNED, desc: 0n, ripas: EMPTY });
    h.ok(FID.REALM_DESTROY, r.rd);
    h.ok(FID.GRANULE_UNDELEGATE, l2!);
  });

  it("unfolding an NS block gives 512 ASSIGNED_NS entries with contiguous OAs; NS entries hold no refcount", () => {
    const h = new Rig();
    const r = h.realm();
    const [l2] = h.tables(r, 1n << 39n, 2);
    const attrs = (1n << 2n) | (3n << 6n);
    h.ok(FID.RTT_MAP_UNPROTECTED, r.rd, (1n << 39n) + SZ_2M, 2n, 0x1c00_0000n | attrs);
    expect(h.p.granule(l2!).refcount).toBe(0);
    const l3 = h.delegated();
    h.ok(FID.RTT_CREATE, r.rd, l3, (1n << 39n) + SZ_2M, 3n);
    expect(h.p.granule(l2!).refcount).toBe(1); // the new TABLE entry
    expect(h.p.granule(l3).refcount).toBe(0); // ASSIGNED_NS entries do not count
    for (const i of [0n, 1n, 511n]) {
      expect(h.readEntry(r, (1n << 39n) + SZ_2M + i * G, 3)).toEqual({ level: 3n, state: ASSIGNED, desc: (0x1c00_0000n + i * G) | attrs, ripas: EMPTY });
    }
    // ... and fold back into the same block.
    expect(h.ok(FID.RTT_FOLD, r.rd, (1n << 39n) + SZ_2M, 3n).x1).toBe(l3);
    expect(h.readEntry(r, (1n << 39n) + SZ_2M, 2)).toEqual({ level: 2n, state: ASSIGNED, desc: 0x1c00_0000n | attrs, ripas: EMPTY });
  });

  it("DATA_CREATE over a DESTROYED entry gives ASSIGNED/RAM; DATA_CREATE_UNKNOWN keeps DESTROYED", () => {
    const h = new Rig();
    const r = h.realm();
    h.tables(r, 0n, 3);
    h.ok(FID.RTT_DESTROY, r.rd, 0n, 3n); // the level-2 entry becomes UNASSIGNED/DESTROYED
    h.ok(FID.RTT_CREATE, r.rd, h.delegated(), 0n, 3n); // the level-2 table is still there: a new level 3
    expect(h.readEntry(r, 0x7000n, 3)).toEqual({ level: 3n, state: UNASSIGNED, desc: 0n, ripas: DESTROYED });
    const src = h.page();
    const d1 = h.delegated();
    h.ok(FID.DATA_CREATE, r.rd, d1, 0x7000n, src, 0n);
    expect(h.readEntry(r, 0x7000n, 3)).toEqual({ level: 3n, state: ASSIGNED, desc: d1, ripas: RAM });
    const d2 = h.delegated();
    h.ok(FID.DATA_CREATE_UNKNOWN, r.rd, d2, 0x8000n);
    expect(h.readEntry(r, 0x8000n, 3)).toEqual({ level: 3n, state: ASSIGNED, desc: d2, ripas: DESTROYED });
  });

  it("TABLE entries are reported by READ_ENTRY with the child PA", () => {
    const h = new Rig();
    const r = h.realm();
    const [l2, l3] = h.tables(r, SZ_1G * 3n + SZ_2M * 7n, 3);
    expect(h.readEntry(r, SZ_1G * 3n, 1)).toEqual({ level: 1n, state: TABLE, desc: l2, ripas: EMPTY });
    expect(h.readEntry(r, SZ_1G * 3n + SZ_2M * 7n, 2)).toEqual({ level: 2n, state: TABLE, desc: l3, ripas: EMPTY });
  });
});


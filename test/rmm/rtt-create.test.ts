import { describe, expect, it } from "vitest";
import { Platform } from "../../src/index.js";
import { RD, boot, createRealm, platform2 } from "../rmm2/helpers.js";
import {
  ASSIGNED, DESTROYED, EMPTY, G, MMIO_BASE, NS_ATTRS, RAM, SZ_1G, SZ_2M, TABLE, UNASSIGNED,
  alignDown, createRtts, entry, expectFailure, highPlatform, makeRealm, mapUnknown, type FailCase,
} from "./helpers.js";

describe("RMI_RTT_CREATE failure conditions, in spec order", () => {
  // s2sz 40, sl 1: two concatenated level-1 roots. IPA 0x4000_0000 (1 GiB): level-1 entry 1.
  const cases: ((t: ReturnType<typeof makeRealm>, d: bigint) => FailCase)[] = [
    (t, d) => ({ name: "rtt_align", status: "RMI_ERROR_INPUT", run: () => t.p.rmi.rttCreate(t.rd, d + 8n, 0n, 2) }),
    (t, d) => ({ name: "rtt_bound (MMIO)", status: "RMI_ERROR_INPUT", run: () => t.p.rmi.rttCreate(t.rd, MMIO_BASE, 0n, 2) }),
    (t, d) => ({ name: "rtt_bound (outside PA)", status: "RMI_ERROR_INPUT", run: () => t.p.rmi.rttCreate(t.rd, 1n << 50n, 0n, 2) }),
    (t, d) => ({ name: "rtt_state (undelegated)", status: "RMI_ERROR_INPUT", run: () => t.p.rmi.rttCreate(t.rd, t.alloc.ns(), 0n, 2) }),
    (t, d) => ({ name: "rtt_state (a root RTT)", status: "RMI_ERROR_INPUT", run: () => t.p.rmi.rttCreate(t.rd, t.rtt, 0n, 2) }),
    (t, d) => ({ name: "rd_state (rd is an RTT)", status: "RMI_ERROR_INPUT", run: () => t.p.rmi.rttCreate(t.rtt, d, 0n, 2) }),
    (t, d) => ({ name: "rd_state (rd is delegated)", status: "RMI_ERROR_INPUT", run: () => t.p.rmi.rttCreate(d + G, d, 0n, 2) }),
    (t, d) => ({ name: "rd_align", status: "RMI_ERROR_INPUT", run: () => t.p.rmi.rttCreate(t.rd + 1n, d, 0n, 2) }),
    (t, d) => ({ name: "rtt == rd", status: "RMI_ERROR_INPUT", run: () => t.p.rmi.rttCreate(t.rd, t.rd, 0n, 2) }),
    (t, d) => ({ name: "level_bound (root level)", status: "RMI_ERROR_INPUT", run: () => t.p.rmi.rttCreate(t.rd, d, 0n, 1) }),
    (t, d) => ({ name: "level_bound (4)", status: "RMI_ERROR_INPUT", run: () => t.p.rmi.rttCreate(t.rd, d, 0n, 4) }),
    (t, d) => ({ name: "level_bound (-1 without LPA2)", status: "RMI_ERROR_INPUT", run: () => t.p.rmi.rttCreate(t.rd, d, 0n, -1) }),
    (t, d) => ({ name: "ipa_bound", status: "RMI_ERROR_INPUT", run: () => t.p.rmi.rttCreate(t.rd, d, 1n << 40n, 2) }),
    (t, d) => ({ name: "ipa_bound (64-bit)", status: "RMI_ERROR_INPUT", run: () => t.p.rmi.rttCreate(t.rd, d, 0xffff_ffff_c000_0000n, 2) }),
    (t, d) => ({ name: "ipa_align (to level-1)", status: "RMI_ERROR_INPUT", run: () => t.p.rmi.rttCreate(t.rd, d, SZ_2M, 2) }),
    (t, d) => ({ name: "rtt_walk (no level-2 table)", status: "RMI_ERROR_RTT", index: 1, run: () => t.p.rmi.rttCreate(t.rd, d, SZ_1G, 3) }),
    (t, d) => {
      createRtts(t, SZ_1G, 2);
      return { name: "rtte_state (parent already TABLE)", status: "RMI_ERROR_RTT", index: 1, run: () => t.p.rmi.rttCreate(t.rd, d, SZ_1G, 2) };
    },
  ];
  for (const mk of cases) {
    const t = makeRealm({ s2sz: 40, sl: 1 });
    const d = t.delegated();
    t.delegated(); // d + G: a second delegated granule
    const c = mk(t, d);
    it(c.name, () => expectFailure(t.p, c));
  }

  it("rtt_bound2: an RTT at or above 2^48 needs LPA2", () => {
    const p = highPlatform(false);
    const t = makeRealm({ p, s2sz: 40, sl: 1 });
    const high = 1n << 48n;
    expect(p.rmi.granuleDelegate(high).status).toBe("RMI_SUCCESS");
    expectFailure(p, { name: "rtt_bound2", status: "RMI_ERROR_INPUT", run: () => p.rmi.rttCreate(t.rd, high, 0n, 2) });
    // ...and is a valid RTT in a realm with LPA2
    const p2 = highPlatform(true);
    const t2 = makeRealm({ p: p2, s2sz: 40, sl: 1, lpa2: true });
    expect(p2.rmi.granuleDelegate(high).status).toBe("RMI_SUCCESS");
    expect(p2.rmi.rttCreate(t2.rd, high, 0n, 2).status).toBe("RMI_SUCCESS");
    expect(entry(t2, 0n, 1)).toEqual([1, TABLE, high, EMPTY]);
  });

  it("rd and rtt are both checked before the level (a bad rtt with a bad level is INPUT either way, the level error needs a good rtt)", () => {
    const t = makeRealm({ s2sz: 40, sl: 1 });
    // level error with a valid rtt -> INPUT; walk error needs valid level: covered above. Here: walk
    // error does not win over a bad rtt.
    expectFailure(t.p, { name: "rtt_state beats rtt_walk", status: "RMI_ERROR_INPUT", run: () => t.p.rmi.rttCreate(t.rd, t.alloc.ns(), SZ_1G, 3) });
  });
});

describe("RMI_RTT_CREATE effects (unfold)", () => {
  it("creates an L2 table under an UNASSIGNED/EMPTY root entry: parent refcount +1, child RTT with refcount 0", () => {
    const t = makeRealm({ s2sz: 40, sl: 1 });
    const rtt2 = t.delegated();
    expect(t.p.rmi.rttCreate(t.rd, rtt2, 0n, 2)).toEqual({ status: "RMI_SUCCESS", index: 0 });
    expect(t.p.granule(t.rtt)).toMatchObject({ state: "RTT", refcount: 1 });
    expect(t.p.granule(rtt2)).toMatchObject({ state: "RTT", refcount: 0, level: 2 });
    expect(t.p.rmmTrace.at(-1)).toBe(`SMC_RMI_RTT_CREATE ${t.rd.toString(16)} ${rtt2.toString(16)} 0 2 > RMI_SUCCESS`);
    expect(entry(t, 0n, 1)).toEqual([1, TABLE, rtt2, EMPTY]);
    expect(entry(t, 0x1ff000n, 3)).toEqual([2, UNASSIGNED, 0n, EMPTY]);
  });

  it("unfolds UNASSIGNED/RAM and UNASSIGNED/DESTROYED parents into 512 entries with the same RIPAS", () => {
    const t = makeRealm({ s2sz: 40, sl: 1 });
    createRtts(t, 0n, 2);
    // RAM at L2 entry 0 (INIT_RIPAS of a 2 MiB block)
    expect(t.p.rmi.rttInitRipas(t.rd, 0n, SZ_2M).status).toBe("RMI_SUCCESS");
    expect(entry(t, 0n, 2)).toEqual([2, UNASSIGNED, 0n, RAM]);
    createRtts(t, 0n, 3);
    for (const ipa of [0n, 0x1ff000n]) expect(entry(t, ipa, 3)).toEqual([3, UNASSIGNED, 0n, RAM]);
    // DESTROYED: destroy an empty L3 table at L2 entry 1 -> the entry becomes UNASSIGNED/DESTROYED
    createRtts(t, SZ_2M, 3);
    expect(t.p.rmi.rttDestroy(t.rd, SZ_2M, 3).status).toBe("RMI_SUCCESS");
    expect(entry(t, SZ_2M, 3)).toEqual([2, UNASSIGNED, 0n, DESTROYED]);
    createRtts(t, SZ_2M, 3);
    expect(entry(t, SZ_2M + 0x5000n, 3)).toEqual([3, UNASSIGNED, 0n, DESTROYED]);
  });

  it("unfolds an assigned 2 MiB block into 512 pages: child refcount 512, parent unchanged", () => {
    const t = makeRealm({ s2sz: 40, sl: 1 });
    createRtts(t, 0n, 3);
    const pa = t.delegatedBlock(SZ_2M, 512n);
    for (let i = 0n; i < 512n; i++) expect(t.p.rmi.dataCreateUnknown(t.rd, pa + i * G, i * G).status).toBe("RMI_SUCCESS");
    const l2 = entry(t, 0n, 1)[2];
    expect(t.p.rmi.rttFold(t.rd, 0n, 3).status).toBe("RMI_SUCCESS");
    expect(entry(t, 0n, 3)).toEqual([2, ASSIGNED, pa, EMPTY]);
    expect(t.p.granule(l2).refcount).toBe(1);
    const fresh = t.delegated();
    expect(t.p.rmi.rttCreate(t.rd, fresh, 0n, 3).status).toBe("RMI_SUCCESS");
    expect(t.p.granule(fresh)).toMatchObject({ state: "RTT", refcount: 512 });
    expect(t.p.granule(l2).refcount).toBe(1);
    expect(entry(t, 0x7000n, 3)).toEqual([3, ASSIGNED, pa + 0x7000n, EMPTY]);
    expect(entry(t, 0x1ff000n, 3)).toEqual([3, ASSIGNED, pa + 0x1ff000n, EMPTY]);
  });

  it("unfolds an ASSIGNED_NS 2 MiB block into 512 ASSIGNED_NS pages with contiguous OAs and the same attributes", () => {
    const t = makeRealm({ s2sz: 40, sl: 1 });
    const ipa = (1n << 39n) + 4n * SZ_2M; // unprotected half
    createRtts(t, ipa, 2);
    const oa = 0x4000_0000n; // any PA may be mapped unprotected
    expect(t.p.rmi.rttMapUnprotected(t.rd, ipa, 2, oa | NS_ATTRS).status).toBe("RMI_SUCCESS");
    const l2 = entry(t, alignDown(ipa, SZ_1G), 1)[2];
    expect(t.p.granule(l2).refcount).toBe(0); // NS mappings hold no reference
    const fresh = t.delegated();
    expect(t.p.rmi.rttCreate(t.rd, fresh, ipa, 3).status).toBe("RMI_SUCCESS");
    expect(t.p.granule(fresh).refcount).toBe(0);
    expect(t.p.granule(l2).refcount).toBe(1); // now a TABLE entry
    expect(entry(t, ipa + 0x3000n, 3)).toEqual([3, ASSIGNED, oa + 0x3000n | NS_ATTRS, EMPTY]);
  });

  it("works on unprotected IPAs (UNASSIGNED_NS parent)", () => {
    const t = makeRealm({ s2sz: 40, sl: 1 });
    const ipa = 1n << 39n;
    createRtts(t, ipa, 3);
    expect(entry(t, ipa, 3)).toEqual([3, UNASSIGNED, 0n, EMPTY]);
    expect(t.p.granule(t.rtt + G).refcount).toBe(1); // the second root holds the unprotected half
  });

  it("creating under a live page table entry keeps existing mappings reachable", () => {
    const t = makeRealm({ s2sz: 40, sl: 1 });
    createRtts(t, 0n, 3);
    const d = mapUnknown(t, 0x3000n);
    expect(entry(t, 0x3000n, 3)).toEqual([3, ASSIGNED, d, EMPTY]);
  });
});

describe("start levels and concatenated roots", () => {
  it("s2sz 40 sl 1: two root tables; IPA 2^39 goes to the second", () => {
    const t = makeRealm({ s2sz: 40, sl: 1 });
    expect(t.params.rttNumStart).toBe(2);
    const a = t.delegated();
    const b = t.delegated();
    expect(t.p.rmi.rttCreate(t.rd, a, 0n, 2).status).toBe("RMI_SUCCESS");
    expect(t.p.rmi.rttCreate(t.rd, b, (1n << 39n) + SZ_1G, 2).status).toBe("RMI_SUCCESS");
    expect(t.p.granule(t.rtt).refcount).toBe(1);
    expect(t.p.granule(t.rtt + G).refcount).toBe(1);
    expect(entry(t, (1n << 39n) + SZ_1G, 1)).toEqual([1, TABLE, b, EMPTY]);
  });

  it("s2sz 42 sl 1: eight root tables, the last one is the top of the unprotected half", () => {
    const t = makeRealm({ s2sz: 42, sl: 1 });
    expect(t.params.rttNumStart).toBe(8);
    const last = (1n << 42n) - SZ_1G;
    const r = t.delegated();
    expect(t.p.rmi.rttCreate(t.rd, r, last, 2).status).toBe("RMI_SUCCESS");
    expect(t.p.granule(t.rtt + 7n * G).refcount).toBe(1);
    expect(entry(t, last, 1)).toEqual([1, TABLE, r, EMPTY]);
    expect(entry(t, (1n << 41n) - SZ_1G, 1)).toEqual([1, UNASSIGNED, 0n, EMPTY]); // protected
    expect(t.p.rmi.rttCreate(t.rd, t.delegated(), 1n << 42n, 2).status).toBe("RMI_ERROR_INPUT");
  });

  it("s2sz 48 sl 0: level 1 is the first creatable level, level 0 is the root", () => {
    const t = makeRealm({ s2sz: 48, sl: 0 });
    expect(t.p.rmi.rttCreate(t.rd, t.delegated(), 0n, 0).status).toBe("RMI_ERROR_INPUT");
    expect(t.p.rmi.rttCreate(t.rd, t.delegated(), 0n, 2)).toEqual({ status: "RMI_ERROR_RTT", index: 0 });
    createRtts(t, 0n, 3);
    expect(entry(t, 0n, 3)).toEqual([3, UNASSIGNED, 0n, EMPTY]);
  });

  it("LPA2, s2sz 52 sl -1: 16-entry root at level -1; a walk that stops there reports RTT index 0xff", () => {
    const p = highPlatform(true);
    const t = makeRealm({ p, s2sz: 52, sl: -1, lpa2: true });
    expect(t.params.rttNumStart).toBe(1);
    expect(entry(t, 0n, 3)).toEqual([-1, UNASSIGNED, 0n, EMPTY]);
    expect(entry(t, 1n << 51n, -1)).toEqual([-1, UNASSIGNED, 0n, EMPTY]); // unprotected half (UNASSIGNED_NS)
    expect(t.p.rmi.rttCreate(t.rd, t.delegated(), 0n, 1)).toEqual({ status: "RMI_ERROR_RTT", index: 0xff });
    expect(t.p.rmmTrace.at(-1)).toMatch(/> RMI_ERROR_RTT 255$/);
    const l0 = t.delegated();
    expect(t.p.rmi.rttCreate(t.rd, l0, 0n, 0).status).toBe("RMI_SUCCESS");
    createRtts(t, 0n, 3);
    expect(entry(t, 0n, 3)).toEqual([3, UNASSIGNED, 0n, EMPTY]);
    expect(entry(t, 0n, -1)).toEqual([-1, TABLE, l0, EMPTY]);
    // a level-0 table in the unprotected half holds UNASSIGNED_NS entries
    const ns = (1n << 51n) + (1n << 48n);
    expect(t.p.rmi.rttCreate(t.rd, t.delegated(), ns, 0).status).toBe("RMI_SUCCESS");
    expect(t.p.rmi.rttMapUnprotected(t.rd, ns, 1, 0n | NS_ATTRS)).toEqual({ status: "RMI_ERROR_RTT", index: 0 });
  });

  it("LPA2, s2sz 52 sl 0: sixteen concatenated level-0 roots", () => {
    const p = highPlatform(true);
    const t = makeRealm({ p, s2sz: 52, sl: 0, lpa2: true });
    expect(t.params.rttNumStart).toBe(16);
    const top = (1n << 52n) - (1n << 39n);
    const r = t.delegated();
    expect(t.p.rmi.rttCreate(t.rd, r, top, 1).status).toBe("RMI_SUCCESS");
    expect(t.p.granule(t.rtt + 15n * G).refcount).toBe(1);
    expect(entry(t, top, 0)).toEqual([0, TABLE, r, EMPTY]);
  });
});

describe("RTT_CREATE under RMM 2.0 (TF-RMM main order: the walk before the RTT granule)", () => {
  it("an undelegated RTT granule with a short walk gives RTT(l) in 2.0 and INPUT in 1.0", () => {
    const p = platform2();
    boot(p);
    createRealm(p);
    const ns = 0x8800_0000n; // an undelegated granule
    expectFailure(p, { name: "2.0: walk first", status: "RMI_ERROR_RTT", index: 1, run: () => p.rmi.rttCreate(RD, ns, SZ_1G, 3) });
    expectFailure(p, { name: "2.0: then the granule", status: "RMI_ERROR_INPUT", run: () => p.rmi.rttCreate(RD, ns, SZ_1G, 2) });
    expectFailure(p, { name: "2.0: rtt == rd", status: "RMI_ERROR_INPUT", run: () => p.rmi.rttCreate(RD, RD, SZ_1G, 2) });
    const t = makeRealm({ s2sz: 40, sl: 1 });
    expectFailure(t.p, { name: "1.0: granule first", status: "RMI_ERROR_INPUT", run: () => t.p.rmi.rttCreate(t.rd, t.alloc.ns(), SZ_1G, 3) });
    // and a 2.0 create works like 1.0 once the granule is delegated
    expect(p.rmi.granuleRangeDelegate(ns, ns + G).status).toBe("RMI_SUCCESS");
    expect(p.rmi.rttCreate(RD, ns, SZ_1G, 2).status).toBe("RMI_SUCCESS");
    expect(p.rmi.rttReadEntry(RD, SZ_1G, 1)).toMatchObject({ walkLevel: 1n, state: TABLE, desc: ns });
  });

  it("the 2.0 table keeps the v1.0 rows marked for both ABIs; MAP/UNMAP_UNPROTECTED only with the compat switch", () => {
    const p = Platform.create({ rmm: "2.0" });
    for (const f of [0x15d, 0x15e, 0x161, 0x166, 0x169]) expect(p.rmm.table.get(f)?.abi).toContain("2.0");
    expect(p.rmm.table.get(0x15f)).toBeUndefined();
    expect(p.rmm.table.get(0x162)).toBeUndefined();
    const c = Platform.create({ rmm: "2.0", v1Compat: true });
    expect(c.rmm.table.get(0x15f)?.name).toBe("RMI_RTT_MAP_UNPROTECTED");
    expect(c.rmm.table.get(0x162)?.name).toBe("RMI_RTT_UNMAP_UNPROTECTED");
  });
});

import { describe, expect, it } from "vitest";
import {
  ASSIGNED, EMPTY, G, NS_ATTRS, SZ_1G, SZ_2M, TABLE, UNASSIGNED,
  createRtts, entry, expectFailure, itFailureCases, highPlatform, makeRealm, type FailCase, type TestRealm,
} from "./helpers.js";

const NS = 1n << 39n; // first unprotected IPA of an s2sz-40 realm

function setup(): TestRealm {
  const t = makeRealm({ s2sz: 40, sl: 1 });
  createRtts(t, NS, 2);
  createRtts(t, NS + SZ_2M, 3);
  return t;
}

describe("RMI_RTT_MAP_UNPROTECTED failure conditions, in spec order", () => {
  const oa = 0x9000_0000n;
  const cases: ((t: TestRealm) => FailCase)[] = [
    (t) => ({ name: "level_bound (0)", status: "RMI_ERROR_INPUT", run: () => t.p.rmi.rttMapUnprotected(t.rd, NS, 0, oa | NS_ATTRS) }),
    (t) => ({ name: "level_bound (4)", status: "RMI_ERROR_INPUT", run: () => t.p.rmi.rttMapUnprotected(t.rd, NS, 4, oa | NS_ATTRS) }),
    (t) => ({ name: "level_bound beats rd_state", status: "RMI_ERROR_INPUT", run: () => t.p.rmi.rttMapUnprotected(t.rtt, NS, -1, oa | NS_ATTRS) }),
    (t) => ({ name: "rd_state", status: "RMI_ERROR_INPUT", run: () => t.p.rmi.rttMapUnprotected(t.rtt, NS, 3, oa | NS_ATTRS) }),
    (t) => ({ name: "desc: valid bit set by the host", status: "RMI_ERROR_INPUT", run: () => t.p.rmi.rttMapUnprotected(t.rd, NS, 3, oa | NS_ATTRS | 3n) }),
    (t) => ({ name: "desc: SH bits (not host-controlled without LPA2)", status: "RMI_ERROR_INPUT", run: () => t.p.rmi.rttMapUnprotected(t.rd, NS, 3, oa | NS_ATTRS | 0x300n) }),
    // TF-RMM rel0 S2TTE_NS_ATTR_MASK = MemAttr[4:2] | S2AP[7:6] (0xdc): bit 5 is not the host's
    (t) => ({ name: "desc: bit 5 (not host-controlled: NS attr mask is 0xdc)", status: "RMI_ERROR_INPUT", run: () => t.p.rmi.rttMapUnprotected(t.rd, NS, 3, oa | NS_ATTRS | 0x20n) }),
    (t) => ({ name: "desc: AF bit", status: "RMI_ERROR_INPUT", run: () => t.p.rmi.rttMapUnprotected(t.rd, NS, 3, oa | NS_ATTRS | 0x400n) }),
    (t) => ({ name: "desc: XN bits", status: "RMI_ERROR_INPUT", run: () => t.p.rmi.rttMapUnprotected(t.rd, NS, 3, oa | NS_ATTRS | (2n << 53n)) }),
    (t) => ({ name: "desc: OA not aligned to the level", status: "RMI_ERROR_INPUT", run: () => t.p.rmi.rttMapUnprotected(t.rd, NS, 2, (oa + G) | NS_ATTRS) }),
    (t) => ({ name: "desc: OA >= 2^48 without LPA2", status: "RMI_ERROR_INPUT", run: () => t.p.rmi.rttMapUnprotected(t.rd, NS, 3, (1n << 48n) | NS_ATTRS) }),
    (t) => ({ name: "desc: MemAttr 0b100 (FWB reserved)", status: "RMI_ERROR_INPUT", run: () => t.p.rmi.rttMapUnprotected(t.rd, NS, 3, oa | 0x10n | 0xc0n) }),
    (t) => ({ name: "desc check beats ipa_bound", status: "RMI_ERROR_INPUT", run: () => t.p.rmi.rttMapUnprotected(t.rd, 1n << 40n, 3, oa | 1n) }),
    (t) => ({ name: "ipa_bound", status: "RMI_ERROR_INPUT", run: () => t.p.rmi.rttMapUnprotected(t.rd, 1n << 40n, 3, oa | NS_ATTRS) }),
    (t) => ({ name: "ipa_align (to level)", status: "RMI_ERROR_INPUT", run: () => t.p.rmi.rttMapUnprotected(t.rd, NS + G, 2, oa | NS_ATTRS) }),
    (t) => ({ name: "ipa in the PAR", status: "RMI_ERROR_INPUT", run: () => t.p.rmi.rttMapUnprotected(t.rd, NS - G, 3, oa | NS_ATTRS) }),
    (t) => ({ name: "ipa in the PAR beats rtt_walk", status: "RMI_ERROR_INPUT", run: () => t.p.rmi.rttMapUnprotected(t.rd, SZ_1G, 3, oa | NS_ATTRS) }),
    (t) => ({ name: "rtt_walk (no L3 at NS): RTT(2)", status: "RMI_ERROR_RTT", index: 2, run: () => t.p.rmi.rttMapUnprotected(t.rd, NS, 3, oa | NS_ATTRS) }),
    (t) => ({ name: "rtt_walk (no L2 at NS + 1 GiB): RTT(1)", status: "RMI_ERROR_RTT", index: 1, run: () => t.p.rmi.rttMapUnprotected(t.rd, NS + SZ_1G, 2, oa | NS_ATTRS) }),
    (t) => ({ name: "rtte_state (L2 entry is a TABLE)", status: "RMI_ERROR_RTT", index: 2, run: () => t.p.rmi.rttMapUnprotected(t.rd, NS + SZ_2M, 2, oa | NS_ATTRS) }),
    (t) => {
      expect(t.p.rmi.rttMapUnprotected(t.rd, NS + SZ_2M, 3, oa | NS_ATTRS).status).toBe("RMI_SUCCESS");
      return { name: "rtte_state (already ASSIGNED_NS)", status: "RMI_ERROR_RTT", index: 3, run: () => t.p.rmi.rttMapUnprotected(t.rd, NS + SZ_2M, 3, (oa + G) | NS_ATTRS) };
    },
  ];
  itFailureCases(setup, cases);
});

describe("RMI_RTT_MAP_UNPROTECTED effects", () => {
  it("maps a page: ASSIGNED_NS, READ_ENTRY gives back the host descriptor (OA, MemAttr, S2AP), no refcount", () => {
    const t = setup();
    const l3 = entry(t, NS + SZ_2M, 2)[2];
    for (const [i, attrs] of [[0n, NS_ATTRS], [1n, 0x18n | 0x40n], [2n, 0x04n | 0x80n], [3n, 0n]] as const) {
      const desc = (0x9000_0000n + i * G) | attrs;
      expect(t.p.rmi.rttMapUnprotected(t.rd, NS + SZ_2M + i * G, 3, desc)).toEqual({ status: "RMI_SUCCESS", index: 0 });
      expect(entry(t, NS + SZ_2M + i * G, 3)).toEqual([3, ASSIGNED, desc, EMPTY]);
    }
    expect(t.p.granule(l3).refcount).toBe(0);
  });

  it("maps 2 MiB and 1 GiB blocks directly", () => {
    const t = setup();
    expect(t.p.rmi.rttMapUnprotected(t.rd, NS + 2n * SZ_2M, 2, 0x8020_0000n | NS_ATTRS).status).toBe("RMI_SUCCESS");
    expect(entry(t, NS + 2n * SZ_2M + 0x3000n, 3)).toEqual([2, ASSIGNED, 0x8020_0000n | NS_ATTRS, EMPTY]);
    expect(t.p.rmi.rttMapUnprotected(t.rd, NS + 3n * SZ_1G, 1, (5n * SZ_1G) | NS_ATTRS).status).toBe("RMI_SUCCESS");
    expect(entry(t, NS + 3n * SZ_1G, 1)).toEqual([1, ASSIGNED, (5n * SZ_1G) | NS_ATTRS, EMPTY]);
  });

  it("LPA2: OA bits [51:50] are carried in descriptor bits [9:8] and come back unchanged", () => {
    const p = highPlatform(true);
    const t = makeRealm({ p, s2sz: 52, sl: 0, lpa2: true });
    const ns = 1n << 51n;
    createRtts(t, ns, 3);
    const oa = (3n << 50n) | (1n << 48n) | 0x1234_5000n; // a PA above 2^50
    const desc = (oa & ((1n << 50n) - 1n)) | (3n << 8n) | NS_ATTRS;
    expect(t.p.rmi.rttMapUnprotected(t.rd, ns, 3, desc).status).toBe("RMI_SUCCESS");
    expect(entry(t, ns, 3)).toEqual([3, ASSIGNED, desc, EMPTY]);
    expect(t.p.rmi.rttMapUnprotected(t.rd, ns + G, 3, (1n << 52n) | NS_ATTRS).status).toBe("RMI_ERROR_INPUT");
  });
});

describe("RMI_RTT_UNMAP_UNPROTECTED failure conditions, in spec order", () => {
  function withMapping(): TestRealm {
    const t = setup();
    expect(t.p.rmi.rttMapUnprotected(t.rd, NS + SZ_2M + 5n * G, 3, 0x9000_0000n | NS_ATTRS).status).toBe("RMI_SUCCESS");
    return t;
  }
  const cases: ((t: TestRealm) => FailCase)[] = [
    (t) => ({ name: "level_bound (0)", status: "RMI_ERROR_INPUT", outs: { top: 0n }, run: () => t.p.rmi.rttUnmapUnprotected(t.rd, NS, 0) }),
    (t) => ({ name: "level_bound (4)", status: "RMI_ERROR_INPUT", run: () => t.p.rmi.rttUnmapUnprotected(t.rd, NS, 4) }),
    (t) => ({ name: "rd_state", status: "RMI_ERROR_INPUT", outs: { top: 0n }, run: () => t.p.rmi.rttUnmapUnprotected(t.rd + G, NS, 3) }),
    (t) => ({ name: "ipa_bound", status: "RMI_ERROR_INPUT", outs: { top: 0n }, run: () => t.p.rmi.rttUnmapUnprotected(t.rd, 1n << 40n, 3) }),
    (t) => ({ name: "ipa_align", status: "RMI_ERROR_INPUT", run: () => t.p.rmi.rttUnmapUnprotected(t.rd, NS + G, 2) }),
    (t) => ({ name: "ipa in the PAR", status: "RMI_ERROR_INPUT", outs: { top: 0n }, run: () => t.p.rmi.rttUnmapUnprotected(t.rd, 0n, 3) }),
    (t) => ({
      name: "rtt_walk (no L3 at NS): RTT(2), top = next live entry of the L2 table",
      status: "RMI_ERROR_RTT", index: 2, outs: { top: NS + SZ_2M },
      run: () => t.p.rmi.rttUnmapUnprotected(t.rd, NS + G, 3),
    }),
    (t) => ({
      name: "rtte_state (UNASSIGNED_NS): RTT(3), top = the live page",
      status: "RMI_ERROR_RTT", index: 3, outs: { top: NS + SZ_2M + 5n * G },
      run: () => t.p.rmi.rttUnmapUnprotected(t.rd, NS + SZ_2M, 3),
    }),
    (t) => ({
      name: "rtte_state (TABLE at level 2): RTT(2), top = ipa (a table is live)",
      status: "RMI_ERROR_RTT", index: 2, outs: { top: NS + SZ_2M },
      run: () => t.p.rmi.rttUnmapUnprotected(t.rd, NS + SZ_2M, 2),
    }),
  ];
  for (const mk of cases) {
    const t = withMapping();
    const c = mk(t);
    it(c.name, () => expectFailure(t.p, c));
  }

  it("unmaps: UNASSIGNED_NS again, top = next live entry or the end of the table", () => {
    const t = withMapping();
    expect(t.p.rmi.rttMapUnprotected(t.rd, NS + SZ_2M + 9n * G, 3, 0x9000_1000n | NS_ATTRS).status).toBe("RMI_SUCCESS");
    expect(t.p.rmi.rttUnmapUnprotected(t.rd, NS + SZ_2M + 5n * G, 3)).toEqual({ status: "RMI_SUCCESS", index: 0, top: NS + SZ_2M + 9n * G });
    expect(entry(t, NS + SZ_2M + 5n * G, 3)).toEqual([3, UNASSIGNED, 0n, EMPTY]);
    expect(t.p.rmi.rttUnmapUnprotected(t.rd, NS + SZ_2M + 9n * G, 3)).toEqual({ status: "RMI_SUCCESS", index: 0, top: NS + 2n * SZ_2M });
    // and the now empty L3 table can be folded back into UNASSIGNED_NS
    expect(t.p.rmi.rttFold(t.rd, NS + SZ_2M, 3).status).toBe("RMI_SUCCESS");
    expect(entry(t, NS + SZ_2M, 3)).toEqual([2, UNASSIGNED, 0n, EMPTY]);
    expect(entry(t, NS, 1)).toEqual([1, TABLE, entry(t, NS, 1)[2], EMPTY]);
  });
});

import { describe, expect, it } from "vitest";
import {
  ASSIGNED, DESTROYED, EMPTY, G, NS_ATTRS, RAM, SZ_1G, SZ_2M, TABLE, UNASSIGNED,
  createRtts, entry, expectFailure, highPlatform, makeRealm, mapUnknown, nsPage, type FailCase, type TestRealm,
} from "./helpers.js";

describe("RMI_RTT_READ_ENTRY failure conditions, in spec order (outputs stay 0)", () => {
  const zero = { walkLevel: 0n, state: 0n, desc: 0n, ripas: 0n };
  const cases: ((t: TestRealm) => FailCase)[] = [
    (t) => ({ name: "rd_align", status: "RMI_ERROR_INPUT", outs: zero, run: () => t.p.rmi.rttReadEntry(t.rd + 1n, 0n, 3) }),
    (t) => ({ name: "rd_bound", status: "RMI_ERROR_INPUT", outs: zero, run: () => t.p.rmi.rttReadEntry(1n << 47n, 0n, 3) }),
    (t) => ({ name: "rd_state", status: "RMI_ERROR_INPUT", outs: zero, run: () => t.p.rmi.rttReadEntry(t.rtt, 0n, 3) }),
    (t) => ({ name: "level_bound (below sl)", status: "RMI_ERROR_INPUT", outs: zero, run: () => t.p.rmi.rttReadEntry(t.rd, 0n, 0) }),
    (t) => ({ name: "level_bound (4)", status: "RMI_ERROR_INPUT", outs: zero, run: () => t.p.rmi.rttReadEntry(t.rd, 0n, 4) }),
    (t) => ({ name: "level_bound (huge register)", status: "RMI_ERROR_INPUT", outs: zero, run: () => t.p.rmi.rttReadEntry(t.rd, 0n, 1n << 63n) }),
    (t) => ({ name: "ipa_align", status: "RMI_ERROR_INPUT", outs: zero, run: () => t.p.rmi.rttReadEntry(t.rd, G, 2) }),
    (t) => ({ name: "ipa_bound", status: "RMI_ERROR_INPUT", outs: zero, run: () => t.p.rmi.rttReadEntry(t.rd, 1n << 40n, 3) }),
  ];
  for (const mk of cases) {
    const t = makeRealm({ s2sz: 40, sl: 1 });
    createRtts(t, 0n, 3);
    const c = mk(t);
    it(c.name, () => expectFailure(t.p, c));
  }

  it("through smc: x1..x4 are 0 on failure", () => {
    const t = makeRealm({ s2sz: 40, sl: 1 });
    expect(t.p.smc(t.p.fid("RMI_RTT_READ_ENTRY"), t.rd, G, 2n)).toEqual([1n, 0n, 0n, 0n, 0n]);
  });
});

describe("RMI_RTT_READ_ENTRY outputs per entry state", () => {
  it("reports every RTTE state with the spec encodings (state, desc, RIPAS) and the walk level", () => {
    const t = makeRealm({ s2sz: 40, sl: 1 });
    createRtts(t, 0n, 3);
    const l2 = entry(t, 0n, 1)[2];
    const l3 = entry(t, 0n, 2)[2];
    // root entry: TABLE, desc = child RTT
    expect(entry(t, 0n, 1)).toEqual([1, TABLE, l2, EMPTY]);
    expect(entry(t, 0n, 2)).toEqual([2, TABLE, l3, EMPTY]);
    // UNASSIGNED EMPTY / RAM
    expect(entry(t, 0n, 3)).toEqual([3, UNASSIGNED, 0n, EMPTY]);
    expect(t.p.rmi.rttInitRipas(t.rd, G, 2n * G).status).toBe("RMI_SUCCESS");
    expect(entry(t, G, 3)).toEqual([3, UNASSIGNED, 0n, RAM]);
    // ASSIGNED EMPTY (DATA_CREATE_UNKNOWN keeps RIPAS) / RAM (DATA_CREATE)
    const d1 = mapUnknown(t, 2n * G);
    expect(entry(t, 2n * G, 3)).toEqual([3, ASSIGNED, d1, EMPTY]);
    const d2 = t.delegated();
    expect(t.p.rmi.dataCreate(t.rd, d2, 3n * G, nsPage(t), 0n).status).toBe("RMI_SUCCESS");
    expect(entry(t, 3n * G, 3)).toEqual([3, ASSIGNED, d2, RAM]);
    // UNASSIGNED DESTROYED (DATA_DESTROY of a RAM page), then ASSIGNED DESTROYED (CREATE_UNKNOWN keeps it)
    expect(t.p.rmi.dataDestroy(t.rd, 3n * G).status).toBe("RMI_SUCCESS");
    expect(entry(t, 3n * G, 3)).toEqual([3, UNASSIGNED, 0n, DESTROYED]);
    const d3 = mapUnknown(t, 3n * G);
    expect(entry(t, 3n * G, 3)).toEqual([3, ASSIGNED, d3, DESTROYED]);
    // a walk that stops early reports the entry where it stopped
    expect(entry(t, 5n * SZ_1G, 3)).toEqual([1, UNASSIGNED, 0n, EMPTY]);
    // reading at the root level is allowed
    expect(entry(t, 5n * SZ_1G, 1)).toEqual([1, UNASSIGNED, 0n, EMPTY]);
  });

  it("unprotected entries: UNASSIGNED_NS reads as UNASSIGNED/EMPTY, ASSIGNED_NS as ASSIGNED with the host descriptor", () => {
    const t = makeRealm({ s2sz: 40, sl: 1 });
    const ns = 1n << 39n;
    expect(entry(t, ns, 3)).toEqual([1, UNASSIGNED, 0n, EMPTY]);
    createRtts(t, ns, 2);
    expect(t.p.rmi.rttMapUnprotected(t.rd, ns + SZ_2M, 2, 0x8800_0000n | NS_ATTRS).status).toBe("RMI_SUCCESS");
    expect(entry(t, ns + SZ_2M, 3)).toEqual([2, ASSIGNED, 0x8800_0000n | NS_ATTRS, EMPTY]);
  });

  it("the walk level is returned as a 64-bit register value (-1 for an LPA2 level -1 root)", () => {
    const t = makeRealm({ p: highPlatform(true), s2sz: 52, sl: -1, lpa2: true });
    const r = t.p.rmi.rttReadEntry(t.rd, 0n, 3);
    expect(r).toEqual({ status: "RMI_SUCCESS", index: 0, walkLevel: 0xffff_ffff_ffff_ffffn, state: UNASSIGNED, desc: 0n, ripas: EMPTY });
  });
});

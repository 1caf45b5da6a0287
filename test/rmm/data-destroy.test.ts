import { describe, expect, it } from "vitest";
import {
  ASSIGNED, DESTROYED, EMPTY, G, SZ_1G, SZ_2M, UNASSIGNED,
  createRtts, entry, itFailureCases, makeRealm, mapUnknown, nsPage, type FailCase, type TestRealm,
} from "./helpers.js";

/** s2sz 40, sl 1; L3 at 0 with pages at 0x3000 (RAM, via DATA_CREATE) and 0x9000; an L2 at 2 GiB. */
function setup(): TestRealm & { page: bigint } {
  const t = makeRealm({ s2sz: 40, sl: 1 });
  createRtts(t, 0n, 3);
  createRtts(t, 2n * SZ_1G, 2);
  const page = t.delegated();
  expect(t.p.rmi.dataCreate(t.rd, page, 0x3000n, nsPage(t), 0n).status).toBe("RMI_SUCCESS");
  mapUnknown(t, 0x9000n);
  return Object.assign(t, { page });
}

describe("RMI_DATA_DESTROY failure conditions, in spec order", () => {
  const cases: ((t: TestRealm) => FailCase)[] = [
    (t) => ({ name: "rd_align", status: "RMI_ERROR_INPUT", outs: { data: 0n, top: 0n }, run: () => t.p.rmi.dataDestroy(t.rd + 4n, 0x3000n) }),
    (t) => ({ name: "rd_state", status: "RMI_ERROR_INPUT", outs: { top: 0n }, run: () => t.p.rmi.dataDestroy(t.rtt, 0x3000n) }),
    (t) => ({ name: "ipa_bound (unprotected)", status: "RMI_ERROR_INPUT", outs: { top: 0n }, run: () => t.p.rmi.dataDestroy(t.rd, 1n << 39n) }),
    (t) => ({ name: "ipa_bound (outside)", status: "RMI_ERROR_INPUT", outs: { top: 0n }, run: () => t.p.rmi.dataDestroy(t.rd, 1n << 40n) }),
    (t) => ({ name: "ipa_align", status: "RMI_ERROR_INPUT", outs: { top: 0n }, run: () => t.p.rmi.dataDestroy(t.rd, 0x3008n) }),
    (t) => ({
      name: "rtt_walk (no L3): RTT(2), top = end of the L2 table (nothing live after)",
      status: "RMI_ERROR_RTT", index: 2, outs: { data: 0n, top: 3n * SZ_1G },
      run: () => t.p.rmi.dataDestroy(t.rd, 2n * SZ_1G + 0x5000n),
    }),
    (t) => ({
      name: "rtt_walk (no L2): RTT(1), top = next live root entry",
      status: "RMI_ERROR_RTT", index: 1, outs: { top: 2n * SZ_1G },
      run: () => t.p.rmi.dataDestroy(t.rd, SZ_1G + 0x5000n),
    }),
    (t) => ({
      name: "rtte_state (UNASSIGNED): RTT(3), top = next live page",
      status: "RMI_ERROR_RTT", index: 3, outs: { data: 0n, top: 0x9000n },
      run: () => t.p.rmi.dataDestroy(t.rd, 0x4000n),
    }),
    (t) => ({
      name: "rtte_state (UNASSIGNED, nothing live after): top = end of the L3 table",
      status: "RMI_ERROR_RTT", index: 3, outs: { top: SZ_2M },
      run: () => t.p.rmi.dataDestroy(t.rd, 0xa000n),
    }),
  ];
  itFailureCases(setup, cases);
});

describe("RMI_DATA_DESTROY effects", () => {
  it("ASSIGNED/RAM -> UNASSIGNED/DESTROYED; the DATA granule is scrubbed and DELEGATED; refcount -1; x1 PA, x2 top", () => {
    const t = setup();
    const l3 = entry(t, 0n, 2)[2];
    expect(t.p.granule(l3).refcount).toBe(2);
    expect(t.p.machine.mem.isZero(Number(t.page / G))).toBe(false);
    expect(t.p.rmi.dataDestroy(t.rd, 0x3000n)).toEqual({ status: "RMI_SUCCESS", index: 0, data: t.page, top: 0x9000n });
    expect(entry(t, 0x3000n, 3)).toEqual([3, UNASSIGNED, 0n, DESTROYED]);
    expect(t.p.granule(t.page)).toMatchObject({ state: "DELEGATED", refcount: 0, pas: "REALM" });
    expect(t.p.machine.mem.isZero(Number(t.page / G))).toBe(true);
    expect(t.p.granule(l3).refcount).toBe(1);
    // the host can now undelegate it
    expect(t.p.rmi.granuleUndelegate(t.page).status).toBe("RMI_SUCCESS");
    expect(t.p.ns.read(t.page, 16)).toEqual(new Uint8Array(16));
  });

  it("ASSIGNED/EMPTY -> UNASSIGNED/EMPTY and ASSIGNED/DESTROYED -> UNASSIGNED/DESTROYED", () => {
    const t = setup();
    const d = entry(t, 0x9000n, 3)[2];
    expect(entry(t, 0x9000n, 3)).toEqual([3, ASSIGNED, d, EMPTY]);
    expect(t.p.rmi.dataDestroy(t.rd, 0x9000n)).toEqual({ status: "RMI_SUCCESS", index: 0, data: d, top: SZ_2M });
    expect(entry(t, 0x9000n, 3)).toEqual([3, UNASSIGNED, 0n, EMPTY]);
    // DESTROYED page: destroy the RAM page, map unknown (keeps DESTROYED), destroy again
    expect(t.p.rmi.dataDestroy(t.rd, 0x3000n).status).toBe("RMI_SUCCESS");
    const d2 = mapUnknown(t, 0x3000n);
    expect(entry(t, 0x3000n, 3)).toEqual([3, ASSIGNED, d2, DESTROYED]);
    expect(t.p.rmi.dataDestroy(t.rd, 0x3000n)).toMatchObject({ status: "RMI_SUCCESS", data: d2 });
    expect(entry(t, 0x3000n, 3)).toEqual([3, UNASSIGNED, 0n, DESTROYED]);
  });

  it("works in ACTIVE; the DESTROYED RIPAS it leaves survives a later DATA_CREATE_UNKNOWN", () => {
    const t = setup();
    expect(t.p.rmi.realmActivate(t.rd).status).toBe("RMI_SUCCESS");
    expect(t.p.rmi.dataDestroy(t.rd, 0x3000n).status).toBe("RMI_SUCCESS");
    expect(t.p.rmi.dataCreate(t.rd, t.delegated(), 0x3000n, nsPage(t), 0n).status).toBe("RMI_ERROR_REALM");
    const d = mapUnknown(t, 0x3000n);
    expect(entry(t, 0x3000n, 3)).toEqual([3, ASSIGNED, d, DESTROYED]);
    expect(entry(t, 0x9000n, 3)[3]).toBe(EMPTY);
  });
});

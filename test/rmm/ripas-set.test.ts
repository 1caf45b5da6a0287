import { describe, expect, it } from "vitest";
import { Ripas } from "../../src/index.js";
import type { Rec } from "../../src/rmm/rec.js";
import {
  ASSIGNED, DESTROYED, EMPTY, G, RAM, SZ_2M, UNASSIGNED,
  createRtts, entry, itFailureCases, makeRealm, makeRec, mapUnknown, nsPage, type FailCase, type TestRealm,
} from "./helpers.js";

interface Fixture extends TestRealm {
  recPa: bigint;
  rec: Rec;
}

/**
 * s2sz 40, sl 1; L3 at 0 (L2 entry 1, at 2 MiB, has no L3); a REC with a pending request to
 * make [0, 64K) RAM (white-box: REC_ENTER of RSI_IPA_STATE_SET records it).
 */
function setup(req: Partial<Rec["ripas"] & object> = {}): Fixture {
  const t = makeRealm({ s2sz: 40, sl: 1 });
  createRtts(t, 0n, 3);
  const { pa, rec } = makeRec(t);
  rec.ripas = { base: 0, top: 0x10000, addr: 0, ripas: Ripas.RAM, changeDestroyed: false, ...req };
  return Object.assign(t, { recPa: pa, rec });
}

describe("RMI_RTT_SET_RIPAS failure conditions, in spec order", () => {
  const cases: ((t: Fixture) => FailCase)[] = [
    (t) => ({ name: "size_valid (top == base)", status: "RMI_ERROR_INPUT", outs: { top: 0n }, run: () => t.p.rmi.rttSetRipas(t.rd, t.recPa, 0n, 0n) }),
    (t) => ({ name: "top_gran_align", status: "RMI_ERROR_INPUT", run: () => t.p.rmi.rttSetRipas(t.rd, t.recPa, 0n, G + 0x800n) }),
    (t) => ({ name: "top_gran_align beats rd/rec state", status: "RMI_ERROR_INPUT", run: () => t.p.rmi.rttSetRipas(t.rtt, t.rtt, 0n, 0x800n) }),
    (t) => ({ name: "rd_state", status: "RMI_ERROR_INPUT", run: () => t.p.rmi.rttSetRipas(t.rtt, t.recPa, 0n, G) }),
    (t) => ({ name: "rec_align", status: "RMI_ERROR_INPUT", run: () => t.p.rmi.rttSetRipas(t.rd, t.recPa + 8n, 0n, G) }),
    (t) => ({ name: "rec_state (rec is the RD)", status: "RMI_ERROR_INPUT", run: () => t.p.rmi.rttSetRipas(t.rd, t.rd, 0n, G) }),
    (t) => ({ name: "rec_state (delegated)", status: "RMI_ERROR_INPUT", run: () => t.p.rmi.rttSetRipas(t.rd, t.recPa + G, 0n, G) }),
    (t) => {
      t.p.rmm.granules.addRef(t.rec.g, 1); // inside REC_ENTER
      return { name: "rec running", status: "RMI_ERROR_REC", run: () => t.p.rmi.rttSetRipas(t.rd, t.recPa, 0n, G) };
    },
    (t) => {
      const other = makeRealm({ p: t.p, alloc: t.alloc, s2sz: 40, sl: 1, vmid: 2 });
      return { name: "rec_owner", status: "RMI_ERROR_REC", run: () => t.p.rmi.rttSetRipas(other.rd, t.recPa, 0n, G) };
    },
    (t) => ({ name: "base_bound (not the progress address)", status: "RMI_ERROR_INPUT", run: () => t.p.rmi.rttSetRipas(t.rd, t.recPa, G, 2n * G) }),
    (t) => ({ name: "top_bound (beyond the request)", status: "RMI_ERROR_INPUT", run: () => t.p.rmi.rttSetRipas(t.rd, t.recPa, 0n, 0x11000n) }),
    (t) => {
      t.rec.ripas = undefined;
      return { name: "no pending request", status: "RMI_ERROR_INPUT", run: () => t.p.rmi.rttSetRipas(t.rd, t.recPa, 0n, G) };
    },
    (t) => {
      t.rec.ripas = { base: 0x20_0000, top: 0x80_0000, addr: 0x20_1000, ripas: Ripas.RAM, changeDestroyed: false };
      return { name: "base_bound beats base_align", status: "RMI_ERROR_INPUT", run: () => t.p.rmi.rttSetRipas(t.rd, t.recPa, SZ_2M + 2n * G, 3n * SZ_2M) };
    },
    (t) => {
      t.rec.ripas = { base: 0x20_1000, top: 0x60_0000, addr: 0x20_1000, ripas: Ripas.RAM, changeDestroyed: false };
      return { name: "base_align (L2 entry, no L3): RTT(2)", status: "RMI_ERROR_RTT", index: 2, run: () => t.p.rmi.rttSetRipas(t.rd, t.recPa, SZ_2M + G, 3n * SZ_2M) };
    },
    (t) => {
      t.rec.ripas = { base: 0x20_0000, top: 0x60_0000, addr: 0x20_0000, ripas: Ripas.RAM, changeDestroyed: false };
      return { name: "no_progress (top below the end of the 2 MiB entry)", status: "RMI_ERROR_RTT", index: 2, run: () => t.p.rmi.rttSetRipas(t.rd, t.recPa, SZ_2M, SZ_2M + G) };
    },
    (t) => {
      // the first entry is DESTROYED and the request has no CHANGE_DESTROYED
      const d = t.delegated();
      expect(t.p.rmi.dataCreate(t.rd, d, 0n, nsPage(t), 0n).status).toBe("RMI_SUCCESS");
      expect(t.p.rmi.dataDestroy(t.rd, 0n).status).toBe("RMI_SUCCESS");
      return { name: "rtte_state (DESTROYED, no CHANGE_DESTROYED)", status: "RMI_ERROR_RTT", index: 3, run: () => t.p.rmi.rttSetRipas(t.rd, t.recPa, 0n, G) };
    },
  ];
  itFailureCases(setup, cases);
});

describe("RMI_RTT_SET_RIPAS effects", () => {
  it("to RAM: UNASSIGNED and ASSIGNED EMPTY become RAM (HIPAS kept), progress moves, the host may go in steps", () => {
    const t = setup();
    const d = mapUnknown(t, 2n * G);
    expect(entry(t, 2n * G, 3)).toEqual([3, ASSIGNED, d, EMPTY]);
    const rim = Buffer.from(t.realm.rim).toString("hex");
    expect(t.p.rmi.rttSetRipas(t.rd, t.recPa, 0n, 4n * G)).toEqual({ status: "RMI_SUCCESS", index: 0, top: 4n * G });
    expect(t.rec.ripas!.addr).toBe(0x4000);
    expect(entry(t, 0n, 3)).toEqual([3, UNASSIGNED, 0n, RAM]);
    expect(entry(t, 2n * G, 3)).toEqual([3, ASSIGNED, d, RAM]);
    expect(entry(t, 4n * G, 3)).toEqual([3, UNASSIGNED, 0n, EMPTY]);
    // the next chunk must start at the progress address
    expect(t.p.rmi.rttSetRipas(t.rd, t.recPa, 0n, 8n * G).status).toBe("RMI_ERROR_INPUT");
    expect(t.p.rmi.rttSetRipas(t.rd, t.recPa, 4n * G, 0x10000n)).toMatchObject({ status: "RMI_SUCCESS", top: 0x10000n });
    expect(entry(t, 0xf000n, 3)).toEqual([3, UNASSIGNED, 0n, RAM]);
    // SET_RIPAS does not measure
    expect(Buffer.from(t.realm.rim).toString("hex")).toBe(rim);
    // already RAM: passes (no-op) until the request's top
    t.rec.ripas = { base: 0, top: 0x10000, addr: 0, ripas: Ripas.RAM, changeDestroyed: false };
    expect(t.p.rmi.rttSetRipas(t.rd, t.recPa, 0n, 0x10000n)).toMatchObject({ status: "RMI_SUCCESS", top: 0x10000n });
  });

  it("to EMPTY: RAM entries (assigned or not) become EMPTY", () => {
    const t = setup({ ripas: Ripas.EMPTY });
    expect(t.p.rmi.rttInitRipas(t.rd, 0n, 2n * G).status).toBe("RMI_SUCCESS");
    const d = t.delegated();
    expect(t.p.rmi.dataCreate(t.rd, d, 2n * G, nsPage(t), 0n).status).toBe("RMI_SUCCESS");
    expect(t.p.rmi.realmActivate(t.rd).status).toBe("RMI_SUCCESS");
    expect(t.p.rmi.rttSetRipas(t.rd, t.recPa, 0n, 3n * G)).toMatchObject({ status: "RMI_SUCCESS", top: 3n * G });
    expect(entry(t, 0n, 3)).toEqual([3, UNASSIGNED, 0n, EMPTY]);
    expect(entry(t, G, 3)).toEqual([3, UNASSIGNED, 0n, EMPTY]);
    expect(entry(t, 2n * G, 3)).toEqual([3, ASSIGNED, d, EMPTY]);
  });

  it("DESTROYED entries stop the change unless CHANGE_DESTROYED; with it they change (assigned and unassigned)", () => {
    for (const changeDestroyed of [false, true]) {
      const t = setup({ changeDestroyed });
      const src = nsPage(t);
      expect(t.p.rmi.dataCreate(t.rd, t.delegated(), G, src, 0n).status).toBe("RMI_SUCCESS");
      expect(t.p.rmi.dataDestroy(t.rd, G).status).toBe("RMI_SUCCESS");
      expect(t.p.rmi.dataCreate(t.rd, t.delegated(), 2n * G, src, 0n).status).toBe("RMI_SUCCESS");
      expect(t.p.rmi.dataDestroy(t.rd, 2n * G).status).toBe("RMI_SUCCESS");
      const d = mapUnknown(t, 2n * G);
      expect(entry(t, G, 3)).toEqual([3, UNASSIGNED, 0n, DESTROYED]);
      expect(entry(t, 2n * G, 3)).toEqual([3, ASSIGNED, d, DESTROYED]);
      const r = t.p.rmi.rttSetRipas(t.rd, t.recPa, 0n, 4n * G);
      if (!changeDestroyed) {
        expect(r).toMatchObject({ status: "RMI_SUCCESS", top: G });
        expect(entry(t, G, 3)[3]).toBe(DESTROYED);
      } else {
        expect(r).toMatchObject({ status: "RMI_SUCCESS", top: 4n * G });
        expect(entry(t, G, 3)).toEqual([3, UNASSIGNED, 0n, RAM]);
        expect(entry(t, 2n * G, 3)).toEqual([3, ASSIGNED, d, RAM]);
      }
    }
  });

  it("changes whole block entries and stops at the end of the RTT", () => {
    const t = setup();
    t.rec.ripas = { base: 0x1f_e000, top: 0x60_0000, addr: 0x1f_e000, ripas: Ripas.RAM, changeDestroyed: false };
    expect(t.p.rmi.rttSetRipas(t.rd, t.recPa, 0x1f_e000n, 0x60_0000n)).toMatchObject({ status: "RMI_SUCCESS", top: SZ_2M });
    expect(t.p.rmi.rttSetRipas(t.rd, t.recPa, SZ_2M, 0x60_0000n)).toMatchObject({ status: "RMI_SUCCESS", top: 0x60_0000n });
    expect(entry(t, 0x40_0000n, 3)).toEqual([2, UNASSIGNED, 0n, RAM]);
    expect(t.rec.ripas!.addr).toBe(0x60_0000);
  });
});

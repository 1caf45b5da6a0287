import { createHash } from "node:crypto";
import { describe, expect, it } from "vitest";
import {
  ASSIGNED, DESTROYED, EMPTY, G, RAM, SZ_1G, SZ_2M, UNASSIGNED,
  createRtts, entry, itFailureCases, makeRealm, mapUnknown, type FailCase, type TestRealm,
} from "./helpers.js";

/** The RIPAS measurement descriptor, built independently of src/rmm/measurement.ts (RMM spec A7.1.1). */
function extendRipas(rim: Uint8Array, base: bigint, top: bigint): Uint8Array {
  const d = Buffer.alloc(0x100);
  d.writeUInt8(2, 0);
  d.writeBigUInt64LE(0x100n, 0x08);
  Buffer.from(rim).copy(d, 0x10, 0, 64);
  d.writeBigUInt64LE(base, 0x50);
  d.writeBigUInt64LE(top, 0x58);
  const out = new Uint8Array(64);
  out.set(createHash("sha256").update(d).digest());
  return out;
}

/** s2sz 40, sl 1: L3 at 0, L2 (no L3) at 2 MiB. */
function setup(): TestRealm {
  const t = makeRealm({ s2sz: 40, sl: 1 });
  createRtts(t, 0n, 3);
  return t;
}

describe("RMI_RTT_INIT_RIPAS failure conditions, in spec order", () => {
  const NS = 1n << 39n;
  const cases: ((t: TestRealm) => FailCase)[] = [
    (t) => ({ name: "size_valid (top == base)", status: "RMI_ERROR_INPUT", outs: { top: 0n }, run: () => t.p.rmi.rttInitRipas(t.rd, G, G) }),
    (t) => ({ name: "size_valid (top < base)", status: "RMI_ERROR_INPUT", run: () => t.p.rmi.rttInitRipas(t.rd, 2n * G, G) }),
    (t) => ({ name: "size_valid beats rd_state", status: "RMI_ERROR_INPUT", run: () => t.p.rmi.rttInitRipas(t.rtt, 2n * G, G) }),
    (t) => ({ name: "rd_state", status: "RMI_ERROR_INPUT", run: () => t.p.rmi.rttInitRipas(t.rtt, 0n, G) }),
    (t) => ({ name: "base_align (granule)", status: "RMI_ERROR_INPUT", run: () => t.p.rmi.rttInitRipas(t.rd, 0x10n, G) }),
    (t) => ({ name: "top_gran_align", status: "RMI_ERROR_INPUT", run: () => t.p.rmi.rttInitRipas(t.rd, 0n, G + 1n) }),
    (t) => ({ name: "top_gran_align beats no_progress", status: "RMI_ERROR_INPUT", run: () => t.p.rmi.rttInitRipas(t.rd, SZ_2M, SZ_2M + 8n) }),
    (t) => ({ name: "top_bound (top-4K outside the PAR)", status: "RMI_ERROR_INPUT", run: () => t.p.rmi.rttInitRipas(t.rd, 0n, NS + G) }),
    (t) => ({ name: "base outside the PAR", status: "RMI_ERROR_INPUT", run: () => t.p.rmi.rttInitRipas(t.rd, NS, NS + G) }),
    (t) => ({ name: "top beyond the IPA space", status: "RMI_ERROR_INPUT", run: () => t.p.rmi.rttInitRipas(t.rd, 0n, 1n << 41n) }),
    (t) => ({ name: "top a huge register value", status: "RMI_ERROR_INPUT", run: () => t.p.rmi.rttInitRipas(t.rd, 0n, 0xffff_ffff_ffff_f000n) }),
    (t) => {
      expect(t.p.rmi.realmActivate(t.rd).status).toBe("RMI_SUCCESS");
      return { name: "realm_state (ACTIVE)", status: "RMI_ERROR_REALM", run: () => t.p.rmi.rttInitRipas(t.rd, SZ_2M + G, SZ_2M + 2n * G) };
    },
    (t) => ({ name: "base_align (to the walk level, no L3)", status: "RMI_ERROR_RTT", index: 2, run: () => t.p.rmi.rttInitRipas(t.rd, SZ_2M + G, SZ_2M + 2n * G) }),
    (t) => ({ name: "base_align (no L2): RTT(1)", status: "RMI_ERROR_RTT", index: 1, run: () => t.p.rmi.rttInitRipas(t.rd, SZ_1G + SZ_2M, SZ_1G + 2n * SZ_2M) }),
    (t) => ({ name: "no_progress (top below the end of the L2 entry)", status: "RMI_ERROR_RTT", index: 2, run: () => t.p.rmi.rttInitRipas(t.rd, SZ_2M, SZ_2M + G) }),
    (t) => {
      mapUnknown(t, 0x5000n);
      return { name: "rtte_state (ASSIGNED)", status: "RMI_ERROR_RTT", index: 3, run: () => t.p.rmi.rttInitRipas(t.rd, 0x5000n, 0x8000n) };
    },
    (t) => {
      // RTT_DESTROY leaves the L2 entry UNASSIGNED/DESTROYED
      createRtts(t, 4n * SZ_2M, 3);
      expect(t.p.rmi.rttDestroy(t.rd, 4n * SZ_2M, 3).status).toBe("RMI_SUCCESS");
      expect(entry(t, 4n * SZ_2M, 2)).toEqual([2, UNASSIGNED, 0n, DESTROYED]);
      return { name: "rtte_state (DESTROYED)", status: "RMI_ERROR_RTT", index: 2, run: () => t.p.rmi.rttInitRipas(t.rd, 4n * SZ_2M, 5n * SZ_2M) };
    },
  ];
  itFailureCases(setup, cases);
});

describe("RMI_RTT_INIT_RIPAS effects", () => {
  it("EMPTY -> RAM per entry, RAM entries pass, each entry processed extends the RIM once", () => {
    const t = setup();
    let rim = new Uint8Array(t.realm.rim);
    expect(t.p.rmi.rttInitRipas(t.rd, G, 3n * G)).toEqual({ status: "RMI_SUCCESS", index: 0, top: 3n * G });
    for (const a of [G, 2n * G]) rim = extendRipas(rim, a, a + G);
    expect(Buffer.from(t.realm.rim).equals(Buffer.from(rim))).toBe(true);
    expect(entry(t, 0n, 3)).toEqual([3, UNASSIGNED, 0n, EMPTY]);
    expect(entry(t, G, 3)).toEqual([3, UNASSIGNED, 0n, RAM]);
    expect(entry(t, 2n * G, 3)).toEqual([3, UNASSIGNED, 0n, RAM]);
    // again over RAM entries: still success, still measured
    expect(t.p.rmi.rttInitRipas(t.rd, G, 2n * G)).toMatchObject({ status: "RMI_SUCCESS", top: 2n * G });
    rim = extendRipas(rim, G, 2n * G);
    expect(Buffer.from(t.realm.rim).equals(Buffer.from(rim))).toBe(true);
  });

  it("stops at the end of the RTT (the host loops) and before an entry it cannot change", () => {
    const t = setup();
    expect(t.p.rmi.rttInitRipas(t.rd, SZ_2M - 2n * G, 3n * SZ_2M)).toMatchObject({ status: "RMI_SUCCESS", top: SZ_2M });
    // next call at the L2 level: 2 MiB entries, one measurement each
    let rim = new Uint8Array(t.realm.rim);
    expect(t.p.rmi.rttInitRipas(t.rd, SZ_2M, 3n * SZ_2M + G)).toMatchObject({ status: "RMI_SUCCESS", top: 3n * SZ_2M });
    rim = extendRipas(extendRipas(rim, SZ_2M, 2n * SZ_2M), 2n * SZ_2M, 3n * SZ_2M);
    expect(Buffer.from(t.realm.rim).equals(Buffer.from(rim))).toBe(true);
    expect(entry(t, 2n * SZ_2M + 0x7000n, 3)).toEqual([2, UNASSIGNED, 0n, RAM]);
    // an assigned page stops the loop
    const d = mapUnknown(t, 0x8000n);
    expect(t.p.rmi.rttInitRipas(t.rd, 0x6000n, 0x10000n)).toMatchObject({ status: "RMI_SUCCESS", top: 0x8000n });
    expect(entry(t, 0x8000n, 3)).toEqual([3, ASSIGNED, d, EMPTY]);
  });

  it("a 1 GiB unassigned entry at the root level is one entry", () => {
    const t = makeRealm({ s2sz: 40, sl: 1 });
    expect(t.p.rmi.rttInitRipas(t.rd, SZ_1G, 2n * SZ_1G)).toMatchObject({ status: "RMI_SUCCESS", top: 2n * SZ_1G });
    expect(entry(t, SZ_1G + 0x1234_5000n, 3)).toEqual([1, UNASSIGNED, 0n, RAM]);
    expect(entry(t, 0n, 3)).toEqual([1, UNASSIGNED, 0n, EMPTY]);
  });
});

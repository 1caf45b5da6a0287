import { createHash } from "node:crypto";
import { describe, expect, it } from "vitest";
import {
  ASSIGNED, DESTROYED, EMPTY, G, MMIO_BASE, RAM, SECURE_BASE, SZ_2M, UNASSIGNED,
  createRtts, entry, expectFailure, highPlatform, makeRealm, map512, mapUnknown, nsPage, type FailCase, type TestRealm,
} from "./helpers.js";

/** The DATA measurement descriptor, built here independently of src/rmm/measurement.ts (RMM spec A7.1.1). */
function expectedRimAfterData(algo: "sha256" | "sha512", rim: Uint8Array, ipa: bigint, flags: bigint, data: Uint8Array): Uint8Array {
  const d = Buffer.alloc(0x100);
  d.writeUInt8(0, 0); // DATA
  d.writeBigUInt64LE(0x100n, 0x08);
  Buffer.from(rim).copy(d, 0x10, 0, 64);
  d.writeBigUInt64LE(ipa, 0x50);
  d.writeBigUInt64LE(flags, 0x58);
  if (flags === 1n) createHash(algo).update(data).digest().copy(d, 0x60);
  const out = new Uint8Array(64);
  out.set(createHash(algo).update(d).digest());
  return out;
}

function setup(): TestRealm {
  const t = makeRealm({ s2sz: 40, sl: 1 });
  createRtts(t, 0n, 3);
  return t;
}

describe("RMI_DATA_CREATE failure conditions, in spec order", () => {
  type Mk = (t: TestRealm, a: { data: bigint; src: bigint }) => FailCase;
  const cases: Mk[] = [
    (t, a) => ({ name: "flags (2)", status: "RMI_ERROR_INPUT", run: () => t.p.rmi.dataCreate(t.rd, a.data, 0n, a.src, 2n) }),
    (t, a) => ({ name: "flags beats src", status: "RMI_ERROR_INPUT", run: () => t.p.rmi.dataCreate(t.rd, a.data, 0n, MMIO_BASE, 1n << 63n) }),
    (t, a) => ({ name: "src_align", status: "RMI_ERROR_INPUT", run: () => t.p.rmi.dataCreate(t.rd, a.data, 0n, a.src + 8n, 0n) }),
    (t, a) => ({ name: "src_bound (MMIO)", status: "RMI_ERROR_INPUT", run: () => t.p.rmi.dataCreate(t.rd, a.data, 0n, MMIO_BASE, 0n) }),
    (t, a) => ({ name: "src_bound (outside PA)", status: "RMI_ERROR_INPUT", run: () => t.p.rmi.dataCreate(t.rd, a.data, 0n, 1n << 48n, 0n) }),
    (t, a) => ({ name: "src_pas (Secure)", status: "RMI_ERROR_INPUT", run: () => t.p.rmi.dataCreate(t.rd, a.data, 0n, SECURE_BASE, 0n) }),
    (t, a) => ({ name: "src_pas (Realm: a delegated granule)", status: "RMI_ERROR_INPUT", run: () => t.p.rmi.dataCreate(t.rd, a.data, 0n, a.data + G, 0n) }),
    (t, a) => ({ name: "data_align", status: "RMI_ERROR_INPUT", run: () => t.p.rmi.dataCreate(t.rd, a.data + 1n, 0n, a.src, 0n) }),
    (t, a) => ({ name: "data_bound (MMIO)", status: "RMI_ERROR_INPUT", run: () => t.p.rmi.dataCreate(t.rd, MMIO_BASE, 0n, a.src, 0n) }),
    (t, a) => ({ name: "data_state (undelegated)", status: "RMI_ERROR_INPUT", run: () => t.p.rmi.dataCreate(t.rd, a.src, 0n, a.src, 0n) }),
    (t, a) => ({ name: "data_state (RTT)", status: "RMI_ERROR_INPUT", run: () => t.p.rmi.dataCreate(t.rd, t.rtt, 0n, a.src, 0n) }),
    (t, a) => ({ name: "rd_state", status: "RMI_ERROR_INPUT", run: () => t.p.rmi.dataCreate(a.data + G, a.data, 0n, a.src, 0n) }),
    (t, a) => ({ name: "data == rd", status: "RMI_ERROR_INPUT", run: () => t.p.rmi.dataCreate(t.rd, t.rd, 0n, a.src, 0n) }),
    (t, a) => {
      expect(t.p.rmi.realmActivate(t.rd).status).toBe("RMI_SUCCESS");
      return { name: "realm_state (ACTIVE)", status: "RMI_ERROR_REALM", run: () => t.p.rmi.dataCreate(t.rd, a.data, 1n << 39n, a.src, 0n) };
    },
    (t, a) => ({ name: "ipa_bound (unprotected)", status: "RMI_ERROR_INPUT", run: () => t.p.rmi.dataCreate(t.rd, a.data, 1n << 39n, a.src, 0n) }),
    (t, a) => ({ name: "ipa_bound (outside the IPA space)", status: "RMI_ERROR_INPUT", run: () => t.p.rmi.dataCreate(t.rd, a.data, 1n << 40n, a.src, 0n) }),
    (t, a) => ({ name: "ipa_align", status: "RMI_ERROR_INPUT", run: () => t.p.rmi.dataCreate(t.rd, a.data, 0x800n, a.src, 0n) }),
    (t, a) => ({ name: "rtt_walk (no L3): RTT(2)", status: "RMI_ERROR_RTT", index: 2, run: () => t.p.rmi.dataCreate(t.rd, a.data, SZ_2M, a.src, 0n) }),
    (t, a) => ({ name: "rtt_walk (no L2): RTT(1)", status: "RMI_ERROR_RTT", index: 1, run: () => t.p.rmi.dataCreate(t.rd, a.data, 1n << 30n, a.src, 0n) }),
    (t, a) => {
      mapUnknown(t, 0x7000n);
      return { name: "rtte_state (ASSIGNED)", status: "RMI_ERROR_RTT", index: 3, run: () => t.p.rmi.dataCreate(t.rd, a.data, 0x7000n, a.src, 0n) };
    },
  ];
  for (const mk of cases) {
    const t = setup();
    const data = t.delegated();
    t.delegated(); // data + G, delegated
    const src = nsPage(t);
    const c = mk(t, { data, src });
    it(c.name, () => expectFailure(t.p, c));
  }

  it("data_bound2: a DATA granule at or above 2^48 needs LPA2", () => {
    const p = highPlatform(false);
    const t = makeRealm({ p, s2sz: 40, sl: 1 });
    createRtts(t, 0n, 3);
    const high = 1n << 48n;
    expect(p.rmi.granuleDelegate(high).status).toBe("RMI_SUCCESS");
    const src = nsPage(t);
    expectFailure(p, { name: "data_bound2", status: "RMI_ERROR_INPUT", run: () => p.rmi.dataCreate(t.rd, high, 0n, src, 0n) });
    expectFailure(p, { name: "data_bound2 (unknown)", status: "RMI_ERROR_INPUT", run: () => p.rmi.dataCreateUnknown(t.rd, high, 0n) });
    // the walk error comes after it
    expectFailure(p, { name: "bound2 beats rtt_walk", status: "RMI_ERROR_INPUT", run: () => p.rmi.dataCreateUnknown(t.rd, high, SZ_2M) });
  });

  it("an assigned 2 MiB block stops the walk at level 2", () => {
    const t = setup();
    map512(t, 0n);
    expect(t.p.rmi.rttFold(t.rd, 0n, 3).status).toBe("RMI_SUCCESS");
    const d = t.delegated();
    const src = nsPage(t);
    expectFailure(t.p, { name: "block", status: "RMI_ERROR_RTT", index: 2, run: () => t.p.rmi.dataCreate(t.rd, d, 0x5000n, src, 0n) });
  });
});

describe("RMI_DATA_CREATE effects", () => {
  for (const [algo, hashAlgo] of [["sha256", 0], ["sha512", 1]] as const) {
    for (const flags of [0n, 1n]) {
      it(`copies src, maps ASSIGNED/RAM, extends the RIM (${algo}, flags ${flags})`, () => {
        const t = makeRealm({ s2sz: 40, sl: 1, hashAlgo });
        createRtts(t, 0n, 3);
        const l3 = entry(t, 0n, 2)[2];
        const src = nsPage(t, 0x33);
        const data = t.delegated();
        const rim0 = new Uint8Array(t.realm.rim);
        const ipa = 0x1_5000n;
        expect(t.p.rmi.dataCreate(t.rd, data, ipa, src, flags)).toEqual({ status: "RMI_SUCCESS", index: 0 });
        expect(t.p.granule(data)).toMatchObject({ state: "DATA", pas: "REALM" });
        expect(t.p.granule(l3).refcount).toBe(1);
        expect(entry(t, ipa, 3)).toEqual([3, ASSIGNED, data, RAM]);
        const contents = t.p.ns.read(src, 4096);
        expect(Buffer.from(t.p.machine.mem.read(Number(data), 4096)).equals(Buffer.from(contents))).toBe(true);
        const want = expectedRimAfterData(algo, rim0, ipa, flags, contents);
        expect(Buffer.from(t.realm.rim).toString("hex")).toBe(Buffer.from(want).toString("hex"));
        // the source page is untouched and still NS
        expect(t.p.granule(src)).toMatchObject({ state: "UNDELEGATED", pas: "NS" });
      });
    }
  }

  it("maps ASSIGNED/RAM whatever the RIPAS was (EMPTY, RAM, DESTROYED)", () => {
    const t = makeRealm({ s2sz: 40, sl: 1 });
    createRtts(t, 0n, 3);
    expect(t.p.rmi.rttInitRipas(t.rd, G, 2n * G).status).toBe("RMI_SUCCESS");
    // DESTROYED at 2G via DATA_CREATE + DATA_DESTROY
    const src = nsPage(t);
    expect(t.p.rmi.dataCreate(t.rd, t.delegated(), 2n * G, src, 0n).status).toBe("RMI_SUCCESS");
    expect(t.p.rmi.dataDestroy(t.rd, 2n * G).status).toBe("RMI_SUCCESS");
    expect(entry(t, 2n * G, 3)[3]).toBe(DESTROYED);
    for (const ipa of [0n, G, 2n * G]) {
      const d = t.delegated();
      expect(t.p.rmi.dataCreate(t.rd, d, ipa, src, 0n).status).toBe("RMI_SUCCESS");
      expect(entry(t, ipa, 3)).toEqual([3, ASSIGNED, d, RAM]);
    }
  });

  it("the measurement depends on the order of DATA_CREATEs", () => {
    const a = makeRealm({ s2sz: 40, sl: 1 });
    const b = makeRealm({ s2sz: 40, sl: 1 });
    for (const t of [a, b]) createRtts(t, 0n, 3);
    const sa = nsPage(a, 1), sb = nsPage(a, 2);
    const tb1 = nsPage(b, 1), tb2 = nsPage(b, 2);
    a.p.rmi.dataCreate(a.rd, a.delegated(), 0n, sa, 1n);
    a.p.rmi.dataCreate(a.rd, a.delegated(), G, sb, 1n);
    b.p.rmi.dataCreate(b.rd, b.delegated(), G, tb2, 1n);
    b.p.rmi.dataCreate(b.rd, b.delegated(), 0n, tb1, 1n);
    expect(Buffer.from(a.realm.rim).equals(Buffer.from(b.realm.rim))).toBe(false);
  });
});

describe("RMI_DATA_CREATE_UNKNOWN", () => {
  type Mk = (t: TestRealm, data: bigint) => FailCase;
  const cases: Mk[] = [
    (t, d) => ({ name: "data_align", status: "RMI_ERROR_INPUT", run: () => t.p.rmi.dataCreateUnknown(t.rd, d + 0x10n, 0n) }),
    (t, d) => ({ name: "data_state (undelegated)", status: "RMI_ERROR_INPUT", run: () => t.p.rmi.dataCreateUnknown(t.rd, t.alloc.ns(), 0n) }),
    (t, d) => ({ name: "rd_state", status: "RMI_ERROR_INPUT", run: () => t.p.rmi.dataCreateUnknown(d, d, 0n) }),
    (t, d) => ({ name: "ipa_bound (unprotected)", status: "RMI_ERROR_INPUT", run: () => t.p.rmi.dataCreateUnknown(t.rd, d, (1n << 39n) + G) }),
    (t, d) => ({ name: "ipa_align", status: "RMI_ERROR_INPUT", run: () => t.p.rmi.dataCreateUnknown(t.rd, d, 0x10n) }),
    (t, d) => ({ name: "rtt_walk", status: "RMI_ERROR_RTT", index: 2, run: () => t.p.rmi.dataCreateUnknown(t.rd, d, SZ_2M) }),
    (t, d) => {
      mapUnknown(t, 0n);
      return { name: "rtte_state", status: "RMI_ERROR_RTT", index: 3, run: () => t.p.rmi.dataCreateUnknown(t.rd, d, 0n) };
    },
  ];
  for (const mk of cases) {
    const t = setup();
    const d = t.delegated();
    const c = mk(t, d);
    it(c.name, () => expectFailure(t.p, c));
  }

  it("works in ACTIVE, keeps RIPAS, leaves the RIM and contents alone", () => {
    const t = setup();
    expect(t.p.rmi.rttInitRipas(t.rd, 0n, G).status).toBe("RMI_SUCCESS");
    expect(t.p.rmi.realmActivate(t.rd).status).toBe("RMI_SUCCESS");
    const rim = Buffer.from(t.realm.rim).toString("hex");
    const d0 = t.delegated();
    const d1 = t.delegated();
    expect(t.p.rmi.dataCreateUnknown(t.rd, d0, 0n)).toEqual({ status: "RMI_SUCCESS", index: 0 });
    expect(t.p.rmi.dataCreateUnknown(t.rd, d1, G).status).toBe("RMI_SUCCESS");
    expect(entry(t, 0n, 3)).toEqual([3, ASSIGNED, d0, RAM]);
    expect(entry(t, G, 3)).toEqual([3, ASSIGNED, d1, EMPTY]);
    expect(Buffer.from(t.realm.rim).toString("hex")).toBe(rim);
    expect(t.p.machine.mem.isZero(Number(d0 / G))).toBe(true);
    expect(t.p.granule(entry(t, 0n, 2)[2]).refcount).toBe(2);
    expect(entry(t, 2n * G, 3)).toEqual([3, UNASSIGNED, 0n, EMPTY]);
  });
});

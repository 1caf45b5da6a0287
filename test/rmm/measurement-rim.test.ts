/**
 * The Realm Initial Measurement (rmm-model.md 7) after a realistic sequence: REALM_CREATE,
 * DATA_CREATE measured and not, RTT_INIT_RIPAS (pages and a block, including an entry already
 * RAM), REC_CREATE runnable and not. The expected value is computed here with node:crypto from the
 * byte layouts of the measurement descriptors (the simulator's measurement code is not used).
 */
import { createHash } from "node:crypto";
import { describe, expect, it } from "vitest";
import { Platform, encodeRealmParams } from "../../src/index.js";
import { G, Granules, createRtts, delegate, type TestRealm } from "./helpers.js";
import { createRec, recParamsBytes } from "./rec-helpers.js";

const ALGO = ["sha256", "sha512"] as const;

function H(algo: number, b: Uint8Array): Uint8Array {
  return new Uint8Array(createHash(ALGO[algo]!).update(b).digest());
}

function u64le(b: Uint8Array, off: number, v: bigint): void {
  new DataView(b.buffer).setBigUint64(off, v, true);
}

/** A 256-byte measurement descriptor: type @0 (u8), len @8 = 0x100, rim @0x10 (64 bytes). */
function descriptor(type: number, rim: Uint8Array): Uint8Array {
  const d = new Uint8Array(0x100);
  d[0] = type;
  u64le(d, 0x08, 0x100n);
  d.set(rim, 0x10);
  return d;
}

function pad64(h: Uint8Array): Uint8Array {
  const r = new Uint8Array(64);
  r.set(h);
  return r;
}

class IndependentRim {
  rim: Uint8Array;
  constructor(readonly algo: number, p: { flags: bigint; s2sz: number; sveVl: number; numBps: number; numWps: number; pmuNumCtrs: number }) {
    const img = new Uint8Array(4096);
    u64le(img, 0x00, p.flags);
    u64le(img, 0x08, BigInt(p.s2sz));
    u64le(img, 0x10, BigInt(p.sveVl));
    u64le(img, 0x18, BigInt(p.numBps));
    u64le(img, 0x20, BigInt(p.numWps));
    u64le(img, 0x28, BigInt(p.pmuNumCtrs));
    img[0x30] = algo;
    this.rim = pad64(H(algo, img));
  }
  data(ipa: bigint, flags: bigint, content: Uint8Array): void {
    const d = descriptor(0, this.rim);
    u64le(d, 0x50, ipa);
    u64le(d, 0x58, flags);
    if (flags === 1n) d.set(H(this.algo, content), 0x60);
    this.rim = pad64(H(this.algo, d));
  }
  ripas(base: bigint, top: bigint): void {
    const d = descriptor(2, this.rim);
    u64le(d, 0x50, base);
    u64le(d, 0x58, top);
    this.rim = pad64(H(this.algo, d));
  }
  rec(flags: bigint, pc: bigint, gprs: bigint[]): void {
    const img = new Uint8Array(4096);
    u64le(img, 0x000, flags);
    u64le(img, 0x200, pc);
    gprs.forEach((g, i) => u64le(img, 0x300 + 8 * i, g));
    const d = descriptor(1, this.rim);
    d.set(H(this.algo, img), 0x50);
    this.rim = pad64(H(this.algo, d));
  }
  value(): Uint8Array {
    return this.rim.slice(0, this.algo === 0 ? 32 : 64);
  }
}

/** The helpers' TestRealm for a realm this file created itself (s2sz 40, two L1 roots at `rtt`). */
function testRealm(p: Platform, rd: bigint, rtt: bigint, alloc: Granules): TestRealm {
  return {
    p, rd, rtt, alloc, params: { s2sz: 40, rttBase: rtt, rttLevelStart: 1, rttNumStart: 2 }, realm: p.rmm.realms.get(Number(rd / G))!,
    delegated() { const a = alloc.ns(); delegate(p, a); return a; },
    delegatedBlock() { throw new Error("unused"); },
  };
}

function page(seed: number): Uint8Array {
  const b = new Uint8Array(4096);
  for (let i = 0; i < 4096; i++) b[i] = (seed * 31 + i * 13) & 0xff;
  return b;
}

describe("Realm Initial Measurement", () => {
  for (const algo of [0, 1]) {
    it(`matches an independent ${ALGO[algo]} computation after create, data, ripas and rec steps`, () => {
      const p = Platform.create({ rmm: "1.0" });
      const alloc = new Granules();
      const rd = alloc.ns();
      const rtt = alloc.aligned(2n * G, 2n);
      const paramsPa = alloc.ns();
      for (const g of [rd, rtt, rtt + G]) delegate(p, g);
      const rp = { flags: 4n, s2sz: 40, sveVl: 0, numBps: 2, numWps: 3, pmuNumCtrs: 3 };
      const rpv = new Uint8Array(64).fill(0xa5);
      p.ns.write(paramsPa, encodeRealmParams({ ...rp, hashAlgo: algo, rpv, vmid: 7, rttBase: rtt, rttLevelStart: 1, rttNumStart: 2 }));
      expect(p.rmi.realmCreate(rd, paramsPa).status).toBe("RMI_SUCCESS");
      const exp = new IndependentRim(algo, rp);
      expect(p.rim(rd)).toEqual(exp.value());

      const t = testRealm(p, rd, rtt, alloc);
      createRtts(t, 0n, 3);
      // DATA_CREATE measured (content hashed) and not (content field zero)
      const src1 = alloc.ns();
      p.ns.write(src1, page(1));
      const src2 = alloc.ns();
      p.ns.write(src2, page(2));
      expect(p.rmi.dataCreate(rd, t.delegated(), 0x1000n, src1, 1n).status).toBe("RMI_SUCCESS");
      exp.data(0x1000n, 1n, page(1));
      expect(p.rmi.dataCreate(rd, t.delegated(), 0x2000n, src2, 0n).status).toBe("RMI_SUCCESS");
      exp.data(0x2000n, 0n, page(2));
      expect(p.rim(rd)).toEqual(exp.value());
      // DATA_CREATE_UNKNOWN is not measured
      expect(p.rmi.dataCreateUnknown(rd, t.delegated(), 0x7000n).status).toBe("RMI_SUCCESS");
      expect(p.rim(rd)).toEqual(exp.value());
      // INIT_RIPAS: one descriptor per RTT entry, also for an entry already RAM
      expect(p.rmi.rttInitRipas(rd, 0x3000n, 0x5000n)).toMatchObject({ status: "RMI_SUCCESS", top: 0x5000n });
      exp.ripas(0x3000n, 0x4000n);
      exp.ripas(0x4000n, 0x5000n);
      expect(p.rmi.rttInitRipas(rd, 0x3000n, 0x4000n).status).toBe("RMI_SUCCESS");
      exp.ripas(0x3000n, 0x4000n);
      createRtts(t, 0x40_0000n, 2);
      expect(p.rmi.rttInitRipas(rd, 0x40_0000n, 0x60_0000n)).toMatchObject({ status: "RMI_SUCCESS", top: 0x60_0000n });
      exp.ripas(0x40_0000n, 0x60_0000n);
      expect(p.rim(rd)).toEqual(exp.value());
      // REC_CREATE: measured only when RUNNABLE; mpidr and aux are not measured
      const gprs = [0x11n, 0x22n, 0x33n, 0n, 0n, 0n, 0n, 0x88n];
      createRec(t, { flags: 1n, pc: 0x8_0000n, gprs });
      exp.rec(1n, 0x8_0000n, gprs);
      createRec(t, { flags: 0n, pc: 0x9_0000n, gprs: [1n] });
      expect(p.rim(rd)).toEqual(exp.value());
      // frozen after activation
      const before = p.rim(rd);
      expect(p.rmi.realmActivate(rd).status).toBe("RMI_SUCCESS");
      expect(p.rmi.dataCreate(rd, t.delegated(), 0x6000n, src1, 1n).status).toBe("RMI_ERROR_REALM");
      expect(p.rmi.dataCreateUnknown(rd, t.delegated(), 0x8000n).status).toBe("RMI_SUCCESS");
      expect(p.rim(rd)).toEqual(before);
      expect(p.rim(rd)!.length).toBe(algo === 0 ? 32 : 64);
    });
  }

  it("depends on the order of operations and on the REC's registers", () => {
    const rims: string[] = [];
    for (const order of [0, 1, 2]) {
      const p = Platform.create({ rmm: "1.0" });
      const alloc = new Granules();
      const rd = alloc.ns();
      const rtt = alloc.aligned(2n * G, 2n);
      const pp = alloc.ns();
      for (const g of [rd, rtt, rtt + G]) delegate(p, g);
      p.ns.write(pp, encodeRealmParams({ s2sz: 40, rttBase: rtt, rttLevelStart: 1, rttNumStart: 2 }));
      p.rmi.realmCreate(rd, pp);
      const t = testRealm(p, rd, rtt, alloc);
      createRtts(t, 0n, 3);
      const ripas = () => expect(p.rmi.rttInitRipas(rd, 0n, 0x1000n).status).toBe("RMI_SUCCESS");
      const rec = () => createRec(t, { flags: 1n, pc: order === 2 ? 4n : 0n });
      if (order === 0) { ripas(); rec(); } else { rec(); ripas(); }
      rims.push(Buffer.from(p.rim(rd)!).toString("hex"));
    }
    expect(new Set(rims).size).toBe(3);
    expect(recParamsBytes({}).length).toBe(4096);
  });
});

/** Encodings of RMM v2.0 operands: range descriptors, flags, donate requests, INCOMPLETE, RmmConfig. */
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import {
  RmiAddrSize, RmiAddrType, RmiOpMemReq, RmiOpMemState, decodeDonateRequest, decodeIncomplete, decodeRangeDesc,
  decodeRangeList, decodeRttFlags, encodeDonateRequest, encodeRangeDesc, encodeRangeList, encodeRttFlags,
  incompleteIndex, rangeBytes, decodeRmmConfig, encodeRmmConfig,
} from "../../src/index.js";

describe("RmiAddrRangeDesc", () => {
  it("packs SZ [1:0], CNT [11:2], ADDR [51:12] and ST bit 63 byte-exactly", () => {
    const d = encodeRangeDesc({ addr: 0x8020_0000n, sz: RmiAddrSize.BLOCK_L2, cnt: 3, state: RmiOpMemState.UNDELEGATED });
    expect(d).toBe((1n << 63n) | 0x8020_0000n | (3n << 2n) | 1n);
    expect(encodeRangeList([d])).toEqual(new Uint8Array([0x0d, 0x00, 0x20, 0x80, 0x00, 0x00, 0x00, 0x80]));
    expect(encodeRangeDesc({ addr: 0xf_ffff_ffff_f000n, cnt: 1023 })).toBe(0xf_ffff_ffff_f000n | (1023n << 2n));
  });

  it("round-trips every field", () => {
    fc.assert(
      fc.property(fc.bigInt({ min: 0n, max: (1n << 40n) - 1n }), fc.integer({ min: 0, max: 3 }), fc.integer({ min: 0, max: 1023 }), fc.integer({ min: 0, max: 1 }), (pfn, sz, cnt, st) => {
        const r = { addr: pfn << 12n, sz: sz as RmiAddrSize, cnt, state: st as RmiOpMemState };
        const d = encodeRangeDesc(r);
        expect(decodeRangeDesc(d)).toEqual(r);
        expect(decodeRangeList(encodeRangeList([d, d]))).toEqual([r, r]);
      }),
    );
  });

  it("ignores bits outside the fields when decoding; rejects bad values when encoding", () => {
    expect(decodeRangeDesc((1n << 62n) | (1n << 55n) | 0x1000n | 4n)).toEqual({ addr: 0x1000n, sz: 0, cnt: 1, state: 0 });
    expect(() => encodeRangeDesc({ addr: 0x1001n, cnt: 1 })).toThrow(/aligned/);
    expect(() => encodeRangeDesc({ addr: 0x1000n, cnt: 1024 })).toThrow(/cnt/);
    expect(() => encodeRangeDesc({ addr: 0x1000n, cnt: 1, sz: 4 })).toThrow(/sz/);
    expect(rangeBytes(decodeRangeDesc(encodeRangeDesc({ addr: 0n, sz: 2, cnt: 2 })))).toBe(2 ** 31);
  });
});

describe("command flags, donate requests and INCOMPLETE data", () => {
  it("RmiRttUnprotMapFlags: type [1:0], count [15:2], MEMATTR [18:16], S2AP [22:19]", () => {
    expect(encodeRttFlags({ oaddrType: RmiAddrType.LIST, listCount: 5, memattr: 6, s2ap: 3 })).toBe(2n | (5n << 2n) | (6n << 16n) | (3n << 19n));
    fc.assert(
      fc.property(fc.integer({ min: 0, max: 3 }), fc.integer({ min: 0, max: 0x3fff }), fc.integer({ min: 0, max: 7 }), fc.integer({ min: 0, max: 15 }), (t, c, m, s) => {
        const f = { oaddrType: t, listCount: c, memattr: m, s2ap: s };
        expect(decodeRttFlags(encodeRttFlags(f))).toEqual(f);
      }),
    );
    expect(() => encodeRttFlags({ oaddrType: 4 })).toThrow(/oaddrType/);
  });

  it("RmiOpMemDonateReq: SZ [1:0], count [15:2], contig bit 16, state bit 17", () => {
    const r = { sz: RmiAddrSize.PAGE_L3, count: 16, contig: false, state: RmiOpMemState.DELEGATED };
    expect(encodeDonateRequest(r)).toBe(64n);
    expect(decodeDonateRequest(encodeDonateRequest({ ...r, contig: true, state: 1 }))).toEqual({ ...r, contig: true, state: 1 });
  });

  it("INCOMPLETE: MEMREQ in x0 [9:8], CAN_CANCEL in x0 [10]", () => {
    expect(13 + incompleteIndex(RmiOpMemReq.DONATE, true) * 256).toBe(0x50d);
    expect(decodeIncomplete(0x50dn)).toEqual({ memreq: RmiOpMemReq.DONATE, canCancel: true });
    expect(decodeIncomplete(incompleteIndex(RmiOpMemReq.RECLAIM, false))).toEqual({ memreq: RmiOpMemReq.RECLAIM, canCancel: false });
  });

  it("RmmConfig: tracking_region_size u64 @0, rmi_granule_size u64 @8 in a 4 KiB page", () => {
    const b = encodeRmmConfig({ trackingRegionSize: 0x1122n, rmiGranuleSize: 2 });
    expect(b.length).toBe(4096);
    expect([...b.subarray(0, 10)]).toEqual([0x22, 0x11, 0, 0, 0, 0, 0, 0, 2, 0]);
    expect(decodeRmmConfig(b)).toEqual({ trackingRegionSize: 0x1122n, rmiGranuleSize: 2n });
  });
});

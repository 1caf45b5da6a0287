/**
 * End to end, the way the v13/v14 postings drive RMM v2.0: boot (VERSION, FEATURES 0..4,
 * RMM_CONFIG_SET + RMM_ACTIVATE), range-delegate RD + PGD, REALM_CREATE, RTT_DATA_MAP_INIT,
 * REC_CREATE by SRO donation, RTT_INIT_RIPAS, REALM_ACTIVATE, RTT_DATA_MAP on a fault (page and
 * 2 MiB block), RTT_UNPROT_MAP, REALM_TERMINATE, unmaps (undelegating what they return),
 * REC_DESTROY by SRO reclaim, RTT_DESTROY, REALM_DESTROY, range undelegate: every granule back
 * to UNDELEGATED.
 */
import { describe, expect, it } from "vitest";
import { checkRmmInvariants } from "../../src/index.js";
import { decodeRangeDesc, rangeBytes, RmiOpMemState, encodeRttFlags, RmiAddrType, encodeRangeDesc, RmiAddrSize } from "../../src/rmm/abi/range-desc.js";
import { DRAM, G, NS_SRC, PGD, POOL, RD, SINGLE, boot, createRealm, delegateRange, finishReclaim, ok, pageDesc, platform2, recCreateSro, rttsFor, undelegateRange } from "./helpers.js";

const SHARED = 1n << 39n; // s2sz 40: the top IPA bit

describe("RMM 2.0 end to end (v14 host sequence)", () => {
  it("runs a realm's life and returns every granule", () => {
    const p = platform2();
    // The RMM invariants must hold after every call of the sequence (including SRO mid-states).
    const violations: string[] = [];
    p.rmm.trace.subscribe((rec) => {
      for (const v of checkRmmInvariants(p.rmm)) violations.push(`${rec.name}: ${v}`);
    });
    boot(p);
    createRealm(p);
    let next = POOL + 0x10n * G; // RTTs and data from here

    // Populate: one page at IPA 0 (RTT_DATA_MAP_INIT), creating RTTs on RMI_ERROR_RTT.
    p.ns.write(NS_SRC, new Uint8Array(4096).fill(0xab));
    const data0 = next;
    next += G;
    delegateRange(p, data0, data0 + G);
    let r = p.rmi.rttDataMapInit(RD, data0, 0n, NS_SRC, 1n);
    expect(r).toMatchObject({ status: "RMI_ERROR_RTT", index: 1 });
    next = rttsFor(p, 0n, next);
    ok(p.rmi.rttDataMapInit(RD, data0, 0n, NS_SRC, 1n));
    expect(p.granule(data0)).toMatchObject({ state: "DATA" });

    // vCPU 0: REC page + 16 aux granules donated through the SRO.
    const rec = next;
    const aux = next + G;
    next += 17n * G;
    delegateRange(p, rec, rec + 17n * G);
    ok(recCreateSro(p, rec, aux));
    expect(p.granule(rec)).toMatchObject({ state: "REC" });
    expect(p.granuleCounts().REC_AUX).toBe(16);

    // INIT_RIPAS over [0, 4 MiB): the first 2 MiB at L3 (entry 0 ASSIGNED EMPTY -> RAM), then a L2 entry.
    let base = 0n;
    let calls = 0;
    while (base < 0x40_0000n) {
      r = p.rmi.rttInitRipas(RD, base, 0x40_0000n);
      ok(r);
      base = r.top as bigint;
      calls++;
    }
    expect(calls).toBe(2);
    expect(p.rmi.rttReadEntry(RD, 0n, 3)).toMatchObject({ state: 1n, ripas: 1n, desc: data0 });
    expect(p.rmi.rttReadEntry(RD, 0x20_0000n, 2)).toMatchObject({ walkLevel: 2n, state: 0n, ripas: 1n });
    ok(p.rmi.realmActivate(RD));

    // Fault on IPA 0x1000: delegate the page and RTT_DATA_MAP it (SINGLE descriptor).
    const page = next;
    next += G;
    delegateRange(p, page, page + G);
    r = p.rmi.rttDataMap(RD, 0x1000n, 0x2000n, SINGLE, pageDesc(page));
    expect(r).toMatchObject({ status: "RMI_SUCCESS", top: 0x2000n });
    expect(p.rmi.rttReadEntry(RD, 0x1000n, 3)).toMatchObject({ state: 1n, desc: page, ripas: 1n });

    // Fault on IPA 2 MiB with a 2 MiB folio: map a L2 block directly (SZ = 1).
    const blk = DRAM + 0x200_0000n; // 2 MiB aligned
    const ranges = delegateRange(p, blk, blk + 0x20_0000n);
    expect(ranges).toBe(512); // TF-RMM main: one granule per call
    r = p.rmi.rttDataMap(RD, 0x20_0000n, 0x40_0000n, SINGLE, encodeRangeDesc({ addr: blk, sz: RmiAddrSize.BLOCK_L2, cnt: 1 }));
    expect(r).toMatchObject({ status: "RMI_SUCCESS", top: 0x40_0000n });
    expect(p.rmi.rttReadEntry(RD, 0x20_0000n, 2)).toMatchObject({ walkLevel: 2n, state: 1n, desc: blk, ripas: 1n });
    expect(p.granuleCounts().DATA).toBe(2 + 512);

    // Shared fault: RTT_UNPROT_MAP of an NS page at SHARED + 0x5000 (Normal WB, RW).
    next = rttsFor(p, SHARED + 0x5000n, next);
    const nsPage = DRAM + 0x6000_0000n;
    const unprot = encodeRttFlags({ oaddrType: RmiAddrType.SINGLE, memattr: 6, s2ap: 3 });
    r = p.rmi.rttUnprotMap(RD, SHARED + 0x5000n, SHARED + 0x6000n, unprot, pageDesc(nsPage, 1, RmiOpMemState.UNDELEGATED));
    expect(r).toMatchObject({ status: "RMI_SUCCESS", top: SHARED + 0x6000n });
    expect(p.rmi.rttReadEntry(RD, SHARED + 0x5000n, 3)).toMatchObject({ state: 1n, desc: nsPage | 0x18n | 0xc0n });

    // Teardown (v14 kvm_realm_uninit_stage2 order): TERMINATE, unmap, RECs, RTTs, RD.
    ok(p.rmi.realmTerminate(RD));
    base = 0n;
    while (base < 0x40_0000n) {
      r = p.rmi.rttDataUnmap(RD, base, 0x40_0000n, SINGLE, 0n);
      ok(r);
      if (r.range !== 0n) {
        const d = decodeRangeDesc(r.range as bigint);
        undelegateRange(p, d.addr, d.addr + BigInt(rangeBytes(d)));
      }
      base = r.top as bigint;
    }
    r = p.rmi.rttUnprotUnmap(RD, SHARED, SHARED + 0x20_0000n, SINGLE, 0n);
    expect(r).toMatchObject({ status: "RMI_SUCCESS", top: SHARED + 0x20_0000n });
    expect(decodeRangeDesc(r.range as bigint)).toMatchObject({ addr: nsPage, cnt: 1 });
    expect(p.granule(nsPage)).toMatchObject({ state: "UNDELEGATED", pas: "NS" });

    const d = p.rmi.recDestroy(rec);
    expect(d.status).toBe("RMI_INCOMPLETE");
    const fin = finishReclaim(p, d);
    ok(fin.result);
    for (const rg of fin.ranges) undelegateRange(p, rg.addr, rg.addr + BigInt(rangeBytes(rg)));
    undelegateRange(p, rec, rec + G);

    // RTT_DESTROY bottom-up (L3 then L2) for the protected and the shared side.
    for (const ipa of [0n, SHARED]) {
      for (const level of [3, 2]) {
        const base = ipa - (ipa % (1n << BigInt(12 + 9 * (4 - level))));
        const x = p.rmi.rttDestroy(RD, base, level);
        ok(x);
        undelegateRange(p, x.rtt as bigint, (x.rtt as bigint) + G);
      }
    }
    ok(p.rmi.realmDestroy(RD));
    undelegateRange(p, RD, RD + G);
    undelegateRange(p, PGD, PGD + 2n * G);

    expect(violations).toEqual([]);
    expect(p.rmmTrace.length).toBeGreaterThan(600);
    expect(p.granuleCounts()).toEqual({ DELEGATED: 0, RD: 0, REC: 0, REC_AUX: 0, DATA: 0, RTT: 0, PARTIAL: 0, INTERNAL: 0 });
  });
});

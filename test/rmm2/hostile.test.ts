/**
 * Random and hostile v2.0 call sequences over a small pool of addresses: after every call the RMM
 * invariants hold, and a call that returns an error (anything but SUCCESS and INCOMPLETE) changed
 * nothing. Deterministic seed, bounded runs.
 */
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { checkRmmInvariants, rmmDigest, encodeRangeDesc, encodeRangeList, encodeRttFlags } from "../../src/index.js";
import { G, NS_LIST, NS_PARAMS, PGD, POOL, RD, boot, createRealm, delegateRange, ok, platform2, rttsFor } from "./helpers.js";

const ADDRS = [0n, RD, PGD, PGD + G, POOL + 4n * G, POOL + 5n * G, POOL + 6n * G, POOL + 7n * G, POOL + 0x40n * G, POOL + 0x200n * G, NS_PARAMS, NS_LIST, 0x1c00_0000n, 0x0600_0000n, 1n << 50n, POOL + 8n, 0xffff_ffff_ffff_f000n];
const IPAS = [0n, 0x1000n, 0x20_0000n, 0x4000_0000n, 1n << 39n, (1n << 39n) + 0x1000n, 1n << 40n, 0x10n];
const LEVELS = [-1, 0, 1, 2, 3, 4];
const SH = 1n << 39n;
const NSPAGE = 0x8000_0000n + 0x6000_0000n;
const SINGLE_F = encodeRttFlags({ oaddrType: 1 });
const UNPROT_F = encodeRttFlags({ oaddrType: 1, memattr: 6, s2ap: 3 });

const addr = fc.constantFrom(...ADDRS);
const ipa = fc.constantFrom(...IPAS);
const desc = fc.record({ a: addr, sz: fc.integer({ min: 0, max: 3 }), cnt: fc.integer({ min: 0, max: 3 }), st: fc.integer({ min: 0, max: 1 }) })
  .map(({ a, sz, cnt, st }) => (a % G === 0n && a < 1n << 52n ? encodeRangeDesc({ addr: a, sz, cnt, state: st }) : a));
const flags = fc.record({ t: fc.integer({ min: 0, max: 3 }), c: fc.integer({ min: 0, max: 3 }), m: fc.constantFrom(0, 4, 6), s: fc.integer({ min: 0, max: 4 }) })
  .map(({ t, c, m, s }) => encodeRttFlags({ oaddrType: t, listCount: c, memattr: m, s2ap: s }));

type Call = { m: string; a: bigint[] };
const call: fc.Arbitrary<Call> = fc.oneof(
  fc.tuple(addr, fc.integer({ min: -1, max: 3 })).map(([b, n]) => ({ m: "granuleRangeDelegate", a: [b, BigInt.asUintN(64, b + BigInt(n) * G)] })),
  fc.tuple(addr, fc.integer({ min: -1, max: 3 })).map(([b, n]) => ({ m: "granuleRangeUndelegate", a: [b, BigInt.asUintN(64, b + BigInt(n) * G)] })),
  fc.constant({ m: "realmCreate", a: [RD, NS_PARAMS] }),
  fc.tuple(addr).map(([x]) => ({ m: "realmActivate", a: [x] })),
  fc.tuple(addr).map(([x]) => ({ m: "realmTerminate", a: [x] })),
  fc.tuple(addr).map(([x]) => ({ m: "realmDestroy", a: [x] })),
  fc.tuple(addr, ipa, fc.constantFrom(...LEVELS)).map(([r, i, l]) => ({ m: "rttCreate", a: [RD, r, i, BigInt.asUintN(64, BigInt(l))] })),
  fc.tuple(ipa, fc.constantFrom(...LEVELS)).map(([i, l]) => ({ m: "rttDestroy", a: [RD, i, BigInt.asUintN(64, BigInt(l))] })),
  fc.tuple(addr, ipa).map(([d, i]) => ({ m: "rttDataMapInit", a: [RD, d, i, NS_PARAMS, 0n] })),
  fc.tuple(ipa, ipa, flags, desc).map(([b, t, f, o]) => ({ m: "rttDataMap", a: [RD, b, BigInt.asUintN(64, t + G), f, o] })),
  fc.tuple(ipa, ipa, flags, desc).map(([b, t, f, o]) => ({ m: "rttDataUnmap", a: [RD, b, BigInt.asUintN(64, t + G), f, o] })),
  fc.tuple(ipa, ipa, flags, desc).map(([b, t, f, o]) => ({ m: "rttUnprotMap", a: [RD, b, BigInt.asUintN(64, t + G), f, o] })),
  fc.tuple(ipa, ipa, flags).map(([b, t, f]) => ({ m: "rttUnprotUnmap", a: [RD, b, BigInt.asUintN(64, t + G), f, 0n] })),
  fc.tuple(ipa, ipa).map(([b, t]) => ({ m: "rttInitRipas", a: [RD, b, t] })),
  fc.tuple(addr).map(([r]) => ({ m: "recCreate", a: [RD, r, NS_PARAMS] })),
  fc.tuple(addr).map(([r]) => ({ m: "recDestroy", a: [r] })),
  fc.tuple(fc.integer({ min: 0, max: 4 })).map(([h]) => ({ m: "opContinue", a: [BigInt(h), 0n] })),
  fc.tuple(fc.integer({ min: 0, max: 4 }), fc.integer({ min: 0, max: 4 })).map(([h, n]) => ({ m: "opMemDonate", a: [BigInt(h), NS_LIST, BigInt(n)] })),
  fc.tuple(fc.integer({ min: 0, max: 4 }), fc.integer({ min: 0, max: 4 })).map(([h, n]) => ({ m: "opMemReclaim", a: [BigInt(h), NS_LIST + 0x800n, BigInt(n)] })),
  fc.tuple(fc.integer({ min: 0, max: 4 })).map(([h]) => ({ m: "opCancel", a: [BigInt(h)] })),
  fc.tuple(addr, addr).map(([b, t]) => ({ m: "granuleTrackingGet", a: [b, t] })),
  fc.tuple(addr).map(([a]) => ({ m: "gptL1Create", a: [a] })),
  fc.tuple(fc.array(desc, { maxLength: 4 })).map(([ds]) => ({ m: "writeList", a: ds })),
  // Well-formed calls, so sequences reach mapped, unmapped and SRO states too.
  fc.tuple(fc.integer({ min: 0, max: 3 }), fc.integer({ min: 4, max: 7 }), fc.integer({ min: 1, max: 3 })).map(([i, k, n]) => ({
    m: "rttDataMap", a: [RD, BigInt(i) * G, BigInt(i + n) * G, SINGLE_F, encodeRangeDesc({ addr: POOL + BigInt(k) * G, cnt: n })],
  })),
  fc.tuple(fc.integer({ min: 0, max: 3 }), fc.integer({ min: 1, max: 4 })).map(([i, n]) => ({ m: "rttDataUnmap", a: [RD, BigInt(i) * G, BigInt(i + n) * G, SINGLE_F, 0n] })),
  fc.tuple(fc.integer({ min: 0, max: 3 })).map(([i]) => ({
    m: "rttUnprotMap", a: [RD, SH + BigInt(i) * G, SH + BigInt(i + 1) * G, UNPROT_F, encodeRangeDesc({ addr: NSPAGE, cnt: 1, state: 1 })],
  })),
  fc.tuple(fc.integer({ min: 0, max: 3 })).map(([i]) => ({ m: "rttUnprotUnmap", a: [RD, SH, SH + BigInt(i + 1) * G, 0n, 0n] })),
  fc.tuple(fc.integer({ min: 4, max: 7 }), fc.integer({ min: 1, max: 4 })).map(([k, cnt]) => ({ m: "writeList", a: [encodeRangeDesc({ addr: POOL + BigInt(k) * G, cnt })] })),
  fc.tuple(fc.integer({ min: 1, max: 3 })).map(([h]) => ({ m: "opMemDonate", a: [BigInt(h), NS_LIST, 1n] })),
);

describe("random and hostile RMM 2.0 sequences", () => {
  it("keep the invariants; failed calls change nothing", () => {
    fc.assert(
      fc.property(fc.array(call, { minLength: 1, maxLength: 60 }), (calls) => {
        const p = platform2({ progress: { maxGranulesPerCall: 2, maxEntriesPerCall: 3, dataMapYieldGranules: 0 } });
        boot(p);
        // A live realm with L2/L3 tables at IPA 0 and at the shared half, and some delegated granules.
        // NS_PARAMS holds RealmParams; read as RecParams it is flags 0, mpidr 0.
        createRealm(p);
        let next = rttsFor(p, 0n, POOL + 0x10n * G);
        next = rttsFor(p, 1n << 39n, next);
        delegateRange(p, POOL + 4n * G, POOL + 8n * G);
        delegateRange(p, POOL + 0x40n * G, POOL + 0x42n * G);
        ok({ status: "RMI_SUCCESS", index: 0 });
        for (const c of calls) {
          if (c.m === "writeList") {
            // the host can only write its list page while the page is NS (a sequence may delegate it)
            if (p.granule(NS_LIST).pas === "NS") p.ns.write(NS_LIST, encodeRangeList(c.a));
            continue;
          }
          const before = rmmDigest(p);
          const r = (p.rmi as unknown as Record<string, (...x: bigint[]) => { status: string }>)[c.m]!(...c.a);
          if (r.status !== "RMI_SUCCESS" && r.status !== "RMI_INCOMPLETE") expect(rmmDigest(p), `${c.m} -> ${r.status}`).toBe(before);
          expect(checkRmmInvariants(p.rmm), c.m).toEqual([]);
        }
      }),
      { seed: 20261124, numRuns: 120 },
    );
  });
});

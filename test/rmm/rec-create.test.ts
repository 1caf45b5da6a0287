/**
 * RMI_REC_AUX_COUNT, RMI_REC_CREATE, RMI_REC_DESTROY (v1.0): failure conditions in spec order
 * (rmm-model.md 5.7-5.9), each true with every earlier one false; success post-conditions through
 * p.granule().
 */
import { describe, expect, it } from "vitest";
import { Pas } from "../../src/index.js";
import { DRAM_BASE, MMIO_BASE, SECURE_BASE, makeRealm, type TestRealm } from "./helpers.js";
import { G, createRec, expectFail, mpidrOf, recParamsBytes, realmWithRecs, writeEnter, type RecParamsSpec } from "./rec-helpers.js";

function auxList(t: TestRealm, n = 16): bigint[] {
  return Array.from({ length: n }, () => t.delegated());
}

describe("RMI_REC_AUX_COUNT", () => {
  it("fails with INPUT unless rd is an RD granule; returns 16", () => {
    const t = makeRealm();
    const p = t.p;
    expectFail(p, "rd unaligned", "RMI_ERROR_INPUT", 0, () => p.rmi.recAuxCount(t.rd + 8n));
    expectFail(p, "rd MMIO", "RMI_ERROR_INPUT", 0, () => p.rmi.recAuxCount(MMIO_BASE));
    expectFail(p, "rd outside PA", "RMI_ERROR_INPUT", 0, () => p.rmi.recAuxCount(1n << 48n));
    expectFail(p, "rd is a root RTT", "RMI_ERROR_INPUT", 0, () => p.rmi.recAuxCount(t.rtt));
    const d = t.delegated();
    expectFail(p, "rd delegated", "RMI_ERROR_INPUT", 0, () => p.rmi.recAuxCount(d));
    expect(p.rmi.recAuxCount(t.rd)).toEqual({ status: "RMI_SUCCESS", index: 0, auxCount: 16n });
  });
});

describe("RMI_REC_CREATE failure conditions in order", () => {
  it("checks params, num_aux, aux, rec/rd, realm state, mpidr, num_aux count", () => {
    const t = makeRealm();
    const p = t.p;
    const rec = t.delegated();
    const good: RecParamsSpec = { flags: 1n, mpidr: mpidrOf(0), aux: auxList(t) };
    const params = (s: RecParamsSpec): bigint => {
      const pa = t.alloc.ns();
      p.ns.write(pa, recParamsBytes(s));
      return pa;
    };
    const okParams = params(good);
    const create = (r: bigint, pp: bigint, rd = t.rd) => () => p.rmi.recCreate(rd, r, pp);

    // 1 params: align, bound (MMIO, secure, outside PA), state (not undelegated), PAS (GPT Root)
    expectFail(p, "params_align", "RMI_ERROR_INPUT", 0, create(rec, okParams + 0x10n));
    expectFail(p, "params_bound mmio", "RMI_ERROR_INPUT", 0, create(rec, MMIO_BASE));
    expectFail(p, "params_bound secure", "RMI_ERROR_INPUT", 0, create(rec, SECURE_BASE));
    expectFail(p, "params_bound outside PA", "RMI_ERROR_INPUT", 0, create(rec, 1n << 48n));
    expectFail(p, "params delegated", "RMI_ERROR_INPUT", 0, create(rec, t.delegated()));
    const rootPage = t.alloc.ns();
    p.machine.gpt.set(Number(rootPage / G), Pas.ROOT);
    expectFail(p, "params_pas root", "RMI_ERROR_INPUT", 0, create(rec, rootPage));

    // 2 num_aux > 16 (and a later fault: realm not NEW is not reached)
    expectFail(p, "num_aux 17", "RMI_ERROR_INPUT", 0, create(rec, params({ ...good, numAux: 17n })));
    expectFail(p, "num_aux 2^32+16", "RMI_ERROR_INPUT", 0, create(rec, params({ ...good, numAux: (1n << 32n) + 16n })));

    // 3 aux granules
    const withAux = (i: number, a: bigint) => params({ ...good, aux: good.aux!.map((x, k) => (k === i ? a : x)) });
    expectFail(p, "aux unaligned", "RMI_ERROR_INPUT", 0, create(rec, withAux(3, good.aux![3]! + 1n)));
    expectFail(p, "aux mmio", "RMI_ERROR_INPUT", 0, create(rec, withAux(4, MMIO_BASE)));
    expectFail(p, "aux undelegated", "RMI_ERROR_INPUT", 0, create(rec, withAux(5, t.alloc.ns())));
    expectFail(p, "aux is the RD", "RMI_ERROR_INPUT", 0, create(rec, withAux(6, t.rd)));
    expectFail(p, "aux is a root RTT", "RMI_ERROR_INPUT", 0, create(rec, withAux(7, t.rtt)));
    expectFail(p, "aux repeated", "RMI_ERROR_INPUT", 0, create(rec, withAux(9, good.aux![2]!)));
    // aux == rec: the aux check passes (rec is DELEGATED) and the rec check fails
    expectFail(p, "aux alias rec", "RMI_ERROR_INPUT", 0, create(rec, withAux(15, rec)));
    // num_aux = 0 with a bad aux[0] is fine up to the last check (num_aux != 16)
    expectFail(p, "aux beyond num_aux not checked", "RMI_ERROR_INPUT", 0, create(rec, params({ ...good, numAux: 0n, aux: [MMIO_BASE] })));

    // 4 rec and rd granules
    expectFail(p, "rec unaligned", "RMI_ERROR_INPUT", 0, create(rec + 0x800n, okParams));
    expectFail(p, "rec undelegated", "RMI_ERROR_INPUT", 0, create(t.alloc.ns(), okParams));
    expectFail(p, "rec mmio", "RMI_ERROR_INPUT", 0, create(MMIO_BASE, okParams));
    expectFail(p, "rec == rd", "RMI_ERROR_INPUT", 0, create(t.rd, okParams));
    expectFail(p, "rd not an RD", "RMI_ERROR_INPUT", 0, create(rec, okParams, t.delegated()));
    expectFail(p, "rd unaligned", "RMI_ERROR_INPUT", 0, create(rec, okParams, t.rd + 0x40n));

    // 7 mpidr: bits outside the affinity fields, Aff3 at [39:32] (MPIDR_EL1 style), wrong index
    expectFail(p, "mpidr Aff0[7:4]", "RMI_ERROR_INPUT", 0, create(rec, params({ ...good, mpidr: 0x10n })));
    expectFail(p, "mpidr bit 32", "RMI_ERROR_INPUT", 0, create(rec, params({ ...good, mpidr: 1n << 32n })));
    expectFail(p, "mpidr index 1 first", "RMI_ERROR_INPUT", 0, create(rec, params({ ...good, mpidr: mpidrOf(1) })));
    expectFail(p, "mpidr Aff1 = 1 (index 16) first", "RMI_ERROR_INPUT", 0, create(rec, params({ ...good, mpidr: 0x100n })));

    // 8 num_aux != REC_AUX_COUNT
    expectFail(p, "num_aux 15", "RMI_ERROR_INPUT", 0, create(rec, params({ ...good, aux: good.aux!.slice(0, 15) })));
    expectFail(p, "num_aux 0", "RMI_ERROR_INPUT", 0, create(rec, params({ ...good, aux: [] })));

    // success, then the next REC must have index 1
    expect(p.rmi.recCreate(t.rd, rec, okParams)).toEqual({ status: "RMI_SUCCESS", index: 0 });
    expect(p.granule(rec)).toMatchObject({ state: "REC", refcount: 0, recIndex: 0, owner: t.rd, pas: "REALM" });
    for (const a of good.aux!) expect(p.granule(a)).toMatchObject({ state: "REC_AUX", owner: t.rd });
    expect(p.granule(t.rd).refcount).toBe(1);
    const rec2 = t.delegated();
    const aux2 = auxList(t);
    expectFail(p, "mpidr index 0 again", "RMI_ERROR_INPUT", 0, create(rec2, params({ ...good, aux: aux2 })));
    // Aff1 carries index bits [11:4]: index 1 is Aff0 = 1
    expect(p.rmi.recCreate(t.rd, rec2, params({ mpidr: 1n, aux: aux2 })).status).toBe("RMI_SUCCESS");
    expect(p.granule(rec2).recIndex).toBe(1);
    expect(p.granule(t.rd).refcount).toBe(2);

    // 6 realm not NEW (every earlier check passes)
    expect(p.rmi.realmActivate(t.rd).status).toBe("RMI_SUCCESS");
    const rec3 = t.delegated();
    expectFail(p, "realm ACTIVE", "RMI_ERROR_REALM", 0, create(rec3, params({ mpidr: mpidrOf(2), aux: auxList(t) })));
    // ... and realm_state beats mpidr_index and num_aux
    expectFail(p, "realm ACTIVE beats mpidr and num_aux", "RMI_ERROR_REALM", 0, create(rec3, params({ mpidr: 0x10n, aux: [] })));
  });

  it("RD refcount at the maximum (2^MAX_RECS_ORDER - 1 RECs) gives REALM, ahead of realm state", () => {
    const t = makeRealm({ platform: { trace: false } });
    const p = t.p;
    const max = 2 ** p.rmm.features.maxRecsOrder - 1;
    expect(max).toBe(1023);
    for (let i = 0; i < max; i++) createRec(t, { flags: 0n });
    expect(p.granule(t.rd).refcount).toBe(max);
    const rec = t.delegated();
    const pp = t.alloc.ns();
    p.ns.write(pp, recParamsBytes({ mpidr: mpidrOf(max), aux: auxList(t) }));
    expectFail(p, "rec count at max", "RMI_ERROR_REALM", 0, () => p.rmi.recCreate(t.rd, rec, pp));
    // also when the realm is ACTIVE and the mpidr is bad: the max check comes first
    expect(p.rmi.realmActivate(t.rd).status).toBe("RMI_SUCCESS");
    p.ns.write(pp, recParamsBytes({ mpidr: 0x10n, aux: [] }));
    expectFail(p, "rec count at max beats state", "RMI_ERROR_REALM", 0, () => p.rmi.recCreate(t.rd, rec, pp));
  });

  it("indices follow the RmiRecMpidr layout (Aff3 at [31:24]) up to index 16", () => {
    const t = makeRealm();
    for (let i = 0; i < 17; i++) createRec(t, { flags: 0n, mpidr: mpidrOf(i) });
    expect(t.realm.recCount).toBe(17);
    expect(mpidrOf(16)).toBe(0x100n);
  });
});

describe("RMI_REC_DESTROY", () => {
  it("fails with INPUT unless rec is a REC granule, with REC while it runs; frees aux and REC", () => {
    const { t, recs } = realmWithRecs(2);
    const p = t.p;
    const [r0, r1] = recs as [typeof recs[0], typeof recs[0]];
    expectFail(p, "rec unaligned", "RMI_ERROR_INPUT", 0, () => p.rmi.recDestroy(r0.rec + 0x100n));
    expectFail(p, "rec outside PA", "RMI_ERROR_INPUT", 0, () => p.rmi.recDestroy(1n << 52n));
    expectFail(p, "rec is the RD", "RMI_ERROR_INPUT", 0, () => p.rmi.recDestroy(t.rd));
    expectFail(p, "rec is REC_AUX", "RMI_ERROR_INPUT", 0, () => p.rmi.recDestroy(r0.aux[0]!));
    const d = t.delegated();
    expectFail(p, "rec delegated", "RMI_ERROR_INPUT", 0, () => p.rmi.recDestroy(d));
    expectFail(p, "rec undelegated", "RMI_ERROR_INPUT", 0, () => p.rmi.recDestroy(DRAM_BASE));

    // 2 running: a REC_DESTROY from inside the vCPU's run sees refcount 1
    const run = t.alloc.ns();
    writeEnter(p, run);
    let inside: { status: string; index: number } | undefined;
    let insideOther: { status: string; index: number } | undefined;
    p.rmm.guest = (v) => {
      if (v.index === 0) {
        expect(p.granule(r0.rec).refcount).toBe(1);
        inside = p.rmi.recDestroy(r0.rec);
        insideOther = p.rmi.recAuxCount(t.rd);
      }
    };
    expect(p.rmi.recEnter(r0.rec, run).status).toBe("RMI_SUCCESS");
    expect(inside).toEqual({ status: "RMI_ERROR_REC", index: 0 });
    expect(insideOther?.status).toBe("RMI_SUCCESS");
    expect(p.granule(r0.rec).refcount).toBe(0);
    p.rmm.guest = undefined;

    // REALM_DESTROY: a REC exists -> REALM
    expectFail(p, "realm live (RECs)", "RMI_ERROR_REALM", 0, () => p.rmi.realmDestroy(t.rd));

    expect(p.rmi.recDestroy(r1.rec)).toEqual({ status: "RMI_SUCCESS", index: 0 });
    expect(p.granule(r1.rec)).toMatchObject({ state: "DELEGATED", refcount: 0 });
    for (const a of r1.aux) {
      expect(p.granule(a).state).toBe("DELEGATED");
      expect(p.machine.mem.isZero(Number(a / G))).toBe(true);
    }
    expect(p.granule(t.rd).refcount).toBe(1);
    expect(p.rmi.recDestroy(r1.rec).status).toBe("RMI_ERROR_INPUT");
    expect(p.rmi.recDestroy(r0.rec).status).toBe("RMI_SUCCESS");
    expect(p.granule(t.rd).refcount).toBe(0);
    // indices are not reused: rec_count stays 2
    expect(t.realm.recCount).toBe(2);
    expect(p.rmi.realmDestroy(t.rd).status).toBe("RMI_SUCCESS");
    expect(p.granule(t.rd).state).toBe("DELEGATED");
  });
});

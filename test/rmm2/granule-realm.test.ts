/** GRANULE_RANGE_(UN)DELEGATE with partial progress; REALM_CREATE/TERMINATE/DESTROY v2.0. */
import { describe, expect, it } from "vitest";
import { rmmDigest } from "../../src/index.js";
import { G, NS_PARAMS, PGD, POOL, RD, createRealm, delegateRange, ok, platform2, recCreateSro, writeRealmParams } from "./helpers.js";

describe("GRANULE_RANGE_DELEGATE / UNDELEGATE", () => {
  it("failure conditions: alignment and order (x1 = base), then the per-granule checks", () => {
    const p = platform2({ startActive: true });
    const table: [string, bigint, bigint, string][] = [
      ["base unaligned", POOL + 8n, POOL + G, "RMI_ERROR_INPUT"],
      ["top unaligned", POOL, POOL + G + 1n, "RMI_ERROR_INPUT"],
      ["top == base", POOL, POOL, "RMI_ERROR_INPUT"],
      ["top < base", POOL + G, POOL, "RMI_ERROR_INPUT"],
      ["MMIO", 0x1c00_0000n, 0x1c00_1000n, "RMI_ERROR_INPUT"],
      ["secure", 0x0600_0000n, 0x0600_1000n, "RMI_ERROR_INPUT"],
      ["outside PA", 1n << 48n, (1n << 48n) + G, "RMI_ERROR_INPUT"],
    ];
    const before = rmmDigest(p);
    for (const [what, b, t, s] of table) {
      const r = p.rmi.granuleRangeDelegate(b, t);
      expect(r.status, what).toBe(s);
      expect(r.top, what).toBe(b);
    }
    expect(rmmDigest(p)).toBe(before);
    ok(p.rmi.granuleRangeDelegate(POOL, POOL + G));
    expect(p.rmi.granuleRangeDelegate(POOL, POOL + G)).toMatchObject({ status: "RMI_ERROR_INPUT", top: POOL });
    expect(p.rmi.granuleRangeUndelegate(POOL + G, POOL + 2n * G)).toMatchObject({ status: "RMI_ERROR_INPUT", top: POOL + G });
    expect(p.rmi.granuleRangeUndelegate(POOL, POOL + G)).toMatchObject({ status: "RMI_SUCCESS", top: POOL + G });
    expect(p.granule(POOL)).toMatchObject({ state: "UNDELEGATED", pas: "NS" });
  });

  it("one granule per call by default (TF-RMM main); maxGranulesPerCall makes bigger steps", () => {
    const p = platform2({ startActive: true });
    expect(delegateRange(p, POOL, POOL + 8n * G)).toBe(8);
    const q = platform2({ startActive: true, progress: { maxGranulesPerCall: 3 } });
    expect(delegateRange(q, POOL, POOL + 8n * G)).toBe(3);
    const r = platform2({ startActive: true, progress: { maxGranulesPerCall: Infinity } });
    expect(delegateRange(r, POOL, POOL + 64n * G)).toBe(1);
    expect(r.granuleCounts().DELEGATED).toBe(64);
    expect(() => platform2({ startActive: true, progress: { maxGranulesPerCall: 0 } }).rmi.granuleRangeDelegate(POOL, POOL + G)).toThrow(/maxGranulesPerCall/);
  });

  it("a failing granule after progress stops the call with SUCCESS and out_top at it", () => {
    const p = platform2({ startActive: true, progress: { maxGranulesPerCall: 16 } });
    ok(p.rmi.granuleRangeDelegate(POOL + 3n * G, POOL + 4n * G));
    expect(p.rmi.granuleRangeDelegate(POOL, POOL + 8n * G)).toMatchObject({ status: "RMI_SUCCESS", top: POOL + 3n * G });
    expect(p.rmi.granuleRangeDelegate(POOL + 3n * G, POOL + 8n * G)).toMatchObject({ status: "RMI_ERROR_INPUT", top: POOL + 3n * G });
    expect(p.granuleCounts().DELEGATED).toBe(4);
    expect(p.rmi.granuleRangeUndelegate(POOL, POOL + 8n * G)).toMatchObject({ status: "RMI_SUCCESS", top: POOL + 4n * G });
  });
});

describe("REALM_CREATE / REALM_TERMINATE / REALM_DESTROY v2.0", () => {
  function setup(features = {}) {
    const p = platform2({ startActive: true, progress: { maxGranulesPerCall: Infinity }, features });
    delegateRange(p, RD, RD + G);
    delegateRange(p, PGD, PGD + 2n * G);
    return p;
  }

  it("REALM_CREATE failure conditions in order (no vmid field; v2.0 params)", () => {
    const p = setup();
    const cases: [string, Parameters<typeof writeRealmParams>[1], bigint, string][] = [
      ["LPA2 unsupported", { flags: 1n }, RD, "RMI_ERROR_INPUT"],
      ["s2sz 31", { s2sz: 31 }, RD, "RMI_ERROR_INPUT"],
      ["hash 3", { hashAlgo: 3 }, RD, "RMI_ERROR_INPUT"],
      ["DA without device assignment", { flags: 1n << 3n }, RD, "RMI_ERROR_INPUT"],
      ["MEC policy 2", { flags: 2n << 7n }, RD, "RMI_ERROR_INPUT"],
      ["aux planes", { numAuxPlanes: 1 }, RD, "RMI_ERROR_INPUT"],
      ["flags1 RTT_TREE_PP", { flags1: 1n }, RD, "RMI_ERROR_INPUT"],
      ["rd aliases a root RTT", {}, PGD + G, "RMI_ERROR_INPUT"],
      ["root RTT not delegated", { rttBase: PGD + 2n * G }, RD, "RMI_ERROR_INPUT"],
    ];
    for (const [what, over, rd, s] of cases) {
      writeRealmParams(p, over);
      const before = rmmDigest(p);
      expect(p.rmi.realmCreate(rd, NS_PARAMS).status, what).toBe(s);
      expect(rmmDigest(p), what).toBe(before);
    }
    expect(p.rmi.realmCreate(RD, RD).status).toBe("RMI_ERROR_INPUT"); // params in Realm PAS
    writeRealmParams(p, { hashAlgo: 2, vmid: 77 }); // SHA-384 is v2.0; the vmid field is ignored
    ok(p.rmi.realmCreate(RD, NS_PARAMS));
    expect(p.granule(RD)).toMatchObject({ state: "RD", realmState: "NEW" });
    expect(p.rmm.realms.get(Number(RD / G))!.vmid).toBe(0);
  });

  it("the RMM allocates VMIDs; none left -> RMI_ERROR_GLOBAL", () => {
    const p = setup({ vmidCount: 1 });
    writeRealmParams(p);
    ok(p.rmi.realmCreate(RD, NS_PARAMS));
    const rd2 = POOL + 8n * G;
    const pgd2 = POOL + 10n * G;
    delegateRange(p, rd2, rd2 + G);
    delegateRange(p, pgd2, pgd2 + 2n * G);
    writeRealmParams(p, { rttBase: pgd2 });
    const before = rmmDigest(p);
    expect(p.rmi.realmCreate(rd2, NS_PARAMS).status).toBe("RMI_ERROR_GLOBAL");
    expect(rmmDigest(p)).toBe(before);
    ok(p.rmi.realmTerminate(RD));
    ok(p.rmi.realmDestroy(RD));
    ok(p.rmi.realmCreate(rd2, NS_PARAMS));
  });

  it("REALM_DESTROY needs no RECs, ZOMBIE and empty roots; TERMINATE from any state", () => {
    const p = setup();
    writeRealmParams(p);
    ok(p.rmi.realmCreate(RD, NS_PARAMS));
    expect(p.rmi.realmTerminate(PGD).status).toBe("RMI_ERROR_INPUT");
    expect(p.rmi.realmDestroy(PGD).status).toBe("RMI_ERROR_INPUT");
    expect(p.rmi.realmDestroy(RD).status).toBe("RMI_ERROR_REALM"); // NEW, not ZOMBIE
    const rec = POOL + 0x20n * G;
    delegateRange(p, rec, rec + 17n * G);
    ok(recCreateSro(p, rec, rec + G));
    ok(p.rmi.realmTerminate(RD));
    expect(p.granule(RD).realmState).toBe("ZOMBIE");
    expect(p.rmi.realmDestroy(RD).status).toBe("RMI_ERROR_REALM"); // a REC exists
    expect(p.rmi.realmActivate(RD).status).toBe("RMI_ERROR_REALM");
    ok(p.rmi.realmTerminate(RD));
  });

  it("TERMINATE while a REC runs -> REALM", () => {
    const p = setup();
    createRealmOn(p);
    p.rmm.realms.get(Number(RD / G))!.runningRecs = 1;
    expect(p.rmi.realmTerminate(RD).status).toBe("RMI_ERROR_REALM");
    expect(p.granule(RD).realmState).toBe("NEW");
  });
});

function createRealmOn(p: ReturnType<typeof platform2>) {
  writeRealmParams(p);
  ok(p.rmi.realmCreate(RD, NS_PARAMS));
}

export { createRealm };

// Acceptance (issue 2, "Done when"): RMI v1.0 stimulus / expected result, written from the RMM
// v1.0 specification's commands and failure conditions, driven ONLY through
// Platform.create({rmm: "1.0"}), p.ns.write, p.smc and the default memory map (design.md).
// Every failing call is also checked to change nothing (rmmDigest before/after).
import { describe, expect, it } from "vitest";
import { Platform, encodeRealmParams, rmmDigest } from "cca-realm-sim";

const G = 0x1000n;
// RmiStatusCode (RMM v1.0).
const SUCCESS = 0n;
const ERROR_INPUT = 1n;
const ERROR_REALM = 2n;
const ERROR_RTT = 4n;
const st = (status: bigint, index = 0n) => status | (index << 8n);
// RmiRttEntryState (RMM v1.0) and RmiRipas.
const UNASSIGNED = 0n;
const ASSIGNED = 1n;
const TABLE = 2n;
const RIPAS_EMPTY = 0n;
const RIPAS_RAM = 1n;

// NS scratch, RD, roots, child RTTs and data granules, all in the default DRAM.
const PARAMS = 0x9000_0000n;
const SRC = 0x9000_1000n;
const RD = 0x9010_0000n;
const ROOT = 0x9020_0000n; // 2 concatenated level-1 roots (40-bit IPA, start level 1)
const L2 = 0x9030_0000n;
const L3 = 0x9030_1000n;
const DATA = 0x9040_0000n;
const IPA = 0x4000_0000n; // protected half of a 40-bit realm, 1 GiB aligned

function setup() {
  const p = Platform.create({ rmm: "1.0" });
  const f = (name: string) => p.fid(`RMI_${name}`);
  const call = (name: string, ...a: bigint[]) => p.smc(f(name), ...a);
  /** A call that must fail with `x0` and leave the whole RMM state as it was. */
  const fails = (x0: bigint, name: string, ...a: bigint[]) => {
    const before = rmmDigest(p);
    const out = call(name, ...a);
    expect(out[0], `${name}(${a.map((x) => "0x" + x.toString(16)).join(", ")})`).toBe(x0);
    expect(rmmDigest(p), `${name} changed state while failing`).toBe(before);
    return out;
  };
  const ok = (name: string, ...a: bigint[]) => {
    const out = call(name, ...a);
    expect(out[0], `${name}(${a.map((x) => "0x" + x.toString(16)).join(", ")})`).toBe(SUCCESS);
    return out;
  };
  for (const g of [RD, ROOT, ROOT + G, L2, L3, DATA]) ok("GRANULE_DELEGATE", g);
  p.ns.write(PARAMS, encodeRealmParams({ s2sz: 40, rttBase: ROOT, rttLevelStart: 1, rttNumStart: 2, vmid: 7 }));
  p.ns.write(SRC, new Uint8Array(4096).fill(0xa5));
  return { p, call, fails, ok };
}

describe("REALM_CREATE", () => {
  it("fails with ERROR_INPUT on bad params / RD / roots / VMID, changing nothing", () => {
    const { p, fails, ok } = setup();
    fails(st(ERROR_INPUT), "REALM_CREATE", RD, PARAMS + 8n); // params not aligned
    fails(st(ERROR_INPUT), "REALM_CREATE", RD, ROOT); // params not in NS PAS (a delegated granule)
    fails(st(ERROR_INPUT), "REALM_CREATE", RD + 8n, PARAMS); // RD not aligned
    fails(st(ERROR_INPUT), "REALM_CREATE", SRC, PARAMS); // RD granule not DELEGATED
    const bad = 0x9000_2000n;
    p.ns.write(bad, encodeRealmParams({ s2sz: 40, rttBase: ROOT, rttLevelStart: 1, rttNumStart: 1, vmid: 7 }));
    fails(st(ERROR_INPUT), "REALM_CREATE", RD, bad); // 40 bits from level 1 needs 2 roots
    p.ns.write(bad, encodeRealmParams({ s2sz: 40, rttBase: 0x9050_0000n, rttLevelStart: 1, rttNumStart: 2, vmid: 7 }));
    fails(st(ERROR_INPUT), "REALM_CREATE", RD, bad); // roots not DELEGATED
    p.ns.write(bad, encodeRealmParams({ s2sz: 40, rttBase: RD, rttLevelStart: 1, rttNumStart: 2, vmid: 7 }));
    fails(st(ERROR_INPUT), "REALM_CREATE", RD, bad); // RD aliases the roots
    ok("REALM_CREATE", RD, PARAMS);
    expect(p.granule(RD).state).toBe("RD");
    expect(p.granule(ROOT).state).toBe("RTT");
    expect(p.granule(ROOT + G).state).toBe("RTT");
    // Same VMID again (other RD, other roots): ERROR_INPUT.
    const rd2 = 0x9060_0000n;
    const r2 = 0x9060_2000n;
    for (const g of [rd2, r2, r2 + G]) ok("GRANULE_DELEGATE", g);
    p.ns.write(bad, encodeRealmParams({ s2sz: 40, rttBase: r2, rttLevelStart: 1, rttNumStart: 2, vmid: 7 }));
    fails(st(ERROR_INPUT), "REALM_CREATE", rd2, bad);
  });

  it("GRANULE_UNDELEGATE of an RD or a root RTT is refused", () => {
    const { fails, ok } = setup();
    ok("REALM_CREATE", RD, PARAMS);
    fails(st(ERROR_INPUT), "GRANULE_UNDELEGATE", RD);
    fails(st(ERROR_INPUT), "GRANULE_UNDELEGATE", ROOT + G);
  });
});

describe("RTT_CREATE / RTT_READ_ENTRY / RTT_DESTROY", () => {
  it("creates level 2 then 3 under the roots; reports walk levels; refuses duplicates and bad levels", () => {
    const { p, call, fails, ok } = setup();
    ok("REALM_CREATE", RD, PARAMS);
    // Before any child: the walk stops at level 1, entry UNASSIGNED, RIPAS EMPTY.
    let e = ok("RTT_READ_ENTRY", RD, IPA, 3n);
    expect([e[1], e[2], e[4]]).toEqual([1n, UNASSIGNED, RIPAS_EMPTY]);
    fails(st(ERROR_RTT, 1n), "RTT_CREATE", RD, L3, IPA, 3n); // no level-2 table yet
    fails(st(ERROR_INPUT), "RTT_CREATE", RD, L2, IPA + G, 2n); // IPA not aligned to 1 GiB
    fails(st(ERROR_INPUT), "RTT_CREATE", RD, L2, IPA, 1n); // level 1 is the start level
    fails(st(ERROR_INPUT), "RTT_CREATE", RD, L2, IPA, 4n); // no level 4
    fails(st(ERROR_INPUT), "RTT_CREATE", RD, L2, 1n << 40n, 2n); // outside the 40-bit IPA space
    fails(st(ERROR_INPUT), "RTT_CREATE", RD, SRC, IPA, 2n); // RTT granule is not DELEGATED
    fails(st(ERROR_INPUT), "RTT_CREATE", ROOT, L2, IPA, 2n); // not an RD
    ok("RTT_CREATE", RD, L2, IPA, 2n);
    expect(p.granule(L2)).toMatchObject({ state: "RTT", pas: "REALM" });
    e = ok("RTT_READ_ENTRY", RD, IPA, 1n);
    expect([e[1], e[2], e[3]]).toEqual([1n, TABLE, L2]);
    e = ok("RTT_READ_ENTRY", RD, IPA, 3n);
    expect(e[1]).toBe(2n);
    // A second level-2 RTT at the same place: the level-1 entry is already a TABLE.
    ok("GRANULE_DELEGATE", 0x9070_0000n);
    fails(st(ERROR_RTT, 1n), "RTT_CREATE", RD, 0x9070_0000n, IPA, 2n);
    ok("RTT_CREATE", RD, L3, IPA, 3n);
    e = ok("RTT_READ_ENTRY", RD, IPA + 5n * G, 3n);
    expect([e[1], e[2], e[4]]).toEqual([3n, UNASSIGNED, RIPAS_EMPTY]);
    fails(st(ERROR_INPUT), "RTT_READ_ENTRY", RD, IPA + 8n, 3n); // IPA not aligned to the level
    fails(st(ERROR_INPUT), "RTT_READ_ENTRY", RD, IPA, 4n);
    // Destroying L2 while L3 hangs off it: ERROR_RTT at level 2.
    const d = fails(st(ERROR_RTT, 2n), "RTT_DESTROY", RD, IPA, 2n);
    expect(d.length).toBe(5);
    // Destroy L3, then L2: each returns its RTT's PA; the granules go back to DELEGATED.
    const d3 = ok("RTT_DESTROY", RD, IPA, 3n);
    expect(d3[1]).toBe(L3);
    expect(p.granule(L3).state).toBe("DELEGATED");
    const d2 = ok("RTT_DESTROY", RD, IPA, 2n);
    expect(d2[1]).toBe(L2);
    expect(call("RTT_READ_ENTRY", RD, IPA, 2n).slice(0, 3)).toEqual([SUCCESS, 1n, UNASSIGNED]);
  });
});

describe("RTT_INIT_RIPAS, DATA_CREATE, REALM_ACTIVATE, DATA_DESTROY, REALM_DESTROY", () => {
  it("the life of one protected page, and the realm-state gates", () => {
    const { p, call, fails, ok } = setup();
    ok("REALM_CREATE", RD, PARAMS);
    ok("RTT_CREATE", RD, L2, IPA, 2n);
    ok("RTT_CREATE", RD, L3, IPA, 3n);
    // INIT_RIPAS over the first 2 MiB (v1.0: base, top -> x1 = out_top).
    const ir = ok("RTT_INIT_RIPAS", RD, IPA, IPA + 0x20_0000n);
    expect(ir[1]).toBe(IPA + 0x20_0000n);
    expect(call("RTT_READ_ENTRY", RD, IPA, 3n)[4]).toBe(RIPAS_RAM);
    fails(st(ERROR_INPUT), "RTT_INIT_RIPAS", RD, IPA + 0x20_0000n, IPA); // top <= base
    // DATA_CREATE(rd, data, ipa, src, flags): bad source, bad data granule, missing RTT.
    fails(st(ERROR_INPUT), "DATA_CREATE", RD, DATA, IPA, DATA, 0n); // src is not NS
    fails(st(ERROR_INPUT), "DATA_CREATE", RD, SRC, IPA, SRC, 0n); // data granule not DELEGATED
    fails(st(ERROR_RTT, 2n), "DATA_CREATE", RD, DATA, IPA + 0x20_0000n, SRC, 0n); // no L3 there
    ok("DATA_CREATE", RD, DATA, IPA, SRC, 0n);
    expect(p.granule(DATA)).toMatchObject({ state: "DATA", pas: "REALM" });
    const e = ok("RTT_READ_ENTRY", RD, IPA, 3n);
    expect([e[1], e[2], e[4]]).toEqual([3n, ASSIGNED, RIPAS_RAM]);
    expect(e[3] & 0x0000_ffff_ffff_f000n).toBe(DATA); // desc carries the output address
    ok("GRANULE_DELEGATE", 0x9040_1000n);
    fails(st(ERROR_RTT, 3n), "DATA_CREATE", RD, 0x9040_1000n, IPA, SRC, 0n); // already ASSIGNED
    // The L3 RTT is live (refcount 1): it cannot be destroyed.
    fails(st(ERROR_RTT, 3n), "RTT_DESTROY", RD, IPA, 3n);
    // A realm with a live RTT cannot be destroyed either.
    fails(st(ERROR_REALM), "REALM_DESTROY", RD);

    ok("REALM_ACTIVATE", RD);
    fails(st(ERROR_REALM), "REALM_ACTIVATE", RD);
    // DATA_CREATE and INIT_RIPAS are for NEW realms only; the realm-state check comes before
    // the RTT walk (ERROR_REALM even where there is no L3 RTT).
    fails(st(ERROR_REALM), "DATA_CREATE", RD, 0x9040_1000n, IPA + G, SRC, 0n);
    fails(st(ERROR_REALM), "DATA_CREATE", RD, 0x9040_1000n, IPA + 0x20_0000n, SRC, 0n);
    fails(st(ERROR_REALM), "RTT_INIT_RIPAS", RD, IPA + 0x20_0000n, IPA + 0x40_0000n);

    // DATA_DESTROY -> x1 = data PA; the granule is DELEGATED and scrubbed.
    const dd = ok("DATA_DESTROY", RD, IPA);
    expect(dd[1]).toBe(DATA);
    expect(p.granule(DATA).state).toBe("DELEGATED");
    expect(call("RTT_READ_ENTRY", RD, IPA, 3n).slice(1, 3)).toEqual([3n, UNASSIGNED]);
    ok("GRANULE_UNDELEGATE", DATA);
    expect([...p.ns.read(DATA, 16)]).toEqual(new Array(16).fill(0));
    fails(st(ERROR_RTT, 3n), "DATA_DESTROY", RD, IPA); // nothing there any more

    ok("RTT_DESTROY", RD, IPA, 3n);
    ok("RTT_DESTROY", RD, IPA, 2n);
    ok("REALM_DESTROY", RD);
    for (const g of [RD, ROOT, ROOT + G, L2, L3]) expect(p.granule(g).state, `0x${g.toString(16)}`).toBe("DELEGATED");
    // The VMID is free again.
    ok("REALM_CREATE", RD, PARAMS);
  });

  it("REC_AUX_COUNT answers for an RD and refuses anything else", () => {
    const { fails, ok } = setup();
    ok("REALM_CREATE", RD, PARAMS);
    const a = ok("REC_AUX_COUNT", RD);
    expect(a[1]).toBeGreaterThanOrEqual(0n);
    expect(a[1]).toBeLessThanOrEqual(16n); // MAX_REC_AUX_GRANULES
    fails(st(ERROR_INPUT), "REC_AUX_COUNT", ROOT);
  });
});

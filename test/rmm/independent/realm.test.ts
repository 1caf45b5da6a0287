/**
 * Independent cases: REALM_CREATE, REALM_ACTIVATE, REALM_DESTROY, REC_AUX_COUNT
 * (rmm-model.md §3.2, §4.2, §4.3, §5.4-§5.7, §6).
 */
import { describe, expect, it } from "vitest";
import {
  EMPTY, FID, G, INPUT, MMIO, REALM, Rig, SECURE, SUCCESS, UNASSIGNED, realmParams, type RealmConfig,
} from "./harness.js";

/** Everything REALM_CREATE needs, valid; each row of the table breaks one thing. */
interface CreateCase {
  rd: bigint;
  params: bigint;
  cfg: RealmConfig;
}

function validCase(h: Rig, num = 2): CreateCase {
  const rtt = h.pages(num);
  for (let i = 0n; i < BigInt(num); i++) h.ok(FID.GRANULE_DELEGATE, rtt + i * G);
  return { rd: h.delegated(), params: h.page(), cfg: { rttBase: rtt, s2sz: 40, sl: 1, num, vmid: 9 } };
}

function run(h: Rig, c: CreateCase, write = true) {
  if (write) h.p.ns.write(c.params, realmParams(c.cfg));
  return h.smc(FID.REALM_CREATE, c.rd, c.params);
}

describe("RMI_REALM_CREATE (§5.4)", () => {
  it("succeeds: RD and root RTTs change state, the realm is NEW, root entries initialised per half", () => {
    const h = new Rig();
    const c = validCase(h);
    expect(run(h, c).status).toBe(SUCCESS);
    expect(h.p.granule(c.rd)).toMatchObject({ state: "RD", pas: "REALM", refcount: 0, realmState: "NEW" });
    expect(h.p.granule(c.cfg.rttBase)).toMatchObject({ state: "RTT", refcount: 0 });
    expect(h.p.granule(c.cfg.rttBase + G)).toMatchObject({ state: "RTT" });
    const r = { rd: c.rd, rtt: c.cfg.rttBase, num: 2, s2sz: 40, sl: 1 };
    // Protected half: UNASSIGNED, RIPAS EMPTY. Unprotected half (bit 39 set): UNASSIGNED_NS (state 0, ripas EMPTY).
    expect(h.readEntry(r, 0n, 1)).toEqual({ level: 1n, state: UNASSIGNED, desc: 0n, ripas: EMPTY });
    expect(h.readEntry(r, (1n << 39n) - (1n << 30n), 1)).toEqual({ level: 1n, state: UNASSIGNED, desc: 0n, ripas: EMPTY });
    expect(h.readEntry(r, 1n << 39n, 1)).toEqual({ level: 1n, state: UNASSIGNED, desc: 0n, ripas: EMPTY });
    // A read at a deeper level stops at the root: walk level 1.
    expect(h.readEntry(r, 0x5000n, 3).level).toBe(1n);
  });

  it.each([
    [32, 2, 4],
    [34, 2, 16],
    [39, 1, 1],
    [40, 1, 2],
    [42, 1, 8],
    [43, 1, 16],
    [44, 0, 1],
    [48, 0, 1],
  ])("valid geometry s2sz=%i sl=%i num=%i", (s2sz, sl, num) => {
    const h = new Rig();
    const c = validCase(h, num);
    c.cfg = { ...c.cfg, s2sz, sl, num };
    expect(run(h, c).status).toBe(SUCCESS);
    expect(h.p.granule(c.cfg.rttBase + BigInt(num - 1) * G).state).toBe("RTT");
  });

  // Ordered failure conditions; each row: condition true, all earlier ones false. All INPUT.
  const rows: [string, (h: Rig, c: CreateCase) => void][] = [
    ["params_align", (_h, c) => (c.params += 8n)],
    ["params_bound: MMIO", (_h, c) => (c.params = MMIO)],
    ["params_bound: outside PA", (_h, c) => (c.params = 1n << 48n)],
    ["params_pas: Realm (a delegated granule)", (h, c) => (c.params = h.delegated())],
    ["params_pas: Secure", (_h, c) => (c.params = SECURE)],
    ["params_supp: LPA2 without FEAT_LPA2", (_h, c) => (c.cfg.flags = 1n)],
    ["params_valid: s2sz 31 < 32", (_h, c) => (c.cfg.s2sz = 31)],
    ["params_supp: s2sz 49 > feature S2SZ 48", (_h, c) => (c.cfg.s2sz = 49)],
    ["params_supp: num_bps 0", (_h, c) => (c.cfg.numBps = 0n)],
    ["params_supp: num_bps too large", (_h, c) => (c.cfg.numBps = 65n)],
    ["params_supp: num_wps 0", (_h, c) => (c.cfg.numWps = 0n)],
    ["params_supp: num_wps too large", (_h, c) => (c.cfg.numWps = 65n)],
    ["params_supp: SVE requested, not supported", (_h, c) => (c.cfg.flags = 2n)],
    ["params_supp: PMU with too many counters", (_h, c) => ((c.cfg.flags = 4n), (c.cfg.pmuNumCtrs = 32n))],
    ["params_supp: PMU with 0 counters without FEAT_HPMN0", (_h, c) => ((c.cfg.flags = 4n), (c.cfg.pmuNumCtrs = 0n))],
    ["rtt_num_level: s2sz 40 with sl 3", (_h, c) => (c.cfg.sl = 3)],
    ["rtt_num_level: s2sz 40 with sl 2 (max 38 with 16 tables)", (_h, c) => ((c.cfg.sl = 2), (c.cfg.num = 16))],
    ["rtt_num_level: sl 0 with s2sz 39 (< 40)", (_h, c) => ((c.cfg.s2sz = 39), (c.cfg.sl = 0), (c.cfg.num = 1))],
    ["rtt_num_level: sl -1 without LPA2", (_h, c) => ((c.cfg.sl = -1), (c.cfg.num = 1))],
    ["rtt_num_level: rtt_num_start 1, needs 2", (_h, c) => (c.cfg.num = 1)],
    ["rtt_num_level: rtt_num_start 4, needs 2", (_h, c) => (c.cfg.num = 4)],
    ["params_valid: hash_algo 2", (_h, c) => (c.cfg.hash = 2)],
    ["params_valid: hash_algo 255", (_h, c) => (c.cfg.hash = 255)],
    ["vmid_valid: VMID in use", (h, c) => (c.cfg.vmid = h.realm({ vmid: 77 }) && 77)],
    ["alias: rd == rtt_base", (_h, c) => (c.rd = c.cfg.rttBase)],
    ["alias: rd == the second root RTT", (_h, c) => (c.rd = c.cfg.rttBase + G)],
    ["rd_align", (_h, c) => (c.rd += 0x10n)],
    ["rd_bound: MMIO", (_h, c) => (c.rd = MMIO)],
    ["rd_state: UNDELEGATED", (h, c) => (c.rd = h.page())],
    ["rd_state: RD of another realm", (h, c) => (c.rd = h.realm().rd)],
    ["rtt_align", (_h, c) => (c.cfg.rttBase += 0x100n)],
    ["rtt_state: first root UNDELEGATED", (h, c) => (h.ok(FID.GRANULE_UNDELEGATE, c.cfg.rttBase))],
    ["rtt_state: second root UNDELEGATED", (h, c) => (h.ok(FID.GRANULE_UNDELEGATE, c.cfg.rttBase + G))],
    ["rtt_state: root is another realm's RTT", (h, c) => (c.cfg.rttBase = h.realm().rtt)],
  ];

  it.each(rows)("fails with INPUT: %s, and changes nothing", (_, breakIt) => {
    const h = new Rig();
    const c = validCase(h);
    breakIt(h, c);
    const pageIsNs = c.params % G === 0n && c.params < 1n << 52n && h.p.granule(c.params).region === "dram" && h.p.granule(c.params).state === "UNDELEGATED";
    if (pageIsNs) h.p.ns.write(c.params, realmParams(c.cfg));
    const before = h.snapshot();
    const r = h.smc(FID.REALM_CREATE, c.rd, c.params);
    expect({ status: r.status, index: r.index }).toEqual({ status: INPUT, index: 0 });
    expect(h.snapshot()).toBe(before);
  });

  it("a VMID is free again after REALM_DESTROY", () => {
    const h = new Rig();
    const a = h.realm({ vmid: 5 });
    h.ok(FID.REALM_DESTROY, a.rd);
    expect(h.realm({ vmid: 5 }).rd).toBeDefined();
  });

  it("the RD can be used again for REALM_CREATE after REALM_DESTROY", () => {
    const h = new Rig();
    const c = validCase(h);
    expect(run(h, c).status).toBe(SUCCESS);
    h.ok(FID.REALM_DESTROY, c.rd);
    expect(h.p.granule(c.rd).state).toBe("DELEGATED");
    expect(run(h, c).status).toBe(SUCCESS);
  });
});

describe("RMI_REALM_ACTIVATE (§5.5)", () => {
  it("NEW -> ACTIVE, then REALM on a second activation", () => {
    const h = new Rig();
    const r = h.realm();
    h.ok(FID.REALM_ACTIVATE, r.rd);
    expect(h.p.granule(r.rd).realmState).toBe("ACTIVE");
    h.expect(FID.REALM_ACTIVATE, [r.rd], REALM);
  });

  it.each<[string, (h: Rig) => bigint]>([
    ["rd_align", (h) => h.realm().rd + 8n],
    ["rd_bound", () => MMIO],
    ["rd_state: DELEGATED", (h) => h.delegated()],
    ["rd_state: RTT", (h) => h.realm().rtt],
  ])("INPUT: %s", (_, make) => {
    const h = new Rig();
    h.expect(FID.REALM_ACTIVATE, [make(h)], INPUT);
  });
});

describe("RMI_REALM_DESTROY (§5.6)", () => {
  it.each<[string, (h: Rig) => bigint]>([
    ["rd_align", (h) => h.realm().rd + 8n],
    ["rd_bound", () => SECURE],
    ["rd_state: UNDELEGATED", (h) => h.page()],
    ["rd_state: REC", (h) => h.rec(h.realm().rd, 0).rec],
  ])("INPUT: %s", (_, make) => {
    const h = new Rig();
    h.expect(FID.REALM_DESTROY, [make(h)], INPUT);
  });

  it("REALM while a REC exists; succeeds after REC_DESTROY", () => {
    const h = new Rig();
    const r = h.realm();
    const { rec } = h.rec(r.rd, 0);
    expect(h.p.granule(r.rd).refcount).toBe(1);
    const before = h.snapshot();
    h.expect(FID.REALM_DESTROY, [r.rd], REALM);
    expect(h.snapshot()).toBe(before);
    h.ok(FID.REC_DESTROY, rec);
    h.ok(FID.REALM_DESTROY, r.rd);
  });

  it("REALM while a root RTT has a TABLE entry (in any realm state)", () => {
    const h = new Rig();
    const r = h.realm();
    const [t] = h.tables(r, 0n, 2);
    h.ok(FID.REALM_ACTIVATE, r.rd);
    h.expect(FID.REALM_DESTROY, [r.rd], REALM);
    h.ok(FID.RTT_DESTROY, r.rd, 0n, 2n);
    h.ok(FID.GRANULE_UNDELEGATE, t!);
    h.ok(FID.REALM_DESTROY, r.rd);
  });

  it("effects: RD and root RTTs DELEGATED (then undelegatable), realm gone", () => {
    const h = new Rig();
    const r = h.realm();
    h.ok(FID.REALM_DESTROY, r.rd);
    for (const a of [r.rd, r.rtt, r.rtt + G]) {
      expect(h.p.granule(a)).toMatchObject({ state: "DELEGATED", refcount: 0 });
      h.ok(FID.GRANULE_UNDELEGATE, a);
    }
    h.expect(FID.REALM_ACTIVATE, [r.rd], INPUT);
  });
});

describe("RMI_REC_AUX_COUNT (§5.7)", () => {
  it("returns the aux granule count (at most 16) for an RD; INPUT otherwise", () => {
    const h = new Rig();
    const r = h.realm();
    const n = h.ok(FID.REC_AUX_COUNT, r.rd).x1;
    expect(n).toBeGreaterThanOrEqual(0n);
    expect(n).toBeLessThanOrEqual(16n);
    h.expect(FID.REC_AUX_COUNT, [r.rtt], INPUT);
    h.expect(FID.REC_AUX_COUNT, [r.rd + 8n], INPUT);
    h.expect(FID.REC_AUX_COUNT, [MMIO], INPUT);
    h.ok(FID.REALM_ACTIVATE, r.rd);
    expect(h.ok(FID.REC_AUX_COUNT, r.rd).x1).toBe(n);
  });
});

/**
 * Independent cases: REC_CREATE, REC_DESTROY, REC_ENTER, PSCI_COMPLETE, RTT_SET_RIPAS (the
 * checks reachable without a realm guest), rmm-model.md §5.8-§5.11, §5.19, §6.
 */
import { describe, expect, it } from "vitest";
import {
  FID, G, INPUT, MMIO, REALM, REC, RUN_EXIT_REASON, Rig, SECURE, U64_MAX, mpidr, recParams, recRun, type RecConfig, type Realm,
} from "./harness.js";

interface RecCase {
  rd: bigint;
  rec: bigint;
  params: bigint;
  cfg: RecConfig;
}

function setup(): { h: Rig; r: Realm; n: number; c: RecCase } {
  const h = new Rig();
  const r = h.realm();
  const n = Number(h.ok(FID.REC_AUX_COUNT, r.rd).x1);
  const aux = Array.from({ length: n }, () => h.delegated());
  return { h, r, n, c: { rd: r.rd, rec: h.delegated(), params: h.page(), cfg: { flags: 1n, mpidr: mpidr(0), aux } } };
}

describe("RMI_REC_CREATE (§5.8)", () => {
  const rows: [string, number, (h: Rig, c: RecCase, n: number) => void][] = [
    ["params_align", INPUT, (_h, c) => (c.params += 8n)],
    ["params_bound: MMIO", INPUT, (_h, c) => (c.params = MMIO)],
    ["params_pas: Secure", INPUT, (_h, c) => (c.params = SECURE)],
    ["params_pas: Realm", INPUT, (h, c) => (c.params = h.delegated())],
    ["num_aux > 16", INPUT, (_h, c) => (c.cfg.numAux = 17n)],
    ["aux_state: an aux granule UNDELEGATED", INPUT, (h, c, n) => n > 0 && (c.cfg.aux[n - 1] = h.page())],
    ["aux_align", INPUT, (_h, c) => c.cfg.aux.length > 0 && (c.cfg.aux[0] = c.cfg.aux[0]! + 8n)],
    ["aux_bound: MMIO", INPUT, (_h, c) => c.cfg.aux.length > 0 && (c.cfg.aux[0] = MMIO)],
    ["aux_state: the RD", INPUT, (_h, c) => c.cfg.aux.length > 0 && (c.cfg.aux[0] = c.rd)],
    ["aux_alias: aux == rec", INPUT, (_h, c) => c.cfg.aux.length > 0 && (c.cfg.aux[0] = c.rec)],
    ["aux_alias: the same aux twice", INPUT, (_h, c) => c.cfg.aux.length > 1 && (c.cfg.aux[1] = c.cfg.aux[0]!)],
    ["rec_align", INPUT, (_h, c) => (c.rec += 8n)],
    ["rec_state: UNDELEGATED", INPUT, (h, c) => (c.rec = h.page())],
    ["rec_state: an RTT", INPUT, (h, c) => (c.rec = h.realm().rtt)],
    ["rd_state: DELEGATED", INPUT, (h, c) => (c.rd = h.delegated())],
    ["rd_bound", INPUT, (_h, c) => (c.rd = SECURE)],
    ["rec == rd", INPUT, (_h, c) => (c.rec = c.rd)],
    ["mpidr_index: index 1 before 0", INPUT, (_h, c) => (c.cfg.mpidr = mpidr(1))],
    ["mpidr: bits outside the affinity fields", INPUT, (_h, c) => (c.cfg.mpidr = 1n << 60n)],
    ["mpidr: Aff0 above 15 (bits 7:4)", INPUT, (_h, c) => (c.cfg.mpidr = 0x10n)],
    ["num_aux != REC_AUX_COUNT", INPUT, (_h, c, n) => (c.cfg.numAux = BigInt(n === 0 ? 1 : n - 1))],
  ];
  it.each(rows)("%s -> status %i; nothing changes (aux granules stay DELEGATED)", (_, status, breakIt) => {
    const { h, n, c } = setup();
    breakIt(h, c, n);
    if (c.params % G === 0n && c.params < 1n << 52n && h.p.granule(c.params).region === "dram" && h.p.granule(c.params).state === "UNDELEGATED") {
      h.p.ns.write(c.params, recParams(c.cfg));
    }
    const before = h.snapshot();
    h.expect(FID.REC_CREATE, [c.rd, c.rec, c.params], status);
    expect(h.snapshot()).toBe(before);
  });

  it("REALM after activation; the INPUT checks before it win, mpidr/num_aux after it lose", () => {
    const { h, r, c } = setup();
    h.ok(FID.REALM_ACTIVATE, r.rd);
    h.p.ns.write(c.params, recParams(c.cfg));
    h.expect(FID.REC_CREATE, [c.rd, c.rec, c.params], REALM);
    h.expect(FID.REC_CREATE, [c.rd, h.page(), c.params], INPUT); // rec state first
    h.p.ns.write(c.params, recParams({ ...c.cfg, mpidr: mpidr(3), numAux: 0n }));
    h.expect(FID.REC_CREATE, [c.rd, c.rec, c.params], REALM);
  });

  it("success: REC and REC_AUX states, RD refcount; indices in order, never reused", () => {
    const { h, r, c } = setup();
    h.p.ns.write(c.params, recParams(c.cfg));
    h.ok(FID.REC_CREATE, c.rd, c.rec, c.params);
    expect(h.p.granule(c.rec)).toMatchObject({ state: "REC", pas: "REALM", refcount: 0 });
    for (const a of c.cfg.aux) expect(h.p.granule(a).state).toBe("REC_AUX");
    expect(h.p.granule(r.rd).refcount).toBe(1);
    const second = h.rec(r.rd, 1, false);
    expect(h.p.granule(r.rd).refcount).toBe(2);
    h.ok(FID.REC_DESTROY, second.rec);
    expect(h.p.granule(r.rd).refcount).toBe(1);
    for (const a of [second.rec, ...second.aux]) expect(h.p.granule(a)).toMatchObject({ state: "DELEGATED", refcount: 0 });
    // rec_count is not decremented: the next REC must be index 2, not 1.
    const n = Number(h.ok(FID.REC_AUX_COUNT, r.rd).x1);
    const aux = Array.from({ length: n }, () => h.delegated());
    const rec = h.delegated();
    const p = h.page();
    h.p.ns.write(p, recParams({ mpidr: mpidr(1), aux }));
    h.expect(FID.REC_CREATE, [r.rd, rec, p], INPUT);
    h.p.ns.write(p, recParams({ mpidr: mpidr(2), aux }));
    h.ok(FID.REC_CREATE, r.rd, rec, p);
  });

  it("MPIDR affinity fields: index 17 is Aff0 = 1, Aff1 = 1", () => {
    const h = new Rig();
    const r = h.realm();
    for (let i = 0; i < 17; i++) h.rec(r.rd, i, i === 0);
    const n = Number(h.ok(FID.REC_AUX_COUNT, r.rd).x1);
    const aux = Array.from({ length: n }, () => h.delegated());
    const rec = h.delegated();
    const p = h.page();
    h.p.ns.write(p, recParams({ mpidr: 0x101n, aux }));
    h.ok(FID.REC_CREATE, r.rd, rec, p);
    expect(h.p.granule(r.rd).refcount).toBe(18);
  });
});

describe("RMI_REC_DESTROY (§5.9)", () => {
  it.each<[string, (h: Rig) => bigint]>([
    ["rec_align", (h) => h.rec(h.realm().rd, 0).rec + 8n],
    ["rec_bound", () => MMIO],
    ["rec_state: DELEGATED", (h) => h.delegated()],
    ["rec_state: RD", (h) => h.realm().rd],
    ["rec_state: REC_AUX", (h) => h.rec(h.realm().rd, 0).aux[0] ?? h.delegated()],
  ])("INPUT: %s", (_, make) => {
    const h = new Rig();
    const a = make(h);
    const before = h.snapshot();
    h.expect(FID.REC_DESTROY, [a], INPUT);
    expect(h.snapshot()).toBe(before);
  });
});

describe("RMI_REC_ENTER (§5.10), without a realm guest", () => {
  function ready(runnable = true) {
    const h = new Rig();
    const r = h.realm();
    const { rec } = h.rec(r.rd, 0, runnable);
    const run = h.page();
    h.p.ns.write(run, recRun());
    return { h, r, rec, run };
  }

  it("run_ptr checks come first (even before realm_new)", () => {
    const { h, rec, run } = ready();
    for (const bad of [run + 8n, MMIO, SECURE, h.delegated(), 1n << 48n]) h.expect(FID.REC_ENTER, [rec, bad], INPUT);
  });

  it("rec checks: align, bound, state", () => {
    const { h, r, run } = ready();
    for (const bad of [r.rd, h.delegated(), MMIO, U64_MAX]) h.expect(FID.REC_ENTER, [bad, run], INPUT);
  });

  it("realm NEW -> REALM index 0, and it beats runnable and the GIC checks", () => {
    const { h, rec, run } = ready(false);
    h.p.ns.write(run, recRun({ gicv3Hcr: 1n << 40n }));
    const before = h.snapshot();
    h.expect(FID.REC_ENTER, [rec, run], REALM, 0);
    expect(h.snapshot()).toBe(before);
  });

  it("a REC that is not runnable -> REC", () => {
    const { h, r, rec, run } = ready(false);
    h.ok(FID.REALM_ACTIVATE, r.rd);
    h.expect(FID.REC_ENTER, [rec, run], REC);
  });

  it("bad GIC state in run.enter -> REC", () => {
    const { h, r, rec, run } = ready();
    h.ok(FID.REALM_ACTIVATE, r.rd);
    h.p.ns.write(run, recRun({ gicv3Hcr: 1n << 40n }));
    h.expect(FID.REC_ENTER, [rec, run], REC);
  });

  it("INJECT_SEA or EMUL_MMIO without a matching data abort exit -> REC", () => {
    const { h, r, rec, run } = ready();
    h.ok(FID.REALM_ACTIVATE, r.rd);
    h.p.ns.write(run, recRun({ flags: 2n }));
    h.expect(FID.REC_ENTER, [rec, run], REC);
    h.p.ns.write(run, recRun({ flags: 1n }));
    h.expect(FID.REC_ENTER, [rec, run], REC);
  });

  it("success: the REC runs and exits; the exit is written into the NS run page; the REC is not left running", () => {
    const { h, r, rec, run } = ready();
    h.ok(FID.REALM_ACTIVATE, r.rd);
    h.ok(FID.REC_ENTER, rec, run);
    const reason = h.p.ns.read(run + BigInt(RUN_EXIT_REASON), 8);
    expect(Number(new DataView(reason.buffer).getBigUint64(0, true))).toBeLessThanOrEqual(6);
    expect(h.p.granule(rec).refcount).toBe(0);
    h.ok(FID.REC_ENTER, rec, run);
    h.ok(FID.REC_DESTROY, rec);
  });
});

describe("RMI_PSCI_COMPLETE (§5.11), without a pending request", () => {
  it("every failure is INPUT and changes nothing", () => {
    const h = new Rig();
    const r = h.realm();
    const a = h.rec(r.rd, 0).rec;
    const b = h.rec(r.rd, 1, false).rec;
    const other = h.rec(h.realm().rd, 0).rec;
    const before = h.snapshot();
    for (const args of [
      [a + 8n, b, 0n], // calling unaligned
      [a, b + 8n, 0n], // target unaligned
      [a, a, 0n], // alias
      [r.rd, b, 0n], // calling not a REC
      [a, h.delegated(), 0n], // target not a REC
      [a, b, 0n], // calling has no pending PSCI request
      [a, other, 0n], // ... and a target of another realm
      [a, b, U64_MAX],
    ]) h.expect(FID.PSCI_COMPLETE, args, INPUT);
    // (h.delegated() above changed the snapshot: compare what was there before)
    expect(h.snapshot().startsWith(before)).toBe(true);
  });
});

describe("RMI_RTT_SET_RIPAS (§5.19), without a pending RIPAS change", () => {
  it("checks in order", () => {
    const h = new Rig();
    const r = h.realm();
    const { rec } = h.rec(r.rd, 0);
    const r2 = h.realm();
    h.expect(FID.RTT_SET_RIPAS, [r.rd, rec, G, G], INPUT); // top <= base
    h.expect(FID.RTT_SET_RIPAS, [r.rd, rec, 0n, G + 8n], INPUT); // top unaligned
    h.expect(FID.RTT_SET_RIPAS, [r.rtt, rec, 0n, G], INPUT); // rd state
    h.expect(FID.RTT_SET_RIPAS, [r.rd, r.rd, 0n, G], INPUT); // rec state
    h.expect(FID.RTT_SET_RIPAS, [r2.rd, rec, 0n, G], REC); // rec_owner
    h.expect(FID.RTT_SET_RIPAS, [r2.rd, rec, 8n, G], REC); // rec_owner beats base checks
    h.expect(FID.RTT_SET_RIPAS, [r.rd, rec, 0n, G], INPUT); // no request: base/top out of bounds
  });
});

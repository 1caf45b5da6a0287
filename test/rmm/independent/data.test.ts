/**
 * Independent cases: DATA_CREATE, DATA_CREATE_UNKNOWN, DATA_DESTROY (rmm-model.md §5.20, §5.21,
 * §6). Realm: s2sz 40, sl 1, two roots; PAR = [0, 2^39).
 */
import { describe, expect, it } from "vitest";
import {
  ASSIGNED, DESTROYED, EMPTY, FID, G, INPUT, MMIO, RAM, REALM, RTT, Rig, SECURE, SZ_1G, SZ_2M, UNASSIGNED, type Realm,
} from "./harness.js";

const NS_BASE = 1n << 39n;

/** A realm with level-2 and level-3 tables over [0, 2 MiB), a source page with content, a fresh delegated page. */
function setup(): { h: Rig; r: Realm; src: bigint; data: bigint } {
  const h = new Rig();
  const r = h.realm();
  h.tables(r, 0n, 3);
  const src = h.page();
  h.p.ns.write(src, new Uint8Array(4096).map((_, i) => (i * 13 + 5) % 256));
  return { h, r, src, data: h.delegated() };
}

describe("RMI_DATA_CREATE (§5.20)", () => {
  // [label, status, index, args(rd, data, ipa, src, flags)]
  const rows: [string, number, number, (h: Rig, r: Realm, src: bigint, data: bigint) => bigint[]][] = [
    ["flags: 2 is not MEASURE/NO_MEASURE", INPUT, 0, (_h, r, s, d) => [r.rd, d, 0n, s, 2n]],
    ["src_align", INPUT, 0, (_h, r, s, d) => [r.rd, d, 0n, s + 8n, 0n]],
    ["src_bound: MMIO", INPUT, 0, (_h, r, _s, d) => [r.rd, d, 0n, MMIO, 0n]],
    ["src_pas: Secure", INPUT, 0, (_h, r, _s, d) => [r.rd, d, 0n, SECURE, 0n]],
    ["src_pas: Realm (a delegated granule)", INPUT, 0, (h, r, _s, d) => [r.rd, d, 0n, h.delegated(), 0n]],
    ["src_pas: the data granule itself", INPUT, 0, (_h, r, _s, d) => [r.rd, d, 0n, d, 0n]],
    ["data_state: UNDELEGATED", INPUT, 0, (h, r, s) => [r.rd, h.page(), 0n, s, 0n]],
    ["data_align", INPUT, 0, (_h, r, s, d) => [r.rd, d + 8n, 0n, s, 0n]],
    ["data_state: an RTT", INPUT, 0, (_h, r, s) => [r.rd, r.rtt, 0n, s, 0n]],
    ["data == rd", INPUT, 0, (_h, r, s) => [r.rd, r.rd, 0n, s, 0n]],
    ["rd_state: DELEGATED", INPUT, 0, (h, _r, s, d) => [h.delegated(), d, 0n, s, 0n]],
    ["ipa_bound: unprotected IPA", INPUT, 0, (_h, r, s, d) => [r.rd, d, NS_BASE, s, 0n]],
    ["ipa_bound: beyond 2^s2sz", INPUT, 0, (_h, r, s, d) => [r.rd, d, 1n << 40n, s, 0n]],
    ["ipa_align", INPUT, 0, (_h, r, s, d) => [r.rd, d, 0x800n, s, 0n]],
    ["rtt_walk: no level-3 table -> RTT(2)", RTT, 2, (_h, r, s, d) => [r.rd, d, SZ_2M, s, 0n]],
    ["rtt_walk: no level-2 table -> RTT(1)", RTT, 1, (_h, r, s, d) => [r.rd, d, SZ_1G, s, 0n]],
  ];
  it.each(rows)("%s -> status %i index %i; nothing changes", (_, status, index, make) => {
    const { h, r, src, data } = setup();
    const args = make(h, r, src, data);
    const before = h.snapshot();
    h.expect(FID.DATA_CREATE, args, status, index);
    expect(h.snapshot()).toBe(before);
  });

  it("rtte_state: the entry is already ASSIGNED -> RTT(3)", () => {
    const { h, r, src, data } = setup();
    h.ok(FID.DATA_CREATE, r.rd, data, 0n, src, 1n);
    h.expect(FID.DATA_CREATE, [r.rd, h.delegated(), 0n, src, 1n], RTT, 3);
  });

  it("REALM after activation; the checks before it still win; the ones after it lose", () => {
    const { h, r, src, data } = setup();
    h.ok(FID.REALM_ACTIVATE, r.rd);
    h.expect(FID.DATA_CREATE, [r.rd, data, 0n, src, 0n], REALM);
    h.expect(FID.DATA_CREATE, [r.rd, data, 0n, src, 3n], INPUT); // flags
    h.expect(FID.DATA_CREATE, [r.rd, data, 0n, MMIO, 0n], INPUT); // src
    h.expect(FID.DATA_CREATE, [r.rd, h.page(), 0n, src, 0n], INPUT); // data state
    h.expect(FID.DATA_CREATE, [r.rd, data, NS_BASE, src, 0n], REALM); // beats ipa_bound
    h.expect(FID.DATA_CREATE, [r.rd, data, SZ_1G, src, 0n], REALM); // beats rtt_walk
  });

  it("success: DATA granule, ASSIGNED/RAM whatever the RIPAS was, leaf refcount +1; the NS world cannot read it", () => {
    const { h, r, src, data } = setup();
    h.ok(FID.DATA_CREATE, r.rd, data, 0x3000n, src, 1n);
    expect(h.p.granule(data)).toMatchObject({ state: "DATA", pas: "REALM" });
    expect(h.readEntry(r, 0x3000n, 3)).toEqual({ level: 3n, state: ASSIGNED, desc: data, ripas: RAM });
    expect(() => h.p.ns.read(data, 8)).toThrow(/Granule Protection Fault/);
    // The source is untouched and still NS.
    expect(h.p.granule(src).state).toBe("UNDELEGATED");
    expect(h.p.ns.read(src, 2)).toEqual(new Uint8Array([5, 18]));
    // The level-3 table counts one live entry.
    const d2 = h.delegated();
    h.ok(FID.DATA_CREATE, r.rd, d2, 0x4000n, src, 0n);
    const l3 = h.readEntry(r, 0n, 2).desc;
    expect(h.p.granule(l3).refcount).toBe(2);
  });

  it("measurement: MEASURE and NO_MEASURE give different RIMs (the realm state shows it)", () => {
    const a = setup();
    const b = setup();
    a.h.ok(FID.DATA_CREATE, a.r.rd, a.data, 0n, a.src, 1n);
    b.h.ok(FID.DATA_CREATE, b.r.rd, b.data, 0n, b.src, 0n);
    const rimA = a.h.p.rmm.realms.get(Number(a.r.rd / G))!.rim;
    const rimB = b.h.p.rmm.realms.get(Number(b.r.rd / G))!.rim;
    expect(Buffer.from(rimA).equals(Buffer.from(rimB))).toBe(false);
  });
});

describe("RMI_DATA_CREATE_UNKNOWN (§5.20)", () => {
  it("failures in order; allowed in ACTIVE; RIPAS unchanged", () => {
    const { h, r, data } = setup();
    const ns = h.page();
    const before = h.snapshot();
    h.expect(FID.DATA_CREATE_UNKNOWN, [r.rd, ns, 0n], INPUT);
    h.expect(FID.DATA_CREATE_UNKNOWN, [r.rtt, data, 0n], INPUT);
    h.expect(FID.DATA_CREATE_UNKNOWN, [r.rd, data, NS_BASE], INPUT);
    h.expect(FID.DATA_CREATE_UNKNOWN, [r.rd, data, NS_BASE + SZ_1G], INPUT); // unprotected beats rtt_walk
    h.expect(FID.DATA_CREATE_UNKNOWN, [r.rd, data, 0x10n], INPUT);
    h.expect(FID.DATA_CREATE_UNKNOWN, [r.rd, data, SZ_2M], RTT, 2);
    expect(h.snapshot()).toBe(before);
    h.ok(FID.RTT_INIT_RIPAS, r.rd, G, 2n * G);
    h.ok(FID.REALM_ACTIVATE, r.rd);
    h.ok(FID.DATA_CREATE_UNKNOWN, r.rd, data, 0n);
    expect(h.readEntry(r, 0n, 3)).toEqual({ level: 3n, state: ASSIGNED, desc: data, ripas: EMPTY });
    const d2 = h.delegated();
    h.ok(FID.DATA_CREATE_UNKNOWN, r.rd, d2, G);
    expect(h.readEntry(r, G, 3)).toEqual({ level: 3n, state: ASSIGNED, desc: d2, ripas: RAM });
    h.expect(FID.DATA_CREATE_UNKNOWN, [r.rd, h.delegated(), G], RTT, 3);
  });
});

describe("RMI_DATA_DESTROY (§5.21)", () => {
  it("INPUT failures return x2 = 0", () => {
    const { h, r } = setup();
    for (const args of [[r.rtt, 0n], [r.rd + 8n, 0n], [r.rd, NS_BASE], [r.rd, 8n], [r.rd, 1n << 40n]]) {
      const x = h.expect(FID.DATA_DESTROY, args, INPUT);
      expect([x.x1, x.x2]).toEqual([0n, 0n]);
    }
  });

  it("rtt_walk and rtte_state failures return RTT(l) with x2 = the next live entry", () => {
    const { h, r, data } = setup();
    h.ok(FID.DATA_CREATE_UNKNOWN, r.rd, data, 5n * G);
    let x = h.expect(FID.DATA_DESTROY, [r.rd, 0n], RTT, 3);
    expect(x.x2).toBe(5n * G);
    x = h.expect(FID.DATA_DESTROY, [r.rd, 6n * G], RTT, 3);
    expect(x.x2).toBe(SZ_2M);
    x = h.expect(FID.DATA_DESTROY, [r.rd, SZ_2M + G], RTT, 2); // no level-3 table: stops at 2
    expect(x.x2).toBe(SZ_1G);
    x = h.expect(FID.DATA_DESTROY, [r.rd, SZ_1G], RTT, 1);
    expect(x.x2).toBe(1n << 39n);
  });

  it("RAM -> UNASSIGNED/DESTROYED, EMPTY -> UNASSIGNED/EMPTY; the granule is DELEGATED and scrubbed; x1 = PA, x2 = top", () => {
    const { h, r, src, data } = setup();
    h.ok(FID.DATA_CREATE, r.rd, data, 0n, src, 0n); // RAM
    const d2 = h.delegated();
    h.ok(FID.DATA_CREATE_UNKNOWN, r.rd, d2, 8n * G); // EMPTY
    let x = h.ok(FID.DATA_DESTROY, r.rd, 0n);
    expect([x.x1, x.x2]).toEqual([data, 8n * G]);
    expect(h.readEntry(r, 0n, 3)).toEqual({ level: 3n, state: UNASSIGNED, desc: 0n, ripas: DESTROYED });
    expect(h.p.granule(data)).toMatchObject({ state: "DELEGATED", pas: "REALM" });
    x = h.ok(FID.DATA_DESTROY, r.rd, 8n * G);
    expect([x.x1, x.x2]).toEqual([d2, SZ_2M]);
    expect(h.readEntry(r, 8n * G, 3)).toEqual({ level: 3n, state: UNASSIGNED, desc: 0n, ripas: EMPTY });
    // Scrubbed: after UNDELEGATE the NS world reads zeroes where the realm had a copy of src.
    h.ok(FID.GRANULE_UNDELEGATE, data);
    expect(h.p.ns.read(data, 4096).every((b) => b === 0)).toBe(true);
    // A DESTROYED entry cannot take DATA_CREATE_UNKNOWN... it can: it is UNASSIGNED (any RIPAS).
    h.ok(FID.DATA_CREATE_UNKNOWN, r.rd, h.delegated(), 0n);
    expect(h.readEntry(r, 0n, 3).ripas).toBe(DESTROYED);
  });

  it("is allowed in ACTIVE", () => {
    const { h, r, src, data } = setup();
    h.ok(FID.DATA_CREATE, r.rd, data, 0n, src, 0n);
    h.ok(FID.REALM_ACTIVATE, r.rd);
    expect(h.ok(FID.DATA_DESTROY, r.rd, 0n).x1).toBe(data);
  });
});

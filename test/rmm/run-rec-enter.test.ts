/**
 * RMI_REC_ENTER (v1.0): the 11 failure conditions in spec order (rmm-model.md 5.10), and the REC
 * exits of rmm-model.md 8 driven by a realm guest model: data aborts at protected and unprotected
 * IPAs, SEA injection, MMIO emulation, RIPAS change accept/reject/partial, host calls, WFx.
 */
import { describe, expect, it } from "vitest";
import { Pas, type RealmVcpu, type RecEntryInfo } from "../../src/index.js";
import { DRAM_BASE, MMIO_BASE, NS_ATTRS, createRtts, nsPage, type TestRealm } from "./helpers.js";
import {
  EMUL_MMIO,
  G,
  INJECT_SEA,
  RIPAS_RESPONSE_REJECT,
  RMI_EXIT_HOST_CALL,
  RMI_EXIT_IRQ,
  RMI_EXIT_RIPAS_CHANGE,
  RMI_EXIT_SYNC,
  TRAP_WFE,
  TRAP_WFI,
  expectFail,
  readExit,
  realmWithRecs,
  writeEnter,
  createRec,
  type CreatedRec,
  type EnterSpec,
} from "./rec-helpers.js";

type Step = (v: RealmVcpu) => void;

/** A guest that runs, per REC index, the next queued step at each REC_ENTER; records what it saw. */
function scripted(t: TestRealm) {
  const queues = new Map<number, Step[]>();
  const seen: { index: number; entry: RecEntryInfo; pc: bigint; gprs: bigint[] }[] = [];
  t.p.rmm.guest = (v) => {
    seen.push({ index: v.index, entry: v.entry, pc: v.pc, gprs: [...v.gprs] });
    queues.get(v.index)?.shift()?.(v);
  };
  return {
    seen,
    next(index: number, ...steps: Step[]) {
      queues.set(index, [...(queues.get(index) ?? []), ...steps]);
    },
    last: () => seen[seen.length - 1]!,
  };
}

const UNPROT = 1n << 39n; // s2sz 40: the unprotected half starts at 2^39

/**
 * A realm (s2sz 40) prepared in NEW state: L3 table over [0, 2M) with [0, 64K) RIPAS RAM, DATA at
 * 0x1000 and 0x2000 (known contents), an L2 RAM block entry at 4M, an NS page mapped at
 * UNPROT + 2M; two RECs (REC 1 not runnable); ACTIVE.
 */
function prepared(): { t: TestRealm; recs: CreatedRec[]; run: bigint; nsData: bigint; src: bigint } {
  const { t, recs } = realmWithRecs(0, { activate: false });
  const p = t.p;
  createRtts(t, 0n, 3);
  expect(p.rmi.rttInitRipas(t.rd, 0n, 0x10000n)).toMatchObject({ status: "RMI_SUCCESS", top: 0x10000n });
  const src = nsPage(t, 0x11);
  for (const ipa of [0x1000n, 0x2000n]) expect(p.rmi.dataCreate(t.rd, t.delegated(), ipa, src, 0n).status).toBe("RMI_SUCCESS");
  createRtts(t, 0x40_0000n, 2);
  expect(p.rmi.rttInitRipas(t.rd, 0x40_0000n, 0x60_0000n)).toMatchObject({ status: "RMI_SUCCESS", top: 0x60_0000n });
  recs.push(createRec(t, { flags: 1n, pc: 0x8_0000n }), createRec(t, { flags: 0n }));
  expect(p.rmi.realmActivate(t.rd).status).toBe("RMI_SUCCESS");
  createRtts(t, UNPROT + 0x20_0000n, 3);
  const nsData = t.alloc.ns();
  p.ns.writeU64(nsData + 0x18n, 0x1122_3344_5566_7788n);
  expect(p.rmi.rttMapUnprotected(t.rd, UNPROT + 0x20_0000n, 3n, nsData | NS_ATTRS).status).toBe("RMI_SUCCESS");
  const run = t.alloc.ns();
  writeEnter(p, run);
  return { t, recs, run, nsData, src };
}

describe("RMI_REC_ENTER failure conditions in order", () => {
  it("run_ptr, rec, running, run PAS, realm NEW/SYSTEM_OFF, runnable, psci pending, GIC, INJECT_SEA, EMUL_MMIO", () => {
    const { t, recs } = realmWithRecs(3, { activate: false });
    const p = t.p;
    const [r0, r1, r2] = recs.map((r) => r.rec) as [bigint, bigint, bigint];
    const run = t.alloc.ns();
    writeEnter(p, run);
    const enter = (rec: bigint, r = run) => () => p.rmi.recEnter(rec, r);

    // 1 run_ptr: align, bound (MMIO, outside PA, secure), state (delegated) -> INPUT, even when the
    // realm is NEW (which would be REALM)
    expectFail(p, "run unaligned", "RMI_ERROR_INPUT", 0, enter(r0, run + 8n));
    expectFail(p, "run mmio", "RMI_ERROR_INPUT", 0, enter(r0, MMIO_BASE));
    expectFail(p, "run outside PA", "RMI_ERROR_INPUT", 0, enter(r0, 1n << 50n));
    const delegatedRun = t.delegated();
    expectFail(p, "run delegated", "RMI_ERROR_INPUT", 0, enter(r0, delegatedRun));
    // 2 rec: align, bound, state
    expectFail(p, "rec unaligned", "RMI_ERROR_INPUT", 0, enter(r0 + 0x10n));
    expectFail(p, "rec is RD", "RMI_ERROR_INPUT", 0, enter(t.rd));
    expectFail(p, "rec is REC_AUX", "RMI_ERROR_INPUT", 0, enter(recs[0]!.aux[0]!));
    expectFail(p, "rec undelegated", "RMI_ERROR_INPUT", 0, enter(DRAM_BASE));
    // 4 the run page is UNDELEGATED but its PAS is not NS: reading run.enter faults -> INPUT (beats realm NEW)
    const rootRun = t.alloc.ns();
    p.machine.gpt.set(Number(rootRun / G), Pas.ROOT);
    expectFail(p, "run PAS root", "RMI_ERROR_INPUT", 0, enter(r0, rootRun));
    // 5 realm NEW -> REALM index 0, ahead of runnable (REC 1 is not runnable)
    expectFail(p, "realm NEW", "RMI_ERROR_REALM", 0, enter(r0));
    expectFail(p, "realm NEW beats not runnable", "RMI_ERROR_REALM", 0, enter(r1));
    expect(p.rmi.realmActivate(t.rd).status).toBe("RMI_SUCCESS");

    // 7 not runnable -> REC (a bad GIC state as well gives the same status: the order is not observable)
    writeEnter(p, run, { gicv3Hcr: 1n });
    expectFail(p, "not runnable, GIC also bad", "RMI_ERROR_REC", 0, enter(r1));
    writeEnter(p, run);
    expectFail(p, "not runnable", "RMI_ERROR_REC", 0, enter(r2));

    // 3 running: a nested REC_ENTER of the running REC -> REC, ahead of the run PAS check
    const g = scripted(t);
    let nested: unknown[] = [];
    g.next(0, () => {
      nested = [p.rmi.recEnter(r0, run), p.rmi.recEnter(r0, rootRun)];
    });
    expect(p.rmi.recEnter(r0, run).status).toBe("RMI_SUCCESS");
    expect(nested).toEqual([{ status: "RMI_ERROR_REC", index: 0 }, { status: "RMI_ERROR_REC", index: 0 }]);

    // 9 GIC state: only the host-controlled ICH_HCR_EL2 bits, and well-formed valid LRs
    const pending = (intid: bigint) => (1n << 62n) | intid;
    const badGic: [string, EnterSpec][] = [
      ["hcr En", { gicv3Hcr: 1n }],
      ["hcr vSGIEOICount", { gicv3Hcr: 1n << 8n }],
      ["hcr TC", { gicv3Hcr: 1n << 10n }],
      ["hcr EOIcount", { gicv3Hcr: 1n << 27n }],
      ["lr HW", { lrs: [pending(27n) | (1n << 61n)] }],
      ["lr priority RES0 bit", { lrs: [0n, pending(27n) | (1n << 48n)] }],
      ["lr pINTID bit", { lrs: [pending(27n) | (1n << 32n)] }],
      ["lr vINTID 1020", { lrs: [pending(1020n)] }],
      ["lr vINTID above 16 bits", { lrs: [pending(0x1_0000n)] }],
      ["lr duplicate vINTID", { lrs: [pending(40n), 0n, (2n << 62n) | 40n] }],
    ];
    for (const [name, spec] of badGic) {
      writeEnter(p, run, spec);
      expectFail(p, `gic ${name}`, "RMI_ERROR_REC", 0, enter(r0));
    }
    // accepted: all host bits of ICH_HCR_EL2, valid LRs with EOI, an LPI, an Invalid LR with junk
    writeEnter(p, run, { gicv3Hcr: 0xfen | (1n << 14n), lrs: [pending(27n) | (1n << 41n) | (0xa0n << 48n), pending(8192n), (1n << 61n) | 27n] });
    expect(p.rmi.recEnter(r0, run).status).toBe("RMI_SUCCESS");
    const ex = readExit(p, run);
    expect(ex.gicv3Hcr).toBe(0xfen | (1n << 14n));
    expect(ex.lrs.slice(0, 3)).toEqual([pending(27n) | (1n << 41n) | (0xa0n << 48n), pending(8192n), (1n << 61n) | 27n]);

    // 10 INJECT_SEA after an IRQ exit -> REC (ahead of EMUL_MMIO, also invalid)
    writeEnter(p, run, { flags: INJECT_SEA | EMUL_MMIO });
    expectFail(p, "INJECT_SEA after IRQ", "RMI_ERROR_REC", 0, enter(r0));
    // 11 EMUL_MMIO after an IRQ exit -> REC
    writeEnter(p, run, { flags: EMUL_MMIO });
    expectFail(p, "EMUL_MMIO after IRQ", "RMI_ERROR_REC", 0, enter(r0));

    // 8 PSCI pending -> REC (with a bad GIC state too: same status)
    g.next(0, (v) => void v.psci(0xc400_0003n, 2n, 0x1000n, 0n));
    writeEnter(p, run);
    expect(p.rmi.recEnter(r0, run).status).toBe("RMI_SUCCESS");
    writeEnter(p, run, { gicv3Hcr: 1n });
    expectFail(p, "psci pending, GIC also bad", "RMI_ERROR_REC", 0, enter(r0));
    writeEnter(p, run);
    expectFail(p, "psci pending", "RMI_ERROR_REC", 0, enter(r0));
    expect(p.rmi.psciComplete(r0, r2, 0n).status).toBe("RMI_SUCCESS");

    // 6 SYSTEM_OFF -> REALM index 1 for every REC, ahead of not runnable
    g.next(2, (v) => void v.psci(0x8400_0008n));
    expect(p.rmi.recEnter(r2, run).status).toBe("RMI_SUCCESS");
    expect(readExit(p, run).gprs[0]).toBe(0x8400_0008n);
    expect(p.granule(t.rd).realmState).toBe("SYSTEM_OFF");
    expectFail(p, "SYSTEM_OFF", "RMI_ERROR_REALM", 1, enter(r0));
    expectFail(p, "SYSTEM_OFF beats not runnable", "RMI_ERROR_REALM", 1, enter(r1));
    // ... while the run/rec checks still come first
    expectFail(p, "run check beats SYSTEM_OFF", "RMI_ERROR_INPUT", 0, enter(r0, run + 8n));
  });
});

describe("REC exits", () => {
  it("no guest: RMI_EXIT_IRQ with every other exit field zero", () => {
    const { t, recs, run } = prepared();
    const p = t.p;
    p.ns.write(run + 0x800n, new Uint8Array(0x800).fill(0xee));
    expect(p.rmi.recEnter(recs[0]!.rec, run)).toEqual({ status: "RMI_SUCCESS", index: 0 });
    const e = readExit(p, run);
    expect(e.exitReason).toBe(RMI_EXIT_IRQ);
    expect([e.esr, e.far, e.hpfar, e.imm, e.ripasBase, e.ripasTop]).toEqual([0n, 0n, 0n, 0n, 0n, 0n]);
    expect(e.gprs.every((x) => x === 0n)).toBe(true);
    expect(p.granule(recs[0]!.rec).refcount).toBe(0);
    expect(t.realm.runningRecs).toBe(0);
  });

  it("protected IPAs: RAM data is accessed, RIPAS EMPTY gets an SEA, unassigned RAM exits non-emulatable", () => {
    const { t, recs, run, src } = prepared();
    const p = t.p;
    const rec = recs[0]!.rec;
    const g = scripted(t);
    const out: unknown[] = [];
    g.next(0, (v) => {
      out.push(v.access(0x1008n, "read", 0n, { rt: 3 }), v.gprs[3]);
      out.push(v.access(0x2010n, "write", 0xabcdn, { size: 2, rt: 4 }), v.access(0x2010n, "read", 0n, { size: 2, rt: 5 }), v.gprs[5]);
      out.push(v.access(0x1_0000n, "read"), v.access(0x4000_0000n, "write", 1n), v.access(1n << 41n, "read"), v.access(0x3000n, "exec"));
      expect(() => v.access(0x1000n, "read")).toThrow(/already exited/);
    });
    expect(p.rmi.recEnter(rec, run).status).toBe("RMI_SUCCESS");
    const srcBytes = p.ns.read(src + 8n, 8);
    const expected = new DataView(srcBytes.buffer, srcBytes.byteOffset).getBigUint64(0, true);
    expect(out.slice(0, 5)).toEqual(["ok", expected, "ok", "ok", 0xabcdn]);
    // EMPTY (L3 entry), EMPTY (L1 root entry), outside the IPA space: SEA, no exit. The fetch from
    // 0x3000 (unassigned RAM) exits.
    expect(out.slice(5, 9)).toEqual(["sea", "sea", "sea", "exit"]);
    let e = readExit(p, run);
    expect(e.exitReason).toBe(RMI_EXIT_SYNC);
    expect(e.esr).toBe((0x20n << 26n) | 0x07n); // IABT lower EL, translation fault level 3
    expect([e.far, e.hpfar]).toEqual([0n, 0x30n]);

    // the write to 0x3000 (next run): DABT, only EC and FSC reported, far 0, no value in gprs[0]
    g.next(0, (v) => void out.push(v.access(0x3000n, "write", 0x99n, { rt: 7 })));
    expect(p.rmi.recEnter(rec, run).status).toBe("RMI_SUCCESS");
    e = readExit(p, run);
    expect(e.esr).toBe((0x24n << 26n) | 0x07n);
    expect([e.far, e.hpfar, e.gprs[0]]).toEqual([0n, 0x30n, 0n]);
    // the host can neither emulate nor inject an SEA for a protected IPA
    writeEnter(p, run, { flags: EMUL_MMIO, gprs: [5n] });
    expectFail(p, "EMUL_MMIO after protected abort", "RMI_ERROR_REC", 0, () => p.rmi.recEnter(rec, run));
    writeEnter(p, run, { flags: INJECT_SEA });
    expectFail(p, "INJECT_SEA after protected abort", "RMI_ERROR_REC", 0, () => p.rmi.recEnter(rec, run));

    // a RAM block entry at level 2 (no L3 table): translation fault level 2; a DESTROYED page exits too
    expect(p.rmi.dataDestroy(t.rd, 0x2000n).status).toBe("RMI_SUCCESS");
    g.next(0, (v) => void out.push(v.access(0x40_1000n, "read")), (v) => void out.push(v.access(0x2000n, "read")));
    writeEnter(p, run);
    expect(p.rmi.recEnter(rec, run).status).toBe("RMI_SUCCESS");
    expect(readExit(p, run)).toMatchObject({ exitReason: RMI_EXIT_SYNC, esr: (0x24n << 26n) | 0x06n, far: 0n, hpfar: 0x40_1000n >> 8n });
    expect(p.rmi.recEnter(rec, run).status).toBe("RMI_SUCCESS");
    expect(readExit(p, run)).toMatchObject({ exitReason: RMI_EXIT_SYNC, esr: (0x24n << 26n) | 0x07n, hpfar: 0x20n });
    // the vCPU saw where it came from
    expect(g.last().entry.from).toBe("abort");
    expect(g.last().entry.mmioCompleted).toBe(false);
  });

  it("unprotected IPAs: emulatable aborts, MMIO read/write emulation, SEA injection, NS data, no execution", () => {
    const { t, recs, run } = prepared();
    const p = t.p;
    const rec = recs[0]!.rec;
    const g = scripted(t);
    const out: unknown[] = [];
    const mmio = UNPROT + 0x3008n;
    // a 4-byte store from w9 to an unmapped unprotected IPA
    g.next(0, (v) => {
      out.push(v.access(UNPROT + 0x20_0018n, "read", 0n, { rt: 2 }), v.gprs[2], v.access(UNPROT + 0x1000n, "exec"));
      out.push(v.access(mmio, "write", 0xdead_beef_1234n, { size: 4, rt: 9, va: 0xffff_8000_1234_5008n }));
    });
    expect(p.rmi.recEnter(rec, run).status).toBe("RMI_SUCCESS");
    expect(out).toEqual(["ok", 0x1122_3344_5566_7788n, "sea", "exit"]);
    let e = readExit(p, run);
    // DABT | ISV | SAS=2 (word) | WnR | FSC translation level 2 (the L2 table over UNPROT exists, its entry does not); no SRT, no SF
    expect(e.esr).toBe((0x24n << 26n) | (1n << 24n) | (2n << 22n) | (1n << 6n) | 0x06n);
    expect(e.far).toBe(0xffff_8000_1234_5000n);
    expect(e.hpfar).toBe(mmio >> 12n << 4n);
    expect(e.gprs[0]).toBe(0xbeef_1234n);
    expect(e.gprs.slice(1).every((x) => x === 0n)).toBe(true);
    const pcAfterStore = p.rmm.recs.get(Number(rec / G))!.pc;

    // EMUL_MMIO completes the store: PC moves on by 4
    writeEnter(p, run, { flags: EMUL_MMIO });
    g.next(0, (v) => void out.push(v.access(mmio, "read", 0n, { size: 2, rt: 5 })));
    expect(p.rmi.recEnter(rec, run).status).toBe("RMI_SUCCESS");
    expect(g.last().entry).toMatchObject({ from: "abort", mmioCompleted: true, seaInjected: false });
    expect(g.last().pc).toBe(pcAfterStore + 4n);
    e = readExit(p, run);
    expect(e.esr).toBe((0x24n << 26n) | (1n << 24n) | (1n << 22n) | 0x06n); // a halfword load
    expect(e.gprs[0]).toBe(0n);

    // EMUL_MMIO completes the load: enter.gprs[0], masked to 16 bits, lands in x5
    writeEnter(p, run, { flags: EMUL_MMIO, gprs: [0x1234_5678_9abc_def0n] });
    g.next(0, (v) => void out.push(v.access(mmio, "read", 0n, { rt: 6 })));
    expect(p.rmi.recEnter(rec, run).status).toBe("RMI_SUCCESS");
    expect(g.last().entry.mmioValue).toBe(0xdef0n);
    expect(g.last().gprs[5]).toBe(0xdef0n);
    expect(readExit(p, run).esr).toBe((0x24n << 26n) | (1n << 24n) | (3n << 22n) | (1n << 15n) | 0x06n); // x-register load: SF

    // INJECT_SEA (with EMUL_MMIO also set: ignored) -> the access does not complete
    writeEnter(p, run, { flags: INJECT_SEA | EMUL_MMIO, gprs: [7n] });
    const before = g.last().gprs[6];
    expect(p.rmi.recEnter(rec, run).status).toBe("RMI_SUCCESS");
    expect(g.last().entry).toMatchObject({ seaInjected: true, mmioCompleted: false });
    expect(g.last().gprs[6]).toBe(before);
    expect(readExit(p, run).exitReason).toBe(RMI_EXIT_IRQ);

    // a read-only NS mapping: a store is a permission fault (level 3), emulatable
    const ro = t.alloc.ns();
    expect(p.rmi.rttMapUnprotected(t.rd, UNPROT + 0x20_1000n, 3n, ro | 0x18n | 0x40n).status).toBe("RMI_SUCCESS");
    writeEnter(p, run);
    g.next(0, (v) => void out.push(v.access(UNPROT + 0x20_1000n, "read"), v.access(UNPROT + 0x20_1000n, "write", 3n)));
    expect(p.rmi.recEnter(rec, run).status).toBe("RMI_SUCCESS");
    expect(out.slice(-2)).toEqual(["ok", "exit"]);
    expect(readExit(p, run).esr).toBe((0x24n << 26n) | (1n << 24n) | (3n << 22n) | (1n << 15n) | (1n << 6n) | 0x0fn);
  });

  it("EMUL_MMIO of a sign-extending load: the value is sign-extended (ESR.SSE) and cut to 32 bits for a W register (!ESR.SF)", () => {
    // TF-RMM rel0 run.c complete_mmio_emulation: val = gprs[0] & access mask; SSE -> sign extend;
    // !SF -> keep the low 32 bits
    const { t, recs, run } = prepared();
    const p = t.p;
    const rec = recs[0]!.rec;
    const g = scripted(t);
    const mmio = UNPROT + 0x3000n;
    const cases: [{ size: 1 | 2 | 4; signed: boolean; sf: boolean }, bigint, bigint][] = [
      [{ size: 2, signed: true, sf: true }, 0xffff_0000_0000_8001n, 0xffff_ffff_ffff_8001n], // LDRSH Xt
      [{ size: 2, signed: true, sf: false }, 0x8001n, 0xffff_8001n], // LDRSH Wt
      [{ size: 1, signed: true, sf: true }, 0x7fn, 0x7fn], // LDRSB Xt of a positive byte
      [{ size: 4, signed: true, sf: true }, 0x1_8000_0000n, 0xffff_ffff_8000_0000n], // LDRSW
      [{ size: 2, signed: false, sf: false }, 0xffff_8001n, 0x8001n], // LDRH Wt: no extension
    ];
    g.next(0, (v) => void v.access(mmio, "read", 0n, { ...cases[0]![0], rt: 4 }));
    expect(p.rmi.recEnter(rec, run).status).toBe("RMI_SUCCESS");
    for (let i = 0; i < cases.length; i++) {
      const [, hostValue, expected] = cases[i]!;
      writeEnter(p, run, { flags: EMUL_MMIO, gprs: [hostValue] });
      const nextCase = cases[i + 1];
      g.next(0, (v) => void (nextCase === undefined ? v.irq() : v.access(mmio, "read", 0n, { ...nextCase[0], rt: 4 })));
      expect(p.rmi.recEnter(rec, run).status).toBe("RMI_SUCCESS");
      expect(g.last().gprs[4], `case ${i}`).toBe(expected);
      expect(g.last().entry.mmioValue, `case ${i}`).toBe(expected);
    }
  });

  it("RIPAS change: invalid requests answered in place; accept, reject, partial progress through RTT_SET_RIPAS", () => {
    const { t, recs, run } = prepared();
    const p = t.p;
    const rec = recs[0]!.rec;
    const g = scripted(t);
    const rsi: unknown[] = [];
    // invalid: unaligned, top <= base, ripas DESTROYED, range leaving the PAR
    g.next(0, (v) => {
      rsi.push(v.ipaStateSet(0x10_0100n, 0x10_2000n, 1), v.ipaStateSet(0x10_2000n, 0x10_2000n, 1), v.ipaStateSet(0x10_0000n, 0x10_1000n, 2));
      rsi.push(v.ipaStateSet(UNPROT - 0x1000n, UNPROT + 0x1000n, 0), v.gprs[0]);
    });
    expect(p.rmi.recEnter(rec, run).status).toBe("RMI_SUCCESS");
    expect(rsi).toEqual([1n, 1n, 1n, 1n, 1n]);
    expect(readExit(p, run).exitReason).toBe(RMI_EXIT_IRQ);

    // a 12 KiB RAM request over RIPAS EMPTY pages
    const ask = (base: bigint, top: bigint, ripas: number, flags = 0n) => g.next(0, (v) => void v.ipaStateSet(base, top, ripas, flags));
    ask(0x10_0000n, 0x10_3000n, 1);
    expect(p.rmi.recEnter(rec, run).status).toBe("RMI_SUCCESS");
    let e = readExit(p, run);
    expect([e.exitReason, e.ripasBase, e.ripasTop, e.ripasValue]).toEqual([RMI_EXIT_RIPAS_CHANGE, 0x10_0000n, 0x10_3000n, 1]);
    // the host changes only the first 4 KiB, then rejects: x1 = base + 4K, x2 = REJECT
    expect(p.rmi.rttSetRipas(t.rd, rec, 0x10_0000n, 0x10_1000n)).toMatchObject({ status: "RMI_SUCCESS", top: 0x10_1000n });
    expect(p.rmi.rttReadEntry(t.rd, 0x10_0000n, 3n).ripas).toBe(1n);
    writeEnter(p, run, { flags: RIPAS_RESPONSE_REJECT });
    expect(p.rmi.recEnter(rec, run).status).toBe("RMI_SUCCESS");
    expect(g.last().entry.rsiResult).toEqual({ x0: 0n, x1: 0x10_1000n, x2: 1n });
    expect(g.last().gprs.slice(0, 3)).toEqual([0n, 0x10_1000n, 1n]);
    // the request is gone: SET_RIPAS now fails
    expect(p.rmi.rttSetRipas(t.rd, rec, 0x10_1000n, 0x10_2000n).status).toBe("RMI_ERROR_INPUT");

    // the same with ACCEPT (no flag): x2 = ACCEPT even though not complete; nothing done: x1 = base
    ask(0x10_1000n, 0x10_3000n, 1);
    writeEnter(p, run);
    p.rmi.recEnter(rec, run);
    p.rmi.recEnter(rec, run);
    expect(g.last().entry.rsiResult).toEqual({ x0: 0n, x1: 0x10_1000n, x2: 0n });

    // complete request with REJECT set: x2 = ACCEPT (only an incomplete RAM request can be rejected)
    ask(0x10_1000n, 0x10_3000n, 1);
    p.rmi.recEnter(rec, run);
    expect(p.rmi.rttSetRipas(t.rd, rec, 0x10_1000n, 0x10_3000n)).toMatchObject({ status: "RMI_SUCCESS", top: 0x10_3000n });
    writeEnter(p, run, { flags: RIPAS_RESPONSE_REJECT });
    p.rmi.recEnter(rec, run);
    expect(g.last().entry.rsiResult).toEqual({ x0: 0n, x1: 0x10_3000n, x2: 0n });

    // an EMPTY request left incomplete with REJECT: still ACCEPT
    ask(0x10_0000n, 0x10_2000n, 0);
    writeEnter(p, run);
    p.rmi.recEnter(rec, run);
    writeEnter(p, run, { flags: RIPAS_RESPONSE_REJECT });
    p.rmi.recEnter(rec, run);
    expect(g.last().entry.rsiResult).toEqual({ x0: 0n, x1: 0x10_0000n, x2: 0n });

    // the host may not touch a DESTROYED page unless the realm asked with CHANGE_DESTROYED
    expect(p.rmi.dataDestroy(t.rd, 0x1000n).status).toBe("RMI_SUCCESS");
    ask(0x1000n, 0x2000n, 1);
    writeEnter(p, run);
    p.rmi.recEnter(rec, run);
    expect(p.rmi.rttSetRipas(t.rd, rec, 0x1000n, 0x2000n)).toMatchObject({ status: "RMI_ERROR_RTT", index: 3 });
    ask(0x1000n, 0x2000n, 1, 1n);
    p.rmi.recEnter(rec, run);
    expect(p.rmi.rttSetRipas(t.rd, rec, 0x1000n, 0x2000n)).toMatchObject({ status: "RMI_SUCCESS", top: 0x2000n });
  });

  it("host call and WFI/WFE", () => {
    const { t, recs, run } = prepared();
    const p = t.p;
    const rec = recs[0]!.rec;
    const g = scripted(t);
    g.next(0, (v) => void v.hostCall(0x42, [1n, 2n, 3n]));
    expect(p.rmi.recEnter(rec, run).status).toBe("RMI_SUCCESS");
    let e = readExit(p, run);
    expect([e.exitReason, e.imm, ...e.gprs.slice(0, 4)]).toEqual([RMI_EXIT_HOST_CALL, 0x42n, 1n, 2n, 3n, 0n]);
    writeEnter(p, run, { gprs: [9n, 8n, 7n] });
    g.next(0, (v) => void v.wfi());
    expect(p.rmi.recEnter(rec, run).status).toBe("RMI_SUCCESS");
    expect(g.last().entry.hostCallGprs!.slice(0, 4)).toEqual([9n, 8n, 7n, 0n]);
    expect(g.last().gprs[0]).toBe(0n); // RSI_SUCCESS
    expect(readExit(p, run).exitReason).toBe(RMI_EXIT_IRQ); // WFI not trapped
    writeEnter(p, run, { flags: TRAP_WFI | TRAP_WFE });
    g.next(0, (v) => void v.wfi(), (v) => void v.wfe());
    p.rmi.recEnter(rec, run);
    e = readExit(p, run);
    expect([e.exitReason, e.esr]).toEqual([RMI_EXIT_SYNC, 0x01n << 26n]);
    p.rmi.recEnter(rec, run);
    expect(readExit(p, run).esr).toBe((0x01n << 26n) | 1n);
    // a WFx exit is not a data abort
    writeEnter(p, run, { flags: INJECT_SEA });
    expectFail(p, "INJECT_SEA after WFE", "RMI_ERROR_REC", 0, () => p.rmi.recEnter(rec, run));
  });
});

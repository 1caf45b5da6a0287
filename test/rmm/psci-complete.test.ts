/**
 * Realm PSCI through REC_ENTER (rmm-model.md 8.4) and RMI_PSCI_COMPLETE: the 8 failure conditions
 * in spec order (rmm-model.md 5.11) and the completion effects.
 */
import { describe, expect, it } from "vitest";
import type { RealmVcpu, RecEntryInfo } from "../../src/index.js";
import { makeRealm } from "./helpers.js";
import { G, RMI_EXIT_PSCI, createRec, expectFail, readExit, realmWithRecs, writeEnter } from "./rec-helpers.js";

const CPU_ON = 0xc400_0003n;
const CPU_ON_32 = 0x8400_0003n;
const CPU_OFF = 0x8400_0002n;
const AFFINITY_INFO = 0xc400_0004n;
const SYSTEM_RESET = 0x8400_0009n;
const u64 = (x: bigint) => BigInt.asUintN(64, x);
const SUCCESS = 0n;
const DENIED = u64(-3n);
const ALREADY_ON = u64(-4n);

function guest(p: { rmm: { guest: unknown } }) {
  const queues = new Map<number, ((v: RealmVcpu) => void)[]>();
  const seen: { index: number; entry: RecEntryInfo; pc: bigint; gprs: bigint[] }[] = [];
  (p.rmm as { guest: (v: RealmVcpu) => void }).guest = (v) => {
    seen.push({ index: v.index, entry: v.entry, pc: v.pc, gprs: [...v.gprs] });
    queues.get(v.index)?.shift()?.(v);
  };
  return {
    seen,
    next: (i: number, f: (v: RealmVcpu) => void) => queues.set(i, [...(queues.get(i) ?? []), f]),
    last: (i: number) => [...seen].reverse().find((s) => s.index === i)!,
  };
}

describe("realm PSCI calls", () => {
  it("answers VERSION, FEATURES and bad CPU_ON/AFFINITY_INFO in place", () => {
    const { t, recs } = realmWithRecs(2);
    const p = t.p;
    const run = t.alloc.ns();
    writeEnter(p, run);
    const g = guest(p);
    const r: unknown[] = [];
    g.next(0, (v) => {
      r.push(v.psci(0x8400_0000n)); // VERSION 1.1
      r.push(v.psci(0x8400_000an, CPU_ON), v.psci(0x8400_000an, 0x8400_0005n)); // FEATURES
      r.push(v.psci(CPU_ON, 1n, 1n << 39n, 0n)); // entry point not in the PAR
      r.push(v.psci(CPU_ON, 2n, 0x1000n, 0n)); // no REC 2
      r.push(v.psci(CPU_ON, 0x8000_0000n, 0x1000n, 0n)); // itself (bit 31 of MPIDR_EL1 ignored)
      r.push(v.psci(AFFINITY_INFO, 1n, 1n), v.psci(AFFINITY_INFO, 0n, 0n), v.psci(AFFINITY_INFO, 0x100n, 0n));
      r.push(v.psci(AFFINITY_INFO, 0x10n, 0n)); // Aff0[7:4] is not part of the REC index: itself, ON
      r.push(v.psci(0x8400_0005n)); // MIGRATE: not supported
      r.push(v.gprs.slice(0, 4));
    });
    expect(p.rmi.recEnter(recs[0]!.rec, run).status).toBe("RMI_SUCCESS");
    expect(r).toEqual([0x1_0001n, 0n, u64(-1n), u64(-9n), u64(-2n), ALREADY_ON, u64(-2n), 0n, u64(-2n), 0n, u64(-1n), [u64(-1n), 0n, 0n, 0n]]);
    expect(readExit(p, run).exitReason).toBe(1n); // no exit until the guest stopped: IRQ
    expect(() => g.next(0, (v) => void v.psci(0x1234n))).not.toThrow();
    expect(() => p.rmi.recEnter(recs[0]!.rec, run)).toThrow(/not a PSCI function ID/);
    expect(p.granule(recs[0]!.rec).refcount).toBe(0);
  });

  it("CPU_ON completed by PSCI_COMPLETE starts the target at the entry point; CPU_OFF, AFFINITY_INFO, SYSTEM_RESET", () => {
    const { t, recs } = realmWithRecs(2);
    const p = t.p;
    const [r0, r1] = recs.map((r) => r.rec) as [bigint, bigint];
    const run = t.alloc.ns();
    writeEnter(p, run);
    const g = guest(p);
    g.next(0, (v) => void v.psci(CPU_ON, 1n, 0x4_0000n, 0x77n));
    expect(p.rmi.recEnter(r0, run).status).toBe("RMI_SUCCESS");
    const e = readExit(p, run);
    expect(e.exitReason).toBe(RMI_EXIT_PSCI);
    // the FID and the target MPIDR are forwarded; nothing else
    expect(e.gprs.slice(0, 4)).toEqual([CPU_ON, 1n, 0n, 0n]);
    expect(p.rmi.recEnter(r0, run).status).toBe("RMI_ERROR_REC"); // pending
    expect(p.rmi.recEnter(r1, run).status).toBe("RMI_ERROR_REC"); // not runnable yet
    expect(p.rmi.psciComplete(r0, r1, SUCCESS)).toEqual({ status: "RMI_SUCCESS", index: 0 });
    expect(p.rmi.psciComplete(r0, r1, SUCCESS).status).toBe("RMI_ERROR_INPUT"); // no longer pending
    expect(p.rmi.recEnter(r1, run).status).toBe("RMI_SUCCESS");
    expect(g.last(1)).toMatchObject({ pc: 0x4_0000n, entry: { from: "reset" } });
    expect(g.last(1).gprs[0]).toBe(0x77n);
    expect(p.rmi.recEnter(r0, run).status).toBe("RMI_SUCCESS");
    expect(g.last(0).entry).toMatchObject({ from: "psci", psciResult: SUCCESS });
    expect(g.last(0).gprs.slice(0, 4)).toEqual([SUCCESS, 0n, 0n, 0n]);

    // CPU_ON of a REC that is on: the host says SUCCESS, the realm gets ALREADY_ON
    g.next(0, (v) => void v.psci(CPU_ON_32, 1n, 0x4_0000n, 0n));
    p.rmi.recEnter(r0, run);
    expect(p.rmi.psciComplete(r0, r1, SUCCESS).status).toBe("RMI_SUCCESS");
    p.rmi.recEnter(r0, run);
    expect(g.last(0).entry.psciResult).toBe(ALREADY_ON);

    // AFFINITY_INFO: ON while REC 1 is runnable
    g.next(0, (v) => void v.psci(AFFINITY_INFO, 1n, 0n));
    p.rmi.recEnter(r0, run);
    expect(readExit(p, run).gprs.slice(0, 3)).toEqual([AFFINITY_INFO, 1n, 0n]);
    expect(p.rmi.psciComplete(r0, r1, SUCCESS).status).toBe("RMI_SUCCESS");
    p.rmi.recEnter(r0, run);
    expect(g.last(0).entry.psciResult).toBe(0n);

    // CPU_OFF: REC 1 stops being runnable (exit PSCI, x0 = SUCCESS already)
    g.next(1, (v) => void v.psci(CPU_OFF));
    expect(p.rmi.recEnter(r1, run).status).toBe("RMI_SUCCESS");
    expect(readExit(p, run).gprs.slice(0, 2)).toEqual([CPU_OFF, 0n]);
    expect(p.rmi.recEnter(r1, run).status).toBe("RMI_ERROR_REC");
    g.next(0, (v) => void v.psci(AFFINITY_INFO, 1n, 0n));
    p.rmi.recEnter(r0, run);
    p.rmi.psciComplete(r0, r1, SUCCESS);
    p.rmi.recEnter(r0, run);
    expect(g.last(0).entry.psciResult).toBe(1n); // OFF

    // CPU_ON denied by the host for an off target: the realm gets DENIED; REC 1 stays off
    g.next(0, (v) => void v.psci(CPU_ON, 1n, 0x5_0000n, 0n));
    p.rmi.recEnter(r0, run);
    expect(p.rmi.psciComplete(r0, r1, DENIED).status).toBe("RMI_SUCCESS");
    p.rmi.recEnter(r0, run);
    expect(g.last(0).entry.psciResult).toBe(DENIED);
    expect(p.rmi.recEnter(r1, run).status).toBe("RMI_ERROR_REC");

    // SYSTEM_RESET: the realm is SYSTEM_OFF; every REC_ENTER now fails with REALM index 1
    g.next(0, (v) => void v.psci(SYSTEM_RESET));
    expect(p.rmi.recEnter(r0, run).status).toBe("RMI_SUCCESS");
    expect(readExit(p, run).gprs.slice(0, 2)).toEqual([SYSTEM_RESET, 0n]);
    expect(p.rmi.recEnter(r0, run)).toEqual({ status: "RMI_ERROR_REALM", index: 1 });
    expect(p.rmm.trace.lines(1)[0]).toMatch(/^SMC_RMI_REC_ENTER [0-9a-f]+ [0-9a-f]+ > RMI_ERROR_REALM 1$/);
  });
});

describe("RMI_PSCI_COMPLETE failure conditions in order", () => {
  it("alignment, REC granules, running, pending, owner, target, status, DENIED for an on target", () => {
    const { t, recs } = realmWithRecs(3);
    const p = t.p;
    const [r0, r1, r2] = recs.map((r) => r.rec) as [bigint, bigint, bigint];
    // a second realm with its own REC
    const other = makeRealm({ p, alloc: t.alloc, vmid: 2 });
    const o0 = createRec(other).rec;
    const run = t.alloc.ns();
    writeEnter(p, run);
    const g = guest(p);
    const complete = (c: bigint, tg: bigint, s = SUCCESS) => () => p.rmi.psciComplete(c, tg, s);

    // 4 pending is checked before owner/target: with no request pending, a foreign target is INPUT anyway
    // 1 alignment
    expectFail(p, "calling unaligned", "RMI_ERROR_INPUT", 0, complete(r0 + 8n, r1));
    expectFail(p, "target unaligned", "RMI_ERROR_INPUT", 0, complete(r0, r1 + 8n));
    // 2 both REC granules, not the same one
    expectFail(p, "calling == target", "RMI_ERROR_INPUT", 0, complete(r0, r0));
    expectFail(p, "calling is RD", "RMI_ERROR_INPUT", 0, complete(t.rd, r1));
    expectFail(p, "target is REC_AUX", "RMI_ERROR_INPUT", 0, complete(r0, recs[1]!.aux[0]!));
    expectFail(p, "target outside PA", "RMI_ERROR_INPUT", 0, complete(r0, 1n << 48n));
    // 3 calling running (from inside its own run; it cannot have a request pending then)
    let inside: unknown;
    g.next(0, () => void (inside = p.rmi.psciComplete(r0, r1, SUCCESS)));
    p.rmi.recEnter(r0, run);
    expect(inside).toEqual({ status: "RMI_ERROR_INPUT", index: 0 });
    // 4 no request pending
    expectFail(p, "not pending", "RMI_ERROR_INPUT", 0, complete(r0, r1));

    // REC 0 asks to turn on REC 1
    g.next(0, (v) => void v.psci(CPU_ON, 1n, 0x1000n, 0x5n));
    p.rmi.recEnter(r0, run);
    // 5 owner: a REC of another realm
    expectFail(p, "target in another realm", "RMI_ERROR_INPUT", 0, complete(r0, o0));
    // 6 target: not the REC the request named
    expectFail(p, "wrong target", "RMI_ERROR_INPUT", 0, complete(r0, r2));
    // 7 status: CPU_ON takes SUCCESS or DENIED only
    for (const s of [1n, u64(-1n), u64(-2n), ALREADY_ON]) expectFail(p, `CPU_ON status ${s}`, "RMI_ERROR_INPUT", 0, complete(r0, r1, s));
    expect(p.rmi.psciComplete(r0, r1, SUCCESS).status).toBe("RMI_SUCCESS");
    expect(p.granule(r1).refcount).toBe(0);

    // 8 DENIED for a target that is on (REC 1 is runnable now) -> INPUT, nothing changes
    g.next(0, (v) => void v.psci(CPU_ON, 1n, 0x1000n, 0x5n));
    p.rmi.recEnter(r0, run);
    expectFail(p, "DENIED while target on", "RMI_ERROR_INPUT", 0, complete(r0, r1, DENIED));
    expect(p.rmi.psciComplete(r0, r1, SUCCESS).status).toBe("RMI_SUCCESS");
    p.rmi.recEnter(r0, run);
    expect(g.last(0).entry.psciResult).toBe(ALREADY_ON);

    // 8 also when the target is running: REC 1's vCPU completes REC 0's request about itself
    g.next(0, (v) => void v.psci(CPU_ON, 1n, 0x1000n, 0n));
    p.rmi.recEnter(r0, run);
    let fromTarget: unknown[] = [];
    g.next(1, () => void (fromTarget = [p.rmi.psciComplete(r0, r1, DENIED), p.rmi.psciComplete(r0, r1, SUCCESS)]));
    p.rmi.recEnter(r1, run);
    expect(fromTarget).toEqual([{ status: "RMI_ERROR_INPUT", index: 0 }, { status: "RMI_SUCCESS", index: 0 }]);

    // 7 AFFINITY_INFO accepts only SUCCESS
    g.next(0, (v) => void v.psci(AFFINITY_INFO, 2n, 0n));
    p.rmi.recEnter(r0, run);
    expectFail(p, "AFFINITY_INFO DENIED", "RMI_ERROR_INPUT", 0, complete(r0, r2, DENIED));
    expect(p.rmi.psciComplete(r0, r2, SUCCESS).status).toBe("RMI_SUCCESS");
    expect(Number(r2 / G)).toBeGreaterThan(0);
  });
});

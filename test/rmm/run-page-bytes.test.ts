/**
 * RmiRecRun through NS memory, byte for byte (issue 7: REC_ENTER reads run.enter and writes
 * run.exit in place, storing only the non-zero fields). Whatever the run page held before, the
 * exit half after REC_ENTER must be exactly the spec layout of the exit (every other byte zero),
 * and values that only have high-word bits must survive both directions.
 */
import { describe, expect, it } from "vitest";
import type { RealmVcpu } from "../../src/index.js";
import { realmWithRecs, writeEnter, EXIT } from "./rec-helpers.js";

/** The expected 2 KiB exit half, built field by field from the spec offsets (relative to 0x800). */
function expectedExit(f: { reason: bigint; gprs?: bigint[]; hcr?: bigint; lrs?: bigint[]; imm?: bigint }): Uint8Array {
  const b = new Uint8Array(0x800);
  const v = new DataView(b.buffer);
  v.setBigUint64(0x000, f.reason, true);
  (f.gprs ?? []).forEach((x, i) => v.setBigUint64(0x200 + 8 * i, x, true));
  v.setBigUint64(0x300, f.hcr ?? 0n, true);
  (f.lrs ?? []).forEach((x, i) => v.setBigUint64(0x308 + 8 * i, x, true));
  v.setBigUint64(0x600, f.imm ?? 0n, true);
  return b;
}

describe("RmiRecRun bytes through REC_ENTER", () => {
  it("overwrites a dirty exit half with exactly the exit's fields; enter GPRs and GIC state round-trip at full width", () => {
    const { t, recs } = realmWithRecs(1);
    const p = t.p;
    const rec = recs[0]!.rec;
    const run = t.alloc.ns();
    const seen: RealmVcpu["entry"][] = [];
    let step = 0;
    p.rmm.guest = (v) => {
      seen.push(v.entry);
      // 1st entry: a host call whose GPRs have only high-word bits, only low-word bits, all bits
      if (step++ === 0) v.hostCall(0xbeef, [0x1_0000_0000n, 0xffff_ffffn, 0xffff_ffff_ffff_ffffn, 0n, 0x8000_0000_0000_0000n]);
    };
    // a valid LR (Pending, Group1, priority 0xa0, vINTID 27), UIE in HCR; garbage in the exit half
    const lr = (1n << 62n) | (1n << 60n) | (0xa0n << 48n) | 27n;
    writeEnter(p, run, { gicv3Hcr: 0x2n, lrs: [0n, lr] });
    p.ns.write(run + BigInt(EXIT), new Uint8Array(0x800).fill(0x5a));
    const enterBefore = p.ns.read(run, 0x800);
    expect(p.rmi.recEnter(rec, run).status).toBe("RMI_SUCCESS");
    expect(p.ns.read(run, 0x800)).toEqual(enterBefore); // the RMM never writes run.enter
    const gprs = [0x1_0000_0000n, 0xffff_ffffn, 0xffff_ffff_ffff_ffffn, 0n, 0x8000_0000_0000_0000n];
    expect(p.ns.read(run + BigInt(EXIT), 0x800)).toEqual(expectedExit({ reason: 5n, gprs, hcr: 0x2n, lrs: [0n, lr], imm: 0xbeefn }));
    expect(p.rmm.recs.get(Number(rec) / 4096)!.gic.lrs.slice(0, 2)).toEqual([0n, lr]);

    // 2nd entry: the host's answer to the call, with high-word-only and all-ones registers
    const answer = [0x2_0000_0000n, 0n, 0xffff_ffff_ffff_ffffn, 0xffff_ffff_0000_0000n];
    writeEnter(p, run, { gprs: answer });
    p.ns.write(run + BigInt(EXIT), new Uint8Array(0x800).fill(0xff));
    expect(p.rmi.recEnter(rec, run).status).toBe("RMI_SUCCESS");
    expect(seen[1]!.hostCallGprs!.slice(0, 5)).toEqual([...answer, 0n]);
    expect(seen[1]!.hostCallGprs!.length).toBe(31);
    // no exit from the guest: RMI_EXIT_IRQ, the LRs now all zero (the host wrote none)
    expect(p.ns.read(run + BigInt(EXIT), 0x800)).toEqual(expectedExit({ reason: 1n }));
  });
});

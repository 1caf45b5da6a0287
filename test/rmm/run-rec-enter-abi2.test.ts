/**
 * RMI_REC_ENTER under RMM 2.0: the run page has no GIC fields (TF-RMM main smc-rmi.h: rmi_rec_enter
 * is flags @0x0 and gprs @0x200 only; rmi_rec_exit has rtt_tree @0x118 and rtt_level @0x120 and
 * no gicv3_*), so whatever the host leaves at enter+0x300 is neither checked nor copied, and the
 * exit's 0x300..0x3ff stays zero. Under 1.0 the same bytes are the GIC state and are checked.
 */
import { describe, expect, it } from "vitest";
import { REC_RUN } from "../../src/rmm/abi/rec-params.js";
import { DRAM, G, POOL, RD, boot, createRealm, delegateRange, ok, platform2, recCreateSro } from "../rmm2/helpers.js";
import { realmWithRecs, writeEnter } from "./rec-helpers.js";

const REC = POOL + 0x10n * G;
const AUX = POOL + 0x20n * G;
const RUN = DRAM + 0x7100_0000n;

describe("RMI_REC_ENTER run page under RMM 2.0", () => {
  it("ignores enter+0x300 (no GIC state in v2.0) and writes no GIC fields at exit", () => {
    const p = platform2();
    boot(p);
    createRealm(p);
    delegateRange(p, REC, REC + G);
    delegateRange(p, AUX, AUX + 16n * G);
    ok(recCreateSro(p, REC, AUX));
    ok(p.rmi.realmActivate(RD));
    // enter: flags 0, and bytes at 0x300.. that v1.0 would reject as GIC state (HCR bits the host
    // does not control, an LR with HW = 1)
    const page = new Uint8Array(4096);
    const v = new DataView(page.buffer);
    v.setBigUint64(REC_RUN.enter.gicv3_hcr, 0xffff_ffff_ffff_ffffn, true);
    v.setBigUint64(REC_RUN.enter.gicv3_lrs, (1n << 62n) | (1n << 61n) | 27n, true);
    // exit half pre-filled with a marker so that the test sees what REC_ENTER wrote
    page.fill(0xa5, 0x800);
    p.ns.write(RUN, page);
    expect(p.rmi.recEnter(REC, RUN)).toEqual({ status: "RMI_SUCCESS", index: 0 });
    const exit = p.ns.read(RUN + 0x800n, 0x800);
    const ev = new DataView(exit.buffer, exit.byteOffset, exit.byteLength);
    expect(ev.getBigUint64(0, true)).toBe(1n); // RMI_EXIT_IRQ: no guest model, the vCPU is interrupted
    expect(ev.getBigUint64(0x118, true)).toBe(0n); // rtt_tree: the primary tree
    expect(exit.slice(0x300, 0x400).every((b) => b === 0)).toBe(true); // no gicv3_hcr/lrs/misr/vmcr
  });

  it("under RMM 1.0 the same bytes are GIC state and fail the rec_gic check (RMI_ERROR_REC)", () => {
    const { t, recs } = realmWithRecs(1);
    const run = t.alloc.ns();
    writeEnter(t.p, run, { gicv3Hcr: 0xffff_ffff_ffff_ffffn });
    expect(t.p.rmi.recEnter(recs[0]!.rec, run)).toEqual({ status: "RMI_ERROR_REC", index: 0 });
  });
});

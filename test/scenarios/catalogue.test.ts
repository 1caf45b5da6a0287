import { describe, it, expect } from "vitest";
import * as scenarios from "../../src/scenarios/index.js";

type Expect = { outcome: string; check?: (r: scenarios.ScenarioResult) => void };
type Series = "v8" | "v10" | "v12" | "v13" | "v14";
const SERIES: Series[] = ["v8", "v10", "v12", "v13", "v14"];
const d = (r: scenarios.ScenarioResult) => r.data as Record<string, any>; // eslint-disable-line @typescript-eslint/no-explicit-any
const same = (e: Expect): Record<Series, Expect> => ({ v8: e, v10: e, v12: e, v13: e, v14: e });

const maxRef = (r: scenarios.ScenarioResult): number => Math.max(...(r.data.variant1 as { refcount: number }[]).map((v) => v.refcount));
const CPU_ON_COMPLETED_AT_EXIT = { vcpu1FirstRun: "access done", recEnterErrorRec: 0, retry: null, vcpu1Access: "ok", cpuOnPsciReturn: 0 };
const E: Record<string, Partial<Record<Series, Expect>>> = {
  S01: {
    v8: { outcome: "livelock", check: (r) => { expect(r.livelock).toBe(true); expect(r.warnCount).toBe(0); } },
    v10: { outcome: "ok", check: (r) => expect(r.data.qMapping).toEqual({ level: 3, state: "ASSIGNED_NS" }) },
    v12: { outcome: "ok", check: (r) => expect(r.data.qMapping).toEqual({ level: 3, state: "ASSIGNED_NS" }) },
    v13: { outcome: "ok", check: (r) => expect(r.data.qMapping).toEqual({ level: 3, state: "ASSIGNED_NS" }) },
    // v14 with THP: the 2 MiB mapping with the unaligned fault IPA (S06) fails first.
    v14: { outcome: "error", check: (r) => { expect(r.warnCount).toBe(1); expect(r.data.qMapping).toEqual({ level: 3, state: "UNASSIGNED_NS" }); } },
  },
  S02: {
    v8: { outcome: "ok", check: (r) => expect(d(r).mapping).toEqual({ level: 2, state: "ASSIGNED_NS" }) },
    v10: { outcome: "ok", check: (r) => expect(d(r)).toMatchObject({ rttsAllocated: 2, mapping: { level: 3 } }) },
    v12: { outcome: "ok", check: (r) => expect(d(r)).toMatchObject({ rttsAllocated: 2, mapping: { level: 3 } }) },
    v13: { outcome: "ok", check: (r) => expect(d(r)).toMatchObject({ rttsAllocated: 2, mapping: { level: 3 } }) },
    // v14 29/44 addr_range_desc: `case PMD_SIZE: out = 1 | (1 << 2)`, one 2 MiB block. After the
    // share the L2 table exists: the block is mapped at L2, no RTT allocated, as post-v14. With no
    // table down to L2, realm_map_non_secure creates L2 and L3 (to KVM_PGTABLE_LAST_LEVEL), re-issues
    // the block descriptor, gets ERROR_RTT(2) and `if (WARN_ON(ret)) return ret;` (516 = ERROR_RTT
    // | 2 << 8), at every refault; post-v14 (one level at a time) maps the block with one RTT.
    v14: {
      outcome: "warn",
      check: (r) => {
        expect(d(r)).toMatchObject({ rttsAllocated: 0, mapping: { level: 2, state: "ASSIGNED_NS" } });
        expect(d(r).postV14).toMatchObject({ rttsAllocated: 0, mapping: { level: 2, state: "ASSIGNED_NS" } });
        expect(d(r).noTables.v14).toEqual({ rets: ["516", "516"], rttsAllocated: 2, warns: 2, mapping: { level: 3, state: "UNASSIGNED_NS" } });
        expect(d(r).noTables.postV14).toEqual({ rets: ["0", "0"], rttsAllocated: 1, warns: 0, mapping: { level: 2, state: "ASSIGNED_NS" } });
        expect(r.warnCount).toBe(2);
      },
    },
  },
  S03: {
    // Issue 5: where the caller keeps the gmem reference on a 0 return (v8/v10 private_memslot_fault,
    // v12 24/46 and v13 27/48 gmem_abort: "if successful don't release the page"), a raced loser's
    // reference stays: documented in the notes; v14 29/44 releases it (goto out_release_page).
    ...same({ outcome: "livelock", check: (r) => { expect(r.warnCount).toBe(0); expect(maxRef(r)).toBe(1); expect(r.notes.some((n) => n.includes("guest_memfd reference"))).toBe(false); } }),
    v8: { outcome: "livelock", check: (r) => { expect(r.warnCount).toBe(0); expect(maxRef(r)).toBeGreaterThan(2); expect(r.notes.some((n) => n.includes("private_memslot_fault keeps its kvm_gmem_get_pfn reference"))).toBe(true); } },
    v10: { outcome: "livelock", check: (r) => { expect(r.warnCount).toBe(0); expect(maxRef(r)).toBeGreaterThan(2); expect(r.notes.some((n) => n.includes("private_memslot_fault keeps its kvm_gmem_get_pfn reference"))).toBe(true); } },
    // v12/v13 keep the gmem reference of every "successful" return of gmem_abort, raced ones included (S24).
    v12: { outcome: "livelock", check: (r) => { expect(r.warnCount).toBe(0); expect(maxRef(r)).toBeGreaterThan(2); expect(r.notes.some((n) => n.includes("gmem_abort keeps its kvm_gmem_get_pfn reference"))).toBe(true); } },
    v13: { outcome: "livelock", check: (r) => { expect(r.warnCount).toBe(0); expect(maxRef(r)).toBeGreaterThan(2); expect(r.notes.some((n) => n.includes("gmem_abort keeps its kvm_gmem_get_pfn reference"))).toBe(true); } },
  },
  S04: {
    ...same({ outcome: "ok", check: (r) => expect(d(r)).toMatchObject({ warns: 0, ignored: 1, mapping: { level: 3, state: "ASSIGNED_NS" } }) }),
    // The simulated RMM takes the second map of the same PA as progress; with an RMM answering
    // ERROR_RTT(3) v14 WARNs twice (WARN at the last level, retry, WARN and the raw status).
    // The result's warnCount agrees with its outcome: it counts the variant's WARNs too.
    v14: { outcome: "warn", check: (r) => { expect(d(r).warns).toBe(0); expect(d(r).errorRttRmm).toEqual({ warns: 2, mapping: { level: 3, state: "ASSIGNED_NS" } }); expect(r.warnCount).toBe(2); } },
  },
  S05: {
    ...same({ outcome: "ok", check: (r) => expect(d(r).read).toEqual({ outcome: "ok" }) }),
    v14: { outcome: "error", check: (r) => { expect(d(r).read).toEqual({ outcome: "error", errno: "-EFAULT" }); expect(r.warnCount).toBe(1); } },
  },
  S06: {
    ...same({ outcome: "ok", check: (r) => expect(d(r)).toEqual({ thpOn: { outcome: "ok" }, thpOff: { outcome: "ok" } }) }),
    v14: { outcome: "error", check: (r) => expect(d(r)).toEqual({ thpOn: { outcome: "error", errno: "-EINVAL" }, thpOff: { outcome: "ok" } }) },
  },
  S07: {
    ...same({ outcome: "ok", check: (r) => expect(d(r).decoderReadsPageAs).toBe(4096) }),
    v13: {
      outcome: "warn",
      check: (r) => {
        // v13 encodes PAGE as 3; its decoder reads 3 as P4D (512 GiB).
        expect(d(r).encoder).toEqual({ PAGE: 3, PMD: 2 });
        expect(d(r).decoderReadsPageAs).toBe(2 ** 39);
        // An RMM reading v13's encoding: faults work, the returned descriptor is misread.
        expect(d(r).run).toEqual({ fault: "ok", mapWarns: 0, unmapWarns: 1 });
        // An RMM with the decoder's convention: v13 17/48 creates its RECs without SRO donations
        // (aux granules in RecParams), so the realm activates; the first private fault's
        // RTT_DATA_MAP descriptor (PAGE encoded as 3) is refused: -ENXIO with a WARN.
        expect(d(r).otherRmm).toMatchObject({ convention: "bet1", realmActive: true, fault: "error", errno: "-ENXIO" });
      },
    },
    v14: { outcome: "ok", check: (r) => { expect(d(r).encoder).toEqual({ PAGE: 0, PMD: 1 }); expect(d(r).otherRmm).toMatchObject({ convention: "inverted", realmActive: false }); } },
  },
  S08: {
    ...same({ outcome: "warn", check: (r) => expect(d(r)).toMatchObject({ ret: "-ENXIO", undelegateOutsideFolio: 0, folioGranulesNotReturned: 0, pinned: 0 }) }),
    // A 4 MiB folio (addr_range_desc's page form, CNT 511), RTT_DATA_MAP failing at page 511.
    // v13 27/48 err_undelegate: undelegate_range(phys, map_size) from the advanced phys runs past the
    // folio and fails there: WARN, get_page(phys_to_page(phys)) pins folio page 511; then
    // realm_unmap_private_range(base_ipa, ipa) (its undelegate_range_desc misreads the SZ, S07).
    v13: { outcome: "warn", check: (r) => { expect(d(r)).toMatchObject({ ret: "-ENXIO", undelegateOutsideFolio: 1, undelegateFailures: 2, folioGranulesNotReturned: 0, pinned: 1, pinnedFolioPage: 511 }); expect(r.warnCount).toBe(3); } },
    // v14 29/44 err_undelegate: realm_unmap_private_range returns pages 0..510, then
    // rmi_undelegate_range(base_phys, map_size) fails at once on page 0: WARN, get_page(base_phys);
    // the 513 never-mapped granules stay delegated.
    v14: { outcome: "warn", check: (r) => { expect(d(r)).toMatchObject({ ret: "-ENXIO", undelegateFailures: 1, folioGranulesNotReturned: 513, pinned: 1, pinnedFolioPage: 0 }); expect(r.leakedGranules).toBe(514); expect(r.warnCount).toBe(2); } },
  },
  S09: {
    v8: { outcome: "error", check: (r) => expect(d(r)).toMatchObject({ errno: "0", state: "NEW", rdIsNull: true }) },
    v10: { outcome: "warn", check: (r) => expect(d(r)).toMatchObject({ errno: "-ENXIO", state: "NONE", pgdGranulesLeftDelegated: 0, pgdLeaked: false }) },
    v12: { outcome: "warn", check: (r) => expect(d(r)).toMatchObject({ errno: "-ENXIO", state: "NONE", pgdGranulesLeftDelegated: 0 }) },
    v13: { outcome: "leak", check: (r) => { expect(d(r)).toMatchObject({ errno: "-ENXIO", pgdGranulesLeftDelegated: 2, pgdLeaked: false }); expect(d(r).flags).toHaveLength(1); } },
    v14: { outcome: "warn", check: (r) => expect(d(r)).toMatchObject({ errno: "-ENXIO", pgdGranulesLeftDelegated: 0, pgdLeaked: true }) },
  },
  S10: {
    // v8 15/43 (quoted in Gavin Shan's review): "already exists" tested as index == level, never true:
    // the loser WARNs, frees its RTT, the fault fails (-ENXIO)
    v8: { outcome: "warn", check: (r) => expect(r.data.delegatedOrphans).toBe(0) },
    // v10 15/43 = the v9 15/43 stand-in (changelog: "Minor coding style fixes"): no free_rtt on "already exists"
    v10: { outcome: "leak", check: (r) => expect(r.data.delegatedOrphans).toBe(1) },
    v12: { outcome: "ok", check: (r) => expect(r.data.delegatedOrphans).toBe(0) },
    v13: { outcome: "ok", check: (r) => expect(r.data.delegatedOrphans).toBe(0) },
    v14: { outcome: "ok", check: (r) => expect(r.data.delegatedOrphans).toBe(0) },
  },
  S11: {
    v8: { outcome: "ok", check: (r) => expect(r.pgtablePages).toBe(-3) },
    v10: { outcome: "leak", check: (r) => expect(r.pgtablePages).toBe(0) },
    v12: { outcome: "leak", check: (r) => expect(r.pgtablePages).toBe(0) },
    v13: { outcome: "warn", check: (r) => expect(r.pgtablePages).toBe(0) }, // S07 decode WARNs at unmap
    v14: { outcome: "ok", check: (r) => expect(r.pgtablePages).toBe(0) },
  },
  S12: {
    // v8 15/43 (quoted): the shared unmap reschedules on every pass unconditionally, the private one never
    v8: { outcome: "ok", check: (r) => { const rs = r.data.resched as { taken: number; longestWithout: number }; expect(rs.taken).toBeGreaterThan(0); expect(rs.longestWithout).toBeGreaterThan(0); } },
    v10: { outcome: "leak", check: (r) => expect((r.data.resched as { longestWithout: number }).longestWithout).toBe(0) },
    v12: { outcome: "leak", check: (r) => expect((r.data.resched as { longestWithout: number }).longestWithout).toBe(0) },
    v13: { outcome: "warn", check: (r) => expect((r.data.resched as { longestWithout: number }).longestWithout).toBe(0) },
    v14: { outcome: "ok", check: (r) => expect((r.data.resched as { longestWithout: number }).longestWithout).toBe(0) },
  },
  S13: { v8: { outcome: "error" }, v10: { outcome: "leak" }, v12: { outcome: "leak" }, v13: { outcome: "warn" }, v14: { outcome: "ok" } },
  S14: {
    v8: { outcome: "ok", check: (r) => expect(r.data.freePagesLost).toBe(0) },
    v10: { outcome: "leak", check: (r) => expect(r.data.freePagesLost).toBe(2) },
    // 2 PGD pages + the guest_memfd page whose fault reference v12 24/46 / v13 27/48 gmem_abort keeps (S24)
    v12: { outcome: "leak", check: (r) => expect(r.data.freePagesLost).toBe(3) },
    v13: { outcome: "warn", check: (r) => expect(r.data.freePagesLost).toBe(3) },
    v14: { outcome: "ok", check: (r) => expect(r.data.freePagesLost).toBe(0) },
  },
  S15: {
    v8: { outcome: "ok", check: (r) => expect(d(r)).toMatchObject({ rttDestroyCalls: 11, rttDestroySuccess: 6 }) },
    v10: { outcome: "leak", check: (r) => expect(d(r)).toMatchObject({ rttDestroyCalls: 11, rttDestroySuccess: 6 }) },
    v12: { outcome: "leak", check: (r) => expect(d(r)).toMatchObject({ rttDestroyCalls: 13, rttDestroySuccess: 6 }) },
    // v13 21/48 realm_unmap_private_range: undelegate_range_desc fails on the misread descriptor (S07),
    // WARN_ON + break; kvm_realm_destroy_rtts then stops at the first live L3 table (v13 15/48)
    v13: { outcome: "warn", check: (r) => expect(d(r)).toMatchObject({ rttDestroyCalls: 7, rttDestroySuccess: 1 }) },
    v14: { outcome: "ok", check: (r) => expect(d(r)).toMatchObject({ rttDestroyCalls: 13, rttDestroySuccess: 6 }) },
  },
  S16: {
    ...same({ outcome: "warn", check: (r) => expect(r.data.state).toBe("DYING") }),
    v13: { outcome: "warn", check: (r) => expect(d(r)).toMatchObject({ state: "DYING", vmidHeld: false }) },
    v14: { outcome: "warn", check: (r) => expect(d(r)).toMatchObject({ state: "DYING", vmidHeld: false }) },
  },
  S19: {
    // v8 15/43 realm_init_ipa_state (as quoted in Gavin Shan's reply of 30 Apr 2025):
    // `if (WARN_ON(err_level >= level)) return -ENXIO;`; v9 15/43 ripas_change: `return -EINVAL;`
    v8: { outcome: "error", check: (r) => { expect(r.warnCount).toBe(1); expect((r.data.start as { ret: string }[]).at(-1)!.ret).toBe("-ENXIO"); } },
    v10: { outcome: "error", check: (r) => { expect(r.warnCount).toBe(0); expect((r.data.start as { ret: string }[]).at(-1)!.ret).toBe("-EINVAL"); } },
    // the "ugly hack": one extra RTT_INIT_RIPAS per populated page (16 MiB = 4096 pages)
    v12: { outcome: "ok", check: (r) => expect(r.data.rttInitRipasCalls).toBeGreaterThanOrEqual(4096) },
    // RMM v2.0 accepts INIT_RIPAS over populated entries; with an RMM that still refuses them the
    // v13 hack skips page by page and v14 retries forever.
    v13: { outcome: "ok", check: (r) => { expect(r.data.rttInitRipasCalls).toBeLessThan(16); expect(d(r).errorRttRmm).toMatchObject({ ok: true, hang: false }); expect(d(r).errorRttRmm.rttInitRipasCalls).toBeGreaterThanOrEqual(4096); } },
    v14: { outcome: "hang", check: (r) => expect(d(r).errorRttRmm).toMatchObject({ ok: false, hang: true }) },
  },
  S22: {
    // size 0: kvm_gmem_populate's WARN_ON_ONCE(npages <= 0), -EINVAL (v13 24/48, v14 26/44 as posted);
    // ERROR_RTT at L3: the RMI status 0x304 comes back as 772 pages (realm_data_map_init)
    v13: { outcome: "warn", check: (r) => expect(d(r)).toMatchObject({ sizeZero: { ret: "-EINVAL", warns: 1 }, double: { first: 4096, second: "-ENXIO" }, errorRttL3: { ret: 0x304 * 4096, vmBugged: true }, kvmRun: ["KVM_RUN(vcpu0) = -EIO"] }) },
    v14: { outcome: "warn", check: (r) => expect(d(r)).toMatchObject({ sizeZero: { ret: "-EINVAL", warns: 1 }, double: { first: 4096, second: "-ENXIO" }, errorRttL3: { ret: 0x304 * 4096, vmBugged: true } }) },
  },
  S23: {
    // v9 15/43 (v8/v10): the failed undelegate returns -ENXIO before realm_unmap_private_page's
    // free_page: guest_memfd's reference + the fault's, never dropped; no get_page in any posting
    v8: { outcome: "warn", check: (r) => expect(r.data.page).toMatchObject({ leaked: true, refcount: 2 }) },
    v10: { outcome: "warn", check: (r) => expect(r.data.page).toMatchObject({ leaked: true, refcount: 2 }) },
    // v12: gmem_abort's kept reference (v12 24/46, S24); the private unmap does not pin (-ENXIO)
    v12: { outcome: "warn", check: (r) => expect(r.data.page).toMatchObject({ leaked: true, refcount: 2 }) },
    // v13/v14 undelegate_range_desc: no get_page (v13 21/48, v14 23/44); v13 gmem_abort keeps the fault's reference (S24)
    v13: { outcome: "warn", check: (r) => expect(r.data.page).toMatchObject({ leaked: true, refcount: 2 }) },
    v14: { outcome: "warn", check: (r) => expect(r.data.page).toMatchObject({ leaked: true, refcount: 1 }) },
  },
  S24: {
    ...same({ outcome: "ok", check: (r) => expect(r.data.refcount).toBe(1) }),
    // v12 24/46 / v13 27/48 gmem_abort: "if successful don't release the page": 3 faults, 3 references kept
    v12: { outcome: "leak", check: (r) => { expect(r.data.refcount).toBe(4); expect(r.notes.some((n) => n.includes("if successful don't release the page"))).toBe(true); } },
    v13: { outcome: "warn", check: (r) => expect(r.data.refcount).toBe(4) }, // 3 faults, 3 references kept
  },
  S25: {
    // A: SYSTEM_OFF from vCPU 0, then vCPU 1 enters. B: CPU_ON race (vCPU 1 enters as soon as KVM marks it on).
    // v8 16/43 handle_rec_exit (as quoted in Gavin Shan's reply of 30 Apr 2025): ERROR_REALM index 1 ->
    // `vcpu->run->exit_reason = KVM_EXIT_UNKNOWN; return 0;` (Emi Kisanuki's report); v9 16/43 on KVM_EXIT_SHUTDOWN
    v8: { outcome: "error", check: (r) => { expect(r.data.vcpu1).toEqual({ kvmRun: "0", exit: "KVM_EXIT_UNKNOWN" }); expect(r.data.cpuOnRace).toEqual(CPU_ON_COMPLETED_AT_EXIT); } },
    v10: { outcome: "ok", check: (r) => { expect(r.data.vcpu1).toEqual({ kvmRun: "0", exit: "KVM_EXIT_SHUTDOWN" }); expect(r.data.cpuOnRace).toEqual(CPU_ON_COMPLETED_AT_EXIT); } },
    v12: { outcome: "ok", check: (r) => { expect(r.data.vcpu1).toEqual({ kvmRun: "0", exit: "KVM_EXIT_SHUTDOWN" }); expect(r.data.cpuOnRace).toEqual(CPU_ON_COMPLETED_AT_EXIT); } },
    v13: { outcome: "ok", check: (r) => { expect(r.data.vcpu1).toEqual({ kvmRun: "0", exit: "KVM_EXIT_SHUTDOWN" }); expect(r.data.cpuOnRace).toEqual(CPU_ON_COMPLETED_AT_EXIT); } },
    // v14 completes PSCI in vCPU 0's next pre-enter: REC 1 is refused (RMI_ERROR_REC) -> -EAGAIN, the VMM's retry runs
    v14: { outcome: "ok", check: (r) => {
      expect(r.data.vcpu1).toEqual({ kvmRun: "0", exit: "KVM_EXIT_SHUTDOWN" });
      expect(r.data.cpuOnRace).toEqual({ vcpu1FirstRun: "-EAGAIN", recEnterErrorRec: 1, retry: "ok", vcpu1Access: "ok", cpuOnPsciReturn: 0 });
    } },
  },
  S28: {
    ...same({ outcome: "ok", check: (r) => expect(d(r).staleZeroReads).toBe(0) }),
    v14: {
      outcome: "error",
      check: (r) => {
        expect(d(r).staleZeroReads).toBe(1);
        // v14 10/44 rmi_sro_execute: after OP_CONTINUE the garbage `ret` takes `if (ret) { if
        // (can_cancel) { FIXME } if (WARN_ON(ret)) return ret; }`: no RMI_OP_CANCEL is sent, the
        // REC the RMM created is taken as a failure (kvm_create_rec -ENXIO, its undelegate WARNs)
        expect(d(r).poisoned).toMatchObject({ startOk: false, cancels: 0, kvmRun: ["KVM_RUN(vcpu0) = -ENXIO"] });
        expect(d(r).unitSizes.levels3[2]).toBe(d(r).unitSizes.levels3[3]); // PUD and P4D coincide
      },
    },
  },
};

describe("scenario catalogue", () => {
  it("lists every registered scenario with its postings", () => {
    const l = scenarios.list();
    expect(l.map((s) => s.id)).toEqual(expect.arrayContaining(Object.keys(E))); // + the extra-*.ts modules
    for (const s of l) expect(s.series).toEqual(SERIES);
    expect(() => scenarios.run("S99", { series: "v8" })).toThrow(/unknown scenario 'S99'/);
    expect(() => scenarios.run("S01", { series: "v9" })).toThrow(/not available/);
  });
  for (const [id, per] of Object.entries(E)) {
    for (const series of SERIES) {
      const e = per[series];
      if (e === undefined) continue;
      it(`${id} on ${series}: ${e.outcome}`, () => {
        const r = scenarios.run(id, { series });
        expect(r.id).toBe(id);
        expect(r.series).toBe(series);
        expect(r.outcome).toBe(e.outcome);
        expect(r.trace.length).toBeGreaterThan(0);
        e.check?.(r);
        expect(() => JSON.stringify(r)).not.toThrow();
      });
    }
  }
});

/**
 * Issue 10, area "map": the stage-2 fault and map path (mmu.c hunks, realm_map_ipa,
 * realm_map_protected, realm_map_non_secure, addr_range_desc, the range delegation helpers)
 * checked against the posted code (../shared/reference/postings: v8 20/43, v10 20/43, v12 24/46,
 * v13 27/48, v14 29/44, v14 09/44, the v13/v14 rmi.c snapshots). Each case drives the Host API into
 * one path and asserts what the posting does there: the RMI calls after the failure point, the
 * errno, the WARNs, the pages leaked or still referenced.
 */
import { describe, it, expect } from "vitest";
import { Host } from "../../src/host/host.js";
import { SERIES_IDS, type SeriesId } from "../../src/kvm/series/index.js";
import { runSync } from "../../src/sched/coop.js";
import { realm_map_protected, KVM_PGTABLE_PROT_R, KVM_PGTABLE_PROT_W } from "../../src/kvm/rmi/map.js";
import { realm_map_ipa } from "../../src/kvm/mmu.js";
import { addr_range_desc } from "../../src/kvm/rmi/map.js";
import { delegate_range, undelegate_range } from "../../src/kvm/rmi/range.js";
import { topup_memcache } from "../../src/kvm/rmi/ripas.js";
import { RmiOpMemState } from "../../src/rmm/abi/range-desc.js";
import { GranuleState } from "../../src/rmm/granule.js";
import type { RealmVm } from "../../src/vmm/vm.js";

const RAM = 0x8000_0000n;
const SHARED = 2 ** 39;
const MiB = 0x10_0000;

function smcs(host: Host, from = 0): string[] {
  return host.trace.slice(from).filter((l) => l.startsWith("SMC_RMI_")).map((l) => l.split(" ")[0]!.replace("SMC_RMI_", ""));
}

function started(series: SeriesId, opts: { poisonUninit?: boolean } = {}): { host: Host; vm: RealmVm } {
  const host = Host.create({ series, seed: 1, ...opts });
  const vm = host.createRealm({ ipaBits: 40, memory: 16n << 20n, vcpus: 1 });
  expect(vm.start().ok).toBe(true);
  return { host, vm };
}

/** SZ [1:0] and CNT [11:2] of a descriptor as the posting wrote it (before any SMC-boundary convention). */
function szCnt(d: bigint): { sz: number; cnt: number; pa: number } {
  return { sz: Number(d & 3n), cnt: Number((d >> 2n) & 0x3ffn), pa: Number(d & 0x000f_ffff_ffff_f000n) };
}

describe("addr_range_desc (v13 27/48, v14 29/44)", () => {
  // switch (size): P4D_SIZE, PUD_SIZE, PMD_SIZE, PAGE_SIZE -> one block; default: page form, CNT MIN(pages, 511)
  const cases: { label: string; size: number; v13: [number, number]; v14: [number, number] }[] = [
    { label: "PAGE_SIZE: one page", size: 4096, v13: [3, 1], v14: [0, 1] },
    { label: "PMD_SIZE: one 2 MiB block (not 511 pages + 1)", size: 2 * MiB, v13: [2, 1], v14: [1, 1] },
    { label: "PUD_SIZE: one 1 GiB block", size: 1024 * MiB, v13: [1, 1], v14: [2, 1] },
    { label: "P4D_SIZE (folded to the PGD, 512 GiB): one block", size: 2 ** 39, v13: [0, 1], v14: [3, 1] },
    { label: "3 pages: page form, CNT 3", size: 3 * 4096, v13: [3, 3], v14: [0, 3] },
    { label: "4 MiB: page form, CNT capped at PTRS_PER_PTE - 1", size: 4 * MiB, v13: [3, 511], v14: [0, 511] },
    { label: "2 MiB - 4 KiB: page form, CNT 511", size: 2 * MiB - 4096, v13: [3, 511], v14: [0, 511] },
  ];
  for (const series of ["v13", "v14"] as const) {
    for (const c of cases) {
      it(`${series}: ${c.label}`, () => {
        const { host, vm } = started(series);
        const d = szCnt(addr_range_desc(vm.kvm, 0x8040_0000, c.size, RmiOpMemState.DELEGATED));
        expect([d.sz, d.cnt]).toEqual(c[series]);
        expect(d.pa).toBe(0x8040_0000);
        expect(host.warnCount).toBe(0);
      });
    }
    it(`${series}: no alignment test on the PA; a PA not page aligned is WARN_ON(phys & ~PAGE_MASK) and masked`, () => {
      const { host, vm } = started(series);
      const d = szCnt(addr_range_desc(vm.kvm, 0x8000_1000 + 0x10, 2 * MiB, RmiOpMemState.DELEGATED));
      expect(d.cnt).toBe(1); // a 2 MiB block at a PA not 2 MiB aligned: the RMM refuses it, not the host
      expect(d.pa).toBe(0x8000_1000);
      expect(host.warns.map((w) => w.fn)).toEqual(["addr_range_desc"]);
    });
  }

  it("v14: a 2 MiB folio is one RTT_DATA_MAP with a PMD descriptor, mapped at level 2", () => {
    const { host, vm } = started("v14");
    const k = vm.kvm;
    const folio = host.pages.allocHuge("gmem", k.id);
    topup_memcache(k.vcpus[0]!, 4);
    const from = host.trace.length;
    expect(runSync(realm_map_protected(k, Number(RAM) + 8 * MiB, folio, 2 * MiB, k.vcpus[0]!.memcache))).toBe(0);
    expect(smcs(host, from).filter((c) => c === "RTT_DATA_MAP")).toHaveLength(1);
    expect(vm.mappingOf(RAM + 0x80_0000n)).toMatchObject({ level: 2, state: "ASSIGNED_RAM" });
    expect(host.warnCount).toBe(0);
  });

  it("v13: a 2 MiB map cannot succeed: the temporary L3 RTT makes the PMD descriptor ERROR_RTT(2), retried once, WARN, unwind", () => {
    const { host, vm } = started("v13");
    const k = vm.kvm;
    const folio = host.pages.allocHuge("gmem", k.id);
    topup_memcache(k.vcpus[0]!, 4);
    const from = host.trace.length;
    expect(runSync(realm_map_protected(k, Number(RAM) + 8 * MiB, folio, 2 * MiB, k.vcpus[0]!.memcache))).toBe(-6);
    const calls = smcs(host, from);
    expect(calls.filter((c) => c === "RTT_DATA_MAP")).toHaveLength(2);
    expect(host.trace.slice(from).filter((l) => l.startsWith("SMC_RMI_RTT_DATA_MAP")).every((l) => l.includes("RMI_ERROR_RTT 2"))).toBe(true);
    // WARN_ON(level == RMM_RTT_MAX_LEVEL) does not fire at level 2; WARN_ON(ret) does
    expect(host.warns.map((w) => w.fn)).toEqual(["realm_map_protected"]);
    // err_undelegate: phys was not advanced, the folio goes back whole
    for (let a = folio; a < folio + 2 * MiB; a += 4096) expect(host.platform.rmm.granules.state(a / 4096)).toBe(GranuleState.NS);
  });
});

describe("gmem_abort / private_memslot_fault: the guest_memfd page reference (S24)", () => {
  // v8/v10 20/43 private_memslot_fault `return 1` without put_page; v12 24/46, v13 27/48 "if
  // successful don't release the page"; v14 29/44 goto out_release_page.
  const expected: Record<SeriesId, number> = { v8: 2, v10: 2, v12: 2, v13: 2, v14: 1 };
  for (const series of SERIES_IDS) {
    it(`${series}: after one successful private fault the page holds ${expected[series]} reference(s)`, () => {
      const { host, vm } = started(series);
      const X = RAM + 0x40_0000n;
      expect(vm.touch(X, { access: "write" }).outcome).toBe("ok");
      expect(host.pages.page(Number(vm.mappingOf(X).pa!))?.refcount).toBe(expected[series]);
    });
  }
});

describe("gmem_abort: kvm_gmem_get_pfn fails (v12 24/46, v13 27/48, v14 29/44)", () => {
  for (const series of SERIES_IDS) {
    const gmem = series !== "v8" && series !== "v10";
    it(`${series}: -ENOMEM reaches KVM_RUN${gmem ? " with KVM_EXIT_MEMORY_FAULT prepared (not -EFAULT)" : " (private_memslot_fault: no memory-fault exit)"}; nothing mapped`, () => {
      const { host, vm } = started(series);
      const X = RAM + 0x40_0000n;
      expect(vm.touch(X, { access: "write" }).outcome).toBe("ok");
      topup_memcache(vm.kvm.vcpus[0]!, 8); // the next allocation is the guest_memfd page
      host.inject({ alloc: "page", nth: 1 });
      const from = host.trace.length;
      const t = vm.touch(X + 0x1000n, { access: "write" });
      expect(t).toMatchObject({ outcome: "error", errno: "-ENOMEM" });
      expect(vm.kvm.vcpus[0]!.lastExit.kind).toBe(gmem ? "memory-fault" : "none");
      expect(smcs(host, from).every((c) => c === "REC_ENTER")).toBe(true);
      expect(host.warnCount).toBe(0);
    });
  }
});

describe("realm_map_protected unwinds (v13 27/48, v14 29/44)", () => {
  /** A 4 MiB folio (page-form descriptors), RTT_DATA_MAP failing from page 511 (S08). */
  function partial(series: "v13" | "v14") {
    const { host, vm } = started(series);
    const k = vm.kvm;
    const ipa = Number(RAM) + 8 * MiB;
    const folio = host.pages.allocBlock(1024, "gmem", k.id);
    host.inject({ rmi: "RTT_DATA_MAP", status: "RMI_ERROR_INPUT", pa: BigInt(ipa + 511 * 4096) });
    topup_memcache(k.vcpus[0]!, 4);
    const resched = k.resched.taken;
    const from = host.trace.length;
    const ret = runSync(realm_map_protected(k, ipa, folio, 4 * MiB, k.vcpus[0]!.memcache));
    const leaked = [...host.pages.pagesOf(k.id)].filter((p) => p.leaked).map((p) => (p.pa - folio) / 4096);
    return { host, k, folio, ret, from, leaked, resched };
  }

  it("v13: err_undelegate undelegates map_size from the advanced phys and pins folio page 511 (get_page(phys)), then unmaps [base, ipa)", () => {
    const r = partial("v13");
    expect(r.ret).toBe(-6);
    const calls = r.host.trace.slice(r.from).filter((l) => l.startsWith("SMC_RMI_"));
    const firstUndel = calls.findIndex((l) => l.startsWith("SMC_RMI_GRANULE_RANGE_UNDELEGATE"));
    const firstUnmap = calls.findIndex((l) => l.startsWith("SMC_RMI_RTT_DATA_UNMAP"));
    expect(firstUndel).toBeGreaterThan(-1);
    expect(firstUndel).toBeLessThan(firstUnmap); // undelegate first, then err: the unmap
    expect(parseInt(calls[firstUndel]!.split(" ")[1]!, 16)).toBe(r.folio + 511 * 4096);
    expect(r.leaked).toEqual([511]);
    // (the unmap's undelegate_range_desc misreads v13's SZ (S07) and stops before any cond_resched)
  });

  it("v14: realm_unmap_private_range first, then rmi_undelegate_range(base_phys) fails at once: folio page 0 pinned, 513 granules left delegated", () => {
    const r = partial("v14");
    expect(r.ret).toBe(-6);
    const calls = r.host.trace.slice(r.from).filter((l) => l.startsWith("SMC_RMI_"));
    const firstUnmap = calls.findIndex((l) => l.startsWith("SMC_RMI_RTT_DATA_UNMAP"));
    const lastUndel = calls.map((l, i) => (l.startsWith("SMC_RMI_GRANULE_RANGE_UNDELEGATE") ? i : -1)).filter((i) => i >= 0).pop()!;
    expect(firstUnmap).toBeGreaterThan(-1);
    expect(lastUndel).toBeGreaterThan(firstUnmap);
    expect(calls[lastUndel]).toMatch(new RegExp(`^SMC_RMI_GRANULE_RANGE_UNDELEGATE ${r.folio.toString(16)} .*RMI_ERROR_INPUT`));
    expect(r.leaked).toEqual([0]);
    let delegated = 0;
    for (let a = r.folio; a < r.folio + 4 * MiB; a += 4096) if (r.host.platform.rmm.granules.state(a / 4096) !== GranuleState.NS) delegated++;
    expect(delegated).toBe(513);
    expect(r.k.resched.taken).toBeGreaterThan(r.resched); // realm_unmap_private_range(kvm, base_ipa, ipa, true)
  });

  it("v13: a failed fold_rtt jumps to err: no undelegate_range of the folio before realm_unmap_private_range", () => {
    const { host, vm } = started("v13");
    const k = vm.kvm;
    const folio = host.pages.allocHuge("gmem", k.id);
    topup_memcache(k.vcpus[0]!, 4);
    // the temporary L3 RTT is not created ("errors handled below"): the PMD block maps at L2 and
    // fold_rtt(base, 3) finds no L3 table
    host.inject({ rmi: "RTT_CREATE", status: "RMI_ERROR_INPUT" });
    const from = host.trace.length;
    expect(runSync(realm_map_protected(k, Number(RAM) + 8 * MiB, folio, 2 * MiB, k.vcpus[0]!.memcache))).toBe(-6);
    const calls = smcs(host, from);
    const fold = calls.indexOf("RTT_FOLD");
    expect(calls.slice(fold - 1, fold + 2)).toEqual(["RTT_DATA_MAP", "RTT_FOLD", "RTT_DATA_UNMAP"]);
    expect(host.warns.map((w) => w.fn)).toContain("realm_map_protected");
    expect(host.warns.find((w) => w.fn === "realm_map_protected")!.msg).toMatch(/fold_rtt/);
  });

  for (const series of ["v13", "v14"] as const) {
    it(`${series}: RTT_DATA_MAP answering RMI_INCOMPLETE is rmi_rtt_data_map's WARN_ON(res.a0): 1, then realm_map_protected's WARN and -ENXIO; no OP_CONTINUE`, () => {
      const { host, vm } = started(series);
      host.inject({ rmi: "RTT_DATA_MAP", status: "RMI_INCOMPLETE" });
      const from = host.trace.length;
      const X = RAM + 0x60_0000n;
      expect(vm.touch(X, { access: "write" })).toMatchObject({ outcome: "error", errno: "-ENXIO" });
      expect(host.warns.map((w) => w.fn)).toEqual(["rmi_rtt_data_map", "realm_map_protected"]);
      const calls = smcs(host, from).filter((c) => c !== "REC_ENTER");
      expect(calls).toEqual(["GRANULE_RANGE_DELEGATE", "RTT_DATA_MAP", "GRANULE_RANGE_UNDELEGATE"]);
      expect(vm.mappingOf(X).state).not.toBe("ASSIGNED_RAM");
    });
  }
});

describe("realm_map_non_secure: realm_create_rtt_levels fails (v13 27/48, v14 29/44)", () => {
  // alloc_rtt's GRANULE_(RANGE_)DELEGATE fails: realm_create_rtt_levels returns -ENOMEM
  const expected = { v12: -6, v13: -6, v14: -12 } as const;
  for (const series of ["v12", "v13", "v14"] as const) {
    it(`${series}: ${series === "v14" ? "`if (ret) return ret;`: -ENOMEM" : "`return -ENXIO`"}, nothing mapped`, () => {
      const { host, vm } = started(series);
      const k = vm.kvm;
      topup_memcache(k.vcpus[0]!, 4);
      const pa = host.pages.allocHuge("user", k.id);
      host.inject({ rmi: series === "v14" || series === "v13" ? "GRANULE_RANGE_DELEGATE" : "GRANULE_DELEGATE", status: "RMI_ERROR_INPUT" });
      const ipa = SHARED + 0xc000_0000; // a 1 GiB shared region with no table
      const from = host.trace.length;
      expect(runSync(realm_map_ipa(k, ipa, pa, 4096, KVM_PGTABLE_PROT_R + KVM_PGTABLE_PROT_W, k.vcpus[0]!.memcache))).toBe(expected[series]);
      const calls = smcs(host, from);
      expect(calls.filter((c) => c === "RTT_UNPROT_MAP" || c === "RTT_MAP_UNPROTECTED")).toHaveLength(1); // no retry
      expect(host.warnCount).toBe(0);
    });
  }
});

describe("range delegation helpers (v13 rmi.c delegate_range/undelegate_range, v14 09/44 rmi_delegate_range/rmi_undelegate_range)", () => {
  it("v14: size 0: rmi_delegate_range returns 0 without a WARN; rmi_undelegate_range WARN_ON(size == 0) and 0; no SMC", () => {
    const { host, vm } = started("v14");
    const from = host.trace.length;
    expect(delegate_range(vm.kvm, 0x8040_0000, 0).ret).toBe(0);
    expect(host.warnCount).toBe(0);
    expect(undelegate_range(vm.kvm, 0x8040_0000, 0).ret).toBe(0);
    expect(host.warns.map((w) => w.fn)).toEqual(["rmi_undelegate_range"]);
    expect(smcs(host, from)).toEqual([]);
  });

  for (const poison of [false, true]) {
    it(`v13: size 0 returns the uninitialised \`ret\`: flagged, read as ${poison ? "garbage (poisonUninit)" : "0"}; no WARN, no SMC`, () => {
      const { host, vm } = started("v13", { poisonUninit: poison });
      const from = host.trace.length;
      expect(delegate_range(vm.kvm, 0x8040_0000, 0).ret).toBe(poison ? 0xdead : 0);
      expect(undelegate_range(vm.kvm, 0x8040_0000, 0).ret).toBe(poison ? 0xdead : 0);
      expect(host.trace.slice(from).filter((l) => l.includes("returned uninitialised"))).toHaveLength(2);
      expect(host.warnCount).toBe(0);
      expect(smcs(host, from)).toEqual([]);
    });
  }

  for (const series of ["v13", "v14"] as const) {
    it(`${series}: \`ret\` is compared raw: RMI_BUSY with an index is an error, returned after one call`, () => {
      const { host, vm } = started(series);
      const pa = host.pages.allocHuge("gmem", vm.kvm.id);
      host.inject({ rmi: "GRANULE_RANGE_DELEGATE", status: "RMI_BUSY", index: 1 });
      const from = host.trace.length;
      expect(delegate_range(vm.kvm, pa, 4096).ret).toBe(10 + 256);
      expect(smcs(host, from)).toEqual(["GRANULE_RANGE_DELEGATE"]);
    });

    it(`${series}: a SUCCESS without progress is not checked: the loop goes on from out_top`, () => {
      const { host, vm } = started(series);
      const pa = host.pages.allocHuge("gmem", vm.kvm.id);
      // an RMM answering SUCCESS with out_top == base once (injection cannot forge a SUCCESS)
      const rmi = host.rmi;
      const real = rmi.granule_range_delegate.bind(rmi);
      let n = 0;
      rmi.granule_range_delegate = (base: number, top: number) => (n++ === 0 ? { ret: 0, top: base } : real(base, top));
      const r = delegate_range(vm.kvm, pa, 2 * 4096);
      expect(r).toEqual({ ret: 0, top: pa + 2 * 4096 });
      expect(n).toBe(3);
      expect(host.warnCount).toBe(0);
    });
  }
});

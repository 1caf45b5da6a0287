/**
 * Claims the walkthrough notebooks (notebooks/*.ipynb) make about outcomes, asserted here so that
 * a notebook never states something only its stored output shows. One `describe` per notebook;
 * other notebook authors append their own blocks.
 */
import { describe, it, expect } from "vitest";
import { Host } from "../../src/host/host.js";
import type { SeriesId } from "../../src/kvm/series/index.js";
import * as scenarios from "../../src/scenarios/index.js";

describe("00-quickstart", () => {
  function quickstart() {
    const host = Host.create({ series: "v12", seed: 1 });
    const vm = host.createRealm({ ipaBits: 40, memory: 64n << 20n, vcpus: 2 });
    expect(vm.start().ok).toBe(true);
    const ram = BigInt(vm.ramBase);
    for (let i = 0n; i < 8n; i++) expect(vm.touch(ram + 0x200000n + i * 0x1000n, { access: "write" }).outcome).toBe("ok");
    return { host, vm, ram };
  }

  it("an RTT_CREATE answered (RMI_ERROR_RTT, 2) is read as 'already exists'; the data create fails again, one WARN, KVM_RUN -ENXIO", () => {
    const { host, vm, ram } = quickstart();
    host.inject({ rmi: "RTT_CREATE", nth: 1, status: "RMI_ERROR_RTT", index: 2 });
    const mark = host.trace.length;
    const far = vm.touch(ram + 0x1000000n, { access: "write" });
    const t = host.trace.slice(mark);
    expect(far.outcome).toBe("error");
    expect(far.errno).toBe("-ENXIO");
    expect(host.warnCount).toBe(1);
    // v10+ realm_create_rtt_levels frees the granule it could not install
    const created = t.findIndex((l) => l.startsWith("SMC_RMI_RTT_CREATE") && l.includes("(injected)"));
    expect(created).toBeGreaterThan(0);
    expect(t[created + 1]).toMatch(/^SMC_RMI_GRANULE_UNDELEGATE/);
    expect(t.filter((l) => l.startsWith("SMC_RMI_DATA_CREATE_UNKNOWN") && l.includes("RMI_ERROR_RTT 2")).length).toBe(2);
  });

  it("v12 24/46 gmem_abort keeps the guest_memfd page reference when the map succeeds and releases it when the map fails", () => {
    const { host, vm, ram } = quickstart();
    // "if successful don't release the page": the file's reference plus the one kvm_gmem_get_pfn() took
    for (let i = 0n; i < 8n; i++) expect(host.pages.page(Number(vm.mappingOf(ram + 0x200000n + i * 0x1000n).pa!))?.refcount).toBe(2);
    host.inject({ rmi: "RTT_CREATE", nth: 1, status: "RMI_ERROR_RTT", index: 2 });
    const mark = host.trace.length;
    vm.touch(ram + 0x1000000n, { access: "write" });
    const failed = host.trace.slice(mark).filter((l) => l.startsWith("SMC_RMI_DATA_CREATE_UNKNOWN"));
    expect(failed).toHaveLength(2);
    // goto out_release_page: the page the failed DATA_CREATE_UNKNOWN named holds only the file's reference
    expect(host.pages.page(parseInt(failed[0]!.split(" ")[2]!, 16))?.refcount).toBe(1);
  });

  it("after the teardown nothing is left delegated; two leaked pages are v12's PGD (S14), the others guest_memfd pages gmem_abort kept (S24)", () => {
    const { host, vm, ram } = quickstart();
    host.inject({ rmi: "RTT_CREATE", nth: 1, status: "RMI_ERROR_RTT", index: 2 });
    vm.touch(ram + 0x1000000n, { access: "write" });
    vm.destroy();
    const s = host.stats();
    expect(s.granules).toEqual({ DELEGATED: 0, RD: 0, REC: 0, REC_AUX: 0, DATA: 0, RTT: 0 });
    const leaked = [...host.pages.pagesOf(vm.id)].filter((p) => p.leaked).map((p) => p.owner);
    expect(leaked.filter((o) => o === "kvm-pgd")).toHaveLength(vm.kvm.mmu.pgdSize / 4096);
    expect(leaked.filter((o) => o === "kvm-pgd")).toHaveLength(2);
    expect(leaked.every((o) => o === "kvm-pgd" || o === "gmem")).toBe(true);
    expect(s.vms[0]).toMatchObject({ state: "DEAD", pgtablePages: 0 });
  });
});

describe("N1-suzukis-block (S01)", () => {
  const SHARED = 1n << 39n;
  const B = 0x8040_0000n;
  const Q = B + 0x5000n;
  function suzukisBlock(series: SeriesId, forcePte: boolean) {
    const host = Host.create({ series, seed: 1 });
    const vm = host.createRealm({ ipaBits: 40, memory: 64n << 20n, vcpus: 1, forcePte, thp: true });
    expect(vm.start().ok).toBe(true);
    vm.vmmWrite(B, new Uint8Array([1]));
    expect(vm.share(B, 0x1000n).outcome).toBe("ok");
    expect(vm.touch(B | SHARED, { access: "write" }).outcome).toBe("ok");
    expect(vm.share(B + 0x1000n, 0x20_0000n - 0x1000n).outcome).toBe("ok");
    vm.collapse(B);
    const mark = host.trace.length;
    const q = vm.touch(Q | SHARED, { access: "write" });
    const assignedNs = () => {
      let n = 0;
      for (let a = B; a < B + 0x20_0000n; a += 0x1000n) if (vm.mappingOf(a | SHARED).state === "ASSIGNED_NS") n++;
      return n;
    };
    return { host, vm, q, qTrace: host.trace.slice(mark), assignedNs };
  }
  const maps = (t: string[]) => t.filter((l) => l.startsWith("SMC_RMI_RTT_MAP_UNPROTECTED"));

  it("v8, forcePte off: livelock, no WARN; every map of Q is the level-2 call answered RMI_ERROR_RTT 2, twice per fault", () => {
    const r = suzukisBlock("v8", false);
    expect(r.q.outcome).toBe("livelock");
    expect(r.host.warnCount).toBe(0);
    const m = maps(r.qTrace);
    expect(m.length).toBe(2 * r.q.exits);
    for (const l of m) expect(l).toMatch(/^SMC_RMI_RTT_MAP_UNPROTECTED \S+ 8080400000 2 \S+ > RMI_ERROR_RTT 2$/);
    // the level-2 entry of B's shared alias is still the (now empty) level-3 table: v8 does not fold
    expect(r.vm.mappingOf(Q | SHARED)).toEqual({ level: 3, state: "UNASSIGNED_NS" });
    expect(r.assignedNs()).toBe(0);
    expect(r.qTrace.some((l) => l.startsWith("SMC_RMI_RTT_FOLD"))).toBe(false);
  });

  it("v8, forcePte on (the posting's default): one level-3 map, Q mapped, no livelock", () => {
    const r = suzukisBlock("v8", true);
    expect(r.q.outcome).toBe("ok");
    expect(r.host.warnCount).toBe(0);
    const m = maps(r.qTrace);
    expect(m).toHaveLength(1);
    expect(m[0]).toMatch(/ 8080405000 3 \S+ > RMI_SUCCESS$/);
    expect(r.vm.mappingOf(Q | SHARED)).toMatchObject({ level: 3, state: "ASSIGNED_NS" });
    expect(r.assignedNs()).toBe(1);
  });

  for (const series of ["v10", "v12"] as const) {
    it(`${series}, forcePte off: the 2 MiB request becomes 512 level-3 maps, no level-2 request`, () => {
      const r = suzukisBlock(series, false);
      expect(r.q.outcome).toBe("ok");
      expect(r.q.exits).toBe(2);
      expect(r.host.warnCount).toBe(0);
      const m = maps(r.qTrace);
      expect(m).toHaveLength(512);
      for (const l of m) expect(l).toMatch(/^SMC_RMI_RTT_MAP_UNPROTECTED \S+ \S+ 3 \S+ > RMI_SUCCESS$/);
      expect(r.assignedNs()).toBe(512);
    });
  }
});

/** N5's smallRealm(): 16 MiB, no image, two private pages and one shared page touched (seed 4). */
function smallRealm(series: SeriesId) {
  const SHARED = 1n << 39n;
  const host = Host.create({ series, seed: 4 });
  const vm = host.createRealm({ ipaBits: 40, memory: 16n << 20n, vcpus: 1, image: 0n });
  expect(vm.start().ok).toBe(true);
  expect(vm.touch(0x8040_0000n, { access: "write" }).outcome).toBe("ok");
  expect(vm.touch(0x8040_1000n, { access: "write" }).outcome).toBe("ok");
  expect(vm.share(0x8060_0000n, 0x1000n).outcome).toBe("ok");
  expect(vm.touch(0x8060_0000n | SHARED, { access: "write" }).outcome).toBe("ok");
  return { host, vm };
}

describe("N5-tearing-it-all-down", () => {
  const SHARED = 1n << 39n;
  function destroyTrace(series: SeriesId) {
    const r = smallRealm(series);
    const at = r.host.trace.length;
    r.vm.destroy();
    return { ...r, lines: r.host.trace.slice(at) };
  }
  const smcCount = (lines: string[], cmd: string) => lines.filter((l) => l.startsWith(`SMC_RMI_${cmd} `)).length;

  it("the RMM refuses every out-of-order teardown step, and the refusals change nothing (v12)", () => {
    const { host, vm } = smallRealm("v12");
    const rmi = host.platform.rmi;
    const rd = BigInt(vm.kvm.realm.rd);
    const before = host.stats().granules;
    const tree = JSON.stringify(vm.rtt(), (_k, v) => (typeof v === "bigint" ? v.toString(16) : v));
    expect(rmi.realmDestroy(rd)).toMatchObject({ status: "RMI_ERROR_REALM", index: 0 });
    expect(rmi.granuleUndelegate(BigInt(vm.kvm.mmu.pgdPhys))).toMatchObject({ status: "RMI_ERROR_INPUT", index: 0 });
    expect(rmi.rttDestroy(rd, 0n, 1n)).toMatchObject({ status: "RMI_ERROR_INPUT", index: 0 });
    expect(rmi.rttDestroy(rd, 0x8000_0000n, 2n)).toMatchObject({ status: "RMI_ERROR_RTT", index: 2 });
    expect(rmi.rttDestroy(rd, 0x8040_0000n, 3n)).toMatchObject({ status: "RMI_ERROR_RTT", index: 3 });
    expect(host.stats().granules).toEqual(before);
    expect(JSON.stringify(vm.rtt(), (_k, v) => (typeof v === "bigint" ? v.toString(16) : v))).toBe(tree);
  });

  it("v12 teardown walk: skip, descend, destroy the L3 tables, then the L2 table; a second pass after kvm_arch_destroy_vm finds nothing", () => {
    const { lines } = destroyTrace("v12");
    const arch = lines.findIndex((l) => l.includes("kvm_arch_destroy_vm"));
    const first = lines.slice(0, arch).filter((l) => l.startsWith("SMC_RMI_RTT_DESTROY"));
    expect(first.slice(0, 6).map((l) => l.replace(/^SMC_RMI_RTT_DESTROY \S+ /, ""))).toEqual([
      "0 2 > RMI_ERROR_RTT 1 0 80000000",
      "80000000 2 > RMI_ERROR_RTT 2 0 80000000",
      "80000000 3 > RMI_ERROR_RTT 2 0 80400000",
      expect.stringMatching(/^80400000 3 > RMI_SUCCESS \S+ 80600000$/),
      expect.stringMatching(/^80600000 3 > RMI_SUCCESS \S+ c0000000$/),
      expect.stringMatching(/^80000000 2 > RMI_SUCCESS \S+ 8000000000$/),
    ]);
    // every RTT granule RTT_DESTROY returns is undelegated right after
    lines.forEach((l, i) => {
      const m = /^SMC_RMI_RTT_DESTROY \S+ \S+ \S+ > RMI_SUCCESS (\S+) /.exec(l);
      if (m) expect(lines[i + 1]).toBe(`SMC_RMI_GRANULE_UNDELEGATE ${m[1]} > RMI_SUCCESS`);
    });
    const second = lines.slice(arch).filter((l) => l.startsWith("SMC_RMI_RTT_DESTROY"));
    expect(second).toHaveLength(2);
    for (const l of second) expect(l).toMatch(/> RMI_ERROR_RTT 1 0 \S+$/);
  });

  it("S15: only v12 repeats the RTT teardown (v8/v10 have no second pass); same REC/REALM/undelegate work everywhere", () => {
    const t = Object.fromEntries((["v8", "v10", "v12"] as const).map((s) => [s, destroyTrace(s).lines]));
    for (const s of ["v8", "v10"] as const) {
      const arch = t[s]!.findIndex((l) => l.includes("kvm_arch_destroy_vm"));
      expect(t[s]!.slice(arch).some((l) => l.startsWith("SMC_RMI_RTT_DESTROY"))).toBe(false);
      expect(smcCount(t[s]!, "RTT_DESTROY")).toBe(11);
    }
    expect(smcCount(t.v12!, "RTT_DESTROY")).toBe(13);
    expect(smcCount(t.v12!, "DATA_DESTROY")).toBeGreaterThan(smcCount(t.v10!, "DATA_DESTROY"));
    for (const s of ["v8", "v10", "v12"] as const) {
      expect(smcCount(t[s]!, "REC_DESTROY")).toBe(1);
      expect(smcCount(t[s]!, "REALM_DESTROY")).toBe(1);
      expect(smcCount(t[s]!, "GRANULE_UNDELEGATE")).toBe(27);
    }
  });

  it("after the walk with REALM_DESTROY refused: DYING, the RD and the two root RTTs left, no table below the root, the old table entry UNASSIGNED/DESTROYED", () => {
    const { host, vm } = smallRealm("v12");
    host.inject({ rmi: "REALM_DESTROY", status: "RMI_ERROR_REALM" });
    vm.destroy();
    expect(vm.state).toBe("DYING");
    expect(host.stats().granules).toEqual({ DELEGATED: 0, RD: 1, REC: 0, REC_AUX: 0, DATA: 0, RTT: 2 });
    const tree = vm.rtt()!;
    const entries = tree.roots.flatMap((r) => r.entries);
    expect(entries.some((e) => e.state === "TABLE" || e.state === "ASSIGNED" || e.state === "ASSIGNED_NS")).toBe(false);
    expect(entries.find((e) => e.ipa === 0x8000_0000n)).toMatchObject({ state: "UNASSIGNED", ripas: "DESTROYED" });
  });

  it("S14 chart: pages not back on the free list after destroy: v8 0 (generic walk frees them), v10 the two PGD pages, v12 those and the 8 gmem pages gmem_abort kept", () => {
    for (const [series, left] of [["v8", 0], ["v10", 2], ["v12", 10]] as const) {
      const h = Host.create({ series, seed: 4 });
      const base = h.stats().freePages;
      const v = h.createRealm({ ipaBits: 40, memory: 16n << 20n, vcpus: 1, image: 0n });
      v.start();
      for (let i = 0n; i < 8n; i++) v.touch(0x8040_0000n + i * 0x1000n, { access: "write" });
      v.destroy();
      expect(base - h.stats().freePages).toBe(left);
      expect(v.kvm.mmu.pgdSize / 4096).toBe(2);
      const owners = [...h.pages.pagesOf(v.id)].filter((p) => p.leaked).map((p) => p.owner);
      expect(owners.filter((o) => o === "kvm-pgd")).toHaveLength(series === "v8" ? 0 : 2);
      expect(owners.filter((o) => o === "gmem")).toHaveLength(series === "v12" ? 8 : 0);
    }
  });

  it("S13: the v8 walk of the former root RTTs happens but follows no descriptor (the RMM scrubbed them)", () => {
    const r = scenarios.run("S13", { series: "v8" });
    expect(r.outcome).toBe("error");
    expect(r.notes.join(" ")).toMatch(/walked 2 former root RTT page\(s\) as stage-2 tables \(0 descriptor\(s\) followed\)/);
  });

  it("S16: the realm stays DYING with the host VMID still held, one WARN, RD + PGD lost (v8, v10, v12)", () => {
    for (const series of ["v8", "v10", "v12"] as const) {
      const r = scenarios.run("S16", { series });
      expect(r.data.state).toBe("DYING");
      expect(r.data.vmidHeld).toBe(true);
      expect(r.warnCount).toBe(1);
      expect(r.leakedGranules).toBe(3);
    }
  });

  it("RTT_DESTROY of a shared-half L3 table whose only entry is ASSIGNED_NS succeeds and returns the table granule", () => {
    const { host, vm } = smallRealm("v12");
    const rd = BigInt(vm.kvm.realm.rd);
    const l2 = vm.rtt()!.roots[1]!.entries.find((e) => e.state === "TABLE")!.table!;
    const l3 = l2.entries.find((e) => e.state === "TABLE")!.table!;
    expect(l3.refcount).toBe(0);
    const out = host.platform.rmi.rttDestroy(rd, 0x8060_0000n | SHARED, 3n);
    expect(out).toMatchObject({ status: "RMI_SUCCESS", rtt: l3.pa, top: 0x80c0_0000_00n });
  });
});

/** A started 16 MiB realm (40-bit IPA) of the posting, seed 0. */
function realm(series: SeriesId, vcpus = 1) {
  const host = Host.create({ series, seed: 0 });
  const vm = host.createRealm({ ipaBits: 40, memory: 16n << 20n, vcpus });
  expect(vm.start().ok).toBe(true);
  return { host, vm };
}

/** The RMI calls of one write fault at 0x8040_0000 on a fresh realm, as "SMC_NAME STATUS[ index]" (REC_ENTER left out). */
function firstFaultCalls(series: SeriesId): string[] {
  const { host, vm } = realm(series);
  const at = host.trace.length;
  vm.touch(0x8040_0000n, { access: "write" });
  return host.trace.slice(at).filter((l) => l.startsWith("SMC_") && !l.startsWith("SMC_RMI_REC_ENTER")).map((l) => l.split(" ")[0] + " " + l.split(" > ")[1]!.split(" ").slice(0, l.includes("ERROR") ? 2 : 1).join(" "));
}

/** How many calls of each command (RMI name without the prefix) 64 write faults from 0x8040_0000 make on a fresh realm. */
function faultCallCounts(series: SeriesId, commands: string[]): number[] {
  const { host, vm } = realm(series);
  const at = host.trace.length;
  for (let i = 0n; i < 64n; i++) vm.touch(0x8040_0000n + i * 0x1000n, { access: "write" });
  const lines = host.trace.slice(at);
  return commands.map((c) => lines.filter((l) => l.startsWith(`SMC_RMI_${c} `)).length);
}

describe("N2-range-apis-arrive", () => {
  const SHARED = 1n << 39n;
  function access(host: Host, vm: ReturnType<typeof realm>["vm"], ipa: bigint) {
    const at = host.trace.length;
    const t = vm.touch(ipa, { access: "write" });
    return { t, memFault: host.trace.slice(at).some((l) => l.includes("KVM_EXIT_MEMORY_FAULT")), entry: vm.mappingOf(ipa) };
  }

  it("shared alias of a private gfn: v8/v10 exit with KVM_EXIT_MEMORY_FAULT and convert; v12 maps the VMM page with no exit and the gfn stays private", () => {
    for (const series of ["v8", "v10", "v12"] as const) {
      const { host, vm } = realm(series);
      const gfn = 0x8040_1000 / 4096;
      const a = access(host, vm, 0x8040_1000n | SHARED);
      expect(a.t.outcome).toBe("ok");
      expect(a.entry).toMatchObject({ level: 3, state: "ASSIGNED_NS" });
      if (series === "v12") {
        expect(a.memFault).toBe(false);
        expect(a.t.exits).toBe(2);
        expect(vm.kvm.privateGfns.has(gfn)).toBe(true);
      } else {
        expect(a.memFault).toBe(true);
        expect(a.t.exits).toBe(3);
        expect(vm.kvm.privateGfns.has(gfn)).toBe(false);
      }
    }
  });

  it("private gfn via its protected alias maps DATA; a shared (RIPAS EMPTY) page via its protected alias is an SEA from the RMM, no host exit to the VMM", () => {
    for (const series of ["v8", "v10", "v12"] as const) {
      const { host, vm } = realm(series);
      expect(access(host, vm, 0x8040_0000n)).toMatchObject({ t: { outcome: "ok", exits: 2 }, memFault: false, entry: { state: "ASSIGNED_RAM" } });
      vm.share(0x8050_0000n, 0x1000n);
      expect(access(host, vm, 0x8050_0000n | SHARED)).toMatchObject({ t: { outcome: "ok", exits: 2 }, memFault: false, entry: { state: "ASSIGNED_NS" } });
      expect(access(host, vm, 0x8050_0000n)).toMatchObject({ t: { outcome: "sea", exits: 1 }, memFault: false, entry: { state: "UNASSIGNED_EMPTY" } });
    }
  });

  it("RMM 1.0 postings map a private page per granule: DELEGATE + DATA_CREATE_UNKNOWN (ERROR_RTT 2 first, then the L3 RTT); 64 faults cost 65 + 65 + 1 calls", () => {
    for (const series of ["v8", "v10", "v12"] as const) {
      expect(firstFaultCalls(series)).toEqual([
        "SMC_RMI_GRANULE_DELEGATE RMI_SUCCESS",
        "SMC_RMI_DATA_CREATE_UNKNOWN RMI_ERROR_RTT 2",
        "SMC_RMI_GRANULE_DELEGATE RMI_SUCCESS",
        "SMC_RMI_RTT_CREATE RMI_SUCCESS",
        "SMC_RMI_DATA_CREATE_UNKNOWN RMI_SUCCESS",
      ]);
      expect(faultCallCounts(series, ["GRANULE_DELEGATE", "DATA_CREATE_UNKNOWN", "RTT_CREATE"])).toEqual([65, 65, 1]);
    }
  });

  it("addr_range_desc (v13 27/48, v14 29/44): a size equal to a block size is one block descriptor of that class; any other size the page form with CNT min(pages, 511)", async () => {
    const { addr_range_desc } = await import("../../src/kvm/rmi/map.js");
    const { RmiOpMemState } = await import("../../src/rmm/abi/range-desc.js");
    // SZ as each posting encodes it: v13 PAGE 3, PMD 2, PUD 1; v14 PAGE 0, PMD 1, PUD 2
    for (const [series, page, pmd, pud] of [["v13", 3n, 2n, 1n], ["v14", 0n, 1n, 2n]] as const) {
      const k = realm(series).vm.kvm;
      const phys = 0x8020_0000;
      const f = (size: number) => {
        const d = addr_range_desc(k, phys, size, RmiOpMemState.UNDELEGATED);
        return { sz: d & 3n, cnt: (d >> 2n) & 0x3ffn, addr: d & 0xf_ffff_ffff_f000n };
      };
      expect(f(0x1000)).toEqual({ sz: page, cnt: 1n, addr: BigInt(phys) });
      expect(f(0x20_0000)).toEqual({ sz: pmd, cnt: 1n, addr: BigInt(phys) });
      expect(f(0x4000_0000)).toEqual({ sz: pud, cnt: 1n, addr: BigInt(phys) });
      expect(f(0x20_0000 - 0x1000)).toEqual({ sz: page, cnt: 511n, addr: BigInt(phys) });
      expect(f(0x20_0000 + 0x1000)).toEqual({ sz: page, cnt: 511n, addr: BigInt(phys) });
      expect(f(0x3000)).toEqual({ sz: page, cnt: 3n, addr: BigInt(phys) });
    }
  });

  it("S07: v13's one-page descriptor (size class 3) decodes as one 512 GiB block under the bet1 convention; v14's (class 0) as 4 KiB", async () => {
    const rd = await import("../../src/rmm/abi/range-desc.js");
    const phys = 0x8004_0000n;
    expect(rd.rangeBytes(rd.decodeRangeDesc(phys | 3n | (1n << 2n)))).toBe(512 * 2 ** 30);
    expect(rd.rangeBytes(rd.decodeRangeDesc(rd.encodeRangeDesc({ addr: phys, sz: 0, cnt: 1 })))).toBe(4096);
  });

  it("S24: guest_memfd page refcount mapped / after the private unmap: v8, v10 2 -> 1; v12 2 -> 2 (gmem_abort keeps it, realm_destroy_private_granule only undelegates)", () => {
    for (const [series, mapped, after] of [["v8", 2, 1], ["v10", 2, 1], ["v12", 2, 2]] as const) {
      const { host, vm } = realm(series);
      vm.touch(0x8060_0000n, { access: "write" });
      const pa = Number(vm.mappingOf(0x8060_0000n).pa!);
      expect(host.pages.page(pa)?.refcount).toBe(mapped);
      vm.share(0x8060_0000n, 0x1000n);
      expect(host.pages.page(pa)?.refcount).toBe(after);
      expect(vm.mappingOf(0x8060_0000n).state).toBe("UNASSIGNED_EMPTY");
    }
    // three fault / share / unshare cycles on v12: three references nobody drops, plus the file's
    expect(scenarios.run("S24", { series: "v12" }).data.refcount).toBe(4);
  });

  it("S03 variant 1: every interleaving ends with one ASSIGNED entry and no WARN; v8/v10/v12 losers keep extra gmem references (3..19)", () => {
    type V1 = { state: string; refcount: number; warns: number; raced: boolean; schedules: number };
    for (const series of ["v8", "v10", "v12"] as const) {
      const r = scenarios.run("S03", { series });
      const v1 = r.data.variant1 as V1[];
      expect(v1.every((x) => x.state === "ASSIGNED_RAM" && x.warns === 0)).toBe(true);
      expect(r.outcome).toBe("livelock");
      expect(v1.filter((x) => !x.raced).every((x) => x.refcount === 2)).toBe(true);
      const raced = v1.filter((x) => x.raced).map((x) => x.refcount);
      expect(Math.min(...raced)).toBe(3);
      expect(Math.max(...raced)).toBe(19);
    }
  });
});

describe("N3-who-configures-the-realm", () => {
  it("realm_num_root_rtts for ia_bits 32..52 is the count REALM_CREATE accepts (LPA2 above 48 bits), and only that count", async () => {
    const { realm_num_root_rtts } = await import("../../src/kvm/rmi/realm.js");
    const { Platform } = await import("../../src/system/platform.js");
    const { encodeRealmParams } = await import("../../src/rmm/abi/realm-params.js");
    const p = Platform.create({ rmm: "1.0", paBits: 52, features: { lpa2: true, s2sz: 52 } });
    const RD = 0x8800_0000n, ROOTS = 0x8810_0000n, PARAMS = 0x8900_0000n;
    const create = (ia: number, n: number, flags: bigint) => {
      p.rmi.granuleDelegate(RD);
      for (let i = 0n; i < BigInt(n); i++) p.rmi.granuleDelegate(ROOTS + i * 0x1000n);
      p.ns.write(PARAMS, encodeRealmParams({ flags, s2sz: ia, rttLevelStart: 4 - Math.floor((ia - 8) / 9), rttNumStart: n, rttBase: ROOTS, vmid: 1 }));
      const r = p.rmi.realmCreate(RD, PARAMS);
      if (r.status === "RMI_SUCCESS") expect(p.rmi.realmDestroy(RD).status).toBe("RMI_SUCCESS");
      p.rmi.granuleUndelegate(RD);
      for (let i = 0n; i < BigInt(n); i++) p.rmi.granuleUndelegate(ROOTS + i * 0x1000n);
      return r.status;
    };
    const expected: Record<number, number> = { 32: 4, 33: 8, 34: 16, 40: 2, 41: 4, 42: 8, 43: 16, 49: 2, 50: 4, 51: 8, 52: 16 };
    for (let ia = 32; ia <= 52; ia++) {
      const n = realm_num_root_rtts({ realm: { iaBits: ia } } as never);
      expect(n).toBe(expected[ia] ?? 1);
      expect(create(ia, n, 0n)).toBe(ia <= 48 ? "RMI_SUCCESS" : "RMI_ERROR_INPUT");
      expect(create(ia, n, 1n)).toBe("RMI_SUCCESS");
      expect(create(ia, 2 * n, ia > 48 ? 1n : 0n)).toBe("RMI_ERROR_INPUT");
      if (ia <= 48) {
        const vm = Host.create({ series: "v12" }).createRealm({ ipaBits: ia, memory: 2n << 20n });
        expect(vm.kvm.mmu.pgdSize / 4096).toBe(n);
      }
    }
  });

  it("bring-up: v8/v10 create, set RIPAS, create RECs and activate on VMM ioctls; v12 creates the RD at populate and the rest on the first KVM_RUN; the RDs agree (SHA-256, RPV zero)", () => {
    for (const series of ["v8", "v10", "v12"] as const) {
      const host = Host.create({ series, seed: 2 });
      const vm = host.createRealm({ ipaBits: 40, memory: 64n << 20n, vcpus: 2 });
      const start = vm.start();
      expect(start.ok).toBe(true);
      expect(vm.state).toBe("ACTIVE");
      const t = host.trace;
      const at = (re: RegExp) => t.findIndex((l) => re.test(l));
      if (series === "v12") {
        expect(at(/^SMC_RMI_REALM_CREATE/)).toBeLessThan(at(/^IOCTL: KVM_ARM_RMI_POPULATE/));
        expect(at(/^SMC_RMI_REALM_ACTIVATE/)).toBeGreaterThan(at(/^IOCTL: KVM_ARM_RMI_POPULATE/));
        expect(at(/^SMC_RMI_REALM_ACTIVATE/)).toBeLessThan(at(/^IOCTL: KVM_RUN\(vcpu0\)/));
        expect(at(/^SMC_RMI_REC_CREATE/)).toBeGreaterThan(at(/^IOCTL: KVM_ARM_RMI_POPULATE/));
      } else {
        expect(at(/^SMC_RMI_REALM_CREATE/)).toBeLessThan(at(/^IOCTL: KVM_ENABLE_CAP\(RME, CREATE_REALM\)/));
        expect(at(/^SMC_RMI_RTT_INIT_RIPAS/)).toBeLessThan(at(/INIT_RIPAS_REALM/));
        expect(at(/^SMC_RMI_REC_CREATE/)).toBeLessThan(at(/KVM_ARM_VCPU_FINALIZE\(vcpu0/));
        expect(at(/^SMC_RMI_REALM_ACTIVATE/)).toBeLessThan(at(/ACTIVATE_REALM\)/));
      }
      const rd = t.slice(at(/^SMC_RMI_GRANULE_DELEGATE/), at(/^SMC_RMI_REC_AUX_COUNT/) + 1).map((l) => l.replace(/ > .*/, "").split(" ")[0]);
      expect(rd).toEqual(["SMC_RMI_GRANULE_DELEGATE", "SMC_RMI_GRANULE_DELEGATE", "SMC_RMI_GRANULE_DELEGATE", "SMC_RMI_REALM_CREATE", "SMC_RMI_REC_AUX_COUNT"]);
      const realm = host.platform.rmm.realms.get(vm.kvm.realm.rd / 4096)!;
      expect({ s2sz: realm.s2sz, sl: realm.sl, n: realm.numRoot, hash: realm.hashAlgo }).toEqual({ s2sz: 40, sl: 1, n: 2, hash: 0 });
      expect(realm.rpv.every((b) => b === 0)).toBe(true);
    }
  });

  it("v12 realm_create_rd: REALM_CREATE or REC_AUX_COUNT failing unwinds everything, populate -ENXIO, realm stays NONE", () => {
    for (const rmi of ["REALM_CREATE", "REC_AUX_COUNT"]) {
      const host = Host.create({ series: "v12", seed: 2 });
      const vm = host.createRealm({ ipaBits: 40, memory: 64n << 20n, vcpus: 1 });
      host.inject({ rmi, status: "RMI_ERROR_INPUT" });
      const start = vm.start();
      expect(start.ok).toBe(false);
      expect(start.steps[0]!.ret).toBe("-ENXIO");
      expect(vm.state).toBe("NONE");
      const s = host.stats();
      expect(s.granules).toEqual({ DELEGATED: 0, RD: 0, REC: 0, REC_AUX: 0, DATA: 0, RTT: 0 });
      expect(s.leakedPages).toBe(0);
      expect(s.warnCount).toBe(rmi === "REC_AUX_COUNT" ? 1 : 0);
      if (rmi === "REC_AUX_COUNT") expect(host.trace.some((l) => l.startsWith("SMC_RMI_REALM_DESTROY") && l.endsWith("RMI_SUCCESS"))).toBe(true);
    }
  });

  it("S17 A on v12: no in-kernel irqchip -> the first KVM_RUN creates the RD, then fails -EOPNOTSUPP; KVM DEAD, RMM NEW, RD and roots delegated", () => {
    const host = Host.create({ series: "v12", seed: 2 });
    const vm = host.createRealm({ ipaBits: 40, memory: 64n << 20n, vcpus: 1, image: 0n, irqchip: false });
    vm.start();
    const t = host.trace;
    expect(t.findIndex((l) => l.startsWith("SMC_RMI_REALM_CREATE"))).toBeLessThan(t.indexOf("IOCTL: KVM_RUN(vcpu0) = -EOPNOTSUPP"));
    expect(t).toContain("IOCTL: KVM_RUN(vcpu0) = -EOPNOTSUPP");
    expect(vm.state).toBe("DEAD");
    expect(vm.rmmState).toBe("NEW");
    expect(host.stats().granules).toEqual({ DELEGATED: 0, RD: 1, REC: 0, REC_AUX: 0, DATA: 0, RTT: 2 });
  });
});

describe("N3-who-configures-the-realm (S17 B)", () => {
  it("v12: a second KVM_RUN after the failed first run reaches realm_ensure_created on a DEAD realm: -ENXIO", () => {
    const host = Host.create({ series: "v12", seed: 2 });
    const vm = host.createRealm({ ipaBits: 40, memory: 64n << 20n, vcpus: 1, image: 0n, irqchip: false });
    vm.start();
    const again = vm.touch(0x8000_0000n);
    expect(again).toMatchObject({ outcome: "error", errno: "-ENXIO" });
    expect(vm.state).toBe("DEAD");
  });
});

describe("N4-ripas-before-and-after", () => {
  const postings = ["v8", "v10", "v12"] as const;
  it("initial RIPAS: v8/v10 the VMM's INIT_RIPAS_REALM before populate (2 calls); v12 KVM at activation after populate, stepping over the 16 populated pages", () => {
    for (const series of postings) {
      const host = Host.create({ series, seed: 3 });
      const vm = host.createRealm({ ipaBits: 40, memory: 64n << 20n, vcpus: 2 });
      expect(vm.start().ok).toBe(true);
      const t = host.trace;
      const calls = t.filter((l) => l.startsWith("SMC_RMI_RTT_INIT_RIPAS"));
      const firstInit = t.findIndex((l) => l.startsWith("SMC_RMI_RTT_INIT_RIPAS"));
      const populate = t.findIndex((l) => /POPULATE/.test(l));
      if (series === "v12") {
        expect(firstInit).toBeGreaterThan(populate);
        expect(calls.filter((l) => l.endsWith("RMI_ERROR_RTT 3"))).toHaveLength(16);
        expect(calls).toHaveLength(18);
      } else {
        expect(firstInit).toBeLessThan(populate);
        expect(calls).toHaveLength(2);
      }
      expect(vm.mappingOf(RAM_N4 + 0x20_0000n)).toMatchObject({ level: 2, ripas: "RAM" });
      expect(vm.mappingOf(RAM_N4 + (64n << 20n))).toMatchObject({ ripas: "EMPTY" });
    }
  });

  // v9 15/43 (the v10 stand-in; v10's changelog: "Minor coding style fixes") continues without
  // free_rtt; v12 17/46 frees the granule before the continue.
  // realm_create_rtt_levels when RTT_CREATE answers (RMI_ERROR_RTT, level - 1) because another vCPU
  // created the table first: v8 15/43 (as quoted in Gavin Shan's reply of 30 Apr 2025) tests
  // RMI_RETURN_INDEX(ret) == level (the new level), never true here: WARN "Failed to create RTT",
  // free_rtt, and realm_map_protected fails the fault (undelegating its data page); v10 (v9 15/43
  // stand-in): "The RTT already exists, continue" without free_rtt, the granule stays delegated with no
  // owner; v12 17/46: free_rtt(rtt) before the continue.
  it("S10: v8 WARNs, undelegates the loser's RTT granule and fails the fault; v10 leaves it delegated with no owner; v12 undelegates it and continues", () => {
    for (const series of postings) {
      const r = scenarios.run("S10", { series });
      const i = r.trace.findIndex((l) => l.startsWith("SMC_RMI_RTT_CREATE") && l.includes("RMI_ERROR_RTT 2"));
      expect(i).toBeGreaterThan(0);
      const g = r.trace[i]!.split(" ")[2]!;
      const [next, after] = [r.trace[i + 1]!, r.trace[i + 2]!];
      if (series === "v8") {
        expect(next).toMatch(/^WARNING: realm_create_rtt_levels: Failed to create RTT at level 3/);
        expect(after.startsWith(`SMC_RMI_GRANULE_UNDELEGATE ${g} > RMI_SUCCESS`)).toBe(true);
        expect(r.trace.slice(i).some((l) => l.startsWith("SMC_RMI_DATA_CREATE_UNKNOWN"))).toBe(false);
      } else if (series === "v10") {
        expect(next).toMatch(/already exists; granule 0x[0-9a-f]+ not freed/);
        expect(after.startsWith("SMC_RMI_DATA_CREATE_UNKNOWN")).toBe(true);
      } else {
        expect(next.startsWith(`SMC_RMI_GRANULE_UNDELEGATE ${g} > RMI_SUCCESS`)).toBe(true);
        expect(after.startsWith("SMC_RMI_DATA_CREATE_UNKNOWN")).toBe(true);
      }
      expect([r.outcome, r.warnCount, r.leakedGranules, r.data.delegatedOrphans]).toEqual(
        { v8: ["warn", 1, 0, 0], v10: ["leak", 0, 1, 1], v12: ["ok", 0, 0, 0] }[series],
      );
    }
  });

  it("S11: kvm_account_pgtable_pages 0 -> 2 -> 3 -> (v8 -3 = -(1 + vCPUs); v10/v12 0)", () => {
    for (const series of postings) {
      const host = Host.create({ series, seed: 3 });
      const vm = host.createRealm({ ipaBits: 40, memory: 64n << 20n, vcpus: 2 });
      const points = [vm.kvm.pgtablePages];
      vm.start();
      points.push(vm.kvm.pgtablePages);
      vm.touch(RAM_N4 + (8n << 20n), { access: "write" });
      points.push(vm.kvm.pgtablePages);
      vm.destroy();
      points.push(vm.kvm.pgtablePages);
      expect(points).toEqual([0, 2, 3, series === "v8" ? -3 : 0]);
      // v10: the PGD (S14); v12: the PGD and the page faulted in after start (gmem_abort keeps its reference, S24)
      expect(host.stats().leakedPages).toBe({ v8: 0, v10: 2, v12: 3 }[series]);
    }
  });

  // v8 15/43 realm_init_ipa_state (as quoted in Gavin Shan's reply of 30 Apr 2025): `if (WARN_ON(err_level >= level)) return -ENXIO;`
  it("S19: v8 WARN + -ENXIO, v10 -EINVAL without WARN, v12 succeeds with 4096 extra RTT_INIT_RIPAS", () => {
    const r = Object.fromEntries(postings.map((s) => [s, scenarios.run("S19", { series: s })]));
    const last = (x: scenarios.ScenarioResult) => (x.data.start as { ret: string }[]).at(-1)!.ret;
    expect([r.v8!.outcome, r.v8!.warnCount, last(r.v8!)]).toEqual(["error", 1, "-ENXIO"]);
    expect([r.v10!.outcome, r.v10!.warnCount, last(r.v10!)]).toEqual(["error", 0, "-EINVAL"]);
    expect([r.v12!.outcome, r.v12!.warnCount]).toEqual(["ok", 0]);
    expect(r.v8!.data.rttInitRipasCalls).toBe(1);
    expect(r.v12!.data.rttInitRipasCalls).toBe(4097);
  });
});
const RAM_N4 = 0x8000_0000n;

describe("N2-range-apis-arrive (RMM 2.0 postings)", () => {
  const SHARED = 1n << 39n;
  const V2 = ["v13", "v14"] as const;

  it("v13/v14 dispatch as v12: the shared alias of a private gfn maps with no memory-fault exit; a RIPAS EMPTY page via its protected alias is an SEA", () => {
    for (const series of V2) {
      const { host, vm } = realm(series);
      const at = host.trace.length;
      const t = vm.touch(0x8040_1000n | SHARED, { access: "write" });
      expect(t).toMatchObject({ outcome: "ok", exits: 2 });
      expect(host.trace.slice(at).some((l) => l.includes("KVM_EXIT_MEMORY_FAULT"))).toBe(false);
      expect(vm.kvm.privateGfns.has(0x8040_1000 / 4096)).toBe(true);
      vm.share(0x8050_0000n, 0x1000n);
      expect(vm.touch(0x8050_0000n, { access: "write" }).outcome).toBe("sea");
    }
  });

  it("v13/v14 private fault: GRANULE_RANGE_DELEGATE + RTT_DATA_MAP (ERROR_RTT 2, RTT_CREATE, retry); 64 faults cost 65 + 65 + 1", () => {
    for (const series of V2) {
      expect(firstFaultCalls(series)).toEqual([
        "SMC_RMI_GRANULE_RANGE_DELEGATE RMI_SUCCESS",
        "SMC_RMI_RTT_DATA_MAP RMI_ERROR_RTT 2",
        "SMC_RMI_GRANULE_RANGE_DELEGATE RMI_SUCCESS",
        "SMC_RMI_RTT_CREATE RMI_SUCCESS",
        "SMC_RMI_RTT_DATA_MAP RMI_SUCCESS",
      ]);
      expect(faultCallCounts(series, ["GRANULE_RANGE_DELEGATE", "RTT_DATA_MAP", "RTT_CREATE"])).toEqual([65, 65, 1]);
    }
  });

  it("S07 as the notebook tabulates it: v13 writes SZ 3 for a page, its unmap WARNs once; on a bet1 RMM its realm starts (REC_AUX_COUNT, no descriptor) and the private fault fails (-ENXIO, WARN); v14 clean, its SRO donation misread by an inverted RMM", () => {
    const v13 = scenarios.run("S07", { series: "v13" });
    expect(v13.data).toMatchObject({ encoder: { PAGE: 3 }, decoderReadsPageAs: 512 * 2 ** 30, rmmConvention: "inverted", run: { fault: "ok", unmapWarns: 1 }, otherRmm: { convention: "bet1", realmActive: true, fault: "error", errno: "-ENXIO", warns: ["realm_map_protected"] } });
    expect(v13.outcome).toBe("warn");
    const v14 = scenarios.run("S07", { series: "v14" });
    expect(v14.data).toMatchObject({ encoder: { PAGE: 0 }, decoderReadsPageAs: 4096, rmmConvention: "bet1", run: { fault: "ok", unmapWarns: 0 }, otherRmm: { realmActive: false } });
    expect(v14.outcome).toBe("ok");
  });

  // Driven with a 4 MiB folio (addr_range_desc, v13 27/48 / v14 29/44: exactly 2 MiB is one PMD block
  // descriptor, so only a size that is not a block size can map part-way); the call from folio page 511 fails.
  // v13 27/48 realm_map_protected err_undelegate: undelegate_range(phys, map_size) from the advanced phys
  // (page 511) runs past the folio until it fails (WARN, get_page pins page 511), then
  // realm_unmap_private_range(base_ipa, ipa) stops at page 511 (already undelegated; its decoder misreads
  // v13's SZ, S07): 513 + 1 + 511 + 1 calls. v14 29/44: realm_unmap_private_range first (pages 0..510),
  // then rmi_undelegate_range(base_phys, map_size) fails at once on page 0 (WARN, get_page pins page 0):
  // the 513 granules never mapped stay delegated.
  it("S08 unwind counts: v8-v12 two clean undelegates; v13 1026 calls, one outside the folio, two failures, page 511 pinned; v14 512 calls, one failure, 513 granules left delegated, page 0 pinned", () => {
    for (const series of ["v8", "v10", "v12"] as const) {
      expect(scenarios.run("S08", { series }).data).toMatchObject({ ret: "-ENXIO", undelegateCalls: 2, undelegateOutsideFolio: 0, undelegateFailures: 0, folioGranulesNotReturned: 0, pinned: 0 });
    }
    const v13 = scenarios.run("S08", { series: "v13" });
    expect(v13.data).toMatchObject({ ret: "-ENXIO", undelegateCalls: 1026, undelegateOutsideFolio: 1, undelegateFailures: 2, folioGranulesNotReturned: 0, pinned: 1, pinnedFolioPage: 511 });
    expect(v13.warnCount).toBe(3);
    const v14 = scenarios.run("S08", { series: "v14" });
    expect(v14.data).toMatchObject({ ret: "-ENXIO", undelegateCalls: 512, undelegateOutsideFolio: 0, undelegateFailures: 1, folioGranulesNotReturned: 513, pinned: 1, pinnedFolioPage: 0 });
    expect(v14.warnCount).toBe(2);
  });

  it("S24: v13 keeps the reference (2 -> 2; 3 cycles leave 3 extra), v14 releases it (1 -> 1, gmem_abort: goto out_release_page)", () => {
    for (const [series, mapped, after] of [["v13", 2, 2], ["v14", 1, 1]] as const) {
      const { host, vm } = realm(series);
      vm.touch(0x8060_0000n, { access: "write" });
      const pa = Number(vm.mappingOf(0x8060_0000n).pa!);
      expect(host.pages.page(pa)?.refcount).toBe(mapped);
      vm.share(0x8060_0000n, 0x1000n);
      expect(host.pages.page(pa)?.refcount).toBe(after);
    }
    expect(scenarios.run("S24", { series: "v13" })).toMatchObject({ outcome: "warn", warnCount: 3, data: { refcount: 4 } });
    expect(scenarios.run("S24", { series: "v14" })).toMatchObject({ outcome: "ok", data: { refcount: 1 } });
  });

  it("S03: v13 losers keep extra references like v10 (3..19), v14 stays at 1; no WARN, one ASSIGNED entry in every schedule", () => {
    type V1 = { state: string; refcount: number; warns: number; raced: boolean };
    for (const series of V2) {
      const v1 = scenarios.run("S03", { series }).data.variant1 as V1[];
      expect(v1.every((x) => x.state === "ASSIGNED_RAM" && x.warns === 0)).toBe(true);
      const raced = v1.filter((x) => x.raced).map((x) => x.refcount);
      if (series === "v14") expect(v1.every((x) => x.refcount === 1)).toBe(true);
      else expect([Math.min(...raced), Math.max(...raced)]).toEqual([3, 19]);
    }
  });

  it("v14 29/44: only v14 fails a shared read fault (S05, -EFAULT + WARN) and a THP shared fault (S06, -EINVAL + WARN); its S04 loser WARNs twice", () => {
    for (const series of ["v8", "v10", "v12", "v13"] as const) {
      expect(scenarios.run("S05", { series }).outcome).toBe("ok");
      expect(scenarios.run("S06", { series }).outcome).toBe("ok");
      expect(scenarios.run("S04", { series }).data).toMatchObject({ warns: 0, ignored: 1 });
    }
    expect(scenarios.run("S05", { series: "v14" })).toMatchObject({ outcome: "error", warnCount: 1, data: { read: { errno: "-EFAULT" } } });
    expect(scenarios.run("S06", { series: "v14" })).toMatchObject({ outcome: "error", warnCount: 1, data: { thpOn: { errno: "-EINVAL" }, thpOff: { outcome: "ok" } } });
    expect(scenarios.run("S04", { series: "v14" }).data).toMatchObject({ errorRttRmm: { warns: 2 } });
  });
});

describe("N5-tearing-it-all-down (RMM 2.0 postings)", () => {
  const SHARED = 1n << 39n;

  it("S14 chart: after destroy v13 keeps 10 pages (2 PGD + 8 private pages its unmap could not undelegate), v14 none", () => {
    for (const [series, left] of [["v13", 10], ["v14", 0]] as const) {
      const h = Host.create({ series, seed: 4 });
      const base = h.stats().freePages;
      const v = h.createRealm({ ipaBits: 40, memory: 16n << 20n, vcpus: 1, image: 0n });
      v.start();
      for (let i = 0n; i < 8n; i++) v.touch(0x8040_0000n + i * 0x1000n, { access: "write" });
      v.destroy();
      expect(base - h.stats().freePages).toBe(left);
      const owners = [...h.pages.pagesOf(v.id)].filter((p) => p.leaked).map((p) => p.owner).sort();
      expect(owners).toEqual(series === "v13" ? ["gmem", "gmem", "gmem", "gmem", "gmem", "gmem", "gmem", "gmem", "kvm-pgd", "kvm-pgd"] : []);
    }
    expect(scenarios.run("S14", { series: "v14" })).toMatchObject({ outcome: "ok", data: { freePagesLost: 0 } });
    expect(scenarios.run("S13", { series: "v14" }).outcome).toBe("ok");
    expect(scenarios.run("S12", { series: "v14" }).outcome).toBe("ok");
    expect(scenarios.run("S13", { series: "v13" }).warnCount).toBeGreaterThan(0);
  });

  // v13: the first pass (mmu_notifier_release -> kvm_free_stage2_pgd) stops early: v13 21/48
  // realm_unmap_private_range breaks after the misread descriptor's failed undelegate (S07), so the L3
  // table still has live entries: RTT_DESTROY answers RMI_ERROR_RTT 3, realm_tear_down_rtt_level and
  // kvm_realm_destroy_rtts WARN (v13 15/48). The guest_memfd release unmaps the rest, and the second
  // pass in kvm_destroy_realm does the teardown (4 of its 8 RTT_DESTROY succeed). v14 17/44: the first
  // pass takes everything, the second finds nothing ("no table here" twice).
  it("S15: v13 and v14 both walk twice; v13's first pass stops at a live L3 table (4 + 8 RTT_DESTROY, S07), v14's second pass is 2 x 'no table here' (13); only v14 terminates, before its walk and REALM_DESTROY", () => {
    for (const series of ["v13", "v14"] as const) {
      const { host, vm } = smallRealm(series);
      const at = host.trace.length;
      vm.destroy();
      const lines = host.trace.slice(at);
      const n = (c: string) => lines.filter((l) => l.startsWith(`SMC_RMI_${c} `)).length;
      const arch = lines.findIndex((l) => l.includes("kvm_arch_destroy_vm"));
      const first = lines.slice(0, arch).filter((l) => l.startsWith("SMC_RMI_RTT_DESTROY"));
      const second = lines.slice(arch).filter((l) => l.startsWith("SMC_RMI_RTT_DESTROY"));
      if (series === "v13") {
        expect([first.length, second.length]).toEqual([4, 8]);
        expect(first.at(-1)).toMatch(/ 3 > RMI_ERROR_RTT 3 /);
        expect(lines.slice(0, arch).some((l) => l.startsWith("WARNING: realm_tear_down_rtt_level"))).toBe(true);
        expect(second.filter((l) => l.includes("> RMI_SUCCESS"))).toHaveLength(4);
        expect(host.stats()).toMatchObject({ leakedPages: 4, warnCount: 4, granules: { DELEGATED: 0, RD: 0, REC: 0, REC_AUX: 0, DATA: 0, RTT: 0 } });
      } else {
        expect(n("RTT_DESTROY")).toBe(13);
        expect(second).toHaveLength(2);
        for (const l of second) expect(l).toMatch(/> RMI_ERROR_RTT 1 0 \S+$/);
      }
      expect(n("REALM_TERMINATE")).toBe(series === "v14" ? 1 : 0);
      expect(n("REALM_DESTROY")).toBe(1);
      if (series === "v14") {
        const term = lines.findIndex((l) => l.startsWith("SMC_RMI_REALM_TERMINATE"));
        const walk2 = lines.findIndex((l, i) => i > arch && l.startsWith("SMC_RMI_RTT_DESTROY"));
        const destroy = lines.findIndex((l) => l.startsWith("SMC_RMI_REALM_DESTROY"));
        expect(arch < term && term < walk2 && walk2 < destroy).toBe(true);
        expect(host.stats()).toMatchObject({ leakedPages: 0, warnCount: 0, granules: { DELEGATED: 0, RD: 0, REC: 0, REC_AUX: 0, DATA: 0, RTT: 0 } });
      }
      expect(vm.state).toBe("DEAD");
    }
  });

  // N5's S12 paragraph. v8 15/43 as quoted in Gavin Shan's reply of 30 Apr 2025: realm_unmap_private_range
  // never reschedules, realm_unmap_shared_range calls cond_resched_rwlock_write on every pass. v12 24/46
  // gmem_abort keeps each mapped page's reference (PGD + 255 faulted pages). v13 21/48
  // realm_unmap_private_range stops at the misread descriptor (S07): DATA and RTTs stay, REALM_DESTROY fails.
  it("S12 as N5 states it: v8 one reschedule (shared half) after 274 private steps; v12 leaks 257; v13 8 WARNs, 266 leaked, 8 RTT pages counted, DYING", () => {
    const v8 = scenarios.run("S12", { series: "v8" });
    expect(v8.outcome).toBe("ok");
    expect(v8.data.resched).toMatchObject({ taken: 1, longestWithout: 274 });
    expect(scenarios.run("S12", { series: "v12" })).toMatchObject({ outcome: "leak", warnCount: 0, leakedGranules: 257 });
    const v13 = scenarios.run("S12", { series: "v13" });
    expect(v13).toMatchObject({ outcome: "warn", warnCount: 8, leakedGranules: 266, pgtablePages: 8 });
    expect(v13.trace.some((l) => l.startsWith("WARNING: kvm_destroy_realm: REALM_DESTROY") && l.includes("stays DYING"))).toBe(true);
    // S16 on v13: two unmap passes stop at a misread descriptor, the RTT teardown they block WARNs twice, then REALM_DESTROY
    const s16 = scenarios.run("S16", { series: "v13" });
    expect(s16.trace.filter((l) => l.startsWith("WARNING: ")).map((l) => l.split(":")[1]!.trim())).toEqual([
      "realm_unmap_private_range", "realm_tear_down_rtt_level", "kvm_realm_destroy_rtts", "realm_unmap_private_range", "kvm_destroy_realm",
    ]);
  });

  it("S16 on v13/v14: DYING, no host VMID to hold", () => {
    for (const series of ["v13", "v14"] as const) {
      const r = scenarios.run("S16", { series });
      expect(r.data).toMatchObject({ state: "DYING", vmidHeld: false });
      expect(r.leakedGranules).toBe(3);
    }
  });
});

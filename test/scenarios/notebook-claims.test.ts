/**
 * Claims the walkthrough notebooks (notebooks/*.ipynb) make about outcomes, asserted here so that
 * a notebook never states something only its stored output shows. One `describe` per notebook;
 * other notebook authors append their own blocks.
 */
import { describe, it, expect } from "vitest";
import { Host } from "../../src/host/host.js";
import type { SeriesId } from "../../src/host/series/index.js";
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

  it("after the teardown nothing is left delegated; the two leaked pages are v12's PGD (S14)", () => {
    const { host, vm, ram } = quickstart();
    host.inject({ rmi: "RTT_CREATE", nth: 1, status: "RMI_ERROR_RTT", index: 2 });
    vm.touch(ram + 0x1000000n, { access: "write" });
    vm.destroy();
    const s = host.stats();
    expect(s.granules).toEqual({ DELEGATED: 0, RD: 0, REC: 0, REC_AUX: 0, DATA: 0, RTT: 0 });
    expect(s.leakedPages).toBe(vm.kvm.mmu.pgdSize / 4096);
    expect(s.leakedPages).toBe(2);
    expect(s.vms[0]).toMatchObject({ state: "DEAD", pgtablePages: 0 });
    expect(scenarios.run("S14", { series: "v12" }).data.freePagesLost).toBe(2);
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

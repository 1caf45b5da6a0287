import { describe, it, expect } from "vitest";
import { Host } from "../../src/host/host.js";
import { explore } from "../../src/sched/sched.js";

const X = 0x8000_0000n + 0x20000n;

function race(series: "v8" | "v10" | "v12") {
  return explore(() => {
    const host = Host.create({ series, seed: 1, invariants: false });
    const vm = host.createRealm({ ipaBits: 40, memory: 16n << 20n, vcpus: 2 });
    vm.start();
    const data0 = host.granules().DATA;
    const { threads } = vm.raceThreads([
      { vcpu: 0, ops: [{ kind: "access", ipa: X, access: "write" }] },
      { vcpu: 1, ops: [{ kind: "access", ipa: X, access: "write" }] },
    ]);
    return {
      threads,
      check: () => {
        const m = vm.mappingOf(X);
        const page = host.pages.page(Number(m.pa));
        const raced = host.trace.some((l) => l.includes("assume another vCPU handled the fault"));
        return { state: m.state, newData: host.granules().DATA - data0, delegated: host.granules().DELEGATED, refcount: page?.refcount, raced, invariants: host.checkInvariants() };
      },
    };
  }, { maxPreemptions: 2 });
}

describe("two vCPUs racing on one private page (S03, every interleaving up to 2 preemptions)", () => {
  for (const series of ["v8", "v10", "v12"] as const) {
    it(`${series}: one DATA granule, no orphan delegated granule, in every interleaving`, () => {
      const runs = race(series);
      expect(runs.length).toBeGreaterThan(20);
      expect(runs.some((r) => r.result.raced)).toBe(true);
      for (const r of runs) {
        expect(r.result.state).toBe("ASSIGNED_RAM");
        expect(r.result.newData).toBe(1);
        expect(r.result.delegated).toBe(0);
        expect(r.result.invariants).toEqual([]);
      }
      if (series === "v12") {
        // gmem_abort releases its reference after every map attempt: only guest_memfd's own remains.
        for (const r of runs) expect(r.result.refcount).toBe(1);
      } else {
        // private_memslot_fault keeps the reference on "success"; the loser's "raced" return of 0
        // is a success too, so each of its refaults keeps one more (found by running v8/v10).
        for (const r of runs) if (!r.result.raced) expect(r.result.refcount).toBe(2);
        expect(runs.some((r) => r.result.raced && r.result.refcount! > 2)).toBe(true);
      }
    });
  }
});

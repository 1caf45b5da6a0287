import { describe, it, expect } from "vitest";
import { racePrivatePage } from "./race-helpers.js";

describe("two vCPUs racing on one private page (S03, every interleaving up to 2 preemptions)", () => {
  for (const series of ["v8", "v10", "v12"] as const) {
    it(`${series}: one DATA granule, no orphan delegated granule, in every interleaving`, () => {
      const runs = racePrivatePage(series);
      expect(runs.length).toBeGreaterThan(20);
      expect(runs.some((r) => r.result.raced)).toBe(true);
      for (const r of runs) {
        expect(r.result.state).toBe("ASSIGNED_RAM");
        expect(r.result.newData).toBe(1);
        expect(r.result.delegated).toBe(0);
        expect(r.result.invariants).toEqual([]);
      }
      // v8/v10 private_memslot_fault and v12 24/46 gmem_abort ("if successful don't release the
      // page") keep the reference on "success"; the loser's "raced" return of 0 is a success too,
      // so each of its refaults keeps one more (found by running v8/v10).
      for (const r of runs) if (!r.result.raced) expect(r.result.refcount).toBe(2);
      expect(runs.some((r) => r.result.raced && r.result.refcount! > 2)).toBe(true);
    });
  }
});

/**
 * scenarios.run's contract (design.md): every (id, posting) pair scenarios.list() advertises runs to
 * a ScenarioResult, never a throw (a scenario that breaks is outcome "error" with the exception in
 * its notes); a bad id or posting throws an error naming the argument. S01..S33 are all listed.
 */
import { describe, it, expect } from "vitest";
import * as scenarios from "../../src/scenarios/index.js";
import { runScenario } from "../../src/scenarios/scenario.js";
import { Host } from "../../src/host/host.js";

const OUTCOMES = ["ok", "livelock", "leak", "warn", "error", "hang"];

describe("scenarios.run contract", () => {
  it("lists S01..S33 (the catalogue of linux-cca-series.md §6), one title each", () => {
    const l = scenarios.list();
    const ids = l.map((s) => s.id);
    const all = Array.from({ length: 33 }, (_, i) => `S${String(i + 1).padStart(2, "0")}`);
    expect(ids.filter((id) => id !== "S90")).toEqual(all);
    for (const s of l) expect(s.title).not.toMatch(/ \| /);
    // S29 is simulated (test/scenarios/s29.test.ts): v13's RMI init fails on sbsa-ref's DRAM
    const s29 = scenarios.run("S29", { series: "v13" });
    expect(s29.outcome).toBe("error");
    expect(s29.data.simulatable).toBeUndefined();
    expect(s29.rmiCalls).toBeGreaterThan(0); // the v13 host's own RMM boot, nothing else
  });

  it("bad arguments throw errors that name them", () => {
    expect(() => scenarios.run("S99", { series: "v8" })).toThrow(/id: unknown scenario 'S99'/);
    expect(() => scenarios.run(42 as never, { series: "v8" })).toThrow(/id must be a string/);
    expect(() => scenarios.run("S01", { series: "v9" })).toThrow(/opts\.series: posting 'v9' is not available/);
    expect(() => scenarios.run("S01", undefined as never)).toThrow(/opts\.series/);
  });

  it("a scenario that throws is a result with outcome \"error\", not an exception", () => {
    const r = runScenario({
      id: "S90",
      title: "test only: a script that breaks half-way",
      affects: [],
      run(series, mk) {
        const host = Host.create({ series, seed: 1 });
        mk(host);
        host.createRealm({ ipaBits: 40, memory: 16n << 20n }).start();
        throw new Error("boom");
      },
    }, "v14");
    expect(r.outcome).toBe("error");
    expect(r.notes).toEqual(["the scenario stopped with an exception: Error: boom"]);
    expect(r.data.exception).toBe("Error: boom");
    expect(r.rmiCalls).toBeGreaterThan(20); // the host the script made is the one reported
    expect(r.trace.some((l) => l.startsWith("IOCTL: KVM_RUN(vcpu0) = 0"))).toBe(true);
  });

  it("every advertised (id, posting) pair runs to a result", () => {
    for (const s of scenarios.list()) {
      if (s.id === "S90" || ["S03", "S19"].includes(s.id)) continue; // slow ones are run per posting in catalogue.test.ts
      for (const series of s.series) {
        const r = scenarios.run(s.id, { series });
        expect(OUTCOMES, `${s.id} on ${series}`).toContain(r.outcome);
        expect(r.data.exception, `${s.id} on ${series}`).toBeUndefined();
      }
    }
  }, 120_000);
});

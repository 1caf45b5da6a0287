import { describe, it, expect } from "vitest";
import * as scenarios from "../../src/scenarios/index.js";

type Expect = { outcome: string; check?: (r: scenarios.ScenarioResult) => void };
const E: Record<string, Record<"v8" | "v10" | "v12", Expect>> = {
  S01: {
    v8: { outcome: "livelock", check: (r) => { expect(r.livelock).toBe(true); expect(r.warnCount).toBe(0); } },
    v10: { outcome: "ok", check: (r) => expect(r.data.qMapping).toEqual({ level: 3, state: "ASSIGNED_NS" }) },
    v12: { outcome: "ok", check: (r) => expect(r.data.qMapping).toEqual({ level: 3, state: "ASSIGNED_NS" }) },
  },
  S03: {
    v8: { outcome: "livelock", check: (r) => expect(r.warnCount).toBe(0) },
    v10: { outcome: "livelock", check: (r) => expect(r.warnCount).toBe(0) },
    v12: { outcome: "livelock", check: (r) => expect(r.warnCount).toBe(0) },
  },
  S10: {
    v8: { outcome: "leak", check: (r) => expect(r.data.delegatedOrphans).toBe(1) },
    v10: { outcome: "ok", check: (r) => expect(r.data.delegatedOrphans).toBe(0) },
    v12: { outcome: "ok", check: (r) => expect(r.data.delegatedOrphans).toBe(0) },
  },
  S11: {
    v8: { outcome: "ok", check: (r) => expect(r.pgtablePages).toBe(-3) },
    v10: { outcome: "leak", check: (r) => expect(r.pgtablePages).toBe(0) },
    v12: { outcome: "leak", check: (r) => expect(r.pgtablePages).toBe(0) },
  },
  S12: {
    v8: { outcome: "ok", check: (r) => expect((r.data.resched as { taken: number }).taken).toBe(0) },
    v10: { outcome: "leak", check: (r) => expect((r.data.resched as { longestWithout: number }).longestWithout).toBe(0) },
    v12: { outcome: "leak", check: (r) => expect((r.data.resched as { longestWithout: number }).longestWithout).toBe(0) },
  },
  S13: { v8: { outcome: "error" }, v10: { outcome: "leak" }, v12: { outcome: "leak" } },
  S14: {
    v8: { outcome: "ok", check: (r) => expect(r.data.freePagesLost).toBe(0) },
    v10: { outcome: "leak", check: (r) => expect(r.data.freePagesLost).toBe(2) },
    v12: { outcome: "leak", check: (r) => expect(r.data.freePagesLost).toBe(2) },
  },
  S16: {
    v8: { outcome: "warn", check: (r) => expect(r.data.state).toBe("DYING") },
    v10: { outcome: "warn", check: (r) => expect(r.data.state).toBe("DYING") },
    v12: { outcome: "warn", check: (r) => expect(r.data.state).toBe("DYING") },
  },
  S19: {
    v8: { outcome: "error", check: (r) => expect(r.warnCount).toBe(1) },
    v10: { outcome: "error", check: (r) => expect(r.warnCount).toBe(0) },
    // the "ugly hack": one extra RTT_INIT_RIPAS per populated page (16 MiB = 4096 pages)
    v12: { outcome: "ok", check: (r) => expect(r.data.rttInitRipasCalls).toBeGreaterThanOrEqual(4096) },
  },
  S23: {
    v8: { outcome: "warn", check: (r) => expect(r.data.page).toMatchObject({ leaked: true, refcount: 3 }) },
    v10: { outcome: "warn", check: (r) => expect(r.data.page).toMatchObject({ leaked: true, refcount: 3 }) },
    v12: { outcome: "warn", check: (r) => expect(r.data.page).toMatchObject({ leaked: true, refcount: 1 }) },
  },
  S25: {
    v8: { outcome: "error", check: (r) => expect(r.data.vcpu1).toEqual({ outcome: "error", errno: "-ENXIO" }) },
    v10: { outcome: "ok", check: (r) => expect(r.data.vcpu1).toEqual({ outcome: "shutdown" }) },
    v12: { outcome: "ok", check: (r) => expect(r.data.vcpu1).toEqual({ outcome: "shutdown" }) },
  },
};

describe("scenario catalogue", () => {
  it("lists every registered scenario with its postings", () => {
    const l = scenarios.list();
    expect(l.map((s) => s.id)).toEqual(expect.arrayContaining(Object.keys(E))); // + the extra-*.ts modules
    for (const s of l) expect(s.series).toEqual(["v8", "v10", "v12"]);
    expect(() => scenarios.run("S99", { series: "v8" })).toThrow(/unknown scenario 'S99'/);
    expect(() => scenarios.run("S01", { series: "v14" })).toThrow(/not available/);
  });
  for (const [id, per] of Object.entries(E)) {
    for (const series of ["v8", "v10", "v12"] as const) {
      it(`${id} on ${series}: ${per[series].outcome}`, () => {
        const r = scenarios.run(id, { series });
        expect(r.id).toBe(id);
        expect(r.series).toBe(series);
        expect(r.outcome).toBe(per[series].outcome);
        expect(r.trace.length).toBeGreaterThan(0);
        per[series].check?.(r);
        expect(() => JSON.stringify(r)).not.toThrow();
      });
    }
  }
});

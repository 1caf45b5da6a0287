/**
 * Error-path campaigns (issue 13). Failure cases, each labelled:
 *   A. bad input (unknown workload, posting, kind, status, command; shard 3/2, 0/2, "x") is refused
 *      with a clear error before anything is written;
 *   B. a result is a pure function of the campaign: the same campaign twice, worker threads, and
 *      rerunning each point from scratch instead of restoring the step snapshot give the same bytes;
 *   C. shards + merge == the single run, byte for byte; a merge of shards of different campaigns,
 *      a missing or duplicated shard, or a whole result is refused;
 *   D. known results: catalogue scenarios about error paths come out of a campaign as the
 *      catalogue gives them on the postings it names; the expectation of each comes from running
 *      the scenario of the same id here (so it follows the host model when it is fixed);
 *   E. points: rmi points never inject RMI_SUCCESS and only the statuses of that command; no
 *      point of the small campaigns crashes or breaks an invariant;
 *   F. no crash or invariant outcome in a teardown campaign beyond the known model issues listed.
 */
import { mkdtempSync, readFileSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { Host } from "../../src/host/host.js";
import type { SeriesId } from "../../src/kvm/series/index.js";
import { builtinWorkload, explore, mergeShards, parseShard, type CampaignInput, type PointLine } from "../../src/explore/index.js";
import { doc, merged, source } from "./helpers.js";
import * as scenarios from "../../src/scenarios/index.js";

const SMALL: CampaignInput = { workload: "boot", series: "v12,v14", kinds: ["alloc"] };

describe("A. bad input gets a clear error and writes nothing", () => {
  const cases: [string, CampaignInput, RegExp][] = [
    ["unknown workload", { workload: "bogus" }, /unknown workload 'bogus' \(built in: boot, fault, ripas, teardown, lifecycle\)/],
    ["unknown posting", { workload: "boot", series: "v9" }, /series: unknown posting 'v9'/],
    ["unknown kind", { workload: "boot", kinds: ["oom"] }, /kinds: unknown failure kind 'oom'/],
    ["unknown status", { workload: "boot", statuses: { RTT_CREATE: ["RMI_ERROR_BOGUS"] } }, /unknown RMI status 'RMI_ERROR_BOGUS'/],
    ["success is not a failure", { workload: "boot", statuses: { RTT_CREATE: ["RMI_SUCCESS"] } }, /RMI_SUCCESS is not a failure/],
    ["unknown command", { workload: "boot", commands: ["RTT_BOGUS"] }, /commands: unknown RMI command 'RTT_BOGUS'/],
    ["bad seed", { workload: "boot", seed: -1 }, /seed must be an integer/],
  ];
  it.each(cases)("%s", async (_, input, re) => {
    let wrote = false;
    await expect(explore(input, { sink: () => (wrote = true) })).rejects.toThrow(re);
    expect(wrote).toBe(false);
  });

  it.each([["3/2"], ["0/2"], ["x"], ["1/0"], ["2"]])("shard '%s'", (s) => {
    expect(() => parseShard(s)).toThrow(/bad shard/);
  });
});

describe("B. a pure function of the campaign", () => {
  it("the same campaign twice, on 2 worker threads, and from scratch give the same bytes", async () => {
    const a = await doc(SMALL);
    expect(a.points.length).toBeGreaterThan(20);
    expect((await doc(SMALL)).text).toBe(a.text);
    expect((await doc(SMALL, { workers: 2 })).text).toBe(a.text);
    expect((await doc(SMALL, { fromScratch: true })).text).toBe(a.text);
    const parsed = JSON.parse(a.text) as { summary: { complete: boolean; points: number } };
    expect(parsed.summary).toMatchObject({ complete: true, points: a.points.length });
  }, 300_000);

  it("a stopped campaign writes the points done so far and says it is partial", async () => {
    let n = 0;
    const signal = { get aborted() { return n >= 5; } };
    const r = await doc(SMALL, { signal, onPoint: () => n++ });
    const parsed = JSON.parse(r.text) as { points: unknown[]; summary: { complete: boolean } };
    expect(parsed.points.length).toBe(5);
    expect(parsed.summary.complete).toBe(false);
  });
});

describe("C. shards and merge", () => {
  it("3 shards merged == the single run, byte for byte (also through files)", async () => {
    const whole = await doc(SMALL);
    const parts = await Promise.all([1, 2, 3].map(async (i) => (await doc(SMALL, { shard: { index: i, count: 3 } })).text));
    const dir = mkdtempSync(join(tmpdir(), "explore-"));
    parts.forEach((t, i) => writeFileSync(join(dir, `s${i + 1}.json`), t));
    // shards in any order
    const m = await merged([source("s3", parts[2]!), source("s1", parts[0]!), source("s2", parts[1]!)]);
    expect(m).toBe(whole.text);
    expect(await merged([1, 2, 3].map((i) => source(`f${i}`, readFileSync(join(dir, `s${i}.json`), "utf8"))))).toBe(whole.text);
  }, 300_000);

  it("refuses shards of different campaigns, missing or duplicated shards, a whole result, a truncated shard", async () => {
    const p1 = (await doc(SMALL, { shard: { index: 1, count: 2 } })).text;
    const p2 = (await doc(SMALL, { shard: { index: 2, count: 2 } })).text;
    const other = (await doc({ ...SMALL, series: "v12" }, { shard: { index: 2, count: 2 } })).text;
    const whole = (await doc({ ...SMALL, series: "v14" })).text;
    const out: string[] = [];
    const sink = (c: string) => out.push(c);
    await expect(mergeShards([source("a", p1), source("b", other)], sink)).rejects.toThrow(/b is from another campaign than a/);
    await expect(mergeShards([source("a", p1)], sink)).rejects.toThrow(/shard\(s\) 2\/2 missing/);
    await expect(mergeShards([source("a", p1), source("b", p1)], sink)).rejects.toThrow(/shard 1\/2 given twice \(a, b\)/);
    await expect(mergeShards([source("w", whole)], sink)).rejects.toThrow(/w is a whole campaign, not a shard/);
    await expect(mergeShards([source("a", "not json")], sink)).rejects.toThrow(/a is not an explore result/);
    expect(out).toEqual([]);
    // truncated: the header is fine, the end is missing (the CLI writes to a temporary file first)
    await expect(merged([source("a", p1), source("b", p2.slice(0, p2.lastIndexOf('"summary"')))])).rejects.toThrow(/b is truncated/);
  }, 300_000);
});

/** The function of the first WARN in a scenario's trace. */
function firstWarnFn(trace: readonly string[]): string | undefined {
  const l = trace.find((x) => x.startsWith("WARNING: "));
  return l?.slice("WARNING: ".length).split(":")[0];
}

/** How many calls of `cmd` the workload makes before the first call of `before` (no failure injected). */
function occurrenceBefore(series: SeriesId, cmd: string, before: string): number {
  const h = Host.create({ series, seed: 1 });
  let n = 0;
  let stop = false;
  const off = h.platform.rmm.trace.subscribe((r) => {
    if (r.name === `RMI_${before}`) stop = true;
    if (!stop && r.name === `RMI_${cmd}`) n++;
  });
  for (const st of builtinWorkload("lifecycle").steps) st.run(h);
  off();
  return n;
}

describe("D. known results come out of a campaign", () => {
  it("S16 (REALM_DESTROY fails: WARN, RD and PGD leaked, realm stranded DYING), S09 (realm_create_rd unwind: v8 REC_AUX_COUNT, v13 REALM_CREATE, v14 PGD range delegate) and S23 (stuck undelegate in the private unmap: WARN, page lost)", async () => {
    const { points } = await doc({
      workload: "lifecycle",
      series: "all",
      kinds: ["rmi", "undelegate"],
      commands: ["REALM_DESTROY", "REALM_CREATE", "REC_AUX_COUNT", "GRANULE_RANGE_DELEGATE"],
      statuses: { REALM_DESTROY: ["RMI_ERROR_REALM"], REALM_CREATE: ["RMI_ERROR_INPUT"], REC_AUX_COUNT: ["RMI_ERROR_INPUT"], GRANULE_RANGE_DELEGATE: ["RMI_ERROR_INPUT"] },
    });
    const find = (series: string, f: (p: PointLine) => boolean): PointLine => {
      const p = points.find((x) => x.series === series && f(x));
      expect(p, `${series}: point`).toBeDefined();
      return p!;
    };

    const named = (id: string): string[] => scenarios.list().find((x) => x.id === id)!.affects;
    // S16, on the postings the catalogue names
    expect(named("S16")).toEqual(["v8", "v10", "v12"]);
    for (const s of named("S16")) {
      const sc = scenarios.run("S16", { series: s });
      expect(sc.data.state, `S16 ${s}`).toBe("DYING");
      expect(sc.leakedGranules).toBeGreaterThan(0);
      const p = find(s, (x) => x.kind === "rmi" && x.cmd === "REALM_DESTROY");
      expect(p.step).toBe("destroy");
      expect(p.outcome, `S16 ${s}`).toBe("leak");
      expect(p.warn, `S16 ${s}: first WARN`).toBe(firstWarnFn(sc.trace) ?? null);
    }

    expect(named("S09")).toEqual(["v8", "v13", "v14"]);
    // S09 v8: REC_AUX_COUNT fails, realm_create_rd returns a stale 0: the realm is NEW with no RD
    const s9v8 = scenarios.run("S09", { series: "v8" });
    expect(s9v8.data).toMatchObject({ rdIsNull: true, errno: "0" });
    const p8 = find("v8", (x) => x.cmd === "REC_AUX_COUNT");
    expect(p8.outcome).not.toBe("clean");
    expect(p8.warn).toBe(firstWarnFn(s9v8.trace) ?? null);
    // ... which v10 fixed (-ENXIO reaches the VMM, no WARN from the unwind itself)
    const s9v10 = scenarios.run("S09", { series: "v10" });
    expect(find("v10", (x) => x.cmd === "REC_AUX_COUNT").errno).toBe(s9v10.data.errno);

    // S09 v13: REALM_CREATE fails, the unwind undelegates the PGD with an uninitialised count
    const s9v13 = scenarios.run("S09", { series: "v13" });
    const p13 = find("v13", (x) => x.cmd === "REALM_CREATE");
    expect(Number(s9v13.data.pgdGranulesLeftDelegated)).toBeGreaterThan(0);
    expect(p13.outcome).toBe("leak");
    expect(p13.leak).not.toBeNull();

    // S09 v14: the PGD range delegate fails, the unwind undelegates the whole PGD: WARN, PGD leaked
    const s9v14 = scenarios.run("S09", { series: "v14" });
    expect(s9v14.data.pgdLeaked).toBe(true);
    const pgdOcc = occurrenceBefore("v14", "GRANULE_RANGE_DELEGATE", "REALM_CREATE");
    const p14 = find("v14", (x) => x.kind === "rmi" && x.cmd === "GRANULE_RANGE_DELEGATE" && x.occ === pgdOcc);
    expect(p14.outcome).toBe("leak");
    expect(p14.warn).toBe(firstWarnFn(s9v14.trace) ?? null);

    // S23, on the postings the catalogue names: a data granule that cannot be undelegated when the
    // guest shares it is lost, with a WARN
    expect(named("S23")).toEqual(["v8", "v10", "v12"]);
    for (const s of named("S23")) {
      const sc = scenarios.run("S23", { series: s });
      expect(sc.warnCount, `S23 ${s}`).toBeGreaterThan(0);
      const p = find(s, (x) => x.kind === "undelegate" && x.step.startsWith("share "));
      // the page is lost (and the rest of the workload may fare worse: v8 refaults it forever)
      expect(["leak", "livelock", "hang"], `S23 ${s}: ${p.outcome}`).toContain(p.outcome);
      expect(p.leak, `S23 ${s}`).not.toBeNull();
      expect(p.warn, `S23 ${s}: first WARN`).toBe(firstWarnFn(sc.trace) ?? null);
    }
  }, 600_000);
});

describe("E. points", () => {
  it("rmi points carry only the failures of their command, never RMI_SUCCESS; no crash or invariant in a small campaign", async () => {
    const { points } = await doc({ workload: "boot", series: "all", kinds: ["rmi"], commands: ["REC_CREATE", "RTT_CREATE", "REALM_ACTIVATE", "RTT_DATA_MAP_INIT", "DATA_CREATE"] });
    expect(points.length).toBeGreaterThan(10);
    for (const p of points) {
      expect(p.status).not.toBe("RMI_SUCCESS");
      if (p.cmd === "REC_CREATE") expect(["RMI_ERROR_INPUT", "RMI_ERROR_REALM"]).toContain(p.status);
      if (p.status === "RMI_ERROR_RTT") expect(p.index).toBeGreaterThanOrEqual(0);
      expect(p.trace.some((l) => l.startsWith("INJECT: "))).toBe(true);
    }
    expect(points.filter((p) => p.outcome === "crash" || p.outcome === "invariant").map((p) => `${p.series} ${p.step} ${p.cmd} ${p.status}: ${p.detail}`)).toEqual([]);
  }, 300_000);
});

/**
 * crash / invariant outcomes are simulator bugs: none may appear. (The posted code does free pages
 * the RMM still holds: v12 realm_destroy_private_granule after a failed undelegate, v13 21/48 /
 * v14 23/44 realm_unmap_private_range after it breaks out of its loop. The host model shows that
 * as a "BUG: ... still delegated" event and a quarantined, leaked page (src/host/page-alloc.ts
 * put), classified `leak`, not as a broken model invariant.)
 */

describe("F. no unknown crash or invariant outcome", () => {
  it("teardown campaign, every undelegate stuck and every REALM_DESTROY / REC_DESTROY failure, all postings", async () => {
    const { points } = await doc({ workload: "teardown", series: "all", kinds: ["rmi", "undelegate"], commands: ["REALM_DESTROY", "REALM_TERMINATE", "REC_DESTROY", "GRANULE_UNDELEGATE", "GRANULE_RANGE_UNDELEGATE"] });
    const bad = points.filter((p) => p.outcome === "crash" || p.outcome === "invariant").map((p) => `${p.series} ${p.step} ${p.kind} ${p.cmd}: ${p.detail}`);
    expect(bad).toEqual([]);
  }, 300_000);
});

/**
 * What makes a campaign's points cheap must not change a byte of their results. Failure cases:
 *   A. copy on write: hosts restored from one binary snapshot share its chunk and page buffers;
 *      a write in one restored host must not reach the snapshot or another host restored from it
 *      (each restore starts in the snapshot's state), and a restored host runs on exactly as one
 *      restored through JSON (which copies everything);
 *   B. a `same` point (the injected failure is what the call returned anyway) is not run (its
 *      trace window is read from the recording) or, when run, stops after its trace window: either
 *      way its result must be the bytes of the run carried to the end;
 *   C. (rendering) a shard's text summary counts the shard's own points, not the campaign's.
 */
import { describe, expect, it } from "vitest";
import { Host } from "../../src/host/host.js";
import { rmmDigest } from "../../src/rmm/snapshot.js";
import { builtinWorkload, campaignSpec, record, runPoint } from "../../src/explore/index.js";
import type { SeriesId } from "../../src/kvm/series/index.js";

function state(h: Host): string {
  return JSON.stringify([rmmDigest(h.platform), h.pages.freePages, h.pages.leakedPages, h.rmiCalls, h.warns.map((w) => w.fn), h.checkInvariants()]);
}

describe("restore shares buffers with a binary snapshot, copy on write", () => {
  it("A. writes in one restored host reach neither the snapshot nor another restore; it runs on as a JSON restore does", () => {
    const wl = builtinWorkload("lifecycle");
    const h = Host.create({ series: "v13", seed: 3 });
    const cut = wl.steps.length - 1; // before the teardown: realm alive, memory populated
    for (let i = 0; i < cut; i++) wl.steps[i]!.run(h);
    const bin = h.snapshot({ binary: true });
    const json = JSON.parse(JSON.stringify(h.snapshot())) as ReturnType<Host["snapshot"]>;
    const before = state(h);
    expect(state(Host.restore(bin))).toBe(before);
    // run the teardown (and a guest write first) on a restored host: granules, GPT, pages, memory all change
    const a = Host.restore(bin);
    const b = Host.restore(bin);
    a.vms[0]!.touch(0x8000_0000n + (8n << 20n), { access: "write" });
    wl.steps[cut]!.run(a);
    expect(state(a)).not.toBe(before);
    // b and a new restore are still in the snapshot's state
    expect(state(b)).toBe(before);
    expect(state(Host.restore(bin))).toBe(before);
    // b runs the same as a host restored through JSON (copies) and as the original
    const j = Host.restore(json);
    for (const x of [b, j, h]) {
      x.vms[0]!.touch(0x8000_0000n + (8n << 20n), { access: "write" });
      wl.steps[cut]!.run(x);
    }
    expect(state(b)).toBe(state(a));
    expect(state(j)).toBe(state(a));
    expect(state(h)).toBe(state(a));
    expect(b.log.lines().slice(-40)).toEqual(j.log.lines().slice(-40));
  });
});

describe("points whose failure is what the call returned anyway", () => {
  for (const series of ["v8", "v13", "v14"] as SeriesId[]) {
    it(`B. ${series}: every such point of the teardown campaign gives the bytes of the full run`, async () => {
      const spec = campaignSpec({ workload: "teardown", series: [series], kinds: ["rmi"] });
      const rec = await record(spec, series, builtinWorkload("teardown"));
      const same = rec.points.filter((p) => p.same === true);
      expect(same.length).toBeGreaterThan(50);
      expect(same.every((p) => p.at !== undefined)).toBe(true);
      // every 3rd one (the test budget), all steps and statuses represented
      for (let i = 0; i < same.length; i += 3) {
        const p = same[i]!;
        const full = JSON.stringify(await runPoint(rec, p, spec, { full: true }));
        expect(JSON.stringify(await runPoint(rec, p, spec))).toBe(full);
        expect(JSON.stringify(await runPoint(rec, p, spec, { full: "window" }))).toBe(full);
      }
    });
  }
});

describe("the text summary of a shard", () => {
  it("counts the shard's own points per posting, and says how many of the campaign's it ran", async () => {
    const { explore, formatSummary } = await import("../../src/explore/index.js");
    const input = { workload: "boot", series: ["v12", "v14"], kinds: ["alloc"] };
    const whole = await explore(input);
    const one = await explore(input, { shard: { index: 1, count: 3 } });
    const text = formatSummary(one.header, one.summary);
    const total = whole.summary.points;
    expect(one.summary.points).toBeLessThan(total);
    expect(text.split("\n")[0]).toContain(`shard 1/3 (${one.summary.points} of ${total} points)`);
    for (const x of ["v12", "v14"]) {
      const row = text.split("\n").find((l) => l.trimStart().startsWith(x))!;
      const n = Number(row.trim().split(/\s+/)[1]);
      const o = one.summary.outcomes[x]!;
      expect(n).toBe(Object.values(o).reduce((a, b) => a + b, 0));
      expect(n).toBeLessThan(whole.header.postings.find((p) => p.series === x)!.points);
    }
  });
});

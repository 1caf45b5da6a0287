/**
 * The REPL / command-language `explore` command. Failure cases, each labelled:
 *   A. a campaign runs and its table has a row per posting with the outcome counts, progress is reported;
 *   B. bad input (unknown posting, kind) is one clear error;
 *   C. Ctrl-C stops it part-way: the partial result is kept and says so.
 */
import { describe, expect, it } from "vitest";
import { createSession } from "../../src/commands/index.js";

describe("explore command", () => {
  it("A. runs a campaign: a row per posting, progress reported", async () => {
    const s = createSession();
    const progress: number[] = [];
    const r = await s.run("explore boot --series v12,v14 --kinds alloc", { onProgress: (p) => progress.push(p.done) });
    expect(r.ok, r.error).toBe(true);
    const v = r.value as { rows: unknown[][]; interrupted: boolean };
    expect(v.rows.map((x) => x[0])).toEqual(["v12", "v14"]);
    expect(Number(v.rows[0]![1])).toBeGreaterThan(10);
    expect(v.interrupted).toBe(false);
    expect(progress.length).toBeGreaterThan(0);
  }, 120_000);

  it.each([
    ["explore boot --series v9", /unknown posting 'v9'/],
    ["explore boot --kinds oom", /unknown failure kind 'oom'/],
  ])("B. %s", async (line, re) => {
    const r = await createSession().run(line);
    expect(r.ok).toBe(false);
    expect(r.error).toMatch(re);
  });

  it("C. Ctrl-C keeps the partial result", async () => {
    const s = createSession();
    const ac = new AbortController();
    let n = 0;
    const r = await s.run("explore boot --series v12 --kinds alloc", {
      signal: ac.signal,
      onProgress: () => {
        if (++n === 2) ac.abort();
      },
    });
    const v = r.value as { interrupted: boolean; summary: { complete: boolean; points: number } };
    expect(v.interrupted).toBe(true);
    expect(v.summary.complete).toBe(false);
  }, 120_000);
});

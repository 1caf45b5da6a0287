/**
 * Command scripts as campaign workloads (issue 13: "any command script or function of a Host").
 * The command language's front end compiles a script into host steps; src/explore runs them.
 * Failure cases, each labelled:
 *   A. a known error path comes out of a script campaign with the classification the built-in
 *      workload doing the same thing gives: v12's realm_map_protected WARNs when
 *      DATA_CREATE_UNKNOWN fails in the first private fault, and the VMM gets -ENXIO;
 *   B. shards + merge, and worker threads (which rebuild the script from the campaign's spec),
 *      give the bytes of one run; a shard of another script does not merge;
 *   C. bad input writes nothing: an unknown command (named with its line), a command that cannot
 *      be a step (inject), `new --series`, an empty script, a script whose set-up fails without any
 *      injected failure (touch before new);
 *   D. the REPL's `explore FILE` runs the script campaign; an unreadable file is a usage error.
 */
import { mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { SCRIPT_WORKLOAD_MODULE, scriptWorkloadOf, Session } from "../../src/commands/index.js";
import { explore, mergeShards, type CampaignInput } from "../../src/explore/index.js";
import { doc as run, source } from "./helpers.js";

const SCRIPT = `# a realm, two private faults and a shared one
new r1 --mem 64M
touch 0x80800000
touch 0x80801000 --read   # a read of the next page
touch 0x8080c00000
`;
const INPUT: CampaignInput = { workload: "faults.realm", series: "v12,v14", kinds: ["rmi"], commands: ["DATA_CREATE_UNKNOWN", "RTT_DATA_MAP", "RTT_CREATE"] };

describe("script workloads", () => {
  it("A. v12: DATA_CREATE_UNKNOWN failing in the first touch is a realm_map_protected WARN and -ENXIO, as in the built-in fault workload", async () => {
    const { points } = await run(INPUT, { workload: scriptWorkloadOf(SCRIPT, "faults.realm") });
    const hit = points.filter((p) => p.series === "v12" && p.step === "3: touch 0x80800000" && p.cmd === "DATA_CREATE_UNKNOWN" && p.status === "RMI_ERROR_INPUT");
    expect(hit.length).toBeGreaterThan(0);
    for (const p of hit) {
      expect(p.outcome).toBe("warn");
      expect(p.errno).toBe("-ENXIO");
      expect(p.warn).toBe("realm_map_protected");
    }
    // the built-in workload's first private fault is the same guest access: the same classification
    const built = await run({ workload: "fault", series: "v12", kinds: ["rmi"], commands: ["DATA_CREATE_UNKNOWN"] });
    const same = built.points.filter((p) => p.step === "fault 0x80800000" && p.status === "RMI_ERROR_INPUT");
    expect(same.map((p) => [p.outcome, p.errno, p.warn])).toEqual(hit.map((p) => [p.outcome, p.errno, p.warn]));
    // the script's steps are its lines (with their numbers), then the teardown
    expect(new Set(points.map((p) => p.step))).toEqual(new Set(["2: new r1 --mem 64M", "3: touch 0x80800000", "4: touch 0x80801000 --read", "5: touch 0x8080c00000", "destroy"]));
    expect(points.some((p) => p.outcome === "crash" || p.outcome === "invariant")).toBe(false);
  });

  it("B. shards + merge and worker threads give the bytes of one run; another script's shard does not merge", async () => {
    const w = () => ({ workload: scriptWorkloadOf(SCRIPT, "faults.realm") });
    const one = await run(INPUT, w());
    const s1 = await run(INPUT, { ...w(), shard: { index: 1, count: 2 } });
    const s2 = await run(INPUT, { ...w(), shard: { index: 2, count: 2 } });
    let merged = "";
    await mergeShards([source("s1", s1.text), source("s2", s2.text)], (c) => (merged += c));
    expect(merged).toBe(one.text);
    const threads = await run(INPUT, { ...w(), workers: 2, workloadModule: SCRIPT_WORKLOAD_MODULE });
    expect(threads.text).toBe(one.text);
    // the same name, another script: another campaign
    const other = await run(INPUT, { workload: scriptWorkloadOf(SCRIPT.replace("0x80801000", "0x80802000"), "faults.realm"), shard: { index: 2, count: 2 } });
    await expect(mergeShards([source("s1", s1.text), source("other", other.text)], () => {})).rejects.toThrow(/another campaign/);
  });

  it("C. bad input is refused with a clear error and nothing is written", async () => {
    const cases: [string, string, RegExp][] = [
      ["unknown command", "new r1\ntuch 0x80800000\n", /line 2: .*tuch/],
      ["inject is not a step", "new r1\ninject RTT_CREATE\n", /line 2: 'inject' cannot be a campaign step/],
      ["new --series", "new r1 --series v8\n", /line 1: 'new --series' cannot be a campaign step/],
      ["empty", "# nothing\n\n", /has no command/],
    ];
    for (const [, text, re] of cases) expect(() => scriptWorkloadOf(text, "bad.realm")).toThrow(re);
    // set-up failing without any injected failure: refused when the campaign records it
    let written = "";
    await expect(explore({ ...INPUT, workload: "bad.realm" }, { workload: scriptWorkloadOf("touch 0x80800000\nnew r1\n", "bad.realm"), sink: (c) => (written += c) })).rejects.toThrow(/step 1 \(1: touch 0x80800000\) fails on v12 without any injected failure: .*no realm/);
    expect(written).toBe("");
  });

  it("D. the REPL's explore FILE runs the script's campaign; an unreadable file is a usage error", async () => {
    const dir = mkdtempSync(join(tmpdir(), "explore-script-"));
    writeFileSync(join(dir, "faults.realm"), SCRIPT);
    const s = new Session({ cwd: dir });
    const r = await s.run("explore faults.realm --series v14 --kinds rmi --commands RTT_DATA_MAP");
    expect(r.ok).toBe(true);
    expect((r.value as { rows: unknown[][] }).rows[0]![0]).toBe("v14");
    expect((r.value as { title: string }).title).toMatch(/^explore faults\.realm \(rmi\)/);
    const bad = await s.run("explore nosuch.realm --series v14");
    expect(bad.ok).toBe(false);
    expect(bad.error).toMatch(/'nosuch.realm' is neither a built-in workload .* nor a readable script \(ENOENT\)/);
    // the session's own realms are untouched by the campaign
    expect(s.realms.size).toBe(0);
  });
});

/** The command language against the real host model (Host, scenarios: the design.md contract). */
import { mkdtempSync, readFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { createSession } from "../../src/commands/index.js";
import { runScript } from "../../src/commands/script.js";

// The session drives Host (src/host), the scenario catalogue and the guest workloads directly.
const mk = (cwd?: string) => createSession(cwd ? { cwd } : {});

describe("realm commands on the host model", () => {
  it("new/ls/use/destroy: realms per posting, the current one, bad input changes nothing", async () => {
    const s = mk();
    const a = await s.run("new a --series v8 --mem 16M");
    expect(a.ok).toBe(true);
    expect(a.value).toMatchObject({ name: "a", series: "v8", rmm: "1.0", ipaBits: 40, memory: "0x1000000", vcpus: 2, state: "ACTIVE" });
    const b = await s.run("new b --series v12 --vcpus 1");
    expect(b.value).toMatchObject({ series: "v12", state: "ACTIVE", vcpus: 1 });
    expect(s.status()).toMatchObject({ realm: "b", series: "v12", abi: "1.0" });
    expect(s.status().granules["RD"]).toBe(1);
    // bad input: nothing changes (no new host, no RMI call)
    const calls = s.hosts.get("v8")!.platform.rmmTrace.length;
    for (const bad of ["new a", "new 9x", "new c --series v9", "new c --mem 3K", "new c --vcpus 0", "use zz", "destroy zz"]) {
      const r = await s.run(bad);
      expect(r.ok, bad).toBe(false);
    }
    expect((await s.run("new c --series v9")).error).toBe("new: unknown posting 'v9', did you mean 'v8'?");
    expect((await s.run("new a")).error).toBe("new: a realm named 'a' exists already ('destroy a' first, or pick another name)");
    expect(s.hosts.size).toBe(2);
    expect(s.hosts.get("v8")!.platform.rmmTrace.length).toBe(calls);
    const ls = await s.run("ls");
    expect(ls.text).toMatch(/^ {3}a +v8 +RMM 1.0 +40 +0x80000000\+16M +2 +ACTIVE$/m);
    expect(ls.text).toMatch(/^\* +b +v12 /m);
    expect((await s.run("use a")).ok).toBe(true);
    expect(s.current).toBe("a");
    const d = await s.run("destroy a");
    expect(d.ok).toBe(true);
    expect(s.current).toBe(null);
    expect((await s.run("touch 0x80000000")).error).toBe("touch: no realm selected: 'use NAME' (see 'ls')");
  });

  it("touch, share/unshare, rtt walk and tree, granule, acct, trace", async () => {
    const s = mk();
    await s.run("new r --series v12 --mem 16M");
    const t = await s.run("touch 0x80100000");
    expect(t.ok).toBe(true);
    expect(t.value).toMatchObject({ done: 1, outcomes: { ok: 1 } });
    expect(t.text).toMatch(/^write 0x80100000 on vCPU 0: ok \(\d+ exits?, \d+ RMI calls?\)$/);
    const many = await s.run("touch 0x80200000 --count 8 --read");
    expect(many.value).toMatchObject({ done: 8, access: "read", outcomes: { ok: 8 } });
    expect((await s.run("touch 0x10000000000")).error).toBe("touch: IPA 0x10000000000 is outside the realm's 40-bit IPA space (limit 0x10000000000)");
    expect((await s.run("touch 0x80000000 --vcpu 2")).error).toBe("touch: --vcpu 2: realm r has 2 vCPUs (0..1)");
    const walk = await s.run("rtt 0x80100000");
    const w = walk.value as { walk: { level: number; entry: { state: string; ripas?: string; pa?: string } }[] };
    expect(w.walk.map((x) => x.level)).toEqual([1, 2, 3]);
    const leaf = w.walk[2]!.entry;
    expect(leaf).toMatchObject({ state: "ASSIGNED", ripas: "RAM", ipa: "0x80100000", size: "0x1000" });
    expect(walk.text.split("\n")[3]).toMatch(/^  L3 RTT 0x[0-9a-f]+ +\[256\] +0x80100000 +\+4K +ASSIGNED RAM +pa 0x[0-9a-f]+$/);
    // the leaf's PA is a DATA granule of this realm
    const g = await s.run(`granule ${leaf.pa}`);
    expect(g.value).toMatchObject({ state: "DATA", pas: "REALM", machine: "v12" });
    const tree = await s.run("rtt --depth 1");
    expect(tree.text).toMatch(/^RTT tree of realm r: RD 0x[0-9a-f]+, 40-bit IPA, start level 1, 2 root RTTs, protected below 0x8000000000$/m);
    // depth 1: the L2 tables are summarised by state
    expect(tree.text).toMatch(/^ {4}L2 RTT 0x[0-9a-f]+ {2}\[0x80000000, \+1G\) {2}refcount \d+: .*ASSIGNED RAM/m);
    expect(tree.text).not.toMatch(/L3 RTT/);
    // the value holds only what is shown: the L2 tables at the cut, none of the L3 tables below
    const levels = new Set<number>();
    const walkT = (t: { level: number; entries: { table?: unknown }[] }) => {
      levels.add(t.level);
      for (const e of t.entries) if (e.table !== undefined) walkT(e.table as typeof t);
    };
    for (const rt of (tree.value as { tree: { roots: { level: number; entries: { table?: unknown }[] }[] } }).tree.roots) walkT(rt);
    expect([...levels].sort()).toEqual([1, 2]);
    const lv = await s.run("rtt --level 3");
    expect(lv.text).toMatch(/^L3 RTT 0x[0-9a-f]+ {2}\[0x80000000, \+2M\) {2}refcount \d+: /m);
    expect(lv.text).not.toMatch(/^L2 RTT/m);
    expect((await s.run("rtt --level 4")).error).toBe("rtt: --level 4: RTT levels are -1..3");
    const sh = await s.run("share 0x80400000 64K");
    expect(sh.ok).toBe(true);
    expect((await s.run("share 0x80400800 4K")).error).toBe("share: IPA 0x80400800 is not 4 KiB aligned");
    expect((await s.run("unshare 0x80400000 64K")).ok).toBe(true);
    const acct = await s.run("acct");
    expect(acct.value).toMatchObject({ machine: "v12", stats: { granules: { RD: 1 } } });
    const tr = await s.run("trace --grep RMI_DATA_CREATE --last 2");
    const lines = (tr.value as { lines: string[] }).lines;
    // the trace lines only (a --json consumer gets no footer); the counts close the text
    expect(lines.length).toBe(2);
    expect(lines.every((l) => l.startsWith("SMC_RMI_DATA_CREATE"))).toBe(true);
    expect(tr.text.split("\n")).toEqual([...lines, expect.stringMatching(/^\(2 of \d+ matching 'RMI_DATA_CREATE', \d+ in all, v12\)$/)]);
    const all = (await s.run("trace --last 0")).value as { lines: string[]; total: number; matched: number };
    expect(all.lines.length).toBe(all.total);
    expect(all.matched).toBe(all.total);
  });

  it("an injected RMI failure is a result; faults lists and clears rules", async () => {
    const s = mk();
    expect((await s.run("inject RTT_CREATE RMI_ERROR_RTT 2")).error).toBe("inject: inject needs a realm's host: create one with 'new NAME' (faults are injected into a posting's host)");
    await s.run("new r --series v12 --mem 16M");
    expect((await s.run("inject NOPE RMI_ERROR_RTT")).ok).toBe(false);
    const i = await s.run("inject RTT_CREATE RMI_ERROR_RTT 2");
    expect(i.ok).toBe(true);
    const f = await s.run("faults");
    expect(f.value).toMatchObject({ rules: [{ fired: 0, active: true }] });
    const t = await s.run("touch 0x80600000");
    expect(t.ok).toBe(true);
    expect((await s.run("trace --grep injected")).text).toMatch(/SMC_RMI_RTT_CREATE .* > RMI_ERROR_RTT 2 .*\(injected\)/);
    expect(((await s.run("faults")).value as { rules: { fired: number }[] }).rules[0]!.fired).toBe(1);
    expect((await s.run("faults clear")).ok).toBe(true);
    expect(((await s.run("faults")).value as { rules: unknown[] }).rules).toEqual([]);
  });

  it("inject takes a JSON rule as typed (help inject's form), spaces and all", async () => {
    const s = mk();
    await s.run("new r --series v12 --mem 16M");
    const j = await s.run('inject {"rmi":"RTT_FOLD","status":"RMI_ERROR_RTT","index":2}');
    expect(j.error).toBeUndefined();
    expect(j.value).toMatchObject({ rule: { rmi: "RTT_FOLD", status: "RMI_ERROR_RTT", index: 2 } });
    const sp = await s.run('inject { "rmi": "DATA_CREATE", "status": "RMI_ERROR_INPUT", "pa": "0x80200000" }');
    expect(sp.value).toMatchObject({ rule: { rmi: "DATA_CREATE", status: "RMI_ERROR_INPUT", pa: "0x80200000" } });
    expect(((await s.run("faults")).value as { rules: { rule: string }[] }).rules.map((r) => r.rule)).toEqual([
      '{"rmi":"RTT_FOLD","status":"RMI_ERROR_RTT","index":2}',
      '{"rmi":"DATA_CREATE","status":"RMI_ERROR_INPUT","pa":"0x80200000"}',
    ]);
    // saved as typed, and a fresh session replays it to the same rules
    expect(s.script.slice(-2)).toEqual(['inject {"rmi":"RTT_FOLD","status":"RMI_ERROR_RTT","index":2}', 'inject { "rmi": "DATA_CREATE", "status": "RMI_ERROR_INPUT", "pa": "0x80200000" }']);
    const t = mk();
    expect((await runScript(t, s.script.join("\n"))).failed).toBe(0);
    expect(t.hosts.get("v12")!.faults.list()).toEqual(s.hosts.get("v12")!.faults.list());
    expect((await s.run('inject {"rmi":"RTT_FOLD",}')).error).toMatch(/^inject: rule is not valid JSON: /);
  });

  it("smc and granule talk to the current realm's host platform", async () => {
    const s = mk();
    await s.run("new r --series v12 --mem 16M");
    const rd = (s.realms.get("r")!.vm as unknown as { kvm: { realm: { rd: number } } }).kvm.realm.rd;
    const g = await s.run(`granule 0x${rd.toString(16)}`);
    expect(g.value).toMatchObject({ state: "RD", realmState: "ACTIVE" });
    const e = await s.run(`smc RTT_READ_ENTRY 0x${rd.toString(16)} 0x80000000 3`);
    expect(e.value).toMatchObject({ machine: "v12", status: "RMI_SUCCESS" });
    const bad = await s.run(`smc RTT_CREATE 0x${rd.toString(16)} 0x80000000 0x80000000 2`);
    expect(bad.ok).toBe(true);
    expect(bad.text).toMatch(/^RMI_ERROR_(INPUT|RTT \(level \d\))/);
  });

  it("a workload stopped part-way is saved with its step count and replays to the same state", async () => {
    const dir = mkdtempSync(join(tmpdir(), "realm-wl-"));
    const s = mk(dir);
    await s.run("new r --series v12 --mem 8M");
    const ctl = new AbortController();
    let seen = 0;
    const r = await s.run("workload random --pages 2000", {
      signal: ctl.signal,
      onProgress: (p) => {
        seen = p.done;
        if (p.done >= 256) ctl.abort();
      },
    });
    expect(r.ok).toBe(true);
    expect(r.interrupted).toBe(true);
    const steps = (r.value as { steps: number }).steps;
    expect(steps).toBeGreaterThanOrEqual(256);
    expect(steps).toBe(seen);
    await s.run("touch 0x80000000 --count 4");
    await s.run("save w.realm");
    const script = readFileSync(join(dir, "w.realm"), "utf8");
    expect(script).toMatch(new RegExp(`^workload random --pages 2000 --seed \\d+ --steps ${steps}$`, "m"));
    // replay on a fresh session: the same granules, pgtable pages and RMM trace
    const t = mk(dir);
    const rep = await runScript(t, script);
    expect(rep.failed).toBe(0);
    expect(t.hosts.get("v12")!.platform.rmmTrace).toEqual(s.hosts.get("v12")!.platform.rmmTrace);
    expect(t.hosts.get("v12")!.stats()).toEqual(s.hosts.get("v12")!.stats());
  });

  it("chart draws the host's accounting series", async () => {
    const s = mk();
    await s.run("new r --series v8 --mem 8M");
    await s.run("workload seq --pages 64");
    const c = await s.run("chart --width 40");
    expect(c.ok).toBe(true);
    expect(c.text).toMatch(/^granules by state on the v8 host \(\d+ samples\)/);
    expect(c.text).toMatch(/DATA=\d+/);
  });

  it("scenario list/run: the catalogue, postings side by side, from running the code", async () => {
    const s = createSession();
    const l = await s.run("scenario list");
    expect(l.ok).toBe(true);
    expect(l.text).toMatch(/^S10 +v8 v10 v12( v13)?( v14)? +RTT "already exists": v10 \(the v9 15\/43 code\) leaks/m);
    const listed = (l.value as { scenarios: { id: string; series: string[] }[] }).scenarios.find((x) => x.id === "S10")!.series;
    const r = await s.run("scenario run s10");
    expect(r.ok).toBe(true);
    const res = (r.value as { results: { series: string; outcome: string }[] }).results;
    // every posting the scenario runs on, side by side: v8 15/43 (as quoted in Gavin Shan's reply)
    // compares the index with the new level, WARNs and frees the RTT; v10 (the v9 15/43 code)
    // continues without freeing it (leak); v12 17/46 frees it
    expect(res.map((x) => x.series)).toEqual(listed);
    expect(res.slice(0, 3).map((x) => [x.series, x.outcome])).toEqual([["v8", "warn"], ["v10", "leak"], ["v12", "ok"]]);
    expect(r.text).toMatch(/^v10 +leak +no +\d+ +1 /m);
    const one = await s.run("scenario run S10 --series v10");
    expect((one.value as { results: unknown[] }).results).toHaveLength(1);
    expect((await s.run("scenario run S10x")).error).toBe("scenario run: unknown scenario 'S10x', did you mean 'S10'?");
    expect((await s.run("scenario run S10 --series v9")).error).toBe("scenario run: unknown posting 'v9', did you mean 'v8'?");
    expect((await s.run("scenario")).error).toBe("scenario: missing subcommand (one of list, run)");
    expect(s.complete("scenario run S1").items).toContain("S10");
    // scenarios run on their own hosts: nothing in the session changed
    expect(s.hosts.size).toBe(0);
    expect(s.script).toEqual([]);
  });

  it("workloads from the guest model: seq, random, boot, share-cycle", async () => {
    const s = createSession();
    await s.run("new r --series v10 --mem 8M");
    const seq = await s.run("workload seq --pages 32");
    expect(seq.value).toMatchObject({ steps: 32, of: 32, outcomes: { ok: 32 }, interrupted: false });
    expect(s.realms.get("r")!.host.stats().granules!["DATA"]).toBe(32);
    const boot = await s.run("workload boot --size 16K");
    expect(boot.ok).toBe(true);
    expect((await s.run("workload nope")).error).toBe("workload: NAME: 'nope' is not one of seq, random, boot, share-cycle");
    expect((await s.run("workload share-cycle --size 3K")).error).toMatch(/^workload: --size 3 KiB must be a positive multiple of 4 KiB/);
    const sc = await s.run("workload share-cycle --rounds 1");
    expect(sc.value).toMatchObject({ steps: 4, of: 4 });
    expect(s.script).toEqual([
      "new r --series v10 --ipa-bits 40 --mem 8M --vcpus 2",
      "workload seq --pages 32",
      "workload boot --size 16K",
      "workload share-cycle --size 2M --rounds 1",
    ]);
  });
});

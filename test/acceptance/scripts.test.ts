// Acceptance: realm> scripts (test/acceptance/scripts/*.realm) run under the BUILT binary
// `node dist/repl/cli.js run FILE --json`, checked the way a kernel engineer reads the results.
// Written only from README.md, `realm help`, design.md and dist/src/index.d.ts (issue 6).
// Requires `npm run build` first (npm test does it).
import { spawnSync } from "node:child_process";
import { existsSync, mkdtempSync, readFileSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { describe, expect, it } from "vitest";

const root = resolve(new URL("../..", import.meta.url).pathname);
const cli = join(root, "dist", "repl", "cli.js");
const scriptDir = join(root, "test", "acceptance", "scripts");

interface Line {
  lineNo: number;
  line: string;
  command: string;
  ok: boolean;
  kind: string;
  value: any;
  text: string;
  error?: string;
}
interface Run {
  code: number | null;
  stdout: string;
  stderr: string;
  results: Line[];
  cwd: string;
}

function realm(args: string[], cwd?: string): Run {
  const dir = cwd ?? mkdtempSync(join(tmpdir(), "realm-accept-"));
  const r = spawnSync(process.execPath, [cli, ...args], { cwd: dir, encoding: "utf8", maxBuffer: 1 << 28 });
  const results: Line[] = [];
  for (const l of (r.stdout ?? "").split("\n")) {
    if (!l.startsWith("{")) continue;
    results.push(JSON.parse(l) as Line);
  }
  return { code: r.status, stdout: r.stdout ?? "", stderr: r.stderr ?? "", results, cwd: dir };
}
const runScript = (name: string, extra: string[] = [], cwd?: string) =>
  realm(["run", join(scriptDir, name), "--json", ...extra], cwd);

/** The non-blank, non-comment lines of a script with their 1-based line numbers. */
function commandLines(name: string): { lineNo: number; text: string }[] {
  return readFileSync(join(scriptDir, name), "utf8")
    .split("\n")
    .map((text, i) => ({ lineNo: i + 1, text: text.trim() }))
    .filter((l) => l.text !== "" && !l.text.startsWith("#"));
}
const byLine = (r: Run, line: string, nth = 0) => {
  const hits = r.results.filter((x) => x.line === line);
  if (hits.length <= nth) throw new Error(`no result for '${line}' (#${nth}); stderr: ${r.stderr}`);
  return hits[nth];
};
const granules = (l: Line) => l.value.stats.granules as Record<string, number>;

describe("realm run --json: the binary", () => {
  it("is built", () => {
    expect(existsSync(cli)).toBe(true);
  });
});

describe("v8 realm: private memory faults in", () => {
  const name = "v8-private-touch.realm";
  const r = runScript(name);

  it("runs every command, one JSON object per command, numbered by file line", () => {
    expect(r.code, r.stderr).toBe(0);
    const expected = commandLines(name);
    expect(r.results.map((x) => x.lineNo)).toEqual(expected.map((l) => l.lineNo));
    expect(r.results.map((x) => x.line)).toEqual(expected.map((l) => l.text));
    expect(r.results.every((x) => x.ok)).toBe(true);
  });

  it("new: a v8 realm on RMM 1.0, ACTIVE, 40-bit IPA, RAM at 0x80000000", () => {
    const n = byLine(r, "new a --series v8 --mem 64M");
    expect(n.value).toMatchObject({ name: "a", series: "v8", rmm: "1.0", ipaBits: 40, state: "ACTIVE", ramBase: "0x80000000" });
    expect(BigInt(n.value.memory)).toBe(64n << 20n);
    expect(n.value.start.ok).toBe(true);
  });

  it("touching 16 private pages adds 16 DATA granules and maps each at level 3", () => {
    const before = granules(byLine(r, "acct", 0));
    const after = granules(byLine(r, "acct", 1));
    const t = byLine(r, "touch 0x80100000 --count 16");
    expect(t.value.done).toBe(16);
    expect(t.value.outcomes).toEqual({ ok: 16 });
    expect(t.value.access).toBe("write");
    expect(after.DATA - before.DATA).toBe(16);
    // Within one already-existing L3 table: no RTT is needed.
    expect(after.RTT).toBe(before.RTT);
    expect(t.value.rmiCalls).toBeGreaterThanOrEqual(16 * 2); // at least DATA_CREATE(_UNKNOWN) + REC_ENTER per page
  });

  it("rtt IPA: the walk from the root, ending in an ASSIGNED RAM level-3 entry", () => {
    const w = byLine(r, "rtt 0x80100000").value.walk as any[];
    expect(w.map((s) => s.level)).toEqual([1, 2, 3]);
    expect(w[0].entry.state).toBe("TABLE");
    expect(w[1].entry.state).toBe("TABLE");
    expect(w[2].entry).toMatchObject({ level: 3, state: "ASSIGNED", ripas: "RAM", ipa: "0x80100000", size: "0x1000" });
    // The next table of the walk is the one the TABLE entry points to.
    expect(w[1].table).toBe(w[0].entry.pa);
    expect(w[2].table).toBe(w[1].entry.pa);
    const l2 = byLine(r, "rtt 0x80100000 --level 2").value.walk as any[];
    expect(l2.map((s) => s.level)).toEqual([1, 2]);
  });

  it("re-reading a mapped page costs no new map; an instruction fetch from an unmapped private page fails KVM_RUN", () => {
    const rd = byLine(r, "touch 0x80100000 --read");
    expect(rd.value.outcomes).toEqual({ ok: 1 });
    expect(rd.value.access).toBe("read");
    // handle_rec_exit: EC IABT_LOW -> rec_exit_sync_iabt, "Unhandled instruction abort", -ENXIO
    // (v9 16/43, v12 16/46, v13 20/48, v14 22/44): nothing is mapped
    const ex = byLine(r, "touch 0x80110000 --exec --count 2 --stride 8K");
    expect(ex.value.outcomes).toEqual({ error: 2 });
    expect(ex.value.results.map((x: any) => x.ipa)).toEqual(["0x80110000", "0x80112000"]);
  });

  it("2 MiB strides on vCPU 1 need one new L3 RTT per access", () => {
    const t = byLine(r, "touch 0x80400000 --count 3 --stride 2M --vcpu 1");
    expect(t.value.vcpu).toBe(1);
    expect(t.value.results.map((x: any) => x.ipa)).toEqual(["0x80400000", "0x80600000", "0x80800000"]);
    expect(t.value.outcomes).toEqual({ ok: 3 });
    const a1 = granules(byLine(r, "acct", 1));
    const a2 = granules(byLine(r, "acct", 2));
    expect(a2.RTT - a1.RTT).toBe(3);
    expect(a2.DATA - a1.DATA).toBe(3); // the two instruction fetches mapped nothing
  });

  it("rtt --level 3 lists only level-3 tables (text); the tree carries the RD", () => {
    const t = byLine(r, "rtt --level 3");
    const tableLines = t.text.split("\n").filter((l) => /^\s*L-?\d RTT /.test(l));
    expect(tableLines.length).toBe(4);
    expect(tableLines.every((l) => /^\s*L3 RTT /.test(l))).toBe(true);
    expect(t.value.tree.rd).toMatch(/^0x[0-9a-f]+$/);
    const d1 = byLine(r, "rtt --depth 1").text;
    expect(d1).toMatch(/L1 RTT/);
    expect(d1).toMatch(/UNASSIGNED_NS/);
    expect(d1).not.toMatch(/^\s*\[\d+(\.\.\d+)?\]\s+0x80100000/m); // L3 entries are not expanded at depth 1
  });

  it("granule PA of a mapped page: DATA in the Realm PAS, owned by the realm's RD", () => {
    const pa = (byLine(r, "rtt 0x80100000").value.walk as any[])[2].entry.pa as string;
    const rd = byLine(r, "rtt --level 3").value.tree.rd as string;
    // Same seed, same commands: the same PA. Replay the prefix and ask about that granule.
    const dir = mkdtempSync(join(tmpdir(), "realm-accept-"));
    const f = join(dir, "g.realm");
    writeFileSync(f, ["new a --series v8 --mem 64M", "touch 0x80100000 --count 16", `granule ${pa}`, `granule ${rd}`].join("\n") + "\n");
    const g = realm(["run", f, "--json"], dir);
    expect(g.code, g.stderr).toBe(0);
    expect(g.results[2].value).toMatchObject({ state: "DATA", pas: "REALM", owner: rd });
    expect(g.results[3].value).toMatchObject({ state: "RD", pas: "REALM" });
  });
});

describe("fault injection: an RTT_CREATE failure", () => {
  const r = runScript("inject-rtt-create.realm");

  it("runs to the end", () => {
    expect(r.code, r.stderr).toBe(0);
    expect(r.results.every((x) => x.ok)).toBe(true);
  });

  it("faults lists the rule, unfired, then fired once and spent", () => {
    const f0 = byLine(r, "faults", 0);
    const f1 = byLine(r, "faults", 1);
    expect(f0.text).toMatch(/RTT_CREATE/);
    expect(f0.text).toMatch(/RMI_ERROR_RTT/);
    expect(f0.text).toMatch(/\b0\s+yes\b/);
    expect(f1.text).toMatch(/\b1\s+no\b/);
  });

  it("the touch that needs a new L3 RTT fails, and the injected failure shows in the trace in the RMM's format", () => {
    const t = byLine(r, "touch 0x81000000", 0);
    expect(t.value.outcomes.ok ?? 0).toBe(0);
    const tr = byLine(r, "trace --grep RTT_CREATE --last 0");
    const lines = (tr.value.lines as string[]).filter((l) => l.startsWith("SMC_RMI_RTT_CREATE"));
    const failed = lines.filter((l) => / > RMI_ERROR_RTT 2\b/.test(l));
    expect(failed.length).toBe(1);
    // SMC_RMI_RTT_CREATE rd rtt ipa level: the level-3 table for 0x81000000.
    expect(failed[0]).toMatch(/^SMC_RMI_RTT_CREATE [0-9a-f]+ [0-9a-f]+ 81000000 3 > RMI_ERROR_RTT 2/);
  });

  it("faults clear empties the list and the same touch then maps", () => {
    expect(byLine(r, "faults", 2).text).not.toMatch(/RTT_CREATE/);
    const t2 = byLine(r, "touch 0x81000000", 1);
    expect(t2.value.outcomes).toEqual({ ok: 1 });
    const last = byLine(r, "trace --last 5").value.lines as string[];
    expect(last.some((l) => /^SMC_RMI_RTT_CREATE [0-9a-f]+ [0-9a-f]+ 81000000 3 > RMI_SUCCESS/.test(l))).toBe(true);
  });

  it("trace --last N: value.lines holds exactly the last N trace lines (no presentation footer)", () => {
    const t = byLine(r, "trace --last 5");
    expect(t.value.lines.length).toBe(5);
    expect((t.value.lines as string[]).every((l) => !l.startsWith("("))).toBe(true);
  });
});

describe("smc: raw RMI on the bare RMM 1.0 platform", () => {
  const r = runScript("smc.realm");
  const smc = (line: string, nth = 0) => byLine(r, line, nth).value;

  it("runs to the end (RMI failures are results, not errors)", () => {
    expect(r.code, r.stderr).toBe(0);
    expect(r.results.every((x) => x.ok)).toBe(true);
  });

  it("RMI_VERSION 0x10000 is RMI_SUCCESS with lower = higher = 0x10000; 2.0 is refused on a 1.0 RMM", () => {
    expect(smc("smc RMI_VERSION 0x10000")).toMatchObject({ status: "RMI_SUCCESS", x0: "0x0", command: "RMI_VERSION" });
    expect(smc("smc RMI_VERSION 0x10000").outputs).toEqual({ lower: "0x10000", higher: "0x10000" });
    expect(smc("smc VERSION 0x20000")).toMatchObject({ status: "RMI_ERROR_INPUT", x0: "0x1" });
    expect(smc("smc 0xC4000150 0x10000")).toMatchObject({ status: "RMI_SUCCESS", command: "RMI_VERSION", fid: "0xc4000150" });
  });

  it("GRANULE_DELEGATE / UNDELEGATE move a granule between NS and Realm PAS; errors are ERROR_INPUT", () => {
    expect(smc("smc GRANULE_DELEGATE 0x88000000", 0).status).toBe("RMI_SUCCESS");
    expect(byLine(r, "granule 0x88000000", 0).value).toMatchObject({ state: "DELEGATED", pas: "REALM", refcount: 0 });
    expect(smc("smc GRANULE_DELEGATE 0x88000000", 1).status).toBe("RMI_ERROR_INPUT"); // already delegated
    expect(smc("smc granuleDelegate 0x88001001").status).toBe("RMI_ERROR_INPUT"); // unaligned
    expect(smc("smc GRANULE_DELEGATE 0x1C000000").status).toBe("RMI_ERROR_INPUT"); // MMIO, not DRAM
    expect(smc("smc GRANULE_UNDELEGATE 0x88000000").status).toBe("RMI_SUCCESS");
    expect(byLine(r, "granule 0x88000000", 1).value).toMatchObject({ state: "UNDELEGATED", pas: "NS" });
    expect(smc("smc RTT_READ_ENTRY 0x88000000 0x100000 3").status).toBe("RMI_ERROR_INPUT"); // not an RD
  });
});

describe("share / unshare", () => {
  it("v12: shared memory maps through the unprotected alias as ASSIGNED_NS, and back to private", () => {
    const r = runScript("share-unshare.realm");
    expect(r.code, r.stderr).toBe(0);
    expect(byLine(r, "share 0x80200000 2M").value.result.outcome).toBe("ok");
    // v8..v13 force write faults for RECs: a read of shared memory maps it.
    expect(byLine(r, "touch 0x8080200000 --count 4 --read").value.outcomes).toEqual({ ok: 4 });
    const w1 = byLine(r, "rtt 0x8080200000", 0).value.walk as any[];
    expect(w1.at(-1).entry).toMatchObject({ level: 3, state: "ASSIGNED_NS" });
    expect(byLine(r, "unshare 0x80200000 2M").value.result.outcome).toBe("ok");
    const w2 = byLine(r, "rtt 0x8080200000", 1).value.walk as any[];
    expect(w2.at(-1).entry.state).toBe("UNASSIGNED_NS");
    expect(byLine(r, "touch 0x80200000 --count 4").value.outcomes).toEqual({ ok: 4 });
    const w3 = byLine(r, "rtt 0x80200000").value.walk as any[];
    expect(w3.at(-1).entry).toMatchObject({ state: "ASSIGNED", ripas: "RAM" });
    expect(byLine(r, "acct").value.stats.warnCount).toBe(0);
  });

  it("v14 (S05): a read of shared memory WARNs in realm_map_ipa and KVM_RUN fails with -EFAULT", () => {
    const r = runScript("v14-read-shared.realm");
    expect(r.code, r.stderr).toBe(0);
    const t = byLine(r, "touch 0x8080200000 --read");
    expect(t.value.results[0]).toMatchObject({ outcome: "error", errno: "-EFAULT" });
    expect(byLine(r, "acct").value.stats.warnCount).toBeGreaterThanOrEqual(1);
    const warns = byLine(r, "trace --grep WARN --last 0").value.lines as string[];
    expect(warns.some((l) => /realm_map_ipa/.test(l))).toBe(true);
  });
});

describe("workloads and charts", () => {
  const r = runScript("workloads.realm");

  it("runs every workload to completion on a v13 (RMM 2.0) realm", () => {
    expect(r.code, r.stderr).toBe(0);
    expect(byLine(r, "new wl --series v13 --mem 32M").value.rmm).toBe("2.0");
    for (const l of ["workload seq --pages 64", "workload random --pages 100 --seed 7", "workload boot", "workload share-cycle --size 2M --rounds 2"]) {
      expect(byLine(r, l).ok, l).toBe(true);
      expect(byLine(r, l).text, l).toMatch(/steps/);
      expect(byLine(r, l).text, l).not.toMatch(/error|livelock/);
    }
  });

  it("workload --steps N stops after N steps", () => {
    expect(byLine(r, "workload seq --steps 10").text).toMatch(/\b10\/\d+ steps/);
  });

  it("acct after seq: at least 64 more DATA granules than the populated image", () => {
    expect(granules(byLine(r, "acct")).DATA).toBeGreaterThanOrEqual(64);
  });

  it("chart draws a terminal chart; chart --png writes a real PNG into the working directory", () => {
    expect(byLine(r, "chart").text).toMatch(/DATA=/);
    const png = join(r.cwd, "acct.png");
    expect(existsSync(png)).toBe(true);
    const bytes = readFileSync(png);
    expect([...bytes.subarray(0, 8)]).toEqual([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]);
    expect(bytes.length).toBeGreaterThan(1000);
  });
});

describe("new with each posting, use, ls, destroy", () => {
  const r = runScript("realms.realm");

  it("every posting brings up an ACTIVE realm with its RMM ABI (v8..v12: 1.0, v13/v14: 2.0)", () => {
    expect(r.code, r.stderr).toBe(0);
    const abi: Record<string, string> = { p8: "1.0", p10: "1.0", p12: "1.0", p13: "2.0", p14: "2.0" };
    for (const [name, rmm] of Object.entries(abi)) {
      const n = r.results.find((x) => x.command === "new" && x.value?.name === name)!;
      expect(n.value, name).toMatchObject({ rmm, state: "ACTIVE" });
    }
    expect(r.results.find((x) => x.value?.name === "p14")!.value.vcpus).toBe(3);
  });

  it("ls marks the current realm; use switches it; destroy removes one", () => {
    const ls = r.results.filter((x) => x.command === "ls");
    const current = (l: Line) => l.text.split("\n").filter((x) => x.startsWith("*")).map((x) => x.split(/\s+/)[1]);
    expect(current(ls[0])).toEqual(["p14"]);
    expect(current(ls[1])).toEqual(["p10"]);
    expect(ls[2].text).not.toMatch(/\bp12\b/);
    expect(ls[2].text.split("\n").filter((x) => /\bp(8|10|13|14)\b/.test(x)).length).toBe(4);
    expect(byLine(r, "touch 0x80100000").value.realm).toBe("p10");
  });
});

describe("scenarios", () => {
  const r = runScript("scenarios.realm");

  it("scenario list: the S01..S33 catalogue", () => {
    expect(r.code, r.stderr).toBe(0);
    const ids = [...byLine(r, "scenario list").text.matchAll(/^(S\d\d)\b/gm)].map((m) => m[1]);
    const want = Array.from({ length: 33 }, (_, i) => `S${String(i + 1).padStart(2, "0")}`);
    expect(ids).toEqual(want);
  });

  it("S01 --series all: v8 livelocks with no WARN; v10..v13 map Q", () => {
    const res = byLine(r, "scenario run S01 --series all").value.results as any[];
    expect(res.map((x) => x.series)).toEqual(["v8", "v10", "v12", "v13", "v14"]);
    const v8 = res.find((x) => x.series === "v8");
    expect(v8).toMatchObject({ outcome: "livelock", livelock: true, warnCount: 0 });
    for (const s of ["v10", "v12", "v13"]) expect(res.find((x) => x.series === s).outcome, s).toBe("ok");
  });

  it("S14 --series all: the PGD leak shows on v10..v13 only", () => {
    const res = byLine(r, "scenario run S14 --series all").value.results as any[];
    for (const x of res) {
      if (["v10", "v12", "v13"].includes(x.series)) expect(x.leakedGranules, x.series).toBeGreaterThan(0);
      else expect(x.leakedGranules, x.series).toBe(0);
    }
  });

  it("S05: v14 WARNs on a shared read fault, v12 does not", () => {
    const v14 = byLine(r, "scenario run S05 --series v14").value.results as any[];
    expect(v14.length).toBe(1);
    expect(v14[0].outcome).not.toBe("ok");
    expect(v14[0].warnCount).toBeGreaterThanOrEqual(1);
    const v12 = byLine(r, "scenario run S05 --series v12").value.results as any[];
    expect(v12[0]).toMatchObject({ series: "v12", outcome: "ok", warnCount: 0 });
  });
});

describe("malformed commands", () => {
  it("without --keep-going: exits non-zero at the first failing command, with file:line and a suggestion", () => {
    const r = runScript("errors.realm");
    expect(r.code).not.toBe(0);
    // Lines 2..4 ran, line 5 (tuch) failed, nothing after it ran.
    expect(r.results.map((x) => x.lineNo)).toEqual([2, 3, 4, 5]);
    expect(r.results.at(-1)).toMatchObject({ ok: false, line: "tuch 0x80200000" });
    expect(r.results.at(-1)!.error).toMatch(/unknown command 'tuch', did you mean 'touch'\?/);
    // The plain (non-JSON) run names file and line on stderr.
    const plain = realm(["run", join(scriptDir, "errors.realm")]);
    expect(plain.code).not.toBe(0);
    expect(plain.stderr).toMatch(/errors\.realm:5: unknown command 'tuch', did you mean 'touch'\?/);
    expect(plain.stdout).not.toMatch(/realm> touch 0x80200000 --count x/);
  });

  it("with --keep-going: every bad line is reported with a clear message, and none changes the simulation", () => {
    const r = runScript("errors.realm", ["--keep-going"]);
    expect(r.code).not.toBe(0); // some command failed
    const bad = r.results.filter((x) => !x.ok);
    expect(bad.map((x) => x.lineNo)).toEqual([5, 6, 7, 8, 9, 10, 11, 12]);
    const msg = (n: number) => r.results.find((x) => x.lineNo === n)!.error!;
    expect(msg(6)).toMatch(/--count/);
    expect(msg(7)).toMatch(/v9/);
    expect(msg(8)).toMatch(/nosuchrealm/);
    expect(msg(9)).toMatch(/align/);
    expect(msg(10)).toMatch(/zzz/);
    expect(msg(11)).toMatch(/NOT_A_STATUS/);
    expect(msg(12)).toMatch(/IPA/);
    // The last acct equals an acct taken right after line 4.
    const dir = mkdtempSync(join(tmpdir(), "realm-accept-"));
    writeFileSync(join(dir, "ref.realm"), "new e --series v12\ntouch 0x80100000\nacct\n");
    const ref = realm(["run", join(dir, "ref.realm"), "--json"], dir);
    const lastAcct = r.results.at(-1)!;
    expect(lastAcct.command).toBe("acct");
    const { rmiCalls: _a, ...got } = lastAcct.value.stats;
    const { rmiCalls: _b, ...want } = ref.results.at(-1)!.value.stats;
    expect(got).toEqual(want);
    expect(lastAcct.value.stats.rmiCalls).toBe(ref.results.at(-1)!.value.stats.rmiCalls);
  });
});

describe("save, then realm run, replays to the same trace", () => {
  it("the saved script reproduces the trace line for line", () => {
    const r = runScript("save-replay.realm");
    expect(r.code, r.stderr).toBe(0);
    const saved = join(r.cwd, "replay-me.realm");
    expect(existsSync(saved)).toBe(true);
    const text = readFileSync(saved, "utf8");
    // Read-only commands are left out; state-changing ones are kept.
    expect(text).not.toMatch(/^(rtt|acct|trace)\b/m);
    expect(text).toMatch(/^inject /m);
    expect(text).toMatch(/^destroy b$/m);
    const first = byLine(r, "trace --last 0").value.lines as string[];
    writeFileSync(join(r.cwd, "replay.realm"), text + "trace --last 0\n");
    const again = realm(["run", join(r.cwd, "replay.realm"), "--json"], r.cwd);
    expect(again.code, again.stderr).toBe(0);
    const second = again.results.at(-1)!.value.lines as string[];
    expect(second.length).toBe(first.length);
    expect(second).toEqual(first);
  });
});

describe("help", () => {
  it("help lists every command of the issue 6 table; help COMMAND gives usage", () => {
    const r = runScript("help.realm");
    expect(r.code, r.stderr).toBe(0);
    const all = byLine(r, "help").text;
    for (const c of ["new", "use", "ls", "destroy", "touch", "share", "unshare", "workload", "inject", "faults", "rtt", "granule", "acct", "chart", "trace", "smc", "scenario", "save", "help", "exit"]) {
      expect(all, c).toMatch(new RegExp(`^\\s+${c}\\b`, "m"));
    }
    expect(byLine(r, "help touch").text).toMatch(/^usage: touch IPA/m);
    expect(byLine(r, "help touch").text).toMatch(/--stride SIZE/);
    expect(byLine(r, "help smc").text).toMatch(/^usage: smc COMMAND/m);
  });
});

describe("every example `help COMMAND` prints", () => {
  const r = runScript("help-examples.realm", ["--keep-going"]);

  it("runs as documented (including inject's JSON rule form)", () => {
    const bad = r.results.filter((x) => !x.ok).map((x) => `${x.lineNo}: ${x.line} -> ${x.error}`);
    expect(bad).toEqual([]);
    expect(r.code, r.stderr).toBe(0);
  });

  it("the examples do what their help says", () => {
    expect(byLine(r, "new tiny --series v8 --ipa-bits 33 --mem 2M").value).toMatchObject({ ipaBits: 33, series: "v8" });
    expect(byLine(r, "touch 0x80000000 --count 512 --stride 4K --read").value.outcomes).toEqual({ ok: 512 });
    expect(byLine(r, "touch 0x8080000000 --vcpu 1").value).toMatchObject({ realm: "r1", vcpu: 1, outcomes: { ok: 1 } });
    expect(byLine(r, "workload seq").text).toMatch(/16384\/16384 steps/); // 64 MiB of RAM
    const json = r.results.find((x) => x.line.startsWith("inject {"));
    expect(json?.ok, json?.error).toBe(true);
    expect(json?.text).toMatch(/RTT_FOLD/);
    expect(byLine(r, "smc VERSION 0x10000").value.status).toBe("RMI_SUCCESS");
    expect(byLine(r, "scenario run S10 --series v8").value.results.length).toBe(1);
    expect(byLine(r, "seed").text).toMatch(/\b1\b/);
  });
});

describe("README.md's REPL tour, verbatim", () => {
  // The realm> lines of README.md's "The REPL" block, comments dropped, run as a script.
  const readme = readFileSync(join(root, "README.md"), "utf8");
  const block = /## The REPL\s+```text\n([\s\S]*?)```/.exec(readme)?.[1] ?? "";
  const tour = block
    .split("\n")
    .filter((l) => l.startsWith("realm> "))
    .map((l) => l.slice("realm> ".length).replace(/\s+#.*$/, "").trim());
  const dir = mkdtempSync(join(tmpdir(), "realm-readme-"));
  writeFileSync(join(dir, "tour.realm"), tour.join("\n") + "\n");
  const r = realm(["run", join(dir, "tour.realm"), "--json"], dir);
  const touch = tour.find((l) => l.startsWith("touch "))!;
  const smcLine = tour.find((l) => l.startsWith("smc "))!;

  it("the README has a REPL tour", () => {
    expect(tour.length).toBeGreaterThanOrEqual(8);
    expect(touch).toMatch(/--count 16/);
    expect(smcLine).toMatch(/^smc RTT_READ_ENTRY rd /);
  });

  it("runs to the end (exit 0)", () => {
    expect(r.code, r.stderr).toBe(0);
    expect(r.results.every((x) => x.ok)).toBe(true);
  });

  it("the tour's `touch ... --count 16` faults in and maps memory, as the README comment says", () => {
    const t = byLine(r, touch);
    expect(t.value.outcomes).toEqual({ ok: 16 });
  });

  it("the tour's `smc RTT_READ_ENTRY rd ...` is decoded (rd: the current realm's RD)", () => {
    const s = byLine(r, smcLine);
    expect(s.ok, s.error).toBe(true);
    expect(s.value.command).toBe("RMI_RTT_READ_ENTRY");
    expect(["RMI_SUCCESS", "RMI_ERROR_RTT"]).toContain(s.value.status);
  });
});

describe("realm kernel install (design.md: package contract)", () => {
  it("registers the kernelspec 'realm', display name \"Realm (TypeScript)\", running this package's kernel", () => {
    const dir = mkdtempSync(join(tmpdir(), "realm-kspec-"));
    const r = realm(["kernel", "install", "--prefix", dir], dir);
    expect(r.code, r.stderr).toBe(0);
    const spec = JSON.parse(readFileSync(join(dir, "share", "jupyter", "kernels", "realm", "kernel.json"), "utf8"));
    expect(spec.display_name).toBe("Realm (TypeScript)");
    expect(spec.language).toBe("typescript");
    expect(spec.argv).toContain("{connection_file}");
    expect(spec.argv.some((a: string) => a.startsWith(root))).toBe(true);
  });
});

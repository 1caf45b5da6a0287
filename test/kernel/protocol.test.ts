/**
 * The realm kernel through a real Jupyter client (jupyter_client): kernel_info, execute (values,
 * streams, rich display, errors, stop_on_error), complete, inspect, is_complete, interrupt,
 * shutdown, %realm magics. The kernel runs in a temporary folder outside the repository.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { KernelClient, outputs, resultText, stdout } from "./client.js";

let k: KernelClient;

beforeAll(async () => {
  k = await KernelClient.start();
});

afterAll(async () => {
  await k?.close();
});

describe("kernel_info", () => {
  it("describes the realm kernel and its TypeScript", async () => {
    const r = await k.request({ op: "kernel_info" });
    expect(r.reply.msg_type).toBe("kernel_info_reply");
    const c = r.reply.content;
    expect(c.status).toBe("ok");
    expect(c.protocol_version).toBe("5.3");
    expect(c.implementation).toBe("realm");
    expect(c.language_info.name).toBe("typescript");
    expect(c.language_info.version).toBe("5.0.4");
    expect(c.language_info.file_extension).toBe(".ts");
    expect(c.banner).toMatch(/cca-realm-sim .* on tslab 1\.0\.22/);
  });
});

describe("execute", () => {
  it("imports cca-realm-sim from a folder outside the package, with no set-up cell", async () => {
    const r = await k.execute(
      'import { Platform } from "cca-realm-sim";\nconst p = Platform.create({ rmm: "1.0" });\nconst v = p.rmi.version(0x10000n);\nv.status',
    );
    expect(r.reply.content.status).toBe("ok");
    expect(resultText(r)).toBe("'RMI_SUCCESS'");
  });

  it("sends execute_input, counts executions and keeps variables between cells", async () => {
    const a = await k.execute("let counter = 41;");
    const b = await k.execute("counter + 1");
    expect(b.reply.content.execution_count).toBe(a.reply.content.execution_count + 1);
    expect(outputs(b, "execute_input")[0]).toEqual({ code: "counter + 1", execution_count: b.reply.content.execution_count });
    const res = outputs(b, "execute_result")[0]!;
    expect(res.execution_count).toBe(b.reply.content.execution_count);
    expect(res.data["text/plain"]).toBe("42");
  });

  it("streams console output and shows no value for statements", async () => {
    const r = await k.execute('console.log("hello", 1 + 1);\nconsole.error("warned");');
    expect(stdout(r)).toBe("hello 2\n");
    expect(outputs(r, "stream").find((c) => c.name === "stderr")?.text).toBe("warned\n");
    expect(outputs(r, "execute_result")).toHaveLength(0);
  });

  it("runs top-level await", async () => {
    const r = await k.execute("await new Promise<number>((res) => setTimeout(() => res(7), 10))");
    expect(resultText(r)).toBe("7");
  });

  it("silent execution publishes nothing and does not count", async () => {
    const before = await k.execute("0");
    const s = await k.execute("console.log('quiet'); 5", { silent: true });
    expect(s.reply.content.status).toBe("ok");
    expect(s.iopub).toEqual([]);
    const after = await k.execute("0");
    expect(after.reply.content.execution_count).toBe(before.reply.content.execution_count + 1);
  });
});

describe("rich display", () => {
  it("an RTT tree value shows as HTML with a text tree", async () => {
    const r = await k.execute(
      'const tree = { level: 1, pa: 0x80001000n, entries: [ { index: 0, ipa: 0n, state: "TABLE", pa: 0x80002000n,\n' +
        '  table: { level: 2, pa: 0x80002000n, entries: [ { first: 0, last: 511, ipa: 0n, state: "UNASSIGNED", ripas: "RAM" } ] } },\n' +
        '  { first: 1, last: 511, ipa: 0x40000000n, state: "UNASSIGNED", ripas: "EMPTY" } ] };\ntree',
    );
    const data = outputs(r, "execute_result")[0]!.data;
    expect(data["text/html"]).toContain("<table");
    expect(data["text/html"]).toContain("TABLE");
    expect(data["text/plain"]).toContain("└─ [1..511]  0x40000000  UNASSIGNED  EMPTY");
    expect(data["text/plain"]).toContain("L2 @0x80002000");
  });

  it("display() of an accounting chart sends a PNG, and the call itself shows nothing else", async () => {
    const r = await k.execute(
      'import { accountingChart } from "cca-realm-sim";\n' +
        'const pts = [0, 1, 2, 3].map((i) => ({ step: i, granules: { DELEGATED: i, RTT: 2 }, pgtablePages: i + 1, leakedPages: 0 }));\n' +
        'display(accountingChart(pts, { title: "test" }));',
    );
    expect(r.reply.content.status).toBe("ok");
    const d = outputs(r, "display_data");
    expect(d).toHaveLength(1);
    const png = Buffer.from(d[0]!.data["image/png"], "base64");
    expect(png.subarray(1, 4).toString()).toBe("PNG");
    expect(d[0]!.data["text/plain"]).toContain("pgtablePages");
    expect(outputs(r, "execute_result")).toHaveLength(0);
  });

  it("a live chart is one display, updated in place", async () => {
    const r = await k.execute(
      'import { liveChart } from "cca-realm-sim";\nconst live = liveChart({ title: "live", every: 2 });\n' +
        "for (let i = 0; i < 6; i++) await live.push({ step: i, granules: { DATA: i }, pgtablePages: 1 });\nlive.done();",
    );
    expect(r.reply.content.status).toBe("ok");
    const first = outputs(r, "display_data");
    const updates = outputs(r, "update_display_data");
    expect(first).toHaveLength(1);
    expect(updates).toHaveLength(3);
    const id = first[0]!.transient.display_id;
    expect(typeof id).toBe("string");
    for (const u of updates) expect(u.transient.display_id).toBe(id);
    expect(updates[2]!.data["text/plain"]).toContain("steps 0..5");
  });
});

describe("errors", () => {
  it("a type error: ename, evalue, traceback with the cell line and column", async () => {
    const r = await k.execute('const fine = 1;\nconst n: number = "text";');
    const c = r.reply.content;
    expect(c.status).toBe("error");
    expect(c.ename).toBe("TSError");
    expect(c.evalue).toContain("line 2");
    expect(c.evalue).toContain("Type 'string' is not assignable to type 'number'.");
    const n = c.execution_count;
    expect(c.traceback[0]).toBe(`TSError: cell[${n}]:2:7 - Type 'string' is not assignable to type 'number'. (TS2322)`);
    expect(c.traceback[1]).toBe('  2 | const n: number = "text";');
    const err = outputs(r, "error")[0]!;
    expect(err.ename).toBe("TSError");
  });

  it("a thrown error: the traceback names the cell lines of each frame", async () => {
    const r = await k.execute('type T = { a: number };\nfunction inner(x: T): number {\n  throw new RangeError("bad " + x.a);\n}\n\nconst y: number = inner({ a: 3 });');
    const c = r.reply.content;
    expect(c.status).toBe("error");
    expect(c.ename).toBe("RangeError");
    expect(c.evalue).toBe("bad 3");
    const n = c.execution_count;
    expect(c.traceback).toContain(`    at inner (cell[${n}]:3:9)`);
    expect(c.traceback.some((l: string) => l.startsWith(`    at cell[${n}]:6:`))).toBe(true);
    expect(c.traceback).toContain(`cell[${n}] line 3:`);
    expect(c.traceback.join("\n")).not.toMatch(/tslab|kernel\.js|node:vm/);
  });

  it("an error from the simulator names package paths relative to the package", async () => {
    const r = await k.execute('import { Platform as P2 } from "cca-realm-sim";\nP2.create({ rmm: "3.0" as any });');
    const c = r.reply.content;
    expect(c.ename).toBe("RangeError");
    expect(c.evalue).toContain('rmm must be "1.0" or "2.0"');
    expect(c.traceback.join("\n")).toContain("cca-realm-sim/dist/src/system/platform.js");
    expect(c.traceback.join("\n")).not.toContain("/work/");
  });

  it("the cell right after an error runs (no 200 ms abort window)", async () => {
    const bad = await k.execute('throw new Error("first")');
    expect(bad.reply.content.status).toBe("error");
    const next = await k.execute("'ran'");
    expect(next.reply.content.status).toBe("ok");
    expect(resultText(next)).toBe("'ran'");
  });

  it("stop_on_error: false (a raises-exception cell) lets queued cells run", async () => {
    const r = await k.request({
      op: "execute_many",
      cells: [{ code: 'throw new Error("allowed")', stop_on_error: false }, { code: "'after'" }],
    });
    expect(r.results[0].reply.content.status).toBe("error");
    expect(r.results[1].reply.content.status).toBe("ok");
    expect(r.results[1].iopub.find((m: any) => m.msg_type === "execute_result").content.data["text/plain"]).toBe("'after'");
  });

  it("stop_on_error (default) aborts the requests already queued, and only those", async () => {
    const r = await k.request({
      op: "execute_many",
      cells: [{ code: 'throw new Error("stop")' }, { code: "'queued 1'" }, { code: "'queued 2'" }],
    });
    expect(r.results.map((x: any) => x.reply.content.status)).toEqual(["error", "aborted", "aborted"]);
    expect(r.results[1].iopub).toEqual([]);
    const later = await k.execute("'later'");
    expect(later.reply.content.status).toBe("ok");
  });
});

describe("complete, inspect, is_complete", () => {
  it("completes simulator API members (tslab's language service)", async () => {
    await k.execute('import { Platform as P3 } from "cca-realm-sim";\nconst plat = P3.create();');
    const code = "plat.rmi.granuleD";
    const r = await k.request({ op: "complete", code, cursor_pos: code.length });
    const c = r.reply.content;
    expect(c.status).toBe("ok");
    expect(c.matches).toContain("granuleDelegate");
    expect(c.matches).not.toContain("realmCreate");
    expect(c.cursor_start).toBe("plat.rmi.".length);
    expect(c.cursor_end).toBe(code.length);
  });

  it("completes TypeScript after %realm lines (offsets mapped back)", async () => {
    const code = "%realm help\nplat.gran";
    const r = await k.request({ op: "complete", code, cursor_pos: code.length });
    expect(r.reply.content.matches).toContain("granule");
    expect(r.reply.content.cursor_start).toBe(code.length - "gran".length);
  });

  it("completes realm> commands on %realm lines", async () => {
    const code = "%realm smc GRANULE_DEL";
    const r = await k.request({ op: "complete", code, cursor_pos: code.length });
    expect(r.reply.content.matches).toContain("GRANULE_DELEGATE");
    expect(r.reply.content.cursor_start).toBe("%realm smc ".length);
  });

  it("inspects the simulator API", async () => {
    const code = "P3.create";
    const r = await k.request({ op: "inspect", code, cursor_pos: 5 });
    const c = r.reply.content;
    expect(c.status).toBe("ok");
    expect(c.found).toBe(true);
    expect(c.data["text/plain"]).toContain("(method) Platform.create(opts?: PlatformOptions):");
  });

  it("inspect of nothing reports found: false", async () => {
    const r = await k.request({ op: "inspect", code: "   ", cursor_pos: 1 });
    expect(r.reply.content).toMatchObject({ status: "ok", found: false });
  });

  it("is_complete: incomplete with an indent hint, complete, and %%realm cells", async () => {
    const a = await k.request({ op: "is_complete", code: "function f() {" });
    expect(a.reply.content).toEqual({ status: "incomplete", indent: "  " });
    const b = await k.request({ op: "is_complete", code: "const z = 1;" });
    expect(b.reply.content).toEqual({ status: "complete" });
    const c = await k.request({ op: "is_complete", code: "%%realm\nhelp" });
    expect(c.reply.content).toEqual({ status: "complete" });
  });
});

describe("%realm magics", () => {
  it("a %realm line runs the command language and shows its result; TS sees the same objects", async () => {
    const r = await k.execute('%realm smc GRANULE_DELEGATE 0x88000000\nrealm.session.machine().platform.granule(0x88000000n).state');
    expect(r.reply.content.status).toBe("ok");
    const shown = outputs(r, "display_data")[0]!;
    expect(shown.data["text/plain"]).toContain("RMI_SUCCESS");
    expect(resultText(r)).toBe("'DELEGATED'");
  });

  it("${expr} in a %realm line takes TypeScript values", async () => {
    const r = await k.execute('const pa = "0x88000000";\n%realm granule ${pa}');
    expect(r.reply.content.status).toBe("ok");
    expect(outputs(r, "display_data")[0]!.data["text/plain"]).toContain("DELEGATED");
  });

  it("a %%realm cell runs its commands in order", async () => {
    const r = await k.execute("%%realm\n# comment\nsmc GRANULE_UNDELEGATE 0x88000000\ngranule 0x88000000");
    expect(r.reply.content.status).toBe("ok");
    const texts = outputs(r, "display_data").map((d) => d.data["text/plain"]);
    expect(texts).toHaveLength(2);
    expect(texts[0]).toContain("RMI_SUCCESS");
    expect(texts[1]).toContain("UNDELEGATED");
  });

  it("a failing command is the cell's error, naming the cell line", async () => {
    const r = await k.execute("const before = 1;\n%realm tuch 0x1000");
    const c = r.reply.content;
    expect(c.status).toBe("error");
    expect(c.ename).toBe("RealmCommandError");
    expect(c.evalue).toBe("unknown command 'tuch', did you mean 'touch'?");
    expect(c.traceback.join("\n")).toContain(`cell[${c.execution_count}] line 2`);
  });

  it("an RMI failure is a result, not an error", async () => {
    const r = await k.execute("%realm smc GRANULE_DELEGATE 0x1000");
    expect(r.reply.content.status).toBe("ok");
    expect(outputs(r, "display_data")[0]!.data["text/plain"]).toContain("RMI_ERROR_INPUT");
  });
  it("%realm chart draws the realm's accounting as a PNG; realm.session is typed", async () => {
    const r = await k.execute(
      "%realm new c1 --series v10 --mem 8M\n%realm touch 0x80000000 --count 3\n%realm chart\n" +
        // a type error here would fail the cell: the session and its hosts have their real types
        'const samples: number = realm.session.samplesOf(realm.session.realms.get("c1")!.series).length;\nsamples > 3',
    );
    expect(r.reply.content.status).toBe("ok");
    const chart = outputs(r, "display_data")[2]!.data;
    expect(chart["text/plain"]).toMatch(/^granules by state on the v10 host \(\d+ samples\)/);
    expect(Buffer.from(chart["image/png"], "base64").subarray(1, 4).toString()).toBe("PNG");
    expect(resultText(r)).toBe("true");
  });
});

describe("scenario results in TypeScript cells", () => {
  it("comparisonView(scenarios.run(...)) type-checks against the real ScenarioResult and shows the postings side by side", async () => {
    const r = await k.execute(
      'import { scenarios, comparisonView, type ScenarioResult } from "cca-realm-sim";\n' +
        'const runs: ScenarioResult[] = ["v8", "v10"].map((series) => scenarios.run("S10", { series }));\n' +
        "display(comparisonView(scenarios.run(\"S10\", { series: \"v12\" })));\ncomparisonView(runs)",
    );
    expect(r.reply.content.status).toBe("ok");
    expect(outputs(r, "display_data")[0]!.data["text/plain"]).toMatch(/^outcome\s+ok$/m);
    const shown = outputs(r, "execute_result")[0]!.data;
    // S10: v8 15/43 (as quoted) WARNs and frees the RTT; v10 (the v9 15/43 code) leaks it
    expect(shown["text/plain"]).toMatch(/^outcome\s+warn\s+leak$/m);
    expect(shown["text/html"]).toContain("realm-scenarios");
  });
});

describe("interrupt", () => {
  it("SIGINT stops a synchronous loop; the kernel lives on", async () => {
    const r = await k.request({ op: "interrupt_during", code: "while (true) {}", after: 1.0 });
    expect(r.reply.content.status).toBe("error");
    expect(r.reply.content.ename).toBe("KeyboardInterrupt");
    expect(r.alive).toBe(true);
    const next = await k.execute("'alive'");
    expect(resultText(next)).toBe("'alive'");
  });

  it("interrupt_request on the control channel stops an awaiting cell", async () => {
    const r = await k.request({ op: "interrupt_during", code: "await new Promise((res) => setTimeout(res, 600000))", after: 0.5, mode: "message" });
    expect(r.control).toEqual({ msg_type: "interrupt_reply", content: { status: "ok" } });
    expect(r.reply.content.ename).toBe("KeyboardInterrupt");
    const next = await k.execute("'alive again'");
    expect(resultText(next)).toBe("'alive again'");
  });
});

describe("shutdown", () => {
  it("replies and the kernel process exits by itself", async () => {
    const k2 = await KernelClient.start();
    try {
      const r = await k2.request({ op: "shutdown" });
      expect(r.reply).toEqual({ msg_type: "shutdown_reply", content: { status: "ok", restart: false } });
      expect(r.exited).toBe(true);
    } finally {
      await k2.close();
    }
  });
});

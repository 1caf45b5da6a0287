/**
 * The realm kernel against what ipykernel does in Jupyter Notebook, through a real Jupyter
 * client (jupyter_client), one labelled case per behaviour of issue 12 B:
 *  1. interrupt stops asynchronous code: the interrupted cell's timers and continuations never
 *     run again (timeout loop, setInterval);
 *  2. a cell that throws or is interrupted keeps the declarations that ran before the error;
 *  3. signature help for inspect_request inside call arguments, detail_level 1 shows more;
 *  4. history_request tail / range / search, kept across sessions;
 *  5. is_complete: complete / incomplete / invalid;
 *  6. user_expressions evaluated (value or error);
 *  7. comm_open for an unknown target gets a comm_close;
 *  8. aborted cells get no execution count;
 *  9. complete_request clamps cursor_pos.
 */
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { KernelClient, outputs, resultText } from "./client.js";

let k: KernelClient;
let histDir: string;
let histFile: string;

beforeAll(async () => {
  histDir = mkdtempSync(join(tmpdir(), "realm-history-"));
  histFile = join(histDir, "history.jsonl");
  k = await KernelClient.start(undefined, histFile);
});

afterAll(async () => {
  await k?.close();
  rmSync(histDir, { recursive: true, force: true });
});

const sleepCell = (ms: number) => `await new Promise<void>((r) => setTimeout(r, ${ms}));`;

describe("1. interrupt stops asynchronous code", () => {
  it("an awaiting loop interrupted by interrupt_request never ticks again", async () => {
    await k.execute("let ticks = 0;");
    const r = await k.request({ op: "interrupt_during", code: "for (;;) { await new Promise<void>((r) => setTimeout(r, 20)); ticks++; }", after: 0.6, mode: "message" });
    expect(r.reply.content.ename).toBe("KeyboardInterrupt");
    const before = resultText(await k.execute("ticks"));
    expect(Number(before)).toBeGreaterThan(0);
    await k.execute(sleepCell(300));
    expect(resultText(await k.execute("ticks"))).toBe(before);
  });

  it("SIGINT (the Notebook's interrupt) cancels a setInterval the cell started", async () => {
    await k.execute("let beats = 0;");
    const r = await k.request({ op: "interrupt_during", code: "setInterval(() => beats++, 10);\nawait new Promise(() => {});", after: 0.5, mode: "signal" });
    expect(r.reply.content.ename).toBe("KeyboardInterrupt");
    const before = resultText(await k.execute("beats"));
    expect(Number(before)).toBeGreaterThan(0);
    await k.execute(sleepCell(200));
    expect(resultText(await k.execute("beats"))).toBe(before);
  });

  it("an interrupted %realm workload stops cleanly: the next command runs", async () => {
    expect((await k.execute("%realm new w1 --series v12 --mem 64M")).reply.content.status).toBe("ok");
    const r = await k.request({ op: "interrupt_during", code: "%realm workload seq", after: 1.0, mode: "signal" });
    expect(r.reply.content.status).toBe("error");
    const next = await k.execute("%realm acct");
    expect(next.reply.content.status).toBe("ok");
    expect(outputs(next, "display_data")[0]!.data["text/plain"]).toContain("accounting on the v12 host");
  });

  it("timers of later cells still run (only the interrupted cell's work is cancelled)", async () => {
    const r = await k.execute("await new Promise<number>((res) => setTimeout(() => res(5), 10))");
    expect(resultText(r)).toBe("5");
  });
});

describe("1b. %realm live charts are deterministic stored outputs", () => {
  it("a short run shows no chart; a long one shows one, whose final frame has every sample of the run", async () => {
    expect((await k.execute("%realm new lc --series v12 --mem 16M")).reply.content.status).toBe("ok");
    const short = await k.execute("%realm touch 0x80000000 --count 4");
    expect(outputs(short, "display_data").filter((d) => d.data["image/png"] !== undefined)).toEqual([]);
    const long = await k.execute("%realm touch 0x80100000 --count 100");
    const charts = outputs(long, "display_data").filter((d) => d.data["image/png"] !== undefined);
    expect(charts).toHaveLength(1);
    const frames = [charts[0]!, ...outputs(long, "update_display_data")];
    expect(frames.at(-1)!.data["text/plain"]).toMatch(/^touch: accounting \(live\) \(steps \d+\.\.\d+, 100 samples\)/);
  });
});

describe("2. a failed cell keeps the declarations that ran", () => {
  it("after interrupting a long loop, the realm it made is still a name", async () => {
    const r = await k.request({
      op: "interrupt_during",
      code: 'import { Host } from "cca-realm-sim";\nconst big = Host.create({ series: "v12", seed: 1 }).createRealm({ ipaBits: 40, memory: 64n << 20n, vcpus: 1 });\nlet spins = 0;\nwhile (true) spins++;\nconst notYet = 1;',
      after: 1.5,
    });
    expect(r.reply.content.ename).toBe("KeyboardInterrupt");
    const next = await k.execute("typeof big.start + ' ' + (spins > 0)");
    expect(next.reply.content.status).toBe("ok");
    expect(resultText(next)).toBe("'function true'");
    const gone = await k.execute("notYet");
    expect(gone.reply.content.ename).toBe("TSError");
    expect(gone.reply.content.evalue).toContain("Cannot find name 'notYet'");
  });

  it("a thrown error keeps what was assigned before it, not what came after", async () => {
    const r = await k.execute('const a1 = 5;\nfunction f1() { return a1 + 1; }\nthrow new Error("midway");\nconst a2 = 6;');
    expect(r.reply.content.status).toBe("error");
    expect(resultText(await k.execute("f1() + a1"))).toBe("11");
    const a2 = await k.execute("a2");
    expect(a2.reply.content.evalue).toContain("Cannot find name 'a2'");
  });
});

describe("3. signature help", () => {
  beforeAll(async () => {
    const r = await k.execute('import { Host } from "cca-realm-sim";\nconst h3 = Host.create({ series: "v12", seed: 1 });\nconst vm = h3.createRealm({ ipaBits: 40, memory: 64n << 20n, vcpus: 1 });');
    expect(r.reply.content.status).toBe("ok");
  });

  it("right after `(`: the signature and its doc comment", async () => {
    const code = "Host.create(";
    const r = await k.request({ op: "inspect", code, cursor_pos: code.length });
    const c = r.reply.content;
    expect(c.found).toBe(true);
    expect(c.data["text/plain"]).toMatch(/^create\(opts: HostOptions\): Host\n\nA host running the KVM code/);
    expect(c.data["text/plain"]).toContain("argument 1: opts: HostOptions");
    expect(c.data["text/plain"].split("\n").length).toBeGreaterThan(3); // the doc comment
  });

  it("inside the arguments: the current argument; detail_level 1 shows more", async () => {
    const code = "vm.touch(0x8000_0000n, {";
    const r0 = await k.request({ op: "inspect", code, cursor_pos: code.length });
    const t0: string = r0.reply.content.data["text/plain"];
    expect(t0).toMatch(/^touch\(ipa: bigint, opts\?: \{ vcpu\?: number; access\?: AccessKind; value\?: bigint; \}\): TouchResult\n/);
    expect(t0).toContain("A guest access at `ipa`");
    expect(t0).toContain("argument 2: opts?:");
    const c1 = "Host.create(";
    const brief: string = (await k.request({ op: "inspect", code: c1, cursor_pos: c1.length })).reply.content.data["text/plain"];
    const more: string = (await k.request({ op: "inspect", code: c1, cursor_pos: c1.length, detail_level: 1 })).reply.content.data["text/plain"];
    expect(brief).not.toContain("@example");
    expect(more).toContain('@example Host.create({ series: "v12", seed: 1 })');
  });

  it("on a name, its type and doc comment (quick info), as before", async () => {
    const code = "Host.create";
    const r = await k.request({ op: "inspect", code, cursor_pos: 5 });
    expect(r.reply.content.data["text/plain"]).toContain("(method) Host.create(opts: HostOptions): Host");
  });
});

describe("4. history", () => {
  it("tail, range and search over this session's inputs", async () => {
    await k.execute("const hx = 'history marker';");
    await k.execute("hx.length");
    const tail = await k.request({ op: "history", hist_access_type: "tail", n: 2 });
    const h = tail.reply.content.history as [number, number, string][];
    expect(h.map((e) => e[2])).toEqual(["const hx = 'history marker';", "hx.length"]);
    expect(h[1]![1]).toBe(h[0]![1] + 1);
    const range = await k.request({ op: "history", hist_access_type: "range", session: 0, start: h[0]![1], stop: h[1]![1] + 1 });
    expect(range.reply.content.history).toEqual(h);
    const search = await k.request({ op: "history", hist_access_type: "search", pattern: "*history marker*", n: 5 });
    expect(search.reply.content.history.map((e: [number, number, string]) => e[2])).toEqual(["const hx = 'history marker';"]);
  });

  it("a new session sees the previous one's inputs (session -1)", async () => {
    const k2 = await KernelClient.start(undefined, histFile);
    try {
      await k2.execute("'second session'");
      const prev = await k2.request({ op: "history", hist_access_type: "range", session: -1, start: 1 });
      const inputs = prev.reply.content.history.map((e: [number, number, string]) => e[2]);
      expect(inputs).toContain("hx.length");
      const cur = await k2.request({ op: "history", hist_access_type: "range", session: 0, start: 1 });
      expect(cur.reply.content.history.map((e: [number, number, string]) => e[2])).toEqual(["'second session'"]);
      expect(cur.reply.content.history[0][0]).toBe(prev.reply.content.history[0][0] + 1);
    } finally {
      await k2.close();
    }
  });
});

describe("5. is_complete", () => {
  const cases: [string, string][] = [
    ["const z = 1;", "complete"],
    ["Host.create(", "incomplete"],
    ["[1, 2,", "incomplete"],
    ["const s = `abc ${1}", "incomplete"],
    ["/* still a comment", "incomplete"],
    ["if (x) {\n  y();", "incomplete"],
    ["foo(1 2", "invalid"],
    ["const q = 'unterminated", "invalid"],
    ["let = = 3;", "invalid"],
    ["%%realm\nhelp", "complete"],
  ];
  for (const [code, status] of cases) {
    it(`${JSON.stringify(code)} is ${status}`, async () => {
      const r = await k.request({ op: "is_complete", code });
      expect(r.reply.content.status).toBe(status);
      if (status === "incomplete") expect(typeof r.reply.content.indent).toBe("string");
    });
  }
});

describe("6. user_expressions", () => {
  it("are evaluated after the cell against its variables: a value or an error", async () => {
    const r = await k.execute("const ue = 21;", { user_expressions: { twice: "ue * 2", bad: "nope.x", typed: "(ue as number).toString(16)" } });
    const u = r.reply.content.user_expressions;
    expect(u.twice).toEqual({ status: "ok", data: { "text/plain": "42" }, metadata: {} });
    expect(u.typed.data["text/plain"]).toBe("'15'");
    expect(u.bad.status).toBe("error");
    expect(u.bad.ename).toBe("ReferenceError");
  });
});

describe("7. comms", () => {
  it("comm_open for an unknown target is answered by comm_close", async () => {
    const r = await k.request({ op: "comm_open", target_name: "no.such.target", comm_id: "abc123" });
    expect(r.iopub).toContainEqual({ msg_type: "comm_close", content: { comm_id: "abc123", data: {} } });
  });
});

describe("8. aborted cells", () => {
  it("get no execution count (Run All shows In [ ])", async () => {
    const r = await k.request({ op: "execute_many", cells: [{ code: 'throw new Error("stop")' }, { code: "'queued'" }] });
    expect(r.results[1].reply.content.status).toBe("aborted");
    expect(r.results[1].reply.content.execution_count).toBeNull();
    expect(outputs(r.results[1], "execute_input")).toEqual([]);
  });
});

describe("9. complete clamps cursor_pos", () => {
  it("past the end means the end; before the start means 0", async () => {
    await k.execute('import { Platform as P9 } from "cca-realm-sim";\nconst plat9 = P9.create();');
    const code = "plat9.rmi.granuleD";
    const far = await k.request({ op: "complete", code, cursor_pos: 999 });
    expect(far.reply.content.status).toBe("ok");
    expect(far.reply.content.matches).toContain("granuleDelegate");
    expect(far.reply.content.cursor_end).toBe(code.length);
    const neg = await k.request({ op: "complete", code, cursor_pos: -4 });
    expect(neg.reply.content.status).toBe("ok");
    expect(neg.reply.content.cursor_start).toBe(0);
  });
});

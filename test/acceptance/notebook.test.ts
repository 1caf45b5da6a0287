// Acceptance: a notebook written as a user would write it (test/acceptance/notebooks/user-*.ipynb),
// executed by scripts/run-notebooks.mjs (a real Jupyter client, nbclient) with the realm kernel.
// The runner fails on any error outside cells tagged raises-exception, on an aborted cell, and on
// any stored output that re-execution does not reproduce; on top of that, this test checks what
// the executed notebook shows, the way the user would read it (issue 5, "Done when").
// Requires `npm run build` first (npm test does it) and /usr/bin/python3 with nbclient.
import { spawnSync } from "node:child_process";
import { mkdtempSync, readdirSync, readFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { basename, join, resolve } from "node:path";
import { describe, expect, it } from "vitest";

const root = resolve(new URL("../..", import.meta.url).pathname);
const nbDir = join(root, "test", "acceptance", "notebooks");
const notebooks = readdirSync(nbDir).filter((f) => /^user-.*\.ipynb$/.test(f)).sort();

interface Output {
  output_type: string;
  name?: string;
  text?: string | string[];
  data?: Record<string, string | string[]>;
  ename?: string;
  evalue?: string;
  traceback?: string[];
}
interface Cell {
  cell_type: string;
  source: string | string[];
  execution_count?: number | null;
  metadata: { tags?: string[] };
  outputs?: Output[];
}
const join1 = (x: string | string[] | undefined) => (Array.isArray(x) ? x.join("") : (x ?? ""));
const src = (c: Cell) => join1(c.source);
const stream = (c: Cell) => (c.outputs ?? []).filter((o) => o.output_type === "stream").map((o) => join1(o.text)).join("");
const rich = (c: Cell, mime: string) =>
  (c.outputs ?? []).filter((o) => o.data && mime in o.data).map((o) => join1(o.data![mime]));

function execute(nb: string) {
  const out = mkdtempSync(join(tmpdir(), "realm-nb-"));
  const r = spawnSync(process.execPath, [join(root, "scripts", "run-notebooks.mjs"), "--out", out, join(nbDir, nb)], {
    cwd: root,
    encoding: "utf8",
    maxBuffer: 1 << 28,
    timeout: 300_000,
  });
  const executed = JSON.parse(readFileSync(join(out, basename(nb)), "utf8")) as { cells: Cell[] };
  return { code: r.status, stdout: r.stdout ?? "", stderr: r.stderr ?? "", cells: executed.cells };
}

describe("user notebooks under the realm kernel", () => {
  it("there is at least one", () => {
    expect(notebooks.length).toBeGreaterThan(0);
  });

  for (const nb of notebooks) {
    it(`${nb}: the runner passes it (no error, no aborted cell, stored outputs reproduced)`, { timeout: 300_000 }, () => {
      const r = execute(nb);
      expect(r.stdout + r.stderr).toMatch(/^1 passed, 0 failed$/m);
      expect(r.code).toBe(0);
    });
  }
});

describe("user-tour.ipynb: what the user sees", () => {
  const r = execute("user-tour.ipynb");
  const code = r.cells.filter((c) => c.cell_type === "code");
  const cell = (needle: string) => {
    const c = code.find((x) => src(x).includes(needle));
    if (!c) throw new Error(`no cell containing ${needle}`);
    return c;
  };

  it("every code cell ran, in order, including the ones after each deliberate error", () => {
    const counts = code.map((c) => c.execution_count);
    expect(counts).toEqual(counts.map((_, i) => i + 1));
  });

  it("imports from \"cca-realm-sim\" work with no set-up cell", () => {
    expect(code[0].outputs?.some((o) => o.output_type === "error")).toBe(false);
  });

  it("Platform + raw RMI: delegate succeeds, the granule is DELEGATED in the Realm PAS, NS reads fault", () => {
    const s = stream(cell("Platform.create"));
    expect(s).toMatch(/^delegate: RMI_SUCCESS index 0$/m);
    expect(s).toMatch(/^granule: DELEGATED REALM$/m);
    expect(s).toMatch(/^version: x0=0 lower=0x10000 higher=0x10000$/m);
    expect(s).toMatch(/^NS read of a delegated granule: GranuleProtectionFault$/m);
  });

  it("Host + injected RTT_CREATE failure: the far touch fails, the near one maps, the trace shows the RMM's line", () => {
    const s = stream(cell("host.inject"));
    expect(s).toMatch(/^start ok: true$/m);
    expect(s).toMatch(/^far touch: (error|sea|hang)/m);
    expect(s).toMatch(/near touch: ok$/m);
    expect(s).toMatch(/^SMC_RMI_RTT_CREATE [0-9a-f]+ [0-9a-f]+ 81000000 3 > RMI_ERROR_RTT 2/m);
  });

  it("vm.rtt() as a cell value renders as an HTML RTT view with a text fallback", () => {
    const c = cell("vm.rtt()");
    const html = rich(c, "text/html").join("");
    const text = rich(c, "text/plain").join("");
    expect(html).toMatch(/<table/);
    expect(html).toMatch(/ASSIGNED/);
    expect(html).toMatch(/UNASSIGNED_NS/);
    expect(text).toMatch(/L1/);
    expect(text).toMatch(/0x80100000\s+ASSIGNED\s+RAM/);
  });

  it("%realm lines run the command language: new, touch, acct (a table)", () => {
    const c = cell("%realm new r1");
    const texts = rich(c, "text/plain");
    expect(texts[0]).toMatch(/realm r1: v8 \(RMM 1\.0\).*ACTIVE/);
    expect(texts[1]).toMatch(/4 ok/);
    expect(rich(c, "text/html").join("")).toMatch(/DATA/);
  });

  it("${expr} in a %realm line puts a TypeScript value into the command", () => {
    const t = rich(cell("%realm rtt ${target}"), "text/plain").join("");
    expect(t).toMatch(/walk of 0x80200000 in realm r1/);
    expect(t).toMatch(/L3 RTT .*ASSIGNED RAM/);
  });

  it("a %%realm cell runs its lines in order on the same session (r1 still exists)", () => {
    const t = rich(cell("%%realm"), "text/plain");
    expect(t[0]).toMatch(/using r1 \(v8, RMM 1\.0\)/);
    expect(t[1]).toMatch(/2 ok/);
    expect(t[2]).toMatch(/^SMC_RMI_DATA_CREATE_UNKNOWN [0-9a-f]+ [0-9a-f]+ 80401000 > RMI_SUCCESS$/m);
  });

  it("display(accountingChart(...)) shows a PNG chart", () => {
    const png = rich(cell("display(accountingChart"), "image/png");
    expect(png.length).toBe(1);
    const bytes = Buffer.from(png[0].replace(/\s+/g, ""), "base64");
    expect([...bytes.subarray(0, 4)]).toEqual([0x89, 0x50, 0x4e, 0x47]);
  });

  it("the deliberate API misuse raises an error naming the argument, with a traceback naming the cell line", () => {
    const c = cell("vm.touch(-1n");
    const err = (c.outputs ?? []).find((o) => o.output_type === "error")!;
    expect(err).toBeDefined();
    expect(err.evalue).toMatch(/IPA/);
    expect(err.traceback!.join("\n")).toMatch(/line 1/);
  });

  it("the negative IPA is printed as a number, not as '0x-1'", () => {
    const err = (cell("vm.touch(-1n").outputs ?? []).find((o) => o.output_type === "error")!;
    expect(err.evalue).not.toMatch(/0x-/);
  });

  it("cells after the error keep working on the same objects", () => {
    expect(stream(cell("host.stats()"))).toMatch(/^DATA \d+ RTT \d+ WARNs 1 vms 1$/m);
    expect(stream(cell("scenarios.run(\"S14\""))).toMatch(/^S14 v12 leak leaked [1-9]\d*$/m);
  });

  it("a failing %realm line is a Jupyter error with the REPL's message", () => {
    const err = (cell("%realm tuch").outputs ?? []).find((o) => o.output_type === "error")!;
    expect(err.evalue).toMatch(/unknown command 'tuch', did you mean 'touch'\?/);
  });

  it("vm.destroy(): v12 leaks its root RTT pages (S14), page-table accounting balanced", () => {
    expect(stream(cell("vm.destroy()"))).toMatch(/^after destroy: pgtablePages 0, leaked [1-9]/m);
  });
});

/**
 * A notebook written against the documented API (imports, %realm lines, display of an RTT tree
 * and a chart, a deliberate error followed by more cells), executed by the notebook runner
 * (scripts/run-notebooks.mjs -> nbclient -> realm kernel) in a folder outside the package; and
 * the runner's verdicts: stored outputs reproduced, changed outputs, untagged errors, tagged
 * cells that do not raise.
 */
import { spawnSync } from "node:child_process";
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { ROOT } from "./client.js";

interface Cell {
  cell_type: string;
  source: string;
  metadata: Record<string, unknown>;
  execution_count?: number | null;
  outputs?: Record<string, any>[];
  id: string;
}

function notebook(cells: { code?: string; md?: string; tags?: string[] }[]): Record<string, unknown> {
  return {
    nbformat: 4,
    nbformat_minor: 5,
    metadata: { kernelspec: { name: "realm", display_name: "Realm (TypeScript)", language: "typescript" } },
    cells: cells.map((c, i): Cell =>
      c.md !== undefined
        ? { cell_type: "markdown", id: `m${i}`, metadata: {}, source: c.md }
        : { cell_type: "code", id: `c${i}`, metadata: c.tags ? { tags: c.tags } : {}, source: c.code!, execution_count: null, outputs: [] },
    ),
  };
}

const USER_NOTEBOOK = notebook([
  { md: "# Written against the documented API" },
  { code: 'import { Platform, rttTree, rttView, accountingChart } from "cca-realm-sim";\nconst p = Platform.create({ rmm: "1.0" });\np.rmi.version(0x10000n).status' },
  { code: "%realm smc GRANULE_DELEGATE 0x88000000\n%realm granule 0x88000000" },
  {
    code:
      "const tree = { level: 2, pa: 0x88001000n, base: 0n, refcount: 1, entries: [\n" +
      '  { index: 0, count: 1, ipa: 0n, state: "ASSIGNED", ripas: "RAM", pa: 0x88002000n },\n' +
      '  { index: 1, count: 511, ipa: 0x200000n, state: "UNASSIGNED", ripas: "EMPTY" } ] };\n' +
      "display(rttView(tree));",
  },
  { code: "const samples = [0, 1, 2, 3, 4].map((step) => ({ step, granules: { DELEGATED: step, RTT: 1 }, pgtablePages: 1, leakedPages: 0 }));\ndisplay(accountingChart(samples, { title: \"accounting\" }));" },
  { code: 'p.rmi.granuleDelegate(-1n as any); // misuse of the TypeScript API: an exception', tags: ["raises-exception"] },
  { code: "%realm smc GRANULE_DELEGATE 0x1000   // an RMI failure is a value" },
  { code: "// the machine %realm commands act on, seen from TypeScript\nrealm.session.machine().platform.granule(0x88000000n).state" },
]);

let dir: string;

function runner(...args: string[]): { code: number | null; out: string } {
  const r = spawnSync(process.execPath, [join(ROOT, "scripts", "run-notebooks.mjs"), "--out", join(dir, "out"), ...args], { encoding: "utf8" });
  return { code: r.status, out: (r.stdout ?? "") + (r.stderr ?? "") };
}

function write(name: string, nb: Record<string, unknown>): string {
  const p = join(dir, "nbs", name);
  writeFileSync(p, JSON.stringify(nb, null, 1));
  return p;
}

/** nbformat stores multi-line strings as lists of lines. */
function txt(v: unknown): string {
  return Array.isArray(v) ? v.join("") : String(v);
}

function read(p: string): { cells: Cell[] } {
  return JSON.parse(readFileSync(p, "utf8"));
}

beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), "realm-nb-test-"));
  mkdirSync(join(dir, "nbs"));
});

afterAll(() => {
  rmSync(dir, { recursive: true, force: true });
});

describe("a notebook written against the documented API", () => {
  let path: string;

  it("runs under the realm kernel with the expected outputs (stored with --update)", () => {
    path = write("user.ipynb", USER_NOTEBOOK);
    const r = runner("--update", path);
    expect(r.out).toContain("1 passed, 0 failed");
    expect(r.code).toBe(0);
    const cells = read(path).cells.filter((c) => c.cell_type === "code");
    expect(cells.map((c) => c.execution_count)).toEqual([1, 2, 3, 4, 5, 6, 7]);
    // 1: the import worked and the value shows
    expect(cells[0]!.outputs!.map((o) => [o.output_type, o.execution_count, txt(o.data["text/plain"])])).toEqual([["execute_result", 1, "'RMI_SUCCESS'"]]);
    // 2: two %realm lines, two displays
    const magic = cells[1]!.outputs!.map((o) => txt(o.data["text/plain"]));
    expect(magic).toHaveLength(2);
    expect(magic[0]).toContain("RMI_SUCCESS");
    expect(magic[1]).toContain("DELEGATED");
    // 3: the tree as HTML with its text fallback
    const tree = cells[2]!.outputs![0]!;
    expect(tree.output_type).toBe("display_data");
    expect(txt(tree.data["text/html"])).toContain("realm-rtt");
    expect(txt(tree.data["text/plain"])).toContain("[1..511]  0x200000  UNASSIGNED  EMPTY");
    // 4: the chart as a PNG
    const chart = cells[3]!.outputs![0]!;
    expect(Buffer.from(txt(chart.data["image/png"]), "base64").subarray(1, 4).toString()).toBe("PNG");
    // 5: the deliberate error, reported with ename/evalue/traceback
    const err = cells[4]!.outputs![0]!;
    expect(err.output_type).toBe("error");
    expect(err.ename).toBe("RangeError");
    expect(err.evalue).toMatch(/granuleDelegate: addr/);
    expect(err.traceback.join("\n")).toContain("cell[5]:1:");
    // 6 and 7: the cells after the error ran
    expect(txt(cells[5]!.outputs![0]!.data["text/plain"])).toContain("RMI_ERROR_INPUT");
    expect(cells[6]!.outputs!.map((o) => [o.output_type, o.execution_count, txt(o.data["text/plain"])])).toEqual([["execute_result", 7, "'DELEGATED'"]]);
  });

  it("re-execution reproduces the stored outputs", () => {
    const r = runner(path);
    expect(r.out).toMatch(/^ok .*user\.ipynb/m);
    expect(r.out.trim().split("\n").pop()).toBe("1 passed, 0 failed");
    expect(r.code).toBe(0);
  });

  it("a stored output that re-execution does not reproduce fails, naming the cell", () => {
    const nb = read(path);
    nb.cells[7]!.outputs![0]!.data["text/plain"] = ["'UNDELEGATED'"];
    const changed = write("changed.ipynb", nb as never);
    const r = runner(changed);
    expect(r.code).not.toBe(0);
    expect(r.out).toContain("FAILED");
    expect(r.out).toContain("cell 7: stored output not reproduced");
    expect(r.out).toContain("realm.session.machine().platform.granule(0x88000000n).state");
    expect(r.out.trim().split("\n").pop()).toBe("0 passed, 1 failed");
  });
});

describe("the runner's verdicts", () => {
  it("an untagged error fails the notebook, printing the cell's source and error", () => {
    const p = write("err.ipynb", notebook([{ code: "const a = 1;" }, { code: 'throw new TypeError("unexpected " + a)' }, { code: "a" }]));
    const r = runner("--update", p);
    expect(r.code).not.toBe(0);
    expect(r.out).toContain("cell 1: error: TypeError: unexpected 1");
    expect(r.out).toContain('throw new TypeError("unexpected " + a)');
    expect(r.out).not.toContain("cell 2:"); // not run because of the error: not a second failure
  });

  it("a type error fails the notebook with its position", () => {
    const p = write("type.ipynb", notebook([{ code: 'const n: number = "x";' }]));
    const r = runner("--update", p);
    expect(r.code).not.toBe(0);
    expect(r.out).toContain("TSError: cell[1] line 1: Type 'string' is not assignable to type 'number'.");
  });

  it("a raises-exception cell that does not raise fails", () => {
    const p = write("noraise.ipynb", notebook([{ code: "1", tags: ["raises-exception"] }]));
    const r = runner("--update", p);
    expect(r.code).not.toBe(0);
    expect(r.out).toContain("cell 0: no-raise");
  });

  it("several notebooks: one result line counting each", () => {
    const ok = write("ok.ipynb", notebook([{ code: "1 + 1" }]));
    const bad = write("bad.ipynb", notebook([{ code: "throw new Error('no')" }]));
    const r = runner("--update", ok, bad);
    expect(r.out.trim().split("\n").pop()).toBe("1 passed, 1 failed");
    expect(r.code).toBe(1);
  });
});

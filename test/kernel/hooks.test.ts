/**
 * kernel/hooks.ts on tslab's TypeScript (kernel/tslab.ts) in this process, without a kernel:
 * install() and uninstall() are idempotent and uninstall() restores exactly what was there; while
 * installed, a cell emitted as tslab emits it (ES module with an inline map, then CommonJS through
 * transpileModule("custom.js")) runs under the cell's name with a map back to the cell's lines;
 * signature help comes back from a quick-info call made inside withSignatureHelp.
 */
import vm from "node:vm";
import { createRequire } from "node:module";
import { afterEach, beforeAll, describe, expect, it } from "vitest";
import type { CellInfo } from "../../kernel/errors.js";
import { createCellHooks, type CellHooks } from "../../kernel/hooks.js";
import type { TsLike } from "../../kernel/resolve.js";
import { loadTslab } from "../../kernel/tslab.js";

const NAMES = ["createWatchCompilerHost", "transpileModule", "getQuickInfoAtPosition"] as const;

let ts: TsLike & Record<string, any>;
let running: CellInfo | undefined;
const made: CellHooks[] = [];

function hooks(): CellHooks {
  const h = createCellHooks(ts, () => running);
  made.push(h);
  return h;
}

function descriptors(): Record<string, PropertyDescriptor | undefined> {
  return Object.fromEntries(NAMES.map((n) => [n, Object.getOwnPropertyDescriptor(ts, n)]));
}

/** A cell as tslab runs it: virtual file "export {};\n" + cell -> ES module -> CommonJS, wrapped. */
function tslabScript(cell: string): string {
  const esm = ts.transpileModule(`export {};\n${cell}`, { fileName: "cell.ts", compilerOptions: { target: 99, module: 99, inlineSourceMap: true } }).outputText;
  const cjs = ts.transpileModule(esm, { fileName: "custom.js", compilerOptions: { module: ts.ModuleKind.CommonJS } }).outputText;
  return `(function(exports, require) { ${cjs}\n})(__tslab__.exports, __tslab__.require)`;
}

/** Run a script as tslab's executor does; the thrown error's top frame as file:line:col. */
function topFrame(script: string): { file: string; line: number; col: number } {
  try {
    vm.runInThisContext(script, { breakOnSigint: true });
  } catch (e) {
    const top = String((e as Error).stack).split("\n").find((l) => /^\s+at /.test(l)) ?? "";
    const m = /\(?([^\s()]+):(\d+):(\d+)\)?$/.exec(top);
    if (m) return { file: m[1]!, line: Number(m[2]), col: Number(m[3]) };
    throw new Error(`no frame in ${(e as Error).stack}`);
  }
  throw new Error("the script did not throw");
}

beforeAll(() => {
  ts = loadTslab().ts as unknown as TsLike & Record<string, any>;
  (globalThis as Record<string, unknown>)["__tslab__"] = { exports: {}, require: createRequire(import.meta.url) };
});

afterEach(() => {
  for (const h of made.splice(0)) h.uninstall();
  running = undefined;
});

describe("install and uninstall", () => {
  it("install() replaces the three TypeScript exports and vm.runInThisContext; a second install() changes nothing", () => {
    const before = descriptors();
    const run = vm.runInThisContext;
    const h = hooks();
    expect(h.installed).toBe(false);
    h.install();
    expect(h.installed).toBe(true);
    expect(vm.runInThisContext).not.toBe(run);
    for (const n of NAMES) expect(ts[n]).not.toBe(before[n]!.get!());
    const once = { ...descriptors(), run: vm.runInThisContext };
    h.install();
    expect({ ...descriptors(), run: vm.runInThisContext }).toEqual(once);
    expect(descriptors().transpileModule!.value).toBe(once.transpileModule!.value);
  });

  it("uninstall() restores the original descriptors (tslab's forwarding getters) and vm.runInThisContext; a second uninstall() changes nothing", () => {
    const before = descriptors();
    const run = vm.runInThisContext;
    const h = hooks();
    h.install();
    h.uninstall();
    expect(h.installed).toBe(false);
    expect(vm.runInThisContext).toBe(run);
    for (const n of NAMES) {
      expect(Object.getOwnPropertyDescriptor(ts, n)).toEqual(before[n]);
      expect(Object.getOwnPropertyDescriptor(ts, n)!.get).toBe(before[n]!.get);
    }
    h.uninstall();
    expect(vm.runInThisContext).toBe(run);
    expect(descriptors()).toEqual(before);
  });

  it("uninstall() without install() changes nothing; install() after uninstall() hooks again", () => {
    const before = descriptors();
    const run = vm.runInThisContext;
    const h = hooks();
    h.uninstall();
    expect(vm.runInThisContext).toBe(run);
    expect(descriptors()).toEqual(before);
    h.install();
    h.uninstall();
    h.install();
    expect(vm.runInThisContext).not.toBe(run);
    h.uninstall();
    expect(vm.runInThisContext).toBe(run);
  });

  it("restores an absent property as absent", () => {
    const plain = {
      transpileModule: ts.transpileModule,
      createWatchCompilerHost: ts.createWatchCompilerHost,
    } as unknown as TsLike;
    const h = createCellHooks(plain, () => undefined);
    made.push(h);
    h.install();
    expect(Object.prototype.hasOwnProperty.call(plain, "getQuickInfoAtPosition")).toBe(true);
    h.uninstall();
    expect(Object.prototype.hasOwnProperty.call(plain, "getQuickInfoAtPosition")).toBe(false);
    expect(Object.getOwnPropertyDescriptor(plain, "transpileModule")).toEqual({ value: ts.transpileModule, writable: true, enumerable: true, configurable: true });
  });
});

describe("while installed", () => {
  const CELL = 'const a = 1;\nconst b = a + 1;\n  throw new Error("boom " + b);\n';

  it("a running cell's script carries the cell's name and maps its frames to the cell's lines", () => {
    const h = hooks();
    h.install();
    const script = tslabScript(CELL);
    expect(script).not.toContain("sourceMappingURL");
    running = { name: "cell[7]", source: CELL };
    const f = topFrame(script);
    expect(f.file).toBe("cell[7]");
    expect(running.map).toBeDefined();
    expect(running.map!(f.line, f.col)).toEqual({ line: 3, col: 9 }); // `new Error`, where the error is made
  });

  it("with no cell running, or once uninstalled, scripts run as they are", () => {
    const h = hooks();
    h.install();
    const f = topFrame(tslabScript(CELL));
    expect(f.file).toMatch(/^evalmachine/);
    h.uninstall();
    const script = tslabScript(CELL);
    expect(script).toContain("sourceMappingURL"); // transpileModule as TypeScript has it
    running = { name: "cell[8]", source: CELL };
    expect(topFrame(script).file).toMatch(/^evalmachine/);
    expect(running.map).toBeUndefined();
  });

  it("withSignatureHelp: the signature at the position quick info is asked for, then no more", () => {
    const h = hooks();
    h.install();
    const text = "/** Adds. */\nfunction add(x: number, y: string): void {}\nadd(1, ";
    const host = ts["createCompilerHost"]({});
    const getSourceFile = host.getSourceFile.bind(host);
    host.getSourceFile = (name: string, ...rest: unknown[]) => (name === "cell.ts" ? ts["createSourceFile"]("cell.ts", text, 99, true) : getSourceFile(name, ...rest));
    const program = ts["createProgram"](["cell.ts"], { noLib: true }, host);
    const sf = program.getSourceFile("cell.ts");
    const ask = () => ts["getQuickInfoAtPosition"](sf, program.getTypeChecker(), { isCancellationRequested: () => false, throwIfCancellationRequested: () => undefined }, text.length);
    const r = h.withSignatureHelp(0, () => (ask(), 42));
    expect(r.value).toBe(42);
    expect(r.signature).toContain("add(x: number, y: string): void");
    expect(r.signature).toContain("argument 2: y: string");
    expect(h.withSignatureHelp(0, () => 0).signature).toBeUndefined();
    expect(() => h.withSignatureHelp(0, () => {
      throw new Error("inspect failed");
    })).toThrow("inspect failed");
    expect(h.withSignatureHelp(0, () => (ask(), 1)).signature).toContain("add(");
  });
});

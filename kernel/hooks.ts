/**
 * The hooks that make a cell's stack frames name the cell's own lines, and give inspect its
 * signature help, without touching tslab's files. tslab compiles a cell twice (TypeScript ->
 * ES module with `ts.createWatchCompilerHost`, then ES module -> CommonJS with
 * `ts.transpileModule`, dist/converter.js) and runs the result with `vm.runInThisContext`
 * (dist/executor.js). The hooks:
 * - ask both emits for a source map (an inline map for the first, `sourceMap` for the second)
 *   and keep the maps, keyed by the CommonJS text;
 * - run the cell's script under the cell's name (`cell[N]`) and give the running cell a map
 *   from the script's line/column back to the cell's (the two maps chained);
 * - inside `withSignatureHelp`, compute signature help at the position tslab's inspect asks
 *   quick info for (`ts.getQuickInfoAtPosition`, with the cell's program at hand).
 *
 * `install()` replaces the three TypeScript functions on tslab's `ts` (the forwarding object of
 * kernel/tslab.ts) and Node's `vm.runInThisContext`; `uninstall()` puts back exactly what
 * install found (property descriptors included). Both are idempotent.
 */
import vm from "node:vm";
import type { CellInfo } from "./errors.js";
import { formatSignatureHelp, signatureHelp } from "./introspect.js";
import type { TsLike } from "./resolve.js";
import { inlineMap, LineMap, stripSourceMapComments } from "./sourcemap.js";

/** Lines tslab puts before a cell in its virtual file ("export {};\n"). */
const TSLAB_PREFIX_LINES = 1;

/** The file name tslab gives `ts.transpileModule` for a cell's ES module (dist/converter.js). */
const TSLAB_CJS_FILE = "custom.js";

/** How tslab wraps a cell's CommonJS for `vm.runInThisContext` (dist/executor.js). */
const WRAP_HEAD = /^\((?:async )?function\(exports, require\) \{ /;
const WRAP_TAIL = "\n})(__tslab__.exports, __tslab__.require)";

/** The TypeScript exports the hooks replace. */
const TS_HOOKED = ["createWatchCompilerHost", "transpileModule", "getQuickInfoAtPosition"] as const;

export interface CellHooks {
  /** Replace the TypeScript exports and vm.runInThisContext (a second call does nothing). */
  install(): void;
  /** Restore what install() replaced (without install(), or a second time, does nothing). */
  uninstall(): void;
  readonly installed: boolean;
  /**
   * Run `f` (tslab's inspect); the signature help at the position it asks quick info for,
   * formatted at `detail` (0 or 1), comes back beside its value.
   */
  withSignatureHelp<T>(detail: number, f: () => T): { value: T; signature: string | undefined };
}

/** The two maps of one cell's emit. */
interface Transpiled {
  /** ES module JS -> TS cell (virtual file with tslab's prefix line). */
  map1: LineMap | undefined;
  /** CommonJS JS -> ES module JS. */
  map2: LineMap | undefined;
}

type Fn = (...args: never[]) => unknown;

/**
 * Hooks on `ts` (tslab's TypeScript, as kernel/tslab.ts exposes it) for the cells that
 * `runningCell()` names: the script run while it returns a cell gets that cell's name and map.
 */
export function createCellHooks(ts: TsLike, runningCell: () => CellInfo | undefined): CellHooks {
  const tsRec = ts as unknown as Record<string, unknown>;
  /** Emits not yet run, by CommonJS text. */
  const transpiled = new Map<string, Transpiled>();
  let sigHelp: { detail: number; text: string | undefined } | undefined;
  let saved: { ts: Map<string, PropertyDescriptor | undefined>; run: typeof vm.runInThisContext } | undefined;

  function hookedTs(): Record<(typeof TS_HOOKED)[number], Fn> {
    const createHost = ts.createWatchCompilerHost;
    const transpile = ts.transpileModule;
    const quickInfo = tsRec["getQuickInfoAtPosition"] as (sf: unknown, checker: unknown, token: unknown, pos: number) => unknown;
    return {
      // The cell's program emits an inline source map (tslab's compiler options otherwise).
      createWatchCompilerHost: function (this: unknown, ...args: unknown[]) {
        if (Array.isArray(args[0]) && args[1] !== null && typeof args[1] === "object") {
          args[1] = { ...(args[1] as object), inlineSourceMap: true };
        }
        return createHost.apply(this, args);
      },
      transpileModule: (input: string, opts: Parameters<TsLike["transpileModule"]>[1]) => {
        if (opts?.fileName !== TSLAB_CJS_FILE) return transpile(input, opts);
        const r = transpile(input, { ...opts, compilerOptions: { ...(opts.compilerOptions ?? {}), sourceMap: true } });
        const outputText = stripSourceMapComments(r.outputText);
        if (transpiled.size > 64) transpiled.clear();
        transpiled.set(outputText, { map1: parseOr(() => inlineMap(input)), map2: parseOr(() => (r.sourceMapText ? LineMap.parse(r.sourceMapText) : undefined)) });
        return { ...r, outputText };
      },
      getQuickInfoAtPosition: (sf: unknown, checker: unknown, token: unknown, pos: number) => {
        const want = sigHelp;
        if (want !== undefined) {
          const t = ts as unknown as Parameters<typeof signatureHelp>[0];
          const help = signatureHelp(t, sf, checker, pos);
          if (help !== undefined && help.items.length > 0) want.text = formatSignatureHelp(t, help, want.detail);
        }
        return quickInfo(sf, checker, token, pos);
      },
    };
  }

  function hookedRun(run: typeof vm.runInThisContext): typeof vm.runInThisContext {
    return function (this: unknown, code: string, options?: vm.RunningCodeOptions | string) {
      const cell = runningCell();
      if (cell !== undefined && typeof code === "string") {
        const m = WRAP_HEAD.exec(code);
        if (m && code.endsWith(WRAP_TAIL)) {
          const t = transpiled.get(code.slice(m[0].length, code.length - WRAP_TAIL.length));
          if (t?.map1 !== undefined && t.map2 !== undefined) cell.map = chain(t.map1, t.map2, m[0].length);
          transpiled.clear();
          const o = typeof options === "object" && options !== null ? options : {};
          return run.call(this, code, { ...o, filename: cell.name });
        }
      }
      return run.call(this, code, options as vm.RunningCodeOptions);
    } as typeof vm.runInThisContext;
  }

  return {
    install(): void {
      if (saved !== undefined) return;
      const hooks = hookedTs();
      const tsSaved = new Map<string, PropertyDescriptor | undefined>();
      for (const name of TS_HOOKED) tsSaved.set(name, Object.getOwnPropertyDescriptor(ts, name));
      saved = { ts: tsSaved, run: vm.runInThisContext };
      // tslab's ts forwards to TypeScript's read-only exports through configurable getters.
      for (const name of TS_HOOKED) Object.defineProperty(ts, name, { value: hooks[name], writable: true, configurable: true, enumerable: true });
      vm.runInThisContext = hookedRun(saved.run);
    },
    uninstall(): void {
      if (saved === undefined) return;
      for (const [name, desc] of saved.ts) {
        if (desc !== undefined) Object.defineProperty(ts, name, desc);
        else delete tsRec[name];
      }
      vm.runInThisContext = saved.run;
      saved = undefined;
      transpiled.clear();
    },
    get installed(): boolean {
      return saved !== undefined;
    },
    withSignatureHelp<T>(detail: number, f: () => T): { value: T; signature: string | undefined } {
      const want: { detail: number; text: string | undefined } = { detail, text: undefined };
      sigHelp = want;
      try {
        return { value: f(), signature: want.text };
      } finally {
        sigHelp = undefined;
      }
    },
  };
}

/**
 * 1-based line/column of the wrapped CommonJS script -> 1-based cell line/column: through the
 * CommonJS map, then the ES module's (minus tslab's prefix line). `headLen` is the wrapper's
 * length on the script's first line.
 */
function chain(map1: LineMap, map2: LineMap, headLen: number): NonNullable<CellInfo["map"]> {
  return (line, col) => {
    const c0 = col - 1 - (line === 1 ? headLen : 0);
    const p2 = map2.lookup(line - 1, Math.max(0, c0));
    if (p2 === undefined) return undefined;
    const p1 = map1.lookup(p2.line, p2.col);
    if (p1 === undefined || p1.line < TSLAB_PREFIX_LINES) return undefined;
    return { line: p1.line - TSLAB_PREFIX_LINES + 1, col: p1.col + 1 };
  };
}

/** A map, or none when it does not parse (the frames then keep their script positions). */
function parseOr(f: () => LineMap | undefined): LineMap | undefined {
  try {
    return f();
  } catch {
    return undefined;
  }
}

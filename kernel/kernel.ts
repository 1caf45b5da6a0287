/**
 * The realm Jupyter kernel: tslab's TypeScript executor and ZeroMQ server (reused, not forked)
 * with what a notebook about the simulator needs on top:
 * - `cca-realm-sim` importable from any folder (kernel/resolve.ts);
 * - `%realm` lines and `%%realm` cells (kernel/magic.ts) against one command session;
 * - rich values: a cell's value and `display(x)` use src/viz views (RTT tree, chart, trace,
 *   comparison), `update_display_data` for live charts;
 * - errors with ename/evalue/traceback naming the cell line (kernel/errors.ts);
 * - the execute queue of the messaging spec: `stop_on_error` aborts only the requests already
 *   queued when the error happened (tslab instead cancels everything arriving within 200 ms,
 *   which silently skipped the cell after a `raises-exception` cell);
 * - interrupt (SIGINT for synchronous code, interrupt_request too) that also cancels the cell's
 *   pending timers and immediates (kernel/cancel.ts); a failed or interrupted cell keeps the
 *   declarations that ran (kernel/introspect.ts), as IPython keeps assigned names;
 * - inspect with signature help, is_complete with invalid/incomplete, history across sessions
 *   (kernel/history.ts), user_expressions, comm_close for unknown comm targets, aborted cells
 *   without an execution count; shutdown that exits.
 */
import { inspect as utilInspect } from "node:util";
import vm from "node:vm";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { CellScope, installCancellation, runInScope, runOutsideScopes } from "./cancel.js";
import { diagnosticsError, thrownError, type CellInfo, type JupyterError } from "./errors.js";
import { History, type HistoryRequest } from "./history.js";
import { completeness, declaredNames, formatQuickInfo, formatSignatureHelp, keepDeclarationsThatRan, signatureHelp } from "./introspect.js";
import {
  cellMagicLines,
  magicAtCursor,
  mapOffset,
  MAGIC_FN,
  RealmCommandError,
  resultBundle,
  rewriteLineMagics,
  unmapOffset,
} from "./magic.js";
import { hookCompilerResolution, hookRuntimeResolution, packageRoot, type TsLike } from "./resolve.js";
import { inlineMap, LineMap, stripSourceMapComments } from "./sourcemap.js";
import {
  loadTslab,
  type TslabModules,
  type ConvertResult,
  type Converter,
  type ConverterSet,
  type Diagnostic,
  type Executor,
  type ZmqMessageClass,
  type ZmqMessageLike,
  type ZmqServerInstance,
} from "./tslab.js";
import { createSession, type Progress, type RunResult, type Session } from "../src/commands/index.js";
import { display as vizDisplay, DisplayHandle, liveChart, LiveChart, mimeBundleOf, setDisplaySink } from "../src/viz/index.js";
import type { MimeBundle } from "../src/viz/mime.js";
import type { SeriesSample } from "../src/trace/series.js";

/**
 * A %realm command charts its accounting live once it has run this many guest steps (the
 * command language's progress interval, src/commands/builtin/guest.ts YIELD_EVERY).
 */
const LIVE_CHART_AFTER = 64;

/** Lines tslab puts before a cell in its virtual file ("export {};\n"). */
const TSLAB_PREFIX_LINES = 1;

type Io = (msgType: string, content: Record<string, unknown>) => void;

interface ExecuteRequest {
  code: string;
  silent?: boolean;
  store_history?: boolean;
  user_expressions?: Record<string, string>;
  allow_stdin?: boolean;
  stop_on_error?: boolean;
}

interface Running {
  cell: CellInfo;
  io: Io;
  silent: boolean;
  n: number;
  diagnostics: Diagnostic[] | undefined;
  thrown: { value: unknown } | undefined;
  result: { value: unknown } | undefined;
  consoleErrors: string[];
  abort: AbortController;
  /** tslab's conversion of the cell (absent for module cells and %%realm cells). */
  converted: ConvertResult | undefined;
  /** The cell's asynchronous work (timers, immediates), cancelled by an interrupt. */
  scope: CellScope;
}

interface Transpiled {
  /** ES module JS -> TS cell (virtual file with tslab's prefix line). */
  map1: LineMap | undefined;
  /** CommonJS JS -> ES module JS. */
  map2: LineMap | undefined;
}

/** Options of a RealmKernel. */
export interface KernelOptions {
  /** Folder cells run in (the notebook's); default process.cwd(). */
  cwd?: string;
  /** History file (default: historyFile(), kept across sessions). */
  historyFile?: string;
}

/**
 * The kernel's behaviour, independent of the ZeroMQ transport: execute (queued, with
 * stop_on_error), complete, inspect (signature help), is_complete, history, interrupt.
 */
export class RealmKernel {
  readonly root: string;
  readonly cwd: string;
  readonly executor: Executor;
  private readonly ts: TsLike;
  private readonly tslab: TslabModules;
  private readonly convs: ConverterSet;
  private execCount = 0;
  /** Execute requests received (sequence numbers). */
  private received = 0;
  /** Requests with a sequence number up to this are aborted (stop_on_error). */
  private abortThrough = 0;
  private queue: Promise<unknown> = Promise.resolve();
  private running: Running | undefined;
  /** The request whose streams receive output written after cells finish (tslab's convention). */
  private lastIo: Io | undefined;
  private readonly transpiled = new Map<string, Transpiled>();
  private readonly cells = new Map<string, CellInfo>();
  /** The command session %realm lines run in (src/commands), one per kernel. */
  readonly session: Session;
  private readonly origStdout = process.stdout.write.bind(process.stdout);
  private readonly origStderr = process.stderr.write.bind(process.stderr);
  private readonly pkgVersion: string;
  private interruptController = new AbortController();
  /**
   * The declarations later cells see (tslab's .d.ts of the cells so far). Kept here rather than
   * in tslab's executor, which drops a failed cell's declarations even when they ran.
   */
  private decl = "";
  /** Set while inspect() wants signature help from tslab's quick-info call. */
  private sigHelp: { detail: number; text: string | undefined } | undefined;
  /** Input history across sessions (history_request). */
  readonly history: History;

  constructor(opts: KernelOptions = {}) {
    this.cwd = opts.cwd ?? process.cwd();
    this.history = new History(opts.historyFile);
    installCancellation();
    this.session = createSession({ cwd: this.cwd });
    this.root = packageRoot();
    this.pkgVersion = (JSON.parse(readFileSync(join(this.root, "package.json"), "utf8")) as { version: string }).version;
    hookRuntimeResolution(this.root);
    this.tslab = loadTslab();
    this.ts = this.tslab.ts as unknown as TsLike;
    hookCompilerResolution(this.ts, this.root, this.cwd);
    this.installSourceMapHooks();
    this.convs = this.createConverters();
    this.convs.node; // warm up the TypeScript program (several hundred ms)
    this.executor = this.tslab.executor.createExecutor(this.cwd, this.convs, {
      log: (...a: unknown[]) => this.onValue(a[0]),
      error: (...a: unknown[]) => this.onConsoleError(a),
    });
    this.installGlobals();
  }

  // ---- set-up -------------------------------------------------------------------------------

  private createConverters(): ConverterSet {
    let node: Converter | undefined;
    let browser: Converter | undefined;
    // Every converter call sees the kernel's declarations, not the executor's (this.decl).
    const wrap = (c: Converter): Converter => {
      const convert = c.convert.bind(c);
      const inspect = c.inspect.bind(c);
      const complete = c.complete.bind(c);
      c.convert = (_prevDecl, src) => {
        const r = convert(this.decl, src);
        if (this.running !== undefined) {
          this.running.diagnostics = r.diagnostics;
          this.running.converted = r;
        }
        return r;
      };
      c.inspect = (_prevDecl, src, pos) => inspect(this.decl, src, pos);
      c.complete = (_prevDecl, src, pos) => complete(this.decl, src, pos);
      return c;
    };
    const create = this.tslab.converter.createConverter;
    return {
      get node() {
        node ??= wrap(create({ isJS: false, isBrowser: false }));
        return node;
      },
      get browser() {
        browser ??= wrap(create({ isJS: false, isBrowser: true }));
        return browser;
      },
      close() {
        node?.close();
        browser?.close();
      },
    };
  }

  /**
   * Keep source maps of both of tslab's emits (TS -> ESM with an inline map, ESM -> CommonJS
   * via transpileModule) and name each cell's script `cell[N]`, so stack frames map back to
   * cell lines.
   */
  private installSourceMapHooks(): void {
    const ts = this.ts;
    // tslab's ts forwards to TypeScript's read-only exports; ours replace two (kernel/tslab.ts).
    const define = (name: string, value: unknown): void => {
      Object.defineProperty(ts, name, { value, writable: true, configurable: true, enumerable: true });
    };
    const createHost = ts.createWatchCompilerHost;
    define("createWatchCompilerHost", function (this: unknown, ...args: unknown[]) {
      if (Array.isArray(args[0]) && args[1] !== null && typeof args[1] === "object") {
        args[1] = { ...(args[1] as object), inlineSourceMap: true };
      }
      return createHost.apply(this, args);
    });
    const transpile = ts.transpileModule;
    define("transpileModule", (input: string, opts: Parameters<TsLike["transpileModule"]>[1]) => {
      if (opts?.fileName !== "custom.js") return transpile(input, opts);
      const r = transpile(input, { ...opts, compilerOptions: { ...(opts.compilerOptions ?? {}), sourceMap: true } });
      const outputText = stripSourceMapComments(r.outputText);
      let map2: LineMap | undefined;
      try {
        map2 = r.sourceMapText ? LineMap.parse(r.sourceMapText) : undefined;
      } catch {
        map2 = undefined;
      }
      let map1: LineMap | undefined;
      try {
        map1 = inlineMap(input);
      } catch {
        map1 = undefined;
      }
      if (this.transpiled.size > 64) this.transpiled.clear();
      this.transpiled.set(outputText, { map1, map2 });
      return { ...r, outputText };
    });
    // tslab's inspect asks for quick info with the cell's program: signature help, same place.
    const quickInfo = (ts as unknown as Record<string, unknown>)["getQuickInfoAtPosition"] as (sf: unknown, checker: unknown, token: unknown, pos: number) => unknown;
    define("getQuickInfoAtPosition", (sf: unknown, checker: unknown, token: unknown, pos: number) => {
      const want = this.sigHelp;
      if (want !== undefined) {
        const t = ts as unknown as Parameters<typeof signatureHelp>[0];
        const help = signatureHelp(t, sf, checker, pos);
        if (help !== undefined && help.items.length > 0) want.text = formatSignatureHelp(t, help, want.detail);
      }
      return quickInfo(sf, checker, token, pos);
    });
    const run = vm.runInThisContext;
    const kernel = this;
    vm.runInThisContext = function (this: unknown, code: string, options?: vm.RunningCodeOptions | string) {
      const cur = kernel.running;
      if (cur !== undefined && typeof code === "string") {
        const m = /^\((?:async )?function\(exports, require\) \{ /.exec(code);
        const suffix = "\n})(__tslab__.exports, __tslab__.require)";
        if (m && code.endsWith(suffix)) {
          const inner = code.slice(m[0].length, code.length - suffix.length);
          const t = kernel.transpiled.get(inner);
          const prefixLen = m[0].length;
          if (t?.map1 !== undefined && t.map2 !== undefined) {
            const { map1, map2 } = t;
            cur.cell.map = (line, col) => {
              const c0 = col - 1 - (line === 1 ? prefixLen : 0);
              const p2 = map2.lookup(line - 1, Math.max(0, c0));
              if (p2 === undefined) return undefined;
              const p1 = map1.lookup(p2.line, p2.col);
              if (p1 === undefined || p1.line < TSLAB_PREFIX_LINES) return undefined;
              return { line: p1.line - TSLAB_PREFIX_LINES + 1, col: p1.col + 1 };
            };
          }
          kernel.transpiled.clear();
          const o = typeof options === "object" && options !== null ? options : {};
          return run.call(this, code, { ...o, filename: cur.cell.name });
        }
      }
      return run.call(this, code, options as vm.RunningCodeOptions);
    } as typeof vm.runInThisContext;
  }

  private installGlobals(): void {
    const g = globalThis as Record<string, unknown>;
    g["display"] = vizDisplay;
    const kernel = this;
    g["realm"] = {
      run: (line: string) => kernel.runCommand(String(line)),
      get session() {
        return kernel.session;
      },
      get signal() {
        return kernel.interruptController.signal;
      },
    };
    g[MAGIC_FN] = async (command: string, line: number) => {
      const r = await kernel.runCommand(command);
      kernel.showResult(r);
      if (!r.ok) throw new RealmCommandError(r, line);
      return undefined;
    };
    setDisplaySink((bundle, o) => this.sendDisplay(bundle, o.displayId, o.update));
    // tslab's own `display` API (import * as tslab from "tslab") writes through this hook.
    this.tslab.jupyter.lastWriteDisplayData = (data: Record<string, unknown>, update: boolean) => {
      const io = this.running?.io ?? this.lastIo;
      io?.(update ? "update_display_data" : "display_data", data);
    };
  }

  // ---- the command language -----------------------------------------------------------------

  /**
   * Run one command; a long one (workload) charts its accounting live in the cell. It runs
   * outside the cell's scope: an interrupt stops it through its signal (the session then ends
   * the command cleanly), not by dropping the session's own event-loop turns.
   */
  runCommand(line: string): Promise<RunResult> {
    return runOutsideScopes(() => this.runCommandNow(line));
  }

  private async runCommandNow(line: string): Promise<RunResult> {
    const session = this.session;
    const samples = (): readonly SeriesSample[] => {
      try {
        return session.samplesOf(session.machine().label);
      } catch {
        return [];
      }
    };
    const from = samples().at(-1)?.step ?? -1;
    let chart: LiveChart | undefined;
    const onProgress = (p: Progress): void => {
      if (p.sample === undefined || !session.liveChart) return;
      // Whether a chart appears is a stored notebook output: decided by the step count, not by
      // when progress happened to be reported (the command language reports at step 64 for sure).
      if (chart === undefined && p.done < LIVE_CHART_AFTER) return;
      chart ??= liveChart({ title: `${p.command}: accounting (live)`, every: 8 });
      void chart.push(p.sample);
    };
    const r = await session.run(line, { signal: this.interruptController.signal, onProgress });
    if (chart !== undefined) {
      // The final frame: every sample of the run (the same whatever the timing), not only those
      // progress reports carried.
      const run = samples().filter((x) => x.step > from);
      if (run.length > 0) {
        chart.points.length = 0;
        await chart.push(...run);
      }
      chart.done();
    }
    return r;
  }

  private showResult(r: RunResult): void {
    if (!r.ok) return; // reported as the cell's error
    const b = resultBundle(r, this.session);
    if (b["text/plain"] === "" && Object.keys(b).length === 1) return;
    this.sendDisplay(b, undefined, false);
  }

  // ---- output ---------------------------------------------------------------------------------

  private sendDisplay(bundle: MimeBundle, displayId: string | undefined, update: boolean): void {
    const io = this.running?.io ?? this.lastIo;
    if (io === undefined) {
      this.origStdout(bundle["text/plain"] + "\n");
      return;
    }
    if (this.running?.silent) return;
    const content: Record<string, unknown> = { data: bundle, metadata: {} };
    if (displayId !== undefined) content["transient"] = { display_id: displayId };
    runOutsideScopes(() => io(update ? "update_display_data" : "display_data", content));
  }

  private onValue(value: unknown): void {
    if (this.running !== undefined) this.running.result = { value };
  }

  private onConsoleError(args: unknown[]): void {
    const r = this.running;
    if (r === undefined) {
      this.origStderr(args.map((a) => (typeof a === "string" ? a : utilInspect(a))).join(" ") + "\n");
      return;
    }
    // tslab prints diagnostics as ("%s%d:%d - %s", file, line, col, text): we have them in full.
    if (args[0] === "%s%d:%d - %s") {
      r.consoleErrors.push(`${String(args[1])}${String(args[2])}:${String(args[3])} - ${String(args[4])}`);
      return;
    }
    if (args.length === 1 && r.thrown === undefined) {
      r.thrown = { value: args[0] };
      return;
    }
    r.consoleErrors.push(args.map((a) => (typeof a === "string" ? a : utilInspect(a))).join(" "));
  }

  private redirectStreams(io: Io): void {
    const writer = (name: "stdout" | "stderr") =>
      ((chunk: string | Uint8Array, enc?: unknown, cb?: unknown) => {
        const text = typeof chunk === "string" ? chunk : Buffer.from(chunk).toString("utf8");
        if (!(this.running?.silent ?? false)) runOutsideScopes(() => io("stream", { name, text }));
        const done = typeof enc === "function" ? enc : cb;
        if (typeof done === "function") (done as () => void)();
        return true;
      }) as typeof process.stdout.write;
    process.stdout.write = writer("stdout");
    process.stderr.write = writer("stderr");
  }

  // ---- execute ----------------------------------------------------------------------------------

  /** execute_request: queued, in order; returns the execute_reply content. */
  execute(req: ExecuteRequest, io: Io): Promise<Record<string, unknown>> {
    const seq = ++this.received;
    const task = this.queue.then(() => this.executeOne(seq, req, io));
    this.queue = task.catch(() => undefined);
    return task;
  }

  private async executeOne(seq: number, req: ExecuteRequest, io: Io): Promise<Record<string, unknown>> {
    if (seq <= this.abortThrough) {
      // Queued behind a failed request that had stop_on_error (messaging spec, execute): no
      // execution count, so the front end shows `In [ ]` (as with ipykernel).
      return { status: "aborted", execution_count: null };
    }
    const silent = req.silent === true;
    const store = !silent && req.store_history !== false;
    if (store) this.execCount++;
    const n = this.execCount;
    const code = typeof req.code === "string" ? req.code : "";
    if (store) this.history.add(n, code);
    if (!silent) io("execute_input", { code, execution_count: n });
    this.lastIo = io;
    this.redirectStreams(io);
    this.interruptController = new AbortController();
    const cell: CellInfo = { name: `cell[${n}]`, source: code };
    this.cells.set(cell.name, cell);
    if (this.cells.size > 256) this.cells.delete(this.cells.keys().next().value as string);
    const run: Running = {
      cell,
      io,
      silent,
      n,
      diagnostics: undefined,
      thrown: undefined,
      result: undefined,
      consoleErrors: [],
      abort: this.interruptController,
      converted: undefined,
      scope: new CellScope(),
    };
    this.running = run;
    let error: JupyterError | undefined;
    try {
      error = await this.runCell(run, code);
    } catch (e) {
      error = this.errorOf(e);
    } finally {
      this.running = undefined;
    }
    // display(x) as a cell's last statement shows x once (its handle is not a value to show).
    const shown = run.result?.value;
    if (shown instanceof DisplayHandle || shown instanceof LiveChart) run.result = undefined;
    if (error === undefined && run.result !== undefined && !silent) {
      const v = run.result.value;
      // A value shows as the REPL shows it (strings quoted); simulator objects as their views.
      const data = typeof v === "string" ? { "text/plain": utilInspect(v) } : mimeBundleOf(v);
      io("execute_result", { execution_count: n, data, metadata: {} });
    }
    if (error !== undefined) {
      if (!silent) io("error", { ...error });
      if (req.stop_on_error !== false) {
        // Abort what the client queued before it could see this error: let the requests
        // already in the socket arrive first (ipykernel flushes its shell stream the same way).
        for (let i = 0; i < 4; i++) await new Promise<void>((r) => setImmediate(r));
        this.abortThrough = this.received;
      }
      return { status: "error", execution_count: n, ...error };
    }
    return { status: "ok", execution_count: n, user_expressions: this.userExpressions(req.user_expressions ?? {}), payload: [] };
  }

  /**
   * user_expressions of an execute_request, evaluated after the cell against the cell
   * variables (TypeScript transpiled, not type-checked): each a display bundle or an error.
   */
  private userExpressions(exprs: Record<string, string>): Record<string, unknown> {
    const out: Record<string, unknown> = {};
    for (const [key, expr] of Object.entries(exprs)) {
      try {
        const js = this.ts.transpileModule(`(${String(expr)}\n)`, { compilerOptions: { target: 99 } }).outputText.trim().replace(/;$/, "");
        // Sloppy-mode Function: `with` makes the cell variables (tslab's exports) the scope.
        const value = new Function("__locals__", `with (__locals__) { return ${js}; }`)(this.executor.locals) as unknown;
        const data = typeof value === "string" ? { "text/plain": utilInspect(value) } : mimeBundleOf(value);
        out[key] = { status: "ok", data, metadata: {} };
      } catch (e) {
        const err = this.errorOf(e);
        out[key] = { status: "error", ...err };
      }
    }
    return out;
  }

  private errorOf(e: unknown): JupyterError {
    if (e instanceof RealmCommandError) {
      return {
        ename: "RealmCommandError",
        evalue: e.message,
        traceback: [`RealmCommandError: ${e.message}`, `  in ${this.running?.cell.name ?? "cell"} line ${e.cellLine}: %realm ${e.result.line ?? ""}`.trimEnd()],
      };
    }
    return thrownError(e, { packageRoot: this.root, cells: this.cells });
  }

  /** Run one cell; resolves to its error, if any. */
  private async runCell(run: Running, code: string): Promise<JupyterError | undefined> {
    const magic = cellMagicLines(code);
    if (magic !== undefined) {
      for (const { line, text } of magic) {
        if (run.abort.signal.aborted) return { ename: "KeyboardInterrupt", evalue: "interrupted", traceback: ["KeyboardInterrupt: the cell was interrupted"] };
        const r = await this.runCommand(text);
        if (!r.ok) {
          return {
            ename: "RealmCommandError",
            evalue: r.error ?? r.text ?? "command failed",
            traceback: [`RealmCommandError: ${r.error ?? r.text ?? "command failed"}`, `  in ${run.cell.name} line ${line}: ${text}`],
          };
        }
        this.showResult(r);
      }
      return undefined;
    }
    const rw = rewriteLineMagics(code);
    const ok = await runInScope(run.scope, () => this.executor.execute(rw.code));
    const conv = run.converted;
    if (conv !== undefined && conv.diagnostics.length === 0 && conv.declOutput !== undefined) {
      // A cell that threw or was interrupted keeps what it declared before the error (IPython).
      const locals = this.executor.locals;
      this.decl = ok ? conv.declOutput : keepDeclarationsThatRan(this.ts as never, conv.declOutput, declaredNames(this.ts as never, rw.code), (name) => locals[name] !== undefined);
    }
    if (ok) {
      // Module cells (/** @module x */) succeed with diagnostics printed: show them.
      if (run.consoleErrors.length > 0) process.stderr.write(run.consoleErrors.join("\n") + "\n");
      return undefined;
    }
    if (run.diagnostics !== undefined && run.diagnostics.length > 0 && run.thrown === undefined) {
      return diagnosticsError(run.cell, run.diagnostics);
    }
    if (run.thrown !== undefined) return this.errorOf(run.thrown.value);
    const text = run.consoleErrors.join("\n") || "execution failed";
    return { ename: "Error", evalue: text, traceback: [text] };
  }

  // ---- other requests ---------------------------------------------------------------------------

  kernelInfo(): Record<string, unknown> {
    return {
      status: "ok",
      protocol_version: "5.3",
      implementation: "realm",
      implementation_version: this.pkgVersion,
      language_info: {
        name: "typescript",
        version: this.ts.version,
        mimetype: "text/typescript",
        file_extension: ".ts",
        pygments_lexer: "typescript",
        codemirror_mode: { name: "javascript", typescript: true, mode: "typescript" },
      },
      banner: `Realm (TypeScript): cca-realm-sim ${this.pkgVersion} on tslab ${this.tslab.version}, TypeScript ${this.ts.version}, Node ${process.version}`,
      help_links: [],
    };
  }

  /** is_complete_request: complete, incomplete (with an indent hint) or invalid, as IPython. */
  isComplete(code: string): Record<string, unknown> {
    if (cellMagicLines(code) !== undefined) return { status: "complete" };
    const rw = rewriteLineMagics(code).code;
    const status = completeness(this.ts as never, rw);
    if (status !== "incomplete") return { status };
    // tslab's indent rules (one level more after an opening bracket)
    const r = this.tslab.converter.isCompleteCode(rw);
    return { status: "incomplete", indent: r.completed ? "" : (r.indent ?? "") };
  }

  /** complete_request; cursor_pos is clamped to the code (absent: its end). */
  complete(code: string, cursorPos?: number | null): Record<string, unknown> {
    const cursor = clampCursor(code, cursorPos);
    const at = magicAtCursor(code, cursor);
    if (at !== undefined) {
      const c = this.session.complete(at.command, at.cursor);
      return { status: "ok", matches: c.items, cursor_start: at.offset + c.start, cursor_end: at.offset + c.end, metadata: {} };
    }
    const rw = rewriteLineMagics(code);
    const pos = mapOffset(code, rw, cursor);
    const info = this.executor.complete(rw.code, pos);
    return {
      status: "ok",
      matches: info.candidates,
      cursor_start: unmapOffset(rw.code, rw, info.start),
      cursor_end: unmapOffset(rw.code, rw, info.end),
      metadata: {},
    };
  }

  /**
   * inspect_request: inside a call's arguments (`Host.create(`, `vm.touch(0x8000_0000n, {`) the
   * signature being called with its doc comment and the current argument; on a name its type
   * and doc comment. detail_level 1 adds the JSDoc tags and the other overloads.
   */
  inspect(code: string, cursorPos?: number | null, detailLevel = 0): Record<string, unknown> {
    const cursor = clampCursor(code, cursorPos);
    const none = { status: "ok", found: false, data: {}, metadata: {} };
    if (magicAtCursor(code, cursor) !== undefined) return none;
    const rw = rewriteLineMagics(code);
    const want: { detail: number; text: string | undefined } = { detail: detailLevel, text: undefined };
    this.sigHelp = want;
    let info;
    try {
      info = this.executor.inspect(rw.code, mapOffset(code, rw, cursor));
    } finally {
      this.sigHelp = undefined;
    }
    const t = this.ts as never;
    // On a name inside the arguments, the name's own info comes first, then the call's.
    const parts: string[] = [];
    if (info?.displayParts !== undefined && info.displayParts.length > 0) parts.push(formatQuickInfo(t, info, detailLevel));
    if (want.text !== undefined) parts.push(want.text);
    if (parts.length === 0) return none;
    return { status: "ok", found: true, data: { "text/plain": parts.join("\n\n") }, metadata: {} };
  }

  /**
   * Interrupt the running cell: synchronous code via SIGINT (tslab's breakOnSigint), awaited
   * work via tslab's executor, commands via their signal; and the cell's pending timers and
   * immediates are cancelled, so nothing of it runs afterwards (kernel/cancel.ts).
   */
  interrupt(): void {
    this.running?.scope.cancel();
    this.executor.interrupt();
    this.interruptController.abort();
  }

  close(): void {
    setDisplaySink(undefined);
    this.executor.close();
  }
}

/** tslab's ZmqServer with the requests it lacks (interrupt, comm_info, history) and full execute. */
export function createServer(kernel: RealmKernel, configPath: string): ZmqServerInstance {
  const Base = loadTslab().jupyter.ZmqServer;
  let MessageClass: ZmqMessageClass | undefined;

  class RealmServer extends Base {
    override publishStatus(status: string, parent: ZmqMessageLike): void {
      // tslab does not export its message class: learn it from the first parsed message.
      MessageClass ??= parent.constructor as unknown as ZmqMessageClass;
      super.publishStatus(status, parent);
    }

    private reply(sock: unknown, msg: ZmqMessageLike, type: string, content: Record<string, unknown>): void {
      const r = msg.createReply();
      r.header.msg_type = type;
      r.content = content;
      r.signAndSend(this.connInfo.key, sock);
    }

    override async handleShellMessage(sock: unknown, ...frames: Buffer[]): Promise<void> {
      const type = peekType(frames);
      const own = type === "interrupt_request" || type === "history_request" || type === "comm_info_request" || type === "comm_open" || type === "comm_msg" || type === "comm_close" || type === "shutdown_request";
      if (!own || MessageClass === undefined) return super.handleShellMessage(sock, ...frames);
      const msg = MessageClass.fromRaw(this.connInfo.key, frames);
      this.publishStatus("busy", msg);
      try {
        switch (type) {
          case "interrupt_request":
            this.reply(sock, msg, "interrupt_reply", { status: "ok" });
            kernel.interrupt();
            break;
          case "history_request":
            this.reply(sock, msg, "history_reply", kernel.history.reply(msg.content as HistoryRequest));
            break;
          case "comm_open": {
            // No comm targets in this kernel: close the comm, as ipykernel does for an unknown target.
            const r = msg.createReply();
            r.header.msg_type = "comm_close";
            r.content = { comm_id: msg.content["comm_id"], data: {} };
            r.signAndSend(this.connInfo.key, this.iopub);
            break;
          }
          case "comm_info_request":
            this.reply(sock, msg, "comm_info_reply", { status: "ok", comms: {} });
            break;
          case "shutdown_request":
            this.reply(sock, msg, "shutdown_reply", { status: "ok", restart: msg.content["restart"] === true });
            break;
          default:
            break; // comm messages: no comms in this kernel
        }
      } finally {
        this.publishStatus("idle", msg);
      }
      if (type === "shutdown_request") this.close();
    }

    handleKernelInfo(sock: unknown, msg: ZmqMessageLike): void {
      this.reply(sock, msg, "kernel_info_reply", kernel.kernelInfo());
    }

    async handleExecute(sock: unknown, msg: ZmqMessageLike): Promise<void> {
      const io: Io = (type, content) => {
        const r = msg.createReply();
        r.header.msg_type = type;
        r.content = content;
        r.signAndSend(this.connInfo.key, this.iopub);
      };
      const content = await kernel.execute(msg.content as unknown as ExecuteRequest, io);
      this.reply(sock, msg, "execute_reply", content);
    }

    handleIsComplete(sock: unknown, msg: ZmqMessageLike): void {
      this.reply(sock, msg, "is_complete_reply", kernel.isComplete(String(msg.content["code"] ?? "")));
    }

    handleInspect(sock: unknown, msg: ZmqMessageLike): void {
      this.reply(sock, msg, "inspect_reply", safe(() => kernel.inspect(String(msg.content["code"] ?? ""), msg.content["cursor_pos"] as number | null, Number(msg.content["detail_level"] ?? 0))));
    }

    handleComplete(sock: unknown, msg: ZmqMessageLike): void {
      this.reply(sock, msg, "complete_reply", safe(() => kernel.complete(String(msg.content["code"] ?? ""), msg.content["cursor_pos"] as number | null)));
    }

    handleCommInfoRequest(sock: unknown, msg: ZmqMessageLike): void {
      this.reply(sock, msg, "comm_info_reply", { status: "ok", comms: {} });
    }

    handleShutdown(sock: unknown, msg: ZmqMessageLike): void {
      this.reply(sock, msg, "shutdown_reply", { status: "ok", restart: msg.content["restart"] === true });
    }

    override close(): void {
      kernel.close();
      super.close();
      // Let the last replies leave, then exit (the client waits for the process to end).
      setTimeout(() => process.exit(0), 50);
    }
  }
  return new RealmServer(kernel, configPath);
}

/** A request's cursor_pos as an offset into `code` (absent or null: the end; clamped). */
function clampCursor(code: string, pos: number | null | undefined): number {
  if (pos === null || pos === undefined || !Number.isFinite(pos)) return code.length;
  return Math.min(Math.max(0, Math.trunc(pos)), code.length);
}

function safe(f: () => Record<string, unknown>): Record<string, unknown> {
  try {
    return f();
  } catch (e) {
    return { status: "error", ename: e instanceof Error ? e.name : "Error", evalue: e instanceof Error ? e.message : String(e), traceback: [] };
  }
}

const DELIM = Buffer.from("<IDS|MSG>");

/** msg_type of a raw message (header frame after the delimiter and signature). */
function peekType(frames: Buffer[]): string | undefined {
  const d = frames.findIndex((f) => f.equals(DELIM));
  if (d < 0 || frames[d + 2] === undefined) return undefined;
  try {
    return (JSON.parse(frames[d + 2]!.toString()) as { msg_type?: string }).msg_type;
  } catch {
    return undefined;
  }
}

/** Start the kernel on a Jupyter connection file. */
export async function startKernel(configPath: string, opts: KernelOptions = {}): Promise<void> {
  const kernel = new RealmKernel(opts);
  const server = createServer(kernel, configPath);
  process.on("SIGINT", () => kernel.interrupt());
  process.on("uncaughtException", (err) => console.error("UncaughtException:", err));
  process.on("unhandledRejection", (reason) => console.error("UnhandledPromiseRejection:", reason));
  await server.init();
}

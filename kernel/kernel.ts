/**
 * The realm Jupyter kernel: tslab's TypeScript executor and ZeroMQ server (reused, not forked)
 * with what a notebook about the simulator needs on top:
 * - `cca-realm-sim` importable from any folder (kernel/resolve.ts);
 * - `%realm` lines and `%%realm` cells (kernel/magic.ts) against one command session;
 * - rich values: a cell's value and `display(x)` use src/viz views (RTT tree, chart, trace,
 *   comparison), `update_display_data` for live charts;
 * - errors with ename/evalue/traceback naming the cell line (kernel/errors.ts, through the
 *   source maps kernel/hooks.ts keeps);
 * - the execute queue of the messaging spec: `stop_on_error` aborts only the requests already
 *   queued when the error happened (tslab instead cancels everything arriving within 200 ms,
 *   which silently skipped the cell after a `raises-exception` cell);
 * - interrupt (SIGINT for synchronous code, interrupt_request too) that also cancels the cell's
 *   pending timers and immediates (kernel/cancel.ts); a failed or interrupted cell keeps the
 *   declarations that ran (kernel/introspect.ts), as IPython keeps assigned names;
 * - inspect with signature help, is_complete with invalid/incomplete, history across sessions
 *   (kernel/history.ts), user_expressions, aborted cells without an execution count; shutdown
 *   that exits.
 *
 * Built as tslab builds its own kernel (dist/main.js startKernel): factories returning
 * interfaces. `createRealmHandler` answers requests (a KernelHandler); `createServer`
 * (kernel/server.ts) carries them over ZeroMQ.
 */
import { inspect as utilInspect } from "node:util";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { CellScope, installCancellation, runInScope, runOutsideScopes } from "./cancel.js";
import { diagnosticsError, thrownError, type CellInfo, type JupyterError } from "./errors.js";
import { History, type HistoryRequest } from "./history.js";
import { createCellHooks } from "./hooks.js";
import { completeness, declaredNames, formatQuickInfo, keepDeclarationsThatRan } from "./introspect.js";
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
import { createServer, type Content, type Io, type KernelHandler } from "./server.js";
import { loadTslab, type ConvertResult, type Converter, type ConverterSet, type Diagnostic } from "./tslab.js";
import { createSession, type Progress, type RunResult, type Session } from "../src/commands/index.js";
import { display as vizDisplay, DisplayHandle, liveChart, LiveChart, mimeBundleOf, setDisplaySink } from "../src/viz/index.js";
import type { MimeBundle } from "../src/viz/mime.js";
import type { SeriesSample } from "../src/trace/series.js";

/**
 * A %realm command charts its accounting live once it has run this many guest steps (the
 * command language's progress interval, src/commands/builtin/guest.ts YIELD_EVERY).
 */
const LIVE_CHART_AFTER = 64;

interface Running {
  cell: CellInfo;
  io: Io;
  silent: boolean;
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

/** Options of createRealmHandler. */
export interface KernelOptions {
  /** Folder cells run in (the notebook's); default process.cwd(). */
  cwd?: string;
  /** History file (default: historyFile(), kept across sessions). */
  historyFile?: string;
}

/**
 * The kernel's behaviour, independent of the ZeroMQ transport: execute (queued, with
 * stop_on_error), complete, inspect (signature help), is_complete, history, interrupt.
 *
 * Sets up the process for cells, once per kernel: the cancellable scheduling functions, the
 * package resolution of kernel/resolve.ts, the source-map hooks of kernel/hooks.ts (uninstalled
 * by close()), the globals cells see (`display`, `realm`, the %realm function) and the display
 * sink of src/viz.
 */
export function createRealmHandler(opts: KernelOptions = {}): KernelHandler {
  const cwd = opts.cwd ?? process.cwd();
  const history = new History(opts.historyFile);
  installCancellation();
  /** The command session %realm lines run in (src/commands), one per kernel. */
  const session: Session = createSession({ cwd });
  const root = packageRoot();
  const pkgVersion = (JSON.parse(readFileSync(join(root, "package.json"), "utf8")) as { version: string }).version;
  hookRuntimeResolution(root);
  const tslab = loadTslab();
  const ts = tslab.ts as unknown as TsLike;
  hookCompilerResolution(ts, root, cwd);

  let execCount = 0;
  /** Execute requests received (sequence numbers). */
  let received = 0;
  /** Requests with a sequence number up to this are aborted (stop_on_error). */
  let abortThrough = 0;
  let queue: Promise<unknown> = Promise.resolve();
  let running: Running | undefined;
  /** The request whose streams receive output written after cells finish (tslab's convention). */
  let lastIo: Io | undefined;
  const cells = new Map<string, CellInfo>();
  const origStdout = process.stdout.write.bind(process.stdout);
  const origStderr = process.stderr.write.bind(process.stderr);
  let interruptController = new AbortController();
  /**
   * The declarations later cells see (tslab's .d.ts of the cells so far). Kept here rather than
   * in tslab's executor, which drops a failed cell's declarations even when they ran.
   */
  let decl = "";

  const hooks = createCellHooks(ts, () => running?.cell);
  hooks.install();
  const convs = createConverters();
  convs.node; // warm up the TypeScript program (several hundred ms)
  const executor = tslab.executor.createExecutor(cwd, convs, {
    log: (...a: unknown[]) => onValue(a[0]),
    error: (...a: unknown[]) => onConsoleError(a),
  });
  installGlobals();

  // ---- set-up -------------------------------------------------------------------------------

  function createConverters(): ConverterSet {
    let node: Converter | undefined;
    let browser: Converter | undefined;
    // Every converter call sees the kernel's declarations, not the executor's (decl).
    const wrap = (c: Converter): Converter => {
      const convert = c.convert.bind(c);
      const inspect = c.inspect.bind(c);
      const complete = c.complete.bind(c);
      c.convert = (_prevDecl, src) => {
        const r = convert(decl, src);
        if (running !== undefined) {
          running.diagnostics = r.diagnostics;
          running.converted = r;
        }
        return r;
      };
      c.inspect = (_prevDecl, src, pos) => inspect(decl, src, pos);
      c.complete = (_prevDecl, src, pos) => complete(decl, src, pos);
      return c;
    };
    const create = tslab.converter.createConverter;
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

  function installGlobals(): void {
    const g = globalThis as Record<string, unknown>;
    g["display"] = vizDisplay;
    g["realm"] = {
      run: (line: string) => runCommand(String(line)),
      get session() {
        return session;
      },
      get signal() {
        return interruptController.signal;
      },
    };
    g[MAGIC_FN] = async (command: string, line: number) => {
      const r = await runCommand(command);
      showResult(r);
      if (!r.ok) throw new RealmCommandError(r, line);
      return undefined;
    };
    setDisplaySink((bundle, o) => sendDisplay(bundle, o.displayId, o.update));
    // tslab's own `display` API (import * as tslab from "tslab") writes through this hook.
    tslab.jupyter.lastWriteDisplayData = (data: Record<string, unknown>, update: boolean) => {
      const io = running?.io ?? lastIo;
      io?.(update ? "update_display_data" : "display_data", data);
    };
  }

  // ---- the command language -----------------------------------------------------------------

  /**
   * Run one command; a long one (workload) charts its accounting live in the cell. It runs
   * outside the cell's scope: an interrupt stops it through its signal (the session then ends
   * the command cleanly), not by dropping the session's own event-loop turns.
   */
  function runCommand(line: string): Promise<RunResult> {
    return runOutsideScopes(() => runCommandNow(line));
  }

  async function runCommandNow(line: string): Promise<RunResult> {
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
    const r = await session.run(line, { signal: interruptController.signal, onProgress });
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

  function showResult(r: RunResult): void {
    if (!r.ok) return; // reported as the cell's error
    const b = resultBundle(r, session);
    if (b["text/plain"] === "" && Object.keys(b).length === 1) return;
    sendDisplay(b, undefined, false);
  }

  // ---- output ---------------------------------------------------------------------------------

  function sendDisplay(bundle: MimeBundle, displayId: string | undefined, update: boolean): void {
    const io = running?.io ?? lastIo;
    if (io === undefined) {
      origStdout(bundle["text/plain"] + "\n");
      return;
    }
    if (running?.silent) return;
    const content: Record<string, unknown> = { data: bundle, metadata: {} };
    if (displayId !== undefined) content["transient"] = { display_id: displayId };
    runOutsideScopes(() => io(update ? "update_display_data" : "display_data", content));
  }

  function onValue(value: unknown): void {
    if (running !== undefined) running.result = { value };
  }

  function onConsoleError(args: unknown[]): void {
    const r = running;
    if (r === undefined) {
      origStderr(args.map((a) => (typeof a === "string" ? a : utilInspect(a))).join(" ") + "\n");
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

  function redirectStreams(io: Io): void {
    const writer = (name: "stdout" | "stderr") =>
      ((chunk: string | Uint8Array, enc?: unknown, cb?: unknown) => {
        const text = typeof chunk === "string" ? chunk : Buffer.from(chunk).toString("utf8");
        if (!(running?.silent ?? false)) runOutsideScopes(() => io("stream", { name, text }));
        const done = typeof enc === "function" ? enc : cb;
        if (typeof done === "function") (done as () => void)();
        return true;
      }) as typeof process.stdout.write;
    process.stdout.write = writer("stdout");
    process.stderr.write = writer("stderr");
  }

  // ---- execute ----------------------------------------------------------------------------------

  /** execute_request: queued, in order; resolves to the execute_reply content. */
  function execute(req: Content, io: Io): Promise<Content> {
    const seq = ++received;
    const task = queue.then(() => executeOne(seq, req, io));
    queue = task.catch(() => undefined);
    return task;
  }

  async function executeOne(seq: number, req: Content, io: Io): Promise<Content> {
    if (seq <= abortThrough) {
      // Queued behind a failed request that had stop_on_error (messaging spec, execute): no
      // execution count, so the front end shows `In [ ]` (as with ipykernel).
      return { status: "aborted", execution_count: null };
    }
    const silent = req["silent"] === true;
    const store = !silent && req["store_history"] !== false;
    if (store) execCount++;
    const n = execCount;
    const code = typeof req["code"] === "string" ? req["code"] : "";
    if (store) history.add(n, code);
    if (!silent) io("execute_input", { code, execution_count: n });
    lastIo = io;
    redirectStreams(io);
    interruptController = new AbortController();
    const cell: CellInfo = { name: `cell[${n}]`, source: code };
    cells.set(cell.name, cell);
    if (cells.size > 256) cells.delete(cells.keys().next().value as string);
    const run: Running = {
      cell,
      io,
      silent,
      diagnostics: undefined,
      thrown: undefined,
      result: undefined,
      consoleErrors: [],
      abort: interruptController,
      converted: undefined,
      scope: new CellScope(),
    };
    running = run;
    let error: JupyterError | undefined;
    try {
      error = await runCell(run, code);
    } catch (e) {
      error = errorOf(e);
    } finally {
      running = undefined;
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
      if (req["stop_on_error"] !== false) {
        // Abort what the client queued before it could see this error: let the requests
        // already in the socket arrive first (ipykernel flushes its shell stream the same way).
        for (let i = 0; i < 4; i++) await new Promise<void>((r) => setImmediate(r));
        abortThrough = received;
      }
      return { status: "error", execution_count: n, ...error };
    }
    const exprs = (req["user_expressions"] ?? {}) as Record<string, string>;
    return { status: "ok", execution_count: n, user_expressions: userExpressions(exprs), payload: [] };
  }

  /**
   * user_expressions of an execute_request, evaluated after the cell against the cell
   * variables (TypeScript transpiled, not type-checked): each a display bundle or an error.
   */
  function userExpressions(exprs: Record<string, string>): Record<string, unknown> {
    const out: Record<string, unknown> = {};
    for (const [key, expr] of Object.entries(exprs)) {
      try {
        const js = ts.transpileModule(`(${String(expr)}\n)`, { compilerOptions: { target: 99 } }).outputText.trim().replace(/;$/, "");
        // Sloppy-mode Function: `with` makes the cell variables (tslab's exports) the scope.
        const value = new Function("__locals__", `with (__locals__) { return ${js}; }`)(executor.locals) as unknown;
        const data = typeof value === "string" ? { "text/plain": utilInspect(value) } : mimeBundleOf(value);
        out[key] = { status: "ok", data, metadata: {} };
      } catch (e) {
        const err = errorOf(e);
        out[key] = { status: "error", ...err };
      }
    }
    return out;
  }

  function errorOf(e: unknown): JupyterError {
    if (e instanceof RealmCommandError) {
      return {
        ename: "RealmCommandError",
        evalue: e.message,
        traceback: [`RealmCommandError: ${e.message}`, `  in ${running?.cell.name ?? "cell"} line ${e.cellLine}: %realm ${e.result.line ?? ""}`.trimEnd()],
      };
    }
    return thrownError(e, { packageRoot: root, cells });
  }

  /** Run one cell; resolves to its error, if any. */
  async function runCell(run: Running, code: string): Promise<JupyterError | undefined> {
    const magic = cellMagicLines(code);
    if (magic !== undefined) {
      for (const { line, text } of magic) {
        if (run.abort.signal.aborted) return { ename: "KeyboardInterrupt", evalue: "interrupted", traceback: ["KeyboardInterrupt: the cell was interrupted"] };
        const r = await runCommand(text);
        if (!r.ok) {
          return {
            ename: "RealmCommandError",
            evalue: r.error ?? r.text ?? "command failed",
            traceback: [`RealmCommandError: ${r.error ?? r.text ?? "command failed"}`, `  in ${run.cell.name} line ${line}: ${text}`],
          };
        }
        showResult(r);
      }
      return undefined;
    }
    const rw = rewriteLineMagics(code);
    const ok = await runInScope(run.scope, () => executor.execute(rw.code));
    const conv = run.converted;
    if (conv !== undefined && conv.diagnostics.length === 0 && conv.declOutput !== undefined) {
      // A cell that threw or was interrupted keeps what it declared before the error (IPython).
      const locals = executor.locals;
      decl = ok ? conv.declOutput : keepDeclarationsThatRan(ts as never, conv.declOutput, declaredNames(ts as never, rw.code), (name) => locals[name] !== undefined);
    }
    if (ok) {
      // Module cells (/** @module x */) succeed with diagnostics printed: show them.
      if (run.consoleErrors.length > 0) process.stderr.write(run.consoleErrors.join("\n") + "\n");
      return undefined;
    }
    if (run.diagnostics !== undefined && run.diagnostics.length > 0 && run.thrown === undefined) {
      return diagnosticsError(run.cell, run.diagnostics);
    }
    if (run.thrown !== undefined) return errorOf(run.thrown.value);
    const text = run.consoleErrors.join("\n") || "execution failed";
    return { ename: "Error", evalue: text, traceback: [text] };
  }

  // ---- other requests ---------------------------------------------------------------------------

  function kernelInfo(): Content {
    return {
      status: "ok",
      protocol_version: "5.3",
      implementation: "realm",
      implementation_version: pkgVersion,
      language_info: {
        name: "typescript",
        version: ts.version,
        mimetype: "text/typescript",
        file_extension: ".ts",
        pygments_lexer: "typescript",
        codemirror_mode: { name: "javascript", typescript: true, mode: "typescript" },
      },
      banner: `Realm (TypeScript): cca-realm-sim ${pkgVersion} on tslab ${tslab.version}, TypeScript ${ts.version}, Node ${process.version}`,
      help_links: [],
    };
  }

  /** is_complete_request: complete, incomplete (with an indent hint) or invalid, as IPython. */
  function isComplete(code: string): Content {
    if (cellMagicLines(code) !== undefined) return { status: "complete" };
    const rw = rewriteLineMagics(code).code;
    const status = completeness(ts as never, rw);
    if (status !== "incomplete") return { status };
    // tslab's indent rules (one level more after an opening bracket)
    const r = tslab.converter.isCompleteCode(rw);
    return { status: "incomplete", indent: r.completed ? "" : (r.indent ?? "") };
  }

  /** complete_request; cursor_pos is clamped to the code (absent: its end). */
  function complete(code: string, cursorPos: number | null): Content {
    const cursor = clampCursor(code, cursorPos);
    const at = magicAtCursor(code, cursor);
    if (at !== undefined) {
      const c = session.complete(at.command, at.cursor);
      return { status: "ok", matches: c.items, cursor_start: at.offset + c.start, cursor_end: at.offset + c.end, metadata: {} };
    }
    const rw = rewriteLineMagics(code);
    const pos = mapOffset(code, rw, cursor);
    const info = executor.complete(rw.code, pos);
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
  function inspect(code: string, cursorPos: number | null, detailLevel: number): Content {
    const cursor = clampCursor(code, cursorPos);
    const none = { status: "ok", found: false, data: {}, metadata: {} };
    if (magicAtCursor(code, cursor) !== undefined) return none;
    const rw = rewriteLineMagics(code);
    const { value: info, signature } = hooks.withSignatureHelp(detailLevel, () => executor.inspect(rw.code, mapOffset(code, rw, cursor)));
    // On a name inside the arguments, the name's own info comes first, then the call's.
    const parts: string[] = [];
    if (info?.displayParts !== undefined && info.displayParts.length > 0) parts.push(formatQuickInfo(ts as never, info, detailLevel));
    if (signature !== undefined) parts.push(signature);
    if (parts.length === 0) return none;
    return { status: "ok", found: true, data: { "text/plain": parts.join("\n\n") }, metadata: {} };
  }

  return {
    handleKernel: kernelInfo,
    handleExecute: execute,
    handleIsComplete: (req) => isComplete(String(req["code"] ?? "")),
    handleInspect: (req) => safe(() => inspect(String(req["code"] ?? ""), req["cursor_pos"] as number | null, Number(req["detail_level"] ?? 0))),
    handleComplete: (req) => safe(() => complete(String(req["code"] ?? ""), req["cursor_pos"] as number | null)),
    handleHistory: (req: HistoryRequest) => history.reply(req),
    handleShutdown: (req) => ({ status: "ok", restart: req["restart"] === true }),
    /**
     * Interrupt the running cell: synchronous code via SIGINT (tslab's breakOnSigint), awaited
     * work via tslab's executor, commands via their signal; and the cell's pending timers and
     * immediates are cancelled, so nothing of it runs afterwards (kernel/cancel.ts).
     */
    interrupt(): void {
      running?.scope.cancel();
      executor.interrupt();
      interruptController.abort();
    },
    close(): void {
      setDisplaySink(undefined);
      executor.close();
      hooks.uninstall();
    },
  };
}

/** A request's cursor_pos as an offset into `code` (absent or null: the end; clamped). */
function clampCursor(code: string, pos: number | null | undefined): number {
  if (pos === null || pos === undefined || !Number.isFinite(pos)) return code.length;
  return Math.min(Math.max(0, Math.trunc(pos)), code.length);
}

/** A reply, or an error reply with what the request threw. */
function safe(f: () => Content): Content {
  try {
    return f();
  } catch (e) {
    return { status: "error", ename: e instanceof Error ? e.name : "Error", evalue: e instanceof Error ? e.message : String(e), traceback: [] };
  }
}

/** Start the kernel on a Jupyter connection file. */
export async function startKernel(configPath: string, opts: KernelOptions = {}): Promise<void> {
  const handler = createRealmHandler(opts);
  const server = createServer(handler, configPath);
  process.on("SIGINT", () => handler.interrupt());
  process.on("uncaughtException", (err) => console.error("UncaughtException:", err));
  process.on("unhandledRejection", (reason) => console.error("UnhandledPromiseRejection:", reason));
  await server.init();
}

/**
 * The parts of tslab 1.0.22 the realm kernel reuses (node_modules/tslab/dist), with the small
 * structural types we rely on. tslab is CommonJS and exports these modules by path.
 */
import Module, { createRequire } from "node:module";

const req = createRequire(import.meta.url);

export interface Diagnostic {
  start: { offset: number; line: number; character: number };
  end: { offset: number; line: number; character: number };
  messageText: string;
  category: number;
  code: number;
  fileName?: string;
}

export interface ConvertResult {
  output?: string;
  declOutput?: string;
  diagnostics: Diagnostic[];
  lastExpressionVar?: string;
  hasToplevelAwait?: boolean;
}

export interface QuickInfo {
  displayParts?: { text: string }[];
  documentation?: { text: string }[];
  tags?: { name: string; text?: { text: string }[] }[];
  textSpan?: { start: number; length: number };
}

export interface Converter {
  convert(prevDecl: string, src: string): ConvertResult;
  inspect(prevDecl: string, src: string, position: number): QuickInfo | undefined;
  complete(prevDecl: string, src: string, position: number): { start: number; end: number; candidates: string[] };
  addModule(name: string, content: string, meta?: unknown): Diagnostic[];
  close(): void;
}

export interface ConverterSet {
  readonly node: Converter;
  readonly browser: Converter;
  close(): void;
}

export interface Executor {
  execute(src: string): Promise<boolean>;
  inspect(src: string, position: number): QuickInfo | undefined;
  complete(src: string, position: number): { start: number; end: number; candidates: string[] };
  reset(): void;
  interrupt(): void;
  locals: Record<string, unknown>;
  close(): void;
}

/**
 * tslab's ZmqServer (dist/jupyter.js): binds the sockets of a connection file and calls
 * `handleShellMessage` for each message on shell and control; `close()` calls the handler's
 * close() and closes the sockets. The kernel replaces handleShellMessage (kernel/server.ts).
 */
export interface ZmqServerInstance {
  connInfo: { key: string };
  iopub: unknown;
  handleShellMessage(sock: unknown, ...frames: Buffer[]): Promise<void>;
  init(): Promise<void>;
  close(): void;
}

export type ZmqServerClass = new (handler: { close(): void }, configPath: string) => ZmqServerInstance;

export interface TslabModules {
  jupyter: { ZmqServer: ZmqServerClass; lastWriteDisplayData: unknown };
  executor: {
    createExecutor(rootDir: string, convs: ConverterSet, console: { log(...a: unknown[]): void; error(...a: unknown[]): void }): Executor;
  };
  converter: {
    createConverter(opts: { isJS: boolean; isBrowser: boolean }): Converter;
    isCompleteCode(code: string): { completed: boolean; indent?: string };
  };
  version: string;
  /**
   * The TypeScript module tslab compiles with, as tslab's modules see it: an object forwarding
   * to @tslab/typescript-for-tslab (whose exports are read-only getters) on which the kernel
   * may define its own versions of functions (Object.defineProperty).
   */
  ts: Record<string, unknown>;
}

let loaded: TslabModules | undefined;

/**
 * Load tslab. Before its modules load, the require cache entry of its TypeScript is replaced by
 * an object forwarding to it, so the kernel can hook compiler entry points tslab calls
 * (ts.createWatchCompilerHost, ts.transpileModule) without touching tslab's files.
 */
export function loadTslab(): TslabModules {
  if (loaded !== undefined) return loaded;
  const tslabReq = createRequire(req.resolve("tslab/dist/converter.js"));
  const tsPath = tslabReq.resolve("@tslab/typescript-for-tslab");
  const original = tslabReq(tsPath) as Record<string, unknown>;
  const cache = (Module as unknown as { _cache: Record<string, { exports: unknown } | undefined> })._cache;
  const entry = cache[tsPath];
  let ts = original;
  if (entry !== undefined) {
    if (!Object.prototype.hasOwnProperty.call(entry.exports as object, "__realmKernelWrapper")) {
      // Own, configurable getters (tslab's __importStar copies own properties only).
      const wrapper: Record<string, unknown> = {};
      for (const k of Object.getOwnPropertyNames(original)) {
        Object.defineProperty(wrapper, k, { get: () => original[k], enumerable: true, configurable: true });
      }
      Object.defineProperty(wrapper, "__realmKernelWrapper", { value: true });
      entry.exports = wrapper;
    }
    ts = entry.exports as Record<string, unknown>;
  }
  loaded = {
    jupyter: req("tslab/dist/jupyter.js") as TslabModules["jupyter"],
    executor: req("tslab/dist/executor.js") as TslabModules["executor"],
    converter: req("tslab/dist/converter.js") as TslabModules["converter"],
    version: (req("tslab/package.json") as { version: string }).version,
    ts,
  };
  return loaded;
}

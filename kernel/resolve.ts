/**
 * Make `import ... from "cca-realm-sim"` work in a notebook in ANY folder, with no set-up cell.
 *
 * Two resolvers have to find the package:
 * - tslab's TypeScript 5.0 compiler (Node10 resolution, tsconfig ignored): its file system is
 *   `ts.sys` of @tslab/typescript-for-tslab, which tslab's converter consults for every path. We
 *   add a virtual directory `<notebook dir>/node_modules/cca-realm-sim` that mirrors the package
 *   root (realpath maps it back, so the package's own .d.ts files are read in place), and a
 *   virtual `@types/realm-kernel` with the kernel's globals (`display`, `realm`).
 * - Node's `require` (tslab runs cells as CommonJS): `Module._resolveFilename` maps
 *   `cca-realm-sim` and its subpaths to this package, so cells and the kernel share one
 *   instance of every module (Node >= 20.19 require()s the package's ES modules).
 */
import { existsSync, readFileSync } from "node:fs";
import Module from "node:module";
import { dirname, join, resolve as resolvePath } from "node:path";
import { fileURLToPath } from "node:url";

export const PACKAGE_NAME = "cca-realm-sim";

/** The package root (the directory with cca-realm-sim's package.json) above this file. */
export function packageRoot(from: string = dirname(fileURLToPath(import.meta.url))): string {
  let dir = from;
  for (;;) {
    const pj = join(dir, "package.json");
    if (existsSync(pj)) {
      try {
        if ((JSON.parse(readFileSync(pj, "utf8")) as { name?: string }).name === PACKAGE_NAME) return dir;
      } catch {
        // not ours; keep looking
      }
    }
    const up = dirname(dir);
    if (up === dir) throw new Error(`realm kernel: cannot find the ${PACKAGE_NAME} package root above ${from}`);
    dir = up;
  }
}

/** The package's CommonJS-visible entry (package.json "main"). */
export function packageMain(root: string): string {
  const pj = JSON.parse(readFileSync(join(root, "package.json"), "utf8")) as { main?: string };
  return resolvePath(root, pj.main ?? "index.js");
}

let runtimeHooked = false;

/** Route require("cca-realm-sim[/sub]") to this package, whatever the caller's folder. */
export function hookRuntimeResolution(root: string): void {
  if (runtimeHooked) return;
  runtimeHooked = true;
  const M = Module as unknown as {
    _resolveFilename: (request: string, parent: unknown, isMain: boolean, options?: unknown) => string;
  };
  const original = M._resolveFilename;
  const main = packageMain(root);
  M._resolveFilename = function (request: string, parent: unknown, isMain: boolean, options?: unknown): string {
    if (request === PACKAGE_NAME) return main;
    if (request.startsWith(PACKAGE_NAME + "/")) {
      return original.call(this, join(root, request.slice(PACKAGE_NAME.length + 1)), parent, isMain, options);
    }
    return original.call(this, request, parent, isMain, options);
  };
}

/** Global declarations every cell sees (virtual @types/realm-kernel/index.d.ts). */
export const KERNEL_GLOBALS_DTS = `// Globals of the realm Jupyter kernel (cca-realm-sim).
/**
 * Show a value as its richest view (RTT tree, accounting chart, trace table, scenario
 * comparison, or text). The handle's update(value) replaces the same output later.
 */
declare function display(value: unknown, opts?: import("${PACKAGE_NAME}").viz.DisplayOptions): import("${PACKAGE_NAME}").viz.DisplayHandle;
/** The realm kernel: the command language of %realm lines, interruption. */
declare const realm: {
  /** Run one realm> command (what a %realm line does) and resolve to its result. */
  run(line: string): Promise<import("${PACKAGE_NAME}").RunResult>;
  /** The command session %realm lines run in (its hosts and realms are ordinary objects). */
  readonly session: import("${PACKAGE_NAME}").Session;
  /** Aborted when the user interrupts the running cell. */
  readonly signal: AbortSignal;
};
/** What a %realm line becomes (kernel internal). */
declare function __realmMagic__(command: string, cellLine: number): Promise<void>;
`;

export interface TsSysLike {
  readFile(path: string, encoding?: string): string | undefined;
  fileExists(path: string): boolean;
  directoryExists(path: string): boolean;
  getDirectories(path: string): string[];
  realpath?: (path: string) => string;
}

export interface TsLike {
  sys: TsSysLike;
  version: string;
  createWatchCompilerHost: (...args: unknown[]) => unknown;
  transpileModule: (input: string, opts: { fileName?: string; compilerOptions?: Record<string, unknown> }) => {
    outputText: string;
    sourceMapText?: string;
  };
  ModuleKind: { CommonJS: number };
}

function norm(p: string): string {
  return p.replace(/\\/g, "/");
}

/**
 * Give tslab's compiler a view of the package from `cwd` (the notebook's folder): the virtual
 * `<cwd>/node_modules/cca-realm-sim` and `<cwd>/node_modules/@types/realm-kernel`.
 */
export function hookCompilerResolution(ts: TsLike, root: string, cwd: string): void {
  const sys = ts.sys;
  const nm = norm(join(cwd, "node_modules"));
  const pkgDir = nm + "/" + PACKAGE_NAME;
  const typesDir = nm + "/@types";
  const globalsDir = typesDir + "/realm-kernel";
  const globalsFile = globalsDir + "/index.d.ts";
  const globalsPkg = globalsDir + "/package.json";
  const rootN = norm(root);
  const toReal = (p: string): string | undefined => {
    const n = norm(p);
    if (n === pkgDir) return rootN;
    if (n.startsWith(pkgDir + "/")) return rootN + n.slice(pkgDir.length);
    return undefined;
  };
  const orig = {
    readFile: sys.readFile.bind(sys),
    fileExists: sys.fileExists.bind(sys),
    directoryExists: sys.directoryExists.bind(sys),
    getDirectories: sys.getDirectories.bind(sys),
    realpath: sys.realpath?.bind(sys),
  };
  sys.readFile = (p, enc) => {
    const n = norm(p);
    if (n === globalsFile) return KERNEL_GLOBALS_DTS;
    if (n === globalsPkg) return JSON.stringify({ name: "@types/realm-kernel", version: "0.0.0", types: "index.d.ts" });
    return orig.readFile(toReal(p) ?? p, enc);
  };
  sys.fileExists = (p) => {
    const n = norm(p);
    if (n === globalsFile || n === globalsPkg) return true;
    return orig.fileExists(toReal(p) ?? p);
  };
  sys.directoryExists = (p) => {
    const n = norm(p);
    if (n === nm || n === typesDir || n === globalsDir) return true;
    return orig.directoryExists(toReal(p) ?? p);
  };
  sys.getDirectories = (p) => {
    const n = norm(p);
    if (n === typesDir) {
      const real = orig.directoryExists(p) ? orig.getDirectories(p) : [];
      return real.includes("realm-kernel") ? real : [...real, "realm-kernel"];
    }
    if (n === nm) {
      const real = orig.directoryExists(p) ? orig.getDirectories(p) : [];
      for (const d of [PACKAGE_NAME, "@types"]) if (!real.includes(d)) real.push(d);
      return real;
    }
    return orig.getDirectories(toReal(p) ?? p);
  };
  sys.realpath = (p) => {
    const real = toReal(p);
    if (real !== undefined) return orig.realpath ? orig.realpath(real) : real;
    const n = norm(p);
    if (n.startsWith(globalsDir + "/") || n === globalsDir) return p;
    return orig.realpath ? orig.realpath(p) : p;
  };
}

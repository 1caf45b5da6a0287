/**
 * Register the realm kernel with Jupyter: a kernelspec directory `realm/` holding kernel.json
 * (Jupyter kernelspec format: argv, display_name, language, interrupt_mode). No Python package
 * is needed: Jupyter finds kernelspecs in `<data dir>/kernels/` for each data dir (the user's,
 * JUPYTER_DATA_DIR, each entry of JUPYTER_PATH, `<prefix>/share/jupyter`).
 * `realm kernel install [--name N] [--user | --sys-prefix | --prefix P]` calls installKernel().
 */
import { spawnSync } from "node:child_process";
import { existsSync, mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { homedir, platform } from "node:os";
import { join, resolve } from "node:path";
import { packageRoot } from "./resolve.js";

/** The kernelspec name `realm kernel install` uses by default. */
export const KERNEL_NAME = "realm";
/** The name Jupyter's kernel menus show. */
export const KERNEL_DISPLAY_NAME = "Realm (TypeScript)";

/** kernel.json (Jupyter kernelspec format). */
export interface KernelSpec {
  argv: string[];
  display_name: string;
  language: string;
  interrupt_mode: "signal" | "message";
  env: Record<string, string>;
  metadata: Record<string, unknown>;
}

/** Where installKernel() writes (at most one of prefix, sysPrefix, user, dataDir; default: user). */
export interface InstallOptions {
  /** Install into PREFIX/share/jupyter/kernels/realm (as `jupyter kernelspec install --prefix`). */
  prefix?: string;
  /** Install into the Python's sys.prefix/share/jupyter (as `--sys-prefix`; Debian: /usr). */
  sysPrefix?: boolean;
  /** Install into the user's Jupyter data dir (the default; as `--user`). */
  user?: boolean;
  /** Install into DIR/kernels/realm: DIR is a Jupyter data dir, e.g. one entry of JUPYTER_PATH. */
  dataDir?: string;
  /** Kernelspec name (default "realm"). */
  name?: string;
  /** Node.js binary the kernel runs with (default: the one running now). */
  node?: string;
}

/** What installKernel() did. */
export interface InstallResult {
  /** The kernelspec directory written. */
  dir: string;
  specFile: string;
  spec: KernelSpec;
  /** The kernelspec that was in `dir` before and was replaced (absent: none was there). */
  replaced?: { displayName: string; argv: string[] };
}

/** sys.prefix of the Python Jupyter runs on (python3 on PATH; Debian's is /usr). */
export function pythonSysPrefix(python = process.env["REALM_PYTHON"] ?? "python3"): string {
  const r = spawnSync(python, ["-c", "import sys; print(sys.prefix)"], { encoding: "utf8" });
  if (r.status !== 0 || r.stdout.trim() === "") throw new Error(`installKernel: --sys-prefix: cannot run ${python} to find sys.prefix`);
  return r.stdout.trim();
}

/** The user's Jupyter data directory (jupyter_core's jupyter_data_dir rules). */
export function userDataDir(env: NodeJS.ProcessEnv = process.env): string {
  if (env["JUPYTER_DATA_DIR"]) return resolve(env["JUPYTER_DATA_DIR"]);
  const home = homedir();
  switch (platform()) {
    case "darwin":
      return join(home, "Library", "Jupyter");
    case "win32":
      return join(env["APPDATA"] ?? join(home, "AppData", "Roaming"), "jupyter");
    default:
      return join(env["XDG_DATA_HOME"] ?? join(home, ".local", "share"), "jupyter");
  }
}

/** kernel.json for this package's built kernel (dist/kernel/main.js). */
export function kernelSpec(opts: { node?: string; root?: string } = {}): KernelSpec {
  const root = opts.root ?? packageRoot();
  const main = join(root, "dist", "kernel", "main.js");
  const version = (JSON.parse(readFileSync(join(root, "package.json"), "utf8")) as { version?: string }).version ?? "";
  return {
    argv: [opts.node ?? process.execPath, main, "--config-path", "{connection_file}"],
    display_name: KERNEL_DISPLAY_NAME,
    language: "typescript",
    // SIGINT stops synchronous cell code too (vm breakOnSigint); message interrupts cannot.
    interrupt_mode: "signal",
    env: {},
    metadata: { "cca-realm-sim": { version, root } },
  };
}

/** Write the kernelspec; returns where. Throws if the kernel is not built. */
export function installKernel(opts: InstallOptions = {}): InstallResult {
  const where = [opts.prefix !== undefined && "prefix", opts.dataDir !== undefined && "dataDir", opts.sysPrefix === true && "sysPrefix", opts.user === true && "user"].filter((x) => x);
  if (where.length > 1) throw new TypeError(`installKernel: give one of prefix, sysPrefix, user, dataDir (got ${where.join(", ")})`);
  const name = opts.name ?? KERNEL_NAME;
  if (!/^[a-z0-9._-]+$/i.test(name)) throw new RangeError(`installKernel: name must be letters, digits, . _ -, got ${JSON.stringify(name)}`);
  const specOpts: { node?: string } = {};
  if (opts.node !== undefined) specOpts.node = opts.node;
  const spec = kernelSpec(specOpts);
  if (!existsSync(spec.argv[1]!)) {
    throw new Error(`installKernel: ${spec.argv[1]} does not exist; build the package first (npm run build)`);
  }
  const base =
    opts.prefix !== undefined
      ? join(resolve(opts.prefix), "share", "jupyter")
      : opts.sysPrefix === true
        ? join(pythonSysPrefix(), "share", "jupyter")
        : opts.dataDir !== undefined
          ? resolve(opts.dataDir)
          : userDataDir();
  const dir = join(base, "kernels", name);
  mkdirSync(dir, { recursive: true });
  const specFile = join(dir, "kernel.json");
  const text = JSON.stringify(spec, null, 2) + "\n";
  let replaced: InstallResult["replaced"];
  if (existsSync(specFile)) {
    const old = readFileSync(specFile, "utf8");
    if (old !== text) {
      try {
        const o = JSON.parse(old) as Partial<KernelSpec>;
        replaced = { displayName: String(o.display_name ?? "?"), argv: Array.isArray(o.argv) ? o.argv.map(String) : [] };
      } catch {
        replaced = { displayName: "(unreadable kernel.json)", argv: [] };
      }
    }
  }
  writeFileSync(specFile, text);
  const r: InstallResult = { dir, specFile, spec };
  if (replaced !== undefined) r.replaced = replaced;
  return r;
}

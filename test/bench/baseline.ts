/**
 * The baseline build for side-by-side figures (`npm run bench -- fault --baseline <commit>`): the
 * tree of `<commit>` exported with `git archive` into a directory under the system temp directory
 * (the repository's own worktrees, index and refs are left alone), this checkout's `node_modules`
 * linked in (no network, no install), compiled with this checkout's `tsc`. The build is kept and
 * reused by later runs for the same commit.
 */
import { execFileSync, spawnSync } from "node:child_process";
import { existsSync, mkdirSync, rmSync, symlinkSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";

/** The previous main when issue 14 started: what the fault section compares against by default. */
export const DEFAULT_BASELINE = "b221e53";

export interface Baseline {
  /** As given (`b221e53`, `HEAD~1`, ...). */
  name: string;
  /** Full commit hash. */
  commit: string;
  /** Root of the build: `<dir>/dist/test/bench/...` are its bench modules. */
  dir: string;
}

function git(root: string, args: string[]): string {
  return execFileSync("git", ["-C", root, ...args], { encoding: "utf8" }).trim();
}

/** Export and build `name` (a commit-ish of the repository at `root`, default the current directory's). */
export function buildBaseline(name: string, root = process.cwd()): Baseline {
  const top = git(root, ["rev-parse", "--show-toplevel"]);
  const commit = git(top, ["rev-parse", "--verify", `${name}^{commit}`]);
  const dir = join(tmpdir(), `cca-realm-sim-baseline-${commit.slice(0, 12)}`);
  const done = join(dir, ".built");
  if (existsSync(done)) return { name, commit, dir };
  rmSync(dir, { recursive: true, force: true });
  mkdirSync(dir, { recursive: true });
  const archive = spawnSync("sh", ["-c", `git -C "$1" archive --format=tar "$2" | tar -x -C "$3"`, "sh", top, commit, dir], { encoding: "utf8" });
  if (archive.status !== 0) throw new Error(`baseline ${name}: git archive failed: ${archive.stderr.trim()}`);
  symlinkSync(join(top, "node_modules"), join(dir, "node_modules"), "dir");
  // tsc emits even when the old tree has type errors against today's node_modules; what must exist is the bench.
  spawnSync(process.execPath, [join(top, "node_modules", "typescript", "bin", "tsc"), "-p", join(dir, "tsconfig.json")], { encoding: "utf8" });
  if (!existsSync(join(dir, "dist", "test", "bench", "fault-child.js"))) throw new Error(`baseline ${name}: the build has no dist/test/bench/fault-child.js`);
  writeFileSync(done, `${commit}\n`);
  return { name, commit, dir };
}

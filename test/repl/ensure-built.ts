/**
 * The CLI tests drive dist/repl/cli.js (built by `npm test` before vitest runs). When vitest runs
 * alone and the build is missing or older than the REPL/command sources, build it first.
 */
import { spawnSync } from "node:child_process";
import { existsSync, readdirSync, statSync } from "node:fs";
import { join } from "node:path";

export const root = new URL("../..", import.meta.url).pathname;
export const cli = join(root, "dist/repl/cli.js");

function newest(d: string): number {
  let t = 0;
  for (const f of readdirSync(d, { withFileTypes: true })) {
    const p = join(d, f.name);
    t = Math.max(t, f.isDirectory() ? newest(p) : statSync(p).mtimeMs);
  }
  return t;
}

export function ensureBuilt(): void {
  const srcTime = Math.max(newest(join(root, "repl")), newest(join(root, "src/commands")));
  if (!existsSync(cli) || statSync(cli).mtimeMs < srcTime) {
    spawnSync(process.execPath, [join(root, "node_modules/typescript/bin/tsc"), "-p", join(root, "tsconfig.json")], { stdio: "ignore" });
  }
  if (!existsSync(cli)) throw new Error(`${cli} was not built (npm run build)`);
}

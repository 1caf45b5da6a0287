/**
 * `realm kernel install [--name N] [--user | --sys-prefix | --prefix P]` (issue 12 A), run as the
 * built CLI. Cases:
 *  1. --prefix P writes P/share/jupyter/kernels/N/kernel.json, prints where and how to check,
 *     and `jupyter kernelspec list` (Debian's jupyter-client) finds it there;
 *  2. installing over a different kernelspec says what it replaced; the same one again does not;
 *  3. --sys-prefix uses the Python's sys.prefix; --user the user's data dir (JUPYTER_DATA_DIR);
 *  4. two places at once, or a bad name, is refused and writes nothing.
 */
import { spawnSync } from "node:child_process";
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync, chmodSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { ROOT } from "./client.js";

let dir: string;
const cli = (args: string[], env: Record<string, string> = {}) => {
  const r = spawnSync(process.execPath, [join(ROOT, "dist", "repl", "cli.js"), "kernel", "install", ...args], { encoding: "utf8", env: { ...process.env, ...env } });
  return { code: r.status, out: r.stdout, err: r.stderr };
};

beforeAll(() => {
  if (!existsSync(join(ROOT, "dist", "repl", "cli.js"))) throw new Error("dist/repl/cli.js missing: run npm run build first");
  dir = mkdtempSync(join(tmpdir(), "realm-install-"));
});
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe("realm kernel install", () => {
  it("1. --prefix: writes the kernelspec, says where and how to check; jupyter kernelspec list finds it", () => {
    const p = join(dir, "p1");
    const r = cli(["--prefix", p, "--name", "realm-test"]);
    expect(r.code).toBe(0);
    const kdir = join(p, "share", "jupyter", "kernels", "realm-test");
    expect(r.out).toContain(`installed the Jupyter kernel "realm-test" (Realm (TypeScript)) in ${kdir}`);
    expect(r.out).toContain("check: jupyter kernelspec list");
    const spec = JSON.parse(readFileSync(join(kdir, "kernel.json"), "utf8"));
    expect(spec.argv.slice(1)).toEqual([join(ROOT, "dist", "kernel", "main.js"), "--config-path", "{connection_file}"]);
    const list = spawnSync("jupyter-kernelspec", ["list", "--json"], { encoding: "utf8", env: { ...process.env, JUPYTER_PATH: join(p, "share", "jupyter") } });
    expect(list.status).toBe(0);
    expect(JSON.parse(list.stdout).kernelspecs["realm-test"].resource_dir).toBe(kdir);
  });

  it("2. over a different kernelspec it says what it replaced; the same one again is quiet", () => {
    const p = join(dir, "p2");
    const kfile = join(p, "share", "jupyter", "kernels", "realm", "kernel.json");
    expect(cli(["--prefix", p]).code).toBe(0);
    expect(cli(["--prefix", p]).out).not.toContain("replaced");
    writeFileSync(kfile, JSON.stringify({ argv: ["/old/node", "/old/main.js"], display_name: "Old realm", language: "typescript" }));
    const r = cli(["--prefix", p]);
    expect(r.out).toContain('replaced the kernelspec that was there: "Old realm" (/old/node /old/main.js)');
    expect(JSON.parse(readFileSync(kfile, "utf8")).display_name).toBe("Realm (TypeScript)");
  });

  it("3. --sys-prefix follows the Python's sys.prefix; --user the user's Jupyter data dir", () => {
    const fakePython = join(dir, "python");
    writeFileSync(fakePython, `#!/bin/sh\necho ${join(dir, "sysprefix")}\n`);
    chmodSync(fakePython, 0o755);
    const s = cli(["--sys-prefix"], { REALM_PYTHON: fakePython });
    expect(s.code).toBe(0);
    expect(existsSync(join(dir, "sysprefix", "share", "jupyter", "kernels", "realm", "kernel.json"))).toBe(true);
    const u = cli(["--user"], { JUPYTER_DATA_DIR: join(dir, "userdata") });
    expect(u.code).toBe(0);
    expect(existsSync(join(dir, "userdata", "kernels", "realm", "kernel.json"))).toBe(true);
  });

  it("4. two places at once, or a bad name, is refused and writes nothing", () => {
    const both = cli(["--user", "--prefix", join(dir, "p4")], { JUPYTER_DATA_DIR: join(dir, "u4") });
    expect(both.code).toBe(1);
    expect(both.err).toContain("give one of prefix, sysPrefix, user, dataDir (got prefix, user)");
    expect(existsSync(join(dir, "p4"))).toBe(false);
    const bad = cli(["--prefix", join(dir, "p5"), "--name", "no/slash"]);
    expect(bad.code).toBe(1);
    expect(bad.err).toContain("name must be letters, digits");
    expect(existsSync(join(dir, "p5"))).toBe(false);
  });
});

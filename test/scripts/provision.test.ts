/**
 * `npm test` provisions what the tests need (scripts/test.mjs, issue 12 A). A missing package is
 * simulated with REALM_PYTHON=/bin/false (nbclient "not importable"). Cases:
 *  1. not root: it stops before running anything, printing the exact apt-get command, and ends
 *     with `0 passed, 1 failed` (exit 1);
 *  2. root: it says what it installs and runs apt-get update + install --no-install-recommends
 *     of exactly the missing packages (a stand-in apt-get first on PATH records the calls); a
 *     package still missing afterwards is a failure, not a skip.
 */
import { spawnSync } from "node:child_process";
import { chmodSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { ROOT } from "../kernel/client.js";

const dir = mkdtempSync(join(tmpdir(), "realm-provision-"));
afterAll(() => rmSync(dir, { recursive: true, force: true }));
const isRoot = process.getuid?.() === 0;

function testCommand(prefix: string[], env: Record<string, string>) {
  const argv = [...prefix, process.execPath, join(ROOT, "scripts", "test.mjs")];
  const r = spawnSync(argv[0]!, argv.slice(1), { encoding: "utf8", env: { ...process.env, REALM_PYTHON: "/bin/false", ...env }, timeout: 60_000 });
  return { code: r.status, out: r.stdout + r.stderr };
}

describe("npm test provisioning", () => {
  it("1. not root: stops with the exact command to run", () => {
    // as root, drop to nobody (util-linux setpriv); otherwise we are not root already
    const r = testCommand(isRoot ? ["setpriv", "--reuid=65534", "--regid=65534", "--clear-groups"] : [], {});
    expect(r.code).toBe(1);
    expect(r.out).toContain("missing Debian packages: python3-nbclient (notebooks run through nbclient)");
    expect(r.out).toContain("sudo sh -c 'apt-get update && apt-get install -y --no-install-recommends python3-nbclient'");
    expect(r.out.trimEnd().split("\n")).toContain("0 passed, 1 failed");
    expect(r.out).not.toContain("RUN"); // vitest never started
  });

  it("2. root: says what it installs, runs apt-get for exactly that, fails if still missing", () => {
    if (!isRoot) {
      // Without root the command cannot take this path: the not-root path above is what runs.
      expect(testCommand([], {}).out).toContain("not root");
      return;
    }
    const bin = join(dir, "bin");
    const calls = join(dir, "calls");
    spawnSync("mkdir", ["-p", bin]);
    writeFileSync(join(bin, "apt-get"), `#!/bin/sh\necho "$@" >> ${calls}\nexit 0\n`);
    chmodSync(join(bin, "apt-get"), 0o755);
    const r = testCommand([], { PATH: `${bin}:${process.env["PATH"]}` });
    expect(r.out).toContain("npm test: installing python3-nbclient (apt-get install --no-install-recommends)");
    expect(readFileSync(calls, "utf8").trim().split("\n")).toEqual(["update -qq", "install -y -qq --no-install-recommends python3-nbclient"]);
    expect(r.out).toContain("still missing after apt-get: python3-nbclient");
    expect(r.code).toBe(1);
  });
});

#!/usr/bin/env node
// The project's one test command (`npm test`): vitest (unit, model-based, REPL, kernel protocol,
// browser tests) and then every tracked notebook executed through a real Jupyter client. Ends
// with the plain line `N passed, N failed` and exits non-zero on any failure. Nothing is skipped
// silently.
//
// It first provisions what the tests need from Debian (a fresh machine has none of it): as root
// it installs the missing packages with apt-get, saying which; otherwise it stops with the exact
// command to run.
import { spawnSync } from "node:child_process";
import { existsSync, readFileSync, readdirSync, rmSync } from "node:fs";
import { join } from "node:path";

const root = new URL("..", import.meta.url).pathname;
process.chdir(root);
let passed = 0;
let failed = 0;

// 0. Debian packages the tests use, each with how to tell it is there.
const PYTHON = process.env.REALM_PYTHON ?? "/usr/bin/python3";
const works = (cmd, args) => spawnSync(cmd, args, { stdio: "ignore" }).status === 0;
const NEEDS = [
  { pkg: "python3-nbclient", why: "notebooks run through nbclient", ok: () => works(PYTHON, ["-c", "import nbclient, nbformat, jupyter_client"]) },
  { pkg: "jupyter-client", why: "jupyter kernelspec", ok: () => existsSync("/usr/bin/jupyter-kernelspec") },
  { pkg: "jupyter-notebook", why: "the browser test's Notebook server", ok: () => existsSync("/usr/bin/jupyter-notebook") },
  { pkg: "chromium", why: "the browser test (driven by puppeteer-core, no browser download)", ok: () => existsSync("/usr/bin/chromium") },
  { pkg: "fonts-liberation", why: "text in the browser test's failure screenshots", ok: () => existsSync("/usr/share/fonts/truetype/liberation") },
  { pkg: "tmux", why: "the REPL's terminal tests", ok: () => works("tmux", ["-V"]) },
];

function provision() {
  const missing = NEEDS.filter((n) => !n.ok());
  if (missing.length === 0) return;
  const pkgs = missing.map((n) => n.pkg);
  const cmd = `apt-get update && apt-get install -y --no-install-recommends ${pkgs.join(" ")}`;
  console.log(`npm test: missing Debian packages: ${missing.map((n) => `${n.pkg} (${n.why})`).join(", ")}`);
  if (process.getuid?.() !== 0 || !existsSync("/usr/bin/apt-get")) {
    console.error(`npm test: not root (or no apt-get): install them first, then run npm test again:\n  sudo sh -c '${cmd}'`);
    console.log("0 passed, 1 failed");
    process.exit(1);
  }
  console.log(`npm test: installing ${pkgs.join(" ")} (apt-get install --no-install-recommends)`);
  const env = { ...process.env, DEBIAN_FRONTEND: "noninteractive" };
  const run = (args) => spawnSync("apt-get", args, { stdio: "inherit", env }).status === 0;
  if (!run(["update", "-qq"]) || !run(["install", "-y", "-qq", "--no-install-recommends", ...pkgs])) {
    console.error(`npm test: apt-get failed; run it yourself: ${cmd}`);
    console.log("0 passed, 1 failed");
    process.exit(1);
  }
  const still = NEEDS.filter((n) => !n.ok()).map((n) => n.pkg);
  if (still.length > 0) {
    console.error(`npm test: still missing after apt-get: ${still.join(" ")}`);
    console.log("0 passed, 1 failed");
    process.exit(1);
  }
}

provision();

// 1. vitest, with the JSON reporter for counts.
const filtered = process.argv.length > 2;

function vitest(args, report) {
  rmSync(report, { force: true });
  const vt = spawnSync(
    process.execPath,
    ["node_modules/vitest/vitest.mjs", "run", "--reporter=default", "--reporter=json", `--outputFile=${report}`, ...args],
    { stdio: "inherit", env: { ...process.env, FORCE_COLOR: process.env.CI ? "0" : process.env.FORCE_COLOR } },
  );
  let p = 0;
  let f = 0;
  if (existsSync(report)) {
    const r = JSON.parse(readFileSync(report, "utf8"));
    p += r.numPassedTests;
    f += r.numFailedTests;
    // A test file that fails to load counts as a failure even though it ran no test.
    f += (r.testResults ?? []).filter((t) => t.status === "failed" && (t.assertionResults ?? []).length === 0).length;
    if (r.numTotalTests === 0) {
      console.error(`vitest ran no test (${args.join(" ")})`);
      f += 1;
    }
  } else {
    console.error(`vitest produced no report (exit ${vt.status})`);
    f += 1;
  }
  if (vt.status !== 0 && f === 0) f += 1;
  passed += p;
  failed += f;
}

vitest(process.argv.slice(2), "vitest.json");

// 2. notebooks, through nbclient with the realm kernel (only when no vitest filter was given):
// the tracked ones (not .ipynb_checkpoints/ or a scratch notebook); outside a git clone, all.
function notebookFiles() {
  const git = spawnSync("git", ["ls-files", "-z", "--", "notebooks/*.ipynb"], { encoding: "utf8" });
  if (git.status === 0 && git.stdout !== "") return git.stdout.split("\0").filter((f) => f.endsWith(".ipynb") && !f.includes(".ipynb_checkpoints")).sort();
  return existsSync("notebooks") ? readdirSync("notebooks").filter((f) => f.endsWith(".ipynb")).sort().map((f) => join("notebooks", f)) : [];
}
const notebooks = notebookFiles();
if (notebooks.length > 0 && !filtered) {
  const nb = spawnSync(process.execPath, ["scripts/run-notebooks.mjs", ...notebooks], { stdio: ["ignore", "pipe", "inherit"], encoding: "utf8" });
  process.stdout.write(nb.stdout ?? "");
  const m = /^(\d+) passed, (\d+) failed$/m.exec(nb.stdout ?? "");
  if (m) {
    passed += Number(m[1]);
    failed += Number(m[2]);
  } else {
    console.error(`notebook runner gave no result line (exit ${nb.status})`);
    failed += 1;
  }
  if (nb.status !== 0 && (!m || Number(m[2]) === 0)) failed += 1;
}

console.log(`${passed} passed, ${failed} failed`);
process.exit(failed > 0 ? 1 : 0);

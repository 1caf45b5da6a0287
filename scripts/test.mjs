#!/usr/bin/env node
// The project's one test command (`npm test`): vitest (unit, model-based, REPL, kernel protocol
// tests) and then every notebook executed through a real Jupyter client. Ends with the plain line
// `N passed, N failed` and exits non-zero on any failure. Nothing is skipped silently: if
// notebooks exist and no Jupyter client is installed, that is a failure.
import { spawnSync } from "node:child_process";
import { existsSync, readFileSync, readdirSync, rmSync } from "node:fs";
import { join } from "node:path";

const root = new URL("..", import.meta.url).pathname;
process.chdir(root);
let passed = 0;
let failed = 0;

// 1. vitest, with the JSON reporter for counts.
rmSync("vitest.json", { force: true });
const vt = spawnSync(
  process.execPath,
  ["node_modules/vitest/vitest.mjs", "run", "--reporter=default", "--reporter=json", "--outputFile=vitest.json", ...process.argv.slice(2)],
  { stdio: "inherit", env: { ...process.env, FORCE_COLOR: process.env.CI ? "0" : process.env.FORCE_COLOR } },
);
if (existsSync("vitest.json")) {
  const r = JSON.parse(readFileSync("vitest.json", "utf8"));
  passed += r.numPassedTests;
  failed += r.numFailedTests;
  // A test file that fails to load counts as a failure even though it ran no test.
  const broken = (r.testResults ?? []).filter((f) => f.status === "failed" && (f.assertionResults ?? []).length === 0);
  failed += broken.length;
  if (r.numTotalTests === 0) {
    console.error("vitest ran no test");
    failed += 1;
  }
} else {
  console.error(`vitest produced no report (exit ${vt.status})`);
  failed += 1;
}
if (vt.status !== 0 && failed === 0) failed += 1;

// 2. notebooks, through nbclient with the realm kernel (only when no vitest filter was given).
const notebooks = existsSync("notebooks")
  ? readdirSync("notebooks").filter((f) => f.endsWith(".ipynb")).sort().map((f) => join("notebooks", f))
  : [];
if (notebooks.length > 0 && process.argv.length <= 2) {
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

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

// 2. notebooks, through nbclient with the realm kernel (only when no vitest filter was given).
const notebooks = existsSync("notebooks")
  ? readdirSync("notebooks").filter((f) => f.endsWith(".ipynb")).sort().map((f) => join("notebooks", f))
  : [];
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

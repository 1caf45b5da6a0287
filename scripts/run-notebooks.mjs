#!/usr/bin/env node
// Execute notebooks through a real Jupyter client (Debian's python3-nbclient, /usr/bin/python3)
// with the realm kernel, and check that re-execution reproduces the stored outputs.
//
//   node scripts/run-notebooks.mjs [--update] [--out DIR] NOTEBOOK...
//
// Builds nothing (run `npm run build` first; `npm test` does). Installs the kernelspec into the
// project-local Jupyter path .jupyter/ (JUPYTER_PATH). A notebook fails on any error (except in
// cells tagged raises-exception, which must raise), any aborted cell, or any stored output that
// re-execution does not reproduce; the failing cell's source and error are printed. --update
// stores the new outputs into the notebooks instead of comparing. Last line: `N passed, N failed`.
import { spawnSync } from "node:child_process";
import { copyFileSync, existsSync, readFileSync } from "node:fs";
import { basename, join, resolve } from "node:path";

const root = resolve(new URL("..", import.meta.url).pathname);
const args = process.argv.slice(2);
let update = false;
let outDir = join(root, "out", "notebooks");
const notebooks = [];
for (let i = 0; i < args.length; i++) {
  const a = args[i];
  if (a === "--update") update = true;
  else if (a === "--out") outDir = resolve(args[++i] ?? "");
  else if (a.startsWith("--")) {
    console.error(`run-notebooks: unknown option ${a}`);
    process.exit(2);
  } else notebooks.push(resolve(a));
}

let passed = 0;
let failed = 0;
function finish() {
  console.log(`${passed} passed, ${failed} failed`);
  process.exit(failed > 0 ? 1 : 0);
}
function failAll(message) {
  console.error(`run-notebooks: ${message}`);
  failed += Math.max(1, notebooks.length);
  finish();
}

if (notebooks.length === 0) finish();

const installer = join(root, "dist", "kernel", "install.js");
if (!existsSync(installer)) failAll(`${installer} is missing: build first (npm run build)`);
const { installKernel } = await import(installer);
const jupyterPath = join(root, ".jupyter");
try {
  installKernel({ dataDir: jupyterPath });
} catch (e) {
  failAll(`cannot install the realm kernelspec: ${e instanceof Error ? e.message : String(e)}`);
}

const python = process.env.REALM_PYTHON ?? "/usr/bin/python3";
const probe = spawnSync(python, ["-c", "import nbclient, nbformat"], { encoding: "utf8" });
if (probe.status !== 0) {
  failAll(`${python} cannot import nbclient (install Debian's python3-nbclient: apt-get install -y --no-install-recommends python3-nbclient)`);
}

const env = {
  ...process.env,
  JUPYTER_PATH: [jupyterPath, process.env.JUPYTER_PATH].filter((x) => x).join(":"),
  PYDEVD_DISABLE_FILE_VALIDATION: "1",
  // The kernels' input history goes with the run's outputs, not into the user's history.
  REALM_KERNEL_HISTORY: join(outDir, "kernel_history.jsonl"),
};
const run = spawnSync(python, [join(root, "scripts", "run_notebooks.py"), "--out", outDir, ...notebooks], {
  env,
  encoding: "utf8",
  stdio: ["ignore", "pipe", "inherit"],
  maxBuffer: 1 << 30,
});
const results = new Map();
for (const line of (run.stdout ?? "").split("\n")) {
  if (!line.startsWith("{")) continue;
  try {
    const r = JSON.parse(line);
    results.set(resolve(r.notebook), r);
  } catch {
    // not ours
  }
}

const { compareNotebooks } = await import(join(root, "dist", "kernel", "notebook-outputs.js"));

function indent(text, prefix = "    ") {
  return String(text)
    .split("\n")
    .map((l) => prefix + l)
    .join("\n");
}

for (const nb of notebooks) {
  const r = results.get(nb);
  const name = nb.startsWith(root + "/") ? nb.slice(root.length + 1) : nb;
  if (r === undefined) {
    failed++;
    console.log(`FAILED ${name}: the runner gave no result (exit ${run.status}${run.error ? ", " + run.error.message : ""})`);
    continue;
  }
  const problems = [];
  for (const f of r.failures) {
    let text = `cell ${f.cell ?? "?"}: ${f.kind}`;
    if (f.kind === "error") text += `: ${f.ename}: ${f.evalue}`;
    else if (f.message) text += `: ${f.message}`;
    if (f.source !== undefined) text += `\n  source:\n${indent(f.source)}`;
    if (f.traceback?.length) text += `\n  traceback:\n${indent(f.traceback.join("\n").replace(/\u001b\[[0-9;]*m/g, ""))}`;
    problems.push(text);
  }
  if (r.ok) {
    if (update) {
      copyFileSync(r.executed, nb);
    } else {
      const stored = JSON.parse(readFileSync(nb, "utf8"));
      const executed = JSON.parse(readFileSync(r.executed, "utf8"));
      for (const d of await compareNotebooks(stored, executed)) {
        problems.push(`cell ${d.cell}: stored output not reproduced: ${d.message}` + (d.source ? `\n  source:\n${indent(d.source)}` : ""));
      }
    }
  }
  if (problems.length === 0) {
    passed++;
    console.log(`ok ${name} (${r.seconds}s)${update ? " [outputs stored]" : ""}`);
  } else {
    failed++;
    console.log(`FAILED ${name} (${r.seconds}s), executed copy in ${join(outDir, basename(nb))}`);
    for (const p of problems) console.log(indent(p, "  "));
  }
}
finish();

/**
 * The Jupyter kernel driven by a real client (Debian's python3 jupyter_client, test/bench/
 * kernel-bench.py): cold start to the first cell result, cell round trips. The built kernel
 * (dist/kernel) is registered in a temporary JUPYTER_PATH and started in a temporary folder.
 */
import { spawnSync } from "node:child_process";
import { existsSync, mkdirSync, mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { installKernel } from "../../kernel/install.js";
import type { Figure } from "./harness.js";

/** The repository root, from dist/test/bench (built) or test/bench (source). */
export function root(): string {
  const here = fileURLToPath(new URL(".", import.meta.url));
  for (const up of ["../../..", "../.."]) {
    const r = resolve(here, up);
    if (existsSync(join(r, "package.json")) && existsSync(join(r, "test", "bench", "kernel-bench.py"))) return r;
  }
  throw new Error("bench: cannot find the repository root");
}

/**
 * Runs one of the bench's jupyter_client scripts (test/bench/*.py) against the built kernel,
 * registered in a temporary JUPYTER_PATH and started in a temporary folder (its history there
 * too). Returns the JSON object the script prints last, or why it could not be measured.
 */
export function runKernelScript<T>(script: string, args: string[]): { ok: true; value: T } | { ok: false; why: string } {
  const python = process.env["REALM_PYTHON"] ?? "/usr/bin/python3";
  const dir = mkdtempSync(join(tmpdir(), "realm-kernel-bench-"));
  try {
    installKernel({ dataDir: join(dir, "jupyter") });
    const cwd = join(dir, "notebooks");
    mkdirSync(cwd);
    const r = spawnSync(python, [join(root(), "test", "bench", script), "realm", cwd, ...args], {
      cwd,
      env: { ...process.env, JUPYTER_PATH: join(dir, "jupyter"), PYDEVD_DISABLE_FILE_VALIDATION: "1", REALM_KERNEL_HISTORY: join(dir, "history.jsonl") },
      encoding: "utf8",
      timeout: 300_000,
    });
    const line = r.stdout.trim().split("\n").pop() ?? "";
    if (r.status !== 0 || !line.startsWith("{")) return { ok: false, why: (r.stderr || r.stdout || String(r.error ?? r.status)).trim().split("\n").slice(-2).join(" | ") };
    return { ok: true, value: JSON.parse(line) as T };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

export function benchKernel(): Figure[] {
  const r = runKernelScript<{
    ready_s: number;
    first_result_s: number;
    first_result: string | null;
    trivial: { median_ms: number; p99_ms: number };
    realm: { median_ms: number; p99_ms: number; result: string | null };
  }>("kernel-bench.py", ["50"]);
  if (!r.ok) return [{ name: "kernel: cold start to first cell result", value: NaN, unit: "s", note: `not measured: ${r.why}` }];
  const k = r.value;
  return [
    { name: "kernel: cold start to first cell result", value: k.first_result_s, unit: "s", target: { value: 4, better: "lower" }, note: `kernel ready after ${k.ready_s.toFixed(2)} s; first result ${JSON.stringify(k.first_result)}` },
    { name: "kernel: cell round trip (1 + 1), median", value: k.trivial.median_ms, unit: "ms", target: { value: 50, better: "lower" }, note: `p99 ${k.trivial.p99_ms.toFixed(1)} ms, 50 cells` },
    { name: "kernel: cell round trip (%realm acct), median", value: k.realm.median_ms, unit: "ms", target: { value: 50, better: "lower" }, note: `p99 ${k.realm.p99_ms.toFixed(1)} ms, 50 cells` },
  ];
}

/**
 * The kernel's targets of issue 12 through a real client (Debian's python3 jupyter_client,
 * test/bench/kernel-introspect-bench.py): cold start to the first result (< 2 s) and
 * complete_request / inspect_request replies (< 50 ms), after a cell that made a realm.
 */
import { spawnSync } from "node:child_process";
import { mkdirSync, mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { installKernel } from "../../kernel/install.js";
import type { Figure } from "./harness.js";
import { root } from "./kernel.bench.js";

export function benchKernelIntrospect(): Figure[] {
  const python = process.env["REALM_PYTHON"] ?? "/usr/bin/python3";
  const dir = mkdtempSync(join(tmpdir(), "realm-kernel-introspect-"));
  try {
    installKernel({ dataDir: join(dir, "jupyter") });
    const cwd = join(dir, "notebooks");
    mkdirSync(cwd);
    const r = spawnSync(python, [join(root(), "test", "bench", "kernel-introspect-bench.py"), "realm", cwd, "30"], {
      cwd,
      env: { ...process.env, JUPYTER_PATH: join(dir, "jupyter"), PYDEVD_DISABLE_FILE_VALIDATION: "1", REALM_KERNEL_HISTORY: join(dir, "history.jsonl") },
      encoding: "utf8",
      timeout: 300_000,
    });
    const line = r.stdout.trim().split("\n").pop() ?? "";
    if (r.status !== 0 || !line.startsWith("{")) {
      const why = (r.stderr || r.stdout || String(r.error ?? r.status)).trim().split("\n").slice(-2).join(" | ");
      return [{ name: "kernel: cold start to first result", value: NaN, unit: "s", note: `not measured: ${why}` }];
    }
    const k = JSON.parse(line) as {
      first_result_s: number;
      setup_status: string;
      complete: { median_ms: number; p99_ms: number; matches: string[] };
      inspect: { median_ms: number; p99_ms: number; found: boolean };
    };
    return [
      { name: "kernel: cold start to first result", value: k.first_result_s, unit: "s", target: { value: 2, better: "lower" }, note: "process spawn to the reply of `1 + 1`" },
      { name: "kernel: complete_request reply, median", value: k.complete.median_ms, unit: "ms", target: { value: 50, better: "lower" }, note: `p99 ${k.complete.p99_ms.toFixed(1)} ms, 30 requests of \`vm.tou\` (${k.complete.matches.join(", ")}); setup ${k.setup_status}` },
      { name: "kernel: inspect_request (signature help), median", value: k.inspect.median_ms, unit: "ms", target: { value: 50, better: "lower" }, note: `p99 ${k.inspect.p99_ms.toFixed(1)} ms, 30 requests inside \`vm.touch(0x8000_0000n, {\`; found ${k.inspect.found}` },
    ];
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

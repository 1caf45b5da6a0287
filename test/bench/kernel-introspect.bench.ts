/**
 * The kernel's targets of issue 12 through a real client (Debian's python3 jupyter_client,
 * test/bench/kernel-introspect-bench.py): cold start to the first result (< 2 s) and
 * complete_request / inspect_request replies (< 50 ms), after a cell that made a realm.
 */
import type { Figure } from "./harness.js";
import { runKernelScript } from "./kernel.bench.js";

export function benchKernelIntrospect(): Figure[] {
  const r = runKernelScript<{
    first_result_s: number;
    setup_status: string;
    complete: { median_ms: number; p99_ms: number; matches: string[] };
    inspect: { median_ms: number; p99_ms: number; found: boolean };
  }>("kernel-introspect-bench.py", ["30"]);
  if (!r.ok) return [{ name: "kernel: cold start to first result", value: NaN, unit: "s", note: `not measured: ${r.why}` }];
  const k = r.value;
  return [
    { name: "kernel: cold start to first result", value: k.first_result_s, unit: "s", target: { value: 2, better: "lower" }, note: "process spawn to the reply of `1 + 1`" },
    { name: "kernel: complete_request reply, median", value: k.complete.median_ms, unit: "ms", target: { value: 50, better: "lower" }, note: `p99 ${k.complete.p99_ms.toFixed(1)} ms, 30 requests of \`vm.tou\` (${k.complete.matches.join(", ")}); setup ${k.setup_status}` },
    { name: "kernel: inspect_request (signature help), median", value: k.inspect.median_ms, unit: "ms", target: { value: 50, better: "lower" }, note: `p99 ${k.inspect.p99_ms.toFixed(1)} ms, 30 requests inside \`vm.touch(0x8000_0000n, {\`; found ${k.inspect.found}` },
  ];
}

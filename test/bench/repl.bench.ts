/**
 * REPL command latency: the realm> command language through the session API (src/commands, what
 * the Ink REPL and the kernel's %realm run), on a v12 realm of 1 GiB with 512 MiB faulted in.
 * `touch IPA` (a fresh page each time: a full fault) and `rtt IPA` (a walk in the faulted half).
 */
import { createSession } from "../../src/index.js";
import { percentile, type Figure } from "./harness.js";

export async function benchRepl(): Promise<Figure[]> {
  const s = createSession({});
  const t0 = performance.now();
  const made = await s.run("new r --series v12 --mem 1G --vcpus 1");
  const newMs = performance.now() - t0;
  if (!made.ok) throw new Error(`bench: new failed: ${made.error}`);
  // Fault the first half in through the same command (it yields to the event loop as it goes).
  const tf = performance.now();
  const pre = await s.run("touch 0x80000000 --count 131072 --read");
  const preMs = performance.now() - tf;
  if (!pre.ok) throw new Error(`bench: touch --count failed: ${pre.error}`);
  const touch: number[] = [];
  const rtt: number[] = [];
  const N = 300;
  for (let i = 0; i < N; i++) {
    const ipa = 0xa000_0000 + i * 4096; // second half: not yet mapped
    let t = performance.now();
    const r = await s.run(`touch 0x${ipa.toString(16)}`);
    touch.push(performance.now() - t);
    if (!r.ok) throw new Error(`bench: touch: ${r.error}`);
    const w = 0x8000_0000 + ((i * 7919) % 131072) * 4096;
    t = performance.now();
    const q = await s.run(`rtt 0x${w.toString(16)}`);
    rtt.push(performance.now() - t);
    if (!q.ok) throw new Error(`bench: rtt: ${q.error}`);
  }
  let t = performance.now();
  const tree = await s.run("rtt --depth 1");
  const treeMs = performance.now() - t;
  const target = { value: 16, better: "lower" as const };
  return [
    { name: "REPL: touch IPA (1 GiB realm), median", value: percentile(touch, 50), unit: "ms", target, note: `p99 ${percentile(touch, 99).toFixed(2)} ms, ${N} commands` },
    { name: "REPL: touch IPA (1 GiB realm), p99", value: percentile(touch, 99), unit: "ms", target },
    { name: "REPL: rtt IPA (1 GiB realm), median", value: percentile(rtt, 50), unit: "ms", target, note: `p99 ${percentile(rtt, 99).toFixed(2)} ms, ${N} commands` },
    { name: "REPL: rtt IPA (1 GiB realm), p99", value: percentile(rtt, 99), unit: "ms", target },
    { name: "REPL: rtt --depth 1 (tree, 512 MiB mapped)", value: treeMs, unit: "ms", target, note: tree.ok ? "" : `failed: ${tree.error}` },
    { name: "REPL: new r --mem 1G (create + start)", value: newMs, unit: "ms" },
    { name: "REPL: touch --count 131072 --read (512 MiB)", value: preMs / 1000, unit: "s", note: `${(131072 / (preMs / 1000) / 1000).toFixed(1)}k faults/s through the command` },
  ];
}

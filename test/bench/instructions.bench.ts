/**
 * Instructions per private fault, counted by callgrind (machine-independent, unlike faults/s on a
 * shared machine): `npm run bench -- --instructions`.
 *
 * Method: instructions-child.ts runs twice under `valgrind --tool=callgrind`, with the same set-up
 * (a lean realm: trace, RMM call log and time series off; `WARM` faults first, so that the fault
 * path runs optimized code; then a full GC) and then `FAULTS` more faults or none, and a full GC.
 * Instructions per fault = (Ir of the run with FAULTS faults - Ir of the run with none) / FAULTS:
 * node's start-up, the realm's creation and the warm-up (where V8 compiles) cancel out; what is
 * left is the steady state with its minor GCs (scavenges), and the final full GC's extra work for
 * what the faults left live. The full GCs around the measured faults keep a major GC that one run
 * happens to trigger elsewhere (start-up, exit) out of the difference: without them, the same build
 * measured 68k-81k. Node runs with `--single-threaded` (V8 compiles and collects on the main thread,
 * at points that depend only on the program) and with its optimizing compilers on (the code measured
 * is the code that runs).
 */
import { spawnSync } from "node:child_process";
import { copyFileSync, existsSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import type { Figure } from "./harness.js";

export const WARM = 8192;
export const FAULTS = 16384;
export const NODE_FLAGS = ["--single-threaded", "--expose-gc"];

export interface InstructionsResult {
  series: string;
  perFault: number;
  irZero: number;
  irFaults: number;
  error?: string;
}

function which(cmd: string): boolean {
  return spawnSync("sh", ["-c", `command -v ${cmd}`]).status === 0;
}

/** Ir (instructions) of one callgrind run of `child` with `faults` faults after the warm-up. */
function callgrindIr(child: string, series: string, faults: number): number {
  // CCA_BENCH_CALLGRIND_DIR: keep the callgrind files there (for callgrind_annotate) instead of deleting them
  const keep = process.env["CCA_BENCH_CALLGRIND_DIR"];
  const out = join(keep ?? tmpdir(), `cca-bench-callgrind-${process.pid}-${series}-${faults}.out`);
  const opts = JSON.stringify({ series, warm: WARM, faults, pages: WARM + FAULTS });
  const r = spawnSync("valgrind", ["--tool=callgrind", `--callgrind-out-file=${out}`, process.execPath, ...NODE_FLAGS, child, opts], {
    encoding: "utf8",
    maxBuffer: 1 << 24,
  });
  try {
    if (r.status !== 0 || !existsSync(out)) throw new Error((r.stderr || `exit ${r.status}`).trim().split("\n").slice(-3).join(" | "));
    // "summary: <Ir>" (or "totals:") in the callgrind output file
    const m = /^(?:summary|totals):\s+(\d+)/m.exec(readFileSync(out, "utf8"));
    if (m === null) throw new Error(`no summary line in ${out}`);
    return Number(m[1]);
  } finally {
    if (keep === undefined) rmSync(out, { force: true });
  }
}

/**
 * Instructions per fault for one posting, with `child` (default this build's instructions-child.js;
 * a copy of it in another build's dist/test/bench measures that build).
 */
export function instructionsPerFault(series: string, child = fileURLToPath(new URL("./instructions-child.js", import.meta.url))): InstructionsResult {
  try {
    const irZero = callgrindIr(child, series, 0);
    const irFaults = callgrindIr(child, series, FAULTS);
    return { series, perFault: (irFaults - irZero) / FAULTS, irZero, irFaults };
  } catch (e) {
    return { series, perFault: NaN, irZero: NaN, irFaults: NaN, error: e instanceof Error ? e.message : String(e) };
  }
}

const fmtK = (v: number) => `${(v / 1000).toFixed(1)}k`;

/**
 * The figures: v12 (the target's posting) and v14; with `baselineChild`, the same count for the
 * baseline build's code (this child file run against that build's modules) and the ratio.
 */
export function benchInstructions(opts: { baseline?: { name: string; dir: string } | undefined } = {}): Figure[] {
  if (!which("valgrind")) return [{ name: "instructions per private fault", value: NaN, unit: "", note: "not measured: valgrind is not installed" }];
  const figs: Figure[] = [];
  let baselineChild: string | undefined;
  if (opts.baseline !== undefined) {
    // this child, run against the baseline build's modules (it imports ../../src/index.js)
    baselineChild = join(opts.baseline.dir, "dist", "test", "bench", "instructions-child.js");
    copyFileSync(fileURLToPath(new URL("./instructions-child.js", import.meta.url)), baselineChild);
  }
  for (const series of ["v12", "v14"]) {
    const r = instructionsPerFault(series);
    const name = `${series} instructions per private fault (callgrind, trace/series off)`;
    if (r.error !== undefined) {
      figs.push({ name, value: NaN, unit: "", note: `not measured: ${r.error}` });
      continue;
    }
    let note = `(${r.irFaults} - ${r.irZero}) Ir / ${FAULTS} faults after ${WARM} warm-up faults`;
    if (baselineChild !== undefined) {
      const b = instructionsPerFault(series, baselineChild);
      note = b.error !== undefined ? `${note}; baseline not measured: ${b.error}` : `${note}; baseline ${opts.baseline!.name}: ${fmtK(b.perFault)} (this build ${((r.perFault / b.perFault) * 100).toFixed(0)}% of it)`;
    }
    figs.push({ name, value: r.perFault, unit: "Ir", ...(series === "v12" ? { target: { value: 60_000, better: "lower" as const } } : {}), note });
  }
  return figs;
}

/**
 * `npm run bench`: the figures of issue 7, printed as a table with the machine described, and
 * written to bench-results.json. Benchmarks are not tests: nothing here fails on speed.
 *
 *   npm run bench                 every section
 *   npm run bench -- rmi fault    only these sections (rmi, fault, scenarios, kernel, repl, reliability, explore)
 *   npm run bench -- --no-16g     skip the 16 GiB fault-in
 *   npm run bench -- --instructions              instructions per private fault (callgrind), v12 and v14
 *   npm run bench -- fault --baseline <commit>   1 GiB fault-ins alternating with the build of <commit>
 *                                                (default b221e53, the previous main; --no-baseline: none)
 *   npm run bench -- --instructions --baseline <commit>   the count for <commit>'s code too
 */
import { existsSync, readFileSync, writeFileSync } from "node:fs";
import { loadavg } from "node:os";
import { machine, table, verdict, type Figure } from "./harness.js";
import { benchFault } from "./fault.bench.js";
import { benchKernel } from "./kernel.bench.js";
import { benchKernelIntrospect } from "./kernel-introspect.bench.js";
import { benchRepl } from "./repl.bench.js";
import { benchReliability } from "./reliability.bench.js";
import { benchRmi } from "./rmi.bench.js";
import { benchScenarios } from "./scenarios.bench.js";
import { benchExplore } from "./explore.bench.js";
import { benchInstructions } from "./instructions.bench.js";
import { buildBaseline, DEFAULT_BASELINE, type Baseline } from "./baseline.js";

const args = process.argv.slice(2);
const big = !args.includes("--no-16g");
const bi = args.indexOf("--baseline");
if (bi >= 0 && (args[bi + 1] === undefined || args[bi + 1]!.startsWith("--"))) throw new Error("bench: --baseline needs a commit");
const baselineName = args.includes("--no-baseline") ? undefined : bi >= 0 ? args[bi + 1]! : DEFAULT_BASELINE;
const only = args.filter((a, i) => !a.startsWith("--") && !(bi >= 0 && i === bi + 1));
// --instructions: the callgrind count (slow: about a minute per run under valgrind), alone or with the sections named
if (args.includes("--instructions")) only.push("instructions");
/** The baseline build, made on first use (only the fault section, and the instructions with an explicit --baseline, use it). */
let baseline: Baseline | undefined;
let baselineTried = false;
const getBaseline = (): Baseline | undefined => {
  if (baselineName !== undefined && !baselineTried) {
    baselineTried = true;
    console.log(`building the baseline ${baselineName} (git archive + tsc under the temp directory)...`);
    try {
      baseline = buildBaseline(baselineName);
    } catch (e) {
      // not a git checkout, or no such commit: the sections run without the side-by-side figures
      console.log(`no baseline: ${e instanceof Error ? e.message.split("\n")[0] : String(e)}`);
    }
  }
  return baseline;
};

const sections: [string, string, () => Figure[] | Promise<Figure[]>][] = [
  ["rmi", "raw RMI", benchRmi],
  ["fault", "fault-in through the Host API", () => benchFault({ big, baseline: getBaseline() })],
  ["scenarios", "scenario catalogue", benchScenarios],
  ["kernel", "Jupyter kernel (python3 jupyter_client)", benchKernel],
  ["kernel-introspect", "Jupyter kernel: cold start, complete, inspect (issue 12)", benchKernelIntrospect],
  ["repl", "REPL command latency (session API)", benchRepl],
  ["reliability", "bounded and big input (issue 11)", benchReliability],
  ["explore", "error-path campaigns (issue 13)", benchExplore],
  ["instructions", "instructions per private fault (callgrind)", () => benchInstructions(bi >= 0 ? { baseline: getBaseline() } : {})],
];

const m = machine();
console.log(`machine: ${m.cpu}, ${m.cores} cores, ${m.memoryGiB} GiB, ${m.os}, node ${m.node}, load average ${m.load1}`);
const all: (Figure & { section: string; verdict: string })[] = [];
for (const [key, name, fn] of sections) {
  if (only.length > 0 ? !only.includes(key) : key === "instructions") continue;
  const t0 = performance.now();
  let figs: Figure[];
  try {
    figs = await fn();
  } catch (e) {
    figs = [{ name, value: NaN, unit: "", note: `section failed: ${e instanceof Error ? e.message : String(e)}` }];
  }
  console.log(`\n== ${name} (${((performance.now() - t0) / 1000).toFixed(1)} s)\n${table(figs)}`);
  for (const f of figs) all.push({ ...f, section: name, verdict: verdict(f) });
}
// A run of some sections keeps the other sections' last figures.
let kept: typeof all = [];
if (only.length > 0 && existsSync("bench-results.json")) {
  try {
    const prev = JSON.parse(readFileSync("bench-results.json", "utf8")) as { figures?: typeof all };
    const rerun = new Set(all.map((f) => f.section));
    kept = (prev.figures ?? []).filter((f) => !rerun.has(f.section));
  } catch {
    kept = [];
  }
}
const order = sections.map((s) => s[1]);
const figures = [...kept, ...all].sort((a, b) => order.indexOf(a.section) - order.indexOf(b.section));
const loadEnd = Math.round(loadavg()[0]! * 10) / 10;
console.log(`\nload average at the end: ${loadEnd} (${m.cores} cores)`);
writeFileSync("bench-results.json", JSON.stringify({ date: new Date().toISOString(), machine: { ...m, load1End: loadEnd }, figures }, null, 2) + "\n");
console.log("\nwritten: bench-results.json");

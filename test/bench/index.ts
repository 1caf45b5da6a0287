/**
 * `npm run bench`: the figures of issue 7, printed as a table with the machine described, and
 * written to bench-results.json. Benchmarks are not tests: nothing here fails on speed.
 */
import { writeFileSync } from "node:fs";
import { machine, table, verdict, type Figure } from "./harness.js";
import { benchRmi } from "./rmi.bench.js";

const sections: [string, () => Figure[] | Promise<Figure[]>][] = [["raw RMI", benchRmi]];

const m = machine();
console.log(`machine: ${m.cpu}, ${m.cores} cores, ${m.memoryGiB} GiB, ${m.os}, node ${m.node}`);
const all: (Figure & { section: string; verdict: string })[] = [];
for (const [name, fn] of sections) {
  const figs = await fn();
  console.log(`\n== ${name}\n${table(figs)}`);
  for (const f of figs) all.push({ ...f, section: name, verdict: verdict(f) });
}
writeFileSync("bench-results.json", JSON.stringify({ date: new Date().toISOString(), machine: m, figures: all }, null, 2) + "\n");
console.log("\nwritten: bench-results.json");

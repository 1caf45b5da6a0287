/**
 * Child of the instruction-count benchmark (instructions.bench.ts), run under callgrind: one lean
 * realm (trace, RMM call log and time series off), `warm` private faults to bring the fault path to
 * its optimized steady state, a full GC, `faults` more, a full GC. Options as JSON in argv[2]. Both
 * runs the bench compares make the same realm and the same warm-up; only `faults` differs.
 */
import { Host } from "../../src/index.js";

interface Opts {
  series: string;
  warm: number;
  faults: number;
  /** Pages of private RAM in the realm (the same for both runs, >= warm + faults). */
  pages: number;
}

const o = JSON.parse(process.argv[2] ?? "{}") as Opts;
const host = Host.create({
  series: o.series as "v12",
  seed: 1,
  invariants: false,
  trace: false,
  memoryMap: [{ kind: "dram", base: 0x8000_0000n, size: 2n << 30n }],
});
host.timeSeries.enabled = false;
host.platform.rmm.trace.enabled = false;
const vm = host.createRealm({ ipaBits: 40, memory: BigInt(o.pages * 4096), vcpus: 1 });
if (!vm.start().ok) throw new Error(`instructions: ${o.series} realm did not start`);
const base = vm.ramBase;
const touch = (i: number) => {
  const r = vm.touch(BigInt(base + i * 4096), { access: "read" });
  if (r.outcome !== "ok") throw new Error(`instructions: touch #${i}: ${r.outcome}`);
};
const gc = (globalThis as { gc?: () => void }).gc;
if (gc === undefined) throw new Error("instructions: run node with --expose-gc");
for (let i = 0; i < o.warm; i++) touch(i);
// a full collection before and after the measured faults, in both runs: each run enters and
// leaves them with the same heap state, so a major GC that one run happens to trigger elsewhere
// (at start-up, at exit) does not land in the difference
gc();
for (let i = o.warm; i < o.warm + o.faults; i++) touch(i);
gc();
process.stdout.write(JSON.stringify({ rmiCalls: host.rmiCalls, data: host.granules().DATA }) + "\n");

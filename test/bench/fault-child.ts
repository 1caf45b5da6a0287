/** Child process of the fault-in benchmark: one run (options as JSON in argv[2]), result as one JSON line. */
import { faultRun, type FaultRunOptions } from "./fault.bench.js";

const o = JSON.parse(process.argv[2] ?? "{}") as FaultRunOptions;
process.stdout.write(JSON.stringify(faultRun(o)) + "\n");

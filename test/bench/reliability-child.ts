/** Child process of the issue 11 heap figure: one run (touches in argv[2]), result as one JSON line. */
import { heapRun } from "./reliability.bench.js";

process.stdout.write(JSON.stringify(heapRun(Number(process.argv[2] ?? "1000000"))) + "\n");

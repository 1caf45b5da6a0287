/**
 * A command script as an error-path campaign's workload (issue 13: "any command script or
 * function of a Host"). The front end compiles the script into host steps, one per command line,
 * and hands them to src/explore (which knows nothing of the command language: layers point one
 * way). Each step runs its line on a batch Session; when the explorer hands a step another host
 * (restored from the snapshot before that step, or created afresh), the session adopts it and
 * finds its realms again by VM index, as they were at that step in the run without failures.
 *
 * Bad input is refused before anything runs: a line that does not parse, a command that cannot be
 * a campaign step (explore, inject, faults, save, exit, seed, scenario), `new --series` (the
 * campaign chooses the posting). A script whose own commands fail without any injected failure
 * (e.g. `touch` before `new`) is refused when the campaign records it, before anything is written.
 */
import { basename } from "node:path";
import { customWorkload, type StepReport, type Workload, type WorkloadModule, type WorkloadStep } from "../explore/index.js";
import type { Host } from "../host/host.js";
import type { BatchSession, RealmState, RunResult } from "./context.js";
import { scriptForm } from "./lexer.js";
import { parseLine } from "./parser.js";
import { scriptLines } from "./script.js";
import type { CommandSpec } from "./spec.js";

/** Commands a campaign script may not use, and why. */
const REFUSED: ReadonlyMap<string, string> = new Map([
  ["explore", "a campaign does not run campaigns"],
  ["inject", "the campaign injects the failures"],
  ["faults", "the campaign injects the failures"],
  ["scenario", "a scenario runs its own hosts"],
  ["seed", "the campaign's seed applies"],
  ["save", "a campaign writes no files"],
  ["exit", "a script step cannot end the campaign"],
]);

const NO_REALMS: RealmState = { current: null, realms: [] };

/** The workload name of a script file: its base name. */
export function scriptName(file: string): string {
  return basename(file);
}

/**
 * The campaign workload of a script (`realm explore FILE.realm`, the REPL's `explore FILE`, the
 * API: src/commands/explore-worker.ts scriptWorkloadOf). `commands`: the command set the lines
 * are parsed with; `session()`: a new batch session running them. Throws a RangeError naming the
 * line for bad input.
 */
export function scriptWorkload(text: string, name: string, commands: readonly CommandSpec<never>[], session: () => BatchSession): Workload {
  if (typeof text !== "string") throw new TypeError("explore: a script is a string of command lines");
  const lines = scriptLines(text);
  if (lines.length === 0) throw new RangeError(`explore: script ${name} has no command`);
  for (const { lineNo, line } of lines) {
    const p = parseLine(commands as readonly CommandSpec<unknown>[], line);
    if (!p.ok) throw new RangeError(`explore: script ${name} line ${lineNo}: ${p.error}`);
    if (p.empty) continue;
    const top = p.path.split(" ")[0]!;
    const why = REFUSED.get(top);
    if (why !== undefined) throw new RangeError(`explore: script ${name} line ${lineNo}: '${top}' cannot be a campaign step (${why})`);
    if (top === "new" && p.args.has("series")) throw new RangeError(`explore: script ${name} line ${lineNo}: 'new --series' cannot be a campaign step (the campaign's --series chooses the posting)`);
  }
  const s = session();
  s.batch = true;
  let current: Host | undefined;
  // the realm table at the start of each step in the run without failures, per posting
  const states = new Map<string, RealmState>();
  const steps: WorkloadStep[] = lines.map(({ lineNo, line }, i) => ({
    label: `${lineNo}: ${scriptForm(line)}`,
    async run(host: Host): Promise<StepReport> {
      const key = `${host.series}:${i}`;
      if (host !== current) {
        s.adopt(host, i === 0 ? NO_REALMS : states.get(key) ?? NO_REALMS);
        current = host;
      }
      // the first run of a step is the recording's (the explorer records a posting before its points)
      if (!states.has(key)) states.set(key, s.realmState());
      return report(await s.run(line));
    },
  }));
  // the campaign records the script as it is (a worker thread rebuilds the same steps, line numbers included)
  return customWorkload(name, steps, text);
}

/**
 * The module worker threads rebuild a script workload with (ExploreOptions.workloadModule):
 * src/commands/explore-worker.ts, named by URL so that nothing here imports the session.
 */
export const SCRIPT_WORKLOAD_MODULE: WorkloadModule = {
  url: new URL(import.meta.url.endsWith(".ts") ? "./explore-worker.ts" : "./explore-worker.js", import.meta.url).href,
  name: "workloadFromSpec",
};

interface Row {
  outcome?: unknown;
  errno?: unknown;
}

/** What a command's result says to the explorer: its outcome, the first errno, the failure. */
function report(r: RunResult): StepReport {
  const v = r.value;
  const rows: Row[] = v !== null && typeof v === "object" ? (Array.isArray((v as { results?: unknown }).results) ? ((v as { results: Row[] }).results) : [v as Row]) : [];
  const out: StepReport = { outcome: r.ok ? "ok" : "error" };
  if (rows.some((x) => x.outcome === "hang")) out.outcome = "hang";
  else if (rows.some((x) => x.outcome === "livelock")) out.outcome = "livelock";
  const errno = rows.find((x) => typeof x.errno === "string")?.errno as string | undefined ?? /(-E[A-Z0-9]+)\b/.exec(r.error ?? "")?.[1];
  if (errno !== undefined) out.errno = errno;
  if (!r.ok) out.failed = r.error ?? `${r.command} failed`;
  return out;
}

/**
 * Script workloads with a session of the built-in commands: for the API and for worker threads
 * (src/commands/explore-script.ts SCRIPT_WORKLOAD_MODULE names this module), which rebuild the
 * workload from the campaign's spec (its source is the script's command lines).
 */
import type { CampaignSpec, Workload } from "../explore/index.js";
import { BUILTIN_COMMANDS } from "./builtin/index.js";
import { scriptWorkload } from "./explore-script.js";
import { Session } from "./session.js";

/** The workload of a script run with the built-in commands (`explore(input, {workload: scriptWorkloadOf(text, name)})`). */
export function scriptWorkloadOf(text: string, name = "script", seed = 1): Workload {
  return scriptWorkload(text, name, BUILTIN_COMMANDS, () => new Session({ seed }));
}

/** A worker thread's copy of a campaign's script workload. */
export function workloadFromSpec(spec: CampaignSpec): Workload {
  if (spec.source === undefined) throw new RangeError(`explore: campaign ${spec.workload} has no script source`);
  return scriptWorkloadOf(spec.source, spec.workload, spec.seed);
}

/**
 * `explore WORKLOAD|FILE [--series all|vN] [--kinds rmi,alloc,undelegate] [--commands CMD,...]`:
 * an error-path campaign (src/explore) over a built-in workload or a command script, with live
 * progress; Ctrl-C stops it and keeps the partial result.
 */
import { readFileSync } from "node:fs";
import { explore, WORKLOAD_NAMES, type CampaignInput, type ExploreOptions, type ExploreResult } from "../../explore/index.js";
import { formatSummary } from "../../explore/render.js";
import type { CommandContext } from "../context.js";
import { scriptName, scriptWorkload } from "../explore-script.js";
import { UsageError, type CommandSpec } from "../spec.js";

export const exploreCommand: CommandSpec<CommandContext> = {
  name: "explore",
  summary: "error-path campaign: inject every failure a workload can meet, one at a time, on each posting",
  args: [{ name: "workload", kind: "string", help: `${WORKLOAD_NAMES.join(", ")}, or a script FILE (its commands are the steps)` }],
  options: [
    { name: "series", kind: "string", meta: "vN|all", help: "posting(s), comma-separated, or all (default all)" },
    { name: "kinds", kind: "string", meta: "K,...", help: "failure kinds: rmi, alloc, undelegate (default all)" },
    { name: "commands", kind: "string", meta: "CMD,...", help: "only these RMI commands get rmi failures (default all)" },
    { name: "memory", kind: "size", help: "guest RAM of the workload's realm (default 64M)" },
  ],
  readOnly: true,
  interruptible: true,
  examples: ["explore boot --series v14 --kinds alloc", "explore lifecycle --series v13,v14 --kinds rmi --commands REALM_DESTROY", "explore touch.realm --series v14 --kinds rmi"],
  async run(s, a) {
    const input: CampaignInput = { workload: a.str("workload")!, series: a.str("series") ?? "all", seed: s.seed };
    const opts: ExploreOptions = {};
    if (!(WORKLOAD_NAMES as readonly string[]).includes(input.workload)) {
      // a script: its commands, compiled into host steps
      const file = input.workload;
      let text: string;
      try {
        text = readFileSync(s.resolvePath(file), "utf8");
      } catch (e) {
        throw new UsageError(`'${file}' is neither a built-in workload (${WORKLOAD_NAMES.join(", ")}) nor a readable script (${(e as NodeJS.ErrnoException).code ?? (e as Error).message})`);
      }
      input.workload = scriptName(file);
      try {
        opts.workload = scriptWorkload(text, input.workload, s.commands, () => s.batchSession());
      } catch (e) {
        throw new UsageError((e as Error).message.replace(/^explore: /, ""));
      }
    }
    const kinds = a.str("kinds");
    if (kinds !== undefined) input.kinds = kinds.split(",");
    const cmds = a.str("commands");
    if (cmds !== undefined) input.commands = cmds.split(",");
    const mem = a.values.get("memory");
    if (typeof mem === "bigint") input.memory = mem;
    let total = 0;
    let r: ExploreResult;
    try {
      r = await explore(input, {
        ...opts,
        signal: { get aborted() { return s.aborted; } },
        onProgress: (p) => {
          total = p.total;
          if (p.done % 25 === 0 || p.done === p.total) s.onProgress?.({ command: `explore ${input.workload}`, done: p.done, total: p.total });
        },
      });
    } catch (e) {
      if (e instanceof RangeError || e instanceof TypeError) throw new UsageError(e.message.replace(/^explore: /, ""));
      throw e;
    }
    const series = r.header.campaign.series;
    return {
      value: {
        title: formatSummary(r.header, r.summary).split("\n")[0],
        summary: r.summary,
        interrupted: !r.summary.complete,
        columns: ["posting", "points", "clean", "warn", "leak", "livelock", "hang", "invariant", "crash"],
        rows: series.map((x) => {
          const o = r.summary.outcomes[x]!;
          return [x, r.header.postings.find((p) => p.series === x)!.points, o.clean, o.warn, o.leak, o.livelock, o.hang, o.invariant, o.crash];
        }),
        align: ["l", "r", "r", "r", "r", "r", "r", "r", "r"],
        ran: `${r.summary.points} of ${total} point(s)`,
      },
      kind: "table",
    };
  },
};

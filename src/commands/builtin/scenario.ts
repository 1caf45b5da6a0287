/** `scenario list`, `scenario run ID [--series vN|all]`: the S-catalogue, postings side by side. */
import { SERIES_IDS } from "../../kvm/series/index.js";
import * as scenarios from "../../scenarios/index.js";
import type { ComparisonRow } from "../../viz/scenarios.js";
import type { CommandContext } from "../context.js";
import { UsageError, type CommandSpec } from "../spec.js";
import { didYouMean } from "../suggest.js";
import { checkSeries } from "./realm.js";

const listCommand: CommandSpec<CommandContext> = {
  name: "list",
  summary: "the scenario catalogue (S01..S33) and the postings each runs on",
  readOnly: true,
  run() {
    const list = scenarios.list();
    return {
      value: {
        scenarios: list,
        columns: ["id", "postings", "title"],
        rows: list.map((x) => [x.id, x.series.join(" "), x.title]),
      },
      kind: "table",
    };
  },
};

const runCommand: CommandSpec<CommandContext> = {
  name: "run",
  summary: "run one scenario on one posting or on all of them (outcomes come from running the code)",
  args: [{ name: "id", kind: "scenario", help: "scenario id, e.g. S01" }],
  options: [{ name: "series", kind: "string", meta: "vN|all", help: "posting, or all (default: all the scenario runs on)", choices: [...SERIES_IDS, "all"] }],
  readOnly: true,
  interruptible: true,
  examples: ["scenario run S01", "scenario run S10 --series v8"],
  async run(s, a) {
    const list = scenarios.list();
    const idWord = a.str("id")!;
    const info = list.find((x) => x.id.toLowerCase() === idWord.toLowerCase());
    if (info === undefined) throw new UsageError(`unknown scenario '${idWord}'${didYouMean(idWord, list.map((x) => x.id)) || " ('scenario list' shows them)"}`);
    const sw = a.str("series") ?? "all";
    const series = sw === "all" ? info.series : [checkSeries(sw)];
    // A ScenarioResult per posting, or a row saying why the simulator could not run it.
    const results: ComparisonRow[] = [];
    let interrupted = false;
    for (const [i, v] of series.entries()) {
      if (s.aborted) {
        interrupted = true;
        break;
      }
      s.onProgress?.({ command: `scenario ${info.id}`, done: i, total: series.length });
      try {
        results.push(scenarios.run(info.id, { series: v }));
      } catch (e) {
        // A posting the simulator cannot run is one row of the comparison, not the end of it.
        results.push({ id: info.id, series: v, outcome: "exception", notes: [(e as Error).message] });
      }
      await s.yieldNow();
    }
    const broken = results.filter((x) => x.outcome === "exception").map((x) => x.series);
    const rows = results.map((r) => [
      r.series,
      r.outcome,
      cell(r.livelock),
      cell(r.warnCount),
      cell(r.leakedGranules),
      cell(r.pgtablePages),
      cell(r.rmiCalls),
      notes(r.notes),
    ]);
    return {
      value: {
        id: info.id,
        title: `${info.id}: ${info.title}`,
        results,
        interrupted,
        columns: ["posting", "outcome", "livelock", "WARNs", "leaked", "pgtable", "RMI calls", "notes"],
        rows,
        align: ["l", "l", "l", "r", "r", "r", "r", "l"],
      },
      kind: "table",
      ...(broken.length > 0 ? { failed: `the simulator could not run ${info.id} on ${broken.join(", ")}` } : {}),
    };
  },
};

function cell(v: number | boolean | undefined): string | number | null {
  if (v === undefined) return null;
  if (typeof v === "boolean") return v ? "yes" : "no";
  return v;
}

function notes(v: readonly string[] | undefined): string | null {
  if (v === undefined) return null;
  const t = v.join("; ");
  return t.length > 70 ? t.slice(0, 69) + "…" : t;
}

export const scenarioCommand: CommandSpec<CommandContext> = {
  name: "scenario",
  aliases: ["sc"],
  summary: "the scenario catalogue: list, or run one on the postings side by side",
  subcommands: [listCommand, runCommand],
};

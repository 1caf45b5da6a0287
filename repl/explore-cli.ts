/**
 * `realm explore WORKLOAD ...` and `realm explore merge FILE...` (issue 13): error-path campaigns
 * from the shell. The result document goes to --out FILE (or stdout with --json); progress goes to
 * stderr: a bar on a terminal, JSON lines otherwise. Ctrl-C stops and writes the partial result.
 * Bad input is reported before anything is written.
 */
import { closeSync, createReadStream, openSync, renameSync, unlinkSync, writeSync, readFileSync } from "node:fs";
import { createInterface } from "node:readline";
import { explore, mergeShards, parseShard, WORKLOAD_NAMES, type CampaignInput, type ExploreOptions, type Progress, type Shard, type Summary } from "../src/explore/index.js";
import { formatSummary } from "../src/explore/render.js";
import { scriptName, SCRIPT_WORKLOAD_MODULE } from "../src/commands/explore-script.js";
import { scriptWorkloadOf } from "../src/commands/explore-worker.js";

export const EXPLORE_USAGE = `  realm explore WORKLOAD|FILE.realm [--series all|v8,v14] [--kinds rmi,alloc,undelegate] [--commands CMD,...]
                [--seed N] [--memory 64M] [--json] [--out FILE] [--shard i/N] [--workers N]
                                                      error-path campaign (WORKLOAD: ${WORKLOAD_NAMES.join(", ")};
                                                      a script FILE: its commands are the steps)
  realm explore merge FILE... [--out FILE]            join the shard results of one campaign`;

const VALUE = new Set(["series", "kinds", "commands", "seed", "memory", "out", "shard", "workers"]);

interface Args {
  pos: string[];
  values: Map<string, string>;
  json: boolean;
}

function parse(argv: string[]): Args | string {
  const a: Args = { pos: [], values: new Map(), json: false };
  for (let i = 0; i < argv.length; i++) {
    const x = argv[i]!;
    if (x === "--json") a.json = true;
    else if (x.startsWith("--")) {
      const eq = x.indexOf("=");
      const name = eq >= 0 ? x.slice(2, eq) : x.slice(2);
      if (!VALUE.has(name)) return `unknown option '${x.length > 40 ? `${x.slice(0, 32)}...` : x}'`;
      const v = eq >= 0 ? x.slice(eq + 1) : argv[++i];
      if (v === undefined) return `--${name} needs a value`;
      a.values.set(name, v);
    } else a.pos.push(x);
  }
  return a;
}

function parseSize(s: string): bigint {
  const m = /^(\d{1,12})([KMG]?)$/i.exec(s);
  if (m === null) throw new RangeError(`--memory: '${s.slice(0, 40)}' is not a size like 64M`);
  const mul = { "": 1n, K: 1n << 10n, M: 1n << 20n, G: 1n << 30n }[m[2]!.toUpperCase() as "" | "K" | "M" | "G"];
  return BigInt(m[1]!) * mul;
}

/** The campaign input and run options from the arguments; throws on bad input. */
function campaignOf(a: Args): { input: CampaignInput; shard?: Shard; workers: number; script?: Pick<ExploreOptions, "workload" | "workloadModule"> } {
  if (a.pos.length !== 1) throw new RangeError(`expected one WORKLOAD (${WORKLOAD_NAMES.join(", ")}) or script FILE`);
  const input: CampaignInput = { workload: a.pos[0]!, series: a.values.get("series") ?? "all" };
  const kinds = a.values.get("kinds");
  if (kinds !== undefined) input.kinds = kinds.split(",");
  const cmds = a.values.get("commands");
  if (cmds !== undefined) input.commands = cmds.split(",");
  const seed = a.values.get("seed");
  if (seed !== undefined) {
    if (!/^\d{1,10}$/.test(seed)) throw new RangeError(`--seed: '${seed.slice(0, 40)}' is not an integer in [0, 2^32-1]`);
    input.seed = Number(seed);
  }
  const mem = a.values.get("memory");
  if (mem !== undefined) input.memory = parseSize(mem);
  const sh = a.values.get("shard");
  const w = a.values.get("workers") ?? "0";
  if (!/^\d{1,2}$/.test(w)) throw new RangeError(`--workers: '${w.slice(0, 40)}' is not a number of threads`);
  const out: { input: CampaignInput; shard?: Shard; workers: number; script?: Pick<ExploreOptions, "workload" | "workloadModule"> } = { input, workers: Number(w) };
  if (sh !== undefined) out.shard = parseShard(sh);
  if (!(WORKLOAD_NAMES as readonly string[]).includes(input.workload)) {
    // a command script: compiled into host steps by the command language's front end
    const file = input.workload;
    let text: string;
    try {
      text = readFileSync(file, "utf8");
    } catch (e) {
      throw new RangeError(`'${file.slice(0, 80)}' is neither a built-in workload (${WORKLOAD_NAMES.join(", ")}) nor a readable script (${(e as NodeJS.ErrnoException).code ?? (e as Error).message})`);
    }
    input.workload = scriptName(file);
    out.script = { workload: scriptWorkloadOf(text, input.workload, input.seed ?? 1), workloadModule: SCRIPT_WORKLOAD_MODULE };
  }
  return out;
}

/** A file written whole or not at all: chunks go to FILE.partial, renamed at the end. */
class OutFile {
  private fd: number;
  private readonly tmp: string;
  constructor(private readonly path: string) {
    this.tmp = `${path}.partial`;
    this.fd = openSync(this.tmp, "w");
  }
  write = (chunk: string): void => {
    writeSync(this.fd, chunk);
  };
  commit(): void {
    closeSync(this.fd);
    renameSync(this.tmp, this.path);
  }
  discard(): void {
    closeSync(this.fd);
    unlinkSync(this.tmp);
  }
}

function progressReporter(): (p: Progress) => void {
  const tty = process.stderr.isTTY === true;
  let last = 0;
  return (p) => {
    const now = Date.now();
    const end = p.done === p.total;
    if (!end && now - last < (tty ? 100 : 1000)) return;
    last = now;
    if (tty) {
      const w = 30;
      const f = p.total === 0 ? w : Math.round((p.done / p.total) * w);
      const eta = Math.round(p.etaMs / 1000);
      process.stderr.write(`\r[${"#".repeat(f)}${".".repeat(w - f)}] ${p.done}/${p.total}  ${p.rate.toFixed(1)} points/s  ETA ${Math.floor(eta / 60)}:${String(eta % 60).padStart(2, "0")} `);
      if (end) process.stderr.write("\n");
    } else process.stderr.write(`${JSON.stringify({ progress: { done: p.done, total: p.total, rate: Number(p.rate.toFixed(1)), etaMs: Math.round(p.etaMs) } })}\n`);
  };
}

async function runMerge(a: Args): Promise<number> {
  const files = a.pos.slice(1);
  if (files.length === 0) throw new RangeError("explore merge: expected the shard FILEs");
  for (const f of files) readFileSync(f, { flag: "r" }).subarray(0, 0); // readable, or a clear error now
  const srcs = files.map((f) => ({ name: f, lines: () => createInterface({ input: createReadStream(f), crlfDelay: Infinity }) }));
  const outPath = a.values.get("out");
  // to a temporary file first: a shard found truncated half-way leaves nothing behind
  const out = new OutFile(outPath ?? `.realm-explore-merge-${process.pid}.json`);
  let summary: Summary;
  try {
    summary = await mergeShards(srcs, out.write);
  } catch (e) {
    out.discard();
    throw e;
  }
  if (outPath !== undefined) {
    out.commit();
    process.stderr.write(`realm explore merge: ${summary.points} points from ${files.length} shards -> ${outPath}\n`);
  } else {
    const tmp = `.realm-explore-merge-${process.pid}.json`;
    out.commit();
    process.stdout.write(readFileSync(tmp, "utf8"));
    unlinkSync(tmp);
  }
  return 0;
}

export async function exploreMain(argv: string[]): Promise<number> {
  if (argv.length === 1 && (argv[0] === "--help" || argv[0] === "-h")) {
    process.stdout.write(`usage:\n${EXPLORE_USAGE}\n`);
    return 0;
  }
  const a = parse(argv);
  if (typeof a === "string") {
    process.stderr.write(`realm explore: ${a}\nusage:\n${EXPLORE_USAGE}\n`);
    return 2;
  }
  try {
    if (a.pos[0] === "merge") return await runMerge(a);
    const { input, shard, workers, script } = campaignOf(a);
    const outPath = a.values.get("out");
    let out: OutFile | undefined;
    // the file is opened with the header, i.e. once the input is known to be good
    const sink = (c: string): void => {
      if (outPath !== undefined) (out ??= new OutFile(outPath)).write(c);
      else if (a.json) process.stdout.write(c);
    };
    let stop = false;
    const onInt = (): void => {
      if (stop) process.exit(130);
      stop = true;
      process.stderr.write("\nrealm explore: stopping (Ctrl-C again to quit at once); writing the partial result\n");
    };
    process.on("SIGINT", onInt);
    const t0 = Date.now();
    try {
      const opts: ExploreOptions = { workers, signal: { get aborted() { return stop; } }, onProgress: progressReporter(), sink };
      if (shard !== undefined) opts.shard = shard;
      if (script !== undefined) Object.assign(opts, script);
      const r = await explore(input, opts);
      out?.commit();
      const secs = (Date.now() - t0) / 1000;
      const line = `${r.summary.points} points in ${secs.toFixed(1)} s (${(r.summary.points / Math.max(secs, 0.001)).toFixed(1)} points/s)${r.summary.complete ? "" : ", stopped early: partial result"}${outPath !== undefined ? ` -> ${outPath}` : ""}`;
      if (!a.json) process.stdout.write(`${formatSummary(r.header, r.summary)}\n${line}\n`);
      else process.stderr.write(`realm explore: ${line}\n`);
      return r.summary.complete ? 0 : 130;
    } catch (e) {
      out?.discard();
      throw e;
    } finally {
      process.off("SIGINT", onInt);
    }
  } catch (e) {
    process.stderr.write(`realm explore: ${(e instanceof Error ? e.message : String(e)).replace(/^explore:? /, "")}\n`);
    return 2;
  }
}

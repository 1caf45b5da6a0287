#!/usr/bin/env node
/**
 * The `realm` command (package bin):
 *   realm                                   the realm> REPL (plain line mode when stdin is not a TTY)
 *   realm run FILE [--json] [--keep-going]  run a script (FILE "-" reads stdin)
 *   realm kernel install [--name N] [--user | --sys-prefix | --prefix P]   register the Jupyter kernel
 *   realm explore WORKLOAD ... | realm explore merge FILE...                error-path campaigns (repl/explore-cli.ts)
 * Common options: --seed N, --series vN (default posting for `new`).
 */
import { readFileSync } from "node:fs";
import { installKernel } from "../kernel/install.js";
import { clipLongWords, createSession, SEED_MAX, SERIES, type SessionOptions } from "../src/commands/index.js";
import { defaultHistoryPath, History } from "./history.js";
import { runFile, runLines } from "./plain.js";
import { exploreMain, EXPLORE_USAGE } from "./explore-cli.js";

const USAGE = `usage:
  realm [--seed N] [--series vN]                      start the realm> REPL
  realm run FILE [--json] [--keep-going] [--seed N]   run a script (one command per line; FILE - is stdin)
  realm kernel install [--name N] [--user | --sys-prefix | --prefix P]
                                                      register the Jupyter kernel (default: "realm", --user)
${EXPLORE_USAGE}
  realm --help | --version
History: $REALM_HISTORY, else ~/.realm_history.`;

interface Parsed {
  positional: string[];
  flags: Set<string>;
  values: Map<string, string>;
}

const VALUE_OPTS = new Set(["seed", "series", "prefix", "name"]);

function parseArgv(argv: string[]): Parsed | string {
  const p: Parsed = { positional: [], flags: new Set(), values: new Map() };
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i]!;
    if (a.startsWith("--") && a.length > 2) {
      const eq = a.indexOf("=");
      const name = eq >= 0 ? a.slice(2, eq) : a.slice(2);
      if (VALUE_OPTS.has(name)) {
        const v = eq >= 0 ? a.slice(eq + 1) : argv[++i];
        if (v === undefined) return `--${name} needs a value`;
        p.values.set(name, v);
      } else if (["json", "keep-going", "help", "version", "user", "sys-prefix"].includes(name)) p.flags.add(name);
      else return `unknown option '${a}'`;
    } else if (a === "-h") p.flags.add("help");
    else p.positional.push(a);
  }
  return p;
}

function sessionOptions(p: Parsed): SessionOptions | string {
  const o: SessionOptions = {};
  const seed = p.values.get("seed");
  if (seed !== undefined) {
    if (!/^\d+$/.test(seed)) return clipLongWords(`--seed: '${seed}' is not a non-negative integer`);
    if (seed.length > 10 || Number(seed) > SEED_MAX) return clipLongWords(`--seed: ${seed} is out of range: seeds are integers 0..${SEED_MAX} (see 'help seed')`);
    o.seed = Number(seed);
  }
  const series = p.values.get("series");
  if (series !== undefined) {
    if (!(SERIES as readonly string[]).includes(series)) return `--series: '${series}' is not one of ${SERIES.join(", ")}`;
    o.series = series;
  }
  return o;
}

async function version(): Promise<string> {
  const url = new URL("../../package.json", import.meta.url);
  try {
    return (JSON.parse(readFileSync(url, "utf8")) as { version: string }).version;
  } catch {
    return "unknown";
  }
}

async function readStdin(): Promise<string> {
  const chunks: Buffer[] = [];
  for await (const c of process.stdin) chunks.push(c as Buffer);
  return Buffer.concat(chunks).toString("utf8");
}

/** SIGINT stops the running command; a second one within a second exits. */
function interruptible(): () => AbortSignal {
  let controller = new AbortController();
  let last = 0;
  process.on("SIGINT", () => {
    const now = Date.now();
    if (now - last < 1000) process.exit(130);
    last = now;
    controller.abort();
  });
  return () => {
    if (controller.signal.aborted) controller = new AbortController();
    return controller.signal;
  };
}

function kernelInstall(p: Parsed): number {
  const opts: Parameters<typeof installKernel>[0] = {};
  const prefix = p.values.get("prefix");
  if (prefix !== undefined) opts.prefix = prefix;
  const name = p.values.get("name");
  if (name !== undefined) opts.name = name;
  if (p.flags.has("user")) opts.user = true;
  if (p.flags.has("sys-prefix")) opts.sysPrefix = true;
  let r: ReturnType<typeof installKernel>;
  try {
    r = installKernel(opts);
  } catch (e) {
    process.stderr.write(`realm kernel install: ${(e as Error).message}\n`);
    return 1;
  }
  const lines = [`installed the Jupyter kernel "${name ?? "realm"}" (${r.spec.display_name}) in ${r.dir}`];
  if (r.replaced !== undefined) lines.push(`replaced the kernelspec that was there: "${r.replaced.displayName}" (${r.replaced.argv.join(" ")})`);
  lines.push(`check: jupyter kernelspec list   (it lists "${name ?? "realm"}" with that folder)`);
  process.stdout.write(lines.join("\n") + "\n");
  return 0;
}

async function repl(opts: SessionOptions): Promise<number> {
  const session = createSession(opts);
  if (!process.stdin.isTTY) {
    // Piped input: plain line mode (Ink would need raw mode).
    return runLines(session, process.stdin, { stdout: process.stdout, stderr: process.stderr }, interruptible());
  }
  const history = new History(defaultHistoryPath());
  // A person at a terminal is interactive even where CI is set in the environment: Ink (through
  // is-in-ci, read when ink is first imported) would otherwise draw nothing until exit.
  if (process.stdout.isTTY) {
    delete process.env["CI"];
    delete process.env["CONTINUOUS_INTEGRATION"];
  }
  const [{ render }, React, { App }] = await Promise.all([import("ink"), import("react"), import("./app.js")]);
  let code = 0;
  const inst = render(
    React.createElement(App, {
      session,
      history,
      columns: process.stdout.columns ?? 80,
      onExit: (c: number) => {
        code = c;
      },
    }),
    { exitOnCtrlC: false },
  );
  await inst.waitUntilExit();
  return code;
}

export async function main(argv: string[]): Promise<number> {
  if (argv[0] === "explore") return exploreMain(argv.slice(1)); // its own options (repl/explore-cli.ts)
  const p = parseArgv(argv);
  if (typeof p === "string") {
    process.stderr.write(`realm: ${clipLongWords(p)}\n${USAGE}\n`);
    return 2;
  }
  if (p.flags.has("help")) {
    process.stdout.write(USAGE + "\n");
    return 0;
  }
  if (p.flags.has("version")) {
    process.stdout.write(`realm (cca-realm-sim) ${await version()}\n`);
    return 0;
  }
  const so = sessionOptions(p);
  if (typeof so === "string") {
    process.stderr.write(`realm: ${so}\n`);
    return 2;
  }
  const [cmd, ...rest] = p.positional;
  if (cmd === undefined) return repl(so);
  if (cmd === "run") {
    if (rest.length !== 1) {
      process.stderr.write(`realm run: expected one FILE\n${USAGE}\n`);
      return 2;
    }
    const file = rest[0]!;
    let text: string;
    try {
      text = file === "-" ? await readStdin() : readFileSync(file, "utf8");
    } catch (e) {
      process.stderr.write(`realm run: cannot read ${file}: ${(e as Error).message}\n`);
      return 2;
    }
    const session = createSession(so);
    const signal = interruptible();
    return runFile(session, text, { stdout: process.stdout, stderr: process.stderr }, {
      name: file === "-" ? "<stdin>" : file,
      json: p.flags.has("json"),
      keepGoing: p.flags.has("keep-going"),
      signal: signal(),
    });
  }
  if (cmd === "kernel") {
    if (rest[0] !== "install" || rest.length !== 1) {
      process.stderr.write(`realm kernel: expected 'install'\n${USAGE}\n`);
      return 2;
    }
    return kernelInstall(p);
  }
  process.stderr.write(clipLongWords(`realm: unknown command '${cmd}'`) + `\n${USAGE}\n`);
  return 2;
}

// React must load its production build: set before anything imports it.
process.env["NODE_ENV"] ??= "production";
// The reader went away (`realm run FILE --json | head -1`): stop quietly, as a SIGPIPE would.
process.stdout.on("error", (e: NodeJS.ErrnoException) => {
  if (e.code !== "EPIPE") throw e;
  process.exit(141);
});
const code = await main(process.argv.slice(2));
// Flush stdout before leaving (pipes are asynchronous).
process.stdout.write("", () => process.exit(code));

/**
 * A session of the command language: the simulation objects (hosts per posting, realms by name,
 * a bare platform), the one executor every front end uses (`run(line)`), completion and the
 * script of what ran (`save`). Actions get the session as their context; they hold no UI code.
 */
import { readdirSync, statSync } from "node:fs";
import { join, resolve } from "node:path";
import { checkSeed, Host } from "../host/host.js";
import { SERIES_IDS, type SeriesId } from "../kvm/series/index.js";
import type { RealmVm } from "../vmm/vm.js";
import * as scenarios from "../scenarios/index.js";
import { Platform } from "../system/platform.js";
import type { SeriesSample } from "../trace/series.js";
import { BUILTIN_COMMANDS } from "./builtin/index.js";
import type { BatchSession, CommandContext, Progress, RealmEntry, RealmState, RunOptions, RunResult } from "./context.js";
import { realmOperands } from "./builtin/smc.js";
import { lex, scriptForm } from "./lexer.js";
import { commandNames, findCommand, findOption, parseLine, resolveCommand } from "./parser.js";
import { renderText } from "./render/text.js";
import { SWITCH_WORDS, UsageError, type CommandSpec, type Outcome, type ValueKind } from "./spec.js";
import { clipLongWords, toJson } from "./values.js";

export type { Progress, RealmEntry, RealmState, RunOptions, RunResult } from "./context.js";

export interface SessionOptions {
  /** Seed of every host the session creates (default 1). */
  seed?: number;
  /** Posting `new` uses without --series (default v12). */
  series?: string;
  /** RMM ABI of the bare platform used by `smc`/`granule` before any realm exists (default 1.0). */
  rmm?: "1.0" | "2.0";
  /** Directory relative file names resolve against (default process.cwd()). */
  cwd?: string;
}

export interface Completion {
  /** Replace line[start, end) with one of the items. */
  start: number;
  end: number;
  items: string[];
  /** The longest common prefix of items (what Tab inserts at once). */
  common: string;
}

export interface StatusInfo {
  realm: string | null;
  series: string | null;
  abi: string;
  machine: string;
  granules: Record<string, number>;
  realms: number;
  live: boolean;
}

const DEFAULT_SERIES: SeriesId = "v12";

/**
 * A command-language session (the REPL's, `realm run`'s and a notebook's `%realm` lines): its
 * hosts (one per posting), realms by name, the bare platform, and `run(line)` / `complete(...)`.
 */
export class Session implements CommandContext, BatchSession {
  readonly commands: readonly CommandSpec<CommandContext>[];
  readonly realms = new Map<string, RealmEntry>();
  readonly hosts = new Map<SeriesId, Host>();
  current: string | null = null;
  seed: number;
  defaultSeries: SeriesId;
  readonly cwd: string;
  /** Show a live chart while workloads run (front ends read this). */
  liveChart = true;
  /** The lines `save` writes. */
  readonly script: string[] = [];
  private bareAbi: "1.0" | "2.0";
  private barePlatform: Platform | undefined;
  /** Of the command currently running. */
  signal: AbortSignal | undefined;
  onProgress: ((p: Progress) => void) | undefined;
  private running = false;
  /**
   * Commands run as steps of a batch (an error-path campaign's script, src/commands/explore-script.ts):
   * long commands neither yield nor report progress, and lines are not kept for `save`.
   */
  batch = false;

  constructor(opts: SessionOptions = {}, commands: readonly CommandSpec<CommandContext>[] = BUILTIN_COMMANDS) {
    if (opts.seed !== undefined) checkSeed("createSession", opts.seed);
    if (opts.series !== undefined && !(SERIES_IDS as readonly string[]).includes(opts.series)) {
      throw new RangeError(`createSession: series must be one of ${SERIES_IDS.join(", ")}, got ${JSON.stringify(opts.series)}`);
    }
    if (opts.rmm !== undefined && opts.rmm !== "1.0" && opts.rmm !== "2.0") throw new RangeError(`createSession: rmm must be "1.0" or "2.0"`);
    this.commands = commands;
    this.seed = opts.seed ?? 1;
    this.defaultSeries = (opts.series as SeriesId | undefined) ?? DEFAULT_SERIES;
    this.bareAbi = opts.rmm ?? "1.0";
    this.cwd = opts.cwd ?? process.cwd();
  }

  // ---- execution ----------------------------------------------------------------------------

  /** Run one line. Never throws for bad input or RMI failures; the result says what happened. */
  async run(line: string, opts: RunOptions = {}): Promise<RunResult> {
    if (typeof line !== "string") throw new TypeError("session.run: line must be a string");
    if (this.running) throw new Error("session.run: a command is already running (await the previous run)");
    const parsed = parseLine(this.commands, line);
    if (!parsed.ok) return this.failure(parsed.path ?? "", line, parsed.error);
    if (parsed.empty) return { ok: true, command: "", line, value: null, kind: "none", text: "" };
    const { spec, path, args } = parsed;
    this.running = true;
    this.lastYield = performance.now();
    this.signal = opts.signal;
    this.onProgress = opts.onProgress;
    let out: Outcome;
    try {
      out = await spec.run!(this, args);
    } catch (e) {
      const msg = errorText(e);
      return this.failure(path, line, msg.startsWith(`${path}: `) ? msg : `${path}: ${msg}`);
    } finally {
      this.running = false;
      this.signal = undefined;
      this.onProgress = undefined;
    }
    // the line as a script writes it (comment dropped, no accidental continuation): `save` then
    // `realm run` replays exactly
    if (!this.batch && !spec.readOnly && out.replay !== null) this.script.push(out.replay ?? scriptForm(line));
    const kind = out.kind ?? "value";
    const value = toJson(out.value ?? null);
    const res: RunResult = { ok: out.failed === undefined, command: path, line, value, kind, text: renderText(kind, value) };
    if (out.failed !== undefined) res.error = clipLongWords(out.failed);
    if (out.exit) res.exit = true;
    if (out.kind === "interrupted" || (value !== null && typeof value === "object" && (value as { interrupted?: boolean }).interrupted === true)) {
      res.interrupted = true;
    }
    return res;
  }

  private failure(command: string, line: string, message: string): RunResult {
    const error = clipLongWords(message);
    return { ok: false, command, line, value: null, kind: "error", text: error, error };
  }

  /** The running command was asked to stop (Ctrl-C). */
  get aborted(): boolean {
    return this.signal?.aborted === true;
  }

  // ---- simulation objects -------------------------------------------------------------------

  /** The host of a posting (one per posting per session, created on first use). */
  hostFor(series: SeriesId): Host {
    const h = this.hosts.get(series);
    if (h !== undefined) return h;
    const host = Host.create({ series, seed: this.seed });
    this.hosts.set(series, host);
    return host;
  }

  realm(name?: string): RealmEntry {
    const n = name ?? this.current;
    if (n === null || n === undefined) {
      throw new UsageError(this.realms.size === 0 ? "no realm yet: create one with 'new NAME'" : "no realm selected: 'use NAME' (see 'ls')");
    }
    const r = this.realms.get(n);
    if (r === undefined) throw new UsageError(`no realm named '${n}'${this.realmSuggestion(n)}`);
    return r;
  }

  realmSuggestion(n: string): string {
    const names = [...this.realms.keys()];
    const c = names.filter((x) => x.toLowerCase().startsWith(n.toLowerCase().slice(0, 2)));
    return c.length > 0 ? `, did you mean '${c[0]}'?` : names.length > 0 ? ` (realms: ${names.join(", ")})` : "";
  }

  /** The machine commands like `smc` and `granule` talk to: the current realm's host, else a bare platform. */
  machine(): { label: string; platform: Platform; host?: Host } {
    if (this.current !== null) {
      const r = this.realms.get(this.current);
      if (r !== undefined) return { label: r.series, platform: r.host.platform, host: r.host };
    }
    return { label: "bare", platform: this.bare() };
  }

  /** The accounting time series of a machine: its host's per-step samples (none for the bare platform). */
  samplesOf(label: string): readonly SeriesSample[] {
    return this.hosts.get(label as SeriesId)?.timeSeries.samples ?? [];
  }

  /** A host's latest accounting sample (the host records one per step). */
  lastSample(host: Host): SeriesSample | undefined {
    const samples = host.timeSeries.samples;
    return samples[samples.length - 1];
  }

  /** The bare platform (RMM only, no host), created on first use. */
  bare(): Platform {
    this.barePlatform ??= Platform.create({ rmm: this.bareAbi });
    return this.barePlatform;
  }

  /** Give the event loop a turn (keys, Ctrl-C, redraws) during long commands. */
  async yieldNow(): Promise<void> {
    this.lastYield = performance.now();
    await new Promise<void>((r) => setImmediate(r));
  }

  /**
   * Whether a long command should report progress and yield now: every `every` steps, or when
   * 25 ms passed since the last turn (a slow host must not freeze the front end).
   */
  dueForYield(step: number, every = 64): boolean {
    if (this.batch) return false;
    return step > 0 && (step % every === 0 || performance.now() - this.lastYield > 25);
  }
  private lastYield = 0;

  batchSession(): BatchSession {
    const s = new Session({ seed: this.seed, cwd: this.cwd }, this.commands);
    s.batch = true;
    return s;
  }

  /** The realm table as plain data (see adopt). */
  realmState(): RealmState {
    const realms: RealmState["realms"] = [];
    for (const r of this.realms.values()) {
      const index = r.host.vms.indexOf(r.vm);
      if (index < 0) throw new Error(`session: realm ${r.name} is not a VM of its host (simulator bug)`);
      realms.push({ name: r.name, series: r.series, index, ipaBits: r.ipaBits, memory: r.memory, vcpus: r.vcpus });
    }
    return { current: this.current, realms };
  }

  /**
   * Go on with `host` (e.g. a host restored from a snapshot) as the session's only host: it
   * becomes the host of its posting and the default posting, and the realms of `state` (a
   * realmState() taken when the host was in that state) are found in it by VM index. The
   * session's other hosts and realms are dropped.
   */
  adopt(host: Host, state: RealmState): void {
    const vms: RealmVm[] = [];
    for (const r of state.realms) {
      const vm = host.vms[r.index];
      if (r.series !== host.series || vm === undefined) throw new RangeError(`session.adopt: realm ${r.name} (${r.series}, VM ${r.index}) is not in this ${host.series} host`);
      vms.push(vm);
    }
    this.hosts.clear();
    this.hosts.set(host.series, host);
    this.defaultSeries = host.series;
    this.realms.clear();
    state.realms.forEach((r, i) => this.realms.set(r.name, { name: r.name, series: r.series, host, vm: vms[i]!, ipaBits: r.ipaBits, memory: r.memory, vcpus: r.vcpus }));
    this.current = state.current !== null && this.realms.has(state.current) ? state.current : null;
  }

  resolvePath(file: string): string {
    return resolve(this.cwd, file);
  }

  // ---- status and completion ----------------------------------------------------------------

  status(): StatusInfo {
    const r = this.current !== null ? this.realms.get(this.current) : undefined;
    const m = r !== undefined ? { label: r.series, platform: r.host.platform } : this.barePlatform !== undefined ? { label: "bare", platform: this.barePlatform } : undefined;
    return {
      realm: r?.name ?? null,
      series: r?.series ?? null,
      abi: m?.platform.abi ?? this.bareAbi,
      machine: m?.label ?? "bare",
      granules: m !== undefined ? m.platform.granuleCounts() : {},
      realms: this.realms.size,
      live: this.liveChart,
    };
  }

  /** Candidates for a value kind (completion). */
  candidates(kind: ValueKind, prefix: string): string[] {
    switch (kind) {
      case "command":
        return commandNames(this.commands);
      case "realm":
        return [...this.realms.keys()];
      case "series":
        return [...SERIES_IDS];
      case "rmi": {
        const names: string[] = [];
        for (const c of this.machine().platform.rmm.table.values()) names.push(c.name.replace(/^RMI_/, ""));
        return names.sort();
      }
      case "scenario":
        return this.scenarioIds();
      case "status":
        return STATUS_CHOICES;
      case "operand": {
        const r = this.current !== null ? this.realms.get(this.current) : undefined;
        return r !== undefined ? realmOperands(r) : [];
      }
      case "file":
        return fileCandidates(this.cwd, prefix).sort();
      default:
        return [];
    }
  }

  private scenarioIds(): string[] {
    return scenarios.list().map((s) => s.id);
  }

  /** Completion at `cursor` (default: end of line). */
  complete(line: string, cursor = line.length): Completion {
    const before = line.slice(0, cursor);
    const words = lex(before).words;
    const atNew = before.length === 0 || /\s$/.test(before);
    const cur = atNew ? { text: "", start: cursor, end: cursor, quoted: false } : words[words.length - 1]!;
    const prev = atNew ? words : words.slice(0, -1);
    const end = atNew ? cursor : wordEnd(line, cur.start);
    const done = (items: string[]): Completion => {
      const uniq = [...new Set(items.filter((i) => i.length > 1 && i.toLowerCase().startsWith(cur.text.toLowerCase())))];
      return { start: cur.start, end, items: uniq, common: commonPrefix(uniq) };
    };
    if (prev.length === 0) return done(commandNames(this.commands).filter((n) => n !== "?"));
    const r = resolveCommand(this.commands, prev);
    if (!r.ok) {
      const spec = findCommand(this.commands, prev[0]!.text);
      if (spec?.subcommands !== undefined && prev.length === 1) return done(spec.subcommands.map((s) => s.name));
      return done([]);
    }
    const spec = r.spec;
    const rest = prev.slice(r.used);
    // Subcommands right after a command that has them.
    const parentSpec = findCommand(this.commands, prev[0]!.text)!;
    if (r.used === 1 && rest.length === 0 && parentSpec.subcommands !== undefined && !cur.text.startsWith("-")) {
      const subs = parentSpec.subcommands.map((s) => s.name);
      const argKind = spec.args?.[0]?.kind;
      return done(argKind !== undefined ? [...subs, ...this.candidates(argKind, cur.text)] : subs);
    }
    // Value of an option?
    const last = rest[rest.length - 1];
    if (last !== undefined && last.text.startsWith("--") && !last.text.includes("=")) {
      const o = findOption(spec, last.text.slice(2));
      if (o?.kind === "switch") return done(Object.keys(SWITCH_WORDS));
      if (o !== undefined && o.kind !== "flag") return done([...(o.choices ?? []), ...this.candidates(o.kind, cur.text)]);
    }
    if (cur.text.startsWith("-")) {
      const used = new Set(rest.map((w) => w.text));
      return done((spec.options ?? []).flatMap((o) => (o.kind === "switch" ? [`--${o.name}`, `--no-${o.name}`] : [`--${o.name}`])).filter((n) => !used.has(n)));
    }
    // Positional: count the positional words before the cursor.
    let k = 0;
    for (let i = 0; i < rest.length; i++) {
      const w = rest[i]!;
      if (w.text.startsWith("--")) {
        const o = findOption(spec, w.text.slice(2).split("=")[0]!);
        const takesNext = o !== undefined && !w.text.includes("=") && (o.kind === "switch" ? SWITCH_WORDS[rest[i + 1]?.text.toLowerCase() ?? ""] !== undefined : o.kind !== "flag");
        if (takesNext) i++;
        continue;
      }
      k++;
    }
    const args = spec.args ?? [];
    const a = args[Math.min(k, args.length - 1)];
    if (a === undefined || (k >= args.length && !a.rest)) return done([]);
    // Every word of a rest argument is completed alike (smc register values).
    return done([...(a.choices ?? []), ...this.candidates(a.kind, cur.text)]);
  }
}

const STATUS_CHOICES = [
  "RMI_SUCCESS", "RMI_ERROR_INPUT", "RMI_ERROR_REALM", "RMI_ERROR_REC", "RMI_ERROR_RTT",
  "RMI_ERROR_NOT_SUPPORTED", "RMI_ERROR_GLOBAL", "RMI_BUSY", "RMI_INCOMPLETE", "RMI_BLOCKED",
];

function wordEnd(line: string, start: number): number {
  let i = start;
  while (i < line.length && !/\s/.test(line[i]!)) i++;
  return i;
}

export function commonPrefix(items: readonly string[]): string {
  if (items.length === 0) return "";
  let p = items[0]!;
  for (const s of items) {
    let i = 0;
    while (i < p.length && i < s.length && p[i] === s[i]) i++;
    p = p.slice(0, i);
  }
  return p;
}

function fileCandidates(cwd: string, prefix: string): string[] {
  const dirPart = prefix.includes("/") ? prefix.slice(0, prefix.lastIndexOf("/") + 1) : "";
  const dir = resolve(cwd, dirPart || ".");
  try {
    return readdirSync(dir)
      .filter((f) => !f.startsWith(".") || prefix.slice(dirPart.length).startsWith("."))
      .slice(0, 500)
      .map((f) => {
        let isDir = false;
        try {
          isDir = statSync(join(dir, f)).isDirectory();
        } catch {
          /* vanished */
        }
        return dirPart + f + (isDir ? "/" : "");
      });
  } catch {
    return [];
  }
}

export function errorText(e: unknown): string {
  if (e instanceof UsageError) return e.message;
  if (e instanceof Error) return e.name === "Error" || e.name === "TypeError" || e.name === "RangeError" ? e.message : `${e.name}: ${e.message}`;
  return String(e);
}

/** A new session: `const s = createSession(); const r = await s.run("new r1 --series v8")`. */
export function createSession(opts: SessionOptions = {}): Session {
  return new Session(opts);
}



/**
 * What a command sees of the session it runs in (src/commands/session.ts implements it): the
 * built-in commands (src/commands/builtin) are written against this interface, so they do not
 * import the session and the session can import them (no import cycle).
 */
import type { Host } from "../host/host.js";
import type { SeriesId } from "../kvm/series/index.js";
import type { Platform } from "../system/platform.js";
import type { SeriesSample } from "../trace/series.js";
import type { RealmVm } from "../vmm/vm.js";
import type { CommandSpec } from "./spec.js";

export interface RealmEntry {
  name: string;
  series: SeriesId;
  host: Host;
  vm: RealmVm;
  ipaBits: number;
  memory: bigint;
  vcpus: number;
}

export interface Progress {
  command: string;
  done: number;
  total: number;
  /** The host's latest accounting sample (src/trace/series.ts), for live charts. */
  sample?: SeriesSample;
}

/** The structured result of one line, the same for every front end. */
export interface RunResult {
  ok: boolean;
  /** The command path ("touch", "faults clear"), "" for an empty line. */
  command: string;
  line: string;
  /** JSON-friendly value (bigints as hex strings). */
  value: unknown;
  /** Renderer key. */
  kind: string;
  /** Plain-text rendering. */
  text: string;
  error?: string;
  /** The front end should exit. */
  exit?: boolean;
  /** The command was stopped (Ctrl-C) part-way. */
  interrupted?: boolean;
}

export interface RunOptions {
  signal?: AbortSignal;
  onProgress?: (p: Progress) => void;
}

/**
 * A session's realm table as plain data: each realm by the index of its VM in its host
 * (host.vms), so the table can be found again in a host restored from a snapshot.
 */
export interface RealmState {
  current: string | null;
  realms: { name: string; series: SeriesId; index: number; ipaBits: number; memory: bigint; vcpus: number }[];
}

/** A session that runs a script's lines as the steps of an error-path campaign (src/commands/explore-script.ts). */
export interface BatchSession {
  /** Long commands neither yield nor report progress; lines are not kept for `save`. */
  batch: boolean;
  run(line: string, opts?: RunOptions): Promise<RunResult>;
  /** The realm table as plain data. */
  realmState(): RealmState;
  /** Go on with `host` as the only host, its realms found again from `state`. */
  adopt(host: Host, state: RealmState): void;
}

/** The session as commands use it. */
export interface CommandContext {
  readonly commands: readonly CommandSpec<CommandContext>[];
  /** Realms by name. */
  readonly realms: Map<string, RealmEntry>;
  /** One host per posting. */
  readonly hosts: Map<SeriesId, Host>;
  current: string | null;
  seed: number;
  defaultSeries: SeriesId;
  /** Show a live chart while workloads run (front ends read this). */
  liveChart: boolean;
  /** The lines `save` writes. */
  readonly script: string[];
  /** Progress of the command running now. */
  onProgress: ((p: Progress) => void) | undefined;
  /** The running command was asked to stop (Ctrl-C). */
  readonly aborted: boolean;
  /** The host of a posting (created on first use). */
  hostFor(series: SeriesId): Host;
  /** A realm by name (default: the current one); a UsageError if there is none. */
  realm(name?: string): RealmEntry;
  /** The machine `smc` and `granule` talk to: the current realm's host, else a bare platform. */
  machine(): { label: string; platform: Platform; host?: Host };
  samplesOf(label: string): readonly SeriesSample[];
  lastSample(host: Host): SeriesSample | undefined;
  /** Give the event loop a turn during long commands. */
  yieldNow(): Promise<void>;
  /** Whether a long command should report progress and yield now. */
  dueForYield(step: number, every?: number): boolean;
  resolvePath(file: string): string;
  /** A new session with the same commands and seed, to run a script as campaign steps. */
  batchSession(): BatchSession;
}

/**
 * Commands as data: name, aliases, arguments, options, help text, completion kinds and the
 * action. The parser, the executor, `help` and completion all read these rows; front ends only
 * render the results.
 */
import type { Parsed } from "./values.js";
import { parseAddress, parseCount, parseInteger, parseSize } from "./values.js";

/**
 * What a word is. The value kinds parse (`size`, `address`, `int`, `count`); the name kinds
 * (`realm`, `series`, `rmi`, `scenario`, `workload`, `command`, `file`, `operand`: a register
 * value of `smc`, a number or a name like `rd`) are strings whose completion candidates come
 * from the session.
 */
export type ValueKind =
  | "string"
  | "size"
  | "address"
  | "int"
  | "count"
  | "realm"
  | "series"
  | "rmi"
  | "scenario"
  | "workload"
  | "command"
  | "file"
  | "status"
  | "operand"
  | "enum";

export interface ArgSpec {
  name: string;
  kind: ValueKind;
  help?: string;
  optional?: boolean;
  /** Takes every remaining word (the last argument only). */
  rest?: boolean;
  /** For kind "enum" (and as extra completions for other kinds). */
  choices?: readonly string[];
  /** For kind "count". */
  min?: number;
  max?: number;
}

export interface OptSpec {
  /** Long name without the dashes: "series" for `--series`. */
  name: string;
  /**
   * A flag takes no value. A switch is on or off: `--live` (on), `--live on|off`, `--live=off`,
   * `--no-live` (off); its value is a boolean.
   */
  kind: ValueKind | "flag" | "switch";
  help: string;
  /** Shown in usage: `--series vN`. */
  meta?: string;
  choices?: readonly string[];
  min?: number;
  max?: number;
  /** Flags of one group are mutually exclusive (`--read|--write|--exec`). */
  group?: string;
}

/** The parsed arguments of one command line. */
export class Args {
  constructor(
    readonly values: Map<string, unknown>,
    /** The words after the command name, as typed (for the session script). */
    readonly words: readonly string[],
    /** The text of each rest argument as typed (quotes and escapes kept). */
    private readonly rawText: ReadonlyMap<string, string> = new Map(),
  ) {}

  /** A rest argument as typed: `inject {"rmi":"RTT_FOLD",...}` keeps its JSON quotes. */
  raw(name: string): string | undefined {
    return this.rawText.get(name);
  }

  has(name: string): boolean {
    return this.values.has(name);
  }

  str(name: string): string | undefined {
    const v = this.values.get(name);
    return v === undefined ? undefined : String(v);
  }

  big(name: string): bigint | undefined {
    const v = this.values.get(name);
    return typeof v === "bigint" ? v : undefined;
  }

  num(name: string): number | undefined {
    const v = this.values.get(name);
    return typeof v === "number" ? v : typeof v === "bigint" ? Number(v) : undefined;
  }

  flag(name: string): boolean {
    return this.values.get(name) === true;
  }

  list(name: string): string[] {
    const v = this.values.get(name);
    return Array.isArray(v) ? (v as string[]) : [];
  }
}

/** What an action returns: a JSON-friendly value plus the kind the renderers key on. */
export interface Outcome {
  /** Plain data (bigints are fine; the session converts them for JSON). */
  value?: unknown;
  /** Renderer key ("table", "rmi", "granule", "rtt", "trace", "acct", "chart", "text", ...). */
  kind?: string;
  /** The command ran but did not do what was asked (reported as a failure, e.g. exit code). */
  failed?: string;
  /** What `save` writes for this command instead of the line as typed (null: nothing). */
  replay?: string | null;
  /** Ask the front end to exit. */
  exit?: boolean;
}

export interface CommandSpec<C = unknown> {
  name: string;
  aliases?: readonly string[];
  /** One line for the command list. */
  summary: string;
  /** More text for `help NAME`. */
  help?: string;
  args?: readonly ArgSpec[];
  options?: readonly OptSpec[];
  /** `faults clear`, `scenario run ID`. A command with subcommands may also run by itself. */
  subcommands?: readonly CommandSpec<C>[];
  /** Reads state only: not written by `save`. */
  readOnly?: boolean;
  /** Runs long and takes an AbortSignal (Ctrl-C). */
  interruptible?: boolean;
  /** Examples for help. */
  examples?: readonly string[];
  run?: (ctx: C, args: Args) => Outcome | Promise<Outcome>;
}

/** A usage error: bad input, reported before anything changed. */
export class UsageError extends Error {
  constructor(message: string) {
    super(message);
    this.name = "UsageError";
  }
}

/** The words a switch option takes (`--live off`). */
export const SWITCH_WORDS: Readonly<Record<string, boolean>> = { on: true, off: false };

/** Parse one word of a value kind. Name kinds are taken as typed (the action checks them). */
export function parseValue(kind: ValueKind, text: string, what: string, spec: { choices?: readonly string[]; min?: number; max?: number }): Parsed<unknown> {
  switch (kind) {
    case "size":
      return parseSize(text, what);
    case "address":
      return parseAddress(text, what);
    case "int":
      return parseInteger(text, what);
    case "count":
      return parseCount(text, what, spec.min ?? 0, spec.max ?? Number.MAX_SAFE_INTEGER);
    case "enum": {
      const c = spec.choices ?? [];
      const hit = c.find((x) => x.toLowerCase() === text.toLowerCase());
      if (hit === undefined) return { ok: false, error: `${what}: '${text}' is not one of ${c.join(", ")}` };
      return { ok: true, value: hit };
    }
    default:
      return { ok: true, value: text };
  }
}

/** `touch IPA [--vcpu N] [--read|--write|--exec] ...` */
export function usage(spec: CommandSpec<never>, prefix = ""): string {
  const parts = [prefix + spec.name];
  if (spec.subcommands !== undefined && spec.subcommands.length > 0 && spec.run === undefined) {
    parts.push(spec.subcommands.map((s) => s.name).join("|"));
  }
  for (const a of spec.args ?? []) {
    const n = a.name.toUpperCase() + (a.rest ? "..." : "");
    parts.push(a.optional ? `[${n}]` : n);
  }
  const groups = new Map<string, string[]>();
  for (const o of spec.options ?? []) {
    if (o.group !== undefined) {
      const g = groups.get(o.group) ?? [];
      g.push(`--${o.name}`);
      if (g.length === 1) {
        groups.set(o.group, g);
        parts.push(`\u0000${o.group}`);
      }
      continue;
    }
    parts.push(o.kind === "flag" ? `[--${o.name}]` : o.kind === "switch" ? `[--${o.name} [on|off]]` : `[--${o.name} ${o.meta ?? o.kind.toUpperCase()}]`);
  }
  return parts.map((p) => (p.startsWith("\u0000") ? `[${groups.get(p.slice(1))!.join("|")}]` : p)).join(" ");
}

/**
 * The one parser of the command language: a line becomes (command, subcommand, arguments) or a
 * clear error with a suggestion. Options may appear anywhere after the command (`--name value`,
 * `--name=value`); `--` ends options; words like `-1` are values, not options.
 */
import { lex, type Word } from "./lexer.js";
import { Args, parseValue, SWITCH_WORDS, type ArgSpec, type CommandSpec, type OptSpec } from "./spec.js";
import { didYouMean } from "./suggest.js";

export type ParseResult<C> =
  | { ok: true; empty: false; spec: CommandSpec<C>; path: string; args: Args }
  | { ok: true; empty: true }
  | { ok: false; error: string; path?: string };

/** Find a command by name or alias (case-insensitive). */
export function findCommand<C>(commands: readonly CommandSpec<C>[], name: string): CommandSpec<C> | undefined {
  const n = name.toLowerCase();
  return commands.find((c) => c.name === n || (c.aliases ?? []).includes(n));
}

export function commandNames(commands: readonly { name: string; aliases?: readonly string[] }[]): string[] {
  const out: string[] = [];
  for (const c of commands) out.push(c.name, ...(c.aliases ?? []));
  return out;
}

function isOptionWord(w: Word): boolean {
  return !w.quoted && /^--?[A-Za-z]/.test(w.text);
}

/** Resolve the command (and subcommand) named by the leading words. */
export function resolveCommand<C>(
  commands: readonly CommandSpec<C>[],
  words: readonly Word[],
): { ok: true; spec: CommandSpec<C>; path: string; used: number } | { ok: false; error: string; path?: string } {
  const first = words[0]!.text;
  const spec = findCommand(commands, first);
  if (spec === undefined) {
    const hint = didYouMean(first, commandNames(commands).filter((n) => n.length > 1));
    return { ok: false, error: `unknown command '${first}'${hint || " (type 'help' for the list)"}` };
  }
  const subs = spec.subcommands ?? [];
  if (subs.length > 0 && words.length > 1 && !isOptionWord(words[1]!)) {
    const sub = findCommand(subs, words[1]!.text);
    if (sub !== undefined) return { ok: true, spec: sub, path: `${spec.name} ${sub.name}`, used: 2 };
    if (spec.run === undefined || (spec.args ?? []).length === 0) {
      const w = words[1]!.text;
      return { ok: false, path: spec.name, error: `${spec.name}: unknown subcommand '${w}'${didYouMean(w, commandNames(subs)) || ` (one of ${subs.map((s) => s.name).join(", ")})`}` };
    }
  }
  if (spec.run === undefined) {
    return { ok: false, path: spec.name, error: `${spec.name}: missing subcommand (one of ${subs.map((s) => s.name).join(", ")})` };
  }
  return { ok: true, spec, path: spec.name, used: 1 };
}

export function findOption(spec: { options?: readonly OptSpec[] }, name: string): OptSpec | undefined {
  return (spec.options ?? []).find((o) => o.name === name);
}

export function parseLine<C>(commands: readonly CommandSpec<C>[], line: string): ParseResult<C> {
  const lx = lex(line);
  if (lx.error !== undefined) return { ok: false, error: lx.error };
  const words = lx.words;
  if (words.length === 0) return { ok: true, empty: true };
  const r = resolveCommand(commands, words);
  if (!r.ok) return r;
  const { spec, path } = r;
  const values = new Map<string, unknown>();
  const positional: Word[] = [];
  const fail = (error: string): ParseResult<C> => ({ ok: false, path, error: `${path}: ${error}` });
  const opts = spec.options ?? [];
  const argSpecs = spec.args ?? [];
  const restIndex = argSpecs.findIndex((a) => a.rest === true);
  let optionsDone = false;
  for (let i = r.used; i < words.length; i++) {
    const w = words[i]!;
    // A rest argument swallows everything once reached (raw register values for `smc`).
    if (restIndex >= 0 && positional.length >= restIndex && restIndex === argSpecs.length - 1 && opts.length === 0) {
      positional.push(w);
      continue;
    }
    if (!optionsDone && !w.quoted && w.text === "--") {
      optionsDone = true;
      continue;
    }
    if (!optionsDone && isOptionWord(w)) {
      const eq = w.text.indexOf("=");
      let name = (eq >= 0 ? w.text.slice(0, eq) : w.text).replace(/^--?/, "");
      // `--no-NAME` turns a switch off.
      const negated = name.startsWith("no-") && opts.some((x) => x.kind === "switch" && x.name === name.slice(3));
      if (negated) name = name.slice(3);
      const o = opts.find((x) => x.name === name);
      if (o === undefined) {
        const names = opts.map((x) => `--${x.name}`);
        const hint = didYouMean(`--${name}`, names);
        return fail(`unknown option '--${name}'${hint || (names.length ? ` (options: ${names.join(" ")})` : " (takes no options)")}`);
      }
      if (values.has(o.name)) return fail(`--${o.name} given twice`);
      if (o.kind === "flag") {
        if (eq >= 0) return fail(`--${o.name} takes no value`);
        if (o.group !== undefined) {
          const other = opts.find((x) => x.group === o.group && x !== o && values.has(x.name));
          if (other !== undefined) return fail(`--${o.name} and --${other.name} cannot be used together`);
        }
        values.set(o.name, true);
        continue;
      }
      if (o.kind === "switch") {
        if (negated) {
          if (eq >= 0) return fail(`--no-${o.name} takes no value`);
          values.set(o.name, false);
          continue;
        }
        let word: string | undefined;
        if (eq >= 0) word = w.text.slice(eq + 1);
        else {
          const next = words[i + 1];
          if (next !== undefined && SWITCH_WORDS[next.text.toLowerCase()] !== undefined) {
            word = next.text;
            i++;
          }
        }
        const on = word === undefined ? true : SWITCH_WORDS[word.toLowerCase()];
        if (on === undefined) return fail(`--${o.name}: '${word}' is not on or off`);
        values.set(o.name, on);
        continue;
      }
      let text: string;
      if (eq >= 0) text = w.text.slice(eq + 1);
      else {
        const next = words[i + 1];
        if (next === undefined) return fail(`--${o.name} needs a value (${o.meta ?? o.kind})`);
        text = next.text;
        i++;
      }
      const v = parseValue(o.kind, text, `--${o.name}`, o);
      if (!v.ok) return fail(v.error);
      values.set(o.name, v.value);
      continue;
    }
    positional.push(w);
  }
  let k = 0;
  const raw = new Map<string, string>();
  for (let j = 0; j < argSpecs.length; j++) {
    const a: ArgSpec = argSpecs[j]!;
    if (a.rest) {
      const rest = positional.slice(k).map((w) => w.text);
      if (rest.length === 0 && !a.optional) return fail(`missing ${a.name.toUpperCase()}`);
      values.set(a.name, rest);
      if (rest.length > 0) raw.set(a.name, line.slice(positional[k]!.start, positional[positional.length - 1]!.end));
      k = positional.length;
      break;
    }
    const w = positional[k];
    if (w === undefined) {
      if (a.optional) continue;
      return fail(`missing ${a.name.toUpperCase()}`);
    }
    const v = parseValue(a.kind, w.text, a.name.toUpperCase(), a);
    if (!v.ok) return fail(v.error);
    values.set(a.name, v.value);
    k++;
  }
  if (k < positional.length) {
    const extra = positional.slice(k).map((w) => w.text);
    return fail(`unexpected argument${extra.length > 1 ? "s" : ""} ${extra.map((x) => `'${x}'`).join(" ")}`);
  }
  return { ok: true, empty: false, spec, path, args: new Args(values, words.slice(r.used).map((w) => w.text), raw) };
}

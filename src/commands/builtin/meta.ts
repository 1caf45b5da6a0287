/** Session commands: help, exit, save, seed. */
import { writeFileSync } from "node:fs";
import { SEED_MAX } from "../../host/host.js";
import { findCommand } from "../parser.js";
import type { CommandContext } from "../context.js";
import { usage, UsageError, type CommandSpec } from "../spec.js";
import { didYouMean } from "../suggest.js";

export const helpCommand: CommandSpec<CommandContext> = {
  name: "help",
  aliases: ["?"],
  summary: "the command list, or one command's usage",
  args: [{ name: "command", kind: "command", optional: true }],
  readOnly: true,
  run(s, a) {
    const name = a.str("command");
    if (name === undefined) {
      const rows = s.commands.map((c) => {
        const al = (c.aliases ?? []).filter((x) => x !== "?");
        return `  ${usage(c as CommandSpec<never>)}${al.length ? `   (${al.join(", ")})` : ""}\n      ${c.summary}`;
      });
      const text =
        "Commands (values: sizes 4K 2M 1G 64M or 0x..., addresses 0x... or decimal):\n" +
        rows.join("\n") +
        "\nhelp COMMAND for details.";
      return { value: { text, commands: s.commands.map((c) => c.name) }, kind: "help" };
    }
    const c = findCommand(s.commands, name);
    if (c === undefined) {
      const names = s.commands.flatMap((x) => [x.name, ...(x.aliases ?? [])]);
      throw new UsageError(`help: unknown command '${name}'${didYouMean(name, names)}`);
    }
    const lines: string[] = [];
    if (c.run !== undefined) lines.push(`usage: ${usage(c as CommandSpec<never>)}`);
    for (const sub of c.subcommands ?? []) lines.push(`usage: ${usage(sub as CommandSpec<never>, c.name + " ")}`);
    lines.push("", c.summary);
    if (c.aliases?.length) lines.push(`aliases: ${c.aliases.join(", ")}`);
    if (c.help) lines.push("", c.help);
    const all = [c, ...(c.subcommands ?? [])];
    const args = all.flatMap((x) => x.args ?? []).filter((x) => x.help);
    if (args.length) {
      lines.push("", "arguments:");
      for (const x of args) lines.push(`  ${x.name.toUpperCase().padEnd(14)}${x.help}`);
    }
    const opts = all.flatMap((x) => x.options ?? []);
    if (opts.length) {
      lines.push("", "options:");
      for (const o of opts) lines.push(`  ${(`--${o.name}` + (o.kind === "flag" ? "" : o.kind === "switch" ? " [on|off]" : ` ${o.meta ?? o.kind.toUpperCase()}`)).padEnd(20)}${o.help}`);
    }
    const ex = all.flatMap((x) => x.examples ?? []);
    if (ex.length) {
      lines.push("", "examples:");
      for (const e of ex) lines.push(`  ${e}`);
    }
    return { value: { text: lines.join("\n"), command: c.name }, kind: "help" };
  },
};

export const exitCommand: CommandSpec<CommandContext> = {
  name: "exit",
  aliases: ["quit"],
  summary: "leave the REPL (Ctrl-D on an empty line does too)",
  readOnly: true,
  run() {
    return { value: { message: "bye" }, kind: "message", exit: true };
  },
};

export const saveCommand: CommandSpec<CommandContext> = {
  name: "save",
  summary: "write the session as a script that 'realm run' replays exactly",
  help:
    "Writes every command that changed the simulation, in order (read-only commands are left out;\n" +
    "a workload stopped with Ctrl-C is written with the number of steps it really ran), after a\n" +
    "'seed' line. 'realm run FILE' on a fresh session gives the same state.",
  args: [{ name: "file", kind: "file" }],
  readOnly: true,
  run(s, a) {
    const file = a.str("file")!;
    const path = s.resolvePath(file);
    const body = [`# realm session script (realm run ${file})`, `seed ${s.seed}`, ...s.script].join("\n") + "\n";
    try {
      writeFileSync(path, body);
    } catch (e) {
      throw new UsageError(`save: cannot write ${file}: ${(e as Error).message}`);
    }
    return { value: { message: `saved ${s.script.length} command${s.script.length === 1 ? "" : "s"} to ${file}`, file: path, lines: s.script.length }, kind: "message" };
  },
};

export const seedCommand: CommandSpec<CommandContext> = {
  name: "seed",
  summary: "show the seed, or set it before any realm exists",
  help:
    `Seeds are integers 0..${SEED_MAX} (0x${SEED_MAX.toString(16)}): the simulator's PRNG (xorshift32) has 32 bits\n` +
    "of state, so a larger seed is refused rather than cut to 32 bits (which would give two seeds\n" +
    "one trace). Seed 0 runs as 0x9e3779b9 (xorshift32 cannot start from 0). Same seed, same trace.",
  args: [{ name: "n", kind: "int", optional: true, help: `0..${SEED_MAX}` }],
  run(s, a) {
    const n = a.big("n");
    if (n === undefined) return { value: { message: `seed ${s.seed}`, seed: s.seed }, kind: "message", replay: null };
    if (n < 0n || n > BigInt(SEED_MAX)) throw new UsageError(`seed: ${n} is out of range: seeds are integers 0..${SEED_MAX} (the PRNG has 32 bits of state; see 'help seed')`);
    if (s.hosts.size > 0) {
      if (Number(n) === s.seed) return { value: { message: `seed ${s.seed}`, seed: s.seed }, kind: "message", replay: null };
      throw new UsageError(`seed: hosts already exist with seed ${s.seed}; set the seed before the first 'new'`);
    }
    s.seed = Number(n);
    // `save` writes the seed line itself.
    return { value: { message: `seed ${s.seed}`, seed: s.seed }, kind: "message", replay: null };
  },
};

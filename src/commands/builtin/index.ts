/** The built-in commands, in the order `help` lists them. */
import type { Session } from "../session.js";
import type { CommandSpec } from "../spec.js";
import { shareCommand, touchCommand, unshareCommand } from "./guest.js";
import { acctCommand, chartCommand, granuleCommand, traceCommand } from "./inspect.js";
import { exitCommand, helpCommand, saveCommand, seedCommand } from "./meta.js";
import { destroyCommand, lsCommand, newCommand, useCommand } from "./realm.js";
import { smcCommand } from "./smc.js";

export const BUILTIN_COMMANDS: readonly CommandSpec<Session>[] = [
  newCommand,
  useCommand,
  lsCommand,
  destroyCommand,
  touchCommand,
  shareCommand,
  unshareCommand,
  granuleCommand,
  acctCommand,
  chartCommand,
  traceCommand,
  smcCommand,
  saveCommand,
  seedCommand,
  helpCommand,
  exitCommand,
];

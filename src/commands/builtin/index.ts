/** The built-in commands, in the order `help` lists them. */
import type { CommandContext } from "../context.js";
import type { CommandSpec } from "../spec.js";
import { faultsCommand, injectCommand } from "./faults.js";
import { shareCommand, touchCommand, unshareCommand, workloadCommand } from "./guest.js";
import { acctCommand, chartCommand, granuleCommand, traceCommand } from "./inspect.js";
import { exitCommand, helpCommand, saveCommand, seedCommand } from "./meta.js";
import { destroyCommand, lsCommand, newCommand, useCommand } from "./realm.js";
import { rttCommand } from "./rtt.js";
import { scenarioCommand } from "./scenario.js";
import { exploreCommand } from "./explore.js";
import { smcCommand } from "./smc.js";

export const BUILTIN_COMMANDS: readonly CommandSpec<CommandContext>[] = [
  newCommand,
  useCommand,
  lsCommand,
  destroyCommand,
  touchCommand,
  shareCommand,
  unshareCommand,
  workloadCommand,
  injectCommand,
  faultsCommand,
  rttCommand,
  granuleCommand,
  acctCommand,
  chartCommand,
  traceCommand,
  smcCommand,
  scenarioCommand,
  exploreCommand,
  saveCommand,
  seedCommand,
  helpCommand,
  exitCommand,
];

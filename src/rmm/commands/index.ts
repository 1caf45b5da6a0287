/**
 * Every RMI command of every ABI. Each family module exports its rows; `buildTable` picks the rows
 * of one ABI into the dispatch table.
 */
import type { RmiCommand } from "../dispatch.js";
import { GRANULE_COMMANDS } from "./granule.js";
import { REALM_COMMANDS } from "./realm.js";
import { SYSTEM_COMMANDS } from "./system.js";

export const ALL_COMMANDS: readonly RmiCommand[] = [
  ...SYSTEM_COMMANDS,
  ...GRANULE_COMMANDS,
  ...REALM_COMMANDS,
];

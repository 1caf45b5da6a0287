/**
 * Every RMI command of every ABI. Each family module exports its rows; `buildTable` picks the rows
 * of one ABI into the dispatch table.
 */
import type { RmiCommand } from "../dispatch.js";
import { GRANULE_COMMANDS } from "./granule.js";
import { REALM_COMMANDS } from "./realm.js";
import { SYSTEM_COMMANDS } from "./system.js";
import { RTT_COMMANDS } from "./rtt.js";
import { DATA_COMMANDS } from "./data.js";
import { RIPAS_COMMANDS } from "./ripas.js";
import { REC_COMMANDS } from "./rec.js";
import { RUN_COMMANDS } from "./run.js";
import { PSCI_COMMANDS } from "./psci.js";
import { V2_COMMANDS } from "./v2/index.js";

export const ALL_COMMANDS: readonly RmiCommand[] = [
  ...SYSTEM_COMMANDS,
  ...GRANULE_COMMANDS,
  ...REALM_COMMANDS,
  ...RTT_COMMANDS,
  ...DATA_COMMANDS,
  ...RIPAS_COMMANDS,
  ...REC_COMMANDS,
  ...RUN_COMMANDS,
  ...PSCI_COMMANDS,
  ...V2_COMMANDS,
];

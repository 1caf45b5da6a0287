/**
 * The failure statuses an RMI command can return for the arguments the host passed, never
 * RMI_SUCCESS. Sources: the RMM spec's failure-condition lists per command (v1.0-rel0 B4.3.x; the
 * v2.0 beta for the range commands) and the RMM model's handlers (src/rmm/commands/**): which
 * status each condition reports. RMI_ERROR_RTT carries the level the RTT walk stopped at: for a
 * command walking to level L that is L-1 (a table missing on the way) or L (the entry at L is in
 * the wrong state), bounded by the level arguments the host passed.
 * RMI_INCOMPLETE and RMI_BUSY are not failures (an SRO to continue, a retry) and are left out.
 */
import { statusFromName } from "../rmm/status.js";

export interface Failure {
  status: string;
  index: number;
}

/** Which statuses each command's failure conditions report (RMI_ERROR_RTT: see rttIndices). */
const BY_COMMAND: Record<string, readonly string[]> = {
  GRANULE_DELEGATE: ["RMI_ERROR_INPUT"],
  GRANULE_UNDELEGATE: ["RMI_ERROR_INPUT"],
  GRANULE_RANGE_DELEGATE: ["RMI_ERROR_INPUT"],
  GRANULE_RANGE_UNDELEGATE: ["RMI_ERROR_INPUT"],
  REALM_CREATE: ["RMI_ERROR_INPUT"],
  REALM_ACTIVATE: ["RMI_ERROR_INPUT", "RMI_ERROR_REALM"],
  REALM_DESTROY: ["RMI_ERROR_INPUT", "RMI_ERROR_REALM"],
  REALM_TERMINATE: ["RMI_ERROR_INPUT", "RMI_ERROR_REALM"],
  REC_AUX_COUNT: ["RMI_ERROR_INPUT"],
  REC_CREATE: ["RMI_ERROR_INPUT", "RMI_ERROR_REALM"],
  REC_DESTROY: ["RMI_ERROR_INPUT", "RMI_ERROR_REC"],
  REC_ENTER: ["RMI_ERROR_INPUT", "RMI_ERROR_REALM", "RMI_ERROR_REC"],
  PSCI_COMPLETE: ["RMI_ERROR_INPUT"],
  DATA_CREATE: ["RMI_ERROR_INPUT", "RMI_ERROR_REALM", "RMI_ERROR_RTT"],
  DATA_CREATE_UNKNOWN: ["RMI_ERROR_INPUT", "RMI_ERROR_RTT"],
  DATA_DESTROY: ["RMI_ERROR_INPUT", "RMI_ERROR_RTT"],
  RTT_CREATE: ["RMI_ERROR_INPUT", "RMI_ERROR_RTT"],
  RTT_DESTROY: ["RMI_ERROR_INPUT", "RMI_ERROR_RTT"],
  RTT_FOLD: ["RMI_ERROR_INPUT", "RMI_ERROR_RTT"],
  RTT_INIT_RIPAS: ["RMI_ERROR_INPUT", "RMI_ERROR_REALM", "RMI_ERROR_RTT"],
  RTT_SET_RIPAS: ["RMI_ERROR_INPUT", "RMI_ERROR_RTT"],
  RTT_MAP_UNPROTECTED: ["RMI_ERROR_INPUT", "RMI_ERROR_RTT"],
  RTT_UNMAP_UNPROTECTED: ["RMI_ERROR_INPUT", "RMI_ERROR_RTT"],
  RTT_READ_ENTRY: ["RMI_ERROR_INPUT"],
  RTT_DATA_MAP_INIT: ["RMI_ERROR_INPUT", "RMI_ERROR_REALM", "RMI_ERROR_RTT"],
  RTT_DATA_MAP: ["RMI_ERROR_INPUT", "RMI_ERROR_RTT"],
  RTT_DATA_UNMAP: ["RMI_ERROR_INPUT", "RMI_ERROR_RTT"],
  RTT_UNPROT_MAP: ["RMI_ERROR_INPUT", "RMI_ERROR_RTT"],
  RTT_UNPROT_UNMAP: ["RMI_ERROR_INPUT", "RMI_ERROR_RTT"],
  OP_CONTINUE: ["RMI_ERROR_INPUT"],
  OP_MEM_DONATE: ["RMI_ERROR_INPUT"],
  OP_MEM_RECLAIM: ["RMI_ERROR_INPUT"],
  OP_CANCEL: ["RMI_ERROR_INPUT"],
  GPT_L1_CREATE: ["RMI_ERROR_INPUT", "RMI_ERROR_GPT"],
  GRANULE_TRACKING_GET: ["RMI_ERROR_INPUT"],
};

/** Commands that walk to a level given as an argument (argument position of the level). */
const LEVEL_ARG: Record<string, number> = {
  RTT_CREATE: 3, RTT_DESTROY: 2, RTT_FOLD: 2, RTT_MAP_UNPROTECTED: 2, RTT_UNMAP_UNPROTECTED: 2, RTT_READ_ENTRY: 2,
};

/** RMI_ERROR_RTT indices for a call: the walk stops one level short, or at the level it walks to. */
function rttIndices(cmd: string, args: readonly bigint[]): number[] {
  const pos = LEVEL_ARG[cmd];
  // RTT_CREATE walks to the parent (level - 1); data and RIPAS commands walk to level 3
  const target = pos === undefined ? 3 : Number(BigInt.asIntN(64, args[pos] ?? 3n)) - (cmd === "RTT_CREATE" ? 1 : 0);
  return [target - 1, target].filter((l) => l >= 0 && l <= 3);
}

/** Statuses the caller overrides, per command: "RMI_ERROR_RTT" (default indices) or "RMI_ERROR_RTT:2". */
export type StatusOverrides = Record<string, readonly string[]>;

/** Parse and check an override list; throws naming the bad command or status. */
export function checkStatusOverrides(o: unknown): StatusOverrides {
  if (o === undefined) return {};
  if (o === null || typeof o !== "object" || Array.isArray(o)) throw new TypeError("explore: statuses must be an object {COMMAND: [\"RMI_ERROR_...\", ...]}");
  const out: Record<string, string[]> = {};
  for (const [k, v] of Object.entries(o as Record<string, unknown>)) {
    const cmd = k.toUpperCase().replace(/^RMI_/, "");
    if (BY_COMMAND[cmd] === undefined) throw new RangeError(`explore: statuses: unknown RMI command '${k}' (known: ${Object.keys(BY_COMMAND).join(", ")})`);
    if (!Array.isArray(v)) throw new TypeError(`explore: statuses.${k}: expected a list of statuses`);
    out[cmd] = v.map((s) => {
      if (typeof s !== "string") throw new TypeError(`explore: statuses.${k}: a status must be a string`);
      const [name, idx] = s.split(":");
      statusFromName(name!); // throws on an unknown status, naming it
      if (name === "RMI_SUCCESS" || name === "RMI_INCOMPLETE") throw new RangeError(`explore: statuses.${k}: ${name} is not a failure`);
      if (idx !== undefined && !/^\d{1,3}$/.test(idx)) throw new RangeError(`explore: statuses.${k}: bad index in '${s}' (expected e.g. RMI_ERROR_RTT:2)`);
      return s;
    });
  }
  return out;
}

/** The failures to inject into one call of `cmd` (short name, no RMI_ prefix) with these arguments. */
export function failuresFor(cmd: string, args: readonly bigint[], overrides: StatusOverrides): Failure[] {
  const list = overrides[cmd] ?? BY_COMMAND[cmd] ?? [];
  const out: Failure[] = [];
  for (const s of list) {
    const [name, idx] = s.split(":");
    if (idx !== undefined) out.push({ status: name!, index: Number(idx) });
    else if (name === "RMI_ERROR_RTT") for (const l of rttIndices(cmd, args)) out.push({ status: name, index: l });
    else out.push({ status: name!, index: 0 });
  }
  return out;
}

/** Commands the explorer knows (have failure conditions). */
export function explorableCommands(): string[] {
  return Object.keys(BY_COMMAND);
}

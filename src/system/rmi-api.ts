/**
 * Typed wrappers `p.rmi.<command>(...)`, built from the dispatch table: each returns
 * `{status, index, ...outputs}` with the status by name. RMI failures are values; misuse of the
 * TypeScript API (a missing or negative argument) throws an error naming the argument.
 */
import type { RmiCommand } from "../rmm/dispatch.js";
import type { Rmm } from "../rmm/rmm.js";
import { statusName } from "../rmm/status.js";

export interface RmiResult {
  status: string;
  index: number;
  [output: string]: bigint | number | string;
}

type R<O extends string = never> = { status: string; index: number } & { [K in O]: bigint };
type A = bigint | number;

/** RMI v1.0 and v2.0 commands (which are present depends on the Platform's ABI). */
export interface RmiApi {
  version(req: A): R<"lower" | "higher">;
  features(index: A): R<"value">;
  granuleDelegate(addr: A): R;
  granuleUndelegate(addr: A): R;
  dataCreate(rd: A, data: A, ipa: A, src: A, flags: A): R;
  dataCreateUnknown(rd: A, data: A, ipa: A): R;
  dataDestroy(rd: A, ipa: A): R<"data" | "top">;
  realmActivate(rd: A): R;
  realmCreate(rd: A, paramsPtr: A): R;
  realmDestroy(rd: A): R;
  recCreate(rd: A, rec: A, paramsPtr: A): R;
  recDestroy(rec: A): R;
  recEnter(rec: A, runPtr: A): R;
  rttCreate(rd: A, rtt: A, ipa: A, level: A): R;
  rttDestroy(rd: A, ipa: A, level: A): R<"rtt" | "top">;
  rttMapUnprotected(rd: A, ipa: A, level: A, desc: A): R;
  rttReadEntry(rd: A, ipa: A, level: A): R<"walkLevel" | "state" | "desc" | "ripas">;
  rttUnmapUnprotected(rd: A, ipa: A, level: A): R<"top">;
  psciComplete(callingRec: A, targetRec: A, status: A): R;
  rttFold(rd: A, ipa: A, level: A): R<"rtt">;
  recAuxCount(rd: A): R<"auxCount">;
  rttInitRipas(rd: A, base: A, top: A): R<"top">;
  rttSetRipas(rd: A, rec: A, base: A, top: A): R<"top">;
  // RMI v2.0 (beta)
  granuleRangeDelegate(base: A, top: A): R<"top">;
  granuleRangeUndelegate(base: A, top: A): R<"top">;
  rttDataMapInit(rd: A, data: A, ipa: A, src: A, flags: A): R;
  rttDataMap(rd: A, base: A, top: A, flags: A, oaddr: A): R<"top">;
  rttDataUnmap(rd: A, base: A, top: A, flags: A, oaddr: A): R<"top" | "range" | "count">;
  rttUnprotMap(rd: A, base: A, top: A, flags: A, oaddr: A): R<"top">;
  rttUnprotUnmap(rd: A, base: A, top: A, flags: A, oaddr: A): R<"top" | "range" | "count">;
  realmTerminate(rd: A): R;
  rmmConfigSet(cfgPtr: A): R;
  rmmConfigGet(cfgPtr: A): R;
  rmmActivate(): R<"handle">;
  opContinue(handle: A, flags: A): R<"handle">;
  opMemDonate(handle: A, listPa: A, count: A): R<"consumed" | "request">;
  opMemReclaim(handle: A, listPa: A, capacity: A): R<"count">;
  opCancel(handle: A): R;
  granuleTrackingGet(base: A, top: A): R<"category" | "state" | "top">;
  gptL1Create(addr: A): R;
  /** Any command by method name (for generic front ends). */
  [method: string]: (...args: A[]) => RmiResult;
}

/** camelCase output names for the table's snake_case ones. */
function camel(s: string): string {
  return s.replace(/_([a-z0-9])/g, (_, c: string) => c.toUpperCase());
}

const TWO_64 = 1n << 64n;

function reg(cmd: RmiCommand, argName: string, v: unknown): bigint {
  if (typeof v === "bigint") {
    if (v < 0n) throw new RangeError(`rmi.${cmd.method}: ${argName} must not be negative (got ${v})`);
    if (v >= TWO_64) throw new RangeError(`rmi.${cmd.method}: ${argName} does not fit in 64 bits`);
    return v;
  }
  if (typeof v === "number" && Number.isSafeInteger(v)) {
    // Levels may be negative (-1 with LPA2): a number is a signed register value.
    return BigInt.asUintN(64, BigInt(v));
  }
  throw new TypeError(`rmi.${cmd.method}: ${argName} is ${v === undefined ? "missing" : `a ${typeof v}, expected a bigint`}`);
}

/**
 * Argument `i` of `cmd` checked as the typed wrappers check it (a bigint in [0, 2^64), or a safe
 * integer taken as a signed register value); for callers that go to `rmm.call` with the table's row.
 */
export function rmiArg(cmd: RmiCommand, i: number, v: unknown): bigint {
  if (typeof v === "bigint" && v >= 0n && v < TWO_64) return v;
  return reg(cmd, camel(cmd.args[i] ?? `x${i + 1}`), v);
}

export function makeRmiApi(rmm: Rmm): RmiApi {
  const api: Record<string, (...a: unknown[]) => RmiResult> = {};
  for (const cmd of rmm.table.values()) api[cmd.method] = wrapper(rmm, cmd);
  return api as unknown as RmiApi;
}

/**
 * One typed wrapper: checks each argument (`reg`), calls the command through `rmm.call`, returns
 * `{status, index, ...outputs}`. Fixed parameters rather than a rest array (no allocation per call
 * beyond the result object).
 */
function wrapper(rmm: Rmm, cmd: RmiCommand): (...a: unknown[]) => RmiResult {
  const outNames = cmd.outs.map(camel);
  const no = outNames.length;
  const n = cmd.args.length;
  const argNames = cmd.args.map(camel);
  const arg = (i: number, v: unknown): bigint => (i < n ? reg(cmd, argNames[i]!, v) : 0n);
  return function (this: unknown, a0?: unknown, a1?: unknown, a2?: unknown, a3?: unknown, a4?: unknown, a5?: unknown): RmiResult {
    if (arguments.length > n) throw new TypeError(`rmi.${cmd.method}: takes ${n} argument(s) (${argNames.join(", ")}), got ${arguments.length}`);
    const x0 = rmm.call(cmd, arg(0, a0), arg(1, a1), arg(2, a2), arg(3, a3), arg(4, a4), arg(5, a5));
    const res: RmiResult = { status: statusName(x0 % 256), index: Math.floor(x0 / 256) % 256 };
    if (no > 0) res[outNames[0]!] = rmm.out1;
    if (no > 1) res[outNames[1]!] = rmm.out2;
    if (no > 2) res[outNames[2]!] = rmm.out3;
    if (no > 3) res[outNames[3]!] = rmm.out4;
    return res;
  } as (...a: unknown[]) => RmiResult;
}

/**
 * The simulator API the command language programs against: the contracts of design.md
 * ("Host, guest, scenarios"), seen structurally so the command layer depends only on the
 * contract. The modules are found at run time through the package entry (src/index.ts), or
 * given to `createSession({sim})`.
 */
import type { Platform } from "../system/platform.js";

export const SERIES = ["v8", "v10", "v12", "v13", "v14"] as const;
export type Series = (typeof SERIES)[number];

export type Access = "read" | "write" | "exec";

export interface TouchResultLike {
  outcome: string;
  exits?: number | unknown[];
  rmiCalls?: number | unknown[];
  [k: string]: unknown;
}

export interface VmLike {
  start(): unknown;
  touch(ipa: bigint, opts?: { vcpu?: number; access?: Access }): TouchResultLike;
  share(base: bigint, size: bigint): unknown;
  unshare(base: bigint, size: bigint): unknown;
  destroy(): unknown;
  rtt(): unknown;
  [k: string]: unknown;
}

export interface HostStatsLike {
  freePages?: number;
  leakedPages?: number;
  warnCount?: number;
  granules?: Record<string, number>;
  vms?: { id: number | string; state: string; pgtablePages: number }[];
  [k: string]: unknown;
}

export interface HostLike {
  platform: Platform;
  createRealm(opts: { ipaBits: number; memory: bigint; vcpus: number }): VmLike;
  inject(rule: unknown): unknown;
  stats(): HostStatsLike;
  trace: unknown;
  [k: string]: unknown;
}

export interface ScenarioInfoLike {
  id: string;
  title: string;
  series: string[];
  [k: string]: unknown;
}

export interface ScenarioResultLike {
  id: string;
  series: string;
  outcome: string;
  [k: string]: unknown;
}

export interface SimModules {
  Host?: { create(opts: { series: string; seed: number }): HostLike };
  scenarios?: {
    list(): ScenarioInfoLike[];
    run(id: string, opts: { series: string }): ScenarioResultLike | Promise<ScenarioResultLike>;
  };
  /** src/rmm/inspect.ts rttWalkPath, when present (one walk of the `rtt IPA` view). */
  rttWalkPath?: (...a: unknown[]) => unknown;
  /** src/viz chart renderer, when present (`chart --png`). */
  renderChartPng?: (...a: unknown[]) => unknown;
  /** src/guest workloads: lists of guest operations that `vm.run(vcpu, ops)` executes. */
  workloads?: {
    sequentialWorkload(base: bigint, size: bigint, stride?: bigint): unknown[];
    randomWorkload(base: bigint, size: bigint, count: number, seed?: number): unknown[];
    bootWorkload(ramBase: bigint, ram: bigint, image: bigint, bounce: bigint, sharedBit: bigint): unknown[];
  };
}

/** Load whatever of the simulator exists, through the package entry. */
export async function loadSim(): Promise<SimModules> {
  const mod = (await import("../index.js")) as Record<string, unknown>;
  const out: SimModules = {};
  if (mod["Host"] !== undefined) out.Host = mod["Host"] as SimModules["Host"];
  if (mod["scenarios"] !== undefined) out.scenarios = mod["scenarios"] as SimModules["scenarios"];
  if (typeof mod["rttWalkPath"] === "function") out.rttWalkPath = mod["rttWalkPath"] as SimModules["rttWalkPath"];
  if (typeof mod["sequentialWorkload"] === "function" && typeof mod["randomWorkload"] === "function" && typeof mod["bootWorkload"] === "function") {
    out.workloads = mod as unknown as NonNullable<SimModules["workloads"]>;
  }
  // Until the package entry exports them, take the host and the catalogue from their modules.
  if (out.Host === undefined) {
    const h = await optionalImport("../host/host.js");
    if (h?.["Host"] !== undefined) out.Host = h["Host"] as SimModules["Host"];
  }
  if (out.scenarios === undefined) {
    const sc = await optionalImport("../scenarios/index.js");
    if (sc?.["scenarios"] !== undefined) out.scenarios = sc["scenarios"] as SimModules["scenarios"];
  }
  return out;
}

async function optionalImport(spec: string): Promise<Record<string, unknown> | undefined> {
  try {
    return (await import(spec)) as Record<string, unknown>;
  } catch (e) {
    const code = (e as { code?: string }).code;
    if (code === "ERR_MODULE_NOT_FOUND" || /Cannot find module|Failed to load url|does not exist/i.test((e as Error).message)) return undefined;
    throw e;
  }
}

/** Lines of a host trace, whatever its container (array of strings/records, or a log with lines()). */
export function traceLines(trace: unknown): string[] {
  if (trace === undefined || trace === null) return [];
  if (Array.isArray(trace)) return trace.map((x) => (typeof x === "string" ? x : lineOf(x)));
  const t = trace as { lines?: () => unknown; entries?: unknown; records?: unknown };
  if (typeof t.lines === "function") return traceLines(t.lines());
  if (Array.isArray(t.entries)) return traceLines(t.entries);
  if (Array.isArray(t.records)) return traceLines(t.records);
  return [];
}

function lineOf(x: unknown): string {
  if (x !== null && typeof x === "object") {
    const o = x as { text?: unknown; line?: unknown; toString?: () => string };
    if (typeof o.text === "string") return o.text;
    if (typeof o.line === "string") return o.line;
  }
  return String(x);
}

/**
 * Fault injection for the host model. Rules (all deterministic, counted from when they are added):
 *   {rmi: "RTT_CREATE", nth: 1, status: "RMI_ERROR_RTT", index: 2}   the Nth call of RMI X returns S/I
 *       optional: count (how many firings, default 1; Infinity = every call from the Nth on),
 *                 pa (only calls whose first address argument - or, for RD-based commands, any
 *                 argument - equals pa)
 *   {alloc: "page", nth: 3, count?}           the Nth host page allocation fails
 *   {undelegate: 0x80123000n}                 undelegating granule P fails (every time)
 *   {delegateRaced: 0x80123000n | true, nth?} GRANULE_DELEGATE fails as if another vCPU had
 *                                             delegated the granule first (RMI_ERROR_INPUT)
 * A command the RMM does not have, an unknown status or a malformed rule throws and changes nothing.
 * So does what cannot happen (issue 11): RMI_SUCCESS (a "success" of a call that did nothing
 * leaves the host model believing in state the RMM does not have), a status the host's RMM ABI
 * does not have (RMM v1.0-rel0 returns only RMI_ERROR_INPUT, _REALM, _REC, _RTT: no RMI_INCOMPLETE,
 * RMI_BUSY, ...), and keys a rule of that kind does not take. The error names the key or value.
 */
import { shown } from "../platform/args.js";
import type { RmiCommand } from "../rmm/dispatch.js";
import type { Rmm } from "../rmm/rmm.js";
import { STATUS_NAMES, statusFromName } from "../rmm/status.js";
import type { TraceLog } from "../trace/log.js";
import type { PageOwner } from "../kvm/env.js";

/** What an allocation rule sees of one host page allocation. */
export interface AllocAttempt {
  owner: PageOwner;
  vm: number;
  order: 0 | 9;
}

/**
 * Where the rules act, as narrow interfaces (nothing of the Host): the RMM's call interceptor,
 * which every SMC passes (the kernel's RMI wrappers, src/kvm/rmi_cmds.ts, and the raw ABI alike),
 * so an injected status shows in the RMM's trace as a real one would; and the page allocator's
 * allocation hook, which every host page allocation passes (KVM's, the VMM's, the kernel's).
 */
export interface InjectionPoints {
  rmm: Pick<Rmm, "interceptor" | "abi" | "table">;
  pages: { hook: ((req: AllocAttempt, nth: number) => boolean) | undefined };
  log: TraceLog;
}

export type FaultRule =
  | { rmi: string; nth?: number; status: string; index?: number; count?: number; pa?: bigint }
  | { alloc: "page"; nth: number; count?: number }
  | { undelegate: bigint }
  | { delegateRaced: bigint | true; nth?: number; count?: number };

interface RmiRuleState {
  kind: "rmi";
  rule: FaultRule;
  cmd: string;
  nth: number;
  remaining: number;
  x0: number;
  pa: bigint | undefined;
  seen: number;
  fired: number;
}

interface AllocRuleState {
  kind: "alloc";
  rule: FaultRule;
  nth: number;
  remaining: number;
  seen: number;
  fired: number;
}

type RuleState = RmiRuleState | AllocRuleState;

function positiveInt(name: string, v: unknown, dflt: number): number {
  if (v === undefined) return dflt;
  if (v === Infinity) return Infinity;
  if (typeof v !== "number" || !Number.isInteger(v) || v < 1) throw new RangeError(`inject: ${name} must be a positive integer, got ${shown(v)}`);
  return v;
}

/** The keys each kind of rule takes. */
const RULE_KEYS: Record<string, readonly string[]> = {
  rmi: ["rmi", "status", "index", "nth", "count", "pa"],
  alloc: ["alloc", "nth", "count"],
  undelegate: ["undelegate"],
  delegateRaced: ["delegateRaced", "nth", "count"],
};

/** RMM v1.0-rel0's error statuses (RMM spec v1.0 B4.4 / TF-RMM rmm-spec-v1.0-rel0 smc-rmi.h). */
const V1_ERRORS = new Set(["RMI_ERROR_INPUT", "RMI_ERROR_REALM", "RMI_ERROR_REC", "RMI_ERROR_RTT"]);

function checkKeys(kind: string, r: Record<string, unknown>): void {
  const allowed = RULE_KEYS[kind]!;
  for (const k of Object.keys(r)) {
    if (!allowed.includes(k)) throw new RangeError(`inject: unknown key ${shown(k)} in a rule of kind ${kind} (its keys: ${allowed.join(", ")})`);
  }
}

/** A fault rule as one line of JSON (bigints as hex, `count: always`), for logs and listings. */
export function describeRule(r: FaultRule): string {
  return JSON.stringify(r, (_, v) => (typeof v === "bigint" ? `0x${v.toString(16)}` : v === Infinity ? "always" : v));
}

/**
 * Fault injection: rules that make chosen RMI calls return an error status instead of running,
 * page allocations fail, or undelegates fail; each firing is logged (`INJECT:` in the trace).
 */
export class FaultInjector {
  private readonly rules: RuleState[] = [];

  private readonly rmm: InjectionPoints["rmm"];
  private readonly log: TraceLog;

  constructor(at: InjectionPoints) {
    this.rmm = at.rmm;
    this.log = at.log;
    at.rmm.interceptor = (cmd, args) => this.onRmi(cmd, args);
    at.pages.hook = (req, nth) => this.onAlloc(req, nth);
  }

  /** Validate and add a rule; returns a description. Throws (and adds nothing) on a bad rule. */
  add(rule: FaultRule): string {
    if (rule === null || typeof rule !== "object") throw new TypeError("inject: a rule must be an object");
    const r = rule as Record<string, unknown>;
    let st: RuleState;
    const kind = ["rmi", "alloc", "undelegate", "delegateRaced"].find((k) => k in r);
    if (kind !== undefined) checkKeys(kind, r);
    if ("rmi" in r) {
      if (typeof r.rmi !== "string") throw new TypeError("inject: rmi must be a command name, e.g. \"RTT_CREATE\"");
      const cmd = this.findCommand(r.rmi);
      if (typeof r.status !== "string") throw new TypeError(`inject: status must be one of ${STATUS_NAMES.join(", ")}`);
      let status: number;
      try {
        status = statusFromName(r.status);
      } catch {
        throw new RangeError(`inject: unknown RMI status ${shown(r.status)} (one of ${STATUS_NAMES.filter((n) => n !== "RMI_SUCCESS").join(", ")})`);
      }
      if (status === 0) throw new RangeError(`inject: status RMI_SUCCESS cannot be injected: the call would report success without doing anything (inject an error status)`);
      if (this.rmm.abi === "1.0" && !V1_ERRORS.has(r.status)) throw new RangeError(`inject: RMM 1.0 has no status ${r.status} (RMM v1.0 returns ${[...V1_ERRORS].join(", ")})`);
      const index = r.index === undefined ? 0 : r.index;
      if (typeof index !== "number" || !Number.isInteger(index) || index < 0 || index > 255) throw new RangeError(`inject: index must be an integer 0..255, got ${shown(index)}`);
      if (r.pa !== undefined && typeof r.pa !== "bigint") throw new TypeError("inject: pa must be a bigint");
      st = { kind: "rmi", rule, cmd: cmd.name, nth: positiveInt("nth", r.nth, 1), remaining: positiveInt("count", r.count, 1), x0: status + index * 256, pa: r.pa as bigint | undefined, seen: 0, fired: 0 };
    } else if ("alloc" in r) {
      if (r.alloc !== "page") throw new RangeError(`inject: alloc must be "page", got ${shown(r.alloc)}`);
      st = { kind: "alloc", rule, nth: positiveInt("nth", r.nth, 1), remaining: positiveInt("count", r.count, 1), seen: 0, fired: 0 };
    } else if ("undelegate" in r) {
      if (typeof r.undelegate !== "bigint") throw new TypeError("inject: undelegate must be a granule PA (bigint)");
      // RMM v2.0 has only the range form; a single-granule undelegate starts at the granule.
      const cmd = this.findCommand(this.rmm.abi === "2.0" ? "GRANULE_RANGE_UNDELEGATE" : "GRANULE_UNDELEGATE");
      st = { kind: "rmi", rule, cmd: cmd.name, nth: 1, remaining: Infinity, x0: 1, pa: r.undelegate, seen: 0, fired: 0 };
    } else if ("delegateRaced" in r) {
      if (r.delegateRaced !== true && typeof r.delegateRaced !== "bigint") throw new TypeError("inject: delegateRaced must be a granule PA (bigint) or true");
      const cmd = this.findCommand(this.rmm.abi === "2.0" ? "GRANULE_RANGE_DELEGATE" : "GRANULE_DELEGATE");
      st = { kind: "rmi", rule, cmd: cmd.name, nth: positiveInt("nth", r.nth, 1), remaining: positiveInt("count", r.count, r.delegateRaced === true ? 1 : Infinity), x0: 1, pa: r.delegateRaced === true ? undefined : r.delegateRaced, seen: 0, fired: 0 };
    } else {
      throw new TypeError("inject: a rule needs one of rmi, alloc, undelegate, delegateRaced");
    }
    this.rules.push(st);
    const d = describeRule(rule);
    this.log.push("inject", `rule added: ${d}`);
    return d;
  }

  clear(): void {
    this.rules.length = 0;
  }

  list(): { rule: string; fired: number; active: boolean }[] {
    return this.rules.map((s) => ({ rule: describeRule(s.rule), fired: s.fired, active: s.remaining > 0 }));
  }

  private findCommand(name: string): RmiCommand {
    const n = name.toUpperCase().startsWith("RMI_") ? name.toUpperCase() : `RMI_${name.toUpperCase()}`;
    for (const c of this.rmm.table.values()) if (c.name === n || c.method === name) return c;
    const names = [...this.rmm.table.values()].map((c) => c.name.replace(/^RMI_/, ""));
    throw new RangeError(`inject: RMM ${this.rmm.abi} has no command ${shown(name)} (known: ${names.join(", ")})`);
  }

  private onRmi(cmd: RmiCommand, args: readonly bigint[]): number | undefined {
    for (const s of this.rules) {
      if (s.kind !== "rmi" || s.cmd !== cmd.name || s.remaining <= 0) continue;
      if (s.pa !== undefined && !args.includes(s.pa)) continue;
      s.seen++;
      if (s.seen < s.nth) continue;
      s.remaining--;
      s.fired++;
      this.log.push("inject", `${cmd.name} call #${s.seen} -> ${STATUS_NAMES[s.x0 % 256]} ${Math.floor(s.x0 / 256)} (rule ${describeRule(s.rule)})`);
      return s.x0;
    }
    return undefined;
  }

  private onAlloc(req: AllocAttempt, _nth: number): boolean {
    for (const s of this.rules) {
      if (s.kind !== "alloc" || s.remaining <= 0) continue;
      s.seen++;
      if (s.seen < s.nth) continue;
      s.remaining--;
      s.fired++;
      this.log.push("inject", `page allocation #${s.seen} (${req.owner}) fails (rule ${describeRule(s.rule)})`);
      return true;
    }
    return false;
  }
}

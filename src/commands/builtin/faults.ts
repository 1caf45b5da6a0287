/**
 * Fault injection: `inject RULE`, `faults`, `faults clear`. The rule language is the host's
 * (src/faults: {rmi, nth, status, index, count, pa} | {alloc: "page", nth, count} |
 * {undelegate: PA} | {delegateRaced: PA | true, nth, count}); this file only turns words into
 * such an object (a FaultRule). The host validates the rule and adds nothing when it is bad.
 */
import type { FaultRule } from "../../faults/inject.js";
import type { Host } from "../../host/host.js";
import type { CommandContext } from "../context.js";
import { UsageError, type CommandSpec } from "../spec.js";
import { didYouMean } from "../suggest.js";
import { parseAddress, parseSize } from "../values.js";

const KEYS = ["rmi", "status", "index", "level", "nth", "count", "pa", "alloc", "undelegate", "delegateRaced"];

function statusName(w: string): string {
  const u = w.toUpperCase();
  return u.startsWith("RMI_") ? u : `RMI_${u}`;
}

function num(key: string, v: string): number {
  if (key === "count" && (v === "always" || v === "inf" || v === "Infinity")) return Infinity;
  const r = parseSize(v, key);
  if (!r.ok) throw new UsageError(r.error);
  if (r.value > BigInt(Number.MAX_SAFE_INTEGER)) throw new UsageError(`${key}: ${v} is too large`);
  return Number(r.value);
}

function pa(key: string, v: string): bigint {
  const r = parseAddress(v, key);
  if (!r.ok) throw new UsageError(r.error);
  return r.value;
}

/**
 * Words -> rule object. Forms:
 *   inject RTT_CREATE RMI_ERROR_RTT index=2 nth=1        (command and status by position)
 *   inject rmi=RTT_CREATE status=RMI_ERROR_RTT level=2 count=always pa=0x88000000
 *   inject alloc nth=3 [count=N]       inject undelegate 0x80123000
 *   inject delegateRaced [PA] [nth=N]  inject {"rmi":"RTT_FOLD","status":"RMI_ERROR_RTT","index":2}
 */
export function parseRule(words: readonly string[]): FaultRule {
  const text = words.join(" ").trim();
  if (text.startsWith("{")) {
    let o: unknown;
    try {
      o = JSON.parse(text);
    } catch (e) {
      throw new UsageError(`rule is not valid JSON: ${(e as Error).message}`);
    }
    if (o === null || typeof o !== "object" || Array.isArray(o)) throw new UsageError("a JSON rule must be an object");
    const r = { ...(o as Record<string, unknown>) };
    for (const k of ["pa", "undelegate"]) if (typeof r[k] === "string" || typeof r[k] === "number") r[k] = pa(k, String(r[k]));
    if (typeof r["delegateRaced"] === "string") r["delegateRaced"] = pa("delegateRaced", r["delegateRaced"] as string);
    if (r["count"] === "always") r["count"] = Infinity;
    // The host checks the shape (FaultInjector.add) and says what is wrong.
    return r as unknown as FaultRule;
  }
  const rule: Record<string, unknown> = {};
  let kind: "rmi" | "alloc" | "undelegate" | "delegateRaced" | undefined;
  for (let i = 0; i < words.length; i++) {
    const w = words[i]!;
    const eq = w.indexOf("=");
    if (eq > 0) {
      const k = w.slice(0, eq);
      const v = w.slice(eq + 1);
      if (!KEYS.includes(k)) throw new UsageError(`unknown rule key '${k}'${didYouMean(k, KEYS) || ` (keys: ${KEYS.join(", ")})`}`);
      switch (k) {
        case "rmi":
          kind = "rmi";
          rule["rmi"] = v.toUpperCase().replace(/^RMI_/, "");
          break;
        case "status":
          rule["status"] = statusName(v);
          break;
        case "index":
        case "level":
          rule["index"] = num(k, v);
          break;
        case "nth":
        case "count":
          rule[k] = num(k, v);
          break;
        case "pa":
          rule["pa"] = pa(k, v);
          break;
        case "alloc":
          kind = "alloc";
          rule["alloc"] = v;
          break;
        case "undelegate":
          kind = "undelegate";
          rule["undelegate"] = pa(k, v);
          break;
        case "delegateRaced":
          kind = "delegateRaced";
          rule["delegateRaced"] = v === "true" || v === "any" ? true : pa(k, v);
          break;
      }
      continue;
    }
    if (i === 0) {
      const lw = w.toLowerCase();
      if (lw === "alloc") {
        kind = "alloc";
        rule["alloc"] = "page";
        continue;
      }
      if (lw === "undelegate") {
        kind = "undelegate";
        const p = words[i + 1];
        if (p === undefined || p.includes("=")) throw new UsageError("undelegate needs the granule PA: inject undelegate 0x80123000");
        rule["undelegate"] = pa("undelegate", p);
        i++;
        continue;
      }
      if (lw === "delegateraced" || lw === "delegate-raced") {
        kind = "delegateRaced";
        const p = words[i + 1];
        if (p !== undefined && !p.includes("=")) {
          rule["delegateRaced"] = pa("delegateRaced", p);
          i++;
        } else rule["delegateRaced"] = true;
        continue;
      }
      kind = "rmi";
      rule["rmi"] = w.toUpperCase().replace(/^RMI_/, "");
      continue;
    }
    if (kind === "rmi" && rule["status"] === undefined && /^(RMI_)?(ERROR|SUCCESS|BUSY|BLOCKED|INCOMPLETE)/i.test(w)) {
      rule["status"] = statusName(w);
      continue;
    }
    if (kind === "rmi" && rule["status"] !== undefined && rule["index"] === undefined && /^\d+$/.test(w)) {
      rule["index"] = num("index", w);
      continue;
    }
    throw new UsageError(`rule: unexpected '${w}' (see 'help inject')`);
  }
  if (kind === undefined) throw new UsageError("empty rule (see 'help inject')");
  if (kind === "rmi" && rule["status"] === undefined) throw new UsageError(`rule for ${String(rule["rmi"])}: missing status (e.g. RMI_ERROR_RTT)`);
  if (kind === "alloc" && rule["nth"] === undefined) rule["nth"] = 1;
  return rule as unknown as FaultRule;
}

function requireHost(s: CommandContext, what: string): { label: string; host: Host } {
  const m = s.machine();
  if (m.host === undefined) throw new UsageError(`${what} needs a realm's host: create one with 'new NAME' (faults are injected into a posting's host)`);
  return { label: m.label, host: m.host };
}

export const injectCommand: CommandSpec<CommandContext> = {
  name: "inject",
  summary: "add a fault injection rule to the current realm's host",
  help:
    "Rules fire deterministically, counted from when they are added:\n" +
    "  inject RTT_CREATE RMI_ERROR_RTT 2        the next RTT_CREATE returns RMI_ERROR_RTT, level 2\n" +
    "  inject rmi=DATA_CREATE status=RMI_ERROR_INPUT nth=3 count=always pa=0x80200000\n" +
    "  inject alloc nth=3                        the 3rd host page allocation fails\n" +
    "  inject undelegate 0x80123000              undelegating that granule fails (every time)\n" +
    "  inject delegateRaced [PA] [nth=N]         GRANULE_DELEGATE fails as if another vCPU won\n" +
    '  inject {"rmi":"RTT_FOLD","status":"RMI_ERROR_RTT","index":2}\n' +
    "Keys: rmi, status, index (or level), nth (default 1), count (default 1; 'always'), pa.\n" +
    "Refused, naming the key or value: RMI_SUCCESS (a success that did nothing), a status the\n" +
    "host's RMM does not return (RMM 1.0: only RMI_ERROR_INPUT, _REALM, _REC, _RTT), unknown keys.",
  args: [{ name: "rule", kind: "string", rest: true, help: "the rule (words or JSON)" }],
  examples: ["inject RTT_CREATE RMI_ERROR_RTT 2", "inject alloc nth=3"],
  run(s, a) {
    const { label, host } = requireHost(s, "inject");
    // A JSON rule is read as typed (the lexer would take its double quotes away).
    const raw = a.raw("rule")!;
    const rule = parseRule(raw.startsWith("{") ? [raw] : a.list("rule"));
    let desc: string;
    try {
      desc = host.inject(rule);
    } catch (e) {
      throw new UsageError((e as Error).message.replace(/^inject: /, ""));
    }
    return { value: { machine: label, rule, message: `rule added on the ${label} host: ${desc}` }, kind: "message" };
  },
};

export const faultsCommand: CommandSpec<CommandContext> = {
  name: "faults",
  summary: "the fault rules of the current realm's host and how often each fired",
  readOnly: true,
  run(s) {
    const { label, host } = requireHost(s, "faults");
    const rows = host.faults.list();
    return {
      value: {
        machine: label,
        rules: rows,
        title: `fault rules on the ${label} host`,
        columns: ["#", "rule", "fired", "active"],
        rows: rows.map((r, i) => [i + 1, r.rule, r.fired, r.active ? "yes" : "no"]),
        align: ["r", "l", "r", "l"],
        footer: rows.length === 0 ? "(none: 'inject RULE' adds one)" : undefined,
      },
      kind: "table",
    };
  },
  subcommands: [
    {
      name: "clear",
      summary: "remove every fault rule of the current realm's host",
      run(s) {
        const { label, host } = requireHost(s, "faults clear");
        const n = host.faults.list().length;
        host.faults.clear();
        return { value: { machine: label, cleared: n, message: `fault rules cleared on the ${label} host` }, kind: "message" };
      },
    },
  ],
};

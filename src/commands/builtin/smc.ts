/**
 * `smc COMMAND ARGS...`: one raw RMI call by name on the current machine (the current realm's
 * host platform, else a bare platform), result decoded: status (with the RTT level of
 * RMI_ERROR_RTT), index and the named output registers. The SMCCC calling convention of RMM
 * spec B4.4: x0 = status | index << 8. Register values may name the current realm's objects
 * (`rd`, `recN`, `runN`: the PAs its KVM code holds).
 */
import { fidOf, SMC64_STD_BASE, type RmiCommand } from "../../rmm/dispatch.js";
import { statusName } from "../../rmm/status.js";
import type { Platform } from "../../system/platform.js";
import type { CommandContext, RealmEntry } from "../context.js";
import { UsageError, type CommandSpec } from "../spec.js";
import { closest } from "../suggest.js";
import { hex, parseInteger } from "../values.js";

const camel = (s: string) => s.replace(/_([a-z0-9])/g, (_, c: string) => c.toUpperCase());

/** Find an RMI command by spec name (with or without RMI_), wrapper name or FID. */
export function findRmi(p: Platform, word: string): RmiCommand | { fid: bigint } {
  const w = word.trim();
  if (/^0x[0-9a-f]+$/i.test(w)) {
    const fid = BigInt(w);
    for (const c of p.rmm.table.values()) if (fidOf(c) === fid) return c;
    return { fid };
  }
  const up = w.toUpperCase().replace(/-/g, "_");
  for (const c of p.rmm.table.values()) {
    if (c.name === up || c.name === `RMI_${up}` || c.method.toLowerCase() === w.toLowerCase()) return c;
  }
  const names = [...p.rmm.table.values()].map((c) => c.name.replace(/^RMI_/, ""));
  const hint = closest(up.replace(/^RMI_/, ""), names);
  throw new UsageError(
    `unknown RMI command '${w}' for RMM ${p.abi}` +
      (hint.length > 0 ? `, did you mean ${hint.map((h) => `'${h}'`).join(" or ")}?` : ` (try Tab, or 'help smc')`),
  );
}

const OPERAND = /^(rd|rec|run)(\d*)$/i;

/** The symbolic operands of a realm, for completion: rd, rec0.., run0.. (those that exist now). */
export function realmOperands(r: RealmEntry): string[] {
  const k = r.vm.kvm;
  const out = k.realm.rd >= 0 ? ["rd"] : [];
  k.vcpus.forEach((v, i) => {
    if (v.rec.recPage >= 0) out.push(`rec${i}`);
  });
  k.vcpus.forEach((v, i) => {
    if (v.rec.run >= 0) out.push(`run${i}`);
  });
  return out;
}

/**
 * A symbolic operand of the current realm, or undefined when `word` is not one: `rd` is the RD
 * (kvm->arch.realm.rd), `recN` the REC of vCPU N (vcpu->arch.rec.rec_page), `runN` its
 * rec_run page (what REC_ENTER takes). Naming one that does not exist is a usage error.
 */
export function resolveOperand(s: CommandContext, word: string, reg: string): bigint | undefined {
  const m = OPERAND.exec(word);
  if (m === null) return undefined;
  const kind = m[1]!.toLowerCase();
  const n = m[2]!;
  if ((kind === "rd") !== (n === "")) return undefined;
  if (s.current === null) throw new UsageError(`${reg}: '${word}' names an object of the current realm, and no realm is selected ('new NAME' or 'use NAME')`);
  const r = s.realm();
  const k = r.vm.kvm;
  if (kind === "rd") {
    if (k.realm.rd < 0) throw new UsageError(`${reg}: realm ${r.name} has no RD (KVM has not created the realm)`);
    return BigInt(k.realm.rd);
  }
  const i = Number(n);
  const v = k.vcpus[i];
  if (v === undefined) throw new UsageError(`${reg}: '${word}': realm ${r.name} has ${k.vcpus.length} vCPU${k.vcpus.length === 1 ? "" : "s"} (${kind}0..${kind}${k.vcpus.length - 1})`);
  const pa = kind === "rec" ? v.rec.recPage : v.rec.run;
  if (pa < 0) throw new UsageError(`${reg}: vCPU ${i} of realm ${r.name} has no ${kind === "rec" ? "REC" : "rec_run page"} yet`);
  return BigInt(pa);
}

export interface SmcValue {
  machine: string;
  command: string;
  fid: bigint;
  args: Record<string, bigint>;
  x0: bigint;
  status: string;
  index: number;
  outputs: Record<string, bigint>;
}

export const smcCommand: CommandSpec<CommandContext> = {
  name: "smc",
  aliases: ["rmi"],
  summary: "a raw RMI call by name, result decoded",
  help:
    "Calls one RMI command on the current realm's host (or a bare RMM 1.0 platform before any realm\n" +
    "exists) with the given register values, x1 onwards. COMMAND is the spec name with or without\n" +
    "RMI_ (RTT_CREATE, RMI_GRANULE_DELEGATE), the wrapper name (rttCreate) or a raw FID (0xC4000150).\n" +
    "Values are hex or decimal, negative for signed levels (-1), or a name for an object of the\n" +
    "current realm (its host PA, as the posting's KVM code holds it):\n" +
    "  rd     the realm's RD\n" +
    "  recN   the REC of vCPU N (rec0, rec1, ...)\n" +
    "  runN   the rec_run page of vCPU N (REC_ENTER's second argument)\n" +
    "An RMI failure is a result. Raw calls bypass the host model: its bookkeeping does not know\n" +
    "about them.",
  args: [
    { name: "command", kind: "rmi", help: "RMI command" },
    { name: "args", kind: "operand", rest: true, optional: true, help: "register values x1.. (numbers, or rd, recN, runN)" },
  ],
  examples: [
    "smc VERSION 0x10000",
    "smc GRANULE_DELEGATE 0x88000000",
    "smc RTT_CREATE 0x88000000 0x88001000 0 1",
    "smc RTT_READ_ENTRY rd 0x0 3",
    "smc REC_ENTER rec0 run0",
  ],
  run(s, a) {
    const m = s.machine();
    const p = m.platform;
    const cmd = findRmi(p, a.str("command")!);
    const words = a.list("args");
    const regs: bigint[] = [];
    for (const [i, w] of words.entries()) {
      const reg = `x${i + 1}`;
      const sym = resolveOperand(s, w, reg);
      if (sym !== undefined) {
        regs.push(sym);
        continue;
      }
      const v = parseInteger(w, reg);
      if (!v.ok) throw new UsageError(v.error);
      if (v.value < -(1n << 63n)) throw new UsageError(`${reg}: ${w} does not fit in 64 bits`);
      regs.push(BigInt.asUintN(64, v.value));
    }
    if (!("name" in cmd)) {
      if (regs.length > 6) throw new UsageError(`an SMC takes at most 6 arguments (x1..x6), got ${regs.length}`);
      const r = p.smc(cmd.fid, ...regs);
      const unknown = r[0] === 0xffff_ffff_ffff_ffffn;
      const value: SmcValue = {
        machine: m.label,
        command: hex(cmd.fid),
        fid: cmd.fid,
        args: Object.fromEntries(regs.map((v, i) => [`x${i + 1}`, v])),
        x0: r[0]!,
        status: unknown ? "SMC_UNKNOWN" : statusName(Number(r[0]! % 256n)),
        index: unknown ? 0 : Number((r[0]! / 256n) % 256n),
        outputs: unknown ? {} : { x1: r[1]!, x2: r[2]!, x3: r[3]!, x4: r[4]! },
      };
      return { value, kind: "rmi" };
    }
    if (regs.length !== cmd.args.length) {
      const names = cmd.args.join(", ");
      throw new UsageError(
        `${cmd.name} takes ${cmd.args.length} argument${cmd.args.length === 1 ? "" : "s"}${names ? ` (${names})` : ""}, got ${regs.length}`,
      );
    }
    const r = p.smc(fidOf(cmd), ...regs);
    const x0 = r[0]!;
    const value: SmcValue = {
      machine: m.label,
      command: cmd.name,
      fid: BigInt(SMC64_STD_BASE + cmd.fnum),
      args: Object.fromEntries(cmd.args.map((n, i) => [camel(n), regs[i]!])),
      x0,
      status: statusName(Number(x0 % 256n)),
      index: Number((x0 / 256n) % 256n),
      outputs: Object.fromEntries(cmd.outs.map((n, i) => [camel(n), r[i + 1]!])),
    };
    return { value, kind: "rmi" };
  },
};

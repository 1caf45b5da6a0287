/**
 * `smc COMMAND ARGS...`: one raw RMI call by name on the current machine (the current realm's
 * host platform, else a bare platform), result decoded: status (with the RTT level of
 * RMI_ERROR_RTT), index and the named output registers. The SMCCC calling convention of RMM
 * spec B4.4: x0 = status | index << 8.
 */
import { fidOf, SMC64_STD_BASE, type RmiCommand } from "../../rmm/dispatch.js";
import { RmiStatus, statusName } from "../../rmm/status.js";
import type { Platform } from "../../system/platform.js";
import type { Session } from "../session.js";
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

export const smcCommand: CommandSpec<Session> = {
  name: "smc",
  aliases: ["rmi"],
  summary: "a raw RMI call by name, result decoded",
  help:
    "Calls one RMI command on the current realm's host (or a bare RMM 1.0 platform before any realm\n" +
    "exists) with the given register values, x1 onwards. COMMAND is the spec name with or without\n" +
    "RMI_ (RTT_CREATE, RMI_GRANULE_DELEGATE), the wrapper name (rttCreate) or a raw FID (0xC4000150).\n" +
    "Values are hex or decimal, negative for signed levels (-1). An RMI failure is a result.\n" +
    "Raw calls bypass the host model: its bookkeeping does not know about them.",
  args: [
    { name: "command", kind: "rmi", help: "RMI command" },
    { name: "args", kind: "string", rest: true, optional: true, help: "register values x1.." },
  ],
  examples: ["smc VERSION 0x10000", "smc GRANULE_DELEGATE 0x88000000", "smc RTT_CREATE 0x88000000 0x88001000 0 1"],
  run(s, a) {
    const m = s.machine();
    const p = m.platform;
    const cmd = findRmi(p, a.str("command")!);
    const words = a.list("args");
    const regs: bigint[] = [];
    for (const [i, w] of words.entries()) {
      const v = parseInteger(w, "rmi" in cmd ? `argument ${i + 1}` : `x${i + 1}`);
      if (!v.ok) throw new UsageError(v.error);
      if (v.value < -(1n << 63n)) throw new UsageError(`x${i + 1}: ${w} does not fit in 64 bits`);
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

/** `RMI_ERROR_RTT (level 2)`, `RMI_ERROR_INPUT`, `RMI_ERROR_REALM (index 1)`. */
export function statusText(status: string, index: number): string {
  if (status === RmiStatus[RmiStatus.RMI_ERROR_RTT]) return `${status} (level ${index})`;
  return index !== 0 ? `${status} (index ${index})` : status;
}

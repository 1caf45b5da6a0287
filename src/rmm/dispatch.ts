/**
 * The RMI dispatch table: one row per command (function ID, name, argument and result names,
 * handler). The same table drives SMC dispatch, the typed `p.rmi.*` wrappers, the trace and
 * listings. Source: TF-RMM runtime/core/handler.c (smc_handlers[]).
 */
import type { RmiAbi, RmmState } from "./state.js";

export type { RmiAbi };

/** A handler gets X1..X6 and returns the packed status (status | index << 8); outputs go to rmm.out. */
export type RmiHandler = (rmm: RmmState, x1: bigint, x2: bigint, x3: bigint, x4: bigint, x5: bigint, x6: bigint) => number;

export interface RmiCommand {
  /** Spec name, e.g. "RMI_RTT_CREATE". */
  name: string;
  /** Function number (FID = 0xC4000000 | fnum). */
  fnum: number;
  /** Name of the typed wrapper on `p.rmi`, e.g. "rttCreate". */
  method: string;
  /** Argument names, X1.. in order. */
  args: readonly string[];
  /** Output names, X1.. in order (x0 is the status). */
  outs: readonly string[];
  handler: RmiHandler;
  /** Which ABIs have this command. The 2.0 table may keep a v1.0 command under `compat`. */
  abi: readonly RmiAbi[];
  /** 2.0 only: available when the v1.0 compatibility switch is on (v13 "temporary v1.0 SMCs"). */
  compat?: boolean;
  /** 2.0 only: left out when the v1.0 compatibility switch is on (a compat row of the same fnum
   *  replaces it: the bet0 RMM of v13 creates RECs the v1.0 way, v13 17/48 kvm_create_rec). */
  noCompat?: boolean;
  /** 2.0: callable before RMM_ACTIVATE (VERSION, FEATURES, RMM_CONFIG_GET/SET, RMM_ACTIVATE). */
  beforeActivate?: boolean;
}

export const SMC64_STD_BASE = 0xc400_0000;

export function fidOf(cmd: Pick<RmiCommand, "fnum">): bigint {
  return BigInt(SMC64_STD_BASE + cmd.fnum);
}

/** Build the fnum -> command table for one ABI (the one dispatch table of an RMM instance). */
export function buildTable(all: readonly RmiCommand[], abi: RmiAbi, compat: boolean): Map<number, RmiCommand> {
  const t = new Map<number, RmiCommand>();
  for (const c of all) {
    if (!c.abi.includes(abi)) continue;
    if (abi === "2.0" && c.compat && !compat) continue;
    if (abi === "2.0" && c.noCompat && compat) continue;
    const prev = t.get(c.fnum);
    if (prev !== undefined) throw new Error(`RMI table: ${c.name} and ${prev.name} share fnum 0x${c.fnum.toString(16)}`);
    t.set(c.fnum, c);
  }
  return t;
}

/**
 * The host's RMI call layer (Linux arch/arm64/include/asm/rmi_cmds.h): thin wrappers that issue
 * one RMI command through the platform's typed API and return the packed result
 * (`status | index << 8`) as the kernel sees it in x0, plus the output registers.
 * Addresses are JS numbers inside the host (every PA/IPA < 2^52) and bigint at the RMI edge.
 */
import type { Platform } from "../system/platform.js";
import { statusFromName } from "../rmm/status.js";

export const RMI_SUCCESS = 0;
export const RMI_ERROR_INPUT = 1;
export const RMI_ERROR_REALM = 2;
export const RMI_ERROR_REC = 3;
export const RMI_ERROR_RTT = 4;

export function RMI_RETURN_STATUS(ret: number): number {
  return ret % 256;
}
export function RMI_RETURN_INDEX(ret: number): number {
  return Math.floor(ret / 256) % 256;
}

const B = (n: number): bigint => BigInt(n);

export interface RmiOut {
  ret: number;
  x1: bigint;
  x2: bigint;
  x3: bigint;
  x4: bigint;
}

export class RmiClient {
  /** Per wrapper name: the output names as the typed API spells them (looked up once, not per call). */
  private readonly outNames = new Map<string, string[]>();
  constructor(private readonly p: Platform) {}

  /** Call a command by wrapper name; returns packed x0 and outputs in order. */
  raw(method: string, ...args: bigint[]): RmiOut {
    const f = this.p.rmi[method];
    if (typeof f !== "function") {
      throw new Error(`host: the RMM (${this.p.abi}) has no command '${method}' (not implemented yet?)`);
    }
    let names = this.outNames.get(method);
    if (names === undefined) {
      names = this.p.rmm.command(method)!.outs.map((o) => o.replace(/_([a-z0-9])/g, (_, c: string) => c.toUpperCase()));
      this.outNames.set(method, names);
    }
    const r = f(...args);
    const st = statusFromName(r.status);
    const nm = names;
    const o = (i: number): bigint => (i < nm.length ? (r[nm[i]!] as bigint | undefined) ?? 0n : 0n);
    return { ret: st + r.index * 256, x1: o(0), x2: o(1), x3: o(2), x4: o(3) };
  }
  granule_delegate(pa: number): number {
    return this.raw("granuleDelegate", B(pa)).ret;
  }
  granule_undelegate(pa: number): number {
    return this.raw("granuleUndelegate", B(pa)).ret;
  }
  realm_create(rd: number, params: number): number {
    return this.raw("realmCreate", B(rd), B(params)).ret;
  }
  realm_activate(rd: number): number {
    return this.raw("realmActivate", B(rd)).ret;
  }
  realm_destroy(rd: number): number {
    return this.raw("realmDestroy", B(rd)).ret;
  }
  rec_aux_count(rd: number): { ret: number; auxCount: number } {
    const o = this.raw("recAuxCount", B(rd));
    return { ret: o.ret, auxCount: Number(o.x1) };
  }
  rec_create(rd: number, rec: number, params: number): number {
    return this.raw("recCreate", B(rd), B(rec), B(params)).ret;
  }
  rec_destroy(rec: number): number {
    return this.raw("recDestroy", B(rec)).ret;
  }
  rec_enter(rec: number, run: number): number {
    return this.raw("recEnter", B(rec), B(run)).ret;
  }
  psci_complete(calling: number, target: number, status: number): number {
    return this.raw("psciComplete", B(calling), B(target), BigInt.asUintN(64, BigInt(status))).ret;
  }
  rtt_create(rd: number, rtt: number, ipa: number, level: number): number {
    return this.raw("rttCreate", B(rd), B(rtt), B(ipa), BigInt.asUintN(64, B(level))).ret;
  }
  rtt_destroy(rd: number, ipa: number, level: number): { ret: number; rtt: number; top: number } {
    const o = this.raw("rttDestroy", B(rd), B(ipa), BigInt.asUintN(64, B(level)));
    return { ret: o.ret, rtt: Number(o.x1), top: Number(o.x2) };
  }
  rtt_fold(rd: number, ipa: number, level: number): { ret: number; rtt: number } {
    const o = this.raw("rttFold", B(rd), B(ipa), BigInt.asUintN(64, B(level)));
    return { ret: o.ret, rtt: Number(o.x1) };
  }
  rtt_map_unprotected(rd: number, ipa: number, level: number, desc: number): number {
    return this.raw("rttMapUnprotected", B(rd), B(ipa), B(level), B(desc)).ret;
  }
  rtt_unmap_unprotected(rd: number, ipa: number, level: number): { ret: number; top: number } {
    const o = this.raw("rttUnmapUnprotected", B(rd), B(ipa), B(level));
    return { ret: o.ret, top: Number(o.x1) };
  }
  rtt_init_ripas(rd: number, base: number, top: number): { ret: number; top: number } {
    const o = this.raw("rttInitRipas", B(rd), B(base), B(top));
    return { ret: o.ret, top: Number(o.x1) };
  }
  rtt_set_ripas(rd: number, rec: number, base: number, top: number): { ret: number; top: number } {
    const o = this.raw("rttSetRipas", B(rd), B(rec), B(base), B(top));
    return { ret: o.ret, top: Number(o.x1) };
  }
  data_create(rd: number, data: number, ipa: number, src: number, flags: number): number {
    return this.raw("dataCreate", B(rd), B(data), B(ipa), B(src), B(flags)).ret;
  }
  data_create_unknown(rd: number, data: number, ipa: number): number {
    return this.raw("dataCreateUnknown", B(rd), B(data), B(ipa)).ret;
  }
  data_destroy(rd: number, ipa: number): { ret: number; data: number; top: number } {
    const o = this.raw("dataDestroy", B(rd), B(ipa));
    return { ret: o.ret, data: Number(o.x1), top: Number(o.x2) };
  }
}

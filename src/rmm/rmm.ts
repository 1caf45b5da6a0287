/**
 * The Realm Management Monitor as the host sees it: RMI dispatch over shared state (granules,
 * realms, RTTs, RECs). One instance per Platform. RMI failures are values (packed status);
 * a handler checks every failure condition, in spec order, before it changes anything.
 */
import type { Machine } from "../platform/machine.js";
import { ALL_COMMANDS } from "./commands/index.js";
import { buildTable, fidOf, SMC64_STD_BASE, type RmiAbi, type RmiCommand } from "./dispatch.js";
import { defaultFeatures, type RmmFeatures } from "./features.js";
import { GranuleState, GranuleTable } from "./granule.js";
import type { Realm } from "./realm.js";
import type { Rec } from "./rec.js";
import type { RealmGuest } from "./realm-exec.js";
import type { Rtt } from "./s2tt.js";
import { ERROR_GLOBAL, SMC_UNKNOWN } from "./status.js";
import { RmiTrace, type RmiCallRecord } from "./trace.js";
import type { RmmProgressOptions } from "./commands/v2/state.js";
import type { RmmState } from "./state.js";

export interface RmmOptions {
  abi?: RmiAbi;
  features?: Partial<RmmFeatures>;
  /** v2.0 only: keep the v1.0 RTT_MAP/UNMAP_UNPROTECTED and REC_AUX_COUNT calls (v13). */
  v1Compat?: boolean;
  /** Record every call (default true). */
  trace?: boolean;
  /** v2.0: when the range commands stop early (partial progress); see src/rmm/commands/v2/state.ts. */
  progress?: RmmProgressOptions;
  /** v2.0: start in the ACTIVE state (skip RMM_CONFIG_SET + RMM_ACTIVATE); default false. */
  startActive?: boolean;
}

/**
 * Fault injection hook: called before a command runs. Returning a packed status makes the RMM
 * return it without running the command (state unchanged); undefined lets the call proceed.
 */
export type RmiInterceptor = (cmd: RmiCommand, args: readonly bigint[]) => number | undefined;

/** The RMI range of function numbers (SMC64_RMI_FNUM_MIN/MAX in TF-RMM smc.h). */
export const RMI_FNUM_MIN = 0x150;
export const RMI_FNUM_MAX = 0x24f;

const NO_REGS: bigint[] = [];

const STD_BASE_N = BigInt(SMC64_STD_BASE);
/** The last function ID of the SMC64 standard range this table looks up (fnum 0xffff). */
const STD_LAST_N = STD_BASE_N + 0xffffn;
const TWO_64 = 1n << 64n;

/** A register value wrapped to 64 bits (no new bigint when it already fits). */
function u64(v: bigint): bigint {
  return v >= 0n && v < TWO_64 ? v : BigInt.asUintN(64, v);
}

/** x0 as a bigint: each packed status (< 2^16) made once. */
const X0_BIGINT: bigint[] = [];
function x0Reg(x0: number): bigint {
  let b = X0_BIGINT[x0];
  if (b === undefined) X0_BIGINT[x0] = b = BigInt(x0);
  return b;
}

/** The first `n` argument registers as a list (a fresh array; NO_REGS when n is 0). */
function argList(n: number, x1: bigint, x2: bigint, x3: bigint, x4: bigint, x5: bigint, x6: bigint): bigint[] {
  switch (n) {
    case 0:
      return NO_REGS;
    case 1:
      return [x1];
    case 2:
      return [x1, x2];
    case 3:
      return [x1, x2, x3];
    case 4:
      return [x1, x2, x3, x4];
    case 5:
      return [x1, x2, x3, x4, x5];
    default:
      return [x1, x2, x3, x4, x5, x6];
  }
}

export class Rmm implements RmmState {
  readonly abi: RmiAbi;
  readonly features: RmmFeatures;
  readonly granules = new GranuleTable();
  /** RD granule index -> realm. */
  readonly realms = new Map<number, Realm>();
  /** RTT granule index -> table. */
  readonly rtts = new Map<number, Rtt>();
  /** REC granule index -> REC. */
  readonly recs = new Map<number, Rec>();
  /** VMIDs in use (v1.0: given by the host in RealmParams). */
  readonly vmids = new Set<number>();
  readonly table: Map<number, RmiCommand>;
  /** The table as an array indexed by fnum (the SMC entry's lookup). */
  private readonly byFnum: (RmiCommand | undefined)[] = [];
  readonly trace = new RmiTrace();
  /** Output registers x1..x4 of the current call. */
  out1 = 0n;
  out2 = 0n;
  out3 = 0n;
  out4 = 0n;
  interceptor: RmiInterceptor | undefined;
  /**
   * The realm guest model REC_ENTER runs (src/rmm/realm-exec.ts): called with the vCPU after the
   * entry checks and completions; undefined: every REC_ENTER exits with RMI_EXIT_IRQ.
   */
  guest: RealmGuest | undefined;
  /**
   * RMM global state. v1.0 is always active; a v2.0 RMM starts in INIT and only VERSION, FEATURES,
   * RMM_CONFIG_GET/SET and RMM_ACTIVATE work until RMM_ACTIVATE completes (others: RMI_ERROR_GLOBAL).
   */
  active: boolean;
  /** Per-ABI state that command families keep (e.g. the v2.0 RMM global state, SROs). */
  readonly ext: Record<string, unknown> = {};
  /** v2.0 with the v1.0 compatibility rows (the bet0 RMM v13 ran against: no REALM_TERMINATE step needed). */
  readonly v1Compat: boolean;

  constructor(readonly machine: Machine, opts: RmmOptions = {}) {
    this.abi = opts.abi ?? "1.0";
    if (this.abi !== "1.0" && this.abi !== "2.0") throw new RangeError(`rmm: expected "1.0" or "2.0", got ${String(this.abi)}`);
    this.features = { ...defaultFeatures(machine.paBits), ...opts.features };
    this.table = buildTable(ALL_COMMANDS, this.abi, opts.v1Compat ?? false);
    const top = Math.max(...this.table.keys());
    for (let f = 0; f <= top; f++) this.byFnum.push(this.table.get(f));
    this.v1Compat = this.abi === "2.0" && opts.v1Compat === true;
    this.trace.enabled = opts.trace ?? true;
    this.active = this.abi === "1.0";
    if (this.abi === "2.0" && opts.startActive === true) this.active = true;
    if (opts.progress !== undefined) this.ext.progress = opts.progress;
  }

  command(name: string): RmiCommand | undefined {
    for (const c of this.table.values()) if (c.name === name || c.method === name) return c;
    return undefined;
  }

  /** Run one command with its registers; returns packed x0 (status | index << 8). */
  call(cmd: RmiCommand, x1 = 0n, x2 = 0n, x3 = 0n, x4 = 0n, x5 = 0n, x6 = 0n): number {
    this.out1 = this.out2 = this.out3 = this.out4 = 0n;
    let x0: number | undefined;
    let injected = false;
    // the argument registers as a list, built once for the interceptor and the trace record
    let args: bigint[] | undefined;
    if (this.interceptor !== undefined) {
      args = argList(cmd.args.length, x1, x2, x3, x4, x5, x6);
      x0 = this.interceptor(cmd, args);
      injected = x0 !== undefined;
    }
    if (x0 === undefined) {
      x0 = !this.active && !cmd.beforeActivate ? ERROR_GLOBAL : cmd.handler(this, x1, x2, x3, x4, x5, x6);
    }
    if (this.trace.wanted) {
      // the interceptor's list is reused (it gets it read-only)
      if (args === undefined) args = argList(cmd.args.length, x1, x2, x3, x4, x5, x6);
      const no = cmd.outs.length;
      const outs = no === 0 ? NO_REGS : no === 1 ? [this.out1] : no === 2 ? [this.out1, this.out2] : [this.out1, this.out2, this.out3, this.out4].slice(0, no);
      const rec: RmiCallRecord = { seq: this.trace.seq++, name: cmd.name, args, x0, outs };
      if (injected) rec.injected = true;
      this.trace.push(rec);
    } else {
      this.trace.seq++;
    }
    return x0;
  }

  /** SMCCC entry: returns [x0, x1, x2, x3, x4]. Unknown RMI function IDs give SMC_UNKNOWN. */
  smc(fid: bigint, args: readonly bigint[]): bigint[] {
    const a = (i: number) => u64(args[i] ?? 0n);
    return this.smcRegs(u64(fid), a(0), a(1), a(2), a(3), a(4), a(5));
  }

  /**
   * SMCCC entry with the function ID and X1..X6 already 64-bit register values (what `smc` and
   * `Platform.smc` make of their arguments): returns a fresh [x0, x1, x2, x3, x4].
   */
  smcRegs(f: bigint, x1: bigint, x2: bigint, x3: bigint, x4: bigint, x5: bigint, x6: bigint): bigint[] {
    // fnum = f - SMC64_STD_BASE when f is in the standard range (f < 2^53 there: Number is exact)
    const fnum = f >= STD_BASE_N && f <= STD_LAST_N ? Number(f) - SMC64_STD_BASE : -1;
    const cmd = fnum >= 0 && fnum < this.byFnum.length ? this.byFnum[fnum] : undefined;
    if (cmd === undefined) {
      if (this.trace.wanted) {
        const name = fnum >= RMI_FNUM_MIN && fnum <= RMI_FNUM_MAX ? `RMI_UNKNOWN_${fnum.toString(16)}` : `SMC_${f.toString(16)}`;
        this.trace.push({ seq: this.trace.seq++, name, args: [], x0: -1, outs: [] });
      }
      return [SMC_UNKNOWN, 0n, 0n, 0n, 0n];
    }
    const x0 = this.call(cmd, x1, x2, x3, x4, x5, x6);
    return [x0Reg(x0), this.out1, this.out2, this.out3, this.out4];
  }

  fid(name: string): bigint {
    const c = this.command(name);
    if (c === undefined) throw new RangeError(`unknown RMI command '${name}' for RMM ${this.abi}`);
    return fidOf(c);
  }

  /**
   * The RD granule of the realm owning granule `g` (RD, REC, REC_AUX, RTT, DATA), or undefined.
   * For inspection only: DATA and REC_AUX are found by a search (cost proportional to what is mapped).
   */
  ownerOf(g: number): number | undefined {
    switch (this.granules.state(g)) {
      case GranuleState.RD:
        return g;
      case GranuleState.REC:
        return this.recs.get(g)?.rd;
      case GranuleState.RTT:
        return this.rtts.get(g)?.rd;
      case GranuleState.REC_AUX:
        for (const r of this.recs.values()) if (r.aux.includes(g)) return r.rd;
        return undefined;
      case GranuleState.DATA: {
        const pa = g * 4096;
        for (const t of this.rtts.values()) {
          const size = 4096 * 512 ** (3 - t.level);
          for (let i = 0; i < t.entries; i++) {
            const k = t.kind[i]!;
            if (k >= 3 && k <= 5 && pa >= t.addr[i]! && pa < t.addr[i]! + size) return t.rd;
          }
        }
        return undefined;
      }
      default:
        return undefined;
    }
  }

  /** Granules by state (accounting, O(1)). */
  granuleCounts(): Record<string, number> {
    const g = this.granules;
    return {
      DELEGATED: g.countOf(GranuleState.DELEGATED),
      RD: g.countOf(GranuleState.RD),
      REC: g.countOf(GranuleState.REC),
      REC_AUX: g.countOf(GranuleState.REC_AUX),
      DATA: g.countOf(GranuleState.DATA),
      RTT: g.countOf(GranuleState.RTT),
      PARTIAL: g.countOf(GranuleState.PARTIAL),
      INTERNAL: g.countOf(GranuleState.INTERNAL),
    };
  }
}

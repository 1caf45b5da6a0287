/**
 * The host's RMI call layer (Linux arch/arm64/include/asm/rmi_cmds.h): thin wrappers that issue
 * one RMI command through the RMM's dispatch table and return the packed result
 * (`status | index << 8`) as the kernel sees it in x0, plus the output registers the posted
 * wrapper reads. Register order as posted: v9 04/43 (stand-in for v8/v10; its changelog: only
 * rmi_rtt_read_entry changed since v8), v12 04/46, v13 06/48 (+ 05/48 for the temporary v1.0
 * SMCs), v14 05/44. Where a v13/v14 wrapper has `if (RMI_RETURN_STATUS(res.a0) == RMI_INCOMPLETE)
 * return WARN_ON(res.a0);` (GRANULE_RANGE_(UN)DELEGATE, RTT_DATA_MAP, GPT_L1_CREATE) the wrapper
 * here WARNs and returns 1 without reading the outputs.
 * Addresses are JS numbers inside the host (every PA/IPA < 2^52) and bigint at the RMI edge.
 */
import { lastValue } from "../arch/memo.js";
import type { RmiCommand } from "../rmm/dispatch.js";
import { rmiArg } from "../system/rmi-api.js";
import { RANGE_DESC, encodeRangeList } from "../rmm/abi/range-desc.js";
import { KernelHang } from "../sched/coop.js";
import { RmiStatus } from "../rmm/status.js";
import { Ripas } from "../arch/ripas.js";

/** The RMI status codes the kernel names (rmi_smc.h), defined once in src/rmm/status.ts. */
export const RMI_SUCCESS = RmiStatus.RMI_SUCCESS;
export const RMI_ERROR_INPUT = RmiStatus.RMI_ERROR_INPUT;
export const RMI_ERROR_REALM = RmiStatus.RMI_ERROR_REALM;
export const RMI_ERROR_REC = RmiStatus.RMI_ERROR_REC;
export const RMI_ERROR_RTT = RmiStatus.RMI_ERROR_RTT;
export const RMI_BUSY = RmiStatus.RMI_BUSY;
export const RMI_ERROR_GLOBAL = RmiStatus.RMI_ERROR_GLOBAL;
export const RMI_INCOMPLETE = RmiStatus.RMI_INCOMPLETE;
export const RMI_BLOCKED = RmiStatus.RMI_BLOCKED;
/** GPT_L1_CREATE's "the L1 table already exists" (v13 rmi.c rmi_create_gpts). */
export const RMI_ERROR_GPT = RmiStatus.RMI_ERROR_GPT;

/** RMI_ABI_VERSION(major, minor) (v12 03/46 rmi_smc.h). */
export const RMI_ABI_VERSION_1_0 = 0x1_0000n;
export const RMI_ABI_VERSION_2_0 = 0x2_0000n;

/** RmiFeatureRegister0 fields the kernel reads (v12 03/46, v14 04/44 rmi_smc.h). */
export const RMI_FEATURE_REGISTER_0_S2SZ = 0xffn;
/** v1.0 only (v12 03/46); v2.0 moved the hashes to register 1. */
export const RMI_FEATURE_REGISTER_0_HASH_SHA_256 = 1n << 32n;
export const RMI_FEATURE_REGISTER_0_HASH_SHA_512 = 1n << 33n;

/** enum ripas (rmi_smc.h): the RmiRipas encoding, defined once in src/arch/ripas.ts. */
export const RMI_EMPTY = Ripas.EMPTY;
export const RMI_RAM = Ripas.RAM;
export const RMI_DESTROYED = Ripas.DESTROYED;

/** RMI_INCOMPLETE result data (x0 bits [15:8]): MEMREQ [9:8], CAN_CANCEL [10]. */
export const RMI_OP_MEM_REQ_NONE = 0;
export const RMI_OP_MEM_REQ_DONATE = 1;
export const RMI_OP_MEM_REQ_RECLAIM = 2;
export function RMI_RETURN_MEMREQ(ret: number): number {
  return RMI_RETURN_INDEX(ret) % 4;
}
export function RMI_RETURN_CANCANCEL(ret: number): boolean {
  return Math.floor(RMI_RETURN_INDEX(ret) / 4) % 2 === 1;
}

/** SZ field of a descriptor (bits [1:0]) replaced by 3 - SZ: the other SZ convention (S07). */
export function flipDescSize(d: bigint): bigint {
  const v = BigInt.asUintN(64, d);
  const sz = (v >> RANGE_DESC.SZ_SHIFT) & RANGE_DESC.SZ_MASK;
  return v - (sz << RANGE_DESC.SZ_SHIFT) + ((3n - sz) << RANGE_DESC.SZ_SHIFT);
}

export function RMI_RETURN_STATUS(ret: number): number {
  return ret % 256;
}
export function RMI_RETURN_INDEX(ret: number): number {
  return Math.floor(ret / 256) % 256;
}

/**
 * rmi_smccc_invoke (v14 10/44): every SMC of an SRO (rmi_sro_execute's first call, OP_CONTINUE,
 * OP_MEM_DONATE, OP_MEM_RECLAIM) is issued again while it answers BUSY or BLOCKED (bounded here:
 * a call that never gets through is reported as a hang).
 */
export function rmi_smccc_invoke<T extends { ret: number }>(fn: string, call: () => T): T {
  for (let n = 0; ; n++) {
    const o = call();
    const st = RMI_RETURN_STATUS(o.ret);
    if (st !== RMI_BUSY && st !== RMI_BLOCKED) return o;
    if (n >= 4096) throw new KernelHang(fn, n);
  }
}

/** A host address as a register; NULL (modelled as -1, e.g. an RD never set) is passed as 0. */
const B = (n: number): bigint => (n < 0 ? 0n : BigInt(n));
/** A `long level` argument as the register holds it (level -1 with LPA2 is all ones). */
const L = (level: number): bigint => BigInt.asUintN(64, BigInt(level));

export interface RmiOut {
  ret: number;
  x1: bigint;
  x2: bigint;
  x3: bigint;
  x4: bigint;
}

/**
 * What the wrappers issue RMI commands through (the Platform provides it): the RMM's command table
 * and its call entry as an SMC reaches it (interceptor, handler, trace), the output registers, the
 * ABI in use, and NS memory for the SRO address lists.
 */
export interface RmiConduit {
  readonly abi: string;
  readonly rmm: {
    command(name: string): RmiCommand | undefined;
    call(cmd: RmiCommand, x1?: bigint, x2?: bigint, x3?: bigint, x4?: bigint, x5?: bigint): number;
    readonly out1: bigint;
    readonly out2: bigint;
    readonly out3: bigint;
    readonly out4: bigint;
  };
  readonly ns: {
    write(pa: bigint, bytes: Uint8Array): void;
    read(pa: bigint, length: number): Uint8Array;
  };
}

export class RmiClient {
  /** Per wrapper name: the dispatch table's row (looked up once, not per call). */
  private readonly cmds = new Map<string, RmiCommand>();
  /**
   * S07: "inverted" models an RMM that reads and writes RmiAddrRangeDesc.SZ as 3 - size class
   * (PAGE = 3 .. P4D = 0). The simulated RMM uses PAGE = 0, so descriptors crossing the SMC
   * boundary (map operands, unmap/reclaim outputs, donate lists and requests) are translated here.
   */
  descConvention: "bet1" | "inverted" = "bet1";
  /** An NS page of the kernel's for address lists (donate/reclaim). */
  listPage = -1;
  /** Where a wrapper's WARN_ON goes (the host's WARN log); set by the Host. */
  onWarn: ((fn: string, msg: string) => void) | undefined;

  constructor(private readonly p: RmiConduit) {}

  /** `return WARN_ON(res.a0);` of a v13/v14 wrapper that does not handle RMI_INCOMPLETE ("FIXME"). */
  private incompleteWarn(fn: string, ret: number): number {
    if (this.onWarn === undefined) throw new Error(`host: ${fn} WARNed with no host attached to the RMI client`);
    this.onWarn(fn, `RMI_INCOMPLETE (0x${ret.toString(16)}) not handled (FIXME): WARN_ON(res.a0) returned as 1`);
    return 1;
  }

  private desc(d: bigint): bigint {
    return this.descConvention === "inverted" ? flipDescSize(d) : d;
  }

  /** Is the command in this RMM's table? */
  has(method: string): boolean {
    return this.p.rmm.command(method) !== undefined;
  }

  /**
   * Call a command by wrapper name; returns packed x0 and outputs in order. The call goes to the
   * RMM's dispatch (`rmm.call` with the table's row, as an SMC reaches it: interceptor, handler,
   * trace), with the typed API's argument checks and without building its result object.
   */
  raw(method: string, a1?: bigint, a2?: bigint, a3?: bigint, a4?: bigint, a5?: bigint): RmiOut {
    const given = arguments.length - 1;
    const ret = this.call(method, given, a1, a2, a3, a4, a5);
    const no = this.lastOuts;
    const rmm = this.p.rmm;
    return { ret, x1: no > 0 ? rmm.out1 : 0n, x2: no > 1 ? rmm.out2 : 0n, x3: no > 2 ? rmm.out3 : 0n, x4: no > 3 ? rmm.out4 : 0n };
  }

  /** raw() of a wrapper that returns only the packed x0 (`res.a0`): no result object. */
  private rawRet(method: string, a1?: bigint, a2?: bigint, a3?: bigint, a4?: bigint, a5?: bigint): number {
    return this.call(method, arguments.length - 1, a1, a2, a3, a4, a5);
  }

  /** Output registers of the command called last (for raw()). */
  private lastOuts = 0;

  /** The call of raw() and rawRet(): the command's row, the argument checks, rmm.call, the packed x0. */
  private call(method: string, given: number, a1?: bigint, a2?: bigint, a3?: bigint, a4?: bigint, a5?: bigint): number {
    let cmd = this.cmds.get(method);
    if (cmd === undefined) {
      cmd = this.p.rmm.command(method);
      if (cmd === undefined || cmd.method !== method) {
        throw new Error(`host: the RMM (${this.p.abi}) has no command '${method}' (not implemented yet?)`);
      }
      this.cmds.set(method, cmd);
    }
    const n = cmd.args.length;
    if (given > n) throw new TypeError(`rmi.${method}: takes ${n} argument(s), got ${given}`);
    const x0 = this.p.rmm.call(
      cmd,
      n > 0 ? rmiArg(cmd, 0, a1) : 0n,
      n > 1 ? rmiArg(cmd, 1, a2) : 0n,
      n > 2 ? rmiArg(cmd, 2, a3) : 0n,
      n > 3 ? rmiArg(cmd, 3, a4) : 0n,
      n > 4 ? rmiArg(cmd, 4, a5) : 0n,
    );
    this.lastOuts = cmd.outs.length;
    // the packed x0 as the kernel reads it: status | index << 8 (x0 bits [15:0])
    return (x0 % 256) + (Math.floor(x0 / 256) % 256) * 256;
  }


  granule_delegate(pa: number): number {
    return this.rawRet("granuleDelegate", B(pa));
  }
  granule_undelegate(pa: number): number {
    return this.rawRet("granuleUndelegate", B(pa));
  }
  realm_create(rd: number, params: number): number {
    return this.rawRet("realmCreate", this.rdReg(rd), B(params));
  }
  realm_activate(rd: number): number {
    return this.rawRet("realmActivate", this.rdReg(rd));
  }
  realm_destroy(rd: number): number {
    return this.rawRet("realmDestroy", this.rdReg(rd));
  }
  rec_aux_count(rd: number): { ret: number; auxCount: number } {
    const o = this.raw("recAuxCount", this.rdReg(rd));
    return { ret: o.ret, auxCount: Number(o.x1) };
  }
  rec_create(rd: number, rec: number, params: number): number {
    return this.rawRet("recCreate", this.rdReg(rd), B(rec), B(params));
  }
  rec_destroy(rec: number): number {
    return this.rawRet("recDestroy", B(rec));
  }
  // The RD, REC and run-page operands as registers, each kept for the last value: a VM's calls
  // name the same RD and a vCPU enters with the same (rec, run) pair every time.
  private readonly rdReg = lastValue(B);
  private readonly recReg = lastValue(B);
  private readonly runReg = lastValue(B);
  rec_enter(rec: number, run: number): number {
    return this.rawRet("recEnter", this.recReg(rec), this.runReg(run));
  }
  psci_complete(calling: number, target: number, status: number): number {
    return this.rawRet("psciComplete", B(calling), B(target), BigInt.asUintN(64, BigInt(status)));
  }
  rtt_create(rd: number, rtt: number, ipa: number, level: number): number {
    return this.rawRet("rttCreate", this.rdReg(rd), B(rtt), B(ipa), L(level));
  }
  rtt_destroy(rd: number, ipa: number, level: number): { ret: number; rtt: number; top: number } {
    const o = this.raw("rttDestroy", this.rdReg(rd), B(ipa), L(level));
    return { ret: o.ret, rtt: Number(o.x1), top: Number(o.x2) };
  }
  rtt_fold(rd: number, ipa: number, level: number): { ret: number; rtt: number } {
    const o = this.raw("rttFold", this.rdReg(rd), B(ipa), L(level));
    return { ret: o.ret, rtt: Number(o.x1) };
  }
  rtt_map_unprotected(rd: number, ipa: number, level: number, desc: number): number {
    return this.rawRet("rttMapUnprotected", this.rdReg(rd), B(ipa), L(level), B(desc));
  }
  rtt_unmap_unprotected(rd: number, ipa: number, level: number): { ret: number; top: number } {
    const o = this.raw("rttUnmapUnprotected", this.rdReg(rd), B(ipa), L(level));
    return { ret: o.ret, top: Number(o.x1) };
  }
  rtt_init_ripas(rd: number, base: number, top: number): { ret: number; top: number } {
    const o = this.raw("rttInitRipas", this.rdReg(rd), B(base), B(top));
    return { ret: o.ret, top: Number(o.x1) };
  }
  rtt_set_ripas(rd: number, rec: number, base: number, top: number): { ret: number; top: number } {
    const o = this.raw("rttSetRipas", this.rdReg(rd), B(rec), B(base), B(top));
    return { ret: o.ret, top: Number(o.x1) };
  }
  data_create(rd: number, data: number, ipa: number, src: number, flags: number): number {
    return this.rawRet("dataCreate", this.rdReg(rd), B(data), B(ipa), B(src), B(flags));
  }
  data_create_unknown(rd: number, data: number, ipa: number): number {
    return this.rawRet("dataCreateUnknown", this.rdReg(rd), B(data), B(ipa));
  }
  data_destroy(rd: number, ipa: number): { ret: number; data: number; top: number } {
    const o = this.raw("dataDestroy", this.rdReg(rd), B(ipa));
    return { ret: o.ret, data: Number(o.x1), top: Number(o.x2) };
  }

  // ---- RMI v2.0 (beta): v13 06/48, v14 05/44 ----
  version(req: bigint): RmiOut {
    return this.raw("version", req);
  }
  features(index: number): { ret: number; value: bigint } {
    const o = this.raw("features", B(index));
    return { ret: o.ret, value: o.x1 };
  }
  rmm_config_set(cfg: number): number {
    return this.rawRet("rmmConfigSet", B(cfg));
  }
  /** rmi_rmm_activate(): x0 only (v13 06/48, v14 05/44). */
  rmm_activate(): number {
    return this.rawRet("rmmActivate");
  }
  /** rmi_granule_tracking_get: v13 (addr) -> category, state; v14 (start, end) -> category, state, top. */
  granule_tracking_get(start: number, end: number): { ret: number; category: bigint; state: bigint; top: number } {
    const o = this.raw("granuleTrackingGet", B(start), B(end));
    return { ret: o.ret, category: o.x1, state: o.x2, top: Number(o.x3) };
  }
  /** rmi_gpt_l1_create(addr); RMI_INCOMPLETE -> WARN, 1. */
  gpt_l1_create(addr: number): number {
    const ret = this.rawRet("gptL1Create", B(addr));
    return RMI_RETURN_STATUS(ret) === RMI_INCOMPLETE ? this.incompleteWarn("rmi_gpt_l1_create", ret) : ret;
  }
  /** rmi_granule_range_delegate(base, top, &out_top); RMI_INCOMPLETE -> WARN, 1 (out_top not written). */
  granule_range_delegate(base: number, top: number): { ret: number; top: number } {
    const o = this.raw("granuleRangeDelegate", B(base), B(top));
    if (RMI_RETURN_STATUS(o.ret) === RMI_INCOMPLETE) return { ret: this.incompleteWarn("rmi_granule_range_delegate", o.ret), top: base };
    return { ret: o.ret, top: Number(o.x1) };
  }
  /** rmi_granule_range_undelegate(base, top, &out_top); RMI_INCOMPLETE -> WARN, 1 (out_top not written). */
  granule_range_undelegate(base: number, top: number): { ret: number; top: number } {
    const o = this.raw("granuleRangeUndelegate", B(base), B(top));
    if (RMI_RETURN_STATUS(o.ret) === RMI_INCOMPLETE) return { ret: this.incompleteWarn("rmi_granule_range_undelegate", o.ret), top: base };
    return { ret: o.ret, top: Number(o.x1) };
  }
  rtt_data_map_init(rd: number, data: number, ipa: number, src: number, flags: number): number {
    return this.rawRet("rttDataMapInit", this.rdReg(rd), B(data), B(ipa), B(src), B(flags));
  }
  /**
   * rmi_rtt_data_map(rd, base, top, flags, oaddr, &out_top); RMI_INCOMPLETE -> WARN, 1 (out_top
   * not written: `top` stays `base`). `handle` is x1 as returned (no SRO handling in the posting).
   */
  rtt_data_map(rd: number, base: number, top: number, flags: bigint, oaddr: bigint): { ret: number; top: number; handle: bigint } {
    const o = this.raw("rttDataMap", this.rdReg(rd), B(base), B(top), flags, this.desc(oaddr));
    if (RMI_RETURN_STATUS(o.ret) === RMI_INCOMPLETE) return { ret: this.incompleteWarn("rmi_rtt_data_map", o.ret), top: base, handle: o.x1 };
    return { ret: o.ret, top: Number(o.x1), handle: o.x1 };
  }
  rtt_data_unmap(rd: number, base: number, top: number, flags: bigint, oaddr: bigint): { ret: number; top: number; range: bigint; count: number } {
    const o = this.raw("rttDataUnmap", this.rdReg(rd), B(base), B(top), flags, oaddr);
    return { ret: o.ret, top: Number(o.x1), range: o.x2 === 0n ? 0n : this.desc(o.x2), count: Number(o.x3) };
  }
  rtt_unprot_map(rd: number, base: number, top: number, flags: bigint, oaddr: bigint): { ret: number; top: number } {
    const o = this.raw("rttUnprotMap", this.rdReg(rd), B(base), B(top), flags, this.desc(oaddr));
    return { ret: o.ret, top: Number(o.x1) };
  }
  rtt_unprot_unmap(rd: number, base: number, top: number, flags: bigint, oaddr: bigint): { ret: number; top: number; range: bigint; count: number } {
    const o = this.raw("rttUnprotUnmap", this.rdReg(rd), B(base), B(top), flags, oaddr);
    return { ret: o.ret, top: Number(o.x1), range: o.x2 === 0n ? 0n : this.desc(o.x2), count: Number(o.x3) };
  }
  realm_terminate(rd: number): number {
    return this.rawRet("realmTerminate", this.rdReg(rd));
  }
  /** REC_CREATE v2.0: an SRO (x1 = handle, x2 = donate request). */
  rec_create_sro(rd: number, rec: number, params: number): { ret: number; handle: bigint; request: bigint } {
    const o = rmi_smccc_invoke("rmi_rec_create", () => this.raw("recCreate", this.rdReg(rd), B(rec), B(params)));
    return { ret: o.ret, handle: o.x1, request: this.desc(o.x2) };
  }
  /** REC_DESTROY v2.0: an SRO (x1 = handle). */
  rec_destroy_sro(rec: number): { ret: number; handle: bigint } {
    const o = rmi_smccc_invoke("rmi_rec_destroy", () => this.raw("recDestroy", B(rec)));
    return { ret: o.ret, handle: o.x1 };
  }

  op_continue(handle: bigint): { ret: number; handle: bigint; request: bigint } {
    const o = this.raw("opContinue", handle, 0n);
    return { ret: o.ret, handle: o.x1, request: this.desc(o.x2) };
  }
  /** OP_MEM_DONATE: the descriptors are written to the kernel's list page first. */
  op_mem_donate(handle: bigint, descs: readonly bigint[]): { ret: number; consumed: number; request: bigint } {
    this.p.ns.write(B(this.listPage), encodeRangeList(descs.map((d) => this.desc(d))));
    const o = this.raw("opMemDonate", handle, B(this.listPage), B(descs.length));
    return { ret: o.ret, consumed: Number(o.x1), request: this.desc(o.x2) };
  }
  /** OP_MEM_RECLAIM into the kernel's list page; returns the descriptors written. */
  op_mem_reclaim(handle: bigint, capacity: number): { ret: number; descs: bigint[] } {
    const o = this.raw("opMemReclaim", handle, B(this.listPage), B(capacity));
    const n = RMI_RETURN_STATUS(o.ret) === RMI_INCOMPLETE || o.ret === RMI_SUCCESS ? Number(o.x1) : 0;
    const raw = this.p.ns.read(B(this.listPage), 8 * n);
    const v = new DataView(raw.buffer, raw.byteOffset, raw.byteLength);
    const descs: bigint[] = [];
    for (let i = 0; i < n; i++) descs.push(this.desc(v.getBigUint64(8 * i, true)));
    return { ret: o.ret, descs };
  }
}

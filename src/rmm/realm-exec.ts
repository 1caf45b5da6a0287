/**
 * The realm side of RMI_REC_ENTER: what a realm vCPU can do while the RMM runs it, and how the
 * RMM turns that into a REC exit (or handles it without one).
 *
 * A realm guest model is a function `(vcpu) => void` set on `rmm.guest`. REC_ENTER calls it after
 * the entry checks and after completing pending state (MMIO read value, RIPAS change response,
 * PSCI result, host call). The guest calls actions on the vCPU; the first action that exits ends
 * the run, and REC_ENTER writes run.exit. If the guest returns without exiting, the vCPU takes an
 * interrupt (RMI_EXIT_IRQ). With no guest set, REC_ENTER exits with RMI_EXIT_IRQ.
 *
 * Sources: TF-RMM rmm-spec-v1.0-rel0 runtime/core/exit.c (handle_data_abort,
 * handle_instruction_abort, handle_realm_rsi, emulated/non-emulated ESR masks),
 * runtime/rsi/psci.c, runtime/rsi/memory.c (handle_rsi_ipa_state_set).
 */
import { GRANULE_SIZE, toNum } from "../arch/geometry.js";
import { ESR_ELx_EA, ESR_ELx_EC_DABT_LOW, ESR_ELx_EC_IABT_LOW, ESR_ELx_EC_MASK, ESR_ELx_EC_SHIFT, ESR_ELx_EC_SMC64, ESR_ELx_EC_WFx, ESR_ELx_FnV, ESR_ELx_FSC, ESR_ELx_FSC_FAULT_L, ESR_ELx_FSC_GPF, ESR_ELx_FSC_PERM_L, ESR_ELx_IL, ESR_ELx_ISV, ESR_ELx_SAS, ESR_ELx_SAS_SHIFT, ESR_ELx_SET_MASK, ESR_ELx_SF, ESR_ELx_SRT_SHIFT, ESR_ELx_SSE, ESR_ELx_WFx_ISS_WFE, ESR_ELx_WNR, hpfarFromIpa } from "../arch/esr.js";
import {
  ARM_SMCCC_VERSION_FUNC_ID,
  PSCI_0_2_AFFINITY_LEVEL_ON,
  PSCI_0_2_FN64_AFFINITY_INFO,
  PSCI_0_2_FN64_CPU_ON,
  PSCI_0_2_FN64_CPU_SUSPEND,
  PSCI_0_2_FN_AFFINITY_INFO,
  PSCI_0_2_FN_CPU_OFF,
  PSCI_0_2_FN_CPU_ON,
  PSCI_0_2_FN_CPU_SUSPEND,
  PSCI_0_2_FN_PSCI_VERSION,
  PSCI_0_2_FN_SYSTEM_OFF,
  PSCI_0_2_FN_SYSTEM_RESET,
  PSCI_1_0_FN_PSCI_FEATURES,
  PSCI_RET_ALREADY_ON,
  PSCI_RET_INVALID_ADDRESS,
  PSCI_RET_INVALID_PARAMS,
  PSCI_RET_NOT_SUPPORTED,
  PSCI_RET_SUCCESS,
  PSCI_VERSION,
  isPsciFunctionId,
  psciRetToReg,
} from "../arch/psci.js";
import { Pas } from "../platform/gpt.js";
import { RmiExitReason, mpidrEl1ToRecIndex, recMpidrToMpidrEl1 } from "./abi/rec-params.js";
import { RealmState, type Realm } from "./realm.js";
import type { Rec, RecResumeKind } from "./rec.js";
import { Ripas } from "../arch/ripas.js";
import { S2tte, ripasOf } from "./s2tt.js";
import { rttWalk, type RttStore } from "./walk.js";
import type { Machine } from "../platform/machine.js";

export type RealmGuest = (vcpu: RealmVcpu) => void;

/** What a vCPU reads of the RMM (the RMM state has both): the machine and the RTTs its walks read. */
export interface VcpuRmm extends RttStore {
  readonly machine: Machine;
}

// ---- ESR_EL2 as the RMM reports it (encodings: src/arch/esr.ts) ----
/** EC | SET[12:11] | FnV | EA | FSC: what the host sees of a non-emulatable abort (TF-RMM exit.c ESR_NONEMULATED_ABORT_MASK). */
export const ESR_NONEMULATED_ABORT_MASK = ESR_ELx_EC_MASK | ESR_ELx_SET_MASK | ESR_ELx_FnV | ESR_ELx_EA | ESR_ELx_FSC;
/** ... plus ISV, SAS, SF and WnR for an emulatable one (ESR_EMULATED_ABORT_MASK). SRT is not reported. */
export const ESR_EMULATED_ABORT_MASK = ESR_NONEMULATED_ABORT_MASK | ESR_ELx_ISV | ESR_ELx_SAS | ESR_ELx_SF | ESR_ELx_WNR;

const NOT_ESR_ISV_BIT = BigInt.asUintN(64, ~ESR_ELx_ISV);
/** ESR.SAS for an access of 1, 2, 4 or 8 bytes, and ESR.SRT for X0..X31: made once, not per abort. */
const ISS_SAS: bigint[] = [];
for (const [size, sas] of [[1, 0n], [2, 1n], [4, 2n], [8, 3n]] as const) ISS_SAS[size] = sas << ESR_ELx_SAS_SHIFT;
const ISS_SRT: bigint[] = Array.from({ length: 32 }, (_, rt) => BigInt(rt) << ESR_ELx_SRT_SHIFT);

/** An abort's syndrome: what the host is told (ESR & mask) and what last_run_info keeps. */
interface AbortSyndrome {
  reported: bigint;
  kept: bigint;
}

/** last_run_info keeps the full ESR, with ISV cleared when the host was not told ISV = 1. */
function abortSyndrome(esr: bigint, mask: bigint): AbortSyndrome {
  const reported = esr & mask;
  return { reported, kept: (reported & ESR_ELx_ISV) === 0n ? esr & NOT_ESR_ISV_BIT : esr };
}

/** Syndromes of protected-IPA aborts by access shape and walk level (see access()). */
const PROTECTED_ABORT: (AbortSyndrome | undefined)[] = [];

/** The syndrome of a trapped SMC (RSI and PSCI calls): EC_SMC64 | IL. */
const ESR_SMC64 = (ESR_ELx_EC_SMC64 << ESR_ELx_EC_SHIFT) | ESR_ELx_IL;

/** Little-endian value of `size` bytes at `off` of a granule buffer (undefined: never written, zero). */
function readLe(page: Uint8Array | undefined, off: number, size: number): bigint {
  if (page === undefined) return 0n;
  let lo = 0;
  let hi = 0;
  for (let i = Math.min(size, 4) - 1; i >= 0; i--) lo = lo * 256 + page[off + i]!;
  for (let i = size - 1; i >= 4; i--) hi = hi * 256 + page[off + i]!;
  if (hi === 0) return lo === 0 ? 0n : BigInt(lo);
  return BigInt(hi) * 0x1_0000_0000n + BigInt(lo);
}

// ---- RSI (RMM spec B5 RSI); PSCI encodings: src/arch/psci.ts ----
export const RSI_IPA_STATE_SET = 0xc400_0197n;
export const RSI_HOST_CALL = 0xc400_0199n;
export const RSI_SUCCESS = 0n;
export const RSI_ERROR_INPUT = 1n;
export const RSI_ACCEPT = 0n;
export const RSI_REJECT = 1n;
/** RsiRipasChangeFlags bit 0. */
export const RSI_CHANGE_DESTROYED = 1n;

/** The REC exit the RMM writes into RmiRecRun.exit (all other fields zero). */
export interface RecExit {
  reason: RmiExitReason;
  esr: bigint;
  far: bigint;
  hpfar: bigint;
  /** 31 registers; only those the exit reason defines are non-zero. */
  gprs: bigint[];
  ripasBase: bigint;
  ripasTop: bigint;
  ripasValue: number;
  imm: bigint;
}

/** Shared by every exit that reports no register (frozen: an exit that sets one takes a copy, `exitGprs`). */
const ZERO_GPRS: bigint[] = Object.freeze(new Array<bigint>(31).fill(0n)) as bigint[];

export function emptyExit(reason: RmiExitReason): RecExit {
  return { reason, esr: 0n, far: 0n, hpfar: 0n, gprs: ZERO_GPRS, ripasBase: 0n, ripasTop: 0n, ripasValue: 0, imm: 0n };
}

/** True if the exit reports no register (its gprs are the shared zeroes). */
export function exitGprsZero(e: RecExit): boolean {
  return e.gprs === ZERO_GPRS;
}

/** The exit's registers, writable (a copy of the shared zeroes on first use). */
export function exitGprs(e: RecExit): bigint[] {
  if (e.gprs === ZERO_GPRS) e.gprs = ZERO_GPRS.slice();
  return e.gprs;
}

/** What REC_ENTER completed before running the vCPU (the results of the previous exit). */
export interface RecEntryInfo {
  /** Why the vCPU last stopped: "reset" for a REC that has not run since creation or CPU_ON. */
  from: RecResumeKind;
  /** The host set INJECT_SEA: the faulting access did not complete; the vCPU takes an SEA. */
  seaInjected: boolean;
  /** The host set EMUL_MMIO: the faulting access completed and PC moved past it. */
  mmioCompleted: boolean;
  /** For an emulated MMIO read: the value written to the target register. */
  mmioValue?: bigint;
  /** A RIPAS change request completed: x0 = RSI_SUCCESS, x1 = how far it got, x2 = ACCEPT/REJECT. */
  rsiResult?: { x0: bigint; x1: bigint; x2: bigint };
  /** After a PSCI exit: x0 as the realm's PSCI call returns it (after PSCI_COMPLETE when needed). */
  psciResult?: bigint;
  /** After a host call: enter.gprs[0..30] as the host left them. */
  hostCallGprs?: bigint[];
}

export type AccessKind = "read" | "write" | "exec";
/** "ok": the access completed; "sea": the RMM injected a synchronous external abort (no exit); "exit": a REC exit. */
export type AccessOutcome = "ok" | "sea" | "exit";

export interface AccessOptions {
  /** Access size in bytes (1, 2, 4, 8; default 8). The IPA must be aligned to it. */
  size?: 1 | 2 | 4 | 8;
  /** The register loaded or stored (default 0; 31 is XZR). */
  rt?: number;
  /** The virtual address (FAR); default: the IPA (stage 1 off). */
  va?: bigint;
  /** A sign-extending load (LDRSB/LDRSH/LDRSW): ESR ISS.SSE = 1. Default false. */
  signed?: boolean;
  /** The register is 64 bits wide (Xt; ESR ISS.SF = 1). Default: size == 8. */
  sf?: boolean;
}

/**
 * The value a load of `size` bytes leaves in its register: sign-extended when `signed`, then
 * truncated to 32 bits for a W register (Arm ARM LDRS*; TF-RMM run.c complete_mmio_emulation).
 */
export function loadValue(raw: bigint, size: number, signed: boolean, sf: boolean): bigint {
  if (raw === 0n) return 0n; // zero in every width and sign
  let v = BigInt.asUintN(size * 8, raw);
  if (signed) v = BigInt.asUintN(64, BigInt.asIntN(size * 8, v));
  return sf ? v : BigInt.asUintN(32, v);
}

/**
 * A realm vCPU while REC_ENTER runs it. Actions model what the vCPU executes; each returns what
 * the realm observes, or "exit" when the RMM left the realm (after which no action is allowed).
 */
export class RealmVcpu {
  /** The exit, once an action exited. */
  exit: RecExit | undefined;
  /** SEAs the RMM injected into the realm during this run (no exit). */
  seaCount = 0;

  constructor(
    private readonly rmm: VcpuRmm,
    readonly realm: Realm,
    private readonly rec: Rec,
    /** The results of the previous exit, completed by this REC_ENTER. */
    readonly entry: RecEntryInfo,
  ) {}

  /** REC index (0, 1, ...). */
  get index(): number {
    return this.rec.index;
  }

  /** MPIDR_EL1 as the realm reads it (Aff3 at [39:32], bit 31 set). */
  get mpidr(): bigint {
    return recMpidrToMpidrEl1(this.rec.mpidr);
  }

  /** PA of the realm's RD (to tell realms apart in a shared guest function). */
  get rd(): bigint {
    return BigInt(this.realm.rd * GRANULE_SIZE);
  }

  get pc(): bigint {
    return this.rec.pc;
  }

  set pc(v: bigint) {
    this.rec.pc = BigInt.asUintN(64, v);
  }

  /** X0..X30 (live: writes change the REC's registers). */
  get gprs(): bigint[] {
    return this.rec.gprs;
  }

  /** Per-vCPU state a guest model keeps across runs. */
  get state(): unknown {
    return this.rec.guestState;
  }

  set state(v: unknown) {
    this.rec.guestState = v;
  }

  get exited(): boolean {
    return this.exit !== undefined;
  }

  private running(what: string): void {
    if (this.exit !== undefined) throw new Error(`RealmVcpu.${what}: REC ${this.rec.index} has already exited (${RmiExitReason[this.exit.reason]})`);
  }

  private leave(e: RecExit, resume: RecResumeKind): "exit" {
    this.exit = e;
    this.rec.resume = resume;
    return "exit";
  }

  /** The SMC instruction completes: PC moves past it (TF-RMM exit.c advance_pc). */
  private advancePc(): void {
    this.rec.pc = BigInt.asUintN(64, this.rec.pc + 4n);
  }

  /** Return to the realm from an SMC with x0..x3 = results (x4.. preserved, SMCCC). */
  private smcReturn(x0: bigint, x1 = 0n, x2 = 0n, x3 = 0n): void {
    const g = this.rec.gprs;
    g[0] = x0;
    g[1] = x1;
    g[2] = x2;
    g[3] = x3;
  }

  /**
   * A load, store or instruction fetch at `ipa` (TF-RMM runtime/core/exit.c handle_data_abort, handle_instruction_abort):
   * * outside the IPA space, protected with RIPAS EMPTY, or a fetch from the unprotected half:
   *   the RMM injects an SEA into the realm, no exit ("sea");
   * * protected and ASSIGNED RAM, or unprotected and mapped with the permission: "ok" (the data
   *   moves: a load writes gprs[rt]);
   * * protected, RIPAS RAM but unassigned, or RIPAS DESTROYED: exit SYNC, non-emulatable
   *   (esr = EC | FSC, far = 0, hpfar = IPA);
   * * unprotected and not mapped (or no permission): exit SYNC, emulatable (ISV, SAS, SF, WnR
   *   kept; far = VA with the page offset cleared; a store's value in exit gprs[0]).
   */
  access(ipa: bigint, kind: AccessKind, value = 0n, opts: AccessOptions = {}): AccessOutcome {
    this.running("access");
    if (kind !== "read" && kind !== "write" && kind !== "exec") throw new TypeError(`RealmVcpu.access: kind must be "read", "write" or "exec", got ${String(kind)}`);
    const size = opts.size ?? 8;
    if (size !== 8 && size !== 4 && size !== 2 && size !== 1) throw new RangeError(`RealmVcpu.access: size must be 1, 2, 4 or 8, got ${size}`);
    const rt = opts.rt ?? 0;
    if (!Number.isInteger(rt) || rt < 0 || rt > 31) throw new RangeError(`RealmVcpu.access: rt must be 0..31, got ${rt}`);
    const signed = opts.signed === true && kind === "read";
    const sf = opts.sf ?? size === 8;
    if (size === 8 && !sf) throw new RangeError("RealmVcpu.access: an 8-byte access needs a 64-bit register (sf)");
    const a = toNum(ipa);
    // a % size !== 0, without fmod (a is above 2^31)
    if (Math.floor(a / size) * size !== a) throw new RangeError(`RealmVcpu.access: ipa 0x${ipa.toString(16)} is not aligned to the access size ${size}`);
    const realm = this.realm;
    const write = kind === "write";
    const storeVal = write && rt !== 31 ? BigInt.asUintN(size * 8, value) : 0n;
    if (write && rt !== 31) this.rec.gprs[rt] = storeVal;
    // outside the realm's IPA space: SEA into the realm
    if (a >= realm.ipaSize) return this.injectSea();
    const w = rttWalk(this.rmm, realm, a, 3);
    const t = w.table;
    const k = t.kind[w.index]! as S2tte;
    const off = a - t.ipaOf(w.index);
    if (realm.addrInPar(a)) {
      if (ripasOf(k) === Ripas.EMPTY) return this.injectSea();
      if (k === S2tte.ASSIGNED_RAM) {
        this.move(t.addr[w.index]! + off, kind, size, rt, storeVal, signed, sf);
        return "ok";
      }
      // UNASSIGNED_RAM, UNASSIGNED_DESTROYED, ASSIGNED_DESTROYED: stage-2 translation fault.
      // The syndrome depends only on the access's shape and the walk level: made once per shape.
      const shape = ((((((kind === "exec" ? 2 : write ? 1 : 0) * 9 + size) * 32 + rt) * 2 + (signed ? 1 : 0)) * 2 + (sf ? 1 : 0)) * 5) + (w.level + 1);
      let syn = PROTECTED_ABORT[shape];
      if (syn === undefined) {
        const ec = kind === "exec" ? ESR_ELx_EC_IABT_LOW : ESR_ELx_EC_DABT_LOW;
        const isv = kind === "exec" ? 0n : ESR_ELx_ISV; // the hardware syndrome; the RMM hides ISV for the PAR
        const esr = (ec << ESR_ELx_EC_SHIFT) | ESR_ELx_IL | isv | ESR_ELx_FSC_FAULT_L(w.level) | this.dabtIss(kind, size, rt, signed, sf);
        PROTECTED_ABORT[shape] = syn = abortSyndrome(esr, ESR_NONEMULATED_ABORT_MASK);
      }
      return this.abortExit(syn, a, 0n, 0n);
    }
    // unprotected IPA: no instruction fetch from it
    if (kind === "exec") return this.injectSea();
    const va = opts.va === undefined ? BigInt(a) : BigInt.asUintN(64, opts.va);
    const far = va - (va % BigInt(GRANULE_SIZE));
    let fsc: bigint;
    if (k === S2tte.ASSIGNED_NS) {
      const attr = t.attr[w.index]!;
      const allowed = write ? (attr & 0x80) !== 0 : (attr & 0x40) !== 0; // S2AP[1] write, S2AP[0] read
      if (allowed) {
        const oa = t.addr[w.index]! + off;
        const r = this.rmm.machine.map.regionOf(oa);
        if (r !== undefined && r.kind === "mmio") {
          if (!write && rt !== 31) this.rec.gprs[rt] = 0n;
          return "ok";
        }
        if (r !== undefined && this.rmm.machine.gpt.get(Math.floor(oa / GRANULE_SIZE)) === Pas.NS) {
          this.move(oa, kind, size, rt, storeVal, signed, sf);
          return "ok";
        }
        fsc = ESR_ELx_FSC_GPF; // the host mapped something that is not NS memory: granule protection fault
      } else {
        fsc = ESR_ELx_FSC_PERM_L(w.level);
      }
    } else {
      fsc = ESR_ELx_FSC_FAULT_L(w.level);
    }
    const esr = (ESR_ELx_EC_DABT_LOW << ESR_ELx_EC_SHIFT) | ESR_ELx_IL | ESR_ELx_ISV | fsc | this.dabtIss(kind, size, rt, signed, sf);
    return this.abortExit(abortSyndrome(esr, ESR_EMULATED_ABORT_MASK), a, far, storeVal);
  }

  /** ISS bits of a data abort the hardware reports with ISV = 1: SAS, SSE, SRT, SF, WnR. */
  private dabtIss(kind: AccessKind, size: number, rt: number, signed: boolean, sf: boolean): bigint {
    if (kind === "exec") return 0n;
    let iss = ISS_SAS[size]! | ISS_SRT[rt]!;
    if (signed) iss |= ESR_ELx_SSE;
    if (sf) iss |= ESR_ELx_SF;
    if (kind === "write") iss |= ESR_ELx_WNR;
    return iss;
  }

  private move(pa: number, kind: AccessKind, size: number, rt: number, storeVal: bigint, signed: boolean, sf: boolean): void {
    const mem = this.rmm.machine.mem;
    if (kind === "write") {
      const b = new Uint8Array(size);
      for (let i = 0; i < size; i++) b[i] = Number((storeVal >> BigInt(8 * i)) & 0xffn);
      mem.write(pa, b);
    } else if (kind === "read" && rt !== 31) {
      // an aligned access of at most 8 bytes stays inside one granule
      const g = Math.floor(pa / GRANULE_SIZE);
      this.rec.gprs[rt] = loadValue(readLe(mem.page(g), pa - g * GRANULE_SIZE, size), size, signed, sf);
    }
  }

  private injectSea(): "sea" {
    this.seaCount++;
    return "sea";
  }

  private abortExit(syn: AbortSyndrome, ipa: number, far: bigint, storeVal: bigint): "exit" {
    const e = emptyExit(RmiExitReason.RMI_EXIT_SYNC);
    e.esr = syn.reported;
    e.far = far;
    e.hpfar = hpfarFromIpa(ipa);
    if (storeVal !== 0n) exitGprs(e)[0] = storeVal;
    this.rec.lastRun = { esr: syn.kept, hpfar: e.hpfar, far };
    return this.leave(e, "abort");
  }

  /**
   * RSI_IPA_STATE_SET(base, top, ripas, flags) (TF-RMM runtime/rsi/memory.c handle_rsi_ipa_state_set): an
   * invalid request (ripas > RAM, base/top not 4 KiB aligned, top <= base, range not inside the
   * PAR) returns RSI_ERROR_INPUT to the realm without an exit; otherwise the REC records the
   * request and exits with RIPAS_CHANGE. The result comes at the next entry (entry.rsiResult).
   */
  ipaStateSet(base: bigint, top: bigint, ripas: number | bigint, flags: bigint = 0n): bigint | "exit" {
    this.running("ipaStateSet");
    const rip = BigInt.asUintN(64, BigInt(ripas));
    const g = this.rec.gprs;
    g[0] = RSI_IPA_STATE_SET;
    g[1] = BigInt.asUintN(64, base);
    g[2] = BigInt.asUintN(64, top);
    g[3] = rip;
    g[4] = BigInt.asUintN(64, flags);
    this.advancePc();
    const b = toNum(base);
    const tp = toNum(top);
    if (rip > BigInt(Ripas.RAM) || b % GRANULE_SIZE !== 0 || tp % GRANULE_SIZE !== 0 || tp <= b || tp > this.realm.parSize) {
      this.smcReturn(RSI_ERROR_INPUT);
      return RSI_ERROR_INPUT;
    }
    this.rec.ripas = { base: b, top: tp, addr: b, ripas: Number(rip), changeDestroyed: (flags & RSI_CHANGE_DESTROYED) !== 0n };
    this.smcReturn(RSI_SUCCESS, g[2]!);
    const e = emptyExit(RmiExitReason.RMI_EXIT_RIPAS_CHANGE);
    e.ripasBase = BigInt(b);
    e.ripasTop = BigInt(tp);
    e.ripasValue = Number(rip);
    this.rec.lastRun = { esr: ESR_SMC64, hpfar: 0n, far: 0n };
    return this.leave(e, "ripas-change");
  }

  /**
   * A PSCI call (SMC with x0 = fid) as the RMM handles it (TF-RMM runtime/rsi/psci.c).
   * Answered in place (returns x0): VERSION, FEATURES, CPU_ON/AFFINITY_INFO with a bad argument
   * or targeting the caller, unknown PSCI functions. Exits ("exit"): CPU_SUSPEND and CPU_OFF
   * (notifications), CPU_ON and AFFINITY_INFO (pending until PSCI_COMPLETE), SYSTEM_OFF and
   * SYSTEM_RESET (the realm becomes SYSTEM_OFF).
   */
  psci(fid: bigint, x1 = 0n, x2 = 0n, x3 = 0n): bigint | "exit" {
    this.running("psci");
    const f = BigInt.asUintN(32, fid);
    if (!isPsciFunctionId(f)) throw new RangeError(`RealmVcpu.psci: 0x${fid.toString(16)} is not a PSCI function ID`);
    const g = this.rec.gprs;
    g[0] = BigInt.asUintN(64, fid);
    g[1] = BigInt.asUintN(64, x1);
    g[2] = BigInt.asUintN(64, x2);
    g[3] = BigInt.asUintN(64, x3);
    this.advancePc();
    const answer = (x0: bigint): bigint => {
      this.smcReturn(x0);
      return x0;
    };
    const exitPsci = (forward: number, resultX0: bigint | undefined): "exit" => {
      const e = emptyExit(RmiExitReason.RMI_EXIT_PSCI);
      const eg = exitGprs(e);
      for (let i = 0; i < forward; i++) eg[i] = g[i]!;
      if (resultX0 !== undefined) this.smcReturn(resultX0);
      this.rec.lastRun = { esr: ESR_SMC64, hpfar: 0n, far: 0n };
      return this.leave(e, "psci");
    };
    const recCount = this.realm.recCount;
    switch (f) {
      case PSCI_0_2_FN_PSCI_VERSION:
        return answer(BigInt(PSCI_VERSION(1, 1)));
      case PSCI_0_2_FN_CPU_SUSPEND:
      case PSCI_0_2_FN64_CPU_SUSPEND:
        // a notification: the realm's call returns SUCCESS at the next entry
        return exitPsci(1, psciRetToReg(PSCI_RET_SUCCESS));
      case PSCI_0_2_FN_CPU_OFF:
        this.rec.runnable = false;
        return exitPsci(1, psciRetToReg(PSCI_RET_SUCCESS));
      case PSCI_0_2_FN_CPU_ON:
      case PSCI_0_2_FN64_CPU_ON: {
        if (toNum(g[2]!) >= this.realm.parSize) return answer(psciRetToReg(PSCI_RET_INVALID_ADDRESS));
        const target = mpidrEl1ToRecIndex(g[1]!);
        if (target >= recCount) return answer(psciRetToReg(PSCI_RET_INVALID_PARAMS));
        if (target === this.rec.index) return answer(psciRetToReg(PSCI_RET_ALREADY_ON));
        this.rec.psci = { fid: g[0]!, args: [g[1]!, g[2]!, g[3]!] };
        return exitPsci(2, undefined);
      }
      case PSCI_0_2_FN_AFFINITY_INFO:
      case PSCI_0_2_FN64_AFFINITY_INFO: {
        if (g[2] !== 0n) return answer(psciRetToReg(PSCI_RET_INVALID_PARAMS));
        const target = mpidrEl1ToRecIndex(g[1]!);
        if (target >= recCount) return answer(psciRetToReg(PSCI_RET_INVALID_PARAMS));
        if (target === this.rec.index) return answer(BigInt(PSCI_0_2_AFFINITY_LEVEL_ON));
        this.rec.psci = { fid: g[0]!, args: [g[1]!, g[2]!, g[3]!] };
        return exitPsci(2, undefined);
      }
      case PSCI_0_2_FN_SYSTEM_OFF:
      case PSCI_0_2_FN_SYSTEM_RESET:
        // the RMM stops the realm; reboot is the host's business (a new realm)
        this.realm.state = RealmState.SYSTEM_OFF;
        return exitPsci(1, undefined);
      case PSCI_1_0_FN_PSCI_FEATURES: {
        const q = BigInt.asUintN(32, g[1]!);
        const known = [PSCI_0_2_FN_CPU_SUSPEND, PSCI_0_2_FN64_CPU_SUSPEND, PSCI_0_2_FN_CPU_OFF, PSCI_0_2_FN_CPU_ON, PSCI_0_2_FN64_CPU_ON, PSCI_0_2_FN_AFFINITY_INFO, PSCI_0_2_FN64_AFFINITY_INFO, PSCI_0_2_FN_SYSTEM_OFF, PSCI_0_2_FN_SYSTEM_RESET, PSCI_1_0_FN_PSCI_FEATURES, ARM_SMCCC_VERSION_FUNC_ID];
        return answer(psciRetToReg(known.includes(q) ? PSCI_RET_SUCCESS : PSCI_RET_NOT_SUPPORTED));
      }
      default:
        return answer(psciRetToReg(PSCI_RET_NOT_SUPPORTED));
    }
  }

  /**
   * RSI_HOST_CALL: exit HOST_CALL with `imm` and gprs[0..30]; the host's enter.gprs come back at
   * the next entry (entry.hostCallGprs), x0 = RSI_SUCCESS. Simplification: the RsiHostCall
   * structure is held here rather than read from realm memory, so the stage-2 abort TF-RMM
   * reports when that structure is unmapped is not modelled.
   */
  hostCall(imm: number | bigint, gprs: readonly bigint[] = []): "exit" {
    this.running("hostCall");
    const e = emptyExit(RmiExitReason.RMI_EXIT_HOST_CALL);
    e.imm = BigInt.asUintN(16, BigInt(imm));
    const eg = exitGprs(e);
    gprs.slice(0, 31).forEach((v, i) => (eg[i] = BigInt.asUintN(64, v)));
    this.rec.gprs[0] = RSI_HOST_CALL;
    this.advancePc();
    this.rec.hostCall = true;
    this.rec.lastRun = { esr: ESR_SMC64, hpfar: 0n, far: 0n };
    return this.leave(e, "host-call");
  }

  /**
   * WFI (or WFE): trapped when the host set TRAP_WFI (TRAP_WFE) at entry -> exit SYNC with
   * esr = EC_WFX | TI; otherwise the vCPU sleeps until an interrupt -> exit IRQ. PC moves on.
   */
  wfi(): "exit" {
    return this.wfx(false);
  }

  wfe(): "exit" {
    return this.wfx(true);
  }

  private wfx(wfe: boolean): "exit" {
    this.running(wfe ? "wfe" : "wfi");
    this.advancePc();
    if (wfe ? this.rec.trapWfe : this.rec.trapWfi) {
      const e = emptyExit(RmiExitReason.RMI_EXIT_SYNC);
      const esr = (ESR_ELx_EC_WFx << ESR_ELx_EC_SHIFT) | ESR_ELx_IL | (wfe ? ESR_ELx_WFx_ISS_WFE : 0n);
      e.esr = esr & (ESR_ELx_EC_MASK | ESR_ELx_WFx_ISS_WFE);
      this.rec.lastRun = { esr, hpfar: 0n, far: 0n };
      return this.leave(e, "wfx");
    }
    return this.leave(emptyExit(RmiExitReason.RMI_EXIT_IRQ), "irq");
  }

  /** A physical interrupt for the host arrives: exit IRQ. */
  irq(): "exit" {
    this.running("irq");
    return this.leave(emptyExit(RmiExitReason.RMI_EXIT_IRQ), "irq");
  }
}

/**
 * RMI_REC_ENTER(rec, run_ptr): check, complete what the previous exit left pending, run the
 * realm vCPU (rmm.guest, see realm-exec.ts) until an exit, write RmiRecRun.exit.
 * Source: RMM spec B4.3.15; TF-RMM rmm-spec-v1.0-rel0 runtime/rmi/run.c (smc_rec_enter,
 * complete_sea_insertion, complete_mmio_emulation, complete_set_ripas), lib/gic/src/gic.c
 * (gic_validate_state, gic_copy_state_*), runtime/core/exit.c.
 */
import { lastValue } from "../../arch/memo.js";
import {
  REC_ENTER_FLAG_EMUL_MMIO,
  REC_ENTER_FLAG_INJECT_SEA,
  REC_ENTER_FLAG_RIPAS_RESPONSE,
  REC_ENTER_FLAG_TRAP_WFE,
  REC_ENTER_FLAG_TRAP_WFI,
  REC_RUN,
  RmiExitReason,
} from "../abi/rec-params.js";
import { ESR_ELx_EC, ESR_ELx_EC_DABT_LOW, ESR_ELx_ISV, ESR_ELx_SAS, ESR_ELx_SAS_SHIFT, ESR_ELx_SF, ESR_ELx_SRT_MASK, ESR_ELx_SRT_SHIFT, ESR_ELx_SSE, ESR_ELx_WNR, ipaFromHpfar } from "../../arch/esr.js";
import { gran } from "../checks.js";
import type { RmiCommand } from "../dispatch.js";
import { GranuleState } from "../granule.js";
import { RealmState } from "../realm.js";
import {
  RSI_ACCEPT,
  RSI_REJECT,
  RSI_SUCCESS,
  RealmVcpu,
  emptyExit,
  exitGprsZero,
  loadValue,
  type RecEntryInfo,
  type RecExit,
} from "../realm-exec.js";
import type { Rec, RecResumeKind } from "../rec.js";
import { nsBufferAccessible, nsBufferFound, recIsRunning } from "../rec-ops.js";
import type { RmmState } from "../state.js";
import { Ripas } from "../../arch/ripas.js";
import { ERROR_INPUT, ERROR_REC, SUCCESS, pack, RmiStatus } from "../status.js";

// ---- GICv3 virtual interface (TF-RMM lib/gic/include/gic.h) ----
/** ICH_HCR_EL2 bits the host may set: UIE, LRENPIE, NPIE, VGrp0EIE, VGrp0DIE, VGrp1EIE, VGrp1DIE, TDIR. */
export const ICH_HCR_EL2_NS_MASK = 0xfen | (1n << 14n);
/** ICH_HCR_EL2.EOIcount [31:27] (reported back at exit). */
export const ICH_HCR_EL2_EOI_COUNT_MASK = 0x1fn << 27n;
const ICH_LR_STATE_SHIFT = 62n;
const ICH_LR_HW_BIT = 1n << 61n;
const ICH_LR_PRIORITY_SHIFT = 48n;
const ICH_LR_PINTID_MASK = 0x1fffn << 32n;
const ICH_LR_EOI_BIT = 1n << 41n;
/**
 * The simulated GIC's virtualisation features (ICH_VTR_EL2): 5 priority bits (so the 3 low bits of
 * an LR priority are RES0), 16-bit vINTIDs, no extended INTID range.
 */
const GIC_PRI_RES0_MASK = 0x7n;
const GIC_MAX_VINTID = 0xffffn;

function validVintid(intid: bigint): boolean {
  // SGIs, PPIs and SPIs [0, 1019], LPIs [8192, max]; no extended PPI/SPI range
  return intid <= 1019n || (intid >= 8192n && intid <= GIC_MAX_VINTID);
}

/**
 * gic_validate_state: gicv3_hcr has only host-controlled bits; every valid LR has HW = 0, no RES0
 * priority bit set, only EOI in its pINTID field, a valid vINTID, and no two valid LRs share a vINTID.
 */
export function gicStateValid(hcr: bigint, lrs: readonly bigint[], nrLrs: number): boolean {
  if (hcr !== 0n && (hcr & ~ICH_HCR_EL2_NS_MASK) !== 0n) return false;
  for (let i = 0; i < nrLrs; i++) {
    const lr = lrs[i]!;
    if (lr === 0n || lr >> ICH_LR_STATE_SHIFT === 0n) continue; // state Invalid
    const intid = lr & 0xffff_ffffn;
    if ((lr & ICH_LR_HW_BIT) !== 0n) return false;
    if (((lr >> ICH_LR_PRIORITY_SHIFT) & 0xffn & GIC_PRI_RES0_MASK) !== 0n) return false;
    if ((lr & ICH_LR_PINTID_MASK & ~ICH_LR_EOI_BIT) !== 0n) return false;
    if (!validVintid(intid)) return false;
    for (let j = i + 1; j < nrLrs; j++) {
      const o = lrs[j]!;
      if (o >> ICH_LR_STATE_SHIFT !== 0n && (o & 0xffff_ffffn) === intid) return false;
    }
  }
  return true;
}

/**
 * A 64-bit field of an NS page as a bigint. Zero (most fields of a run page) comes back as the
 * shared 0n rather than a new bigint: same value, no allocation.
 */
function u64At(v: DataView, off: number): bigint {
  return v.getUint32(off, true) === 0 && v.getUint32(off + 4, true) === 0 ? 0n : v.getBigUint64(off, true);
}

/**
 * RmiRecEnter as read from NS memory (ns_buffer_read of rec_run.enter). The flags word is kept
 * as its low 32 bits (every defined flag is in bits [4:0]); the GPRs are read from the same view
 * only where REC_ENTER uses them (host call and MMIO completion), before the vCPU runs.
 */
interface RecEnter {
  view: DataView;
  flags: number;
  gicv3Hcr: bigint;
  /** The first nrLrs list registers (the others are not read: gic_validate_state and the copy stop at nrLrs). */
  gicv3Lrs: bigint[];
  /**
   * gicv3_hcr and the first nrLrs list registers are all zero (the common entry: no virtual
   * interrupt in flight): gicv3Lrs is then not filled, gic_validate_state has nothing to refuse
   * (hcr 0, every LR Invalid) and the copy into the REC stores zeroes.
   */
  gicZero: boolean;
}

/**
 * Reused by every call (REC_ENTER does not nest: the guest model cannot issue RMI calls, and
 * nothing here is kept past the call).
 */
const ENTER: RecEnter = { view: new DataView(new ArrayBuffer(8)), flags: 0, gicv3Hcr: 0n, gicv3Lrs: new Array<bigint>(16).fill(0n), gicZero: true };

/** A DataView over a granule buffer, cached for the last buffer seen (the run page, entry after entry). */
let viewBytes: Uint8Array | undefined;
let viewOfBytes: DataView = ENTER.view;
function viewOf(bytes: Uint8Array): DataView {
  if (bytes !== viewBytes) {
    viewBytes = bytes;
    viewOfBytes = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  }
  return viewOfBytes;
}

function readEnter(rmm: RmmState, runG: number, nrLrs: number, withGic: boolean): RecEnter {
  // one view over the run granule (zeroes if never written) rather than one per 64-bit field
  const v = viewOf(rmm.machine.mem.granuleBytes(runG));
  const e = ENTER;
  e.view = v;
  e.flags = v.getUint32(REC_RUN.enter.flags, true);
  e.gicv3Hcr = 0n;
  e.gicZero = true;
  if (withGic) {
    // gicv3_hcr and the LRs that follow it: one OR of 32-bit words, no bigint unless one is set
    const hcrOff = REC_RUN.enter.gicv3_hcr;
    const lrsOff = REC_RUN.enter.gicv3_lrs;
    let any = v.getUint32(hcrOff, true) | v.getUint32(hcrOff + 4, true);
    for (let i = 0; i < 2 * nrLrs; i++) any |= v.getUint32(lrsOff + 4 * i, true);
    if (any !== 0) {
      e.gicZero = false;
      e.gicv3Hcr = u64At(v, hcrOff);
      for (let i = 0; i < nrLrs; i++) e.gicv3Lrs[i] = u64At(v, lrsOff + 8 * i);
    }
  }
  return e;
}

function enterGpr(enter: RecEnter, i: number): bigint {
  return u64At(enter.view, REC_RUN.enter.gprs + 8 * i);
}

const FLAG_EMUL_MMIO = Number(REC_ENTER_FLAG_EMUL_MMIO);
const FLAG_INJECT_SEA = Number(REC_ENTER_FLAG_INJECT_SEA);
const FLAG_TRAP_WFI = Number(REC_ENTER_FLAG_TRAP_WFI);
const FLAG_TRAP_WFE = Number(REC_ENTER_FLAG_TRAP_WFE);
const FLAG_RIPAS_RESPONSE = Number(REC_ENTER_FLAG_RIPAS_RESPONSE);
/** Bit test on the flags word (a 32-bit value, not an address). */
const flag = (flags: number, f: number): boolean => (flags & f) !== 0;

const ICH_HCR_EL2_NOT_NS_MASK = BigInt.asUintN(64, ~ICH_HCR_EL2_NS_MASK);
const ICH_HCR_EL2_EXIT_MASK = ICH_HCR_EL2_EOI_COUNT_MASK | ICH_HCR_EL2_NS_MASK;

/**
 * Write RmiRecRun.exit (the whole 2 KiB exit half; fields the exit does not define are zero).
 * `withGic`: the v1.0 layout's gicv3_* fields; the v2.0 layout has none (rtt_tree at 0x118 is 0,
 * the primary tree, as TF-RMM main active_s2_context_idx for a realm without planes).
 * Written in place in the run granule: the half is zeroed, then only the non-zero fields are
 * stored (the bytes are those of a full write of every field).
 */
function writeExit(rmm: RmmState, runG: number, rec: Rec, e: RecExit, withGic: boolean, lrsZero: boolean): void {
  const page = rmm.machine.mem.granuleForWrite(runG);
  page.fill(0, 0x800, 0x1000);
  const v = viewOf(page);
  const x = REC_RUN.exit;
  v.setUint32(x.exit_reason, e.reason, true); // a small enum: the upper word stays 0
  putU64(v, x.esr, e.esr);
  putU64(v, x.far, e.far);
  putU64(v, x.hpfar, e.hpfar);
  const gprs = e.gprs;
  if (!exitGprsZero(e)) for (let i = 0; i < gprs.length; i++) putU64(v, x.gprs + 8 * i, gprs[i]!);
  if (withGic) {
    // gic_copy_state_to_rec_exit: LRs, MISR, VMCR, and HCR's EOIcount + host-controlled bits
    const hcr = rec.gic.hcr;
    if (hcr !== 0n) putU64(v, x.gicv3_hcr, hcrExit(hcr));
    // lrsZero: every LR of the REC is 0 (nothing to store over the zeroed half)
    if (!lrsZero) {
      const lrs = rec.gic.lrs;
      for (let i = 0; i < lrs.length; i++) putU64(v, x.gicv3_lrs + 8 * i, lrs[i]!);
    }
  }
  putU64(v, x.ripas_base, e.ripasBase);
  putU64(v, x.ripas_top, e.ripasTop);
  page[x.ripas_value] = e.ripasValue;
  putU64(v, x.imm, e.imm);
}

/**
 * ICH_HCR_EL2 as the REC keeps it from entry to entry and as the exit reports it: the same value
 * entry after entry (ICH_HCR_EL2_INIT and a host that sets no bit), so each mask is computed once
 * per distinct value rather than as a new bigint per entry.
 */
const hcrKeep = lastValue((h: bigint) => h & ICH_HCR_EL2_NOT_NS_MASK);
const hcrExit = lastValue((h: bigint) => h & ICH_HCR_EL2_EXIT_MASK);

/** Store a 64-bit field over a zeroed area: nothing to do for 0. */
function putU64(v: DataView, off: number, x: bigint): void {
  if (x !== 0n) v.setBigUint64(off, BigInt.asUintN(64, x), true);
}

/** What a vCPU sees of an entry that completed nothing, per resume kind (shared, frozen). */
const plainEntry = (from: RecResumeKind): RecEntryInfo => Object.freeze({ from, seaInjected: false, mmioCompleted: false });
const PLAIN_ENTRY: Record<RecResumeKind, RecEntryInfo> = {
  reset: plainEntry("reset"),
  irq: plainEntry("irq"),
  abort: plainEntry("abort"),
  psci: plainEntry("psci"),
  "ripas-change": plainEntry("ripas-change"),
  "host-call": plainEntry("host-call"),
  wfx: plainEntry("wfx"),
};

/** TF-RMM reset_last_run_info: shared, frozen (a new record replaces it at the next sync exit). */
const NO_LAST_RUN: Rec["lastRun"] = Object.freeze({ esr: 0n, hpfar: 0n, far: 0n });

/** RMI_REC_ENTER(rec, run_ptr): checks in the order of TF-RMM smc_rec_enter. */
function recEnter(rmm: RmmState, recAddr: bigint, runPtr: bigint): number {
  // 1 run_align / run_bound / run granule UNDELEGATED
  const runG = nsBufferFound(rmm, runPtr);
  if (runG < 0) return ERROR_INPUT;
  // 2 rec_align / rec_bound / rec_state
  const recG = gran(rmm, recAddr, GranuleState.REC);
  if (recG < 0) return ERROR_INPUT;
  const rec = rmm.recs.get(recG)!;
  // 3 rec_busy: already running
  if (recIsRunning(rmm, rec)) return ERROR_REC;
  // 4 reading run.enter from NS memory faults (run granule not in the NS PAS)
  if (!nsBufferAccessible(rmm, runG)) return ERROR_INPUT;
  const withGic = rmm.abi === "1.0";
  const nrLrs = Math.min(rmm.features.gicv3NumLrs, 16);
  const enter = readEnter(rmm, runG, nrLrs, withGic);
  const realm = rmm.realms.get(rec.rd)!;
  // 5 / 6 realm_new (index 0) / system_off (index 1)
  if (realm.state === RealmState.NEW) return pack(RmiStatus.RMI_ERROR_REALM, 0);
  if (realm.state !== RealmState.ACTIVE) return pack(RmiStatus.RMI_ERROR_REALM, 1);
  // 7 rec_runnable
  if (!rec.runnable) return ERROR_REC;
  // 8 rec_psci_pending
  if (rec.psci !== undefined) return ERROR_REC;
  // 9 rec_gic: GIC state in run.enter. v2.0 has no GIC fields in RmiRecEnter/RmiRecExit (TF-RMM
  // main smc-rmi.h: rmi_rec_enter is flags and gprs only; the exit has rtt_tree/rtt_level at
  // 0x118/0x120 and no gicv3_* fields), so there is nothing to check or copy there.
  if (withGic && !enter.gicZero && !gicStateValid(enter.gicv3Hcr, enter.gicv3Lrs, nrLrs)) return ERROR_REC;
  // 10 INJECT_SEA only after a data abort at an unprotected IPA (complete_sea_insertion)
  const last = rec.lastRun;
  const lastIsDabt = last.esr !== 0n && ESR_ELx_EC(last.esr) === ESR_ELx_EC_DABT_LOW;
  const injectSea = flag(enter.flags, FLAG_INJECT_SEA);
  if (injectSea && (!lastIsDabt || realm.addrInPar(ipaFromHpfar(last.hpfar)))) return ERROR_REC;
  // 11 EMUL_MMIO (ignored with INJECT_SEA) only after an emulatable data abort (EC DABT, ISV 1)
  const emulMmio = !injectSea && flag(enter.flags, FLAG_EMUL_MMIO);
  if (emulMmio && (!lastIsDabt || (last.esr & ESR_ELx_ISV) === 0n)) return ERROR_REC;

  // ---- every check passed: from here the command succeeds ----
  // the host's GIC state (gic_copy_state_from_rec_entry)
  // lrsZero: every LR of the REC is 0 after the copy (the first nrLrs copied as 0, the others never
  // written: only this copy writes them, for i < nrLrs)
  let lrsZero = false;
  if (withGic) {
    const lrs = rec.gic.lrs;
    if (enter.gicZero) {
      for (let i = 0; i < nrLrs; i++) lrs[i] = 0n;
      rec.gic.hcr = hcrKeep(rec.gic.hcr);
      lrsZero = nrLrs === lrs.length;
    } else {
      for (let i = 0; i < nrLrs; i++) lrs[i] = enter.gicv3Lrs[i]!;
      rec.gic.hcr = (rec.gic.hcr & ICH_HCR_EL2_NOT_NS_MASK) | (enter.gicv3Hcr & ICH_HCR_EL2_NS_MASK);
    }
  }
  // nothing to complete (the common entry: after an abort the host handled, an IRQ, ...): a shared
  // record per resume kind, frozen, instead of a new one per entry
  const plain = !injectSea && !emulMmio && rec.ripas === undefined && !rec.hostCall && rec.resume !== "psci";
  const info: RecEntryInfo = plain ? PLAIN_ENTRY[rec.resume] : { from: rec.resume, seaInjected: false, mmioCompleted: false };
  if (injectSea) {
    info.seaInjected = true;
  } else if (emulMmio) {
    // complete_mmio_emulation: a load gets enter.gprs[0] (masked to the access size,
    // sign-extended if ESR.SSE, cut to 32 bits if !ESR.SF) into Rt; loads and stores both
    // complete, PC moves past the instruction
    const write = (last.esr & ESR_ELx_WNR) !== 0n;
    const rt = Number((last.esr & ESR_ELx_SRT_MASK) >> ESR_ELx_SRT_SHIFT);
    const size = 1 << Number((last.esr & ESR_ELx_SAS) >> ESR_ELx_SAS_SHIFT);
    if (!write && rt !== 31) {
      const val = loadValue(enterGpr(enter, 0), size, (last.esr & ESR_ELx_SSE) !== 0n, (last.esr & ESR_ELx_SF) !== 0n);
      rec.gprs[rt] = val;
      info.mmioValue = val;
    }
    rec.pc = BigInt.asUintN(64, rec.pc + 4n);
    info.mmioCompleted = true;
  }
  // complete_set_ripas: x0 = SUCCESS, x1 = progress, x2 = REJECT only for a RAM request that the
  // host did not complete and explicitly rejected
  if (rec.ripas !== undefined) {
    const r = rec.ripas;
    const reject = flag(enter.flags, FLAG_RIPAS_RESPONSE);
    const x2 = r.ripas === Ripas.RAM && r.addr !== r.top && reject ? RSI_REJECT : RSI_ACCEPT;
    rec.gprs[0] = RSI_SUCCESS;
    rec.gprs[1] = BigInt(r.addr);
    rec.gprs[2] = x2;
    info.rsiResult = { x0: RSI_SUCCESS, x1: BigInt(r.addr), x2 };
    rec.ripas = undefined;
  }
  // complete_host_call: the host's gprs come back to the realm
  if (rec.hostCall) {
    const g: bigint[] = [];
    for (let i = 0; i < 31; i++) g.push(enterGpr(enter, i));
    info.hostCallGprs = g;
    rec.gprs[0] = RSI_SUCCESS;
    rec.hostCall = false;
  }
  if (rec.resume === "psci") info.psciResult = rec.gprs[0];
  rec.lastRun = NO_LAST_RUN; // reset_last_run_info
  rec.trapWfi = flag(enter.flags, FLAG_TRAP_WFI);
  rec.trapWfe = flag(enter.flags, FLAG_TRAP_WFE);

  // run: the REC granule's refcount is 1 while the vCPU runs (another call sees it running)
  const vcpu = new RealmVcpu(rmm, realm, rec, info);
  rmm.granules.setRef(recG, 1);
  realm.runningRecs++;
  try {
    rmm.guest?.(vcpu);
  } finally {
    rmm.granules.setRef(recG, 0);
    realm.runningRecs--;
  }
  let e = vcpu.exit;
  if (e === undefined) {
    e = emptyExit(RmiExitReason.RMI_EXIT_IRQ); // the guest ran until a host interrupt
    rec.resume = "irq";
  }
  // the exit write-back to NS memory can still fault (the run granule left the NS PAS meanwhile)
  if (rmm.granules.state(runG) !== GranuleState.NS || !nsBufferAccessible(rmm, runG)) return ERROR_INPUT;
  writeExit(rmm, runG, rec, e, withGic, lrsZero);
  return SUCCESS;
}

export const RUN_COMMANDS: RmiCommand[] = [
  { name: "RMI_REC_ENTER", fnum: 0x15c, method: "recEnter", args: ["rec", "run_ptr"], outs: [], handler: recEnter, abi: ["1.0", "2.0"] },
];

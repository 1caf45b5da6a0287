/**
 * ESR_ELx (Exception Syndrome Register) encoding, defined once for the RMM, which builds the
 * syndrome of a REC exit (src/rmm/realm-exec.ts) and checks it at the next entry
 * (src/rmm/commands/run.ts), and for KVM, which decodes it in handle_rec_exit (src/kvm).
 *
 * Names as in Linux arch/arm64/include/asm/esr.h; values from the Arm ARM (DDI 0487) D24.2.40
 * ESR_EL2 and its ISS encodings for "an exception from a Data Abort" / "from a WF* instruction"
 * (also TF-RMM lib/arch/include/esr.h). ESR is a 64-bit register: values are bigint.
 */
import { numToU64 } from "./geometry.js";

export const ESR_ELx_EC_SHIFT = 26n;
export const ESR_ELx_EC_WIDTH = 6n;
export const ESR_ELx_EC_MASK = 0x3fn << ESR_ELx_EC_SHIFT;

// ---- exception classes (ESR_ELx.EC) ----
export const ESR_ELx_EC_WFx = 0x01n;
export const ESR_ELx_EC_SMC64 = 0x17n;
export const ESR_ELx_EC_SYS64 = 0x18n;
export const ESR_ELx_EC_IABT_LOW = 0x20n;
export const ESR_ELx_EC_DABT_LOW = 0x24n;

/** ESR_ELx_EC(esr): the exception class. */
export function ESR_ELx_EC(esr: bigint): bigint {
  return (esr & ESR_ELx_EC_MASK) >> ESR_ELx_EC_SHIFT;
}

/** IL: a 32-bit instruction trapped. */
export const ESR_ELx_IL = 1n << 25n;

// ---- ISS of a data abort ----
/** ISV: the ISS bits SAS, SSE, SRT, SF, AR describe the access. */
export const ESR_ELx_ISV = 1n << 24n;
export const ESR_ELx_SAS_SHIFT = 22n;
export const ESR_ELx_SAS = 3n << ESR_ELx_SAS_SHIFT;
export const ESR_ELx_SSE = 1n << 21n;
export const ESR_ELx_SRT_SHIFT = 16n;
export const ESR_ELx_SRT_MASK = 0x1fn << ESR_ELx_SRT_SHIFT;
export const ESR_ELx_SF = 1n << 15n;
/** SET[12:11]: synchronous error type. */
export const ESR_ELx_SET_MASK = 3n << 11n;
export const ESR_ELx_FnV = 1n << 10n;
export const ESR_ELx_EA = 1n << 9n;
export const ESR_ELx_WNR = 1n << 6n;

// ---- fault status codes (ISS.DFSC / IFSC) ----
export const ESR_ELx_FSC = 0x3fn;
/** Translation fault, level 0 (+ level for 1..3). */
export const ESR_ELx_FSC_FAULT = 0x04n;
/** Permission fault, level 0 (+ level). */
export const ESR_ELx_FSC_PERM = 0x0cn;
/** Synchronous external abort, not on a translation table walk. */
export const ESR_ELx_FSC_EXTABT = 0x10n;
/** Base of the level -1 translation fault code (FEAT_LPA2): ESR_ELx_FSC_FAULT_L(-1) = 0x2B. */
export const ESR_ELx_FSC_FAULT_nL = 0x2cn;
/**
 * Granule protection fault, not on a translation table walk (Arm ARM DFSC 0b101000; TF-RMM
 * esr.h ESR_EL2_ABORT_FSC_GPF; Linux has no name for it).
 */
export const ESR_ELx_FSC_GPF = 0x28n;

const FSC_FAULT_L = [ESR_ELx_FSC_FAULT, ESR_ELx_FSC_FAULT + 1n, ESR_ELx_FSC_FAULT + 2n, ESR_ELx_FSC_FAULT + 3n];
const FSC_PERM_L = [ESR_ELx_FSC_PERM, ESR_ELx_FSC_PERM + 1n, ESR_ELx_FSC_PERM + 2n, ESR_ELx_FSC_PERM + 3n];

/** ESR_ELx_FSC_FAULT_L(n): translation fault at level n (-1..3). */
export function ESR_ELx_FSC_FAULT_L(level: number): bigint {
  if (level === -1) return ESR_ELx_FSC_FAULT_nL - 1n;
  const f = FSC_FAULT_L[level];
  if (f === undefined) throw new RangeError(`ESR_ELx_FSC_FAULT_L: level must be -1..3, got ${level}`);
  return f;
}

/** ESR_ELx_FSC_PERM_L(n): permission fault at level n (0..3). */
export function ESR_ELx_FSC_PERM_L(level: number): bigint {
  const f = FSC_PERM_L[level];
  if (f === undefined) throw new RangeError(`ESR_ELx_FSC_PERM_L: level must be 0..3, got ${level}`);
  return f;
}

// ---- ISS of a trapped WFI/WFE ----
/** TI: 1 for WFE, 0 for WFI (ESR_ELx_WFx_ISS_WFE). */
export const ESR_ELx_WFx_ISS_WFE = 1n;

// ---- HPFAR_EL2: the faulting IPA reported with a stage-2 abort ----
/**
 * HPFAR_EL2.FIPA holds IPA[51:12] from bit 4 (Arm ARM D24.2.x HPFAR_EL2; Linux
 * kvm_vcpu_get_fault_ipa: (hpfar & HPFAR_MASK) << 8; TF-RMM HPFAR_EL2_FIPA_OFFSET = 8).
 */
export function hpfarFromIpa(ipa: number): bigint {
  return numToU64(Math.floor(ipa / 4096) * 16); // exact: IPA[51:12] << 4 < 2^44
}

/** The IPA (page aligned) an HPFAR_EL2 value reports. */
export function ipaFromHpfar(hpfar: bigint): number {
  return Number((hpfar >> 4n) & 0xff_ffff_ffffn) * 4096;
}

/**
 * RmiRecParams (4096 bytes in NS memory, read by RMI_REC_CREATE) and RmiRecRun (4096 bytes, read
 * and written by RMI_REC_ENTER). Layouts: TF-RMM rmm-spec-v1.0-rel0 smc-rmi.h struct rmi_rec_params,
 * struct rmi_rec_run (rmi_rec_enter at 0x000, rmi_rec_exit at 0x800).
 */
import { GRANULE_SIZE } from "../../arch/geometry.js";

export const REC_PARAMS = {
  flags: 0x000, // bit0 RUNNABLE
  mpidr: 0x100,
  pc: 0x200,
  gprs: 0x300, // 8 x u64
  num_aux: 0x800,
  aux: 0x808, // 16 x u64
} as const;

export const RMI_REC_PARAMS_FLAG_RUNNABLE = 1n;
export const MAX_REC_AUX_GRANULES = 16;
export const REC_PARAMS_GPRS = 8;

export interface RecParams {
  flags?: bigint;
  mpidr: bigint;
  pc?: bigint;
  gprs?: bigint[];
  numAux?: number;
  aux?: bigint[];
}

/** The RmiRecParams granule RMI_REC_CREATE reads (4096 bytes, layout REC_PARAMS). */
export function encodeRecParams(p: RecParams): Uint8Array {
  const b = new Uint8Array(GRANULE_SIZE);
  const v = new DataView(b.buffer);
  const u64 = (off: number, x: bigint | number) => v.setBigUint64(off, BigInt.asUintN(64, BigInt(x)), true);
  u64(REC_PARAMS.flags, p.flags ?? 0n);
  u64(REC_PARAMS.mpidr, p.mpidr);
  u64(REC_PARAMS.pc, p.pc ?? 0n);
  (p.gprs ?? []).slice(0, REC_PARAMS_GPRS).forEach((g, i) => u64(REC_PARAMS.gprs + 8 * i, g));
  const aux = p.aux ?? [];
  u64(REC_PARAMS.num_aux, p.numAux ?? aux.length);
  aux.slice(0, MAX_REC_AUX_GRANULES).forEach((a, i) => u64(REC_PARAMS.aux + 8 * i, a));
  return b;
}

/**
 * RmiRecMpidr: Aff0[3:0], Aff1[15:8], Aff2[23:16], Aff3[31:24]; every other bit must be 0
 * (TF-RMM rmm-spec-v1.0-rel0 smc-rmi.h RMI_MPIDR_AFF*_SHIFT, rec.h rec_mpidr_is_valid).
 * Note: Aff3 sits at [31:24] here, not at [39:32] as in MPIDR_EL1.
 */
export const RMI_REC_MPIDR_VALID_MASK = 0xffff_ff0fn;

/** Whether an MPIDR has only the bits RMI_REC_CREATE accepts (RMI_REC_MPIDR_VALID_MASK). */
export function recMpidrIsValid(mpidr: bigint): boolean {
  return (BigInt.asUintN(64, mpidr) & ~RMI_REC_MPIDR_VALID_MASK) === 0n;
}

/** RmiRecMpidr -> REC index: Aff0[3:0] | Aff1 << 4 | Aff2 << 12 | Aff3 << 20 (TF-RMM rec.h rec_mpidr_to_idx). */
export function mpidrToRecIndex(mpidr: bigint): number {
  return affinityToRecIndex(mpidr, 24n);
}

/** Aff0[3:0] | Aff1[15:8] << 4 | Aff2[23:16] << 12 | Aff3 (at `aff3Shift`) << 20. */
function affinityToRecIndex(mpidr: bigint, aff3Shift: bigint): number {
  const aff0 = Number(mpidr & 0xfn);
  const aff1 = Number((mpidr >> 8n) & 0xffn);
  const aff2 = Number((mpidr >> 16n) & 0xffn);
  const aff3 = Number((mpidr >> aff3Shift) & 0xffn);
  return aff0 + aff1 * 16 + aff2 * 4096 + aff3 * 1048576;
}

/** REC index -> RmiRecMpidr value (inverse of mpidrToRecIndex; TF-RMM tests' RMI_REC_MPIDR). */
export function recIndexToMpidr(idx: number): bigint {
  const aff0 = BigInt(idx % 16);
  const aff1 = BigInt(Math.floor(idx / 16) % 256);
  const aff2 = BigInt(Math.floor(idx / 4096) % 256);
  const aff3 = BigInt(Math.floor(idx / 1048576) % 256);
  return aff0 | (aff1 << 8n) | (aff2 << 16n) | (aff3 << 24n);
}

/** MPIDR_EL1 bit 31 is RES1 in the value a realm reads (VMPIDR_EL2). */
export const VMPIDR_EL2_RES1 = 1n << 31n;

/**
 * RmiRecMpidr -> the MPIDR_EL1 value the realm vCPU reads: Aff3 moves from [31:24] to [39:32],
 * bit 31 reads 1 (TF-RMM rec.h rec_mpidr_to_mpidr, rec.c init_rec_sysregs).
 */
export function recMpidrToMpidrEl1(mpidr: bigint): bigint {
  return (mpidr & 0x00ff_ff0fn) | (((mpidr >> 24n) & 0xffn) << 32n) | VMPIDR_EL2_RES1;
}

/**
 * MPIDR_EL1 (as a realm passes it to PSCI CPU_ON / AFFINITY_INFO: Aff3 at [39:32]) -> REC index
 * (TF-RMM rec.h mpidr_to_rec_idx). Only the affinity fields count; Aff0[7:4] and bit 31 are ignored.
 */
export function mpidrEl1ToRecIndex(mpidr: bigint): number {
  return affinityToRecIndex(mpidr, 32n);
}

/** RmiRecRun: entry part at 0x000, exit part at 0x800. */
export const REC_RUN = {
  enter: {
    flags: 0x000, // bit0 EMUL_MMIO, bit1 INJECT_SEA, bit2 TRAP_WFI, bit3 TRAP_WFE, bit4 RIPAS_RESPONSE
    gprs: 0x200, // 31 x u64
    gicv3_hcr: 0x300,
    gicv3_lrs: 0x308, // 16 x u64
  },
  exit: {
    exit_reason: 0x800,
    esr: 0x900,
    far: 0x908,
    hpfar: 0x910,
    gprs: 0xa00, // 31 x u64
    gicv3_hcr: 0xb00,
    gicv3_lrs: 0xb08,
    gicv3_misr: 0xb88,
    gicv3_vmcr: 0xb90,
    cntp_ctl: 0xc00,
    cntp_cval: 0xc08,
    cntv_ctl: 0xc10,
    cntv_cval: 0xc18,
    ripas_base: 0xd00,
    ripas_top: 0xd08,
    ripas_value: 0xd10, // u8
    imm: 0xe00,
    pmu_ovf_status: 0xf00,
  },
} as const;

export const REC_ENTER_FLAG_EMUL_MMIO = 1n << 0n;
export const REC_ENTER_FLAG_INJECT_SEA = 1n << 1n;
export const REC_ENTER_FLAG_TRAP_WFI = 1n << 2n;
export const REC_ENTER_FLAG_TRAP_WFE = 1n << 3n;
export const REC_ENTER_FLAG_RIPAS_RESPONSE = 1n << 4n;

/** RmiRecExitReason (RMM spec v1.0). */
export enum RmiExitReason {
  RMI_EXIT_SYNC = 0,
  RMI_EXIT_IRQ = 1,
  RMI_EXIT_FIQ = 2,
  RMI_EXIT_PSCI = 3,
  RMI_EXIT_RIPAS_CHANGE = 4,
  RMI_EXIT_HOST_CALL = 5,
  RMI_EXIT_SERROR = 6,
}

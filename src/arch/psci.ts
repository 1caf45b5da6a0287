/**
 * PSCI and SMCCC encodings, defined once for the realm guest (src/guest), the RMM's handling of a
 * realm's PSCI calls (src/rmm/realm-exec.ts, RMI_PSCI_COMPLETE) and KVM's (src/kvm).
 *
 * Names as in Linux include/uapi/linux/psci.h and include/linux/arm-smccc.h; values from the Arm
 * Power State Coordination Interface, DEN0022 (PSCI 1.1) 5.1 "Function prototypes" and 5.2.2
 * "Return error codes". Function IDs are the 32-bit SMCCC function identifiers as they appear in
 * the low word of x0 (bigint: compared with register values).
 */

// ---- function IDs (PSCI_0_2_FN_* = SMC32, PSCI_0_2_FN64_* = SMC64) ----
export const PSCI_0_2_FN_PSCI_VERSION = 0x8400_0000n;
export const PSCI_0_2_FN_CPU_SUSPEND = 0x8400_0001n;
export const PSCI_0_2_FN64_CPU_SUSPEND = 0xc400_0001n;
export const PSCI_0_2_FN_CPU_OFF = 0x8400_0002n;
export const PSCI_0_2_FN_CPU_ON = 0x8400_0003n;
export const PSCI_0_2_FN64_CPU_ON = 0xc400_0003n;
export const PSCI_0_2_FN_AFFINITY_INFO = 0x8400_0004n;
export const PSCI_0_2_FN64_AFFINITY_INFO = 0xc400_0004n;
export const PSCI_0_2_FN_SYSTEM_OFF = 0x8400_0008n;
export const PSCI_0_2_FN_SYSTEM_RESET = 0x8400_0009n;
export const PSCI_1_0_FN_PSCI_FEATURES = 0x8400_000an;

/** SMCCC_VERSION (include/linux/arm-smccc.h ARM_SMCCC_VERSION_FUNC_ID; DEN0028 7.2). */
export const ARM_SMCCC_VERSION_FUNC_ID = 0x8000_0000n;

/** The PSCI function ID ranges (DEN0022 5.1: 0x8400_0000..0x8400_001F and 0xC400_0000..0xC400_001F). */
export function isPsciFunctionId(fid32: bigint): boolean {
  return (fid32 >= 0x8400_0000n && fid32 <= 0x8400_001fn) || (fid32 >= 0xc400_0000n && fid32 <= 0xc400_001fn);
}

// ---- return codes (int, as Linux holds them) ----
export const PSCI_RET_SUCCESS = 0;
export const PSCI_RET_NOT_SUPPORTED = -1;
export const PSCI_RET_INVALID_PARAMS = -2;
export const PSCI_RET_DENIED = -3;
export const PSCI_RET_ALREADY_ON = -4;
export const PSCI_RET_INVALID_ADDRESS = -9;

/** A PSCI return code as the 64-bit register value x0 holds (sign-extended: -3 is 0xFFFF_FFFF_FFFF_FFFD). */
export function psciRetToReg(ret: number): bigint {
  return BigInt.asUintN(64, BigInt(ret));
}

/** A register value as a PSCI return code (its signed 64-bit value). */
export function psciRetFromReg(x0: bigint): number {
  return Number(BigInt.asIntN(64, x0));
}

/** AFFINITY_INFO results (uapi psci.h PSCI_0_2_AFFINITY_LEVEL_*). */
export const PSCI_0_2_AFFINITY_LEVEL_ON = 0;
export const PSCI_0_2_AFFINITY_LEVEL_OFF = 1;
export const PSCI_0_2_AFFINITY_LEVEL_ON_PENDING = 2;

/** PSCI_VERSION(major, minor) (uapi psci.h): major in [31:16], minor in [15:0]. */
export function PSCI_VERSION(major: number, minor: number): number {
  return major * 0x1_0000 + minor;
}

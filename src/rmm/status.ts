/**
 * RMI return status codes. X0 = status | index << 8 (RMM spec B4.4; TF-RMM lib/common/include/status.h).
 * 0..4 are RMI v1.0; the rest appear with v1.1 / v2.0 (TF-RMM main smc-rmi.h).
 */
export enum RmiStatus {
  RMI_SUCCESS = 0,
  RMI_ERROR_INPUT = 1,
  RMI_ERROR_REALM = 2,
  RMI_ERROR_REC = 3,
  RMI_ERROR_RTT = 4,
  RMI_ERROR_NOT_SUPPORTED = 5,
  RMI_ERROR_DEVICE = 6,
  RMI_ERROR_RTT_AUX = 7,
  RMI_ERROR_PSMMU_ST = 8,
  RMI_ERROR_DPT = 9,
  RMI_BUSY = 10,
  RMI_ERROR_GLOBAL = 11,
  RMI_ERROR_TRACKING = 12,
  RMI_INCOMPLETE = 13,
  RMI_BLOCKED = 14,
  RMI_ERROR_GPT = 15,
  RMI_ERROR_GRANULE = 16,
}

export type RmiStatusName = keyof typeof RmiStatus;

export const STATUS_NAMES: readonly string[] = Object.keys(RmiStatus).filter((k) => Number.isNaN(Number(k)));

/** The name of an RMI status code (`RMI_SUCCESS`, `RMI_ERROR_RTT`, ...; unknown codes as `RMI_STATUS_<n>`). */
export function statusName(s: number): string {
  return RmiStatus[s] ?? `RMI_STATUS_${s}`;
}

export function statusFromName(name: string): RmiStatus {
  const v = (RmiStatus as unknown as Record<string, number>)[name];
  if (v === undefined) throw new RangeError(`unknown RMI status '${name}' (expected one of ${STATUS_NAMES.join(", ")})`);
  return v;
}

/** Pack a status and index into X0's low 16 bits. */
export function pack(status: RmiStatus, index = 0): number {
  return status + index * 256;
}

export const SUCCESS = 0;
export const ERROR_INPUT = 1;
export const ERROR_REALM = 2;
export const ERROR_REC = 3;
export const ERROR_GLOBAL = 11;
/** RMI_ERROR_RTT at `level`, packed. */
export function errorRtt(level: number): number {
  // The index is a byte: level -1 (LPA2) packs as 0xff, like TF-RMM's (unsigned char) cast.
  return RmiStatus.RMI_ERROR_RTT + ((level + 256) % 256) * 256;
}

/** SMCCC: unknown function. */
export const SMC_UNKNOWN = 0xffff_ffff_ffff_ffffn;

/**
 * RmiRealmParams: a 4096-byte structure in NS memory, read by RMI_REALM_CREATE.
 * Layout: RMM spec B4.4.x / TF-RMM rmm-spec-v1.0-rel0 lib/smc/include/smc-rmi.h struct rmi_realm_params.
 * v2.0 (TF-RMM main): flags0 adds DA/MEC bits, vmid is gone, num_aux_planes @0x38, flags1 @0x820.
 */
import { GRANULE_SIZE } from "../../arch/geometry.js";

export const REALM_PARAMS = {
  flags: 0x000, // u64: bit0 LPA2, bit1 SVE, bit2 PMU
  s2sz: 0x008, // u64 (TF-RMM reads u32)
  sve_vl: 0x010,
  num_bps: 0x018,
  num_wps: 0x020,
  pmu_num_ctrs: 0x028,
  hash_algo: 0x030, // u8
  num_aux_planes: 0x038, // v2.0
  rpv: 0x400, // 64 bytes
  vmid: 0x800, // u16, v1.0 only
  rtt_base: 0x808,
  rtt_level_start: 0x810, // s64
  rtt_num_start: 0x818, // u64 (TF-RMM u32)
  flags1: 0x820, // v2.0
} as const;

export const RMI_REALM_FLAGS_LPA2 = 1n << 0n;
export const RMI_REALM_FLAGS_SVE = 1n << 1n;
export const RMI_REALM_FLAGS_PMU = 1n << 2n;
export const RMI_HASH_SHA_256 = 0;
export const RMI_HASH_SHA_512 = 1;
export const RMI_HASH_SHA_384 = 2; // v2.0

export interface RealmParams {
  flags?: bigint;
  s2sz: number;
  sveVl?: number;
  numBps?: number;
  numWps?: number;
  pmuNumCtrs?: number;
  hashAlgo?: number;
  rpv?: Uint8Array;
  vmid?: number;
  rttBase: bigint;
  rttLevelStart: number;
  rttNumStart: number;
  numAuxPlanes?: number;
  flags1?: bigint;
}

/** Encode params as the 4096-byte page the host writes to NS memory. */
export function encodeRealmParams(p: RealmParams): Uint8Array {
  const b = new Uint8Array(GRANULE_SIZE);
  const v = new DataView(b.buffer);
  const u64 = (off: number, x: bigint | number) => v.setBigUint64(off, BigInt.asUintN(64, BigInt(x)), true);
  u64(REALM_PARAMS.flags, p.flags ?? 0n);
  u64(REALM_PARAMS.s2sz, p.s2sz);
  u64(REALM_PARAMS.sve_vl, p.sveVl ?? 0);
  u64(REALM_PARAMS.num_bps, p.numBps ?? 1);
  u64(REALM_PARAMS.num_wps, p.numWps ?? 1);
  u64(REALM_PARAMS.pmu_num_ctrs, p.pmuNumCtrs ?? 0);
  b[REALM_PARAMS.hash_algo] = p.hashAlgo ?? 0;
  u64(REALM_PARAMS.num_aux_planes, p.numAuxPlanes ?? 0);
  if (p.rpv) b.set(p.rpv.subarray(0, 64), REALM_PARAMS.rpv);
  v.setUint16(REALM_PARAMS.vmid, p.vmid ?? 0, true);
  u64(REALM_PARAMS.rtt_base, p.rttBase);
  u64(REALM_PARAMS.rtt_level_start, BigInt(p.rttLevelStart));
  u64(REALM_PARAMS.rtt_num_start, p.rttNumStart);
  u64(REALM_PARAMS.flags1, p.flags1 ?? 0n);
  return b;
}

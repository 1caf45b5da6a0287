/**
 * RmiRmmConfig: a 4096-byte structure in NS memory, written by the host for RMI_RMM_CONFIG_SET
 * and by the RMM for RMI_RMM_CONFIG_GET.
 * Layout: TF-RMM main lib/smc/include/smc-rmi.h struct rmi_rmm_config (tracking_region_size u64
 * @0x0, rmi_granule_size u64 @0x8); Linux v13/v14 include/linux/arm-smccc-rmi.h struct rmm_config.
 */
import { GRANULE_SIZE } from "../../arch/geometry.js";

export const RMM_CONFIG = {
  tracking_region_size: 0x0,
  rmi_granule_size: 0x8,
} as const;

/** RmiGranuleSize. The simulated RMM supports 4 KiB only (TF-RMM main: "only 4KB granularity"). */
export enum RmiGranuleSize {
  RMI_GRANULE_SIZE_4KB = 0,
  RMI_GRANULE_SIZE_16KB = 1,
  RMI_GRANULE_SIZE_64KB = 2,
}

/** Tracking region size with a 4 KiB RMI granule: 0 = 1 GiB (TF-RMM RMI_GRAN_4KB_TRACKING_REGION_SIZE_1GB). */
export const RMI_GRAN_4KB_TRACKING_REGION_SIZE_1GB = 0;

export interface RmmConfig {
  /** Encoded tracking region size (0 = 1 GiB for 4 KiB granules). */
  trackingRegionSize: number | bigint;
  /** RmiGranuleSize (0 = 4 KiB). */
  rmiGranuleSize: number | bigint;
}

/** The page the host writes before RMI_RMM_CONFIG_SET (Linux v13/v14 use {0, 0}). */
export function encodeRmmConfig(c: RmmConfig): Uint8Array {
  const b = new Uint8Array(GRANULE_SIZE);
  const v = new DataView(b.buffer);
  v.setBigUint64(RMM_CONFIG.tracking_region_size, BigInt.asUintN(64, BigInt(c.trackingRegionSize)), true);
  v.setBigUint64(RMM_CONFIG.rmi_granule_size, BigInt.asUintN(64, BigInt(c.rmiGranuleSize)), true);
  return b;
}

/** Decode the two fields (as u64 register-width values). */
export function decodeRmmConfig(bytes: Uint8Array): { trackingRegionSize: bigint; rmiGranuleSize: bigint } {
  const v = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  return {
    trackingRegionSize: v.getBigUint64(RMM_CONFIG.tracking_region_size, true),
    rmiGranuleSize: v.getBigUint64(RMM_CONFIG.rmi_granule_size, true),
  };
}

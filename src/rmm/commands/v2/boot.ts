/**
 * RMM v2.0 boot and discovery: RMI_RMM_CONFIG_SET (0x16E), RMI_RMM_CONFIG_GET (0x1EC),
 * RMI_RMM_ACTIVATE (0x202) and the v2.0 RMI_FEATURES (0x165, registers 0..4).
 *
 * The RMM starts in state INIT: until RMM_ACTIVATE succeeds every command except VERSION,
 * FEATURES, RMM_CONFIG_GET/SET, GRANULE_TRACKING_GET (tracking.ts) and RMM_ACTIVATE returns
 * RMI_ERROR_GLOBAL (the dispatcher does this for rows without `beforeActivate`); CONFIG_SET and
 * ACTIVATE work only in INIT.
 * Sources: TF-RMM main runtime/rmi/granule.c smc_rmm_config_set/get, runtime/rmi/activate.c
 * smc_rmm_activate (a plain command in TF-RMM main, not an SRO), runtime/rmi/feature.c,
 * lib/smc/include/smc-rmi.h (RmiFeatureRegister0..4); Linux v14 arch/arm64/kernel/rmi.c
 * (rmi_read_features reads 0..4; CONFIG_SET {0, 0}; ACTIVATE).
 */
import { GRANULE_SIZE, toNum } from "../../../arch/geometry.js";
import { decodeRmmConfig, encodeRmmConfig, RMI_GRAN_4KB_TRACKING_REGION_SIZE_1GB, RmiGranuleSize } from "../../abi/rmm-config.js";
import { findGranule } from "../../checks.js";
import type { RmiCommand } from "../../dispatch.js";
import { featureRegister0, type RmmFeatures } from "../../features.js";
import { GranuleState } from "../../granule.js";
import type { RmmState } from "../../state.js";
import { ERROR_GLOBAL, ERROR_INPUT, SUCCESS } from "../../status.js";
import { configOf, setConfig } from "./state.js";

/** An NS granule the RMM reads or writes early (ns_buffer_*_addr): aligned, tracked, state NS. */
function nsStructGranule(rmm: RmmState, ptr: bigint): number {
  if (ptr === 0n) return -1;
  const g = findGranule(rmm, ptr);
  if (g < 0 || rmm.granules.state(g) !== GranuleState.NS) return -1;
  return g;
}

/**
 * RMI_RMM_CONFIG_SET(config_ptr). Order (TF-RMM main smc_rmm_config_set): config_ptr 0 or not
 * 4K aligned -> INPUT; reading it from NS fails -> INPUT; rmi_granule_size != 4KB or an unknown
 * tracking_region_size encoding -> INPUT; RMM not in INIT -> GLOBAL.
 */
function rmmConfigSet(rmm: RmmState, cfgPtr: bigint): number {
  if (cfgPtr === 0n || toNum(cfgPtr) % GRANULE_SIZE !== 0) return ERROR_INPUT;
  const g = nsStructGranule(rmm, cfgPtr);
  if (g < 0) return ERROR_INPUT;
  const c = decodeRmmConfig(rmm.machine.mem.read(g * GRANULE_SIZE, 16));
  if (c.rmiGranuleSize !== BigInt(RmiGranuleSize.RMI_GRANULE_SIZE_4KB)) return ERROR_INPUT;
  if (c.trackingRegionSize !== BigInt(RMI_GRAN_4KB_TRACKING_REGION_SIZE_1GB)) return ERROR_INPUT;
  if (rmm.active) return ERROR_GLOBAL;
  setConfig(rmm, { trackingRegionSize: Number(c.trackingRegionSize), rmiGranuleSize: Number(c.rmiGranuleSize) });
  return SUCCESS;
}

/** RMI_RMM_CONFIG_GET(config_ptr): writes the RmmConfig in effect (any RMM state). */
function rmmConfigGet(rmm: RmmState, cfgPtr: bigint): number {
  if (cfgPtr === 0n || toNum(cfgPtr) % GRANULE_SIZE !== 0) return ERROR_INPUT;
  const g = nsStructGranule(rmm, cfgPtr);
  if (g < 0) return ERROR_INPUT;
  const cfg = configOf(rmm);
  rmm.machine.mem.write(g * GRANULE_SIZE, encodeRmmConfig(cfg));
  return SUCCESS;
}

/** RMI_RMM_ACTIVATE(): INIT -> ACTIVE; any other state -> GLOBAL (plain command, x1 = 0). */
function rmmActivate(rmm: RmmState): number {
  if (rmm.active) return ERROR_GLOBAL;
  rmm.active = true;
  return SUCCESS;
}

/** GPCCR_EL3.PPS encoding of the protected PA size (RMI_FEATURE_REGISTER_1_PPS). */
function ppsOf(paBits: number): number {
  const table: Record<number, number> = { 32: 0, 36: 1, 40: 2, 42: 3, 44: 4, 48: 5, 52: 6 };
  return table[paBits] ?? 5;
}

/**
 * RmiFeatureRegister0..4 of the v2.0 RMM (TF-RMM main smc-rmi.h):
 *  0: the v1.0 fields [31:0] only (S2SZ, LPA2, SVE, BPS, WPS, PMU); bits 32+ read 0 (the hash and
 *     MAX_RECS fields moved to register 1; bet3's L0GPT_BLOCK_DELEGATE/S2OASZ are not modelled);
 *  1: GRAN_SZ_4K (bit 0; 16K/64K not supported), HASH_SHA_256 (3), HASH_SHA_384 (4),
 *     HASH_SHA_512 (5), MAX_RECS_ORDER [9:6], L0GPTSZ [13:10] (0: 1 GiB L0 GPT entries),
 *     PPS [16:14] (from the PA width);
 *  2: device assignment (none: 0); 3: planes (none: 0); 4: MEC_COUNT (0: no MEC);
 *  any other index: 0.
 */
export function featureRegisterV2(f: RmmFeatures, index: bigint): bigint {
  switch (index) {
    case 0n:
      return featureRegister0(f) & 0xffff_ffffn;
    case 1n: {
      let v = 1n; // RMI_GRAN_SZ_4K
      if (f.sha256) v |= 1n << 3n;
      v |= 1n << 4n; // SHA-384: TF-RMM main always supports it for v2.0
      if (f.sha512) v |= 1n << 5n;
      v |= BigInt(f.maxRecsOrder & 0xf) << 6n;
      v |= BigInt(ppsOf(f.paBits)) << 14n;
      return v;
    }
    default:
      return 0n;
  }
}

/** RMI_FEATURES(index) v2.0: always SUCCESS; x1 = register `index` (0 beyond 4). */
function rmiFeaturesV2(rmm: RmmState, index: bigint): number {
  rmm.out1 = featureRegisterV2(rmm.features, index);
  return SUCCESS;
}

export const V2_BOOT_COMMANDS: RmiCommand[] = [
  { name: "RMI_FEATURES", fnum: 0x165, method: "features", args: ["index"], outs: ["value"], handler: rmiFeaturesV2, abi: ["2.0"], beforeActivate: true },
  { name: "RMI_RMM_CONFIG_SET", fnum: 0x16e, method: "rmmConfigSet", args: ["cfg_ptr"], outs: [], handler: rmmConfigSet, abi: ["2.0"], beforeActivate: true },
  { name: "RMI_RMM_CONFIG_GET", fnum: 0x1ec, method: "rmmConfigGet", args: ["cfg_ptr"], outs: [], handler: rmmConfigGet, abi: ["2.0"], beforeActivate: true },
  { name: "RMI_RMM_ACTIVATE", fnum: 0x202, method: "rmmActivate", args: [], outs: ["handle"], handler: rmmActivate, abi: ["2.0"], beforeActivate: true },
];

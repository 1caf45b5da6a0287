/**
 * RMI_VERSION and RMI_FEATURES. Source: RMM spec B4.3.16 / B4.3.11; TF-RMM runtime/rmi/version.c,
 * feature.c; [CBMC] tb_rmi_version.c, tb_rmi_features.c.
 */
import type { RmiCommand } from "../dispatch.js";
import { featureRegister0 } from "../features.js";
import type { RmmState } from "../state.js";
import { ERROR_INPUT, SUCCESS } from "../status.js";

/** RMI ABI versions as (major << 16) | minor. */
export const RMI_ABI_1_0 = 0x1_0000n;
export const RMI_ABI_2_0 = 0x2_0000n;

export function rmiVersionOf(rmm: RmmState): bigint {
  return rmm.abi === "1.0" ? RMI_ABI_1_0 : RMI_ABI_2_0;
}

/** RMI_VERSION(req): SUCCESS if req is the supported revision, else INPUT; x1 = lower = x2 = higher. */
function rmiVersion(rmm: RmmState, req: bigint): number {
  const v = rmiVersionOf(rmm);
  rmm.out1 = v;
  rmm.out2 = v;
  return req === v ? SUCCESS : ERROR_INPUT;
}

/** RMI_FEATURES(index): index 0 is RmiFeatureRegister0; every other index reads 0 (v1.0). */
function rmiFeatures(rmm: RmmState, index: bigint): number {
  rmm.out1 = index === 0n ? featureRegister0(rmm.features) : 0n;
  return SUCCESS;
}

export const SYSTEM_COMMANDS: RmiCommand[] = [
  { name: "RMI_VERSION", fnum: 0x150, method: "version", args: ["req"], outs: ["lower", "higher"], handler: rmiVersion, abi: ["1.0", "2.0"], beforeActivate: true },
  { name: "RMI_FEATURES", fnum: 0x165, method: "features", args: ["index"], outs: ["value"], handler: rmiFeatures, abi: ["1.0"] },
];

/**
 * RMI_PSCI_COMPLETE(calling_rec, target_rec, status): the host completes a realm's PSCI CPU_ON or
 * AFFINITY_INFO request. Source: RMM spec B4.3.6; TF-RMM rmm-spec-v1.0-rel0 runtime/rmi/rec.c
 * smc_psci_complete, runtime/rsi/psci.c psci_complete_request.
 */
import { GRANULE_SIZE, toNum } from "../../arch/geometry.js";
import {
  PSCI_0_2_AFFINITY_LEVEL_OFF,
  PSCI_0_2_AFFINITY_LEVEL_ON,
  PSCI_0_2_FN64_AFFINITY_INFO,
  PSCI_0_2_FN64_CPU_ON,
  PSCI_0_2_FN_AFFINITY_INFO,
  PSCI_0_2_FN_CPU_ON,
  PSCI_RET_ALREADY_ON,
  PSCI_RET_DENIED,
  PSCI_RET_SUCCESS,
  psciRetFromReg,
  psciRetToReg,
} from "../../arch/psci.js";
import { mpidrEl1ToRecIndex } from "../abi/rec-params.js";
import { gran } from "../checks.js";
import type { RmiCommand } from "../dispatch.js";
import { GranuleState } from "../granule.js";
import type { Rec } from "../rec.js";
import { recIsRunning } from "../rec-ops.js";
import type { RmmState } from "../state.js";
import { ERROR_INPUT, SUCCESS } from "../status.js";

/** The target is on: running now (refcount != 0) or runnable. */
function targetIsOn(rmm: RmmState, target: Rec): boolean {
  return recIsRunning(rmm, target) || target.runnable;
}

function psciComplete(rmm: RmmState, callingAddr: bigint, targetAddr: bigint, status: bigint): number {
  // 1 alignment of both addresses
  if (toNum(callingAddr) % GRANULE_SIZE !== 0 || toNum(targetAddr) % GRANULE_SIZE !== 0) return ERROR_INPUT;
  // 2 both REC granules, and distinct (find_lock_two_granules)
  const cg = gran(rmm, callingAddr, GranuleState.REC);
  const tg = gran(rmm, targetAddr, GranuleState.REC);
  if (cg < 0 || tg < 0 || cg === tg) return ERROR_INPUT;
  const calling = rmm.recs.get(cg)!;
  const target = rmm.recs.get(tg)!;
  // 3 the calling REC is running (it cannot have a pending request then)
  if (recIsRunning(rmm, calling)) return ERROR_INPUT;
  // 4 pending: no PSCI request outstanding
  if (calling.psci === undefined) return ERROR_INPUT;
  // 5 owner: both RECs of the same realm
  if (calling.rd !== target.rd) return ERROR_INPUT;
  // 6 target: the request's MPIDR (calling x1) names the target REC
  if (mpidrEl1ToRecIndex(calling.gprs[1]!) !== target.index) return ERROR_INPUT;
  const fid = BigInt.asUintN(32, calling.gprs[0]!);
  const cpuOn = fid === PSCI_0_2_FN_CPU_ON || fid === PSCI_0_2_FN64_CPU_ON;
  const affinityInfo = fid === PSCI_0_2_FN_AFFINITY_INFO || fid === PSCI_0_2_FN64_AFFINITY_INFO;
  if (!cpuOn && !affinityInfo) throw new Error(`RMM bug: REC ${calling.index} has a pending PSCI request with fid 0x${fid.toString(16)}`);
  // 7 status: CPU_ON accepts SUCCESS or DENIED, AFFINITY_INFO only SUCCESS
  const ret = psciRetFromReg(status);
  if (cpuOn && ret !== PSCI_RET_SUCCESS && ret !== PSCI_RET_DENIED) return ERROR_INPUT;
  if (affinityInfo && ret !== PSCI_RET_SUCCESS) return ERROR_INPUT;
  // 8 the host may deny CPU_ON only for a target that is off. TF-RMM (psci_complete_request)
  // completes the request before it reports this error; here, as for every failure, nothing changes.
  if (cpuOn && ret === PSCI_RET_DENIED && targetIsOn(rmm, target)) return ERROR_INPUT;

  let result: bigint;
  if (cpuOn) {
    if (targetIsOn(rmm, target)) {
      result = psciRetToReg(PSCI_RET_ALREADY_ON);
    } else if (ret === PSCI_RET_DENIED) {
      result = psciRetToReg(PSCI_RET_DENIED);
    } else {
      // psci_reset_rec: EL1h, exceptions masked, MMU off; pc = entry point, x0 = context id
      target.pc = calling.gprs[2]!;
      target.gprs[0] = calling.gprs[3]!;
      target.runnable = true;
      target.resume = "reset";
      result = psciRetToReg(PSCI_RET_SUCCESS);
    }
  } else {
    result = BigInt(targetIsOn(rmm, target) ? PSCI_0_2_AFFINITY_LEVEL_ON : PSCI_0_2_AFFINITY_LEVEL_OFF);
  }
  calling.gprs[0] = result;
  calling.gprs[1] = 0n;
  calling.gprs[2] = 0n;
  calling.gprs[3] = 0n;
  calling.psci = undefined;
  return SUCCESS;
}

export const PSCI_COMMANDS: RmiCommand[] = [
  { name: "RMI_PSCI_COMPLETE", fnum: 0x164, method: "psciComplete", args: ["calling_rec", "target_rec", "status"], outs: [], handler: psciComplete, abi: ["1.0", "2.0"] },
];

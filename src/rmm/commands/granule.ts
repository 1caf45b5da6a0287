/**
 * RMI_GRANULE_DELEGATE / RMI_GRANULE_UNDELEGATE. Source: RMM spec B4.3.1/B4.3.2;
 * TF-RMM runtime/rmi/granule.c; [CBMC] tb_rmi_granule_delegate.c, tb_rmi_granule_undelegate.c.
 */
import { Pas } from "../../platform/gpt.js";
import { findGranule } from "../checks.js";
import type { RmiCommand } from "../dispatch.js";
import { GranuleState } from "../granule.js";
import type { RmmState } from "../state.js";
import { ERROR_INPUT, SUCCESS } from "../status.js";

/** Delegate one granule: the shared per-granule step of DELEGATE and v2.0 RANGE_DELEGATE. */
export function delegateOne(rmm: RmmState, g: number): number {
  // 1 gran_align, 2 gran_bound: find_granule (done by the caller)
  // 3 gran_state: must be UNDELEGATED
  if (rmm.granules.state(g) !== GranuleState.NS) return ERROR_INPUT;
  // 4 gran_gpt: EL3 refuses unless the GPT says NS
  if (!rmm.machine.gpt.transition(g, Pas.NS, Pas.REALM)) return ERROR_INPUT;
  rmm.granules.setState(g, GranuleState.DELEGATED);
  rmm.machine.mem.zero(g); // an unlocked DELEGATED granule holds zeroes
  return SUCCESS;
}

export function undelegateOne(rmm: RmmState, g: number): number {
  if (rmm.granules.state(g) !== GranuleState.DELEGATED) return ERROR_INPUT;
  if (!rmm.machine.gpt.transition(g, Pas.REALM, Pas.NS)) {
    throw new Error(`RMM panic: EL3 refused to undelegate granule 0x${(g * 4096).toString(16)}`);
  }
  rmm.granules.setState(g, GranuleState.NS);
  rmm.machine.mem.zero(g); // TF-RMM main scrubs here; in v1.0 it is already zero
  return SUCCESS;
}

function granuleDelegate(rmm: RmmState, addr: bigint): number {
  const g = findGranule(rmm, addr);
  if (g < 0) return ERROR_INPUT;
  return delegateOne(rmm, g);
}

function granuleUndelegate(rmm: RmmState, addr: bigint): number {
  const g = findGranule(rmm, addr);
  if (g < 0) return ERROR_INPUT;
  return undelegateOne(rmm, g);
}

export const GRANULE_COMMANDS: RmiCommand[] = [
  { name: "RMI_GRANULE_DELEGATE", fnum: 0x151, method: "granuleDelegate", args: ["addr"], outs: [], handler: granuleDelegate, abi: ["1.0"] },
  { name: "RMI_GRANULE_UNDELEGATE", fnum: 0x152, method: "granuleUndelegate", args: ["addr"], outs: [], handler: granuleUndelegate, abi: ["1.0"] },
];

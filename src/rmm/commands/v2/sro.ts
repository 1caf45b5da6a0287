/**
 * The SRO driving commands of RMM v2.0: RMI_OP_CONTINUE (0x203), RMI_OP_MEM_DONATE (0x208),
 * RMI_OP_MEM_RECLAIM (0x209), RMI_OP_CANCEL (0x20A). The engine is src/rmm/sro.ts.
 * Source: TF-RMM main lib/smc/include/smc-rmi.h (FIDs, arguments), runtime/rmi/sro.c.
 */
import type { RmiCommand } from "../../dispatch.js";
import { opCancel, opContinue, opMemDonate, opMemReclaim } from "../../sro.js";

export const V2_SRO_COMMANDS: RmiCommand[] = [
  { name: "RMI_OP_CONTINUE", fnum: 0x203, method: "opContinue", args: ["handle", "flags"], outs: ["handle", "request"], handler: opContinue, abi: ["2.0"] },
  { name: "RMI_OP_MEM_DONATE", fnum: 0x208, method: "opMemDonate", args: ["handle", "list_pa", "count"], outs: ["consumed", "request"], handler: opMemDonate, abi: ["2.0"] },
  { name: "RMI_OP_MEM_RECLAIM", fnum: 0x209, method: "opMemReclaim", args: ["handle", "list_pa", "capacity"], outs: ["count"], handler: opMemReclaim, abi: ["2.0"] },
  { name: "RMI_OP_CANCEL", fnum: 0x20a, method: "opCancel", args: ["handle"], outs: [], handler: opCancel, abi: ["2.0"] },
];

/**
 * RMM v2.0 RMI_REC_CREATE (0x15A) and RMI_REC_DESTROY (0x15B) as stateful operations (SRO): the
 * RMM asks for the REC's auxiliary granules by donation instead of taking them from RecParams
 * (REC_AUX_COUNT and RecParams.num_aux/aux[] are gone), and hands them back by reclaim.
 *
 * REC_CREATE(rd, rec, params_ptr):
 *   gran(rec) DELEGATED -> else INPUT (nothing changed). rec -> PARTIAL; result
 *   INCOMPLETE | MEMREQ_DONATE | CAN_CANCEL, x1 = handle, x2 = RmiOpMemDonateReq {4 KiB, 16,
 *   non-contiguous, DELEGATED}. OP_MEM_DONATE moves donated granules to REC_AUX; when all 16 are
 *   in the result is INCOMPLETE | MEMREQ_NONE (still cancellable) and OP_CONTINUE runs the checks:
 *     params NS -> INPUT; gran(rd) RD -> INPUT; RD refcount at the REC limit -> REALM;
 *     realm not NEW -> REALM; mpidr invalid or not the next REC index -> INPUT.
 *   Success: SUCCESS, rec -> REC (RIM extended if RUNNABLE), handle released. Failure:
 *   INCOMPLETE | MEMREQ_RECLAIM (not cancellable); OP_MEM_RECLAIM returns the aux granules
 *   (DELEGATED); then INCOMPLETE | MEMREQ_NONE, and OP_CONTINUE returns the check's error with
 *   rec back to DELEGATED.
 *   OP_CANCEL (while donating or before the final OP_CONTINUE): nothing donated -> SUCCESS, rec
 *   DELEGATED; else INCOMPLETE | MEMREQ_RECLAIM, reclaim, OP_CONTINUE -> SUCCESS (cancelled).
 * REC_DESTROY(rec):
 *   gran(rec) REC -> INPUT; REC running -> REC. rec -> PARTIAL, RD refcount -1; result
 *   INCOMPLETE | MEMREQ_RECLAIM, x1 = handle; after the reclaim INCOMPLETE | MEMREQ_NONE and
 *   OP_CONTINUE -> SUCCESS with rec DELEGATED (zeroed).
 *
 * Sources: TF-RMM main runtime/rmi/rec.c (smc_rec_create, rec_create_continue, smc_rec_destroy,
 * rec_continue_handler), lib/sro_context sro_aux.c; Linux v14 05/44 rmi_rec_create
 * (rmi_sro_execute) and 10/44 (SRO support). The REC checks and install come from
 * src/rmm/rec-ops.ts.
 */
import { MAX_REC_AUX_GRANULES } from "../../abi/rec-params.js";
import { RmiAddrSize, RmiOpMemState } from "../../abi/range-desc.js";
import { gran, nsGranule, nsReadGranule } from "../../checks.js";
import type { RmiCommand } from "../../dispatch.js";
import { GranuleState } from "../../granule.js";
import { decodeRecParams, installRec, recCreateRealmChecks, recIsRunning } from "../../rec-ops.js";
import type { RmmState } from "../../state.js";
import { sroTable, type SroContext, type SroHooks } from "../../sro.js";
import { ERROR_INPUT, ERROR_REC, SUCCESS } from "../../status.js";

interface RecCreateData {
  rd: bigint;
  recG: number;
  paramsPtr: bigint;
  aux: number[];
  /** Status OP_CONTINUE reports once the reclaim after a failure or cancel is done. */
  final?: number;
}

function toDelegated(rmm: RmmState, g: number): void {
  rmm.granules.setState(g, GranuleState.DELEGATED);
  rmm.granules.setRef(g, 0);
  rmm.machine.mem.zero(g);
}

/** Start handing the donated aux granules back; OP_CONTINUE then reports `final`. */
function startReclaim(rmm: RmmState, s: SroContext, d: RecCreateData, final: number): number {
  d.final = final;
  s.reclaim.push(...d.aux);
  d.aux = [];
  s.canCancel = false;
  s.donate = undefined;
  s.expect = "RECLAIM";
  return s.incomplete(rmm);
}

const REC_CREATE_HOOKS: SroHooks = {
  held(s) {
    return (s.data as unknown as RecCreateData).aux;
  },
  onDonate(_rmm, s, g) {
    const d = s.data as unknown as RecCreateData;
    _rmm.granules.setState(g, GranuleState.REC_AUX);
    d.aux.push(g);
  },
  onDonateDone(_rmm, s) {
    s.donate = undefined;
    s.expect = "CONTINUE";
  },
  onReclaimDone(_rmm, s) {
    s.expect = "CONTINUE";
  },
  onContinue(rmm, s) {
    const d = s.data as unknown as RecCreateData;
    if (d.final !== undefined) {
      // After a failure or a cancel: the aux granules are back; the REC granule follows.
      toDelegated(rmm, d.recG);
      return d.final;
    }
    const pg = nsGranule(rmm, d.paramsPtr);
    if (pg < 0) return startReclaim(rmm, s, d, ERROR_INPUT);
    const p = decodeRecParams(nsReadGranule(rmm, pg));
    const rdG = gran(rmm, d.rd, GranuleState.RD);
    if (rdG < 0) return startReclaim(rmm, s, d, ERROR_INPUT);
    const realm = rmm.realms.get(rdG)!;
    const r = recCreateRealmChecks(rmm, realm, p.mpidr);
    if (r !== SUCCESS) return startReclaim(rmm, s, d, r);
    installRec(rmm, realm, d.recG, p, d.aux);
    return SUCCESS;
  },
  onCancel(rmm, s) {
    const d = s.data as unknown as RecCreateData;
    if (d.aux.length === 0) {
      toDelegated(rmm, d.recG);
      return SUCCESS;
    }
    return startReclaim(rmm, s, d, SUCCESS);
  },
};

function recCreateV2(rmm: RmmState, rd: bigint, rec: bigint, paramsPtr: bigint): number {
  const recG = gran(rmm, rec, GranuleState.DELEGATED);
  if (recG < 0) return ERROR_INPUT;
  rmm.granules.setState(recG, GranuleState.PARTIAL);
  const s = sroTable(rmm).start("RMI_REC_CREATE", REC_CREATE_HOOKS);
  const data: RecCreateData = { rd, recG, paramsPtr, aux: [] };
  s.data = data as unknown as Record<string, unknown>;
  s.expect = "DONATE";
  s.canCancel = true;
  s.donate = { sz: RmiAddrSize.PAGE_L3, count: MAX_REC_AUX_GRANULES, contig: false, state: RmiOpMemState.DELEGATED };
  return s.incomplete(rmm);
}

interface RecDestroyData {
  recG: number;
}

const REC_DESTROY_HOOKS: SroHooks = {
  onReclaimDone(_rmm, s) {
    s.expect = "CONTINUE";
  },
  onContinue(rmm, s) {
    const d = s.data as unknown as RecDestroyData;
    toDelegated(rmm, d.recG);
    return SUCCESS;
  },
};

function recDestroyV2(rmm: RmmState, rec: bigint): number {
  const g = gran(rmm, rec, GranuleState.REC);
  if (g < 0) return ERROR_INPUT;
  const r = rmm.recs.get(g)!;
  if (recIsRunning(rmm, r)) return ERROR_REC;
  rmm.granules.setState(g, GranuleState.PARTIAL);
  rmm.granules.addRef(r.rd, -1);
  rmm.recs.delete(g);
  const s = sroTable(rmm).start("RMI_REC_DESTROY", REC_DESTROY_HOOKS);
  s.data = { recG: g };
  s.reclaim.push(...r.aux);
  s.expect = r.aux.length > 0 ? "RECLAIM" : "CONTINUE";
  return s.incomplete(rmm);
}

export const V2_REC_COMMANDS: RmiCommand[] = [
  { name: "RMI_REC_CREATE", fnum: 0x15a, method: "recCreate", args: ["rd", "rec", "params_ptr"], outs: ["handle", "request"], handler: recCreateV2, abi: ["2.0"], noCompat: true },
  { name: "RMI_REC_DESTROY", fnum: 0x15b, method: "recDestroy", args: ["rec"], outs: ["handle"], handler: recDestroyV2, abi: ["2.0"], noCompat: true },
];

/**
 * The host side of RMM v2.0 stateful operations (SRO): `rmi_sro_execute` /
 * `rmi_sro_memxfer_execute` (v14 arch/arm64/kernel/rmi.c; a WIP form in v13 for REC create and
 * destroy). While the RMM answers RMI_INCOMPLETE the host serves its memory request:
 *   DONATE  -> allocate + delegate what the request asks for, RMI_OP_MEM_DONATE; if the host
 *              cannot and the operation can be cancelled: RMI_OP_CANCEL (-> -ECANCELED);
 *   RECLAIM -> RMI_OP_MEM_RECLAIM into the kernel's list page, then hand each range back;
 *   NONE    -> RMI_OP_CONTINUE.
 * S28 (v14 10/44, Gavin/Marc/Dan Williams): on MEMREQ NONE the v14 loop reads its result variable
 * uninitialised (Steven: "must init 0"); modelled as a flagged read of a stale 0, or of garbage
 * when the host poisons uninitialised reads, which takes the cancel/WARN path.
 * Sources: linux-cca-series.md §3.2, §5.12, S28; rmm-model.md §9.3 (REC_CREATE v2.0); docs/rmm-2.0.md.
 */
import { ECANCELED, ENOMEM, ENXIO } from "./errno.js";
import type { Kvm } from "./kvm.js";
import { KernelHang } from "./coop.js";
import { decode_range_desc, level_to_size } from "./range.js";
import { RANGE_DESC } from "../rmm/abi/range-desc.js";
import {
  RMI_INCOMPLETE, RMI_OP_MEM_REQ_DONATE, RMI_OP_MEM_REQ_NONE, RMI_OP_MEM_REQ_RECLAIM,
  RMI_RETURN_CANCANCEL, RMI_RETURN_MEMREQ, RMI_RETURN_STATUS, RMI_SUCCESS,
} from "./rmi.js";

/** A decoded RmiOpMemDonateReq, read with the posting's decoder (SZ via level_to_size). */
export interface DonateReq {
  sz: number;
  /** Bytes of one block as the posting computes them (S28: folded page-table levels). */
  blockSize: number;
  count: number;
  contig: boolean;
  undelegated: boolean;
}

export function decode_donate_req(req: bigint, pgtableLevels = 4): DonateReq {
  const sz = Number(req & 3n);
  return {
    sz,
    blockSize: level_to_size(sz, pgtableLevels),
    count: Number((req >> 2n) & 0x3fffn),
    contig: ((req >> 16n) & 1n) === 1n,
    undelegated: ((req >> 17n) & 1n) === 1n,
  };
}

export interface SroMemOps {
  /**
   * Provide memory for a donate request: descriptors (already delegated granules, in the
   * posting's own encoding) for at most `req.count` blocks, or null if the host cannot.
   */
  donate(req: DonateReq): bigint[] | null;
  /** Granules the RMM handed back (descriptors as written by the RMM). */
  reclaimed(descs: bigint[]): void;
  /** Donated granules the RMM did not consume (to be undelegated and freed by the caller). */
  unconsumed?(descs: bigint[]): void;
}

const MAX_ROUNDS = 100_000;

/**
 * rmi_sro_memxfer_execute(first result): drive the SRO to a terminal status. Returns the final
 * packed RMI result (>= 0) or a negative errno (-ECANCELED after a cancel, -ENOMEM).
 */
export function rmi_sro_execute(kvm: Kvm, first: { ret: number; handle: bigint; request: bigint }, ops: SroMemOps, fn = "rmi_sro_execute"): number {
  const host = kvm.host;
  const rmi = host.rmi;
  let ret = first.ret;
  const handle = first.handle;
  let request = first.request;
  let cancelled = false;
  /** The v14 loop's result variable: stale 0 from the last round (never initialised). */
  let result: number | undefined;
  for (let rounds = 0; RMI_RETURN_STATUS(ret) === RMI_INCOMPLETE; rounds++) {
    if (rounds > MAX_ROUNDS) throw new KernelHang(fn, rounds);
    const memreq = RMI_RETURN_MEMREQ(ret);
    const canCancel = RMI_RETURN_CANCANCEL(ret);
    if (memreq === RMI_OP_MEM_REQ_DONATE) {
      const req = decode_donate_req(request);
      const descs = ops.donate(req);
      if (descs === null || descs.length === 0) {
        if (!canCancel) {
          kvm.warn(fn, "cannot satisfy a donate request of a non-cancellable operation");
          return -ENOMEM;
        }
        host.log.push("event", `${fn}: donation of ${req.count} x 0x${req.blockSize.toString(16)} bytes failed: RMI_OP_CANCEL`);
        cancelled = true;
        ret = rmi.op_cancel(handle);
        result = 0;
        continue;
      }
      const d = rmi.op_mem_donate(handle, descs);
      if (RMI_RETURN_STATUS(d.ret) !== RMI_INCOMPLETE && d.ret !== RMI_SUCCESS) {
        kvm.warn(fn, `RMI_OP_MEM_DONATE returned ${d.ret}`);
        ops.unconsumed?.(descs);
        return -ENXIO;
      }
      if (d.consumed < descs.reduce((a, x) => a + Number((x >> RANGE_DESC.CNT_SHIFT) & RANGE_DESC.CNT_MASK), 0)) ops.unconsumed?.(descs.slice(d.consumed));
      ret = d.ret;
      request = d.request;
      result = 0;
    } else if (memreq === RMI_OP_MEM_REQ_RECLAIM) {
      const r = rmi.op_mem_reclaim(handle, 512);
      if (RMI_RETURN_STATUS(r.ret) !== RMI_INCOMPLETE && r.ret !== RMI_SUCCESS) {
        kvm.warn(fn, `RMI_OP_MEM_RECLAIM returned ${r.ret}`);
        return -ENXIO;
      }
      ops.reclaimed(r.descs);
      ret = r.ret;
      result = 0;
    } else if (memreq === RMI_OP_MEM_REQ_NONE) {
      if (host.profile.sroUninitResult) {
        // S28: the result variable is read before anything wrote it on this path.
        const v = host.poisonUninit ? 0xdead : (result ?? 0);
        host.log.push("event", `${fn}: MEMREQ NONE reads an uninitialised result (${v === 0 ? "stale 0" : "garbage"})`);
        kvm.flags.push(`S28: ${fn} read its result uninitialised on MEMREQ NONE`);
        if (v !== 0) {
          kvm.warn(fn, `unexpected result ${v} on MEMREQ NONE`);
          if (canCancel) {
            cancelled = true;
            ret = rmi.op_cancel(handle);
            continue;
          }
          return -ENXIO;
        }
      }
      const c = rmi.op_continue(handle);
      ret = c.ret;
      request = c.request;
    } else {
      kvm.warn(fn, `unknown memory request ${memreq}`);
      return -ENXIO;
    }
  }
  if (cancelled && ret === RMI_SUCCESS) return -ECANCELED;
  return ret;
}

/** Descriptors -> [pa, bytes] ranges as the posting decodes them. */
export function descRanges(descs: readonly bigint[]): { addr: number; size: number }[] {
  return descs.map((d) => {
    const r = decode_range_desc(d);
    return { addr: r.addr, size: r.size };
  });
}

/**
 * The host side of RMM v2.0 stateful operations (SRO): rmi_sro_execute with rmi_sro_donate,
 * rmi_sro_reclaim and rmi_sro_free (v14 10/44, arch/arm64/kernel/rmi.c), as rmi_rec_create /
 * rmi_rec_destroy (v14 05/44 rmi_cmds.h) drive them: execute, then rmi_sro_free on every path.
 * While the RMM answers RMI_INCOMPLETE, per RMI_RETURN_MEMREQ:
 *   NONE    -> RMI_OP_CONTINUE;
 *   DONATE  -> rmi_sro_donate: WARN_ON(!count) and return 0 (the loop then sees the same request
 *              again: the posted code spins); allocate (and delegate) every block asked for, or
 *              return -ENOMEM / -ENXIO with what was allocated left in the SRO list;
 *              RMI_OP_MEM_DONATE, whose status is not checked (it becomes the loop's result);
 *              blocks the RMM did not take stay in the list (a contiguous donation frees the rest
 *              of a partly taken block at once);
 *   RECLAIM -> rmi_sro_reclaim: RMI_OP_MEM_RECLAIM into the list (status not checked), return 0;
 *   other   -> ret = WARN_ON(1).
 * Then `if (ret) { if (can_cancel) { FIXME } if (WARN_ON(ret)) return ret; }`: no RMI_OP_CANCEL
 * is ever sent (the cancel is a FIXME comment), the operation is left in progress in the RMM.
 * The final result is x0 of the last call. rmi_sro_free hands every listed range back (undelegate
 * when DELEGATED: a failure WARNs and leaks; then free) once the operation returns, whatever the
 * outcome. Each SMC retries while BUSY/BLOCKED (rmi_smccc_invoke).
 * S28 (v14 10/44, Gavin/Marc/Dan Williams): `int ret;` is declared in the loop body and only the
 * DONATE/RECLAIM/default branches assign it: on MEMREQ NONE the check after RMI_OP_CONTINUE
 * reads it uninitialised (Steven: "must init 0"). Modelled as the previous iteration's value
 * (0 if none: "stale 0"), or garbage (0xdead) when the host poisons uninitialised reads, which
 * WARNs and returns 0xdead.
 * v13 has no SRO: v13 17/48 kvm_create_rec calls the plain v1.0-style rmi_rec_create(rd, rec,
 * params) with the aux granules in the params (profile recCreate "aux-params"; src/kvm/rmi/rec.ts).
 */
import { ENOMEM } from "../errno.js";
import type { Kvm } from "../kvm.js";
import { KernelHang } from "../../sched/coop.js";
import { decode_range_desc, level_to_size } from "./range.js";
import { RANGE_DESC } from "../../rmm/abi/range-desc.js";
import {
  rmi_smccc_invoke, RMI_INCOMPLETE, RMI_OP_MEM_REQ_DONATE, RMI_OP_MEM_REQ_NONE, RMI_OP_MEM_REQ_RECLAIM,
  RMI_RETURN_CANCANCEL, RMI_RETURN_MEMREQ, RMI_RETURN_STATUS,
} from "../rmi_cmds.js";

/** RMI_MAX_ADDR_LIST (v14 05/44): entries of struct rmi_sro_state's addr_list. */
export const RMI_MAX_ADDR_LIST = 256;

/** A decoded RmiOpMemDonateReq, read with the posting's decoder (SZ via level_to_size). */
export interface DonateReq {
  sz: number;
  /** Bytes of one block as the posting computes them (donate_req_to_size; S28: folded levels). */
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
   * Allocate (and delegate) memory for a donate request: one descriptor per block (the posting's
   * own encoding), or null if the host cannot (an allocation failure: -ENOMEM). Fewer
   * descriptors than blocks asked for is a failure too: the posting returns -ENOMEM with the
   * blocks it got left in the SRO list.
   */
  donate(req: DonateReq): bigint[] | null;
  /** rmi_sro_free for ranges the RMM handed back (descriptors as written by the RMM). */
  reclaimed(descs: bigint[]): void;
  /** rmi_sro_free for donated ranges the RMM did not take. */
  unconsumed?(descs: bigint[]): void;
}

/** The first call's result (x0, x1 = handle, x2 = donate request). */
export interface SroFirst {
  ret: number;
  handle: bigint;
  request: bigint;
}

const MAX_ROUNDS = 100_000;

/** CNT of a descriptor. */
const cnt = (d: bigint): number => Number((d >> RANGE_DESC.CNT_SHIFT) & RANGE_DESC.CNT_MASK);

/**
 * rmi_sro_execute(sro) from its first call's result, then rmi_sro_free. Returns x0 of the last
 * call (>= 0), or the negative errno / WARN value an `if (ret) return ret` path returned.
 */
export function rmi_sro_execute(kvm: Kvm, first: SroFirst, ops: SroMemOps, fn = "rmi_sro_execute"): number {
  const sro: { kind: "donated" | "reclaimed"; descs: bigint[] }[] = [];
  try {
    return sro_loop(kvm, first, ops, fn, sro);
  } finally {
    // rmi_sro_free(sro): the wrapper's second step, on every path.
    for (const e of sro) {
      if (e.descs.length === 0) continue;
      if (e.kind === "reclaimed") ops.reclaimed(e.descs);
      else ops.unconsumed?.(e.descs);
    }
  }
}

function sro_loop(kvm: Kvm, first: SroFirst, ops: SroMemOps, fn: string, sro: { kind: "donated" | "reclaimed"; descs: bigint[] }[]): number {
  const host = kvm.env;
  const rmi = host.rmi;
  let a0 = first.ret;
  const handle = first.handle;
  let a2 = first.request;
  /** The loop body's `int ret;`: what the previous iteration left in it (never initialised). */
  let stale: number | undefined;
  for (let rounds = 0; RMI_RETURN_STATUS(a0) === RMI_INCOMPLETE; rounds++) {
    if (rounds > MAX_ROUNDS) throw new KernelHang(fn, rounds);
    const canCancel = RMI_RETURN_CANCANCEL(a0);
    const memreq = RMI_RETURN_MEMREQ(a0);
    let ret: number;
    if (memreq === RMI_OP_MEM_REQ_NONE) {
      const c = rmi_smccc_invoke(fn, () => rmi.op_continue(handle));
      a0 = c.ret;
      a2 = c.request;
      if (host.profile.sroUninitResult) {
        ret = host.poisonUninit ? 0xdead : (stale ?? 0);
        host.log.push("event", `${fn}: MEMREQ NONE: the result check reads an uninitialised ret (${ret === 0 ? "stale 0" : "garbage"})`);
        kvm.flags.push(`S28: ${fn} read its result uninitialised on MEMREQ NONE`);
      } else {
        ret = 0;
      }
    } else if (memreq === RMI_OP_MEM_REQ_DONATE) {
      const req = decode_donate_req(a2);
      if (req.count === 0) {
        // WARN_ON(!count) return 0: nothing changes, the next iteration sees the same request.
        kvm.warn(fn, "rmi_sro_donate: donate request for 0 blocks");
        throw new KernelHang(`${fn} (donate request of count 0)`, rounds + 1);
      }
      const descs = ops.donate(req) ?? [];
      if (descs.length < req.count) {
        // alloc_pages_exact failed part-way: -ENOMEM; what was allocated stays in the SRO list.
        sro.push({ kind: "donated", descs });
        host.log.push("event", `${fn}: donation of ${req.count} x 0x${req.blockSize.toString(16)} bytes: allocation failed (-ENOMEM)`);
        ret = -ENOMEM;
      } else {
        const d = rmi_smccc_invoke(fn, () => rmi.op_mem_donate(handle, descs));
        a0 = d.ret;
        a2 = d.request;
        // donated_granules = a1: blocks the RMM did not take stay in the list (freed by rmi_sro_free)
        let left = d.consumed;
        const rest: bigint[] = [];
        for (const x of descs) {
          const n = cnt(x) * (req.blockSize / 4096);
          if (left >= n) left -= n;
          else {
            rest.push(x);
            left = 0;
          }
        }
        // a contiguous donation the RMM took part of: the rest is freed at once
        // (free_delegated_page per page); untaken blocks wait for rmi_sro_free
        if (rest.length > 0 && req.contig && d.consumed > 0) ops.unconsumed?.(rest);
        else if (rest.length > 0) sro.push({ kind: "donated", descs: rest });
        ret = 0;
      }
    } else if (memreq === RMI_OP_MEM_REQ_RECLAIM) {
      const capacity = RMI_MAX_ADDR_LIST - sro.reduce((a, e) => a + e.descs.length, 0);
      const r = rmi_smccc_invoke(fn, () => rmi.op_mem_reclaim(handle, capacity));
      a0 = r.ret;
      sro.push({ kind: "reclaimed", descs: r.descs });
      ret = 0;
    } else {
      kvm.warn(fn, `unknown memory request ${memreq}`);
      ret = 1; // WARN_ON(1)
    }
    stale = ret;
    if (ret !== 0) {
      // if (can_cancel) { /* FIXME: Handle cancelling properly! */ }  then  if (WARN_ON(ret)) return ret;
      kvm.warn(fn, `WARN_ON(ret): returns ${ret}, last RMI status ${a0} (no RMI_OP_CANCEL: FIXME${canCancel ? ", although it could be cancelled" : ""})`);
      return ret;
    }
  }
  return a0;
}

/** Descriptors -> [pa, bytes] ranges as the posting decodes them. */
export function descRanges(descs: readonly bigint[]): { addr: number; size: number }[] {
  return descs.map((d) => {
    const r = decode_range_desc(d);
    return { addr: r.addr, size: r.size };
  });
}

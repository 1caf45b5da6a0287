/**
 * arch/arm64/kvm/rmi.c (rme.c in v8/v10), RECs: kvm_create_rec (+ alloc_rec_aux / free_rec_aux),
 * kvm_destroy_rec, kvm_rec_pre_enter and kvm_rec_enter (the exit handlers are in ../rmi-exit.ts).
 * Sources: v10 11/43, v12 12/46, v13 17/48,
 * v14 19/44 (RECs); v8 16/43 as quoted in Gavin Shan's reply of 30 Apr 2025, v9 16/43 (stand-in
 * for v10 16), v12 16/46, v13 20/48, v14 22/44 (enter/exit);
 * v10 17/43 .. v14 23/44 (RIPAS change at pre-enter); v14 rmi.c kvm_rec_complete_psci;
 * per function: docs/provenance.md.
 */
import { encodeRecParams, REC_ENTER_FLAG_EMUL_MMIO, REC_ENTER_FLAG_RIPAS_RESPONSE, REC_RUN, RMI_REC_PARAMS_FLAG_RUNNABLE, RmiExitReason } from "../../rmm/abi/rec-params.js";
import { pt, type Gen } from "../../sched/coop.js";
import { EBUSY, EINVAL, ENOMEM, ENXIO } from "../errno.js";
import { Kvm, PAGE_SIZE, RealmStateK, type Vcpu } from "../kvm.js";
import { kvm_complete_ripas_change } from "./ripas.js";
import { RMI_SUCCESS } from "../rmi_cmds.js";
import { delegate_page, free_delegated_granule, undelegate_page } from "./rtt.js";
import { descRanges, rmi_sro_execute } from "./sro.js";
import { delegate_range, rmi_addr_range, undelegate_range } from "./range.js";
import { RmiOpMemState } from "../../rmm/abi/range-desc.js";

/**
 * free_rec_aux (v10 11/43, v12 12/46, v13 17/48): undelegate each aux granule (WARN on failure);
 * only a page whose undelegate succeeded is freed (the others are leaked). One granule per page.
 */
function free_rec_aux(kvm: Kvm, aux: readonly number[]): void {
  for (const pa of aux) {
    if (undelegate_page(kvm, pa) !== RMI_SUCCESS) {
      kvm.warn("free_rec_aux", `undelegate of aux 0x${pa.toString(16)} failed`);
      kvm.env.pages.leak(pa, "undelegate failed (REC aux)");
      continue;
    }
    kvm.env.pages.put(pa);
  }
}

/**
 * alloc_rec_aux: one page per aux granule (4K host), each delegated. An allocation failure frees
 * the aux pages so far (free_rec_aux: -ENOMEM). A delegate failure (-ENXIO): v10/v12 undelegate the
 * granules of the current page (none on a 4K host), free it and free_rec_aux the earlier pages;
 * v13 17/48's err_undelegate walks `i` back to 0 undelegating every earlier page, frees the current
 * page, then calls free_rec_aux(aux_pages, i) with i == 0: the earlier pages are undelegated but
 * never freed (leaked). If one of those undelegates fails (WARN) it jumps to out_err with that `i`:
 * free_rec_aux handles [0, i), the failed page and the ones above it stay lost, the current page too.
 */
function alloc_rec_aux(kvm: Kvm, numAux: number, out: number[]): number {
  for (let i = 0; i < numAux; i++) {
    const pa = kvm.allocPage("kvm-aux");
    if (pa < 0) {
      free_rec_aux(kvm, out);
      out.length = 0;
      return -ENOMEM;
    }
    if (delegate_page(kvm, pa) !== RMI_SUCCESS) {
      if (kvm.profile.allocRecAuxUnwind === "v13-undelegate-all") {
        let k = out.length;
        let failed = false;
        while (k > 0) {
          k--;
          if (undelegate_page(kvm, out[k]!) !== RMI_SUCCESS) {
            kvm.warn("alloc_rec_aux", `undelegate of aux 0x${out[k]!.toString(16)} failed`);
            failed = true;
            break;
          }
        }
        if (failed) {
          // out_err: free_rec_aux(aux_pages, k); pages k.. and the current page are never freed
          for (let j = k; j < out.length; j++) kvm.env.pages.leak(out[j]!, j === k ? "undelegate failed (REC aux)" : "alloc_rec_aux unwind: undelegated, never freed");
          kvm.env.pages.leak(pa, "alloc_rec_aux unwind: never freed");
          free_rec_aux(kvm, out.slice(0, k));
        } else {
          kvm.env.pages.put(pa);
          for (const a of out) kvm.env.pages.leak(a, "alloc_rec_aux unwind: undelegated, never freed (free_rec_aux(aux_pages, 0))");
          if (out.length > 0) kvm.event(`alloc_rec_aux: ${out.length} aux page(s) undelegated by err_undelegate but never freed`);
        }
        out.length = 0;
        return -ENXIO;
      }
      kvm.env.pages.put(pa);
      free_rec_aux(kvm, out);
      out.length = 0;
      return -ENXIO;
    }
    out.push(pa);
  }
  return 0;
}

/**
 * v14 rmi_rec_create(rd, rec, params, sro) (v14 05/44): rmi_sro_execute then rmi_sro_free. The
 * donate step allocates and delegates what each request asks for (alloc_pages_exact of the block
 * size; only PAGE_SIZE blocks are modelled); pages the RMM hands back or does not take are
 * undelegated and freed. Returns the final RMI status (0 = created) or a negative errno; `aux`
 * holds the pages the RMM kept.
 */
function rec_create_sro(vcpu: Vcpu, recPage: number, params: number, aux: number[]): number {
  const kvm = vcpu.kvm;
  const first = kvm.env.rmi.rec_create_sro(kvm.realm.rd, recPage, params);
  const free = (descs: bigint[]) => {
    for (const { addr, size } of descRanges(descs)) free_reclaimed(kvm, addr, size, aux);
  };
  return rmi_sro_execute(kvm, first, {
    donate(req) {
      const descs: bigint[] = [];
      const pages = req.blockSize / PAGE_SIZE;
      if (pages !== 1) {
        kvm.event(`rmi_sro_donate: donation of ${req.count} block(s) of 0x${req.blockSize.toString(16)} bytes not served (only PAGE_SIZE blocks modelled)`);
        return null;
      }
      for (let i = 0; i < req.count; i++) {
        const pa = kvm.allocPage("kvm-aux");
        if (pa < 0) break;
        if (delegate_range(kvm, pa, PAGE_SIZE).ret !== 0) {
          kvm.env.pages.put(pa);
          break;
        }
        aux.push(pa);
        descs.push(rmi_addr_range(kvm.profile, pa, "PAGE", 1, RmiOpMemState.DELEGATED));
      }
      return descs.length > 0 ? descs : null;
    },
    reclaimed: free,
    unconsumed: free,
  }, "rmi_rec_create");
}

/** Undelegate and free pages the RMM handed back through OP_MEM_RECLAIM (v14), forgetting them in `aux`. */
function free_reclaimed(kvm: Kvm, addr: number, size: number, aux: number[]): void {
  const u = undelegate_range(kvm, addr, size);
  for (let a = addr; a < addr + size; a += PAGE_SIZE) {
    const i = aux.indexOf(a);
    if (a < u.top || u.ret === 0) {
      if (i >= 0) aux.splice(i, 1);
      if (kvm.env.pages.page(a) !== undefined) kvm.env.pages.put(a);
    } else if (kvm.env.pages.page(a) !== undefined) {
      kvm.warn("rmi_sro_memxfer_execute", `undelegate of reclaimed 0x${a.toString(16)} failed`);
      kvm.env.pages.leak(a, "undelegate failed (SRO reclaim)");
      if (i >= 0) aux.splice(i, 1);
    }
  }
}

/**
 * kvm_create_rec(vcpu) (v10 11/43, v12 12/46, v13 17/48, v14 19/44). `entry` is the guest's entry
 * point (the PC the VMM set; every vCPU gets it, only vCPU 0 is RUNNABLE). The unwind: free the aux
 * granules (v14: the SRO frees its own), undelegate the REC page (WARN: leaked), free the pages;
 * v13+ then clear rec->run, v10/v12 leave it pointing at the freed page (recCreateUnwindClearsRun).
 */
export function kvm_create_rec(vcpu: Vcpu, entry: bigint): number {
  const kvm = vcpu.kvm;
  const rec = vcpu.rec;
  const rmi = kvm.env.rmi;
  if (rec.run >= 0) return -EBUSY;
  const params = kvm.allocPage("kvm-params");
  const recPage = kvm.allocPage("kvm-rec");
  const run = kvm.allocPage("kvm-run");
  let r: number;
  let recFreed = recPage; // rec->rec_page as out_free_pages frees it (NULL after a failed undelegate)
  out: {
    if (params < 0 || recPage < 0 || run < 0) {
      r = -ENOMEM;
      break out;
    }
    if (delegate_page(kvm, recPage) !== RMI_SUCCESS) {
      r = -ENXIO;
      break out;
    }
    const aux: number[] = [];
    // v14: no REC_AUX_COUNT, the RMM asks for its aux memory by donation.
    const v2 = kvm.profile.recCreate === "v14-sro";
    r = v2 ? 0 : alloc_rec_aux(kvm, kvm.realm.numAux, aux);
    if (r === 0) {
      kvm.env.ns.write(BigInt(params), encodeRecParams({
        flags: vcpu.id === 0 ? RMI_REC_PARAMS_FLAG_RUNNABLE : 0n,
        mpidr: vcpu.mpidr,
        pc: entry,
        gprs: [],
        numAux: v2 ? 0 : kvm.realm.numAux,
        aux: v2 ? [] : aux.map(BigInt),
      }));
      const c = v2 ? rec_create_sro(vcpu, recPage, params, aux) : rmi.rec_create(kvm.realm.rd, recPage, params);
      if (c === RMI_SUCCESS) {
        rec.recPage = recPage;
        rec.run = run;
        rec.aux = aux;
        rec.mpidr = vcpu.mpidr;
        kvm.env.pages.put(params);
        return 0;
      }
      // `if (rmi_rec_create(...)) { r = -ENXIO; ... }`: any failure, an SRO errno included.
      r = -ENXIO;
      // v14 goes straight to out_undelegate_rmm_rec (rmi_rec_create's rmi_sro_free did the rest)
      if (!v2) free_rec_aux(kvm, aux);
    }
    // out_undelegate_rmm_rec: if (WARN_ON(undelegate(rec_page_phys))) rec->rec_page = NULL;
    if (undelegate_page(kvm, recPage) !== RMI_SUCCESS) {
      kvm.warn("kvm_create_rec", `undelegate of REC 0x${recPage.toString(16)} failed`);
      kvm.env.pages.leak(recPage, "undelegate failed (REC)");
      recFreed = -1;
    }
  }
  // out_free_pages
  for (const p of [run, recFreed, params]) if (p >= 0) kvm.env.pages.put(p);
  if (!kvm.profile.recCreateUnwindClearsRun && run >= 0) {
    // v10 11/43 / v12 12/46: rec->run is freed but not cleared (rec->rec_page too, or NULL).
    rec.run = run;
    rec.recPage = recFreed;
    rec.stale = true;
    kvm.flags.push(`kvm_create_rec: vcpu${vcpu.id}'s rec->run points at the page the unwind freed`);
    kvm.event(`kvm_create_rec vcpu${vcpu.id}: ${r}; rec->run left pointing at the freed page 0x${run.toString(16)}`);
  }
  return r;
}

/**
 * kvm_destroy_rec(vcpu): free rec->run; REC_DESTROY (WARN: the REC and aux pages are leaked);
 * free the aux granules; free the REC granule. After a v10/v12 failed kvm_create_rec (rec.stale)
 * rec->run is freed a second time and REC_DESTROY is called on the freed REC page (or on
 * virt_to_phys(NULL), modelled as PA 0): the RMM refuses and the WARN fires.
 */
export function kvm_destroy_rec(vcpu: Vcpu): void {
  const kvm = vcpu.kvm;
  const rec = vcpu.rec;
  if (rec.run < 0) return; // "Nothing to do if the VCPU hasn't been finalized"
  if (rec.stale) {
    kvm.flags.push(`kvm_destroy_rec: vcpu${vcpu.id}: free_page(rec->run) of an already freed page (double free)`);
    kvm.event(`kvm_destroy_rec vcpu${vcpu.id}: rec->run 0x${rec.run.toString(16)} was already freed by kvm_create_rec's unwind (double free)`);
    rec.run = -1;
    const r = kvm.env.rmi.rec_destroy(Math.max(rec.recPage, 0));
    if (r !== RMI_SUCCESS) kvm.warn("kvm_destroy_rec", `REC_DESTROY of the freed REC page 0x${Math.max(rec.recPage, 0).toString(16)} returned ${r}`);
    rec.recPage = -1;
    rec.stale = false;
    return;
  }
  kvm.env.pages.put(rec.run);
  rec.run = -1;
  if (kvm.profile.recCreate === "v14-sro") return kvm_destroy_rec_sro(vcpu);
  if (kvm.env.rmi.rec_destroy(rec.recPage) !== RMI_SUCCESS) {
    kvm.warn("kvm_destroy_rec", `REC_DESTROY 0x${rec.recPage.toString(16)} failed: REC and aux pages leaked`);
    kvm.env.pages.leak(rec.recPage, "REC_DESTROY failed");
    for (const a of rec.aux) kvm.env.pages.leak(a, "REC_DESTROY failed");
    return;
  }
  free_rec_aux(kvm, rec.aux);
  rec.aux = [];
  free_delegated_granule(kvm, rec.recPage);
  rec.recPage = -1;
}

/**
 * v14 kvm_destroy_rec's rmi_rec_destroy(rec, sro): an SRO that hands the aux granules back
 * (rmi_sro_free undelegates and frees them, whatever the outcome). A failure WARNs and returns:
 * the REC page (and the aux pages the RMM still holds) are leaked.
 */
function kvm_destroy_rec_sro(vcpu: Vcpu): void {
  const kvm = vcpu.kvm;
  const rec = vcpu.rec;
  const first = kvm.env.rmi.rec_destroy_sro(rec.recPage);
  const free = (descs: bigint[]) => {
    for (const { addr, size } of descRanges(descs)) free_reclaimed(kvm, addr, size, rec.aux);
  };
  const r = rmi_sro_execute(kvm, { ret: first.ret, handle: first.handle, request: 0n }, { donate: () => null, reclaimed: free, unconsumed: free }, "rmi_rec_destroy");
  if (r !== RMI_SUCCESS) {
    kvm.warn("kvm_destroy_rec", `REC_DESTROY 0x${rec.recPage.toString(16)} failed (${r}): REC and aux pages leaked`);
    kvm.env.pages.leak(rec.recPage, "REC_DESTROY failed");
    for (const a of rec.aux) if (kvm.env.pages.page(a) !== undefined) kvm.env.pages.leak(a, "REC_DESTROY failed");
    return;
  }
  rec.aux = [];
  free_delegated_granule(kvm, rec.recPage);
  rec.recPage = -1;
}

export function runField(vcpu: Vcpu, off: number): bigint {
  return vcpu.kvm.env.ns.readU64At(vcpu.rec.run + off);
}

/** Number(runField(vcpu, off)), without the bigint. */
export function runFieldNumber(vcpu: Vcpu, off: number): number {
  return vcpu.kvm.env.ns.readU64NumberAt(vcpu.rec.run + off);
}

export function setRunField(vcpu: Vcpu, off: number, v: bigint): void {
  vcpu.kvm.env.ns.writeU64At(vcpu.rec.run + off, v);
}

/**
 * The register part of kvm_rec_pre_enter: after a host call (and, before v14, a PSCI exit) the
 * vCPU's GPRs go back to the RMM through run.enter.gprs (simplified: the vCPU's registers are the
 * exit's GPRs; KVM's PSCI return value in x0 is not modelled - the simulated RMM reads enter.gprs
 * only after a host call or an MMIO exit). v14 22/44's PSCI case calls kvm_rec_complete_psci
 * instead of copying. Returns the last exit's reason (a RIPAS change is left to the caller).
 */
function complete_exit_gprs(vcpu: Vcpu): number {
  const reason = runFieldNumber(vcpu, REC_RUN.exit.exit_reason);
  if (reason === RmiExitReason.RMI_EXIT_HOST_CALL || (reason === RmiExitReason.RMI_EXIT_PSCI && vcpu.kvm.profile.psciCompletion === "at-exit")) {
    for (let i = 0; i < 31; i++) setRunField(vcpu, REC_RUN.enter.gprs + 8 * i, runField(vcpu, REC_RUN.exit.gprs + 8 * i));
  }
  return reason;
}

/**
 * kvm_rec_pre_enter (v12 16/46, v13 20/48, v14 22/44 rmi.c; v9 16/43 rme.c): 1 enter, <= 0 back to
 * userspace. -EINVAL unless the realm is ACTIVE; v14 completes a pending PSCI request
 * (kvm_rec_complete_psci); the GPRs go back after a host call; a RIPAS change is completed.
 */
export function* kvm_rec_pre_enter(vcpu: Vcpu): Gen<number> {
  const kvm = vcpu.kvm;
  if (kvm.realm.state !== RealmStateK.ACTIVE) return -EINVAL;
  if (vcpu.psciPending !== undefined) {
    // v14 kvm_rec_complete_psci: the kernel completes the PSCI request before the next entry.
    // Until it does, a target vCPU that CPU_ON already marked on may enter its REC first (S25).
    yield pt("PSCI_COMPLETE");
    const { target, status } = vcpu.psciPending;
    vcpu.psciPending = undefined;
    // realm_psci_complete's -EINVAL is ignored: kvm_rec_complete_psci is void and
    // kvm_rec_pre_enter goes on to return 1 (v14 rmi.c).
    const r = kvm.env.rmi.psci_complete(vcpu.rec.recPage, target.rec.recPage, status);
    if (r !== RMI_SUCCESS) kvm.event(`kvm_rec_complete_psci: PSCI_COMPLETE returned ${r} (realm_psci_complete -EINVAL, ignored)`);
  }
  if (complete_exit_gprs(vcpu) === RmiExitReason.RMI_EXIT_RIPAS_CHANGE) yield* kvm_complete_ripas_change(vcpu);
  return 1;
}

/** Entry flags for the next REC_ENTER (MMIO completion, RIPAS response). */
export function prepare_entry(vcpu: Vcpu, rejectRipas: boolean): void {
  let flags = 0n;
  if (vcpu.mmioPending !== undefined) {
    flags += REC_ENTER_FLAG_EMUL_MMIO;
    if (vcpu.mmioPending.read) setRunField(vcpu, REC_RUN.enter.gprs, vcpu.mmioPending.value);
    vcpu.mmioPending = undefined;
  }
  if (rejectRipas) flags += REC_ENTER_FLAG_RIPAS_RESPONSE;
  setRunField(vcpu, REC_RUN.enter.flags, flags);
}

/**
 * kvm_rec_enter (v12 16/46, v13 20/48, v14 22/44 rmi.c): REC_ENTER(rec, run). The vGIC state is
 * flushed to and synced from the REC around it by the run loop (kvm_vcpu_run, arm.ts).
 */
export function kvm_rec_enter(vcpu: Vcpu): number {
  return vcpu.kvm.env.rmi.rec_enter(vcpu.rec.recPage, vcpu.rec.run);
}

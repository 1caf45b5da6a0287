/**
 * S21 — RIPAS change with a range reaching the shared half (all postings; Gavin, v14 22/44).
 * (1) A conforming RMM v1.0 refuses RSI_IPA_STATE_SET beyond the protected half in the realm
 *     (RSI_ERROR_INPUT, RMM spec RSI_IPA_STATE_SET "region bound"; TF-RMM region_in_rec_par): the
 *     host never sees such an exit.
 * (2) The host's own check (rec_exit_ripas_change): an RMM that reports a RIPAS_CHANGE exit whose
 *     top lies in the shared half — modelled by rewriting exit.ripas_top of that one exit right
 *     after REC_ENTER returns. KVM sets REC_ENTER_FLAG_RIPAS_RESPONSE (reject) in rec_run.enter and
 *     returns -EINVAL: the run ioctl fails, so the rejection reaches the RMM only if the VMM runs
 *     the vCPU again (and that entry first tries to complete the change). The flag is set from
 *     v9 16/43 on ("Set RMI_REJECT bit"); v8 16/43 (as quoted in Gavin Shan's reply of 30 Apr 2025)
 *     returns -EINVAL without it (ripasChangeRejectFlag), so the next entry answers the realm
 *     ACCEPT with no progress.
 */
import { REC_ENTER_FLAG_RIPAS_RESPONSE, REC_RUN, RmiExitReason } from "../rmm/abi/rec-params.js";
import { RSI_CHANGE_DESTROYED } from "../rmm/realm-exec.js";
import type { RmiCallRecord } from "../rmm/trace.js";
import { countRmi, SHARED_40, startedRealm } from "./helpers.js";
import type { ScenarioDef } from "./scenario.js";

function ripasExits(host: { trace: string[] }): number {
  return host.trace.filter((l) => l.includes("vcpu0 RIPAS_CHANGE")).length;
}

export const S21: ScenarioDef = {
  id: "S21",
  title: "RIPAS change for a range reaching the shared half: RMM refusal; host reject flag and -EINVAL",
  affects: ["v8", "v10", "v12"],
  run(series, mk) {
    const { host, vm } = startedRealm(series, { ramBase: 0n, memory: 16n << 20n });
    const rec = mk(host);
    const lastProtected = SHARED_40 - 4096n;
    // (1) the guest asks for [last protected page, first shared page + 4 KiB)
    const x0 = ripasExits(host);
    const t1 = vm.run(0, [{ kind: "ipa-state-set", base: lastProtected, top: SHARED_40 + 4096n, ripas: 0, flags: RSI_CHANGE_DESTROYED }]);
    rec.data.conformingRmm = { guestResult: t1.result, ripasChangeExits: ripasExits(host) - x0 };
    // (2) an exit that reports top in the shared half
    const rmm = host.platform.rmm;
    const ns = host.platform.ns;
    const run = BigInt(vm.kvm.vcpus[0]!.rec.run);
    let armed = true;
    const unsub = rmm.trace.subscribe((r: RmiCallRecord) => {
      if (!armed || r.name !== "RMI_REC_ENTER" || r.x0 !== 0) return;
      if (ns.readU64(run + BigInt(REC_RUN.exit.exit_reason)) !== BigInt(RmiExitReason.RMI_EXIT_RIPAS_CHANGE)) return;
      armed = false;
      ns.writeU64(run + BigInt(REC_RUN.exit.ripas_top), SHARED_40 + 4096n);
      host.log.push("event", "S21: the RMM reports exit.ripas_top in the shared half (non-conforming RMM model)");
    });
    const enters0 = countRmi(host, "REC_ENTER");
    const w0 = host.warnCount;
    let t2;
    try {
      t2 = vm.run(0, [{ kind: "ipa-state-set", base: SHARED_40 - 0x10000n, top: SHARED_40, ripas: 0, flags: RSI_CHANGE_DESTROYED }]);
    } finally {
      unsub();
    }
    const flags = ns.readU64(run + BigInt(REC_RUN.enter.flags));
    rec.data.hostCheck = {
      kvmRun: t2.errno ?? t2.outcome,
      enterFlags: `0x${flags.toString(16)}`,
      rejectFlagSet: (flags & REC_ENTER_FLAG_RIPAS_RESPONSE) !== 0n,
      recEntersAfterReject: countRmi(host, "REC_ENTER") - enters0 - 1,
    };
    rec.check("RIPAS_CHANGE exit reaching the shared half", t2);
    if (!host.profile.ripasChangeRejectFlag) {
      rec.notes.push("v8 16/43 rec_exit_ripas_change (as quoted in Gavin Shan's reply of 30 Apr 2025): vcpu_err and -EINVAL, no REC_ENTER_FLAG_RIPAS_RESPONSE (\"Set RMI_REJECT bit\" is v9 16/43): the next REC_ENTER answers the realm RSI_ACCEPT with no progress, for a request to RAM too (linux-cca-series.md has the reject flag in all versions).");
    }
    // The VMM runs the vCPU again: the reject goes out with the next entry.
    const e1 = countRmi(host, "REC_ENTER");
    const t3 = vm.run(0, []);
    const recG = vm.kvm.vcpus[0]!.rec.recPage / 4096;
    rec.data.runAgain = {
      kvmRun: t3.errno ?? t3.outcome,
      recEnters: countRmi(host, "REC_ENTER") - e1,
      warns: host.warnCount - w0,
      rttSetRipas: host.trace.filter((l) => l.startsWith("SMC_RMI_RTT_SET_RIPAS")).slice(-1)[0] ?? null,
      rmmRipasChangePending: rmm.recs.get(recG)?.ripas !== undefined,
    };
    rec.check("the VMM runs the vCPU again", t3);
    return { host, rec };
  },
};

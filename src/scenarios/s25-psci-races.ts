/**
 * S25: A: vCPU 0 powers the system off, then vCPU 1 enters its REC. B: vCPU 0 turns vCPU 1 on with
 * CPU_ON and vCPU 1 runs KVM_RUN as soon as KVM marks it on, before or after the PSCI completion.
 */
import { psciOps, realmMpidr } from "../guest/guest.js";
import { interleave } from "../sched/sched.js";
import { errnoName } from "../kvm/errno.js";
import type { ScenarioDef } from "./scenario.js";
import { RAM, started, psciReturn } from "./helpers.js";

export const S25: ScenarioDef = {
  id: "S25",
  title: "PSCI races at REC entry: SYSTEM_OFF from another vCPU (v8); a CPU_ON target entering before the completion (v14)",
  affects: ["v8", "v14"],
  run(series, mk) {
    // A (Emi Kisanuki, v8): vCPU 0 powers the system off, then vCPU 1 enters its REC.
    const { host, vm } = started(series, { vcpus: 2 });
    const rec = mk(host);
    const off = vm.run(0, [psciOps.systemOff()]);
    rec.data.vcpu0 = off.outcome;
    // vCPU 1's one KVM_RUN: REC_ENTER answers RMI_ERROR_REALM index 1 (the RD is SYSTEM_OFF).
    // (KVM's PSCI SYSTEM_OFF handling leaves a sleep request on vCPU 1, which the model does not
    // have: the VMM's next KVM_RUN is not simulated.)
    const one = vm.raceThreads([{ vcpu: 1, ops: [{ kind: "access", ipa: RAM + 0x2000n, access: "read" }] }]);
    const run1 = interleave(one.threads, (runnable) => runnable[0]!).results[0]!;
    const exit1 = vm.kvm.vcpus[1]!.lastExit.kind;
    rec.data.vcpu1 = { kvmRun: errnoName(run1.ret), exit: exit1 === "unknown" ? "KVM_EXIT_UNKNOWN" : exit1 === "shutdown" ? "KVM_EXIT_SHUTDOWN" : exit1 };
    rec.check("vcpu1 enters after SYSTEM_OFF");
    if (host.profile.recEnterRealmError === "unknown-index1") {
      // v8 16/43 handle_rec_exit (as quoted in Gavin Shan's reply of 30 Apr 2025):
      // `if (status == RMI_ERROR_REALM && index == 1) { vcpu->run->exit_reason = KVM_EXIT_UNKNOWN; return 0; }`
      rec.mark("error", "vcpu1 enters after SYSTEM_OFF: KVM_RUN returns 0 with KVM_EXIT_UNKNOWN (v8 16/43 handle_rec_exit, as quoted in Gavin Shan's reply of 30 Apr 2025); the VMM cannot tell it from an error (Emi Kisanuki, 29 May 2025: 'Error: KVM exit reason: 0 (\"KVM_EXIT_UNKNOWN\")'). linux-cca-series.md has v8 return -ENXIO for every REC_ENTER failure; the posted code has this case and returns 0.");
    }
    // B (v14 rmi.c: kvm_rec_pre_enter -> kvm_rec_complete_psci): vCPU 1 is off; vCPU 0 turns
    // it on with CPU_ON and vCPU 1's thread runs KVM_RUN as soon as KVM marks it on. v8..v13
    // answer PSCI_COMPLETE while handling the exit, so REC 1 is runnable by then; v14 answers it
    // in vCPU 0's next kvm_rec_pre_enter, and REC 1 entered before that is refused
    // (RMI_ERROR_REC): KVM_RUN -EAGAIN, the VMM runs it again.
    const b = started(series, { vcpus: 2 });
    b.vm.run(1, [psciOps.cpuOff()]);
    const target = b.vm.kvm.vcpus[1]!;
    const { threads, records } = b.vm.raceThreads([
      { vcpu: 0, ops: [psciOps.cpuOn(realmMpidr(1), b.vm.entry)] },
      { vcpu: 1, ops: [{ kind: "access", ipa: RAM + 0x3000n, access: "read" }] },
    ]);
    // vCPU 0 until KVM has turned vCPU 1 on, then vCPU 1 until its KVM_RUN returns, then vCPU 0.
    const { results } = interleave(threads, (runnable) => (!target.powerOff && runnable.includes(1) ? 1 : runnable[0]!));
    b.host.step("CPU_ON race");
    const first = results[1]!;
    // the thread's KVM_RUN stops once the guest's access is done (a signal to the VMM thread)
    const firstRun = first.stop === "guest-idle" ? "access done" : errnoName(first.ret);
    const retry = first.stop === "guest-idle" ? undefined : b.vm.run(1, []);
    const recEnterErrors = b.host.trace.filter((l) => l.startsWith("SMC_RMI_REC_ENTER") && l.includes("RMI_ERROR_REC")).length;
    rec.data.cpuOnRace = {
      vcpu1FirstRun: firstRun,
      recEnterErrorRec: recEnterErrors,
      retry: retry === undefined ? null : retry.outcome,
      vcpu1Access: records[1]![0]!.result ?? null,
      cpuOnPsciReturn: psciReturn(records[0]![0]!.result),
    };
    rec.notes.push(`CPU_ON race: vcpu1's first KVM_RUN: ${firstRun}${retry === undefined ? "" : `; run again: ${retry.outcome}`}`);
    return { host, rec };
  },
};

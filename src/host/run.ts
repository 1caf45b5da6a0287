/**
 * KVM_RUN for a realm vCPU (kvm_arch_vcpu_ioctl_run with the series' REC branch):
 * first-run activation (v12), kvm_rec_pre_enter, REC_ENTER, handle_rec_exit, until an exit to
 * userspace. A simulated run also stops when the caller says so (the guest finished what it was
 * asked to do: a signal to the VMM thread) or when the same fault repeats with no change of state
 * anywhere (a livelock, detected rather than waited for).
 */
import { EINTR_LIKE, type RunControl } from "./run-control.js";
import { pt, type Gen } from "./coop.js";
import { EIO } from "./errno.js";
import { RealmStateK, type Vcpu } from "./kvm.js";
import { kvm_arch_vcpu_load, kvm_arch_vcpu_put, kvm_arch_vcpu_run_pid_change } from "./first-run.js";
import { NEEDS_THREAD, kvm_rec_pre_enter, kvm_rec_pre_enter_nowait, prepare_entry, rec_enter_call, rec_exit_nowait } from "./rec.js";
import { kvm_handle_guest_abort } from "./mmu.js";
import { REC_RUN } from "../rmm/abi/rec-params.js";

export interface RunResult {
  /** The ioctl's return value (0 = exit to userspace with vcpu.lastExit, < 0 = errno). */
  ret: number;
  /** Why the simulated run stopped. */
  stop: "exit" | "error" | "guest-idle" | "livelock" | "halted" | "limit";
  /** REC exits handled in the kernel during this run. */
  exits: number;
}

/** KVM_RUN between vcpu_load and vcpu_put (first-run.ts: the debug load/put of S27). */
export function* kvm_vcpu_run(vcpu: Vcpu, ctl: RunControl): Gen<RunResult> {
  kvm_arch_vcpu_load(vcpu);
  try {
    const early = kvm_vcpu_run_checks(vcpu, ctl);
    if (early !== undefined) return early;
    // The loop is written here rather than in a generator of its own, and the parts of
    // kvm_rec_pre_enter, kvm_rec_enter and handle_rec_exit that cannot yield are called directly:
    // every yield passes through each generator level, and each call makes a generator object.
    const kvm = vcpu.kvm;
    let exits = 0;
    for (;;) {
      if (vcpu.powerOff) return { ret: 0, stop: "halted", exits };
      let pre = kvm_rec_pre_enter_nowait(vcpu);
      if (pre === NEEDS_THREAD) pre = yield* kvm_rec_pre_enter(vcpu); // PSCI completion, RIPAS change
      if (pre <= 0) return { ret: pre, stop: pre < 0 ? "error" : "exit", exits };
      prepare_entry(vcpu, vcpu.ripasReject);
      vcpu.ripasReject = false;
      yield REC_ENTER_POINT; // kvm_rec_enter
      const r = rec_enter_call(vcpu);
      exits++;
      // the exit's signature for livelock detection, read before the exit is handled
      const ns = kvm.host.platform.ns;
      const exitReason = ns.readU64(BigInt(vcpu.rec.run + REC_RUN.exit.exit_reason));
      const hpfar = ns.readU64(BigInt(vcpu.rec.run + REC_RUN.exit.hpfar));
      const d = rec_exit_nowait(vcpu, r, exitReason, hpfar); // handle_rec_exit
      const ret = typeof d === "number" ? d : yield* kvm_handle_guest_abort(vcpu, d);
      if (ret <= 0) return { ret, stop: ret < 0 ? "error" : "exit", exits };
      const s = ctl.after(vcpu, r, exitReason, hpfar);
      if (s !== undefined) return { ret: EINTR_LIKE, stop: s, exits };
      if (kvm.realm.state !== RealmStateK.ACTIVE) return { ret: 0, stop: "exit", exits };
    }
  } finally {
    kvm_arch_vcpu_put(vcpu);
  }
}

const REC_ENTER_POINT = pt("REC_ENTER");

/** The checks before the loop: a result when KVM_RUN returns before entering, else undefined. */
function kvm_vcpu_run_checks(vcpu: Vcpu, ctl: RunControl): RunResult | undefined {
  const kvm = vcpu.kvm;
  vcpu.lastExit = { kind: "none" };
  // KVM_BUG_ON marked the VM bugged (v13/v14 populate, S22): vCPU ioctls fail with -EIO.
  if (kvm.vmBugged) return { ret: -EIO, stop: "error", exits: 0 };
  if (!vcpu.hasRun) {
    // kvm_arch_vcpu_run_pid_change (first-run.ts); on failure the vCPU has not run yet (S17 B).
    const r = kvm_arch_vcpu_run_pid_change(vcpu, ctl.entry);
    if (r) return { ret: r, stop: "error", exits: 0 };
    vcpu.hasRun = true;
  }
  // No REC check here: kvm_rec_pre_enter's realm-state check (-EINVAL) comes before any use of
  // rec->run, and v8/v10's first run needs the REC finalized (kvm_arm_vcpu_is_finalized, -EPERM).
  return undefined;
}

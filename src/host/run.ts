/**
 * KVM_RUN for a realm vCPU (kvm_arch_vcpu_ioctl_run with the series' REC branch):
 * first-run activation (v12), kvm_rec_pre_enter, REC_ENTER, handle_rec_exit, until an exit to
 * userspace. A simulated run also stops when the caller says so (the guest finished what it was
 * asked to do: a signal to the VMM thread) or when the same fault repeats with no change of state
 * anywhere (a livelock, detected rather than waited for).
 */
import { EINTR_LIKE, type RunControl } from "./run-control.js";
import { type Gen } from "./coop.js";
import { EIO } from "./errno.js";
import { ENOEXEC_LIKE } from "./run-control.js";
import { RealmStateK, type Vcpu } from "./kvm.js";
import { kvm_arch_vcpu_load, kvm_arch_vcpu_put, kvm_arch_vcpu_run_pid_change } from "./first-run.js";
import { handle_rec_exit, kvm_rec_enter, kvm_rec_pre_enter, prepare_entry } from "./rec.js";
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
    return yield* kvm_vcpu_run_loaded(vcpu, ctl);
  } finally {
    kvm_arch_vcpu_put(vcpu);
  }
}

function* kvm_vcpu_run_loaded(vcpu: Vcpu, ctl: RunControl): Gen<RunResult> {
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
  if (vcpu.rec.run < 0) return { ret: ENOEXEC_LIKE, stop: "error", exits: 0 };
  let exits = 0;
  for (;;) {
    if (vcpu.powerOff) return { ret: 0, stop: "halted", exits };
    const pre = yield* kvm_rec_pre_enter(vcpu);
    if (pre <= 0) return { ret: pre, stop: pre < 0 ? "error" : "exit", exits };
    prepare_entry(vcpu, vcpu.ripasReject);
    vcpu.ripasReject = false;
    const r = yield* kvm_rec_enter(vcpu);
    exits++;
    // the exit's signature for livelock detection, read before the exit is handled
    const ns = kvm.host.platform.ns;
    const exitReason = ns.readU64(BigInt(vcpu.rec.run + REC_RUN.exit.exit_reason));
    const hpfar = ns.readU64(BigInt(vcpu.rec.run + REC_RUN.exit.hpfar));
    const ret = yield* handle_rec_exit(vcpu, r);
    if (ret <= 0) return { ret, stop: ret < 0 ? "error" : "exit", exits };
    const s = ctl.after(vcpu, r, exitReason, hpfar);
    if (s !== undefined) return { ret: EINTR_LIKE, stop: s, exits };
    if (kvm.realm.state !== RealmStateK.ACTIVE) return { ret: 0, stop: "exit", exits };
  }
}

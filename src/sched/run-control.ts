/**
 * When a simulated KVM_RUN stops without an exit to userspace: the guest is idle, the vCPU
 * livelocks (the same REC exit repeating while nothing changes in the RMM or the guest), or a
 * bound on exits is hit. A livelock is recognised after LIVELOCK_REPEATS identical exits.
 */
export const EINTR_LIKE = -4; // -EINTR: the run was interrupted (signal) before an exit to userspace
export const LIVELOCK_REPEATS = 16;

export interface RunControl {
  /** Guest entry point (PC of vCPU 0), used by activation on first run. */
  entry: bigint;
  /**
   * Called after every exit handled in the kernel (with the vCPU: struct kvm_vcpu, opaque to the
   * scheduler layer); a value stops the run. The exit's signature is
   * (REC_ENTER's return value, exit_reason, hpfar), read from the run page before the exit was
   * handled: two exits with equal signatures are "the same exit".
   */
  after(vcpu: unknown, ret: number, exitReason: bigint, hpfar: bigint): "guest-idle" | "livelock" | "limit" | undefined;
}

/** A control that stops when `done()` holds, detecting livelock and bounding the exits. */
export function untilDone(entry: bigint, done: () => boolean, progress: () => number, maxExits = 200_000): RunControl & { livelock: boolean } {
  // the last exit's signature (compared field by field: no string built per exit)
  let lastRet = NaN;
  let lastReason = -1n;
  let lastHpfar = -1n;
  let lastProgress = -1;
  let repeats = 0;
  let n = 0;
  const ctl = {
    entry,
    livelock: false,
    after(_vcpu: unknown, ret: number, exitReason: bigint, hpfar: bigint) {
      if (done()) return "guest-idle" as const;
      const p = progress();
      if (ret === lastRet && exitReason === lastReason && hpfar === lastHpfar && p === lastProgress) {
        if (++repeats >= LIVELOCK_REPEATS) {
          ctl.livelock = true;
          return "livelock" as const;
        }
      } else {
        repeats = 0;
        lastRet = ret;
        lastReason = exitReason;
        lastHpfar = hpfar;
        lastProgress = p;
      }
      if (++n >= maxExits) return "limit" as const;
      return undefined;
    },
  };
  return ctl;
}

/**
 * arch/arm64/kvm/arm.c for a realm vCPU:
 *   - KVM_RUN (kvm_arch_vcpu_ioctl_run with the series' REC branch): first-run activation (v12),
 *     kvm_rec_pre_enter, REC_ENTER, handle_rec_exit, until an exit to userspace. A simulated run
 *     also stops when the caller says so (the guest finished what it was asked to do: a signal to
 *     the VMM thread) or when the same fault repeats with no change of state anywhere (a livelock,
 *     detected rather than waited for).
 *   - kvm_arch_vcpu_run_pid_change, the first run of a vCPU: v8/v10 need the vCPU finalized (REC
 *     created, realm ACTIVE: v10 11/43 kvm_arm_vcpu_is_finalized, -EPERM) and reject a userspace
 *     irqchip (-EOPNOTSUPP); v12+ activate the realm (kvm_activate_realm, v12 11/46, v13 16/48,
 *     v14 18/44). When it fails the vCPU does not count as having run (kvm_vcpu_ioctl only records
 *     the new pid on success), so the next KVM_RUN tries again (S17 B).
 *   - vcpu_load / vcpu_put around the ioctl (kvm_arch_vcpu_load / kvm_arch_vcpu_put), with the
 *     debug-state load and put of the upstream debug rework (kvm_vcpu_load_debug,
 *     kvm_vcpu_put_debug) and the REC early returns: S27 (Gavin, v14 20/44).
 *   - the realm part of kvm_arch_init_vm (KVM_CREATE_VM): the stage-2 PGD, then the params page.
 */
import { EINTR_LIKE, type RunControl } from "../sched/run-control.js";
import { pt, type Gen } from "../sched/coop.js";
import { EIO, ENOMEM, EOPNOTSUPP, EPERM } from "./errno.js";
import { RealmStateK, type Kvm, type Vcpu } from "./kvm.js";
import { kvm_rec_enter, kvm_rec_pre_enter, prepare_entry } from "./rmi/rec.js";
import { handle_rec_exit } from "./rmi-exit.js";
import { vgic_flush_rec, vgic_sync_rec } from "./vgic.js";
import { REC_RUN } from "../rmm/abi/rec-params.js";
import { kvm_activate_realm } from "./rmi/lifecycle.js";
import { kvm_init_realm_vm } from "./rmi/realm.js";
import { GRANULE_SIZE } from "../arch/geometry.js";

export interface RunResult {
  /** The ioctl's return value (0 = exit to userspace with vcpu.lastExit, < 0 = errno). */
  ret: number;
  /** Why the simulated run stopped. */
  stop: "exit" | "error" | "guest-idle" | "livelock" | "halted" | "limit";
  /** REC exits handled in the kernel during this run. */
  exits: number;
}

/** KVM_RUN between vcpu_load and vcpu_put (kvm_arch_vcpu_load / kvm_arch_vcpu_put below: the debug load/put of S27). */
export function* kvm_vcpu_run(vcpu: Vcpu, ctl: RunControl): Gen<RunResult> {
  kvm_arch_vcpu_load(vcpu);
  try {
    const early = kvm_vcpu_run_checks(vcpu, ctl);
    if (early !== undefined) return early;
    const kvm = vcpu.kvm;
    let exits = 0;
    for (;;) {
      if (vcpu.powerOff) return { ret: 0, stop: "halted", exits };
      const pre = yield* kvm_rec_pre_enter(vcpu);
      if (pre <= 0) return { ret: pre, stop: pre < 0 ? "error" : "exit", exits };
      prepare_entry(vcpu, vcpu.ripasReject);
      vcpu.ripasReject = false;
      // another vCPU thread may run before this one enters its REC
      yield pt("REC_ENTER");
      vgic_flush_rec(vcpu); // kvm_vgic_flush_hwstate (S26: the vGIC state handed to the REC, vgic.ts)
      const r = kvm_rec_enter(vcpu);
      vgic_sync_rec(vcpu); // kvm_vgic_sync_hwstate
      exits++;
      // the exit's signature for livelock detection, read before the exit is handled
      const ns = kvm.env.ns;
      const exitReason = ns.readU64At(vcpu.rec.run + REC_RUN.exit.exit_reason);
      const hpfar = ns.readU64At(vcpu.rec.run + REC_RUN.exit.hpfar);
      const ret = yield* handle_rec_exit(vcpu, r);
      if (ret <= 0) return { ret, stop: ret < 0 ? "error" : "exit", exits };
      const s = ctl.after(vcpu, r, exitReason, hpfar);
      if (s !== undefined) return { ret: EINTR_LIKE, stop: s, exits };
      if (kvm.realm.state !== RealmStateK.ACTIVE) return { ret: 0, stop: "exit", exits };
    }
  } finally {
    kvm_arch_vcpu_put(vcpu);
  }
}

/** The checks before the loop: a result when KVM_RUN returns before entering, else undefined. */
function kvm_vcpu_run_checks(vcpu: Vcpu, ctl: RunControl): RunResult | undefined {
  const kvm = vcpu.kvm;
  vcpu.lastExit = { kind: "none" };
  // KVM_BUG_ON marked the VM bugged (v13/v14 populate, S22): vCPU ioctls fail with -EIO.
  if (kvm.vmBugged) return { ret: -EIO, stop: "error", exits: 0 };
  if (!vcpu.hasRun) {
    // kvm_arch_vcpu_run_pid_change (below); on failure the vCPU has not run yet (S17 B).
    const r = kvm_arch_vcpu_run_pid_change(vcpu, ctl.entry);
    if (r) return { ret: r, stop: "error", exits: 0 };
    vcpu.hasRun = true;
  }
  // No REC check here: kvm_rec_pre_enter's realm-state check (-EINVAL) comes before any use of
  // rec->run, and v8/v10's first run needs the REC finalized (kvm_arm_vcpu_is_finalized, -EPERM).
  return undefined;
}

/**
 * What KVM does around KVM_RUN for a realm vCPU besides entering the REC:
 *   - kvm_arch_vcpu_run_pid_change, the first run of a vCPU (arch/arm64/kvm/arm.c): v8/v10 need the
 *     vCPU finalized (REC created, realm ACTIVE: v10 11/43 kvm_arm_vcpu_is_finalized, -EPERM) and
 *     reject a userspace irqchip (-EOPNOTSUPP); v12+ activate the realm (kvm_activate_realm, v12 11/46,
 *     v13 16/48, v14 18/44). When it fails the vCPU does not count as having run
 *     (kvm_vcpu_ioctl only records the new pid on success), so the next KVM_RUN tries again (S17 B).
 *   - vcpu_load / vcpu_put around the ioctl (kvm_arch_vcpu_load / kvm_arch_vcpu_put), with the
 *     debug-state load and put of the upstream debug rework (kvm_vcpu_load_debug,
 *     kvm_vcpu_put_debug) and the REC early returns: S27 (Gavin, v14 20/44).
 */

/** Per-vCPU debug state as far as S27 needs it: how deep the load_debug/put_debug pairing is. */
export interface VcpuDebugState {
  /** kvm_vcpu_load_debug calls minus kvm_vcpu_put_debug calls (0 when balanced). */
  depth: number;
  loads: number;
  puts: number;
}

const DEBUG = new WeakMap<Vcpu, VcpuDebugState>();

export function vcpuDebugState(vcpu: Vcpu): VcpuDebugState {
  let s = DEBUG.get(vcpu);
  if (s === undefined) {
    s = { depth: 0, loads: 0, puts: 0 };
    DEBUG.set(vcpu, s);
  }
  return s;
}

/** kvm_vcpu_load_debug: set up the debug state for this physical CPU (one level deeper). */
function kvm_vcpu_load_debug(vcpu: Vcpu): void {
  const s = vcpuDebugState(vcpu);
  s.depth++;
  s.loads++;
}

/** kvm_vcpu_put_debug: undo kvm_vcpu_load_debug. */
function kvm_vcpu_put_debug(vcpu: Vcpu): void {
  const s = vcpuDebugState(vcpu);
  s.depth--;
  s.puts++;
}

/**
 * kvm_arch_vcpu_load for a REC. v14 20/44: kvm_vcpu_load_debug comes before the
 * `if (vcpu_is_rec(vcpu)) return;` (the rest of the load is the RMM's business).
 */
export function kvm_arch_vcpu_load(vcpu: Vcpu): void {
  kvm_vcpu_load_debug(vcpu);
}

/**
 * kvm_arch_vcpu_put for a REC. v14: returns early for RECs before kvm_vcpu_put_debug (S27);
 * the postings taken as balanced put the debug state back.
 */
export function kvm_arch_vcpu_put(vcpu: Vcpu): void {
  if (vcpu.kvm.profile.recDebugLoadPut === "load-only") return;
  kvm_vcpu_put_debug(vcpu);
}

/**
 * The realm part of kvm_arch_vcpu_run_pid_change: 0, or a negative errno for KVM_RUN (the vCPU
 * then does not count as having run).
 */
export function kvm_arch_vcpu_run_pid_change(vcpu: Vcpu, entry: bigint): number {
  const kvm = vcpu.kvm;
  // `if (!kvm_arm_vcpu_is_finalized(vcpu)) return -EPERM;` comes first (arm.c); v10 11/43 makes a
  // realm vCPU finalized only once its REC is (rec.mpidr != INVALID_HWID) and the realm is ACTIVE.
  if (kvm.profile.uapi === "vmm-driven" && (!vcpu.finalized || kvm.realm.state !== RealmStateK.ACTIVE)) return -EPERM;
  // v8/v10: realms need the in-kernel irqchip at the first run (placement not in the saved postings).
  if (kvm.profile.firstRunIrqchipCheck && !kvm.irqchipInKernel) return -EOPNOTSUPP;
  if (kvm.profile.uapi === "implicit") return kvm_activate_realm(kvm, entry);
  return 0;
}

/**
 * The realm part of kvm_arch_init_vm (KVM_CREATE_VM of a realm VM), in the posted order:
 * kvm_init_stage2_mmu allocates the stage-2 PGD (kvm_pgtable_stage2_pgd_size: one page per root
 * table), then "Initialise the realm bits after the generic bits are enabled": kvm_init_realm_vm
 * (v14 kvm_init_realm) allocates the zeroed params page. If that allocation fails, v8..v13
 * `goto err_free_cpumask`, a label below the stage-2 uninit: the PGD is never freed (leaked);
 * v14 `goto err_uninit_mmu` frees it (profile field initRealmVmErrorLabel; v9 07/43, v12 07/46,
 * v13 12/48, v14 14/44 arm.c hunks). Returns 0 or -ENOMEM; nothing else is left allocated.
 */
export function kvm_arch_init_vm_realm(kvm: Kvm): number {
  const mmu = kvm.mmu;
  const roots = 2 ** Math.max(0, mmu.iaBits - ((4 - mmu.startLevel) * 9 + 12));
  const pgd = kvm.env.pages.allocBlock(roots, "kvm-pgd", kvm.id);
  if (pgd < 0) return -ENOMEM; // kvm_init_stage2_mmu: nothing else allocated yet
  mmu.pgdPhys = pgd;
  mmu.pgdSize = roots * GRANULE_SIZE;
  mmu.pgt = true;
  const r = kvm_init_realm_vm(kvm);
  if (r === 0) return 0;
  const pages = kvm.env.pages;
  if (kvm.profile.initRealmVmErrorLabel === "err_uninit_mmu") {
    for (let a = pgd; a < pgd + mmu.pgdSize; a += GRANULE_SIZE) pages.put(a);
  } else {
    kvm.event(`kvm_arch_init_vm: kvm_init_realm_vm failed, goto err_free_cpumask skips the stage-2 uninit: ${roots} PGD page(s) leaked`);
    for (let a = pgd; a < pgd + mmu.pgdSize; a += GRANULE_SIZE) {
      pages.leak(a, "kvm_arch_init_vm: err_free_cpumask skips the stage-2 uninit (PGD)");
      pages.page(a)!.vm = 0; // the struct kvm is freed: the pages belong to no VM
    }
  }
  mmu.pgdPhys = -1;
  mmu.pgdSize = 0;
  mmu.pgt = false;
  return r;
}

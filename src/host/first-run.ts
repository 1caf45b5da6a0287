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
import { EOPNOTSUPP, EPERM } from "./errno.js";
import { RealmStateK, type Vcpu } from "./kvm.js";
import { kvm_activate_realm } from "./lifecycle.js";

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

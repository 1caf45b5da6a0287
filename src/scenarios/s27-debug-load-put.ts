/**
 * S27 — unbalanced debug load/put for RECs (Gavin, v14 20/44): kvm_arch_vcpu_load runs
 * kvm_vcpu_load_debug before the REC early return, kvm_arch_vcpu_put returns early for RECs
 * before kvm_vcpu_put_debug (src/kvm/arm.ts). Every KVM_RUN is one load/put cycle.
 */
import { vcpuDebugState } from "../kvm/arm.js";
import { startedRealm } from "./helpers.js";
import type { ScenarioDef } from "./scenario.js";

const CYCLES = 8;

export const S27: ScenarioDef = {
  id: "S27",
  title: "Debug state load/put for RECs: depth after repeated KVM_RUN",
  affects: ["v14"],
  run(series, mk) {
    const { host, vm, ok } = startedRealm(series, { memory: 16n << 20n });
    const rec = mk(host);
    rec.check("start", { outcome: ok ? "ok" : "error" });
    const vcpu = vm.kvm.vcpus[0]!;
    const before = { ...vcpuDebugState(vcpu) };
    for (let i = 0; i < CYCLES; i++) vm.run(0, []);
    const after = vcpuDebugState(vcpu);
    rec.data.debug = { cycles: after.loads - before.loads, depthBefore: before.depth, depthAfter: after.depth, loads: after.loads, puts: after.puts };
    if (after.depth !== 0) rec.mark("error", `debug state depth ${after.depth} after ${after.loads} load(s) and ${after.puts} put(s)`);
    return { host, rec };
  },
};

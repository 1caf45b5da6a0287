/**
 * S31 — BIT(ia_bits - 1) on a realm that was never created (ia_bits still 0) [inferred].
 * A (v8..v12): the VMM deletes or moves a memslot before the RD exists ->
 *   kvm_arch_flush_shadow_memslot -> kvm_realm_unmap_range computes its clamp before the
 *   `!created` early return. v13 checks `created` first.
 * B (v12, v13): destroying a realm VM that never populated or ran: kvm_destroy_realm unmaps
 *   [0, BIT(ia_bits - 1)) before its created check (and in v12 for every VM): the shift is the
 *   size argument, computed in kvm_destroy_realm itself, so v13 is affected although its
 *   kvm_realm_unmap_range checks `created` first. v14 moved the unmap after the check.
 * A shift by -1 is undefined behaviour in C; the host model flags each one (kvm.flags "S31").
 * v12's kvm_realm_destroy_rtts on B would also start its walk at get_start_level() of ia_bits 0
 * (unsigned ia_bits - 8: a garbage level); flagged, the walk is not modelled.
 * v14 has no UB here, but B's PGD is never freed: kvm_realm_uninit_stage2 returns unless ACTIVE
 * (v14 17/44) and kvm_destroy_realm returns before kvm_free_stage2_pgd (v14 14/44): outcome "leak".
 */
import { kvm_arch_flush_shadow_memslot } from "../kvm/mmu.js";
import { flagsOf, newHost } from "./helpers.js";
import type { ScenarioDef } from "./scenario.js";

export const S31: ScenarioDef = {
  id: "S31",
  title: "UB shift BIT(ia_bits - 1) on a never-created realm (memslot flush; destroy)",
  affects: ["v8", "v10", "v12", "v13"],
  run(series, mk) {
    const host = newHost(series);
    const rec = mk(host);
    const a = host.createRealm({ ipaBits: 40, memory: 16n << 20n, vcpus: 1 });
    kvm_arch_flush_shadow_memslot(a.kvm, 0);
    const fa = flagsOf(a, "S31");
    if (fa.length > 0) rec.mark("error", `A: ${fa[0]}`);
    host.step("memslot flushed before the RD exists");
    const b = host.createRealm({ ipaBits: 40, memory: 16n << 20n, vcpus: 1 });
    b.destroy();
    const fb = flagsOf(b, "S31");
    if (fb.length > 0) rec.mark("error", `B: ${fb[0]}`);
    rec.data.A = { state: a.state, ubShifts: fa };
    rec.data.B = { state: b.state, ubShifts: fb };
    rec.check("never-created realm destroyed");
    return { host, rec };
  },
};

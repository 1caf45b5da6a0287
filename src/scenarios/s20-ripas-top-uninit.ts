/**
 * S20 — top_ipa used uninitialised after a RIPAS error (v9..v14) [inferred]. ripas_change writes
 * *top_ipa only on success, yet realm_set_ipa_state compares it with start (and for RIPAS EMPTY
 * unmaps [start, *top_ipa)), and on -ENOMEM kvm_complete_ripas_change continues from it. The host
 * model keeps an unwritten local as poison and flags every read (src/kvm/rmi/ripas.ts). v8's
 * realm_set_ipa_state wrote *top_ipa after its loop, error or not (v7/v8 rme.c): nothing to flag.
 * Triggers: (1) the delegation of the page for the RTT the RIPAS change needs fails:
 * alloc_delegated_granule returns PHYS_ADDR_MAX and realm_create_rtt_levels -ENOMEM, before any
 * progress (v12 17/46 alloc_delegated_granule). An allocation failure cannot do it: the memcache
 * is topped up first, and an empty one is kvm_mmu_memory_cache_alloc's WARN_ON + GFP_ATOMIC
 * (BUG_ON if that fails), never NULL. kvm_complete_ripas_change does not WARN on -ENOMEM: the
 * uninitialised top_ipa is read silently. (2) RTT_CREATE fails inside ripas_change (-ENXIO).
 * On RMM v2.0 (v13/v14) the VMM's KVM_SET_MEMORY_ATTRIBUTES(shared) runs first and its unmaps
 * create the missing RTTs themselves (v13/v14 realm_unmap_private_range unfolds on ERROR_RTT with
 * out_top == addr; v14 realm_unmap_shared_range creates the shared-side levels), which would leave
 * ripas_change nothing to allocate. So the failure is made to last until ripas_change's own
 * attempt: one allocation (or RTT_CREATE) per unmap that tries first. Those unmaps WARN
 * (WARN_ON(rtt == PHYS_ADDR_MAX), WARN_ON(ret)): the extra WARNs are theirs, not S20's.
 */
import type { SeriesProfile } from "../kvm/series/index.js";
import { flagsOf, RAM, startedRealm } from "./helpers.js";
import type { ScenarioDef } from "./scenario.js";

/** RTT delegations (or RTT_CREATEs) the posting's unmaps make before ripas_change needs its own, plus that one. */
function failuresUntilRipasChange(p: SeriesProfile): number {
  return 1 + (p.privateUnmap === "rtt_data_unmap" ? 1 : 0) + (p.sharedUnmap === "rtt_unprot_unmap" ? 1 : 0);
}

export const S20: ScenarioDef = {
  id: "S20",
  title: "top_ipa read uninitialised after a RIPAS change error (-ENOMEM from a failed RTT delegation; failing RTT_CREATE)",
  affects: ["v10", "v12", "v13", "v14"],
  run(series, mk) {
    const { host, vm } = startedRealm(series, { vcpus: 2 });
    const rec = mk(host);
    const flagsBefore = flagsOf(vm, "S20").length;
    const x1 = RAM + (8n << 20n); // a 2 MiB region with no L3 table yet
    const n = failuresUntilRipasChange(host.profile);
    host.inject({ rmi: host.profile.rmm === "2.0" ? "GRANULE_RANGE_DELEGATE" : "GRANULE_DELEGATE", status: "RMI_ERROR_INPUT", count: n });
    const w0 = host.warnCount;
    const t1 = vm.share(x1, 4096n, { vcpu: 1 });
    const f1 = flagsOf(vm, "S20").slice(flagsBefore);
    const enomem = { share: t1.outcome, uninitialisedReads: f1, warns: host.warnCount - w0, ripas: vm.mappingOf(x1).ripas };
    if (f1.length > 0) rec.mark("error", `-ENOMEM: ${f1.length} read(s) of an uninitialised top_ipa`);
    rec.check("share with the RTT page's delegation failing", t1);
    const x2 = RAM + (12n << 20n);
    host.inject({ rmi: "RTT_CREATE", status: "RMI_ERROR_INPUT", count: n });
    const w1 = host.warnCount;
    const n1 = flagsOf(vm, "S20").length;
    const t2 = vm.share(x2, 4096n, { vcpu: 1 });
    const f2 = flagsOf(vm, "S20").slice(n1);
    const rttFail = { share: t2.outcome, uninitialisedReads: f2, warns: host.warnCount - w1, ripas: vm.mappingOf(x2).ripas };
    if (f2.length > 0) rec.mark("error", `RTT_CREATE failure: ${f2.length} read(s) of an uninitialised top_ipa`);
    rec.check("share with RTT_CREATE failing", t2);
    rec.data.enomem = enomem;
    rec.data.rttCreateFails = rttFail;
    return { host, rec };
  },
};

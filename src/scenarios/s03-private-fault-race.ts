/**
 * S03: Every interleaving (up to two preemptions) of two vCPUs faulting on one private page,
 * summarised by outcome; then a fault whose guest_memfd page the RMM refuses to delegate, which the
 * posting takes for a race.
 */
import { explore } from "../sched/sched.js";
import type { ScenarioDef } from "./scenario.js";
import { RAM, started } from "./helpers.js";

export const S03: ScenarioDef = {
  id: "S03",
  title: "Two vCPUs fault on the same private page (true race; and a delegate failure read as a race)",
  affects: ["v8", "v10", "v12"],
  run(series, mk) {
    // Variant 1: every interleaving of two vCPUs faulting on one private page.
    const X = RAM + 0x20000n; // past the populated image, in its L3 table
    const runs = explore(() => {
      const { host, vm } = started(series, { vcpus: 2 });
      const { threads } = vm.raceThreads([
        { vcpu: 0, ops: [{ kind: "access", ipa: X, access: "write" }] },
        { vcpu: 1, ops: [{ kind: "access", ipa: X, access: "read" }] },
      ]);
      return {
        threads,
        check: () => {
          const m = vm.mappingOf(X);
          const page = host.pages.page(Number(m.pa ?? -1n));
          const raced = host.trace.some((l) => l.includes("assume another vCPU handled the fault"));
          return { state: m.state, data: host.granules().DATA, refcount: page?.refcount ?? 0, warns: host.warnCount, raced };
        },
      };
    }, { maxPreemptions: 2 });
    // Variant 2: the gmem page cannot be delegated (already delegated for another purpose).
    const { host, vm } = started(series, { vcpus: 2 });
    const rec = mk(host);
    rec.data.interleavings = runs.length;
    const summary = new Map<string, number>();
    for (const r of runs) {
      const k = JSON.stringify(r.result);
      summary.set(k, (summary.get(k) ?? 0) + 1);
    }
    rec.data.variant1 = [...summary].map(([k, n]) => ({ ...JSON.parse(k), schedules: n }));
    const pa = vm.gmemPage(X);
    // RMM v2.0 (v13/v14) delegates through GRANULE_RANGE_DELEGATE (base = the page).
    host.inject({ rmi: host.platform.abi === "2.0" ? "GRANULE_RANGE_DELEGATE" : "GRANULE_DELEGATE", status: "RMI_ERROR_INPUT", pa, count: Infinity });
    rec.check("touch X with the page undelegatable", vm.touch(X, { vcpu: 1, access: "write" }));
    // Issue 5: the catalogue's "page refcount balanced" does not hold where the caller keeps the
    // kvm_gmem_get_pfn reference whenever realm_map_ipa returns 0, and the delegate "race"
    // returns 0 (v8 20/43 and v10 20/43 private_memslot_fault, v12 24/46 and v13 27/48
    // gmem_abort: "if successful don't release the page"; realm_map_protected returns 0 after a
    // failed delegate) [inferred].
    const extraRefs = runs.reduce((m, r) => Math.max(m, (r.result.refcount ?? 1) - 1), 0);
    if (extraRefs > 0) {
      rec.notes.push(`variant 1: up to ${extraRefs} extra guest_memfd reference(s): after a failed delegate realm_map_protected returns 0 ("likely raced"), ${host.profile.privateFault} keeps its kvm_gmem_get_pfn reference as for a map, the unmap drops one per DATA granule [inferred; catalogue: balanced]`);
    }
    return { host, rec };
  },
};

/**
 * S30 — a private fault racing an invalidation (v8/v10) [inferred]. Between kvm_gmem_get_pfn and
 * the DATA_CREATE of private_memslot_fault, the VMM punches a hole in the guest_memfd (the MMU
 * invalidation unmaps the range, the file drops the page). v8/v10 take no mmu_lock and do not check
 * mmu_invalidate_retry, so the mapping goes in afterwards: the realm maps a page guest_memfd no
 * longer has. v11+ gmem_abort compares the invalidation sequence under mmu_lock and retries
 * (-EAGAIN), so the refault maps the file's new page.
 */
import { GRANULE_SIZE } from "../arch/geometry.js";
import { kvm_gmem_punch_hole } from "../kvm/guest_memfd.js";
import { interleave } from "../sched/sched.js";
import type { Gen } from "../sched/coop.js";
import { countRmi, RAM, startedRealm } from "./helpers.js";
import type { ScenarioDef } from "./scenario.js";

export const S30: ScenarioDef = {
  id: "S30",
  title: "Private fault racing a guest_memfd hole punch (no invalidation retry in v8/v10)",
  affects: ["v8", "v10"],
  run(series, mk) {
    const { host, vm } = startedRealm(series, { memory: 16n << 20n });
    const rec = mk(host);
    const X = RAM + 0x20000n; // in the L3 table the populated image created
    const gfn = Number(X) / GRANULE_SIZE;
    const creates0 = countRmi(host, "DATA_CREATE_UNKNOWN");
    const { threads } = vm.raceThreads([{ vcpu: 0, ops: [{ kind: "access", ipa: X, access: "write" }] }]);
    const all: Gen<unknown>[] = [...threads, kvm_gmem_punch_hole(vm.kvm, Number(X), GRANULE_SIZE)];
    // Run the vCPU into the fault; once it holds the pfn (about to delegate it, or to take
    // mmu_lock in gmem_abort) the VMM's hole punch runs to completion; then the vCPU goes on.
    let inFault = false;
    let punchAt: string | undefined;
    interleave(all, (runnable, _step, at) => {
      if (at[0] === "fault") inFault = true;
      const holdsPfn = inFault && (at[0] === "GRANULE_DELEGATE" || at[0] === "mmu_lock:read");
      if (runnable.includes(1) && (at[1] !== "start" || holdsPfn)) {
        if (punchAt === undefined) punchAt = at[0];
        return 1;
      }
      return runnable.includes(0) ? 0 : runnable[0]!;
    });
    host.step("race: private fault vs guest_memfd hole punch");
    const m = vm.mappingOf(X);
    const gmemPa = vm.kvm.memslotOf(gfn)!.gmem!.pages.get(gfn);
    const mappedPa = m.pa === undefined ? undefined : Number(m.pa);
    const page = mappedPa === undefined ? undefined : host.pages.page(mappedPa);
    const stale = mappedPa !== undefined && mappedPa !== gmemPa;
    rec.data.race = {
      holePunchedWhileVcpuAt: punchAt ?? "(never)",
      mapping: m.state,
      mappedPageInGuestMemfd: mappedPa !== undefined && mappedPa === gmemPa,
      mappedPageRefcount: page?.refcount ?? 0,
      dataCreateUnknownCalls: countRmi(host, "DATA_CREATE_UNKNOWN") - creates0,
    };
    if (stale) rec.mark("error", "the realm maps a private page guest_memfd has dropped (mapping installed after the invalidation)");
    rec.check("race");
    return { host, rec };
  },
};

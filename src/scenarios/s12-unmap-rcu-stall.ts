/**
 * S12: 16 MiB of touched pages torn down: the longest run of unmap steps without cond_resched, and
 * the cond_resched calls made for a caller that may not block.
 */
import type { ScenarioDef } from "./scenario.js";
import { RAM, started } from "./helpers.js";

export const S12: ScenarioDef = {
  id: "S12",
  title: "RCU stall during large unmaps (may_block not propagated, v8)",
  affects: ["v8"],
  run(series, mk) {
    const { host, vm } = started(series, { memory: 16n << 20n });
    const rec = mk(host);
    for (let a = 0n; a < 16n << 20n; a += 0x10000n) vm.touch(RAM + a, { access: "write" });
    vm.destroy();
    rec.check("destroy");
    rec.data.resched = { ...vm.kvm.resched };
    // v8 15/43 as quoted in Gavin Shan's reply of 30 Apr 2025: realm_unmap_private_range never
    // reschedules, realm_unmap_shared_range always does (it has no may_block), also for a caller
    // that may not block. v9 15/43 propagates may_block to both.
    const rs = vm.kvm.resched;
    if (rs.longestWithout > 0) rec.notes.push(`no cond_resched during ${rs.longestWithout} consecutive unmap steps (RCU stall risk)`);
    if (rs.whileAtomic > 0) rec.notes.push(`cond_resched_rwlock_write taken ${rs.whileAtomic} time(s) for a caller that passed may_block = false`);
    return { host, rec };
  },
};

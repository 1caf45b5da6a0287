/**
 * S03's race for the host tests: two vCPUs write one private page (0x8002_0000, past the
 * populated image, in its L3 table), every interleaving up to 2 preemptions (src/sched explore).
 * Each run reports the mapping, the DATA granules it added, the DELEGATED granules left, the
 * page's refcount, whether the loser took the "another vCPU handled the fault" path, and the
 * host invariants.
 */
import { Host } from "../../src/host/host.js";
import type { SeriesId } from "../../src/kvm/series/index.js";
import { explore } from "../../src/sched/sched.js";

export const RACE_IPA = 0x8000_0000n + 0x20000n;

export function racePrivatePage(series: SeriesId) {
  return explore(() => {
    const host = Host.create({ series, seed: 1, invariants: false });
    const vm = host.createRealm({ ipaBits: 40, memory: 16n << 20n, vcpus: 2 });
    vm.start();
    const data0 = host.granules().DATA;
    const { threads } = vm.raceThreads([
      { vcpu: 0, ops: [{ kind: "access", ipa: RACE_IPA, access: "write" }] },
      { vcpu: 1, ops: [{ kind: "access", ipa: RACE_IPA, access: "write" }] },
    ]);
    return {
      threads,
      check: () => {
        const m = vm.mappingOf(RACE_IPA);
        const page = host.pages.page(Number(m.pa));
        const raced = host.trace.some((l) => l.includes("assume another vCPU handled the fault"));
        return { state: m.state, newData: host.granules().DATA - data0, delegated: host.granules().DELEGATED, refcount: page?.refcount, raced, invariants: host.checkInvariants() };
      },
    };
  }, { maxPreemptions: 2 });
}

/**
 * S10: Two vCPUs fault in one 2 MiB region without an L3 RTT; both allocate and delegate an RTT
 * before either creates it, so the second RTT_CREATE finds the table there.
 */
import { interleave } from "../sched/sched.js";
import type { ScenarioDef } from "./scenario.js";
import { RAM, started } from "./helpers.js";

export const S10: ScenarioDef = {
  id: "S10",
  title: "RTT \"already exists\": v10 (the v9 15/43 code) leaks the freshly allocated RTT; v8 WARNs and fails the fault",
  affects: ["v8", "v10"],
  run(series, mk) {
    const { host, vm } = started(series, { vcpus: 2 });
    const rec = mk(host);
    const X1 = RAM + (4n << 20n) + 0x1000n;
    const X2 = RAM + (4n << 20n) + 0x2000n;
    const { threads } = vm.raceThreads([
      { vcpu: 0, ops: [{ kind: "access", ipa: X1, access: "write" }] },
      { vcpu: 1, ops: [{ kind: "access", ipa: X2, access: "write" }] },
    ]);
    // Both vCPUs allocate and delegate an RTT before either creates it.
    interleave(threads, (runnable, _s, at) => {
      const waiting = runnable.filter((t) => at[t] !== "RTT_CREATE");
      return waiting.length > 0 ? waiting[0]! : runnable[0]!;
    });
    host.step("race on the missing L3 RTT");
    rec.check("race");
    rec.data.delegatedOrphans = host.granules().DELEGATED;
    // realm_create_rtt_levels: v9 15/43 (the stand-in for v8 and v10 15/43; the v10 changelog says
    // only "Minor coding style fixes") continues on "already exists" without free_rtt; v12 17/46 frees it.
    // v8 15/43 (quoted in Gavin Shan's review) tests the index against the new level: never "already
    // exists", so the loser WARNs, frees its RTT and fails (realm_map_protected -ENXIO).
    if (host.profile.rttExistsChecksNewLevel) rec.notes.push("realm_create_rtt_levels (v8 15/43): RMI_RETURN_INDEX(ret) == level is never true for an existing RTT (RTT_CREATE answers level - 1): WARN \"Failed to create RTT\", free, -ENXIO; the summary's v8 leak is the v9 code");
    else if (!host.profile.rttExistsFreesNewGranule) rec.notes.push("realm_create_rtt_levels (v9 15/43 code): \"The RTT already exists, continue\" without free_rtt: the loser's delegated RTT is lost (the summary expected the v9 review fix in v10; the v10 changelog does not name it)");
    return { host, rec };
  },
};

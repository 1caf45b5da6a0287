/**
 * S04: Two vCPUs fault on one shared page, both reaching the map call before either maps; on the
 * RMM v2.0 postings also against an RMM that answers the second RTT_UNPROT_MAP with ERROR_RTT(3).
 */
import type { Host } from "../host/host.js";
import type { SeriesId } from "../kvm/series/index.js";
import type { RealmVm } from "../vmm/vm.js";
import { interleave } from "../sched/sched.js";
import { Recorder, type ScenarioDef } from "./scenario.js";
import { RAM, SHARED_40, started } from "./helpers.js";

const P = RAM + (6n << 20n);
/** The second of two shared pages; the first is mapped beforehand, so the tables exist. */
const X = (P + 0x1000n) | SHARED_40;

/**
 * Two vCPUs write X; both reach the map call before either maps, then A maps first, then B.
 * `errorRtt`: the RMM answers the second RTT_UNPROT_MAP with ERROR_RTT at L3.
 */
function race(series: SeriesId, errorRtt: boolean): { host: Host; vm: RealmVm; rec: Recorder } {
  const { host, vm } = started(series, { vcpus: 2 });
  const rec = new Recorder(host);
  rec.check("share two pages", vm.share(P, 0x2000n));
  rec.check("touch the first (tables exist)", vm.touch(P | SHARED_40, { access: "write" }));
  if (errorRtt) host.inject({ rmi: "RTT_UNPROT_MAP", nth: 2, status: "RMI_ERROR_RTT", index: 3, count: 2 });
  const { threads } = vm.raceThreads([
    { vcpu: 0, ops: [{ kind: "access", ipa: X, access: "write" }] },
    { vcpu: 1, ops: [{ kind: "access", ipa: X, access: "write" }] },
  ]);
  const isMap = (a: string) => a === "RTT_MAP_UNPROTECTED" || a === "RTT_UNPROT_MAP";
  const seen = [false, false];
  interleave(threads, (runnable, _s, at) => {
    for (const t of runnable) if (isMap(at[t]!)) seen[t] = true;
    const notYet = runnable.filter((t) => !seen[t]);
    return notYet.length > 0 ? notYet[0]! : runnable[0]!;
  });
  host.step("race on one shared page");
  rec.check("race");
  return { host, vm, rec };
}

/** The mapping of X and the WARNs of realm_map_non_secure after a race. */
function outcome(host: Host, vm: RealmVm): { mapping: { level: number; state: string }; warns: number } {
  const m = vm.mappingOf(X);
  return { mapping: { level: m.level, state: m.state }, warns: host.warns.filter((w) => w.fn === "realm_map_non_secure").length };
}

export const S04: ScenarioDef = {
  id: "S04",
  title: "Two vCPUs fault on the same shared page: benign in v8..v13, two WARNs in v14",
  affects: ["v14"],
  run(series, mk) {
    const a = race(series, false);
    const rec = mk(a.host);
    for (const n of a.rec.notes) rec.notes.push(n);
    if (a.rec.first !== undefined) rec.mark(a.rec.first, "the race on the simulated RMM");
    const ao = outcome(a.host, a.vm);
    rec.data.mapping = ao.mapping;
    rec.data.warns = ao.warns;
    rec.data.ignored = a.host.trace.filter((l) => l.includes("ERROR_RTT 3 ignored")).length;
    if (a.host.profile.sharedMap === "rtt_unprot_map") {
      // TF-RMM main (the simulated RMM) takes a second RTT_UNPROT_MAP of the same NS PA as
      // progress. The RMM the catalogue assumes answers ERROR_RTT at L3: model that reply.
      const b = race(series, true);
      const { warns, mapping } = outcome(b.host, b.vm);
      rec.data.errorRttRmm = { warns, mapping };
      rec.otherRunWarns += b.host.warnCount;
      if (warns > 0) rec.mark("warn", `race with an RMM answering ERROR_RTT(3): ${warns} WARN(s) from realm_map_non_secure`);
    }
    return { host: a.host, rec };
  },
};

/**
 * S19: RTT_INIT_RIPAS over the populated image (initRipasAfterPopulate): the RMM answers ERROR_RTT
 * at the map level; on RMM v2.0 (which accepts it) a variant RMM that answers ERROR_RTT at level 3
 * for each populated page.
 */
import type { ScenarioDef } from "./scenario.js";
import { newHost } from "./helpers.js";

export const S19: ScenarioDef = {
  id: "S19",
  title: "INIT_RIPAS over memory that is already populated",
  affects: ["v8", "v10", "v12"],
  run(series, mk) {
    const host = newHost(series);
    const rec = mk(host);
    const vm = host.createRealm({ ipaBits: 40, memory: 64n << 20n, vcpus: 1, image: 16n << 20n, initRipasAfterPopulate: true });
    const s = vm.start();
    rec.data.start = s.steps;
    rec.data.rttInitRipasCalls = host.trace.filter((l) => l.startsWith("SMC_RMI_RTT_INIT_RIPAS")).length;
    rec.check("start", { outcome: s.ok ? "ok" : "error" });
    // RTT_INIT_RIPAS answers ERROR_RTT at level 3 (the populated DATA entries) = find_map_level
    if (host.profile.ripasInitErrAtMapLevel === "warn-enxio") {
      rec.notes.push("v8 15/43 realm_init_ipa_state (as quoted in Gavin Shan's reply of 30 Apr 2025): `if (WARN_ON(err_level >= level)) return -ENXIO;` at any level: INIT_RIPAS_REALM fails with -ENXIO after a VMM-triggerable WARN. (linux-cca-series.md: WARN_ON(level == 3) and -EINVAL, which was Suzuki's review suggestion, not the posted code; v9 15/43 drops the WARN and returns -EINVAL.)");
    }
    if (host.platform.abi === "2.0") {
      // The v2.0 RMM accepts INIT_RIPAS over populated (ASSIGNED) entries, so the v13 hack is never
      // reached. Variant: an RMM that still answers ERROR_RTT at level 3 for each populated page.
      const h2 = newHost(series);
      const vm2 = h2.createRealm({ ipaBits: 40, memory: 64n << 20n, vcpus: 1, image: 16n << 20n });
      h2.inject({ rmi: "RTT_INIT_RIPAS", status: "RMI_ERROR_RTT", index: 3, count: 4096 });
      const s2 = vm2.start();
      const hung = h2.trace.some((l) => l.startsWith("KVM: HANG"));
      rec.data.errorRttRmm = { ok: s2.ok, hang: hung, rttInitRipasCalls: h2.trace.filter((l) => l.startsWith("SMC_RMI_RTT_INIT_RIPAS")).length };
      if (hung) rec.mark("hang", "INIT_RIPAS answering ERROR_RTT at level 3: ripas_change retries forever");
    }
    return { host, rec };
  },
};

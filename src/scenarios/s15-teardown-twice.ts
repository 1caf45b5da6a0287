/**
 * S15: A realm with four private pages and one shared page destroyed: the unmap and RTT_DESTROY
 * calls its teardown makes.
 */
import type { ScenarioDef } from "./scenario.js";
import { RAM, SHARED_40, started } from "./helpers.js";

export const S15: ScenarioDef = {
  id: "S15",
  title: "Teardown work done twice (v13 kvm_free_stage2_pgd + kvm_destroy_realm; v14 unmap in both)",
  affects: ["v13", "v14"],
  run(series, mk) {
    const { host, vm } = started(series, { vcpus: 1 });
    const rec = mk(host);
    for (let i = 0n; i < 4n; i++) vm.touch(RAM + (8n << 20n) + i * 0x1000n, { access: "write" });
    const S = RAM + (12n << 20n);
    vm.share(S, 0x1000n);
    vm.touch(S | SHARED_40, { access: "write" });
    rec.check("run");
    const n0 = host.trace.length;
    vm.destroy();
    rec.check("destroy");
    const lines = host.trace.slice(n0).filter((l) => l.startsWith("SMC_RMI_"));
    const cmd = (l: string) => l.split(" ")[0]!.replace("SMC_RMI_", "");
    const unmapCmds = new Set(["DATA_DESTROY", "RTT_UNMAP_UNPROTECTED", "RTT_DATA_UNMAP", "RTT_UNPROT_UNMAP"]);
    rec.data.unmapCalls = lines.filter((l) => unmapCmds.has(cmd(l))).length;
    rec.data.rttDestroyCalls = lines.filter((l) => cmd(l) === "RTT_DESTROY").length;
    rec.data.rttDestroySuccess = lines.filter((l) => cmd(l) === "RTT_DESTROY" && l.includes("> RMI_SUCCESS")).length;
    rec.data.teardownRmiCalls = lines.length;
    // v13 21/48 realm_unmap_private_range: undelegate_range_desc reads the RMM's PAGE descriptor as
    // P4D (S07), the undelegate fails, WARN_ON + break: the rest stays mapped and the RTT teardown
    // stops at the first live last-level table (WARN, -EBUSY).
    if (host.warns.some((w) => w.fn === "realm_unmap_private_range")) rec.notes.push("realm_unmap_private_range: undelegate_range_desc failed -> WARN_ON + break (v13 21/48 / v14 23/44): pages left mapped, RTT teardown stops at live entries");
    return { host, rec };
  },
};

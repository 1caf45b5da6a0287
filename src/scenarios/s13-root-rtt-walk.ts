/**
 * S13: A realm destroyed after start: the model flags every former root RTT page
 * kvm_free_stage2_pgd walks as a stage-2 table.
 */
import type { ScenarioDef } from "./scenario.js";
import { started } from "./helpers.js";

export const S13: ScenarioDef = {
  id: "S13",
  title: "Host walks the former root RTTs as stage-2 tables after realm destruction (v8, v9)",
  affects: ["v8"],
  run(series, mk) {
    const { host, vm } = started(series);
    const rec = mk(host);
    vm.destroy();
    rec.check("destroy");
    const walked = vm.kvm.flags.filter((f) => f.startsWith("S13"));
    if (walked.length > 0) rec.mark("error", walked[0]!);
    return { host, rec };
  },
};

/**
 * S05: A read fault on a shared page nothing has mapped yet. Trigger B of the catalogue
 * (MAP_PRIVATE zero-page aliasing) is not modelled.
 */
import type { ScenarioDef } from "./scenario.js";
import { RAM, SHARED_40, started } from "./helpers.js";

export const S05: ScenarioDef = {
  id: "S05",
  title: "Read fault on shared memory: v14 maps without W -> WARN, -EFAULT (Gavin, Suzuki; v14 29/44)",
  affects: ["v14"],
  run(series, mk) {
    const { host, vm } = started(series);
    const rec = mk(host);
    const P = RAM + (6n << 20n);
    rec.check("share", vm.share(P, 0x1000n));
    const t = vm.touch(P | SHARED_40, { access: "read" });
    rec.data.read = { outcome: t.outcome, errno: t.errno };
    rec.check("guest reads the unmapped shared page", t);
    rec.notes.push("Trigger B (MAP_PRIVATE zero page aliasing) is not modelled: userspace memory has no zero-page semantics");
    return { host, rec };
  },
};

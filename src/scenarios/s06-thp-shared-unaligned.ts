/**
 * S06: A write at an unaligned IPA inside a shared 2 MiB block, with THP backing on and off.
 */
import type { ScenarioDef } from "./scenario.js";
import { RAM, SHARED_40, started } from "./helpers.js";

export const S06: ScenarioDef = {
  id: "S06",
  title: "THP-backed shared memory: v14 passes the unaligned fault IPA with a 2 MiB size (Gavin, v14 29/44)",
  affects: ["v14"],
  run(series, mk) {
    const go = (thp: boolean) => {
      const { host, vm } = started(series, { thp });
      const P = RAM + (10n << 20n);
      vm.share(P, 2n << 20n);
      const t = vm.touch((P + 0x3000n) | SHARED_40, { access: "write" });
      return { host, t };
    };
    const on = go(true);
    const rec = mk(on.host);
    rec.check("touch inside a THP-backed shared 2 MiB block", on.t);
    rec.data.thpOn = { outcome: on.t.outcome, errno: on.t.errno };
    const off = go(false);
    rec.data.thpOff = { outcome: off.t.outcome, errno: off.t.errno };
    return { host: on.host, rec };
  },
};

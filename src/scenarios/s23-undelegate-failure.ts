/**
 * S23: The undelegate of a private page fails in the private unmap of a share: the page's refcount
 * and leaked state.
 */
import type { ScenarioDef } from "./scenario.js";
import { RAM, started } from "./helpers.js";

export const S23: ScenarioDef = {
  id: "S23",
  title: "Undelegate failure in the private unmap: the page is lost",
  affects: ["v8", "v10", "v12"],
  run(series, mk) {
    const { host, vm } = started(series);
    const rec = mk(host);
    const X = RAM + (8n << 20n);
    rec.check("touch", vm.touch(X, { access: "write" }));
    const pa = vm.mappingOf(X).pa!;
    rec.data.pa = `0x${pa.toString(16)}`;
    host.inject({ undelegate: pa });
    rec.check("share (private unmap)", vm.share(X, 4096n));
    const p = host.pages.page(Number(pa));
    rec.data.page = p === undefined ? "free" : { refcount: p.refcount, leaked: p.leaked };
    return { host, rec };
  },
};

/**
 * S24: Three cycles of fault, share (private unmap) and unshare on one private page: the
 * guest_memfd page's reference count.
 */
import type { ScenarioDef } from "./scenario.js";
import { RAM, started } from "./helpers.js";

export const S24: ScenarioDef = {
  id: "S24",
  title: "guest_memfd page references over fault + unmap cycles (v12 and v13 keep one per fault)",
  affects: ["v12", "v13"],
  run(series, mk) {
    const { host, vm } = started(series);
    const rec = mk(host);
    const X = RAM + (8n << 20n);
    for (let i = 0; i < 3; i++) {
      rec.check(`fault ${i + 1}`, vm.touch(X, { access: "write" }));
      rec.check(`share ${i + 1} (private unmap)`, vm.share(X, 0x1000n));
      rec.check(`unshare ${i + 1}`, vm.unshare(X, 0x1000n));
    }
    const pa = Number(vm.gmemPage(X));
    const ref = host.pages.page(pa)?.refcount ?? 0;
    rec.data.refcount = ref; // guest_memfd's own reference is 1
    if (ref > 1) rec.mark("leak", `gmem page 0x${pa.toString(16)} holds ${ref - 1} reference(s) nobody will drop`);
    // v12 24/46 and v13 27/48 gmem_abort: "if successful don't release the page" (goto out_unlock
    // past kvm_release_faultin_page), and their private unmaps do not drop it; v14 29/44 goes to
    // out_release_page after every map; v8/v10 keep it and drop it in the private unmap.
    if (ref > 1) rec.notes.push(`${host.profile.id} gmem_abort keeps the kvm_gmem_get_pfn reference of each successful map ("if successful don't release the page") and the private unmap does not drop it: one reference per fault stays (linux-cca-series.md leaves v12 unverified; v12 24/46 keeps it as v13 27/48 does)`);
    return { host, rec };
  },
};

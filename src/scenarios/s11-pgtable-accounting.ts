/**
 * S11: kvm_account_pgtable_pages after a fault and after the VM is destroyed.
 */
import type { ScenarioDef } from "./scenario.js";
import { RAM, started } from "./helpers.js";

export const S11: ScenarioDef = {
  id: "S11",
  title: "Page-table accounting drift (v8) and leaked-RTT accounting (v9+)",
  affects: ["v8"],
  run(series, mk) {
    const { host, vm } = started(series, { vcpus: 2 });
    const rec = mk(host);
    rec.check("touch", vm.touch(RAM + (8n << 20n), { access: "write" }));
    rec.data.pgtableBeforeDestroy = vm.kvm.pgtablePages;
    vm.destroy();
    rec.check("destroy");
    rec.data.pgtableAfterDestroy = vm.kvm.pgtablePages;
    if (vm.kvm.pgtablePages !== 0) rec.notes.push(`kvm_account_pgtable_pages ends at ${vm.kvm.pgtablePages} after destroy`);
    return { host, rec };
  },
};

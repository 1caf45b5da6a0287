/**
 * S16: REALM_DESTROY fails during the VM's destruction: the state the VM is left in and whether its
 * VMID is still held.
 */
import type { ScenarioDef } from "./scenario.js";
import { started } from "./helpers.js";

export const S16: ScenarioDef = {
  id: "S16",
  title: "Destroy-time RMM errors strand the realm in DYING",
  affects: ["v8", "v10", "v12"],
  run(series, mk) {
    const { host, vm } = started(series);
    const rec = mk(host);
    host.inject({ rmi: "REALM_DESTROY", status: "RMI_ERROR_REALM" });
    vm.destroy();
    rec.check("destroy with REALM_DESTROY failing");
    rec.data.state = vm.state;
    rec.data.vmidHeld = host.vmids.has(vm.kvm.realm.vmid);
    return { host, rec };
  },
};

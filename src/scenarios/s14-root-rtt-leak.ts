/**
 * S14: Free pages before a realm is created and after it has run and been destroyed: the root RTT /
 * PGD pages not given back.
 */
import type { ScenarioDef } from "./scenario.js";
import { RAM, newHost } from "./helpers.js";

export const S14: ScenarioDef = {
  id: "S14",
  title: "Root RTT / PGD pages never freed on realm destroy (v10..v13)",
  affects: ["v10", "v12"],
  run(series, mk) {
    const host = newHost(series);
    const rec = mk(host);
    const before = host.pages.freePages;
    const vm = host.createRealm({ ipaBits: 40, memory: 64n << 20n, vcpus: 1 });
    vm.start();
    vm.touch(RAM + 0x10000n, { access: "write" });
    vm.destroy();
    rec.check("create, run, destroy");
    rec.data.freePagesLost = before - host.pages.freePages;
    rec.data.pgdPages = vm.kvm.mmu.pgdSize / 4096;
    return { host, rec };
  },
};

/**
 * S09: Realm creation with the step each posting's error path follows made to fail (REC_AUX_COUNT,
 * REALM_CREATE, the PGD's range delegate), then the VM destroyed: errno, realm state, PGD granules
 * left delegated.
 */
import { GranuleState } from "../rmm/granule.js";
import { errnoName } from "../kvm/errno.js";
import { kvm_create_realm, realm_ensure_created } from "../kvm/rmi/realm.js";
import type { ScenarioDef } from "./scenario.js";
import { newHost } from "./helpers.js";

export const S09: ScenarioDef = {
  id: "S09",
  title: "realm_create_rd error paths: v8 r unset, v13 uninitialised i, v14 whole-PGD undelegate after a partial delegate",
  affects: ["v8", "v13", "v14"],
  run(series, mk) {
    const host = newHost(series);
    const rec = mk(host);
    const vm = host.createRealm({ ipaBits: 40, memory: 16n << 20n, vcpus: 1 });
    const k = vm.kvm;
    const pgd = k.mmu.pgdPhys;
    const prof = host.profile;
    let trigger: string;
    if (prof.realmCreateRd === "v13-uninit-i") {
      trigger = "REALM_CREATE fails";
      host.inject({ rmi: "REALM_CREATE", status: "RMI_ERROR_INPUT" });
    } else if (prof.realmCreateRd === "v14-whole-pgd") {
      trigger = "GRANULE_RANGE_DELEGATE fails on the 2nd of 2 PGD granules";
      host.inject({ rmi: "GRANULE_RANGE_DELEGATE", status: "RMI_ERROR_INPUT", pa: BigInt(pgd + 4096) });
    } else {
      trigger = "REC_AUX_COUNT fails";
      host.inject({ rmi: "REC_AUX_COUNT", status: "RMI_ERROR_INPUT" });
    }
    const r = prof.uapi === "vmm-driven" ? kvm_create_realm(k) : realm_ensure_created(k);
    host.step(`realm creation with ${trigger}`);
    rec.data.trigger = trigger;
    rec.data.errno = errnoName(r);
    rec.data.state = k.realm.state;
    rec.data.rdIsNull = k.realm.rd < 0;
    let pgdDelegated = 0;
    for (let a = pgd; a < pgd + k.mmu.pgdSize; a += 4096) if (host.platform.rmm.granules.state(a / 4096) !== GranuleState.NS) pgdDelegated++;
    rec.data.pgdGranulesLeftDelegated = pgdDelegated;
    rec.data.pgdLeaked = !k.mmu.pgt;
    if (r === 0 && k.realm.rd < 0) rec.mark("error", "realm_create_rd returned 0 without an RD: the realm is NEW with rd == NULL");
    rec.check("create");
    vm.destroy();
    rec.check("destroy the VM");
    rec.data.flags = k.flags.filter((f) => f.startsWith("S09"));
    return { host, rec };
  },
};

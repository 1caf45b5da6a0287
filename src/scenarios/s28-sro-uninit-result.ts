/**
 * S28: The v14 10/44 SRO engine: a realm start with uninitialised reads poisoned (ret on the
 * MEMREQ NONE path), the stale reads of a plain run, and the donation unit sizes with folded levels.
 */
import { level_to_size } from "../kvm/rmi/range.js";
import type { ScenarioDef } from "./scenario.js";
import { started, newHost } from "./helpers.js";

export const S28: ScenarioDef = {
  id: "S28",
  title: "SRO engine: uninitialised result on MEMREQ NONE (v14 10/44), donation unit sizes with folded levels",
  affects: ["v14"],
  run(series, mk) {
    const plain = started(series);
    const flagged = plain.vm.kvm.flags.filter((f) => f.startsWith("S28")).length;
    const host = newHost(series, { poisonUninit: true });
    const rec = mk(host);
    const vm = host.createRealm({ ipaBits: 40, memory: 64n << 20n, vcpus: 1 });
    const s = vm.start();
    rec.data.staleZeroReads = flagged;
    rec.data.poisoned = { startOk: s.ok, kvmRun: host.trace.filter((l) => l.startsWith("IOCTL: KVM_RUN(vcpu0) = ")).map((l) => l.slice(7)), cancels: host.trace.filter((l) => l.startsWith("SMC_RMI_OP_CANCEL")).length };
    rec.check("start with uninitialised reads poisoned", { outcome: s.ok ? "ok" : "error" });
    // Donation block size from the request unit: P4D/PUD/PMD sizes coincide with folded levels.
    rec.data.unitSizes = { levels4: [0, 1, 2, 3].map((u) => level_to_size(u, 4)), levels3: [0, 1, 2, 3].map((u) => level_to_size(u, 3)) };
    if (host.profile.sroUninitResult) {
      rec.notes.push("v14 10/44 rmi_sro_execute: `int ret;` is assigned on the DONATE/RECLAIM/default paths only; on MEMREQ NONE the check after RMI_OP_CONTINUE reads it uninitialised. Modelled as the previous iteration's value (stale 0) in the plain run and as garbage (0xdead) in the poisoned one: `if (ret) { if (can_cancel) { /* FIXME */ } if (WARN_ON(ret)) return ret; }` returns it with no RMI_OP_CANCEL (the cancel is a FIXME comment), so the REC the RMM just created is taken as a failure: kvm_create_rec -ENXIO, the REC page's undelegate WARNs and leaks it. (Before issue 10 the model sent RMI_OP_CANCEL here; the posting never does.)");
    }
    rec.notes.push("Donations above MAX_PAGE_ORDER and the FIXME for non-contiguous donations are not reached: the simulated RMM asks for 4 KiB granules only");
    return { host, rec };
  },
};

/**
 * S29 — granule-tracking alignment at RMI init (Mathieu Poirier, v13 10/48). The platform's DRAM
 * starts at an address that is not aligned to the 1 GiB tracking region (QEMU sbsa-ref:
 * 0x100_4300_0000). v13's rmi_verify_memory_tracking rounds the region down to 0x100_4000_0000 and
 * asks RMI_GRANULE_TRACKING_GET about it one tracking region at a time: that address is outside
 * the platform map, the RMM answers RMI_ERROR_INPUT, init returns -ENODEV and the host has no realm
 * support. v14 asks with the range form (start, end) and walks by the returned top: the same DRAM
 * is FINE/CONVENTIONAL and realms work. The RMM v1.0 postings have no tracking regions and do not
 * ask. A control run with DRAM at 0x8000_0000 (1 GiB aligned) shows that the start address is the
 * trigger. Code: src/kvm/rmi/init.ts, src/rmm/commands/v2/tracking.ts.
 */
import type { Host } from "../host/host.js";
import { errnoName } from "../kvm/errno.js";
import { rmiUnavailableReason } from "../kvm/rmi/init.js";
import type { MemoryRegion } from "../platform/memory-map.js";
import { statusName } from "../rmm/status.js";
import { RAM, countRmi, newHost } from "./helpers.js";
import type { ScenarioDef } from "./scenario.js";

/** QEMU sbsa-ref's DRAM base: 48 MiB into a 1 GiB tracking region. */
export const SBSA_DRAM_BASE = 0x100_4300_0000n;
const GiB = 1n << 30n;

/** The default platform map with its 2 GiB of DRAM moved to the sbsa-ref base. */
export const SBSA_MEMORY_MAP: readonly MemoryRegion[] = Object.freeze([
  { kind: "secure", base: 0x0600_0000n, size: 16n << 20n },
  { kind: "mmio", base: 0x1c00_0000n, size: 16n << 20n },
  { kind: "dram", base: SBSA_DRAM_BASE, size: 2n * GiB },
]);

/** The GRANULE_TRACKING_GET calls of the host's RMI init, as the RMM saw them. */
function trackingCalls(host: Host): { base: string; top: string; status: string; category?: number; state?: number; outTop?: string }[] {
  const out = [];
  for (const r of host.platform.rmm.trace.records) {
    if (r.name !== "RMI_GRANULE_TRACKING_GET") continue;
    const c: { base: string; top: string; status: string; category?: number; state?: number; outTop?: string } = {
      base: `0x${r.args[0]!.toString(16)}`,
      top: `0x${r.args[1]!.toString(16)}`,
      status: statusName(r.x0 % 256),
    };
    if (r.x0 === 0) {
      c.category = Number(r.outs[0]);
      c.state = Number(r.outs[1]);
      c.outTop = `0x${r.outs[2]!.toString(16)}`;
    }
    out.push(c);
  }
  return out;
}

export const S29: ScenarioDef = {
  id: "S29",
  title: "Granule-tracking alignment at init (Mathieu Poirier, v13 10/48)",
  affects: ["v13"],
  run(series, mk) {
    const host = newHost(series, { memoryMap: SBSA_MEMORY_MAP });
    const rec = mk(host);
    rec.data.dramBase = `0x${SBSA_DRAM_BASE.toString(16)}`;
    rec.data.rmiInit = errnoName(host.rmiInit);
    rec.data.trackingGet = trackingCalls(host);
    rec.data.gptL1Create = countRmi(host, "GPT_L1_CREATE");
    if (host.profile.memoryTrackingCheck === "none") {
      rec.notes.push("RMM v1.0: no tracking regions, RMI init does not ask about memory tracking");
    }
    const off = rmiUnavailableReason(host);
    if (off !== undefined) {
      rec.data.realmSupport = "disabled";
      rec.notes.push(`kvm_init_rmi: ${off}`);
      // The Host API refuses the realm VM, as KVM_CREATE_VM(REALM) does without RMI.
      try {
        host.createRealm({ ipaBits: 40, memory: 16n << 20n, vcpus: 1 });
        rec.mark("error", "createRealm succeeded on a host without realm support");
      } catch (e) {
        rec.data.createRealm = String(e instanceof Error ? e.message : e);
      }
      rec.mark("error", "realm support disabled: the RMM was asked about memory outside the platform map");
    } else {
      rec.data.realmSupport = "available";
      const calls = rec.data.trackingGet as ReturnType<typeof trackingCalls>;
      if (calls.length > 0) {
        rec.notes.push(`range GRANULE_TRACKING_GET from the unaligned DRAM start: ${calls.length} call(s), FINE/CONVENTIONAL up to ${calls.at(-1)!.outTop}; ${String(rec.data.gptL1Create)} GPT_L1_CREATE (RMI_ERROR_GPT: the L1 tables exist)`);
      }
      const vm = host.createRealm({ ipaBits: 40, memory: 16n << 20n, vcpus: 1 });
      const s = vm.start();
      rec.check("start", { outcome: s.ok ? "ok" : "error" });
      const t = vm.touch(RAM + 0x1000n, { access: "write" });
      rec.check("touch a private page", t);
      rec.data.realmStarted = s.ok;
    }
    // Control: the same posting with DRAM on a tracking-region boundary (the default map).
    if (host.profile.memoryTrackingCheck !== "none") {
      const control = newHost(series);
      rec.otherRunWarns += control.warnCount;
      rec.data.alignedDram = { dramBase: "0x80000000", rmiInit: errnoName(control.rmiInit), trackingGet: countRmi(control, "GRANULE_TRACKING_GET") };
    }
    return { host, rec };
  },
};

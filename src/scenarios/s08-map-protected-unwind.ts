/**
 * S08: realm_map_protected of a 4 MiB folio with its second chunk failing: what the unwind
 * undelegates, what stays delegated, which page gets pinned.
 */
import { GranuleState } from "../rmm/granule.js";
import { runSync } from "../sched/coop.js";
import { errnoName } from "../kvm/errno.js";
import { realm_map_protected } from "../kvm/rmi/map.js";
import { topup_memcache } from "../kvm/rmi/ripas.js";
import type { ScenarioDef } from "./scenario.js";
import { RAM, started } from "./helpers.js";

export const S08: ScenarioDef = {
  id: "S08",
  title: "realm_map_protected unwinding after a partial RTT_DATA_MAP: wrong range (v13), double undelegate (v14)",
  affects: ["v13", "v14"],
  run(series, mk) {
    const { host, vm } = started(series);
    const rec = mk(host);
    const k = vm.kvm;
    // Latent: gmem_abort maps PAGE_SIZE (one descriptor, one call). A partial RTT_DATA_MAP needs a
    // size that is not a block size: addr_range_desc (v13 27/48, v14 29/44) gives one block for
    // exactly 2 MiB, the page form (CNT 511) for 4 MiB. Driven here with a 4 MiB folio.
    const SIZE = 0x40_0000;
    const ipa = Number(RAM) + 0x80_0000;
    const folio = host.pages.allocBlock(SIZE / 4096, "gmem", k.id);
    const v2 = host.platform.abi === "2.0";
    // Fail the second chunk (v13/v14 RTT_DATA_MAP from folio page 511; v8..v12 the 2nd granule).
    const failAt = v2 ? ipa + 511 * 4096 : ipa + 4096;
    host.inject(v2 ? { rmi: "RTT_DATA_MAP", status: "RMI_ERROR_INPUT", pa: BigInt(failAt) } : { rmi: "DATA_CREATE_UNKNOWN", status: "RMI_ERROR_INPUT", pa: BigInt(failAt) });
    topup_memcache(k.vcpus[0]!, 4);
    const n0 = host.trace.length;
    const ret = runSync(realm_map_protected(k, ipa, folio, SIZE, k.vcpus[0]!.memcache));
    host.step("realm_map_protected 4 MiB with the second chunk failing");
    rec.data.ret = errnoName(ret);
    const undel = host.trace.slice(n0).filter((l) => l.startsWith("SMC_RMI_GRANULE_RANGE_UNDELEGATE") || l.startsWith("SMC_RMI_GRANULE_UNDELEGATE"));
    const outside = undel.filter((l) => {
      const base = parseInt(l.split(" ")[1]!, 16);
      return base < folio || base >= folio + SIZE;
    });
    rec.data.undelegateCalls = undel.length;
    rec.data.undelegateOutsideFolio = outside.length;
    rec.data.undelegateFailures = undel.filter((l) => !l.includes("RMI_SUCCESS")).length;
    let stillDelegated = 0;
    for (let a = folio; a < folio + SIZE; a += 4096) if (host.platform.rmm.granules.state(a / 4096) !== GranuleState.NS) stillDelegated++;
    rec.data.folioGranulesNotReturned = stillDelegated;
    const pinned = [...host.pages.pagesOf(k.id)].filter((p) => p.leaked);
    rec.data.pinned = pinned.length;
    rec.data.pinnedFolioPage = pinned.length === 1 ? (pinned[0]!.pa - folio) / 4096 : null;
    if (v2) {
      // v13 27/48 / v14 29/44 realm_map_protected, err_undelegate
      rec.notes.push(
        "Latent in both postings: gmem_abort maps PAGE_SIZE (one descriptor, one RTT_DATA_MAP), and a 2 MiB map is one PMD block descriptor (addr_range_desc), so a partial map needs a size that is not a block size: a 4 MiB folio here.",
        host.profile.protectedMapUnwind === "v13-advanced-phys"
          ? "v13: undelegate_range(phys, map_size) starts at the advanced phys (folio page 511) and runs past the folio until it fails: WARN, get_page(phys) pins folio page 511; then realm_unmap_private_range(base_ipa, ipa) returns pages 0..510 (its decoder misreads v13's SZ, S07)."
          : "v14: realm_unmap_private_range(base_ipa, ipa) returns pages 0..510, then rmi_undelegate_range(base_phys, map_size) fails at once on page 0: WARN, get_page(base_phys); the 513 granules never mapped stay delegated (leaked).",
      );
    }
    rec.check("map with a failing chunk");
    return { host, rec };
  },
};

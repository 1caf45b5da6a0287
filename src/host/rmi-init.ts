/**
 * RMM v2.0 boot on the host (v13/v14 `arm64_init_rmi`; kernel arch/arm64/kernel/rmi.c in v14):
 * RMI_VERSION(2.0), RMI_FEATURES 0..4, RMI_RMM_CONFIG_SET with the RMI granule = PAGE_SIZE
 * (4 KiB) and a 1 GiB tracking region, then RMI_RMM_ACTIVATE (driven as an SRO: OP_CONTINUE
 * while it answers RMI_INCOMPLETE). A failure leaves realm support off (Host.rmiInit < 0).
 * GPT L1 creation / GRANULE_TRACKING_GET (v13 10/48, S29) is not modelled: the simulated RMM
 * tracks all of DRAM. Sources: linux-cca-series.md §2 (v13 row), rmm-model.md §9.1.
 */
import { encodeRmmConfig, RMI_GRAN_4KB_TRACKING_REGION_SIZE_1GB, RmiGranuleSize } from "../rmm/abi/rmm-config.js";
import { ENOMEM, ENXIO } from "./errno.js";
import type { Host } from "./host.js";
import { RMI_INCOMPLETE, RMI_RETURN_STATUS, RMI_SUCCESS } from "./rmi.js";

/** RMI_ABI_VERSION(2, 0). */
export const RMI_ABI_VERSION_2_0 = 0x2_0000n;

export function arm64_init_rmi(host: Host): number {
  const rmi = host.rmi;
  const fail = (why: string, r: number): number => {
    host.log.push("event", `arm64_init_rmi: ${why}: realm support disabled`);
    return r;
  };
  if (RMI_RETURN_STATUS(rmi.version(RMI_ABI_VERSION_2_0).ret) !== RMI_SUCCESS) return fail("unsupported RMI ABI version", -ENXIO);
  for (let i = 0; i < 5; i++) if (rmi.features(i).ret !== RMI_SUCCESS) return fail(`RMI_FEATURES(${i}) failed`, -ENXIO);
  // The kernel's NS page for SRO address lists, kept for the host's lifetime.
  rmi.listPage = host.pages.alloc("kernel", 0);
  const cfg = host.pages.alloc("kernel", 0);
  if (rmi.listPage < 0 || cfg < 0) return fail("out of memory", -ENOMEM);
  host.platform.ns.write(BigInt(cfg), encodeRmmConfig({
    trackingRegionSize: RMI_GRAN_4KB_TRACKING_REGION_SIZE_1GB,
    rmiGranuleSize: RmiGranuleSize.RMI_GRANULE_SIZE_4KB, // PAGE_SIZE (4 KiB host)
  }));
  const c = rmi.rmm_config_set(cfg);
  host.pages.put(cfg);
  if (c !== RMI_SUCCESS) return fail(`RMM_CONFIG_SET returned ${c}`, -ENXIO);
  let a = rmi.rmm_activate();
  for (let n = 0; RMI_RETURN_STATUS(a.ret) === RMI_INCOMPLETE && n < 1024; n++) {
    const o = rmi.op_continue(a.handle);
    a = { ret: o.ret, handle: o.handle };
  }
  if (a.ret !== RMI_SUCCESS) return fail(`RMM_ACTIVATE returned ${a.ret}`, -ENXIO);
  host.log.push("event", "arm64_init_rmi: RMM v2.0 configured (4 KiB granules) and active");
  return 0;
}

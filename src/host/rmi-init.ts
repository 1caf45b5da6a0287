/**
 * RMM v2.0 boot on the host (v13/v14 `arm64_init_rmi`; kernel arch/arm64/kernel/rmi.c in v14):
 * RMI_VERSION(2.0), RMI_FEATURES 0..4, RMI_RMM_CONFIG_SET with the RMI granule = PAGE_SIZE
 * (4 KiB) and a 1 GiB tracking region, then RMI_RMM_ACTIVATE (driven as an SRO: OP_CONTINUE
 * while it answers RMI_INCOMPLETE), then rmi_init_metadata over every memblock region (the
 * platform's DRAM banks): rmi_verify_memory_tracking and rmi_create_gpts (v13 10/48 in
 * arch/arm64/kvm/rmi.c, v14 08/44 in arch/arm64/kernel/rmi.c). A failure leaves realm support off
 * (Host.rmiInit < 0; createRealm refuses, naming the reason: rmiUnavailableReason).
 *
 * S29 (Mathieu Poirier, v13 10/48): v13 rounds the region out to the 1 GiB tracking region and asks
 * RMI_GRANULE_TRACKING_GET(addr) region by region, so DRAM that does not start on 1 GiB (QEMU
 * sbsa-ref: 0x100_4300_0000) makes it ask about 0x100_4000_0000, outside the platform map: error,
 * -ENODEV, no realms. v14 asks GRANULE_TRACKING_GET(start, end) and walks by the returned top.
 * Both then call RMI_GPT_L1_CREATE for each L0GPTSZ block, RMI_ERROR_GPT meaning "already exists".
 * Sources: linux-cca-series.md §2 (v13 row), §6 S29; rmm-model.md §9.1.
 */
import { encodeRmmConfig, RMI_GRAN_4KB_TRACKING_REGION_SIZE_1GB, RmiGranuleSize } from "../rmm/abi/rmm-config.js";
import { RmiMemCategory, RmiTrackingRegionState } from "../rmm/commands/v2/tracking.js";
import { ENODEV, ENOMEM, ENXIO, errnoName } from "./errno.js";
import type { Host } from "./host.js";
import { RMI_INCOMPLETE, RMI_RETURN_STATUS, RMI_SUCCESS } from "./rmi.js";

/** RMI_ABI_VERSION(2, 0). */
export const RMI_ABI_VERSION_2_0 = 0x2_0000n;

/** RMM_GRANULE_TRACKING_SIZE for a 4 KiB PAGE_SIZE (tracking_region_size 0). */
const RMM_GRANULE_TRACKING_SIZE = 2 ** 30;
/** RMI_ERROR_GPT: GPT_L1_CREATE's "the L1 table already exists". */
const RMI_ERROR_GPT = 15;

/** Why arm64_init_rmi left realm support off, per host (undefined: realms available). */
const UNAVAILABLE = new WeakMap<Host, string>();

/** The reason realm support is off on this host (arm64_init_rmi failed), or undefined. */
export function rmiUnavailableReason(host: Host): string | undefined {
  return UNAVAILABLE.get(host);
}

const hex = (a: number): string => a.toString(16);

/**
 * rmi_verify_memory_tracking(start, end): the RMM must track [start, end) FINE/CONVENTIONAL.
 * v13 rounds to the tracking region and asks per region (x1 category, x2 state); v14 asks for the
 * range and continues from the returned top. Returns 0 or -ENODEV (with the posted pr_err text).
 */
function rmi_verify_memory_tracking(host: Host, start: number, end: number, errs: string[]): number {
  const v13 = host.profile.memoryTrackingCheck === "v13-align-down";
  if (v13) {
    start = Math.floor(start / RMM_GRANULE_TRACKING_SIZE) * RMM_GRANULE_TRACKING_SIZE;
    end = Math.ceil(end / RMM_GRANULE_TRACKING_SIZE) * RMM_GRANULE_TRACKING_SIZE;
  }
  while (start < end) {
    // v13 rmi_granule_tracking_get(addr, &category, &state) (x2 not set: 0 here, the bet0 RMM
    // ignores it); v14 rmi_granule_tracking_get(start, end, &category, &state, &next)
    const o = host.rmi.raw("granuleTrackingGet", BigInt(start), v13 ? 0n : BigInt(end));
    if (o.ret !== RMI_SUCCESS || o.x2 !== BigInt(RmiTrackingRegionState.RMI_TRACKING_FINE) || o.x1 !== BigInt(RmiMemCategory.RMI_MEM_CATEGORY_CONVENTIONAL)) {
      errs.push(`Granule tracking for region isn't fine/conventional: ${hex(start)}`);
      return -ENODEV;
    }
    start = v13 ? start + RMM_GRANULE_TRACKING_SIZE : Number(o.x3);
  }
  return 0;
}

/** rmi_create_gpts(start, end): GPT_L1_CREATE per L0GPTSZ block; RMI_ERROR_GPT = already there. */
function rmi_create_gpts(host: Host, start: number, end: number, featReg1: bigint, errs: string[]): number {
  const l0gptSz = 2 ** (30 + Number((featReg1 >> 10n) & 0xfn)); // RMI_FEATURE_REGISTER_1_L0GPTSZ
  start = Math.floor(start / l0gptSz) * l0gptSz;
  end = Math.ceil(end / l0gptSz) * l0gptSz;
  while (start < end) {
    const ret = host.rmi.raw("gptL1Create", BigInt(start)).ret;
    if (ret !== 0 && ret !== RMI_ERROR_GPT) {
      errs.push(`GPT Level1 table missing for ${hex(start)}`);
      return -ENOMEM;
    }
    start += l0gptSz;
  }
  return 0;
}

/** rmi_init_metadata: for_each_mem_region (the platform's DRAM banks), tracking then GPTs. */
function rmi_init_metadata(host: Host, featReg1: bigint, errs: string[]): number {
  for (const r of host.platform.machine.map.regions) {
    if (r.kind !== "dram") continue;
    let ret = rmi_verify_memory_tracking(host, r.base, r.end, errs);
    if (ret) return ret;
    ret = rmi_create_gpts(host, r.base, r.end, featReg1, errs);
    if (ret) return ret;
  }
  return 0;
}

export function arm64_init_rmi(host: Host): number {
  const rmi = host.rmi;
  const fail = (why: string, r: number): number => {
    host.log.push("event", `arm64_init_rmi: ${why}: realm support disabled`);
    UNAVAILABLE.set(host, `${why} (${errnoName(r)})`);
    return r;
  };
  if (RMI_RETURN_STATUS(rmi.version(RMI_ABI_VERSION_2_0).ret) !== RMI_SUCCESS) return fail("unsupported RMI ABI version", -ENXIO);
  let featReg1 = 0n;
  for (let i = 0; i < 5; i++) {
    const f = rmi.features(i);
    if (f.ret !== RMI_SUCCESS) return fail(`RMI_FEATURES(${i}) failed`, -ENXIO);
    if (i === 1) featReg1 = f.value;
  }
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
  if (host.profile.memoryTrackingCheck !== "none") {
    const errs: string[] = [];
    const m = rmi_init_metadata(host, featReg1, errs);
    if (m) return fail(errs.join("; "), m);
  }
  host.log.push("event", "arm64_init_rmi: RMM v2.0 configured (4 KiB granules) and active");
  return 0;
}

/**
 * arch/arm64/kvm/rmi.c (rme.c in v8/v10; arch/arm64/kernel/rmi.c for the kernel part in v14).
 * RMI initialisation on the host, per posting (kvm_init_rmi at KVM init):
 *  - v8..v12 (RMM v1.0; v9 07/43 stand-in for v8/v10, v12 07/46 and 23/46): rmi_check_version
 *    (RMI_VERSION 1.0), WARN_ON(rmi_features(0)), rmi_vmid_init (a bitmap, no RMI call);
 *  - v13 (arch/arm64/kvm/rmi.c, whole file in postings/): rmi_check_version (2.0),
 *    WARN_ON(rmi_features(0)), WARN_ON(rmi_features(1)), rmm_check_features, rmi_configure
 *    (RMM_CONFIG_SET with the RMI granule = PAGE_SIZE and tracking_region_size 0, i.e. 1 GiB;
 *    RMM_ACTIVATE), rmi_init_metadata over every memblock region (the platform's DRAM banks):
 *    rmi_verify_memory_tracking, then rmi_create_gpts;
 *  - v14: the same steps moved to arch/arm64/kernel/rmi.c by v14 08/44, which is not in
 *    postings/: modelled as v13 with the v14 wrappers (v14 05/44: GRANULE_TRACKING_GET(start, end)
 *    returning the top; v14 09/44 context: the kernel keeps rmm_feat_reg0 and rmm_feat_reg1 only).
 *    v14's KVM side (kvm_init_rmi: is_kernel_in_hyp_mode, rmi_is_available, rmm_check_features)
 *    is in the v14 rmi.c snapshot; the VHE check lives in vgic.ts (S26).
 * A failure leaves realm support off ("Continue without realm support": the static branch
 * kvm_rmi_is_available stays disabled); createRealm refuses, naming the reason
 * (rmiUnavailableReason).
 *
 * S29 (Mathieu Poirier, v13 10/48): v13 rounds the region out to the 1 GiB tracking region and asks
 * RMI_GRANULE_TRACKING_GET(addr) region by region, so DRAM that does not start on 1 GiB (QEMU
 * sbsa-ref: 0x100_4300_0000) makes it ask about 0x100_4000_0000, outside the platform map: error,
 * -ENODEV, no realms. v14 asks GRANULE_TRACKING_GET(start, end) and walks by the returned top.
 * Both then call RMI_GPT_L1_CREATE for each L0GPTSZ block, RMI_ERROR_GPT meaning "already exists".
 */
import { encodeRmmConfig, RMI_GRAN_4KB_TRACKING_REGION_SIZE_1GB, RmiGranuleSize } from "../../rmm/abi/rmm-config.js";
import { RmiMemCategory, RmiTrackingRegionState } from "../../rmm/commands/v2/tracking.js";
import { EINVAL, ENODEV, ENOMEM, ENXIO, errnoName } from "../errno.js";
import type { KvmEnv } from "../env.js";
import { RMI_ABI_VERSION_1_0, RMI_ABI_VERSION_2_0, RMI_ERROR_GPT, RMI_FEATURE_REGISTER_0_S2SZ, RMI_SUCCESS } from "../rmi_cmds.js";

/** RMM_GRANULE_TRACKING_SIZE for a 4 KiB PAGE_SIZE (tracking_region_size 0). */
const RMM_GRANULE_TRACKING_SIZE = 2 ** 30;
/** SMCCC_RET_NOT_SUPPORTED as the 32-bit x0 the kernel compares (-1). */
const SMCCC_RET_NOT_SUPPORTED = 0xffffffff;

/** Per host: rmm_feat_reg0/1 as kvm_init_rmi read them, and why realm support is off (if it is). */
interface RmiState {
  reg0: bigint;
  reg1: bigint;
  unavailable?: string;
}
const STATE = new WeakMap<KvmEnv, RmiState>();

function state(host: KvmEnv): RmiState {
  let s = STATE.get(host);
  if (s === undefined) STATE.set(host, (s = { reg0: 0n, reg1: 0n }));
  return s;
}

/** The reason realm support is off on this host (kvm_init_rmi failed), or undefined. */
export function rmiUnavailableReason(host: KvmEnv): string | undefined {
  return STATE.get(host)?.unavailable;
}

/** rmi_has_feature(feature): !!u64_get_bits(rmm_feat_reg0, feature). */
export function rmi_has_feature(host: KvmEnv, feature: bigint): boolean {
  return (state(host).reg0 & feature) !== 0n;
}

/** u64_get_bits(reg, mask). */
function getBits(reg: bigint, mask: bigint): number {
  let m = mask;
  let v = reg & mask;
  while ((m & 1n) === 0n) {
    m >>= 1n;
    v >>= 1n;
  }
  return Number(v);
}

/** kvm_realm_ipa_limit(): RMI_FEATURE_REGISTER_0_S2SZ (v12 07/46, v13 12/48, v14 14/44). */
export function kvm_realm_ipa_limit(host: KvmEnv): number {
  return getBits(state(host).reg0, RMI_FEATURE_REGISTER_0_S2SZ);
}

const hex = (a: number): string => a.toString(16);

/**
 * rmi_check_version: RMI_VERSION(host_version). SMCCC_RET_NOT_SUPPORTED -> -ENXIO; any other
 * non-success -> kvm_err "Unsupported RMI ABI (vL - vH) we want vM.m", -ENXIO.
 */
function rmi_check_version(host: KvmEnv, want: bigint, errs: string[]): number {
  const o = host.rmi.raw("version", want);
  if (o.ret === SMCCC_RET_NOT_SUPPORTED) return -ENXIO;
  if (o.ret !== RMI_SUCCESS) {
    const v = (x: bigint): string => `v${Number(x >> 16n)}.${Number(x & 0xffffn)}`;
    errs.push(`Unsupported RMI ABI (${v(o.x1)} - ${v(o.x2)}) we want ${v(want)}`);
    return -ENXIO;
  }
  return 0;
}

/**
 * rmi_configure (v13): a zeroed config page (freed on every path: __free(free_page)) with
 * rmi_granule_size = PAGE_SIZE (4 KiB) and tracking_region_size 0; RMM_CONFIG_SET failing ->
 * "RMM config set failed", -EINVAL; RMM_ACTIVATE failing -> "RMM activate failed", -ENXIO. Both
 * wrappers return x0 as it is (an RMI_INCOMPLETE from RMM_ACTIVATE is a failure here).
 */
function rmi_configure(host: KvmEnv, errs: string[]): number {
  const cfg = host.pages.alloc("kernel", 0);
  if (cfg < 0) return -ENOMEM;
  host.ns.write(BigInt(cfg), encodeRmmConfig({
    trackingRegionSize: RMI_GRAN_4KB_TRACKING_REGION_SIZE_1GB,
    rmiGranuleSize: RmiGranuleSize.RMI_GRANULE_SIZE_4KB, // PAGE_SIZE (4 KiB host)
  }));
  const c = host.rmi.rmm_config_set(cfg);
  if (c !== RMI_SUCCESS) {
    host.pages.put(cfg);
    errs.push("RMM config set failed");
    return -EINVAL;
  }
  const a = host.rmi.rmm_activate();
  host.pages.put(cfg);
  if (a !== RMI_SUCCESS) {
    errs.push("RMM activate failed");
    return -ENXIO;
  }
  return 0;
}

/**
 * rmi_verify_memory_tracking(start, end): the RMM must track [start, end) FINE/CONVENTIONAL.
 * v13 rounds to the tracking region and asks per region (x1 category, x2 state); v14 asks for the
 * range and continues from the returned top. Returns 0 or -ENODEV (with the posted kvm_err text).
 */
function rmi_verify_memory_tracking(host: KvmEnv, start: number, end: number, errs: string[]): number {
  const v13 = host.profile.memoryTrackingCheck === "v13-align-down";
  if (v13) {
    start = Math.floor(start / RMM_GRANULE_TRACKING_SIZE) * RMM_GRANULE_TRACKING_SIZE;
    end = Math.ceil(end / RMM_GRANULE_TRACKING_SIZE) * RMM_GRANULE_TRACKING_SIZE;
  }
  while (start < end) {
    // v13 rmi_granule_tracking_get(addr, &category, &state) (x2 not set: 0 here, the bet0 RMM
    // ignores it); v14 rmi_granule_tracking_get(start, end, &category, &state, &top)
    const o = host.rmi.granule_tracking_get(start, v13 ? 0 : end);
    if (o.ret !== RMI_SUCCESS || o.state !== BigInt(RmiTrackingRegionState.RMI_TRACKING_FINE) || o.category !== BigInt(RmiMemCategory.RMI_MEM_CATEGORY_CONVENTIONAL)) {
      errs.push(`Granule tracking for region isn't fine/conventional: ${hex(start)}`);
      return -ENODEV;
    }
    start = v13 ? start + RMM_GRANULE_TRACKING_SIZE : o.top;
  }
  return 0;
}

/** rmi_l0gpt_size(): 1 << (30 + RMI_FEATURE_REGISTER_1_L0GPTSZ). */
function rmi_l0gpt_size(host: KvmEnv): number {
  return 2 ** (30 + Number((state(host).reg1 >> 10n) & 0xfn));
}

/**
 * rmi_create_gpts(start, end): GPT_L1_CREATE per L0GPTSZ block; RMI_ERROR_GPT = already there;
 * anything else (the wrapper turns RMI_INCOMPLETE into WARN_ON's 1) -> "GPT Level1 table missing",
 * -ENOMEM.
 */
function rmi_create_gpts(host: KvmEnv, start: number, end: number, errs: string[]): number {
  const l0gptSz = rmi_l0gpt_size(host);
  start = Math.floor(start / l0gptSz) * l0gptSz;
  end = Math.ceil(end / l0gptSz) * l0gptSz;
  while (start < end) {
    const ret = host.rmi.gpt_l1_create(start);
    if (ret !== 0 && ret !== RMI_ERROR_GPT) {
      errs.push(`GPT Level1 table missing for ${hex(start)}`);
      return -ENOMEM;
    }
    start += l0gptSz;
  }
  return 0;
}

/** rmi_init_metadata: for_each_mem_region (the platform's DRAM banks), tracking then GPTs. */
function rmi_init_metadata(host: KvmEnv, errs: string[]): number {
  for (const r of host.memRegions()) {
    let ret = rmi_verify_memory_tracking(host, r.base, r.end, errs);
    if (ret) return ret;
    ret = rmi_create_gpts(host, r.base, r.end, errs);
    if (ret) return ret;
  }
  return 0;
}

/**
 * rmm_check_features (v13/v14): "RMM doesn't support LPA2" when the kernel uses LPA2. The
 * simulated host is a 4 KiB, 48-bit kernel (kvm_lpa2_is_enabled() false): no check to fail.
 */
function rmm_check_features(): number {
  return 0;
}

/**
 * kvm_init_rmi for the host's posting (see the file comment). Returns 0, or the errno of the step
 * that left realm support off. Every RMI call it makes is in the trace.
 */
export function kvm_init_rmi(host: KvmEnv): number {
  const rmi = host.rmi;
  const s = state(host);
  const errs: string[] = [];
  const fail = (why: string, r: number): number => {
    const text = errs.length > 0 ? errs.join("; ") : why;
    host.log.push("event", `kvm_init_rmi: ${text}: realm support disabled`);
    s.unavailable = `${text} (${errnoName(r)})`;
    return r;
  };
  const v2 = host.profile.rmm === "2.0";
  let r = rmi_check_version(host, v2 ? RMI_ABI_VERSION_2_0 : RMI_ABI_VERSION_1_0, errs);
  if (r) return fail("rmi_check_version", r);
  const f0 = rmi.features(0);
  if (f0.ret !== RMI_SUCCESS) {
    host.warn("kvm_init_rmi", `rmi_features(0) returned ${f0.ret}`);
    return fail("RMI_FEATURES(0) failed", -ENXIO);
  }
  s.reg0 = f0.value;
  if (!v2) {
    // rmi_vmid_init (v8..v12): bitmap_zalloc of 1 << kvm_get_vmid_bits() bits, no RMI call.
    host.log.push("event", "kvm_init_rmi: RMI ABI v1.0, realm support enabled");
    return 0;
  }
  const f1 = rmi.features(1);
  if (f1.ret !== RMI_SUCCESS) {
    host.warn("kvm_init_rmi", `rmi_features(1) returned ${f1.ret}`);
    return fail("RMI_FEATURES(1) failed", -ENXIO);
  }
  s.reg1 = f1.value;
  r = rmm_check_features();
  if (r) return fail("rmm_check_features", r);
  // The kernel's NS page for SRO address lists (a stand-in for the addr_list of struct
  // rmi_sro_state, v14 05/44), kept for the host's lifetime.
  rmi.listPage = host.pages.alloc("kernel", 0);
  if (rmi.listPage < 0) return fail("out of memory", -ENOMEM);
  r = rmi_configure(host, errs);
  if (r) return fail("rmi_configure", r);
  r = rmi_init_metadata(host, errs);
  if (r) return fail("rmi_init_metadata", r);
  host.log.push("event", "kvm_init_rmi: RMM v2.0 configured (4 KiB granules) and active");
  return 0;
}

/**
 * What the simulated hardware and RMM support, and RmiFeatureRegister0 built from it.
 * Source: RMM spec B4.4.x RmiFeatureRegister0; TF-RMM rmm-spec-v1.0-rel0 runtime/rmi/feature.c.
 */

export interface RmmFeatures {
  /** Max IPA width the RMM accepts (S2SZ field): the PA width without LPA2, at most 48. */
  s2sz: number;
  lpa2: boolean;
  sve: boolean;
  /** Max SVE vector length, encoded VQ-1. */
  sveVl: number;
  /** Number of hardware breakpoints / watchpoints (the feature fields hold count - 1). */
  numBps: number;
  numWps: number;
  pmu: boolean;
  pmuNumCtrs: number;
  /** FEAT_HPMN0: a realm may ask for PMU with 0 counters. */
  hpmn0: boolean;
  sha256: boolean;
  sha512: boolean;
  /** GICv3 list registers (the field holds count - 1). */
  gicv3NumLrs: number;
  /** Max number of RECs per realm is 2^maxRecsOrder - 1 (TF-RMM: refcount width, 10). */
  maxRecsOrder: number;
  /** Number of VMIDs (v1.0 realms carry their own VMID, which must be < this). */
  vmidCount: number;
  /** PA width of the platform (an RTT or DATA granule at or above 2^48 needs LPA2). */
  paBits: number;
}

export function defaultFeatures(paBits: number): RmmFeatures {
  return {
    s2sz: Math.min(paBits, 48),
    lpa2: false,
    sve: false,
    sveVl: 0,
    numBps: 6,
    numWps: 4,
    pmu: true,
    pmuNumCtrs: 8,
    hpmn0: false,
    sha256: true,
    sha512: true,
    gicv3NumLrs: 16,
    maxRecsOrder: 10,
    vmidCount: 1 << 16,
    paBits,
  };
}

/** Field layout of RmiFeatureRegister0 (v1.0). */
export const FEATURE_REGISTER_0 = {
  S2SZ: [0, 8],
  LPA2: [8, 1],
  SVE_EN: [9, 1],
  SVE_VL: [10, 4],
  NUM_BPS: [14, 6],
  NUM_WPS: [20, 6],
  PMU_EN: [26, 1],
  PMU_NUM_CTRS: [27, 5],
  HASH_SHA_256: [32, 1],
  HASH_SHA_512: [33, 1],
  GICV3_NUM_LRS: [34, 4],
  MAX_RECS_ORDER: [38, 4],
} as const;

/** RMI_FEATURES register 0 (RMM spec, RmiFeatureRegister0) encoded from the RMM's features. */
export function featureRegister0(f: RmmFeatures): bigint {
  const fields: Record<keyof typeof FEATURE_REGISTER_0, number> = {
    S2SZ: f.s2sz,
    LPA2: f.lpa2 ? 1 : 0,
    SVE_EN: f.sve ? 1 : 0,
    SVE_VL: f.sveVl,
    NUM_BPS: f.numBps - 1,
    NUM_WPS: f.numWps - 1,
    PMU_EN: f.pmu ? 1 : 0,
    PMU_NUM_CTRS: f.pmuNumCtrs,
    HASH_SHA_256: f.sha256 ? 1 : 0,
    HASH_SHA_512: f.sha512 ? 1 : 0,
    GICV3_NUM_LRS: f.gicv3NumLrs - 1,
    MAX_RECS_ORDER: f.maxRecsOrder,
  };
  let v = 0n;
  for (const [name, [shift, width]] of Object.entries(FEATURE_REGISTER_0)) {
    const x = BigInt(fields[name as keyof typeof FEATURE_REGISTER_0]) & ((1n << BigInt(width)) - 1n);
    v |= x << BigInt(shift);
  }
  return v;
}

/** Decode a feature register 0 value into named fields (for listings and tests). */
export function decodeFeatureRegister0(v: bigint): Record<string, number> {
  const out: Record<string, number> = {};
  for (const [name, [shift, width]] of Object.entries(FEATURE_REGISTER_0)) {
    out[name] = Number((v >> BigInt(shift)) & ((1n << BigInt(width)) - 1n));
  }
  return out;
}

/**
 * Realm Initial Measurement (RIM): the running hash extended by REALM_CREATE, DATA_CREATE,
 * REC_CREATE (RUNNABLE only) and RTT_INIT_RIPAS (v1.0). Every measurement descriptor is a 256-byte
 * zero-filled buffer; integers are little-endian; the rim field is always 64 bytes.
 * Source: RMM spec A7.1.1 / TF-RMM lib/measurement/src/rim.c, measurement_descs.h.
 */
import { createHash } from "node:crypto";
import { GRANULE_SIZE } from "../arch/geometry.js";
import { REALM_PARAMS } from "./abi/realm-params.js";
import { REC_PARAMS } from "./abi/rec-params.js";

export const MEASUREMENT_DESC_SIZE = 0x100;
export const RIM_SIZE = 64;

export enum MeasurementDescType {
  DATA = 0,
  REC = 1,
  RIPAS = 2,
}

const ALGOS = ["sha256", "sha512", "sha384"] as const;

/** H(bytes) with the realm's hash algorithm (0 SHA-256, 1 SHA-512, 2 SHA-384). */
export function measure(algo: number, bytes: Uint8Array): Uint8Array {
  return new Uint8Array(createHash(ALGOS[algo]!).update(bytes).digest());
}

/** A 64-byte rim/content field holding a hash (zero padded). */
function field64(hash: Uint8Array): Uint8Array {
  const f = new Uint8Array(RIM_SIZE);
  f.set(hash);
  return f;
}

/**
 * Initial RIM: H of a zeroed 4 KiB RmiRealmParams image with only flags, s2sz, sve_vl, num_bps,
 * num_wps, pmu_num_ctrs (read as u32 by TF-RMM) and hash_algo (u8) copied.
 */
export function rimInit(algo: number, params: Uint8Array): Uint8Array {
  const img = new Uint8Array(GRANULE_SIZE);
  for (const off of [REALM_PARAMS.s2sz, REALM_PARAMS.sve_vl, REALM_PARAMS.num_bps, REALM_PARAMS.num_wps, REALM_PARAMS.pmu_num_ctrs]) {
    img.set(params.subarray(off, off + 4), off);
  }
  img.set(params.subarray(REALM_PARAMS.flags, REALM_PARAMS.flags + 8), REALM_PARAMS.flags);
  img[REALM_PARAMS.hash_algo] = params[REALM_PARAMS.hash_algo]!;
  return field64(measure(algo, img));
}

function desc(type: MeasurementDescType, rim: Uint8Array): { buf: Uint8Array; view: DataView } {
  const buf = new Uint8Array(MEASUREMENT_DESC_SIZE);
  const view = new DataView(buf.buffer);
  buf[0] = type;
  view.setBigUint64(0x08, BigInt(MEASUREMENT_DESC_SIZE), true);
  buf.set(rim.subarray(0, RIM_SIZE), 0x10);
  return { buf, view };
}

/** DATA_CREATE: {type 0, len, rim, ipa @0x50, flags @0x58, content @0x60 = H(data) if MEASURE}. */
export function rimExtendData(algo: number, rim: Uint8Array, ipa: number, flags: bigint, data: Uint8Array): Uint8Array {
  const { buf, view } = desc(MeasurementDescType.DATA, rim);
  view.setBigUint64(0x50, BigInt(ipa), true);
  view.setBigUint64(0x58, flags, true);
  if (flags === 1n) buf.set(measure(algo, data), 0x60);
  return field64(measure(algo, buf));
}

/** REC_CREATE (RUNNABLE): {type 1, len, rim, content @0x50 = H(params image: flags, pc, gprs[0..7])}. */
export function rimExtendRec(algo: number, rim: Uint8Array, recParams: Uint8Array): Uint8Array {
  const img = new Uint8Array(GRANULE_SIZE);
  img.set(recParams.subarray(REC_PARAMS.flags, REC_PARAMS.flags + 8), REC_PARAMS.flags);
  img.set(recParams.subarray(REC_PARAMS.pc, REC_PARAMS.pc + 8), REC_PARAMS.pc);
  img.set(recParams.subarray(REC_PARAMS.gprs, REC_PARAMS.gprs + 64), REC_PARAMS.gprs);
  const { buf } = desc(MeasurementDescType.REC, rim);
  buf.set(measure(algo, img), 0x50);
  return field64(measure(algo, buf));
}

/** RTT_INIT_RIPAS (v1.0), per RTT entry processed: {type 2, len, rim, base @0x50, top @0x58}. */
export function rimExtendRipas(algo: number, rim: Uint8Array, base: number, top: number): Uint8Array {
  const { buf, view } = desc(MeasurementDescType.RIPAS, rim);
  view.setBigUint64(0x50, BigInt(base), true);
  view.setBigUint64(0x58, BigInt(top), true);
  return field64(measure(algo, buf));
}

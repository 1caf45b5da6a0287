/**
 * Stage-2 translation geometry for the 4 KiB granule (the only one RMM v1.0 supports).
 *
 * Addresses inside the simulator are JS numbers: every PA and IPA is below 2^52, which a double
 * holds exactly. Only division, multiplication and modulo are used on them, never the 32-bit
 * bitwise operators (they would truncate above 2^31). `bigint` is used at the ABI edge only.
 *
 * Source: RMM spec A2.2 / TF-RMM lib/s2tt/include/s2tt.h (s2tte_map_size, S2TTES_PER_S2TT).
 */

export const GRANULE_SHIFT = 12;
export const GRANULE_SIZE = 4096;
export const GRANULE_SIZE_N = 4096n;

/** Entries in one RTT (a 4 KiB granule of 8-byte descriptors). */
export const S2TTES_PER_S2TT = 512;
/** Entries in a level -1 table (FEAT_LPA2 only). */
export const S2TTES_PER_S2TT_LM1 = 16;

/** The deepest level: 4 KiB pages. */
export const S2TT_PAGE_LEVEL = 3;
/** Blocks are allowed at levels 1 and 2 only (TF-RMM S2TT_MIN_BLOCK_LEVEL). */
export const S2TT_MIN_BLOCK_LEVEL = 1;
export const S2TT_MIN_STARTING_LEVEL = 0;
export const S2TT_MIN_STARTING_LEVEL_LPA2 = -1;
/** IPA width limits (TF-RMM s2tt.h). */
export const S2TT_MIN_IPA_BITS = 32;
export const S2TT_MAX_IPA_BITS = 48;
export const S2TT_MAX_IPA_BITS_LPA2 = 52;

const POW2: number[] = [];
for (let i = 0; i <= 64; i++) POW2.push(2 ** i);

/** 2^n as an exact number (n <= 64). */
export function pow2(n: number): number {
  return POW2[n]!;
}

/** Address bits resolved below an entry of `level`: 12 + 9 * (3 - level). */
export function levelShift(level: number): number {
  return GRANULE_SHIFT + 9 * (S2TT_PAGE_LEVEL - level);
}

/** Size of the region one entry at `level` maps: 4 KiB at L3, 2 MiB at L2, 1 GiB at L1, ... */
export function mapSize(level: number): number {
  return POW2[levelShift(level)]!;
}

export const SZ_4K = 4096;
export const SZ_2M = 2 * 1024 * 1024;
export const SZ_1G = 1024 * 1024 * 1024;

export function isAligned(addr: number, size: number): boolean {
  return addr % size === 0;
}

export function alignDown(addr: number, size: number): number {
  return addr - (addr % size);
}

export function alignUp(addr: number, size: number): number {
  const r = addr % size;
  return r === 0 ? addr : addr + (size - r);
}

/** Index of the entry covering `addr` in a table at `level` (modulo the table size). */
export function entryIndex(addr: number, level: number, entries: number = S2TTES_PER_S2TT): number {
  return Math.floor(addr / mapSize(level)) % entries;
}

/** Granule index of a physical address (exact for any PA below 2^64 that is a multiple of 4K). */
export function granuleIndex(pa: number): number {
  return Math.floor(pa / GRANULE_SIZE);
}

/** Scratch words for toNum / u64ToNumber (one 64-bit register; JS runs one call at a time). */
const U64 = new BigUint64Array(1);
const U32 = new Uint32Array(U64.buffer);
const LITTLE_ENDIAN = new Uint8Array(new Uint16Array([1]).buffer)[0] === 1;
const LO = LITTLE_ENDIAN ? 0 : 1;
const HI = 1 - LO;

const HUGE_ALIGNED = 2 ** 60;
const HUGE_UNALIGNED = 2 ** 60 + 256;

/**
 * A register value (bigint) as an internal address number. Every valid PA/IPA is < 2^52; values of
 * 2^53 and above become 2^60 (if 4K-aligned) or 2^60 + 256 (if not), so alignment checks and
 * range checks on them still give the answer the 64-bit value would.
 */
export function toNum(v: bigint): number {
  // v mod 2^64 (what BigInt.asUintN(64, v) is) as two 32-bit words: a typed-array store, where
  // Number(v) is a call into the V8 runtime (about 250 instructions in Node 20, the commonest
  // conversion of the fault path)
  U64[0] = v;
  const hi = U32[HI]!;
  if (hi < 0x20_0000) return hi * 0x1_0000_0000 + U32[LO]!; // below 2^53: exact
  return U32[LO]! % GRANULE_SIZE === 0 ? HUGE_ALIGNED : HUGE_UNALIGNED;
}

/** The low 32 bits of v mod 2^64 (a field of a flags register read without a bigint per field). */
export function u64Lo(v: bigint): number {
  U64[0] = v;
  return U32[LO]!;
}

/** The high 32 bits of v mod 2^64. */
export function u64Hi(v: bigint): number {
  U64[0] = v;
  return U32[HI]!;
}

/**
 * A bigint known to be in [0, 2^53) as a number, without Number(v)'s runtime call (the caller
 * has checked the range; a value outside it comes back modulo 2^64, rounded).
 */
export function u64ToNumber(v: bigint): number {
  U64[0] = v;
  return U32[HI]! * 0x1_0000_0000 + U32[LO]!;
}

/**
 * An integer in [0, 2^53) as a bigint, through the same typed-array words as toNum (BigInt(n) is a
 * call into the V8 runtime). Same value as BigInt(n) for such n; anything else is refused.
 */
export function numToU64(n: number): bigint {
  const hi = Math.floor(n / 0x1_0000_0000);
  const lo = n - hi * 0x1_0000_0000;
  if (!(hi >= 0 && hi < 0x20_0000) || lo !== Math.floor(lo)) throw new RangeError(`numToU64: ${n} is not an integer in [0, 2^53)`);
  U32[HI] = hi;
  U32[LO] = lo;
  return U64[0]!;
}

/** A 64-bit register value: wraps negative and oversized bigints the way an X register would. */
export function u64(v: bigint): bigint {
  return BigInt.asUintN(64, v);
}

/** Format as lower-case hex without prefix, as TF-RMM's trace does (`%lx`). */
export function hex(v: number | bigint): string {
  return v.toString(16);
}

/**
 * stage2_pgtable_levels(ipa) for 4 KiB pages: ARM64_HW_PGTABLE_LEVELS(ipa - 4) =
 * ((ipa - 4) - 4) / (PAGE_SHIFT - 3) = (ipa - 8) / 9 (Linux arch/arm64/include/asm/stage2_pgtable.h,
 * asm/pgtable-hwdef.h). The posted get_start_level(realm) is 4 - stage2_pgtable_levels(ia_bits)
 * (v13 15/48, v14 17/44; open coded in v10/v12), and the VTCR_EL2 starting level KVM programs for a
 * stage-2 of `ipa` bits is the same 4 - levels.
 */
export function stage2_pgtable_levels(ipa: number): number {
  return Math.floor((ipa - 8) / 9);
}

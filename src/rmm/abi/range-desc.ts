/**
 * RMI v2.0 (beta) operand encodings the host builds and the RMM decodes:
 *  - RmiAddrRangeDesc (4 KiB granule form): SZ [1:0], CNT [11:2], ADDR [51:12] (PA >> 12), ST;
 *  - the flags of RTT_DATA_MAP / RTT_DATA_UNMAP / RTT_UNPROT_MAP / RTT_UNPROT_UNMAP
 *    (oaddr type [1:0], list count [15:2], and for UNPROT_MAP MEMATTR [18:16], S2AP [22:19]);
 *  - RmiOpMemDonateReq (x2 of an INCOMPLETE | DONATE result);
 *  - the RMI_INCOMPLETE result data in x0 bits [15:8] (MEMREQ [9:8], CAN_CANCEL [10]).
 *
 * Sources: TF-RMM main lib/smc/include/smc-rmi.h (RMI_ADDR_RDESC_4K_*, RMI_RTT_UNPROT_MAP_FLAGS_*,
 * RMI_OP_DONATE_*, RMI_OP_MEM_REQ_*, RMI_OP_CAN_CANCEL_BIT_*), lib/addr_list; Linux v14
 * include/linux/arm-smccc-rmi.h (RMI_ADDR_RANGE_*). See docs/rmm-2.0.md for the choices made
 * where the beta drafts disagree (ST width: one bit, bit 63, as TF-RMM main and spec 2.0-bet1).
 *
 * Addresses here are bigint (register values); the RMM converts them to numbers (< 2^52).
 */
import { u64Hi, u64Lo } from "../../arch/geometry.js";

/** RmiAddrRangeDesc.SZ: block size of each of the CNT blocks, as an RTT level (3 - SZ). */
export enum RmiAddrSize {
  /** 4 KiB (a level-3 page). TF-RMM RMI_PAGE_L3. */
  PAGE_L3 = 0,
  /** 2 MiB (a level-2 block). */
  BLOCK_L2 = 1,
  /** 1 GiB (a level-1 block). */
  BLOCK_L1 = 2,
  /** 512 GiB (level 0; never a valid map level). */
  BLOCK_L0 = 3,
}

/** RmiOpMemState: the state the described granules are in (RMI_OP_MEM_DELEGATED / _UNDELEGATED). */
export enum RmiOpMemState {
  DELEGATED = 0,
  UNDELEGATED = 1,
}

/** RmiRttAddrType (flags [1:0]). */
export enum RmiAddrType {
  NONE = 0,
  SINGLE = 1,
  LIST = 2,
}

/** RmiOpMemReq (RMI_INCOMPLETE result bits [9:8]). */
export enum RmiOpMemReq {
  NONE = 0,
  DONATE = 1,
  RECLAIM = 2,
}

export const RANGE_DESC = {
  SZ_SHIFT: 0n,
  SZ_MASK: 0x3n,
  CNT_SHIFT: 2n,
  CNT_MASK: 0x3ffn,
  ADDR_SHIFT: 12n,
  /** ADDR is 40 bits wide: PA bits [51:12]. */
  ADDR_MASK: (1n << 40n) - 1n,
  /** ST is one bit at 63 (TF-RMM main RMI_ADDR_RDESC_4K_ST_SHIFT/WIDTH = 63/1; spec 2.0-bet1). */
  ST_SHIFT: 63n,
  ST_MASK: 0x1n,
} as const;

/** Largest CNT a descriptor holds (10 bits). */
export const RANGE_DESC_MAX_CNT = 1023;
/** Descriptors in one 4 KiB granule (TF-RMM ADDR_LIST_MAX_RANGES). */
export const ADDR_LIST_MAX_RANGES = 512;

/** One decoded RmiAddrRangeDesc. */
export interface AddrRange {
  /** Base PA of the first block (bigint register value; multiple of 4 KiB by construction). */
  addr: bigint;
  /** Block size code (0 = 4 KiB ... 3 = 512 GiB). */
  sz: RmiAddrSize;
  /** Number of blocks (0..1023; 0 is an empty descriptor). */
  cnt: number;
  state: RmiOpMemState;
}

/** Size in bytes of one block of size code `sz` (4 KiB granule): 4K, 2M, 1G, 512G. */
export function rangeBlockSize(sz: number): number {
  return 2 ** (12 + 9 * sz);
}

/** RTT level a block of size code `sz` is mapped at: 3 - SZ. */
export function rangeLevel(sz: number): number {
  return 3 - sz;
}

/** Size code of the blocks an RTT entry at `level` maps (level 0..3). */
export function sizeOfLevel(level: number): RmiAddrSize {
  if (!Number.isInteger(level) || level < 0 || level > 3) throw new RangeError(`sizeOfLevel: level must be 0..3, got ${level}`);
  return (3 - level) as RmiAddrSize;
}

/**
 * Encode a descriptor. `addr` must be a multiple of 4 KiB below 2^52 (ADDR holds PA[51:12]);
 * the block alignment of `addr` is NOT checked here (the RMM checks it, as an input error).
 */
export function encodeRangeDesc(r: { addr: bigint | number; sz?: number; cnt: number; state?: RmiOpMemState }): bigint {
  const addr = BigInt(r.addr);
  const sz = r.sz ?? RmiAddrSize.PAGE_L3;
  const state = r.state ?? RmiOpMemState.DELEGATED;
  if (addr < 0n || addr % 4096n !== 0n || addr >= 1n << 52n) {
    throw new RangeError(`encodeRangeDesc: addr 0x${addr.toString(16)} must be 4 KiB aligned and below 2^52`);
  }
  if (!Number.isInteger(sz) || sz < 0 || sz > 3) throw new RangeError(`encodeRangeDesc: sz must be 0..3, got ${sz}`);
  if (!Number.isInteger(r.cnt) || r.cnt < 0 || r.cnt > RANGE_DESC_MAX_CNT) {
    throw new RangeError(`encodeRangeDesc: cnt must be 0..${RANGE_DESC_MAX_CNT}, got ${r.cnt}`);
  }
  if (state !== 0 && state !== 1) throw new RangeError(`encodeRangeDesc: state must be 0 (DELEGATED) or 1 (UNDELEGATED), got ${String(state)}`);
  return (
    (BigInt(sz) << RANGE_DESC.SZ_SHIFT) |
    (BigInt(r.cnt) << RANGE_DESC.CNT_SHIFT) |
    ((addr >> 12n) << RANGE_DESC.ADDR_SHIFT) |
    (BigInt(state) << RANGE_DESC.ST_SHIFT)
  );
}

/** Decode a descriptor (bits outside SZ/CNT/ADDR/ST are ignored, as TF-RMM's EXTRACT does). */
export function decodeRangeDesc(d: bigint): AddrRange {
  const v = BigInt.asUintN(64, d);
  // SZ [1:0] and CNT [11:2] are in the low word, ST (bit 63) in the high word: read as 32-bit
  // words (flag fields, not addresses) rather than one Number(bigint) runtime call per field
  const lo = u64Lo(v);
  return {
    addr: ((v >> RANGE_DESC.ADDR_SHIFT) & RANGE_DESC.ADDR_MASK) << 12n,
    sz: ((lo >>> DESC_N.SZ_SHIFT) & DESC_N.SZ_MASK) as RmiAddrSize,
    cnt: (lo >>> DESC_N.CNT_SHIFT) & DESC_N.CNT_MASK,
    state: ((u64Hi(v) >>> (DESC_N.ST_SHIFT - 32)) & DESC_N.ST_MASK) as RmiOpMemState,
  };
}

/** The RANGE_DESC fields decodeRangeDesc reads from 32-bit words, as numbers. */
const DESC_N = {
  SZ_SHIFT: Number(RANGE_DESC.SZ_SHIFT),
  SZ_MASK: Number(RANGE_DESC.SZ_MASK),
  CNT_SHIFT: Number(RANGE_DESC.CNT_SHIFT),
  CNT_MASK: Number(RANGE_DESC.CNT_MASK),
  ST_SHIFT: Number(RANGE_DESC.ST_SHIFT),
  ST_MASK: Number(RANGE_DESC.ST_MASK),
};

/** Bytes a descriptor covers: CNT blocks of its size. */
export function rangeBytes(r: AddrRange): number {
  return r.cnt * rangeBlockSize(r.sz);
}

/** A list of descriptors as the bytes the host writes to NS memory (little-endian u64s). */
export function encodeRangeList(descs: readonly bigint[]): Uint8Array {
  const b = new Uint8Array(descs.length * 8);
  const v = new DataView(b.buffer);
  descs.forEach((d, i) => v.setBigUint64(8 * i, BigInt.asUintN(64, d), true));
  return b;
}

/** Decode `count` descriptors from bytes read out of NS memory. */
export function decodeRangeList(bytes: Uint8Array, count = Math.floor(bytes.length / 8)): AddrRange[] {
  const v = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const out: AddrRange[] = [];
  for (let i = 0; i < count; i++) out.push(decodeRangeDesc(v.getBigUint64(8 * i, true)));
  return out;
}

// ---------------------------------------------------------------------------------------------
// Command flags
// ---------------------------------------------------------------------------------------------

export const RTT_FLAGS = {
  OADDR_TYPE_SHIFT: 0n,
  OADDR_TYPE_MASK: 0x3n,
  LIST_COUNT_SHIFT: 2n,
  LIST_COUNT_MASK: 0x3fffn,
  /** RmiRttUnprotMapFlags.MEMATTR [18:16] (written to the S2TTE MemAttr[4:2] field). */
  MEMATTR_SHIFT: 16n,
  MEMATTR_MASK: 0x7n,
  /** RmiRttUnprotMapFlags.S2AP [22:19]; direct encoding: bit 0 = W, bit 1 = R. */
  S2AP_SHIFT: 19n,
  S2AP_MASK: 0xfn,
} as const;

/** Direct S2AP encoding of RMI_RTT_UNPROT_MAP (RMI_S2AP_DIRECT_WRITE/READ). */
export const RMI_S2AP_DIRECT_WRITE = 1;
export const RMI_S2AP_DIRECT_READ = 2;

export interface RttRangeFlags {
  oaddrType: RmiAddrType | number;
  listCount?: number;
  /** UNPROT_MAP only. */
  memattr?: number;
  /** UNPROT_MAP only (direct encoding: 1 = W, 2 = R, 3 = RW). */
  s2ap?: number;
}

/** Encode the flags of RTT_DATA_MAP / RTT_DATA_UNMAP / RTT_UNPROT_MAP / RTT_UNPROT_UNMAP. */
export function encodeRttFlags(f: RttRangeFlags): bigint {
  const field = (name: string, v: number, mask: bigint) => {
    if (!Number.isInteger(v) || v < 0 || BigInt(v) > mask) throw new RangeError(`encodeRttFlags: ${name} must be 0..${mask}, got ${v}`);
    return BigInt(v);
  };
  return (
    (field("oaddrType", f.oaddrType, RTT_FLAGS.OADDR_TYPE_MASK) << RTT_FLAGS.OADDR_TYPE_SHIFT) |
    (field("listCount", f.listCount ?? 0, RTT_FLAGS.LIST_COUNT_MASK) << RTT_FLAGS.LIST_COUNT_SHIFT) |
    (field("memattr", f.memattr ?? 0, RTT_FLAGS.MEMATTR_MASK) << RTT_FLAGS.MEMATTR_SHIFT) |
    (field("s2ap", f.s2ap ?? 0, RTT_FLAGS.S2AP_MASK) << RTT_FLAGS.S2AP_SHIFT)
  );
}

/** Decode the flags of RTT_DATA_MAP / RTT_DATA_UNMAP / RTT_UNPROT_MAP / RTT_UNPROT_UNMAP (inverse of encodeRttFlags). */
export function decodeRttFlags(flags: bigint): Required<RttRangeFlags> {
  // every field is in bits [22:0]: one 32-bit word (a flags word, not an address) instead of a
  // Number(bigint) runtime call per field
  const lo = u64Lo(flags);
  return {
    oaddrType: (lo >>> FLAGS_N.OADDR_TYPE_SHIFT) & FLAGS_N.OADDR_TYPE_MASK,
    listCount: (lo >>> FLAGS_N.LIST_COUNT_SHIFT) & FLAGS_N.LIST_COUNT_MASK,
    memattr: (lo >>> FLAGS_N.MEMATTR_SHIFT) & FLAGS_N.MEMATTR_MASK,
    s2ap: (lo >>> FLAGS_N.S2AP_SHIFT) & FLAGS_N.S2AP_MASK,
  };
}

/** RTT_FLAGS as numbers (decodeRttFlags). */
const FLAGS_N = {
  OADDR_TYPE_SHIFT: Number(RTT_FLAGS.OADDR_TYPE_SHIFT),
  OADDR_TYPE_MASK: Number(RTT_FLAGS.OADDR_TYPE_MASK),
  LIST_COUNT_SHIFT: Number(RTT_FLAGS.LIST_COUNT_SHIFT),
  LIST_COUNT_MASK: Number(RTT_FLAGS.LIST_COUNT_MASK),
  MEMATTR_SHIFT: Number(RTT_FLAGS.MEMATTR_SHIFT),
  MEMATTR_MASK: Number(RTT_FLAGS.MEMATTR_MASK),
  S2AP_SHIFT: Number(RTT_FLAGS.S2AP_SHIFT),
  S2AP_MASK: Number(RTT_FLAGS.S2AP_MASK),
};

// ---------------------------------------------------------------------------------------------
// SRO: donate requests and the INCOMPLETE result data
// ---------------------------------------------------------------------------------------------

export const DONATE_REQ = {
  SZ_SHIFT: 0n,
  SZ_MASK: 0x3n,
  COUNT_SHIFT: 2n,
  COUNT_MASK: 0x3fffn,
  CONTIG_SHIFT: 16n,
  /** One bit at 17 (TF-RMM main RMI_OP_DONATE_MEM_STATE; bet3 widens it to [18:17]). */
  STATE_SHIFT: 17n,
} as const;

export interface DonateRequest {
  /** Block size code of each block wanted. */
  sz: RmiAddrSize;
  /** Number of blocks wanted. */
  count: number;
  contig: boolean;
  state: RmiOpMemState;
}

/** Encode a donate request (block size, count, contiguity, state) as the RMM returns it with RMI_INCOMPLETE. */
export function encodeDonateRequest(r: DonateRequest): bigint {
  return (
    (BigInt(r.sz) << DONATE_REQ.SZ_SHIFT) |
    (BigInt(r.count) << DONATE_REQ.COUNT_SHIFT) |
    ((r.contig ? 1n : 0n) << DONATE_REQ.CONTIG_SHIFT) |
    (BigInt(r.state) << DONATE_REQ.STATE_SHIFT)
  );
}

/** Decode a donate request (inverse of encodeDonateRequest). */
export function decodeDonateRequest(v: bigint): DonateRequest {
  return {
    sz: Number((v >> DONATE_REQ.SZ_SHIFT) & DONATE_REQ.SZ_MASK) as RmiAddrSize,
    count: Number((v >> DONATE_REQ.COUNT_SHIFT) & DONATE_REQ.COUNT_MASK),
    contig: ((v >> DONATE_REQ.CONTIG_SHIFT) & 1n) === 1n,
    state: Number((v >> DONATE_REQ.STATE_SHIFT) & 1n) as RmiOpMemState,
  };
}

/** x0 index bits of RMI_INCOMPLETE: MEMREQ in bits [9:8], CAN_CANCEL in bit 10 (index bits [1:0], [2]). */
export function incompleteIndex(memreq: RmiOpMemReq, canCancel: boolean): number {
  return memreq + (canCancel ? 4 : 0);
}

/** Decode the result data of an RMI_INCOMPLETE x0 (or of its `index` field). */
export function decodeIncomplete(x0OrIndex: bigint | number): { memreq: RmiOpMemReq; canCancel: boolean } {
  const n = typeof x0OrIndex === "bigint" ? Number((x0OrIndex >> 8n) & 0xffn) : x0OrIndex;
  return { memreq: (n % 4) as RmiOpMemReq, canCancel: Math.floor(n / 4) % 2 === 1 };
}

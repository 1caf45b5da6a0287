/**
 * Realm Translation Tables (RTTs): entries, walks, the "skip non-live entries" rule.
 *
 * One RTT is one granule of 512 entries (16 at level -1). Each entry is held as an internal state
 * (the HIPAS/RIPAS pair of TF-RMM lib/s2tt, see s2tt_pvt_defs.h), an address (PA of a DATA
 * granule or block, child RTT PA for a table, host OA for ASSIGNED_NS), and for NS entries the
 * host-controlled attribute bits. Typed arrays: about 11 bytes per entry.
 */
import { S2TTES_PER_S2TT, S2TTES_PER_S2TT_LM1, mapSize } from "../arch/geometry.js";
import { Ripas } from "../arch/ripas.js";

/** Internal RTTE states (TF-RMM s2tt.c naming). */
export enum S2tte {
  UNASSIGNED_EMPTY = 0,
  UNASSIGNED_RAM = 1,
  UNASSIGNED_DESTROYED = 2,
  ASSIGNED_EMPTY = 3,
  ASSIGNED_RAM = 4,
  ASSIGNED_DESTROYED = 5,
  UNASSIGNED_NS = 6,
  ASSIGNED_NS = 7,
  TABLE = 8,
}

export const S2TTE_NAMES = [
  "UNASSIGNED_EMPTY", "UNASSIGNED_RAM", "UNASSIGNED_DESTROYED",
  "ASSIGNED_EMPTY", "ASSIGNED_RAM", "ASSIGNED_DESTROYED",
  "UNASSIGNED_NS", "ASSIGNED_NS", "TABLE",
] as const;

/** RmiRttEntryState (host-visible, RTT_READ_ENTRY x2). */
export enum RmiRttEntryState {
  UNASSIGNED = 0,
  ASSIGNED = 1,
  TABLE = 2,
}

/** RmiRipas (RTT_READ_ENTRY x4, RIPAS change exits): defined in src/arch/ripas.ts. */
export { Ripas, RIPAS_NAMES } from "../arch/ripas.js";

export function isUnassigned(s: S2tte): boolean {
  return s <= S2tte.UNASSIGNED_DESTROYED;
}

export function isAssigned(s: S2tte): boolean {
  return s >= S2tte.ASSIGNED_EMPTY && s <= S2tte.ASSIGNED_DESTROYED;
}

/** s2tt_is_live: an entry that has a PA (table, assigned_*, assigned_ns). */
export function isLive(s: S2tte): boolean {
  return (s >= S2tte.ASSIGNED_EMPTY && s <= S2tte.ASSIGNED_DESTROYED) || s === S2tte.ASSIGNED_NS || s === S2tte.TABLE;
}

/** RIPAS of a protected entry (undefined for NS and TABLE entries). */
export function ripasOf(s: S2tte): Ripas | undefined {
  if (s <= S2tte.ASSIGNED_DESTROYED) return (s % 3) as Ripas;
  return undefined;
}

export function unassignedWith(ripas: Ripas): S2tte {
  return ripas as number as S2tte;
}

export function assignedWith(ripas: Ripas): S2tte {
  return (S2tte.ASSIGNED_EMPTY + ripas) as S2tte;
}

export class Rtt {
  readonly kind: Uint8Array;
  /** PA (number) of the DATA granule/block, child RTT, or host OA; 0 for unassigned. */
  readonly addr: Float64Array;
  /** Host attribute bits of ASSIGNED_NS entries (MemAttr[4:2], S2AP[7:6], SH[9:8]). */
  readonly attr: Uint16Array;
  /** Granule index of the owning realm's RD. */
  rd = -1;

  constructor(
    /** Granule index of this RTT. */
    readonly g: number,
    readonly level: number,
    /** Base IPA covered by this table. */
    readonly base: number,
    fill: S2tte,
  ) {
    const n = level === -1 ? S2TTES_PER_S2TT_LM1 : S2TTES_PER_S2TT;
    this.kind = new Uint8Array(n).fill(fill);
    this.addr = new Float64Array(n);
    this.attr = new Uint16Array(n);
  }

  get entries(): number {
    return this.kind.length;
  }

  /** IPA of entry i. */
  ipaOf(i: number): number {
    return this.base + i * mapSize(this.level);
  }

  /** Index of the entry covering `ipa` (which must lie inside this table). */
  indexOf(ipa: number): number {
    return Math.floor((ipa - this.base) / mapSize(this.level));
  }
}

/**
 * s2tt_skip_non_live_entries: the `top` output of DATA_DESTROY, RTT_DESTROY and
 * RTT_UNMAP_UNPROTECTED. If the entry at `ipa` is live, top = ipa; otherwise the address of the
 * first live entry after it in the same table, or the end of the table.
 * Source: TF-RMM lib/s2tt/src/s2tt.c.
 */
export function skipNonLive(t: Rtt, ipa: number): number {
  const size = mapSize(t.level);
  const i = t.indexOf(ipa);
  if (isLive(t.kind[i]! as S2tte)) return ipa;
  let j = i + 1;
  while (j < t.entries && !isLive(t.kind[j]! as S2tte)) j++;
  const aligned = ipa - ((ipa - t.base) % size);
  return aligned + (j - i) * size;
}

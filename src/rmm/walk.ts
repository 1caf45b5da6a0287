/**
 * The RTT walk: from the realm's root tables down towards `level`, stopping at the first entry
 * that is not a TABLE. Source: TF-RMM lib/s2tt/src/s2tt.c s2tt_walk_lock_unlock.
 */
import { GRANULE_SIZE, S2TTES_PER_S2TT, S2TTES_PER_S2TT_LM1, mapSize } from "../arch/geometry.js";
import type { Realm } from "./realm.js";
import { S2tte, type Rtt } from "./s2tt.js";

/** What a walk reads of the RMM: its RTTs by granule index (the RMM state has them, and so does a vCPU's view). */
export interface RttStore {
  readonly rtts: ReadonlyMap<number, Rtt>;
}

export interface WalkResult {
  /** The table the walk stopped in. */
  table: Rtt;
  /** Its level (the "walk level" RMI_ERROR_RTT reports). */
  level: number;
  /** Index of the entry covering the IPA in `table`. */
  index: number;
}

/** Root table and entry for `ipa` (ipa < 2^s2sz). */
function root(rmm: RttStore, realm: Realm, ipa: number): Rtt {
  const per = (realm.sl === -1 ? S2TTES_PER_S2TT_LM1 : S2TTES_PER_S2TT) * mapSize(realm.sl);
  return rmm.rtts.get(realm.rootRtt(Math.floor(ipa / per)))!;
}

/** Walk to `level` (>= sl); stops early at a non-table entry. */
export function rttWalk(rmm: RttStore, realm: Realm, ipa: number, level: number): WalkResult {
  let t = root(rmm, realm, ipa);
  let l = realm.sl;
  let i = t.indexOf(ipa);
  while (l < level && t.kind[i] === S2tte.TABLE) {
    t = rmm.rtts.get(t.addr[i]! / GRANULE_SIZE)!;
    l++;
    i = t.indexOf(ipa);
  }
  return { table: t, level: l, index: i };
}

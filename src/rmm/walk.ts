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

/**
 * Which RTTs exist and which entries are TABLE (the only thing a walk's path depends on) changes
 * only where a table is linked or unlinked: rtt-ops createChild / applyFold / destroyChild and the
 * root tables of a realm made or removed (commands/realm.ts). Each of those counts here.
 */
let topology = 0;

/** A table was linked into or unlinked from an RTT tree (or a realm's roots came or went). */
export function rttTopologyChanged(): void {
  topology++;
}

/**
 * The non-root table the last walk ended in, with what makes it valid: the same RTT store, realm
 * and topology count, an IPA it covers. The path from the root to it is then the same for every
 * IPA it covers (no table was linked or unlinked since), so a walk for such an IPA to a level at
 * or below it starts there: the same result without the lookups of the levels above (walks of a
 * fault-in fall page after page in one level-3 table).
 */
let cStore: RttStore | undefined;
let cRealm: Realm | undefined;
let cTopology = -1;
let cTable: Rtt | undefined;
let cBase = 0;
let cEnd = 0;

/** Walk to `level` (>= sl); stops early at a non-table entry. */
export function rttWalk(rmm: RttStore, realm: Realm, ipa: number, level: number): WalkResult {
  let t: Rtt;
  let l: number;
  if (rmm === cStore && realm === cRealm && topology === cTopology && ipa >= cBase && ipa < cEnd && level >= cTable!.level) {
    t = cTable!;
    l = t.level;
  } else {
    t = root(rmm, realm, ipa);
    l = realm.sl;
  }
  let i = t.indexOf(ipa);
  while (l < level && t.kind[i] === S2tte.TABLE) {
    t = rmm.rtts.get(t.addr[i]! / GRANULE_SIZE)!;
    l++;
    i = t.indexOf(ipa);
  }
  if (l > realm.sl) {
    cStore = rmm;
    cRealm = realm;
    cTopology = topology;
    cTable = t;
    cBase = t.base;
    cEnd = t.base + t.entries * mapSize(l);
  }
  return { table: t, level: l, index: i };
}

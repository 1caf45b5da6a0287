/**
 * RMM invariants: what must hold between any two RMI calls, whatever the host did.
 * `checkRmmInvariants(rmm)` returns one precise message per violation (empty when all hold).
 *
 * Sources: RMM spec A2.2 (granule states; "a DELEGATED granule holds zeroes"), TF-RMM
 * lib/granule (refcount meaning per state), runtime/rmi/rtt.c (RTT refcount = TABLE entries +
 * protected ASSIGNED entries; an unfolded assigned block gives the child 512), runtime/rmi/realm.c
 * (RD refcount = number of RECs; VMIDs unique), runtime/rmi/rec.c (aux granules of one REC).
 *
 * Cost: proportional to the state (granule-table chunks ever touched, RTT entries, mapped DATA
 * granules), never to the size of the memory map or of the IPA space, so a random test can run
 * it after every call.
 */
import { GRANULE_SIZE, S2TTES_PER_S2TT, S2TT_MIN_BLOCK_LEVEL, S2TT_PAGE_LEVEL, mapSize } from "../arch/geometry.js";
import { Pas, PAS_NAMES } from "../platform/gpt.js";
import { GRANULE_STATE_NAMES, GranuleState } from "./granule.js";
import { REALM_STATE_NAMES, type Realm } from "./realm.js";
import type { Rmm } from "./rmm.js";
import { S2TTE_NAMES, S2tte, isAssigned, isUnassigned, type Rtt } from "./s2tt.js";
import { sroHeldGranules } from "./sro.js";

export interface InvariantOptions {
  /**
   * Require every DELEGATED granule to hold zeroes (default true). TF-RMM v1.0 scrubs on every
   * transition to DELEGATED; TF-RMM main (v2.0) sanitises at UNDELEGATE instead.
   */
  delegatedZero?: boolean;
  /** Stop after this many messages (default 50): one broken table can produce thousands. */
  limit?: number;
}

const pa = (g: number): string => `0x${(g * GRANULE_SIZE).toString(16)}`;
const ipaHex = (ipa: number): string => `0x${ipa.toString(16)}`;
const stateName = (s: number): string => GRANULE_STATE_NAMES[s] ?? `STATE_${s}`;

/** Granule states the RMM owns: their PAS must be Realm (RMM spec A2.2, GPT rules). */
function isRealmOwned(s: GranuleState): boolean {
  return s !== GranuleState.NS;
}

class Violations {
  readonly list: string[] = [];
  constructor(private readonly limit: number) {}
  add(msg: string): void {
    if (this.list.length < this.limit) this.list.push(msg);
    else if (this.list.length === this.limit) this.list.push("... more violations not shown");
  }
  get full(): boolean {
    return this.list.length > this.limit;
  }
}

/** Check every RMM invariant; returns the violations (empty array when all hold). */
export function checkRmmInvariants(rmm: Rmm, opts: InvariantOptions = {}): string[] {
  const v = new Violations(opts.limit ?? 50);
  const delegatedZero = opts.delegatedZero ?? true;
  const { granules } = rmm;
  const { gpt, map, mem } = rmm.machine;

  // --- 1. Granule state <-> PAS, per-state bookkeeping -------------------------------------
  const byState = new Map<GranuleState, number[]>();
  const nonNs = new Set<number>();
  for (const [g, s] of granules.nonNs()) {
    nonNs.add(g);
    let l = byState.get(s);
    if (l === undefined) byState.set(s, (l = []));
    l.push(g);
    const a = g * GRANULE_SIZE;
    if (a >= map.paLimit || !map.isDram(a)) v.add(`granule ${pa(g)}: state ${stateName(s)} but not tracked DRAM`);
    const pas = gpt.get(g);
    if (isRealmOwned(s) && pas !== Pas.REALM) {
      v.add(`granule ${pa(g)}: state ${stateName(s)} but GPT PAS ${PAS_NAMES[pas]} (expected REALM)`);
    }
    if (s === GranuleState.DELEGATED) {
      if (granules.refcount(g) !== 0) v.add(`granule ${pa(g)}: DELEGATED with refcount ${granules.refcount(g)}`);
      if (delegatedZero && !mem.isZero(g)) v.add(`granule ${pa(g)}: DELEGATED but holds non-zero data`);
    }
    if ((s === GranuleState.DATA || s === GranuleState.REC_AUX) && granules.refcount(g) !== 0) {
      v.add(`granule ${pa(g)}: ${stateName(s)} with refcount ${granules.refcount(g)} (expected 0)`);
    }
    if (s === GranuleState.RD && !rmm.realms.has(g)) v.add(`granule ${pa(g)}: state RD but no realm object`);
    if (s === GranuleState.REC && !rmm.recs.has(g)) v.add(`granule ${pa(g)}: state REC but no REC object`);
    if (s === GranuleState.RTT && !rmm.rtts.has(g)) v.add(`granule ${pa(g)}: state RTT but no RTT object`);
  }
  // A granule in the Realm (or Root) PAS must be owned by the RMM; an UNDELEGATED DRAM granule is NS.
  for (const [g, pas] of gpt.changed()) {
    const a = g * GRANULE_SIZE;
    if (!map.isDram(a)) {
      v.add(`granule ${pa(g)}: not DRAM but GPT PAS ${PAS_NAMES[pas]}`);
      continue;
    }
    if (pas !== Pas.NS && !nonNs.has(g)) v.add(`granule ${pa(g)}: state UNDELEGATED but GPT PAS ${PAS_NAMES[pas]}`);
  }
  for (const [g] of rmm.realms) if (granules.state(g) !== GranuleState.RD) v.add(`realm ${pa(g)}: RD granule is ${stateName(granules.state(g))}`);
  for (const [g] of rmm.recs) if (granules.state(g) !== GranuleState.REC) v.add(`REC ${pa(g)}: granule is ${stateName(granules.state(g))}`);
  for (const [g] of rmm.rtts) if (granules.state(g) !== GranuleState.RTT) v.add(`RTT ${pa(g)}: granule is ${stateName(granules.state(g))}`);

  // --- 2. VMIDs: in use = the realms' VMIDs, each once ---------------------------------------
  const seenVmid = new Map<number, number>();
  for (const [g, realm] of rmm.realms) {
    const other = seenVmid.get(realm.vmid);
    if (other !== undefined) v.add(`realm ${pa(g)}: VMID ${realm.vmid} also used by realm ${pa(other)}`);
    seenVmid.set(realm.vmid, g);
    if (!rmm.vmids.has(realm.vmid)) v.add(`realm ${pa(g)}: VMID ${realm.vmid} not marked in use`);
  }
  for (const id of rmm.vmids) if (!seenVmid.has(id)) v.add(`VMID ${id} marked in use but no realm has it`);

  // --- 3. RECs: owner, RD refcount, aux granules ---------------------------------------------
  const recsPerRd = new Map<number, number>();
  const auxOwner = new Map<number, number>();
  for (const [g, rec] of rmm.recs) {
    const realm = rmm.realms.get(rec.rd);
    if (realm === undefined) v.add(`REC ${pa(g)}: owner ${pa(rec.rd)} is not a realm`);
    else if (rec.index >= realm.recCount) v.add(`REC ${pa(g)}: index ${rec.index} >= realm rec_count ${realm.recCount}`);
    recsPerRd.set(rec.rd, (recsPerRd.get(rec.rd) ?? 0) + 1);
    // REC refcount is 1 only while REC_ENTER runs (TF-RMM rec.c); between calls it is 0.
    if (granules.refcount(g) !== 0) v.add(`REC ${pa(g)}: refcount ${granules.refcount(g)} outside REC_ENTER`);
    for (const a of rec.aux) {
      const prev = auxOwner.get(a);
      if (prev !== undefined) v.add(`REC_AUX ${pa(a)}: aux of REC ${pa(prev)} and of REC ${pa(g)}`);
      auxOwner.set(a, g);
      if (granules.state(a) !== GranuleState.REC_AUX) v.add(`REC ${pa(g)}: aux ${pa(a)} is ${stateName(granules.state(a))}`);
    }
  }
  const sroHeld = sroHeldGranules(rmm); // v2.0: aux granules donated to / reclaimed from an in-flight SRO
  for (const a of byState.get(GranuleState.REC_AUX) ?? []) {
    if (!auxOwner.has(a) && !sroHeld.has(a)) v.add(`REC_AUX ${pa(a)}: belongs to no REC`);
  }

  // --- 4. Realms: RD refcount, root RTTs, RTT trees -------------------------------------------
  const reached = new Set<number>();
  const dataRef = new Map<number, { t: Rtt; i: number }>();
  for (const [rd, realm] of rmm.realms) {
    const n = recsPerRd.get(rd) ?? 0;
    if (granules.refcount(rd) !== n) v.add(`realm ${pa(rd)}: RD refcount ${granules.refcount(rd)}, but ${n} REC(s)`);
    if (realm.state > 3) v.add(`realm ${pa(rd)}: bad state ${realm.state}`);
    const perRoot = (realm.sl === -1 ? 16 : S2TTES_PER_S2TT) * mapSize(realm.sl);
    for (let i = 0; i < realm.numRoot; i++) {
      const rg = realm.rootRtt(i);
      const t = rmm.rtts.get(rg);
      if (t === undefined) {
        v.add(`realm ${pa(rd)}: root RTT ${i} at ${pa(rg)} is ${stateName(granules.state(rg))}, not an RTT`);
        continue;
      }
      if (t.level !== realm.sl || t.base !== i * perRoot) {
        v.add(`realm ${pa(rd)}: root RTT ${pa(rg)} has level ${t.level} base ${ipaHex(t.base)} (expected ${realm.sl}, ${ipaHex(i * perRoot)})`);
      }
      checkTable(rmm, realm, t, reached, dataRef, v);
      if (v.full) return v.list;
    }
  }
  for (const [g, t] of rmm.rtts) {
    if (!reached.has(g)) v.add(`RTT ${pa(g)} (level ${t.level}, base ${ipaHex(t.base)}, realm ${pa(t.rd)}): not reachable from its realm's root`);
  }
  for (const g of byState.get(GranuleState.DATA) ?? []) {
    if (!dataRef.has(g)) v.add(`DATA ${pa(g)}: mapped by no RTT entry`);
  }
  return v.list;
}

/** Check one RTT and (recursively) its children: entry kinds, referenced granules, refcount. */
function checkTable(rmm: Rmm, realm: Realm, t: Rtt, reached: Set<number>, dataRef: Map<number, { t: Rtt; i: number }>, v: Violations): void {
  const where = (i: number) => `realm ${pa(realm.rd)} RTT ${pa(t.g)} L${t.level} entry ${i} (IPA ${ipaHex(t.ipaOf(i))})`;
  if (reached.has(t.g)) {
    v.add(`RTT ${pa(t.g)}: referenced by more than one TABLE entry`);
    return;
  }
  reached.add(t.g);
  if (t.rd !== realm.rd) v.add(`RTT ${pa(t.g)}: owner ${pa(t.rd)}, but reached from realm ${pa(realm.rd)}`);
  const size = mapSize(t.level);
  let live = 0;
  for (let i = 0; i < t.entries; i++) {
    const k = t.kind[i]! as S2tte;
    const ipa = t.ipaOf(i);
    const inPar = ipa < realm.parSize;
    if (k > S2tte.TABLE) {
      v.add(`${where(i)}: bad entry kind ${k}`);
      continue;
    }
    // Protected entries live in the PAR, NS entries in the unprotected half (TF-RMM init_s2_starting_level).
    if ((isUnassigned(k) || isAssigned(k)) && !inPar) v.add(`${where(i)}: ${S2TTE_NAMES[k]} outside the PAR`);
    if ((k === S2tte.UNASSIGNED_NS || k === S2tte.ASSIGNED_NS) && inPar) v.add(`${where(i)}: ${S2TTE_NAMES[k]} inside the PAR`);
    if ((isAssigned(k) || k === S2tte.ASSIGNED_NS) && t.level < S2TT_MIN_BLOCK_LEVEL) v.add(`${where(i)}: ${S2TTE_NAMES[k]} block at level ${t.level}`);
    if (isUnassigned(k) || k === S2tte.UNASSIGNED_NS) {
      if (t.addr[i] !== 0) v.add(`${where(i)}: ${S2TTE_NAMES[k]} with address ${ipaHex(t.addr[i]!)}`);
      continue;
    }
    if (k === S2tte.ASSIGNED_NS) {
      if (t.addr[i]! % size !== 0) v.add(`${where(i)}: ASSIGNED_NS OA ${ipaHex(t.addr[i]!)} not aligned to ${size}`);
      continue;
    }
    live++;
    const a = t.addr[i]!;
    if (k === S2tte.TABLE) {
      const cg = a / GRANULE_SIZE;
      const child = Number.isInteger(cg) ? rmm.rtts.get(cg) : undefined;
      if (child === undefined) {
        v.add(`${where(i)}: TABLE -> ${ipaHex(a)}, which is ${Number.isInteger(cg) ? stateName(rmm.granules.state(cg)) : "unaligned"}, not an RTT`);
        continue;
      }
      if (child.level !== t.level + 1 || child.base !== ipa) {
        v.add(`${where(i)}: TABLE -> RTT ${pa(cg)} with level ${child.level} base ${ipaHex(child.base)} (expected ${t.level + 1}, ${ipaHex(ipa)})`);
      }
      if (t.level >= S2TT_PAGE_LEVEL) v.add(`${where(i)}: TABLE at level ${t.level}`);
      checkTable(rmm, realm, child, reached, dataRef, v);
      if (v.full) return;
      continue;
    }
    // Protected ASSIGNED page or block: every granule it covers is DATA, mapped exactly once.
    if (a % size !== 0) v.add(`${where(i)}: ${S2TTE_NAMES[k]} PA ${ipaHex(a)} not aligned to ${size}`);
    const first = Math.floor(a / GRANULE_SIZE);
    const count = size / GRANULE_SIZE;
    for (let j = 0; j < count; j++) {
      const g = first + j;
      const s = rmm.granules.state(g);
      if (s !== GranuleState.DATA) {
        v.add(`${where(i)}: ${S2TTE_NAMES[k]} maps ${pa(g)}, which is ${stateName(s)} (expected DATA)`);
        if (v.full) return;
        continue;
      }
      const prev = dataRef.get(g);
      if (prev !== undefined) v.add(`DATA ${pa(g)}: mapped by RTT ${pa(prev.t.g)} entry ${prev.i} and by ${where(i)}`);
      else dataRef.set(g, { t, i });
    }
  }
  const rc = rmm.granules.refcount(t.g);
  if (rc !== live) v.add(`RTT ${pa(t.g)} (realm ${pa(realm.rd)}, L${t.level}, base ${ipaHex(t.base)}, ${REALM_STATE_NAMES[realm.state] ?? realm.state}): refcount ${rc}, but ${live} TABLE/ASSIGNED entries`);
}

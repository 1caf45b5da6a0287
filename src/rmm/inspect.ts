/**
 * Read-only views of a realm's RTTs as the RMM holds them, as plain data: the whole tree (with
 * runs of alike entries collapsed so that a large realm stays small) and the path one walk takes.
 * These feed `vm.rtt()`, the REPL `rtt` command and the notebook views. Nothing here changes
 * state or allocates in proportion to the IPA space: cost follows the tables that exist.
 *
 * Names are the spec's: RTTE states UNASSIGNED / ASSIGNED / TABLE in the protected half and
 * UNASSIGNED_NS / ASSIGNED_NS in the unprotected half; RIPAS EMPTY / RAM / DESTROYED.
 */
import { GRANULE_SIZE, mapSize } from "../arch/geometry.js";
import type { Realm } from "./realm.js";
import type { Rmm } from "./rmm.js";
import { nsDescOf } from "./rtt-ops.js";
import { RIPAS_NAMES, S2tte, type Rtt } from "./s2tt.js";

export type RttEntryStateName = "UNASSIGNED" | "ASSIGNED" | "TABLE" | "UNASSIGNED_NS" | "ASSIGNED_NS";
export type RipasName = (typeof RIPAS_NAMES)[number];

/** One entry, or a run of `count` alike entries of one table. */
export interface RttTreeEntry {
  /** Index of the (first) entry in its table. */
  index: number;
  /** Entries in this run (1 when not collapsed). */
  count: number;
  level: number;
  /** IPA of the first entry. */
  ipa: bigint;
  /** Bytes covered by the run (count x the level's map size). */
  size: bigint;
  state: RttEntryStateName;
  /** Protected entries only. */
  ripas?: RipasName;
  /** ASSIGNED: PA of the first entry (a run is contiguous from it). TABLE: the child RTT's PA. ASSIGNED_NS: the OA. */
  pa?: bigint;
  /** ASSIGNED_NS: the host descriptor of the first entry, as RTT_READ_ENTRY returns it. */
  desc?: bigint;
  /** TABLE: the child table (absent past `maxLevel` or outside the range asked for). */
  table?: RttTreeTable;
}

export interface RttTreeTable {
  /** PA of the RTT granule. */
  pa: bigint;
  level: number;
  /** First IPA the table covers. */
  base: bigint;
  /** Bytes the table covers. */
  size: bigint;
  /** RMM refcount of the RTT granule (TABLE + protected ASSIGNED entries). */
  refcount: number;
  entries: RttTreeEntry[];
}

export interface RttTree {
  rd: bigint;
  s2sz: number;
  /** Start level (rtt_level_start) and number of concatenated root tables. */
  sl: number;
  numRoot: number;
  lpa2: boolean;
  /** First unprotected IPA (the PAR is [0, this)). */
  parSize: bigint;
  roots: RttTreeTable[];
  /** Totals over the tables visited. */
  stats: RttTreeStats;
}

export interface RttTreeStats {
  /** RTTs per level (the roots included). */
  tables: Record<number, number>;
  /** Bytes mapped ASSIGNED (protected) and ASSIGNED_NS (unprotected), per RIPAS for protected. */
  assigned: { EMPTY: bigint; RAM: bigint; DESTROYED: bigint };
  assignedNs: bigint;
}

export interface RttTreeOptions {
  /** Only show entries overlapping [base, top). */
  base?: bigint;
  top?: bigint;
  /** Do not descend below this level (default 3: everything). */
  maxLevel?: number;
  /** Collapse runs of alike entries (default true). Live runs collapse only when contiguous. */
  collapse?: boolean;
}

function stateName(k: S2tte): RttEntryStateName {
  switch (k) {
    case S2tte.TABLE:
      return "TABLE";
    case S2tte.UNASSIGNED_NS:
      return "UNASSIGNED_NS";
    case S2tte.ASSIGNED_NS:
      return "ASSIGNED_NS";
    default:
      return k <= S2tte.UNASSIGNED_DESTROYED ? "UNASSIGNED" : "ASSIGNED";
  }
}

/**
 * What entry i of table t holds, written into `o` in this order: spec state name, RIPAS
 * (protected entries), PA (ASSIGNED: the page/block; TABLE: the child RTT; ASSIGNED_NS: the OA)
 * and the host descriptor (ASSIGNED_NS, as RTT_READ_ENTRY returns it). Returns the entry kind.
 */
function describeEntry(o: { state: RttEntryStateName; ripas?: RipasName; pa?: bigint; desc?: bigint }, t: Rtt, i: number, lpa2: boolean): S2tte {
  const k = t.kind[i]! as S2tte;
  o.state = stateName(k);
  if (k <= S2tte.ASSIGNED_DESTROYED) o.ripas = RIPAS_NAMES[k % 3]!;
  if (k !== S2tte.UNASSIGNED_NS && k > S2tte.UNASSIGNED_DESTROYED) o.pa = BigInt(t.addr[i]!);
  if (k === S2tte.ASSIGNED_NS) o.desc = nsDescOf(t.addr[i]!, t.attr[i]!, lpa2);
  return k;
}

/** Entry j continues the run that starts at entry i (same state; contiguous PA/OA and same attributes when live). */
function continuesRun(t: Rtt, i: number, j: number): boolean {
  const k = t.kind[i]! as S2tte;
  if (t.kind[j] !== k || k === S2tte.TABLE) return false;
  if (k === S2tte.ASSIGNED_NS || (k >= S2tte.ASSIGNED_EMPTY && k <= S2tte.ASSIGNED_DESTROYED)) {
    return t.addr[j] === t.addr[i]! + (j - i) * mapSize(t.level) && t.attr[j] === t.attr[i];
  }
  return true;
}

function resolveRealm(rmm: Rmm, realm: Realm | bigint): Realm {
  if (typeof realm !== "bigint") return realm;
  const r = rmm.realms.get(Number(realm / BigInt(GRANULE_SIZE)));
  if (r === undefined || realm % BigInt(GRANULE_SIZE) !== 0n) throw new RangeError(`rttTree: no realm with RD 0x${realm.toString(16)}`);
  return r;
}

/**
 * The realm's RTT tree as plain data. `realm` is the RMM's Realm or the RD's PA.
 * Example: `rttTree(p.rmm, rd, {base: 0n, top: 1n << 30n, maxLevel: 2})`.
 */
export function rttTree(rmm: Rmm, realmOrRd: Realm | bigint, opts: RttTreeOptions = {}): RttTree {
  const realm = resolveRealm(rmm, realmOrRd);
  const lo = opts.base === undefined ? 0 : Number(opts.base);
  const hi = opts.top === undefined ? realm.ipaSize : Math.min(Number(opts.top), realm.ipaSize);
  const maxLevel = opts.maxLevel ?? 3;
  const collapse = opts.collapse ?? true;
  const stats: RttTreeStats = { tables: {}, assigned: { EMPTY: 0n, RAM: 0n, DESTROYED: 0n }, assignedNs: 0n };

  const visit = (t: Rtt): RttTreeTable => {
    stats.tables[t.level] = (stats.tables[t.level] ?? 0) + 1;
    const size = mapSize(t.level);
    const out: RttTreeTable = {
      pa: BigInt(t.g * GRANULE_SIZE),
      level: t.level,
      base: BigInt(t.base),
      size: BigInt(size * t.entries),
      refcount: rmm.granules.refcount(t.g),
      entries: [],
    };
    const first = Math.max(0, Math.floor((lo - t.base) / size));
    const last = Math.min(t.entries, Math.ceil((hi - t.base) / size));
    for (let i = first; i < last;) {
      let j = i + 1;
      if (collapse) while (j < last && continuesRun(t, i, j)) j++;
      const count = j - i;
      const e: RttTreeEntry = {
        index: i,
        count,
        level: t.level,
        ipa: BigInt(t.ipaOf(i)),
        size: BigInt(size * count),
        state: "UNASSIGNED",
      };
      const k = describeEntry(e, t, i, realm.lpa2);
      if (k >= S2tte.ASSIGNED_EMPTY && k <= S2tte.ASSIGNED_DESTROYED) {
        stats.assigned[e.ripas!] += e.size;
      } else if (k === S2tte.ASSIGNED_NS) {
        stats.assignedNs += e.size;
      } else if (k === S2tte.TABLE) {
        if (t.level + 1 <= maxLevel) {
          const child = rmm.rtts.get(t.addr[i]! / GRANULE_SIZE);
          if (child !== undefined) e.table = visit(child);
        }
      }
      out.entries.push(e);
      i = j;
    }
    return out;
  };

  const roots: RttTreeTable[] = [];
  for (let r = 0; r < realm.numRoot; r++) {
    const t = rmm.rtts.get(realm.rootRtt(r));
    if (t === undefined) continue;
    const span = mapSize(t.level) * t.entries;
    if (t.base + span <= lo || t.base >= hi) continue;
    roots.push(visit(t));
  }
  return {
    rd: BigInt(realm.rd * GRANULE_SIZE),
    s2sz: realm.s2sz,
    sl: realm.sl,
    numRoot: realm.numRoot,
    lpa2: realm.lpa2,
    parSize: BigInt(realm.parSize),
    roots,
    stats,
  };
}

/** One step of a walk: the entry the walk read in one table. */
export interface RttWalkStep {
  level: number;
  /** PA of the RTT read at this step. */
  rtt: bigint;
  /** Index of the entry in that RTT, and the IPA range it covers. */
  index: number;
  ipa: bigint;
  size: bigint;
  state: RttEntryStateName;
  ripas?: RipasName;
  /** ASSIGNED: PA of the page/block (add `ipa offset` for the byte); TABLE: next RTT; ASSIGNED_NS: OA. */
  pa?: bigint;
  desc?: bigint;
}

/**
 * The entries a walk for `ipa` visits, from the root down to the first entry that is not a
 * TABLE (or the level 3 entry). The last step is what RTT_READ_ENTRY(ipa, 3) reports.
 */
export function rttWalkPath(rmm: Rmm, realmOrRd: Realm | bigint, ipa: bigint): RttWalkStep[] {
  const realm = resolveRealm(rmm, realmOrRd);
  if (ipa < 0n || ipa >= BigInt(realm.ipaSize)) throw new RangeError(`rttWalkPath: ipa 0x${ipa.toString(16)} is outside the realm's IPA space (2^${realm.s2sz})`);
  const a = Number(ipa);
  const perRoot = mapSize(realm.sl) * (realm.sl === -1 ? 16 : 512);
  let t: Rtt | undefined = rmm.rtts.get(realm.rootRtt(Math.floor(a / perRoot)));
  const steps: RttWalkStep[] = [];
  while (t !== undefined) {
    const i = t.indexOf(a);
    const s: RttWalkStep = {
      level: t.level,
      rtt: BigInt(t.g * GRANULE_SIZE),
      index: i,
      ipa: BigInt(t.ipaOf(i)),
      size: BigInt(mapSize(t.level)),
      state: "UNASSIGNED",
    };
    const k = describeEntry(s, t, i, realm.lpa2);
    steps.push(s);
    t = k === S2tte.TABLE ? rmm.rtts.get(t.addr[i]! / GRANULE_SIZE) : undefined;
  }
  return steps;
}

const UNITS: [number, string][] = [[2 ** 50, "P"], [2 ** 40, "T"], [2 ** 30, "G"], [2 ** 20, "M"], [2 ** 10, "K"]];

/** A byte count in the largest binary unit that divides it exactly (4K, 2M, 512G, ...), else hex. */
export function formatSize(n: bigint): string {
  const v = Number(n);
  for (const [u, name] of UNITS) if (v >= u && v % u === 0) return `${v / u}${name}`;
  return `0x${n.toString(16)}`;
}

function describe(e: RttTreeEntry | RttWalkStep): string {
  let s = e.state;
  if (e.ripas !== undefined) s += `/${e.ripas}`;
  if (e.state === "TABLE") s += ` -> RTT 0x${e.pa!.toString(16)}`;
  else if (e.state === "ASSIGNED") s += ` pa 0x${e.pa!.toString(16)}`;
  else if (e.state === "ASSIGNED_NS") s += ` desc 0x${e.desc!.toString(16)}`;
  return s;
}

/** The tree as indented text, one line per table and per entry run. */
export function formatRttTree(tree: RttTree): string[] {
  const lines: string[] = [
    `realm rd 0x${tree.rd.toString(16)}: s2sz ${tree.s2sz}, start level ${tree.sl}, ${tree.numRoot} root RTT(s)${tree.lpa2 ? ", LPA2" : ""}; PAR [0, 0x${tree.parSize.toString(16)})`,
  ];
  const table = (t: RttTreeTable, depth: number) => {
    const pad = "  ".repeat(depth);
    lines.push(`${pad}L${t.level} RTT 0x${t.pa.toString(16)} [0x${t.base.toString(16)}, 0x${(t.base + t.size).toString(16)}) refcount ${t.refcount}`);
    for (const e of t.entries) {
      const idx = e.count === 1 ? `[${e.index}]` : `[${e.index}..${e.index + e.count - 1}]`;
      lines.push(`${pad}  ${idx} 0x${e.ipa.toString(16)} +${formatSize(e.size)} ${describe(e)}`);
      if (e.table !== undefined) table(e.table, depth + 2);
    }
  };
  for (const r of tree.roots) table(r, 1);
  return lines;
}

/** A walk path as text, one line per level. */
export function formatRttWalkPath(steps: readonly RttWalkStep[]): string[] {
  return steps.map((s) => `L${s.level} RTT 0x${s.rtt.toString(16)}[${s.index}] 0x${s.ipa.toString(16)} +${formatSize(s.size)} ${describe(s)}`);
}

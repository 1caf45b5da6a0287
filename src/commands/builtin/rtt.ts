/**
 * `rtt [IPA] [--level L] [--depth D]`: the current realm's RTT tree as the RMM holds it (entry
 * states, RIPAS, PAs; identical non-live runs collapsed), or the one walk that resolves IPA.
 * Data from `vm.rtt()`; geometry per RMM spec A2.2 (an entry at level L maps 4 KiB * 512^(3-L)).
 */
import type { Session } from "../session.js";
import { UsageError, type CommandSpec } from "../spec.js";
import { hex } from "../values.js";

export interface RttEntryData {
  index: number;
  ipa: bigint | string;
  state: string;
  ripas?: string;
  pa?: bigint | string;
  count?: number;
}

export interface RttTableData {
  level: number;
  base: bigint | string;
  pa: bigint | string;
  entries: RttEntryData[];
  children: RttTableData[];
}

/** Bytes an entry at `level` maps. */
export function entrySize(level: number): bigint {
  return 4096n * 512n ** BigInt(3 - level);
}

const big = (v: bigint | string): bigint => (typeof v === "bigint" ? v : BigInt(v));

/** The entries a walk of `ipa` visits, root first, down to `stopLevel` (or the leaf). */
export function walkTree(root: RttTableData, ipa: bigint, stopLevel = 3): { level: number; table: bigint; entry: RttEntryData; child?: RttTableData }[] {
  const out: { level: number; table: bigint; entry: RttEntryData; child?: RttTableData }[] = [];
  let t: RttTableData | undefined = root;
  // A concatenated root is a pseudo table with no entries: pick the child covering ipa.
  while (t !== undefined && t.entries.length === 0 && t.children.length > 0) {
    const size: bigint = entrySize(t.children[0]!.level) * 512n;
    t = t.children.find((c: RttTableData) => ipa >= big(c.base) && ipa < big(c.base) + size);
  }
  while (t !== undefined) {
    const size = entrySize(t.level);
    const e: RttEntryData | undefined = t.entries.find((x) => ipa >= big(x.ipa) && ipa < big(x.ipa) + size * BigInt(x.count ?? 1));
    if (e === undefined) break;
    const child = e.state === "TABLE" ? t.children.find((c) => big(c.base) === big(e.ipa)) : undefined;
    out.push({ level: t.level, table: big(t.pa), entry: e, ...(child !== undefined ? { child } : {}) });
    if (child === undefined || t.level >= stopLevel) break;
    t = child;
  }
  return out;
}

export const rttCommand: CommandSpec<Session> = {
  name: "rtt",
  summary: "the realm's RTT tree (entry states, RIPAS, PAs), or the walk of one IPA",
  help:
    "Without IPA: the tree, tables expanded down to --depth levels below the root (default 3);\n" +
    "deeper tables are summarised by entry state. --level L shows only the tables of level L.\n" +
    "With IPA: the entries the walk visits, root first (down to --level L if given).\n" +
    "Runs of identical non-live entries are shown once with their count.",
  args: [{ name: "ipa", kind: "address", optional: true, help: "walk this IPA" }],
  options: [
    { name: "level", kind: "int", meta: "L", help: "only tables of level L (with IPA: stop the walk at L)" },
    { name: "depth", kind: "count", meta: "D", help: "levels below the root to expand (default 3)", min: 0, max: 5 },
  ],
  readOnly: true,
  examples: ["rtt", "rtt 0x80000000", "rtt --level 3", "rtt --depth 1"],
  run(s, a) {
    const r = s.realm();
    const level = a.big("level");
    if (level !== undefined && (level < -1n || level > 3n)) throw new UsageError(`--level ${level}: RTT levels are -1..3`);
    const tree = r.vm.rtt() as RttTableData | undefined;
    if (tree === undefined) return { value: { realm: r.name, tree: null, message: `realm ${r.name} has no RD yet (no RTTs)` }, kind: "message" };
    const ipa = a.big("ipa");
    if (ipa !== undefined) {
      if (ipa >= 1n << BigInt(r.ipaBits)) throw new UsageError(`IPA ${hex(ipa)} is outside the realm's ${r.ipaBits}-bit IPA space`);
      const walk = walkTree(tree, ipa, level === undefined ? 3 : Number(level));
      return {
        value: { realm: r.name, ipa, walk: walk.map((w) => ({ level: w.level, table: w.table, entry: w.entry, ...(w.child ? { next: big(w.child.pa) } : {}) })) },
        kind: "rtt-walk",
      };
    }
    return { value: { realm: r.name, tree, depth: a.num("depth") ?? 3, level: level === undefined ? null : Number(level) }, kind: "rtt" };
  },
};

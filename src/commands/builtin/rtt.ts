/**
 * `rtt [IPA] [--level L] [--depth D]`: the current realm's RTT tree as the RMM holds it (entry
 * states, RIPAS, PAs; identical non-live runs collapsed), or the one walk that resolves IPA.
 * Data from `vm.rtt()` and src/rmm/inspect.ts `rttWalkPath` (the entries RTT_READ_ENTRY would
 * read); geometry per RMM spec A2.2 (an entry at level L maps 4 KiB * 512^(3-L)).
 */
import { rttWalkPath, type RttTreeEntry } from "../../rmm/inspect.js";
import type { CommandContext } from "../context.js";
import { UsageError, type CommandSpec } from "../spec.js";
import { hex } from "../values.js";

export const rttCommand: CommandSpec<CommandContext> = {
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
    const ipa = a.big("ipa");
    if (ipa !== undefined && ipa >= 1n << BigInt(r.ipaBits)) throw new UsageError(`IPA ${hex(ipa)} is outside the realm's ${r.ipaBits}-bit IPA space`);
    // Only the roots first (cheap): the start level decides how deep --depth goes.
    const top = r.vm.rtt({ maxLevel: -2 });
    if (top === undefined) return { value: { realm: r.name, tree: null, message: `realm ${r.name} has no RD yet (no RTTs)` }, kind: "message" };
    if (ipa !== undefined) {
      const stop = level === undefined ? 3 : Number(level);
      const walk = rttWalkPath(r.host.platform.rmm, top.rd, ipa)
        .filter((st) => st.level <= stop)
        .map((st) => {
          const entry: RttTreeEntry = { index: st.index, count: 1, level: st.level, ipa: st.ipa, size: st.size, state: st.state };
          if (st.ripas !== undefined) entry.ripas = st.ripas;
          if (st.pa !== undefined) entry.pa = st.pa;
          if (st.desc !== undefined) entry.desc = st.desc;
          return { level: st.level, table: st.rtt, entry };
        });
      return { value: { realm: r.name, ipa, walk }, kind: "rtt-walk" };
    }
    const depth = a.num("depth") ?? 3;
    // Only the levels the text shows (cost follows what is shown, not the mapped memory): the
    // roots' entries always, and down to the tables at the cut (level sl + depth, at least the
    // roots' children), which render/rtt.ts summarises from their own entries.
    const tree = r.vm.rtt({ maxLevel: level !== undefined ? 3 : Math.min(3, top.sl + Math.max(depth, 1)) })!;
    return { value: { realm: r.name, tree, depth, level: level === undefined ? null : Number(level) }, kind: "rtt" };
  },
};

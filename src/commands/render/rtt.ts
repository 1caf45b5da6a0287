/** Text renderings of the RTT tree and of one walk (values are JSON: addresses as hex strings). */

interface E {
  index: number;
  ipa: string;
  state: string;
  ripas?: string;
  pa?: string;
  count?: number;
}

interface T {
  level: number;
  base: string;
  pa: string;
  entries: E[];
  children: T[];
}

const MAX_LINES = 400;

function entryText(e: E): string {
  const idx = e.count !== undefined && e.count > 1 ? `[${e.index}..${e.index + e.count - 1}]` : `[${e.index}]`;
  const parts = [idx.padEnd(11), e.ipa.padEnd(14), e.state];
  if (e.ripas !== undefined) parts.push(e.ripas);
  if (e.pa !== undefined) parts.push(`${e.state === "TABLE" ? "->" : "pa"} ${e.pa}`);
  return parts.join("  ").trimEnd();
}

function summary(t: T): string {
  const by = new Map<string, number>();
  for (const e of t.entries) {
    const k = e.state + (e.ripas !== undefined ? ` ${e.ripas}` : "");
    by.set(k, (by.get(k) ?? 0) + (e.count ?? 1));
  }
  return [...by].map(([k, n]) => `${n} ${k}`).join(", ");
}

export function renderRttTree(v: { realm: string; tree: T; depth: number; level: number | null }): string {
  const out: string[] = [];
  let more = 0;
  const line = (s: string) => {
    if (out.length < MAX_LINES) out.push(s);
    else more++;
  };
  const rootLevel = v.tree.entries.length === 0 && v.tree.children.length > 0 ? v.tree.children[0]!.level : v.tree.level;
  const visit = (t: T, ind: string) => {
    const depth = t.level - rootLevel;
    if (v.level !== null) {
      if (t.level === v.level) {
        line(`L${t.level} table @${t.pa}  base ${t.base}: ${summary(t)}`);
        for (const e of t.entries) line("  " + entryText(e));
      }
      for (const c of t.children) visit(c, ind);
      return;
    }
    if (depth > v.depth) return;
    if (depth === v.depth && t.children.length + t.entries.length > 0 && depth > 0) {
      line(`${ind}L${t.level} table @${t.pa}  base ${t.base}: ${summary(t)}`);
      return;
    }
    line(`${ind}L${t.level} table @${t.pa}  base ${t.base}`);
    let ci = 0;
    for (const e of t.entries) {
      line(`${ind}  ${entryText(e)}`);
      if (e.state === "TABLE") {
        const c = t.children[ci++];
        if (c !== undefined) visit(c, ind + "    ");
      }
    }
  };
  if (v.tree.entries.length === 0 && v.tree.children.length > 0) {
    line(`${v.tree.children.length} concatenated L${rootLevel} root tables @${v.tree.pa}`);
    for (const c of v.tree.children) visit(c, "");
  } else visit(v.tree, "");
  if (more > 0) out.push(`… ${more} more line${more === 1 ? "" : "s"} (narrow it: rtt IPA, --level L, --depth D)`);
  return `RTT tree of realm ${v.realm}\n` + out.join("\n");
}

export function renderRttWalk(v: { realm: string; ipa: string; walk: { level: number; table: string; entry: E; next?: string }[] }): string {
  const out = [`walk of ${v.ipa} in realm ${v.realm}`];
  for (const w of v.walk) out.push(`  L${w.level} @${w.table}  ${entryText(w.entry)}`);
  if (v.walk.length === 0) out.push("  (no entry covers this IPA)");
  return out.join("\n");
}

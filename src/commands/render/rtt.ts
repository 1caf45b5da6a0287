/** Text renderings of the RTT tree and of one walk (values are JSON: addresses as hex strings). */
import type { RttTree, RttTreeEntry, RttTreeTable } from "../../rmm/inspect.js";
import { sizeToken, type Jsonified } from "../values.js";

type E = Jsonified<RttTreeEntry>;
type T = Jsonified<RttTreeTable>;
type Tree = Jsonified<RttTree>;

const MAX_LINES = 400;

/** `2M`, `4K`, `1G` for sizes in whole units, else hex. */
function sz(hexSize: string): string {
  return sizeToken(BigInt(hexSize));
}

function entryText(e: E): string {
  const idx = e.count > 1 ? `[${e.index}..${e.index + e.count - 1}]` : `[${e.index}]`;
  const parts = [idx.padEnd(11), e.ipa.padEnd(14), `+${sz(e.size)}`.padEnd(6), e.state + (e.ripas !== undefined ? ` ${e.ripas}` : "")];
  if (e.state === "TABLE") parts.push(`-> RTT ${e.pa}`);
  else if (e.state === "ASSIGNED_NS") parts.push(`desc ${e.desc ?? e.pa}`);
  else if (e.pa !== undefined) parts.push(`pa ${e.pa}`);
  return parts.join("  ").trimEnd();
}

function tableHead(t: T): string {
  return `L${t.level} RTT ${t.pa}  [${t.base}, +${sz(t.size)})  refcount ${t.refcount}`;
}

function summary(t: T): string {
  const by = new Map<string, number>();
  for (const e of t.entries) {
    const k = e.state + (e.ripas !== undefined ? ` ${e.ripas}` : "");
    by.set(k, (by.get(k) ?? 0) + e.count);
  }
  return [...by].map(([k, n]) => `${n} ${k}`).join(", ");
}

export function renderRttTree(v: { realm: string; tree: Tree; depth: number; level: number | null }): string {
  const out: string[] = [];
  let more = 0;
  const line = (s: string) => {
    if (out.length < MAX_LINES) out.push(s);
    else more++;
  };
  const tr = v.tree;
  const visit = (t: T, ind: string) => {
    if (v.level !== null) {
      if (t.level === v.level) {
        line(`${tableHead(t)}: ${summary(t)}`);
        for (const e of t.entries) line("  " + entryText(e));
      }
      for (const e of t.entries) if (e.table !== undefined) visit(e.table, ind);
      return;
    }
    if (t.level - tr.sl >= v.depth && t.level > tr.sl) {
      line(`${ind}${tableHead(t)}: ${summary(t)}`);
      return;
    }
    line(`${ind}${tableHead(t)}`);
    for (const e of t.entries) {
      line(`${ind}  ${entryText(e)}`);
      if (e.table !== undefined) visit(e.table, ind + "    ");
    }
  };
  const head = `RTT tree of realm ${v.realm}: RD ${tr.rd}, ${tr.s2sz}-bit IPA, start level ${tr.sl}, ${tr.numRoot} root RTT${tr.numRoot === 1 ? "" : "s"}, protected below ${tr.parSize}`;
  for (const r of tr.roots) visit(r, "");
  if (more > 0) out.push(`… ${more} more line${more === 1 ? "" : "s"} (narrow it: rtt IPA, --level L, --depth D)`);
  return head + "\n" + out.join("\n");
}

export function renderRttWalk(v: { realm: string; ipa: string; walk: { level: number; table: string; entry: E }[] }): string {
  const out = [`walk of ${v.ipa} in realm ${v.realm}`];
  for (const w of v.walk) out.push(`  L${w.level} RTT ${w.table}  ${entryText(w.entry)}`);
  if (v.walk.length === 0) out.push("  (no entry covers this IPA)");
  return out.join("\n");
}

/**
 * RTT tree views: the realm's Realm Translation Tables as the RMM holds them (levels, entry
 * states with their spec names, RIPAS, PAs), as an indented HTML table and a text tree.
 *
 * Renders the plain data of src/rmm/inspect.ts `rttTree()` (what `vm.rtt()` returns). The
 * reader is structural: a table is {level, base/ipa, pa, entries}, an entry is {index or
 * first/last, ipa, state, ripas, pa/desc, table/child}; runs of identical entries come
 * collapsed as ranges, and stay collapsed here.
 */
import { escapeHtml, hexAddr, plain, TABLE_STYLE } from "./format.js";
import { View } from "./mime.js";

export interface RttViewEntry {
  first: number;
  last: number;
  ipa: string;
  state: string;
  ripas: string;
  /** PA of the DATA granule/block or child RTT, or the NS descriptor/OA. */
  pa: string;
  child?: RttViewTable;
}

export interface RttViewTable {
  level: number;
  ipa: string;
  pa: string;
  /** RMM refcount of the RTT granule, when the data has it. */
  refcount?: number;
  entries: RttViewEntry[];
}

export interface RttViewTree {
  title: string;
  roots: RttViewTable[];
}

export interface RttViewOptions {
  title?: string;
  /** Do not descend below this level (the table rows of deeper levels are summarised). */
  maxLevel?: number;
}

type Obj = Record<string, unknown>;

function isObj(x: unknown): x is Obj {
  return x !== null && typeof x === "object" && !Array.isArray(x);
}

function pick(o: Obj, ...keys: string[]): unknown {
  for (const k of keys) if (o[k] !== undefined) return o[k];
  return undefined;
}

function addr(v: unknown): string {
  if (v === undefined || v === null) return "";
  return hexAddr(v);
}

function isTableLike(x: unknown): x is Obj {
  return isObj(x) && typeof x["level"] === "number" && Array.isArray(pick(x, "entries", "rows"));
}

/** Does this value look like an RTT tree (or one table of it)? */
export function isRttTreeLike(x: unknown): boolean {
  if (isTableLike(x)) return true;
  if (Array.isArray(x)) return x.length > 0 && x.every(isTableLike);
  if (!isObj(x)) return false;
  const roots = pick(x, "tables", "roots");
  if (Array.isArray(roots)) return roots.length > 0 && roots.every(isTableLike);
  const root = pick(x, "root", "table");
  return isTableLike(root);
}

function entryRange(e: Obj): [number, number] {
  const idx = e["index"];
  if (Array.isArray(idx) && typeof idx[0] === "number") return [idx[0], typeof idx[1] === "number" ? idx[1] : idx[0]];
  const first = pick(e, "first", "from", "start", "index");
  if (typeof first === "number") {
    const last = pick(e, "last", "to", "end");
    if (typeof last === "number") return [first, last];
    const count = e["count"];
    return [first, typeof count === "number" && count > 0 ? first + count - 1 : first];
  }
  return [0, 0];
}

function normTable(t: Obj, depth: number): RttViewTable {
  if (depth > 8) throw new RangeError("rttView: RTT tree deeper than 8 levels (cycle?)");
  const rows = (pick(t, "entries", "rows") as unknown[]).filter(isObj);
  // Child tables may also come as a separate `children` list (matched to TABLE entries by PA).
  const children = Array.isArray(t["children"]) ? (t["children"] as unknown[]).filter(isTableLike) : [];
  const childByPa = new Map(children.map((c) => [addr(pick(c, "pa", "addr", "rtt")), c]));
  const entries = rows.map((e) => {
    const [first, last] = entryRange(e);
    const child = pick(e, "table", "child", "next", "rtt") ?? (plain(e["state"]) === "TABLE" ? childByPa.get(addr(pick(e, "pa", "addr"))) : undefined);
    const out: RttViewEntry = {
      first,
      last,
      ipa: addr(pick(e, "ipa", "base")),
      state: plain(e["state"]),
      ripas: plain(e["ripas"]),
      pa: addr(pick(e, "pa", "desc", "oa", "addr")),
    };
    if (isTableLike(child)) out.child = normTable(child, depth + 1);
    return out;
  });
  const out: RttViewTable = { level: t["level"] as number, ipa: addr(pick(t, "ipa", "base", "baseIpa")), pa: addr(pick(t, "pa", "addr", "rtt")), entries };
  if (typeof t["refcount"] === "number") out.refcount = t["refcount"];
  return out;
}

/** Read any supported tree shape into the view model. */
export function normalizeRttTree(tree: unknown, opts: RttViewOptions = {}): RttViewTree {
  let roots: Obj[];
  let info: Obj = {};
  if (isTableLike(tree)) {
    // A pseudo-table holding concatenated roots as children (no entries of its own).
    const kids = Array.isArray(tree["children"]) ? (tree["children"] as unknown[]).filter(isTableLike) : [];
    const own = pick(tree, "entries", "rows") as unknown[];
    roots = own.length === 0 && kids.length > 0 ? kids : [tree];
  }
  else if (Array.isArray(tree) && tree.every(isTableLike)) roots = tree as Obj[];
  else if (isObj(tree)) {
    info = tree;
    const r = pick(tree, "tables", "roots");
    const one = pick(tree, "root", "table");
    if (Array.isArray(r) && r.every(isTableLike)) roots = r as Obj[];
    else if (isTableLike(one)) roots = [one];
    else throw new TypeError("rttView: not an RTT tree (expected tables with {level, entries})");
  } else throw new TypeError("rttView: not an RTT tree (expected tables with {level, entries})");
  const parts: string[] = [];
  const rd = pick(info, "rd", "realm");
  if (rd !== undefined && (typeof rd === "bigint" || typeof rd === "number")) parts.push(`RD ${hexAddr(rd)}`);
  const ipaBits = pick(info, "ipaBits", "s2sz");
  if (typeof ipaBits === "number") parts.push(`IPA ${ipaBits} bits`);
  const sl = pick(info, "startLevel", "sl");
  if (typeof sl === "number") parts.push(`start level ${sl}`);
  if (info["lpa2"] === true) parts.push("LPA2");
  if (roots.length > 1) parts.push(`${roots.length} concatenated roots`);
  const title = opts.title ?? ("RTT tree" + (parts.length ? ` (${parts.join(", ")})` : ""));
  return { title, roots: roots.map((r) => normTable(r, 0)) };
}

function tableHead(t: RttViewTable, withIpa: boolean): string {
  let s = `L${t.level} @${t.pa}`;
  if (withIpa && t.ipa) s += ` IPA ${t.ipa}`;
  if (t.refcount !== undefined) s += ` (refcount ${t.refcount})`;
  return s;
}

function idxText(e: RttViewEntry): string {
  return e.first === e.last ? `[${e.first}]` : `[${e.first}..${e.last}]`;
}

function entryText(e: RttViewEntry): string {
  const parts = [idxText(e), e.ipa, e.state];
  if (e.ripas) parts.push(e.ripas);
  if (e.pa) parts.push((e.child ? "-> " : "PA ") + e.pa);
  return parts.filter((p) => p !== "").join("  ");
}

export function rttText(tree: unknown, opts: RttViewOptions = {}): string {
  const t = normalizeRttTree(tree, opts);
  const out: string[] = [t.title];
  const walk = (table: RttViewTable, prefix: string): void => {
    table.entries.forEach((e, i) => {
      const lastOne = i === table.entries.length - 1;
      out.push(prefix + (lastOne ? "└─ " : "├─ ") + entryText(e));
      if (e.child) {
        const childPrefix = prefix + (lastOne ? "   " : "│  ");
        if (opts.maxLevel !== undefined && e.child.level > opts.maxLevel) {
          out.push(childPrefix + `└─ L${e.child.level} table @${e.child.pa} (${e.child.entries.length} rows, not shown)`);
        } else {
          out.push(childPrefix + tableHead(e.child, false));
          walk(e.child, childPrefix);
        }
      }
    });
  };
  for (const r of t.roots) {
    out.push(tableHead(r, true));
    walk(r, "");
  }
  return out.join("\n");
}

const STATE_COLORS: Record<string, string> = {
  TABLE: "#1f4e9c",
  ASSIGNED: "#1b7f3b",
  ASSIGNED_RAM: "#1b7f3b",
  ASSIGNED_EMPTY: "#5a7f1b",
  ASSIGNED_DESTROYED: "#b00020",
  ASSIGNED_NS: "#8a4b00",
  UNASSIGNED_DESTROYED: "#b00020",
};

export function rttHtml(tree: unknown, opts: RttViewOptions = {}): string {
  const t = normalizeRttTree(tree, opts);
  const out: string[] = [
    `<table class="realm-rtt" style="${TABLE_STYLE};font-family:monospace;font-size:90%">`,
    `<caption style="text-align:left;font-weight:bold;font-family:sans-serif">${escapeHtml(t.title)}</caption>`,
    '<thead><tr><th style="text-align:left">level</th><th style="text-align:left">index</th><th style="text-align:left">IPA</th>' +
      '<th style="text-align:left">state</th><th style="text-align:left">RIPAS</th><th style="text-align:left">PA</th></tr></thead><tbody>',
  ];
  const walk = (table: RttViewTable, depth: number): void => {
    out.push(
      `<tr style="background:#f3f3f3"><td colspan="6" style="text-align:left;padding-left:${depth * 1.5}em">` +
        `L${table.level} RTT @${escapeHtml(table.pa)}${table.ipa ? ` (IPA ${escapeHtml(table.ipa)})` : ""}` +
        `${table.refcount !== undefined ? `, refcount ${table.refcount}` : ""}</td></tr>`,
    );
    for (const e of table.entries) {
      const color = STATE_COLORS[e.state] ?? "#555";
      out.push(
        `<tr><td style="text-align:left;padding-left:${depth * 1.5}em">L${table.level}</td>` +
          `<td style="text-align:left">${escapeHtml(idxText(e))}</td><td style="text-align:left">${escapeHtml(e.ipa)}</td>` +
          `<td style="text-align:left;color:${color}">${escapeHtml(e.state)}</td><td style="text-align:left">${escapeHtml(e.ripas)}</td>` +
          `<td style="text-align:left">${escapeHtml(e.pa)}</td></tr>`,
      );
      if (e.child) {
        if (opts.maxLevel !== undefined && e.child.level > opts.maxLevel) continue;
        walk(e.child, depth + 1);
      }
    }
  };
  for (const r of t.roots) walk(r, 0);
  out.push("</tbody></table>");
  return out.join("\n");
}

/** A displayable RTT tree: HTML table with a text tree as fallback. */
export function rttView(tree: unknown, opts: RttViewOptions = {}): View {
  normalizeRttTree(tree, opts); // validate now
  return new View("rtt", () => ({ "text/plain": rttText(tree, opts), "text/html": rttHtml(tree, opts) }));
}

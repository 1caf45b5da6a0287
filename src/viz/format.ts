/**
 * Small formatting helpers for the text and HTML renderers: HTML escaping, hex addresses,
 * aligned text tables. Output is plain, deterministic text (stored notebook outputs are
 * compared byte for byte).
 */

export function escapeHtml(s: string): string {
  return s.replace(/[&<>"']/g, (c) =>
    c === "&" ? "&amp;" : c === "<" ? "&lt;" : c === ">" ? "&gt;" : c === '"' ? "&quot;" : "&#39;",
  );
}

/** `0x…` for an address given as bigint, number or a hex/decimal string. */
export function hexAddr(v: unknown): string {
  if (typeof v === "bigint") return "0x" + v.toString(16);
  if (typeof v === "number" && Number.isFinite(v)) return "0x" + Math.trunc(v).toString(16);
  if (typeof v === "string") return v;
  return "";
}

/** Plain number or bigint -> decimal text; anything else -> String(). */
export function plain(v: unknown): string {
  if (v === undefined || v === null) return "";
  if (typeof v === "bigint" || typeof v === "number" || typeof v === "boolean") return String(v);
  if (typeof v === "string") return v;
  if (Array.isArray(v)) return v.map(plain).join(", ");
  return JSON.stringify(v, (_k, x) => (typeof x === "bigint" ? x.toString() : x));
}

/** Left-aligned text table with a header rule. */
export function textTable(header: readonly string[], rows: readonly (readonly string[])[]): string {
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => (r[i] ?? "").length)));
  const line = (cells: readonly string[]): string =>
    cells
      .map((c, i) => (i === cells.length - 1 ? c : c.padEnd(widths[i]!)))
      .join("  ")
      .trimEnd();
  return [line(header), widths.map((w) => "-".repeat(w)).join("  "), ...rows.map(line)].join("\n");
}

export interface HtmlCell {
  text: string;
  /** Extra inline style (colour of a failure, indentation of a tree level). */
  style?: string;
  /** Render text in a monospace font. */
  mono?: boolean;
  colspan?: number;
}

export type CellLike = string | HtmlCell;

function cellHtml(tag: "td" | "th", c: CellLike, align: "left" | "right" = "left"): string {
  const cell: HtmlCell = typeof c === "string" ? { text: c } : c;
  const style = [cell.mono ? "font-family:monospace" : "", `text-align:${align}`, cell.style ?? ""].filter((s) => s).join(";");
  const span = cell.colspan !== undefined ? ` colspan="${cell.colspan}"` : "";
  return `<${tag}${span} style="${style}">${escapeHtml(cell.text)}</${tag}>`;
}

/** A number as tables show one: decimal (with _ or , separators, a sign, a unit) or 0x hex. */
/** The table style that holds under both the classic Notebook and the JupyterLab stylesheets. */
export const TABLE_STYLE = "border-collapse:collapse;table-layout:auto;margin-left:0;margin-right:auto";

const NUMBER = /^[-+]?(?:\d[\d_,]*(?:\.\d+)?|0x[0-9a-f_]+)(?: ?(?:[KMGT]i?B|%|ms|s))?$/i;

/** Columns whose body cells are all numbers (or empty): those are right-aligned. */
function numericColumns(ncols: number, rows: readonly (readonly CellLike[])[]): boolean[] {
  const out: boolean[] = [];
  for (let i = 0; i < ncols; i++) {
    let seen = false;
    let numeric = true;
    for (const r of rows) {
      const c = r[i];
      if (c === undefined) continue;
      const cell = typeof c === "string" ? { text: c } : c;
      if (cell.colspan !== undefined) continue;
      if (cell.text === "") continue;
      seen = true;
      if (!NUMBER.test(cell.text)) {
        numeric = false;
        break;
      }
    }
    out.push(seen && numeric);
  }
  return out;
}

/**
 * An HTML table (inline styles only: notebook viewers drop <style> blocks): text left, numbers
 * right, each header aligned as its column. The table's own style overrides what the front
 * ends' stylesheets set (classic Notebook: centred, fixed layout, cells right-aligned; JupyterLab:
 * left-aligned), so it looks the same in both.
 */
export function htmlTable(
  header: readonly CellLike[],
  rows: readonly (readonly CellLike[])[],
  opts: { caption?: string; rowStyles?: readonly (string | undefined)[] } = {},
): string {
  const out: string[] = [`<table class="realm-table" style="${TABLE_STYLE}">`];
  if (opts.caption !== undefined) out.push(`<caption style="text-align:left;font-weight:bold">${escapeHtml(opts.caption)}</caption>`);
  const right = numericColumns(header.length, rows);
  const align = (i: number): "left" | "right" => (right[i] === true ? "right" : "left");
  out.push("<thead><tr>" + header.map((h, i) => cellHtml("th", h, align(i))).join("") + "</tr></thead>");
  out.push("<tbody>");
  rows.forEach((r, i) => {
    const rs = opts.rowStyles?.[i];
    out.push(`<tr${rs ? ` style="${rs}"` : ""}>` + r.map((c, j) => cellHtml("td", c, align(j))).join("") + "</tr>");
  });
  out.push("</tbody></table>");
  return out.join("\n");
}

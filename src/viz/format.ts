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

function cellHtml(tag: "td" | "th", c: CellLike): string {
  const cell: HtmlCell = typeof c === "string" ? { text: c } : c;
  const style = [cell.mono ? "font-family:monospace" : "", "text-align:left", cell.style ?? ""].filter((s) => s).join(";");
  const span = cell.colspan !== undefined ? ` colspan="${cell.colspan}"` : "";
  return `<${tag}${span} style="${style}">${escapeHtml(cell.text)}</${tag}>`;
}

/** An HTML table (inline styles only: notebook viewers drop <style> blocks). */
export function htmlTable(
  header: readonly CellLike[],
  rows: readonly (readonly CellLike[])[],
  opts: { caption?: string; rowStyles?: readonly (string | undefined)[] } = {},
): string {
  const out: string[] = ['<table class="realm-table" style="border-collapse:collapse">'];
  if (opts.caption !== undefined) out.push(`<caption style="text-align:left;font-weight:bold">${escapeHtml(opts.caption)}</caption>`);
  out.push("<thead><tr>" + header.map((h) => cellHtml("th", h)).join("") + "</tr></thead>");
  out.push("<tbody>");
  rows.forEach((r, i) => {
    const rs = opts.rowStyles?.[i];
    out.push(`<tr${rs ? ` style="${rs}"` : ""}>` + r.map((c) => cellHtml("td", c)).join("") + "</tr>");
  });
  out.push("</tbody></table>");
  return out.join("\n");
}

/**
 * A line chart in plain text (one glyph per series, scaled to the largest value), for the
 * terminal: `chart` and the REPL's live accounting view. Cost is O(width x series), whatever the
 * number of samples (they are bucketed per column).
 */

export interface ChartSeries {
  name: string;
  values: number[];
}

export interface TextChartOptions {
  width?: number;
  height?: number;
}

const GLYPHS = ["*", "+", "o", "x", "#", "@", "%", "&"];

export function textChart(series: readonly ChartSeries[], opts: TextChartOptions = {}): string {
  const width = Math.max(8, opts.width ?? 60);
  const height = Math.max(3, opts.height ?? 10);
  const shown = series.filter((s) => s.values.length > 0);
  if (shown.length === 0) return "(no samples yet)";
  const n = Math.max(...shown.map((s) => s.values.length));
  let max = 0;
  for (const s of shown) for (const v of s.values) if (v > max) max = v;
  const top = max === 0 ? 1 : max;
  const label = String(top);
  const lw = label.length;
  const cols = Math.min(width, n);
  const grid: string[][] = [];
  for (let r = 0; r < height; r++) grid.push(new Array<string>(cols).fill(" "));
  shown.forEach((s, si) => {
    const g = GLYPHS[si % GLYPHS.length]!;
    for (let c = 0; c < cols; c++) {
      // The last sample of each column's bucket.
      const i = Math.min(s.values.length - 1, Math.floor(((c + 1) * n) / cols) - 1);
      if (i < 0) continue;
      const v = s.values[i]!;
      const row = height - 1 - Math.round((v / top) * (height - 1));
      grid[row]![c] = g;
    }
  });
  const out: string[] = [];
  for (let r = 0; r < height; r++) {
    const y = r === 0 ? label : r === height - 1 ? "0" : "";
    out.push(`${y.padStart(lw)} |${grid[r]!.join("")}`);
  }
  out.push(`${"".padStart(lw)} +${"-".repeat(cols)}`);
  out.push(
    `${"".padStart(lw)}  ${shown.map((s, si) => `${GLYPHS[si % GLYPHS.length]} ${s.name}=${s.values[s.values.length - 1]}`).join("  ")}`,
  );
  return out.join("\n");
}

/**
 * Just enough of Source Map v3 to map a position in the JavaScript a cell runs as back to the
 * cell's TypeScript line: base64 VLQ decoding of `mappings` and a lookup by generated
 * line/column. tslab emits a cell twice (TS -> ES module, then ES module -> CommonJS); the
 * kernel asks for a map at both steps and chains the lookups.
 */

const B64 = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
const B64_INDEX = new Map<string, number>([...B64].map((c, i) => [c, i]));

/** One mapping segment: generated column -> original line/column (all 0-based). */
export interface Segment {
  col: number;
  srcLine: number;
  srcCol: number;
}

export class LineMap {
  /** Segments per generated line (0-based), sorted by generated column. */
  constructor(readonly lines: Segment[][]) {}

  static parse(json: string | { mappings?: unknown }): LineMap {
    const obj = typeof json === "string" ? (JSON.parse(json) as { mappings?: unknown }) : json;
    const mappings = typeof obj.mappings === "string" ? obj.mappings : "";
    return new LineMap(decodeMappings(mappings));
  }

  /**
   * The original position of a generated one (0-based line and column): the segment at or
   * before the column on that line, else the line's first segment.
   */
  lookup(line: number, col: number): { line: number; col: number } | undefined {
    const segs = this.lines[line];
    if (segs === undefined || segs.length === 0) return undefined;
    let best = segs[0]!;
    for (const s of segs) {
      if (s.col <= col) best = s;
      else break;
    }
    return { line: best.srcLine, col: best.srcCol };
  }
}

/** Decode one VLQ group list (`mappings` field). Segments without a source are skipped. */
export function decodeMappings(mappings: string): Segment[][] {
  const lines: Segment[][] = [];
  let srcLine = 0;
  let srcCol = 0;
  let srcIdx = 0;
  let nameIdx = 0;
  for (const lineText of mappings.split(";")) {
    const segs: Segment[] = [];
    let col = 0;
    if (lineText !== "") {
      for (const segText of lineText.split(",")) {
        if (segText === "") continue;
        const f = decodeVlq(segText);
        col += f[0] ?? 0;
        if (f.length >= 4) {
          srcIdx += f[1]!;
          srcLine += f[2]!;
          srcCol += f[3]!;
          if (f.length >= 5) nameIdx += f[4]!;
          segs.push({ col, srcLine, srcCol });
        }
      }
    }
    segs.sort((a, b) => a.col - b.col);
    lines.push(segs);
  }
  void srcIdx;
  void nameIdx;
  return lines;
}

function decodeVlq(s: string): number[] {
  const out: number[] = [];
  let value = 0;
  let shift = 0;
  for (const c of s) {
    const digit = B64_INDEX.get(c);
    if (digit === undefined) throw new Error(`bad base64 VLQ digit ${JSON.stringify(c)}`);
    const cont = digit >= 32;
    value += (digit % 32) * 2 ** shift;
    shift += 5;
    if (!cont) {
      const neg = value % 2 === 1;
      const mag = Math.floor(value / 2);
      out.push(neg ? -mag : mag);
      value = 0;
      shift = 0;
    }
  }
  return out;
}

/** The inline map of `//# sourceMappingURL=data:application/json;base64,...`, if any. */
export function inlineMap(js: string): LineMap | undefined {
  const m = /\/\/# sourceMappingURL=data:application\/json;(?:charset=utf-8;)?base64,([A-Za-z0-9+/=]+)\s*$/m.exec(js);
  if (!m) return undefined;
  return LineMap.parse(Buffer.from(m[1]!, "base64").toString("utf8"));
}

/** Remove sourceMappingURL comment lines (the kernel keeps the maps itself). */
export function stripSourceMapComments(js: string): string {
  return js.replace(/\n?\/\/# sourceMappingURL=[^\n]*/g, "");
}

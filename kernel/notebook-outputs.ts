/**
 * Stored notebook outputs vs. re-executed ones (the notebook runner's reproducibility check).
 *
 * Outputs are normalised before comparison: streams of the same name merged, display_data and
 * execute_result compared by their MIME data (metadata and transient display ids ignored),
 * errors by ename and evalue (tracebacks name file positions inside the package, which move
 * whenever the package changes). PNGs compare equal when identical, or, decoded, when their
 * pixels match within a small tolerance (anti-aliasing can differ across CPUs).
 */
import { createRequire } from "node:module";

export interface NotebookCell {
  cell_type: string;
  source: string | string[];
  execution_count?: number | null;
  outputs?: Record<string, unknown>[];
  metadata?: Record<string, unknown>;
}

export interface Notebook {
  cells: NotebookCell[];
  metadata?: Record<string, unknown>;
}

export type NormalOutput =
  | { type: "stream"; name: string; text: string }
  | { type: "display_data" | "execute_result"; data: Record<string, string> }
  | { type: "error"; ename: string; evalue: string };

function joinText(v: unknown): string {
  if (Array.isArray(v)) return v.map(String).join("");
  return typeof v === "string" ? v : "";
}

export function cellSource(cell: NotebookCell): string {
  return joinText(cell.source);
}

export function normalizeOutputs(outputs: readonly Record<string, unknown>[] | undefined): NormalOutput[] {
  const out: NormalOutput[] = [];
  for (const o of outputs ?? []) {
    const t = o["output_type"];
    if (t === "stream") {
      const name = String(o["name"] ?? "stdout");
      const text = joinText(o["text"]);
      const prev = out[out.length - 1];
      if (prev !== undefined && prev.type === "stream" && prev.name === name) prev.text += text;
      else out.push({ type: "stream", name, text });
    } else if (t === "display_data" || t === "execute_result") {
      const data: Record<string, string> = {};
      const raw = (o["data"] ?? {}) as Record<string, unknown>;
      for (const k of Object.keys(raw).sort()) {
        const v = joinText(raw[k]);
        data[k] = k.startsWith("image/") ? v.replace(/\s+/g, "") : v.replace(/\s+$/, "");
      }
      out.push({ type: t, data });
    } else if (t === "error") {
      out.push({ type: "error", ename: String(o["ename"] ?? ""), evalue: String(o["evalue"] ?? "") });
    }
  }
  return out;
}

export interface CellDiff {
  cell: number;
  source: string;
  message: string;
}

export type PngEqual = (a: string, b: string) => Promise<boolean>;

/** Decoded-pixel comparison of two base64 PNGs (same size; at most 0.2% of pixels differ). */
export async function pngPixelsClose(a: string, b: string): Promise<boolean> {
  if (a === b) return true;
  const req = createRequire(import.meta.url);
  const canvas = req("@napi-rs/canvas") as {
    loadImage(src: Buffer): Promise<{ width: number; height: number }>;
    createCanvas(w: number, h: number): { getContext(t: "2d"): { drawImage(i: unknown, x: number, y: number): void; getImageData(x: number, y: number, w: number, h: number): { data: Uint8ClampedArray } } };
  };
  const [ia, ib] = await Promise.all([canvas.loadImage(Buffer.from(a, "base64")), canvas.loadImage(Buffer.from(b, "base64"))]);
  if (ia.width !== ib.width || ia.height !== ib.height) return false;
  const px = (img: unknown, w: number, h: number): Uint8ClampedArray => {
    const c = canvas.createCanvas(w, h).getContext("2d");
    c.drawImage(img, 0, 0);
    return c.getImageData(0, 0, w, h).data;
  };
  const da = px(ia, ia.width, ia.height);
  const db = px(ib, ib.width, ib.height);
  let differing = 0;
  for (let i = 0; i < da.length; i += 4) {
    if (Math.abs(da[i]! - db[i]!) > 8 || Math.abs(da[i + 1]! - db[i + 1]!) > 8 || Math.abs(da[i + 2]! - db[i + 2]!) > 8 || Math.abs(da[i + 3]! - db[i + 3]!) > 8) differing++;
  }
  return differing <= Math.floor((ia.width * ia.height) / 500);
}

function preview(s: string, n = 160): string {
  const one = s.replace(/\n/g, "\\n");
  return one.length > n ? one.slice(0, n) + "…" : one;
}

async function outputDiff(a: NormalOutput, b: NormalOutput, pngEqual: PngEqual): Promise<string | undefined> {
  if (a.type !== b.type) return `output type ${a.type} stored, ${b.type} now`;
  if (a.type === "stream" && b.type === "stream") {
    if (a.name !== b.name) return `stream ${a.name} stored, ${b.name} now`;
    if (a.text !== b.text) return `${a.name} differs:\n  stored: ${preview(a.text)}\n  now:    ${preview(b.text)}`;
    return undefined;
  }
  if (a.type === "error" && b.type === "error") {
    if (a.ename !== b.ename || a.evalue !== b.evalue) return `error differs: stored ${a.ename}: ${a.evalue}; now ${b.ename}: ${b.evalue}`;
    return undefined;
  }
  if ((a.type === "display_data" || a.type === "execute_result") && (b.type === "display_data" || b.type === "execute_result")) {
    const ka = Object.keys(a.data).join(",");
    const kb = Object.keys(b.data).join(",");
    if (ka !== kb) return `MIME types differ: stored [${ka}], now [${kb}]`;
    for (const k of Object.keys(a.data)) {
      const x = a.data[k]!;
      const y = b.data[k]!;
      if (x === y) continue;
      if (k === "image/png" && (await pngEqual(x, y))) continue;
      return `${k} differs:\n  stored: ${preview(x)}\n  now:    ${preview(y)}`;
    }
  }
  return undefined;
}

/** Differences between stored and re-executed outputs, per code cell. */
export async function compareNotebooks(stored: Notebook, executed: Notebook, pngEqual: PngEqual = pngPixelsClose): Promise<CellDiff[]> {
  const diffs: CellDiff[] = [];
  if (stored.cells.length !== executed.cells.length) {
    diffs.push({ cell: -1, source: "", message: `cell count differs: ${stored.cells.length} stored, ${executed.cells.length} executed` });
    return diffs;
  }
  const anyStored = stored.cells.some((c) => c.cell_type === "code" && (c.outputs?.length ?? 0) > 0);
  const anyNow = executed.cells.some((c) => c.cell_type === "code" && (c.outputs?.length ?? 0) > 0);
  if (!anyStored && anyNow) {
    diffs.push({ cell: -1, source: "", message: "the notebook has no stored outputs (run scripts/run-notebooks.mjs --update to store them)" });
    return diffs;
  }
  for (let i = 0; i < stored.cells.length; i++) {
    const s = stored.cells[i]!;
    const e = executed.cells[i]!;
    if (s.cell_type !== "code") continue;
    const source = cellSource(s);
    if ((s.execution_count ?? null) !== (e.execution_count ?? null)) {
      diffs.push({ cell: i, source, message: `execution_count ${String(s.execution_count)} stored, ${String(e.execution_count)} now` });
    }
    const a = normalizeOutputs(s.outputs);
    const b = normalizeOutputs(e.outputs);
    if (a.length !== b.length) {
      diffs.push({ cell: i, source, message: `${a.length} outputs stored, ${b.length} now (${b.map((o) => o.type).join(", ")})` });
      continue;
    }
    for (let k = 0; k < a.length; k++) {
      const d = await outputDiff(a[k]!, b[k]!, pngEqual);
      if (d !== undefined) {
        diffs.push({ cell: i, source, message: `output ${k}: ${d}` });
        break;
      }
    }
  }
  return diffs;
}

/**
 * A campaign's result document, streamed: a header line, one line per point (in point order), and
 * the summary computed from the points as they pass (memory flat in the number of points):
 *
 *   {"format":"cca-realm-sim/explore","version":1,"campaign":{...},"id":"...","shard":null,"postings":[...],"points":[
 *   {...point...},
 *   ...
 *   ],
 *   "summary":{...}}
 *
 * A shard writes the same document for its slice (shard "i/N"); merging all N shards gives
 * exactly the document of the single run.
 */
import { createHash } from "node:crypto";
import { OUTCOMES, siteOf, type Baseline, type CampaignSpec, type Outcome, type PointResult } from "./campaign.js";

export const RESULT_FORMAT = "cca-realm-sim/explore";
export const RESULT_VERSION = 1;

export interface Shard {
  index: number;
  count: number;
}

/** "i/N" (1 <= i <= N) -> Shard; throws naming the spec. */
export function parseShard(s: string): Shard {
  const m = /^(\d{1,6})\/(\d{1,6})$/.exec(String(s));
  if (m === null) throw new RangeError(`explore: bad shard '${s}' (expected i/N, e.g. 1/4)`);
  const index = Number(m[1]);
  const count = Number(m[2]);
  if (count < 1 || index < 1 || index > count) throw new RangeError(`explore: bad shard '${s}': i must be in 1..N (N >= 1)`);
  return { index, count };
}

/** Per posting: the run without failures and how many points it has. */
export interface PostingInfo {
  series: string;
  points: number;
  baseline: Omit<Baseline, "warns" | "violations"> & { warns: number; violations: string[] };
}

export interface ResultHeader {
  format: typeof RESULT_FORMAT;
  version: number;
  campaign: CampaignSpec;
  /** Hash of the campaign and the recording runs: shards of one campaign share it. */
  id: string;
  shard: string | null;
  postings: PostingInfo[];
}

export function makeHeader(spec: CampaignSpec, postings: PostingInfo[], shard: Shard | undefined): ResultHeader {
  const id = createHash("sha256").update(JSON.stringify({ spec, postings, v: RESULT_VERSION })).digest("hex").slice(0, 16);
  return { format: RESULT_FORMAT, version: RESULT_VERSION, campaign: spec, id, shard: shard === undefined ? null : `${shard.index}/${shard.count}`, postings };
}

/** A point as written: its global index first. */
export type PointLine = { i: number } & PointResult;

export interface SiteChange {
  site: string;
  from: Outcome;
  to: Outcome;
}

export interface Summary {
  /** False when the run was stopped (Ctrl-C) before every point of its slice ran. */
  complete: boolean;
  points: number;
  /** Per posting: points per outcome. */
  outcomes: Record<string, Record<Outcome, number>>;
  /** Per posting: site -> outcome -> count (a site is a step and a kind of failure, over all occurrences). */
  matrix: Record<string, Record<string, Partial<Record<Outcome, number>>>>;
  /** Per posting: the functions of first WARNs, with counts. */
  warns: Record<string, Record<string, number>>;
  /** Between consecutive postings, sites whose worst outcome changed: fixed (better) or broke (worse). */
  diff: { from: string; to: string; fixed: SiteChange[]; broke: SiteChange[] }[];
}

const RANK = new Map<Outcome, number>(OUTCOMES.map((o, i) => [o, i]));

/** The summary, accumulated point by point. */
export class SummaryBuilder {
  private readonly outcomes: Summary["outcomes"] = {};
  private readonly matrix: Summary["matrix"] = {};
  private readonly warns: Summary["warns"] = {};
  private n = 0;

  constructor(private readonly series: readonly string[]) {
    for (const s of series) {
      this.outcomes[s] = Object.fromEntries(OUTCOMES.map((o) => [o, 0])) as Record<Outcome, number>;
      this.matrix[s] = {};
      this.warns[s] = {};
    }
  }

  add(p: PointResult): void {
    this.n++;
    const o = this.outcomes[p.series]!;
    o[p.outcome]++;
    const site = siteOf(p);
    const row = (this.matrix[p.series]![site] ??= {});
    row[p.outcome] = (row[p.outcome] ?? 0) + 1;
    if (p.warn !== null) this.warns[p.series]![p.warn] = (this.warns[p.series]![p.warn] ?? 0) + 1;
  }

  /** The summary so far (sorted keys: the same points give the same bytes in any arrival order). */
  build(complete: boolean): Summary {
    const sortKeys = <T>(r: Record<string, T>): Record<string, T> => Object.fromEntries(Object.keys(r).sort().map((k) => [k, r[k]!]));
    const matrix: Summary["matrix"] = {};
    const warns: Summary["warns"] = {};
    for (const s of this.series) {
      matrix[s] = sortKeys(this.matrix[s]!);
      warns[s] = sortKeys(this.warns[s]!);
    }
    const diff: Summary["diff"] = [];
    for (let i = 1; i < this.series.length; i++) {
      const a = this.series[i - 1]!;
      const b = this.series[i]!;
      const fixed: SiteChange[] = [];
      const broke: SiteChange[] = [];
      for (const site of Object.keys(matrix[a]!)) {
        const rb = matrix[b]![site];
        if (rb === undefined) continue;
        const wa = worst(matrix[a]![site]!);
        const wb = worst(rb);
        if (wa === wb) continue;
        (RANK.get(wb)! < RANK.get(wa)! ? fixed : broke).push({ site, from: wa, to: wb });
      }
      diff.push({ from: a, to: b, fixed, broke });
    }
    return { complete, points: this.n, outcomes: this.outcomes, matrix, warns, diff };
  }
}

/** The worst outcome of a matrix row. */
export function worst(row: Partial<Record<Outcome, number>>): Outcome {
  let w: Outcome = "clean";
  for (const o of OUTCOMES) if ((row[o] ?? 0) > 0) w = o;
  return w;
}

/** Writes a result document as it streams: header, points in order, summary. */
export class ResultWriter {
  private first = true;
  readonly summary: SummaryBuilder;

  constructor(private readonly sink: (chunk: string) => void, readonly header: ResultHeader) {
    this.summary = new SummaryBuilder(header.campaign.series);
    const h = JSON.stringify(header);
    sink(`${h.slice(0, -1)},"points":[\n`);
  }

  point(p: PointLine): void {
    this.summary.add(p);
    this.sink(`${this.first ? "" : ",\n"}${JSON.stringify(p)}`);
    this.first = false;
  }

  end(complete: boolean): Summary {
    const s = this.summary.build(complete);
    this.sink(`${this.first ? "" : "\n"}],\n"summary":${JSON.stringify(s)}}\n`);
    return s;
  }
}

/** Read a result document line by line: header, then each point (flat memory), then the summary. */
export async function* readResult(lines: AsyncIterable<string>, name: string): AsyncGenerator<{ header: ResultHeader } | { point: PointLine } | { summary: Summary }> {
  let state = 0;
  for await (const raw of lines) {
    const line = raw.replace(/,$/, "");
    if (line === "") continue;
    try {
      if (state === 0) {
        if (!line.endsWith(',"points":[') && !line.endsWith('"points":[')) throw new Error("no header");
        const h = JSON.parse(`${line.replace(/,?\s*"points":\[$/, "")}}`) as ResultHeader;
        if (h.format !== RESULT_FORMAT) throw new Error(`format ${JSON.stringify(h.format)}`);
        if (h.version !== RESULT_VERSION) throw new Error(`version ${h.version} (this build reads ${RESULT_VERSION})`);
        state = 1;
        yield { header: h };
      } else if (state === 1) {
        if (line === "]") {
          state = 2;
          continue;
        }
        yield { point: JSON.parse(line) as PointLine };
      } else if (state === 2) {
        if (!line.startsWith('"summary":')) throw new Error("no summary");
        yield { summary: (JSON.parse(`{${line}`) as { summary: Summary }).summary };
        state = 3;
      }
    } catch (e) {
      throw new Error(`explore merge: ${name} is not an explore result: ${e instanceof Error ? e.message : String(e)}`);
    }
  }
  if (state !== 3) throw new Error(`explore merge: ${name} is truncated (no summary)`);
}

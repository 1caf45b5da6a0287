/**
 * `realm explore merge FILE...`: join the N shard results of one campaign into the document the
 * single run writes, byte for byte. Every file's header is checked first (same campaign, shards
 * 1..N of one N, each once); points are merged in index order, streaming.
 */
import { readResult, ResultWriter, type PointLine, type ResultHeader, type Summary } from "./result.js";

export interface ShardSource {
  name: string;
  /** A fresh line reader of the file each time it is called. */
  lines: () => AsyncIterable<string>;
}

async function headerOf(src: ShardSource): Promise<ResultHeader> {
  for await (const x of readResult(src.lines(), src.name)) if ("header" in x) return x.header;
  throw new Error(`explore merge: ${src.name} has no header`);
}

/** Check that the sources are all the shards of one campaign; returns the merged header. Throws on a mismatch. */
export async function checkShards(srcs: readonly ShardSource[]): Promise<ResultHeader> {
  if (srcs.length === 0) throw new RangeError("explore merge: no files given");
  const hs = await Promise.all(srcs.map(headerOf));
  const first = hs[0]!;
  const seen = new Map<number, string>();
  let count = -1;
  hs.forEach((h, j) => {
    const name = srcs[j]!.name;
    if (h.id !== first.id || JSON.stringify(h.campaign) !== JSON.stringify(first.campaign)) throw new RangeError(`explore merge: ${name} is from another campaign than ${srcs[0]!.name} (id ${h.id} vs ${first.id})`);
    if (h.shard === null) throw new RangeError(`explore merge: ${name} is a whole campaign, not a shard`);
    const [i, n] = h.shard.split("/").map(Number) as [number, number];
    if (count < 0) count = n;
    if (n !== count) throw new RangeError(`explore merge: ${name} is shard ${h.shard}, the others are of ${count}`);
    const dup = seen.get(i);
    if (dup !== undefined) throw new RangeError(`explore merge: shard ${h.shard} given twice (${dup}, ${name})`);
    seen.set(i, name);
  });
  const missing: number[] = [];
  for (let i = 1; i <= count; i++) if (!seen.has(i)) missing.push(i);
  if (missing.length > 0) throw new RangeError(`explore merge: shard(s) ${missing.map((i) => `${i}/${count}`).join(", ")} missing`);
  return { ...first, shard: null };
}

/** Merge (after checkShards): writes the single-run document to `sink`. */
export async function mergeShards(srcs: readonly ShardSource[], sink: (chunk: string) => void): Promise<Summary> {
  const header = await checkShards(srcs);
  const its = srcs.map((s) => readResult(s.lines(), s.name)[Symbol.asyncIterator]());
  const heads: (PointLine | undefined)[] = [];
  const complete: boolean[] = [];
  const advance = async (j: number): Promise<void> => {
    for (;;) {
      const r = await its[j]!.next();
      if (r.done) {
        heads[j] = undefined;
        return;
      }
      const x = r.value;
      if ("point" in x) {
        heads[j] = x.point;
        return;
      }
      if ("summary" in x) complete[j] = x.summary.complete;
    }
  };
  await Promise.all(srcs.map((_, j) => advance(j)));
  const writer = new ResultWriter(sink, header);
  for (;;) {
    let best = -1;
    for (let j = 0; j < heads.length; j++) if (heads[j] !== undefined && (best < 0 || heads[j]!.i < heads[best]!.i)) best = j;
    if (best < 0) break;
    writer.point(heads[best]!);
    await advance(best);
  }
  return writer.end(complete.every((c) => c));
}

/** What the explore tests share: a campaign run collected as text and point lines, shard sources from text, a merge collected. */
import { explore, mergeShards, type CampaignInput, type PointLine, type ShardSource } from "../../src/explore/index.js";

/** Run a campaign; its streamed result text and every point line, in order. */
export async function doc(input: CampaignInput, opts: Parameters<typeof explore>[1] = {}): Promise<{ text: string; points: PointLine[] }> {
  let text = "";
  const points: PointLine[] = [];
  await explore(input, {
    ...opts,
    sink: (c) => (text += c),
    onPoint: (p) => {
      points.push(p);
      opts.onPoint?.(p);
    },
  });
  return { text, points };
}

/** A shard result given as text, read line by line as `realm explore merge` reads a file. */
export function source(name: string, text: string): ShardSource {
  return {
    name,
    lines: async function* () {
      for (const l of text.split("\n")) yield l;
    },
  };
}

/** The merged result text of shard sources. */
export async function merged(srcs: ShardSource[]): Promise<string> {
  let out = "";
  await mergeShards(srcs, (c) => (out += c));
  return out;
}

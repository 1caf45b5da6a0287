/** "Did you mean" suggestions: Damerau-Levenshtein distance (adjacent transpositions count 1). */

export function editDistance(a: string, b: string): number {
  const m = a.length;
  const n = b.length;
  const d: number[][] = [];
  for (let i = 0; i <= m; i++) d.push(new Array<number>(n + 1).fill(0));
  for (let i = 0; i <= m; i++) d[i]![0] = i;
  for (let j = 0; j <= n; j++) d[0]![j] = j;
  for (let i = 1; i <= m; i++) {
    for (let j = 1; j <= n; j++) {
      const cost = a[i - 1] === b[j - 1] ? 0 : 1;
      let v = Math.min(d[i - 1]![j]! + 1, d[i]![j - 1]! + 1, d[i - 1]![j - 1]! + cost);
      if (i > 1 && j > 1 && a[i - 1] === b[j - 2] && a[i - 2] === b[j - 1]) v = Math.min(v, d[i - 2]![j - 2]! + 1);
      d[i]![j] = v;
    }
  }
  return d[m]![n]!;
}

/**
 * The closest candidates to `word` (case-insensitive), best first: those within a distance that
 * grows with the word's length, or that start with it.
 */
export function closest(word: string, candidates: Iterable<string>, max = 3): string[] {
  const w = word.toLowerCase();
  const limit = Math.max(1, Math.min(3, Math.floor(w.length / 3)));
  const scored: [number, string][] = [];
  for (const c of candidates) {
    const lc = c.toLowerCase();
    let s = editDistance(w, lc);
    if (w.length >= 2 && lc.startsWith(w)) s = Math.min(s, 0.5);
    else if (w.length >= 4 && lc.includes(w)) s = Math.min(s, 1);
    if (s <= limit) scored.push([s, c]);
  }
  scored.sort((x, y) => x[0] - y[0] || (x[1] < y[1] ? -1 : 1));
  // Only the best tier: one clear winner is suggested alone.
  const best = scored.length > 0 ? scored[0]![0] : 0;
  const out: string[] = [];
  for (const [sc, c] of scored) if (sc === best && !out.includes(c)) out.push(c);
  return out.slice(0, max);
}

/** ", did you mean 'touch'?" or "" */
export function didYouMean(word: string, candidates: Iterable<string>): string {
  const c = closest(word, candidates);
  if (c.length === 0) return "";
  if (c.length === 1) return `, did you mean '${c[0]}'?`;
  return `, did you mean ${c.slice(0, -1).map((x) => `'${x}'`).join(", ")} or '${c[c.length - 1]}'?`;
}

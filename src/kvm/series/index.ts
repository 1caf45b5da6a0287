/** The posting profiles by id. */
import type { SeriesId, SeriesProfile } from "./profile.js";
import { v8 } from "./v8.js";
import { v10 } from "./v10.js";
import { v12 } from "./v12.js";
import { v13 } from "./v13.js";
import { v14 } from "./v14.js";

export * from "./profile.js";

export const PROFILES: Partial<Record<SeriesId, SeriesProfile>> = { v8, v10, v12, v13, v14 };

/** Postings the host can run now. */
export function availableSeries(): SeriesId[] {
  return Object.keys(PROFILES) as SeriesId[];
}

/** The profile (named variation points) of a posting, e.g. `profileOf("v12")`; throws on an unknown id. */
export function profileOf(series: unknown): SeriesProfile {
  if (typeof series !== "string") throw new TypeError(`series: expected one of ${availableSeries().join(", ")}, got ${typeof series}`);
  const p = PROFILES[series as SeriesId];
  if (p === undefined) {
    const known = ["v8", "v10", "v12", "v13", "v14"].includes(series);
    throw new RangeError(known
      ? `series: ${series} needs the RMM v2.0 host profile, which is not written yet (available: ${availableSeries().join(", ")})`
      : `series: unknown posting '${series}' (expected one of v8, v10, v12, v13, v14)`);
  }
  return p;
}

/**
 * The S01..S33 scenario catalogue (this project's ids; each entry's title names the posting and
 * patch it comes from), each runnable on every posting the host implements. A scenario only
 * scripts the trigger (VMM and guest actions, injections, interleavings); its outcome comes from
 * running the simulated code of that posting. One module per scenario (sNN-topic.ts) exports its
 * definition; SCENARIOS below is the one list, in catalogue order.
 * `scenarios.list()` / `scenarios.run(id, {series})` (design.md contract).
 */
import { availableSeries, type SeriesId } from "../kvm/series/index.js";
import { runScenario, type ScenarioDef, type ScenarioInfo, type ScenarioResult } from "./scenario.js";
import { S01 } from "./s01-shared-block-refault.js";
import { S02 } from "./s02-shared-block-map-retry.js";
import { S03 } from "./s03-private-fault-race.js";
import { S04 } from "./s04-shared-fault-race.js";
import { S05 } from "./s05-shared-read-fault.js";
import { S06 } from "./s06-thp-shared-unaligned.js";
import { S07 } from "./s07-range-desc-encoding.js";
import { S08 } from "./s08-map-protected-unwind.js";
import { S09 } from "./s09-create-rd-errors.js";
import { S10 } from "./s10-rtt-already-exists.js";
import { S11 } from "./s11-pgtable-accounting.js";
import { S12 } from "./s12-unmap-rcu-stall.js";
import { S13 } from "./s13-root-rtt-walk.js";
import { S14 } from "./s14-root-rtt-leak.js";
import { S15 } from "./s15-teardown-twice.js";
import { S16 } from "./s16-destroy-dying.js";
import { S17 } from "./s17-activation-failure.js";
import { S18 } from "./s18-rec-create-partial.js";
import { S19 } from "./s19-init-ripas-populated.js";
import { S20 } from "./s20-ripas-top-uninit.js";
import { S21 } from "./s21-ripas-shared-half.js";
import { S22 } from "./s22-populate-edge-cases.js";
import { S23 } from "./s23-undelegate-failure.js";
import { S24 } from "./s24-gmem-page-refs.js";
import { S25 } from "./s25-psci-races.js";
import { S26 } from "./s26-nvhe-gic.js";
import { S27 } from "./s27-debug-load-put.js";
import { S28 } from "./s28-sro-uninit-result.js";
import { S29 } from "./s29-granule-tracking.js";
import { S30 } from "./s30-gmem-punch-race.js";
import { S31 } from "./s31-ub-shift.js";
import { S32 } from "./s32-build-config.js";
import { S33 } from "./s33-review-nits.js";

export type { ScenarioResult, ScenarioInfo, ScenarioOutcome } from "./scenario.js";

/** Every scenario, in catalogue order (what list() shows and run() looks ids up in). */
const SCENARIOS: readonly ScenarioDef[] = [
  S01,
  S02,
  S03,
  S04,
  S05,
  S06,
  S07,
  S08,
  S09,
  S10,
  S11,
  S12,
  S13,
  S14,
  S15,
  S16,
  S17,
  S18,
  S19,
  S20,
  S21,
  S22,
  S23,
  S24,
  S25,
  S26,
  S27,
  S28,
  S29,
  S30,
  S31,
  S32,
  S33,
];

/** The scenarios of the catalogue, with the postings they run on. */
export function list(): ScenarioInfo[] {
  return SCENARIOS.map((d) => ({ id: d.id, title: d.title, series: availableSeries(), affects: d.affects }));
}

/**
 * Run scenario `id` on one posting; the outcome comes from running that posting's code. A bad id or
 * posting throws (naming the argument); anything that goes wrong while the scenario runs is a
 * result with outcome "error" and the exception in its notes, never a throw (runScenario).
 */
export function run(id: string, opts: { series: SeriesId | string }): ScenarioResult {
  if (typeof id !== "string") throw new TypeError(`scenarios.run: id must be a string like "S01", got ${typeof id}`);
  const def = SCENARIOS.find((d) => d.id === id.toUpperCase());
  if (def === undefined) throw new RangeError(`scenarios.run: id: unknown scenario '${id}' (registered: ${SCENARIOS.map((d) => d.id).join(", ")})`);
  if (opts === null || typeof opts !== "object" || typeof opts.series !== "string") throw new TypeError("scenarios.run: opts.series must be a posting id, e.g. {series: \"v8\"}");
  if (!availableSeries().includes(opts.series as SeriesId)) throw new RangeError(`scenarios.run: opts.series: posting '${opts.series}' is not available (available: ${availableSeries().join(", ")})`);
  return runScenario(def, opts.series as SeriesId);
}

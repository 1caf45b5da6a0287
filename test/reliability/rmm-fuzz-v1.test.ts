/**
 * Issue 11 "Fuzzing as a test", RMM 1.0 half: 500,000 random and hostile raw RMI calls on a v12
 * host's started realm (test/reliability/rmm-fuzz.ts: failed calls change nothing, invariants and
 * NS isolation after every change). The RMM 2.0 half is rmm-fuzz-v2.test.ts; long runs:
 * `npm run fuzz -- --calls N --seed S`.
 */
import { describe, it } from "vitest";
import { fuzzAbi } from "./rmm-fuzz-shared.js";

describe("RMM model-based fuzz, RMM 1.0 (v12 host)", () => {
  it("500,000 calls over seeds 1..4: no exception, failed calls change nothing, invariants and NS isolation hold", () => {
    fuzzAbi("1.0", [1, 2, 3, 4]);
  }, 900_000);
});

/**
 * Issue 11 "Fuzzing as a test", RMM 2.0 half: 500,000 random and hostile raw RMI calls on a v14
 * host's started realm (test/reliability/rmm-fuzz.ts). The RMM 1.0 half is rmm-fuzz-v1.test.ts.
 */
import { describe, it } from "vitest";
import { fuzzAbi } from "./rmm-fuzz-shared.js";

describe("RMM model-based fuzz, RMM 2.0 (v14 host)", () => {
  it("500,000 calls over seeds 1..4: no exception, failed calls change nothing, invariants and NS isolation hold", () => {
    fuzzAbi("2.0", [1, 2, 3, 4]);
  }, 900_000);
});

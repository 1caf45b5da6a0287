/** The fuzz test's share of the 1,000,000 calls per test run, per ABI (two files: vitest runs them in parallel). */
import { expect } from "vitest";
import { fuzz, type Abi } from "./rmm-fuzz.js";

/** Calls per test run, per ABI (1,000,000 in all). */
export const CALLS_PER_ABI = 500_000;

/** `calls` calls on `abi` over `seeds`, each seed its own run; no failure, and the run reached success paths. */
export function fuzzAbi(abi: Abi, seeds: readonly number[], calls = CALLS_PER_ABI): void {
  const per = Math.ceil(calls / seeds.length);
  let total = 0;
  const succeeded = new Map<string, number>();
  for (const seed of seeds) {
    // every 1,000th failed call is also checked with the full rmmDigest (stateHash cross-check)
    const rep = fuzz({ calls: per, seed, abi, fullEvery: 1000 });
    expect(rep.failures.map((f) => f.script)).toEqual([]);
    total += rep.calls;
    for (const [k, v] of rep.succeeded) succeeded.set(k, (succeeded.get(k) ?? 0) + v);
  }
  expect(total).toBeGreaterThanOrEqual(calls);
  // not vacuous: calls that change the state succeeded, and often
  const changing = [...succeeded].filter(([k]) => /DELEGATE|RTT_CREATE|RTT_DESTROY|DATA|REC_ENTER|FOLD/.test(k));
  expect(changing.length, [...succeeded.keys()].join(", ")).toBeGreaterThanOrEqual(5);
  expect(changing.reduce((n, [, v]) => n + v, 0)).toBeGreaterThan(calls / 200);
}

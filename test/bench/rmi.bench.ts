/** Raw RMI throughput: GRANULE_DELEGATE + UNDELEGATE pairs, RTT_READ_ENTRY. */
import { Platform, encodeRealmParams } from "../../src/index.js";
import { rate, type Figure } from "./harness.js";

const DRAM = 0x8000_0000n;

/**
 * Rates of several loops measured side by side: batches of each in turn, for about `seconds` in
 * all, so that a change in the machine's load falls on every loop alike (their ratios are what
 * matter on a shared machine). Per loop, the best of 3 rounds, as `rate` does.
 */
export function rates(fns: ((n: number) => void)[], batch: number, seconds = 2): number[] {
  for (const fn of fns) fn(Math.min(batch, 1000)); // warm-up
  const best = fns.map(() => 0);
  for (let round = 0; round < 3; round++) {
    const ops = fns.map(() => 0);
    const ms = fns.map(() => 0);
    const t0 = performance.now();
    while (performance.now() - t0 < (seconds * 1000) / 3) {
      fns.forEach((fn, i) => {
        const t = performance.now();
        fn(batch);
        ms[i]! += performance.now() - t;
        ops[i]! += batch;
      });
    }
    fns.forEach((_, i) => (best[i] = Math.max(best[i]!, ops[i]! / (ms[i]! / 1000))));
  }
  return best;
}

export function benchRmi(): Figure[] {
  const figs: Figure[] = [];
  {
    // The typed wrappers and the raw SMC ABI on the same work, measured side by side.
    const p = Platform.create({ rmm: "1.0", trace: false });
    const ps = Platform.create({ rmm: "1.0", trace: false });
    const fd = ps.fid("RMI_GRANULE_DELEGATE");
    const fu = ps.fid("RMI_GRANULE_UNDELEGATE");
    let i = 0;
    let j = 0;
    const [typed, raw] = rates(
      [
        (n) => {
          for (let k = 0; k < n; k++) {
            const pa = DRAM + BigInt((i++ % 8192) * 4096);
            p.rmi.granuleDelegate(pa);
            p.rmi.granuleUndelegate(pa);
          }
        },
        (n) => {
          for (let k = 0; k < n; k++) {
            const pa = DRAM + BigInt((j++ % 8192) * 4096);
            ps.smc(fd, pa);
            ps.smc(fu, pa);
          }
        },
      ],
      10_000,
    ).map((r) => r * 2);
    figs.push({ name: "GRANULE_DELEGATE+UNDELEGATE (p.rmi)", value: typed!, unit: "calls/s", target: { value: 2_000_000, better: "higher" } });
    figs.push({ name: "GRANULE_DELEGATE+UNDELEGATE (p.smc)", value: raw!, unit: "calls/s", target: { value: 2_000_000, better: "higher" } });
    figs.push({ name: "p.smc / p.rmi time per call (same run, batches alternating)", value: typed! / raw!, unit: "x", target: { value: 1.5, better: "lower" }, note: "the raw SMC ABI within 1.5x of the typed wrappers (issue 14)" });
  }
  {
    const p = Platform.create({ rmm: "1.0", trace: true });
    p.rmm.trace.limit = 100_000;
    let i = 0;
    const calls = rate((n) => {
      for (let k = 0; k < n; k++) {
        const pa = DRAM + BigInt((i++ % 8192) * 4096);
        p.rmi.granuleDelegate(pa);
        p.rmi.granuleUndelegate(pa);
      }
    }, 10_000) * 2;
    figs.push({ name: "GRANULE_DELEGATE+UNDELEGATE (p.rmi, trace on)", value: calls, unit: "calls/s", target: { value: 2_000_000, better: "higher" } });
  }
  {
    // RTT_READ_ENTRY on a realm with an L3 table (walk of 3 levels from an L1 start).
    const p = Platform.create({ rmm: "1.0", trace: false });
    const rd = DRAM, rtt = DRAM + 0x2000n, params = DRAM + 0x10_0000n;
    p.rmi.granuleDelegate(rd);
    p.rmi.granuleDelegate(rtt);
    p.rmi.granuleDelegate(rtt + 0x1000n);
    p.ns.write(params, encodeRealmParams({ s2sz: 40, rttBase: rtt, rttLevelStart: 1, rttNumStart: 2, hashAlgo: 0 }));
    if (p.rmi.realmCreate(rd, params).status !== "RMI_SUCCESS") throw new Error("bench: REALM_CREATE failed");
    for (const [l, pa] of [[2, DRAM + 0x4000n], [3, DRAM + 0x5000n]] as const) {
      p.rmi.granuleDelegate(pa);
      const r = p.rmi.rttCreate(rd, pa, 0n, l);
      if (r.status !== "RMI_SUCCESS") throw new Error(`bench: RTT_CREATE L${l}: ${r.status} ${r.index}`);
    }
    let i = 0;
    const calls = rate((n) => {
      for (let k = 0; k < n; k++) p.rmi.rttReadEntry(rd, BigInt((i++ % 512) * 4096), 3);
    }, 10_000);
    figs.push({ name: "RTT_READ_ENTRY (walk to L3)", value: calls, unit: "calls/s" });
  }
  return figs;
}

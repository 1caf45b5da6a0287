/** Raw RMI throughput: GRANULE_DELEGATE + UNDELEGATE pairs, RTT_READ_ENTRY. */
import { Platform, encodeRealmParams } from "../../src/index.js";
import { rate, type Figure } from "./harness.js";

const DRAM = 0x8000_0000n;

export function benchRmi(): Figure[] {
  const figs: Figure[] = [];
  for (const traced of [false, true]) {
    const p = Platform.create({ rmm: "1.0", trace: traced });
    if (traced) p.rmm.trace.limit = 100_000;
    let i = 0;
    const calls = rate((n) => {
      for (let k = 0; k < n; k++) {
        const pa = DRAM + BigInt((i++ % 8192) * 4096);
        p.rmi.granuleDelegate(pa);
        p.rmi.granuleUndelegate(pa);
      }
    }, 10_000) * 2;
    figs.push({
      name: `GRANULE_DELEGATE+UNDELEGATE (p.rmi${traced ? ", trace on" : ""})`,
      value: calls,
      unit: "calls/s",
      target: { value: 2_000_000, better: "higher" },
    });
  }
  {
    const p = Platform.create({ rmm: "1.0", trace: false });
    const fd = p.fid("RMI_GRANULE_DELEGATE");
    const fu = p.fid("RMI_GRANULE_UNDELEGATE");
    let i = 0;
    const calls = rate((n) => {
      for (let k = 0; k < n; k++) {
        const pa = DRAM + BigInt((i++ % 8192) * 4096);
        p.smc(fd, pa);
        p.smc(fu, pa);
      }
    }, 10_000) * 2;
    figs.push({ name: "GRANULE_DELEGATE+UNDELEGATE (p.smc)", value: calls, unit: "calls/s", target: { value: 2_000_000, better: "higher" } });
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

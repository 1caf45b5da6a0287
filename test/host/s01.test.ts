import { describe, it, expect } from "vitest";
import { Host } from "../../src/host/host.js";

const SHARED = 1n << 39n; // ipaBits 40

function s01(series: "v8" | "v10" | "v12") {
  const host = Host.create({ series, seed: 1 });
  const vm = host.createRealm({ ipaBits: 40, memory: 64n << 20n, vcpus: 1, forcePte: false, thp: true });
  expect(vm.start().ok).toBe(true);
  const B = 0x8040_0000n;
  // (1) one 4K page P of block B shared; the VMM had already touched it (4K backing)
  vm.vmmWrite(B, new Uint8Array([1]));
  expect(vm.share(B, 4096n).outcome).toBe("ok");
  const t1 = vm.touch(B | SHARED, { access: "write" });
  expect(t1.outcome).toBe("ok");
  // (2) the rest of B shared, the VMM backs B with a 2 MiB page, guest touches Q != P
  expect(vm.share(B + 4096n, (2n << 20n) - 4096n).outcome).toBe("ok");
  vm.collapse(B);
  const t2 = vm.touch((B + 0x5000n) | SHARED, { access: "write" });
  return { host, vm, t1, t2 };
}

describe("S01 by hand through the Host API", () => {
  it("v8 livelocks with zero WARNs", () => {
    const { host, t2 } = s01("v8");
    expect(t2.outcome).toBe("livelock");
    expect(host.warnCount).toBe(0);
    expect(host.trace.some((l) => l.startsWith("SMC_RMI_RTT_MAP_UNPROTECTED") && l.includes("> RMI_ERROR_RTT 2"))).toBe(true);
  });
  for (const s of ["v10", "v12"] as const) {
    it(`${s} completes with the page mapped at L3`, () => {
      const { host, vm, t2 } = s01(s);
      expect(t2.outcome).toBe("ok");
      expect(host.warnCount).toBe(0);
      const m = vm.mappingOf((0x8040_0000n + 0x5000n) | SHARED);
      expect(m.level).toBe(3);
      expect(m.state).toBe("ASSIGNED_NS");
    });
  }
});

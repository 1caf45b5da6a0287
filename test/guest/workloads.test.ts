import { describe, it, expect } from "vitest";
import { Host, bootWorkload, randomWorkload, sequentialWorkload } from "../../src/index.js";

describe("guest workloads on the host", () => {
  for (const series of ["v8", "v10", "v12"] as const) {
    it(`${series}: boot-like, sequential and random workloads complete, accounting consistent`, () => {
      const host = Host.create({ series, seed: 7 });
      const vm = host.createRealm({ ipaBits: 40, memory: 32n << 20n, vcpus: 2 });
      expect(vm.start().ok).toBe(true);
      const shared = 1n << 39n;
      expect(vm.run(0, bootWorkload(0x8000_0000n, 32n << 20n, 64n << 10n, 64n << 10n, shared)).outcome).toBe("ok");
      expect(vm.run(1, sequentialWorkload(0x8100_0000n, 1n << 20n)).outcome).toBe("ok");
      expect(vm.run(0, randomWorkload(0x8000_0000n, 24n << 20n, 200, 3)).outcome).toBe("ok");
      expect(host.violations).toEqual([]);
      expect(host.warnCount).toBe(0);
      expect(vm.mappingOf((0x8000_0000n + (32n << 20n) - 4096n) | shared).state).toBe("ASSIGNED_NS");
      const s = host.timeSeries.samples;
      expect(s[s.length - 1]!.granules.DATA).toBeGreaterThan(256);
      vm.destroy();
      expect(host.stats().granules).toEqual({ DELEGATED: 0, RD: 0, REC: 0, REC_AUX: 0, DATA: 0, RTT: 0 });
    });
  }
});

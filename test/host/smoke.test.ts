import { describe, it, expect } from "vitest";
import { Host } from "../../src/host/host.js";

describe("host smoke", () => {
  for (const series of ["v8", "v10", "v12"] as const) {
    it(`${series}: start, touch private, destroy`, () => {
      const host = Host.create({ series, seed: 1 });
      const vm = host.createRealm({ ipaBits: 40, memory: 64n << 20n, vcpus: 2 });
      const s = vm.start();
      console.log(series, s, host.stats());
      expect(s.ok).toBe(true);
      const t = vm.touch(0x8010_0000n, { access: "write" });
      console.log(t);
      expect(t.outcome).toBe("ok");
      vm.destroy();
      console.log(host.stats(), host.violations.slice(0, 5));
      console.log(host.trace.slice(-30).join("\n"));
    });
  }
});

import { describe, it, expect } from "vitest";
import { Host } from "../../src/host/host.js";

const RAM = 0x8000_0000n;

describe("Host API", () => {
  it("a started realm is ACTIVE, touches map private pages, stats add up", () => {
    const host = Host.create({ series: "v12", seed: 1 });
    const vm = host.createRealm({ ipaBits: 40, memory: 64n << 20n, vcpus: 2 });
    expect(vm.start().ok).toBe(true);
    expect(vm.state).toBe("ACTIVE");
    const before = host.stats().granules.DATA;
    const t = vm.touch(RAM + 0x100000n, { vcpu: 1, access: "write" });
    expect(t.outcome).toBe("ok");
    expect(t.exits).toBeGreaterThan(0);
    expect(host.stats().granules.DATA).toBe(before + 1);
    expect(vm.mappingOf(RAM + 0x100000n)).toMatchObject({ level: 3, state: "ASSIGNED_RAM" });
    expect(host.violations).toEqual([]);
    const s = host.stats();
    expect(s.vms[0]).toMatchObject({ id: 1, state: "ACTIVE" });
    expect(s.vms[0]!.pgtablePages).toBe(host.granules().RTT - 2); // RTTs below the 2 root RTTs
    expect(host.trace.some((l) => l.startsWith("SMC_RMI_DATA_CREATE_UNKNOWN"))).toBe(true);
    expect(host.timeSeries.samples.length).toBeGreaterThan(2);
  });

  it("S11 by hand: v8's page-table counter goes negative after destroy, v10/v12 return to zero", () => {
    const end: Record<string, number> = {};
    for (const series of ["v8", "v10", "v12"] as const) {
      const host = Host.create({ series, seed: 1 });
      const vm = host.createRealm({ ipaBits: 40, memory: 64n << 20n, vcpus: 2 });
      vm.start();
      vm.touch(RAM + (8n << 20n), { access: "write" });
      vm.destroy();
      end[series] = host.stats().vms[0]!.pgtablePages;
    }
    expect(end.v8).toBe(-3); // -(1 RD + 2 RECs)
    expect(end.v10).toBe(0);
    expect(end.v12).toBe(0);
  });

  it("S14 by hand: v10/v12 lose the root RTT pages on every realm destroy, v8 does not", () => {
    for (const series of ["v8", "v10", "v12"] as const) {
      const host = Host.create({ series, seed: 1 });
      const free0 = host.stats().freePages;
      for (let i = 0; i < 2; i++) {
        const vm = host.createRealm({ ipaBits: 40, memory: 16n << 20n, vcpus: 1 });
        vm.start();
        vm.touch(RAM + 0x40000n, { access: "write" });
        vm.destroy();
        expect(vm.state).toBe("DEAD");
      }
      const lost = free0 - host.stats().freePages;
      // 2 PGD pages (ipaBits 40) per realm; v12 also the page of the touch, whose guest_memfd
      // reference gmem_abort keeps ("if successful don't release the page", v12 24/46; S24)
      expect(lost).toBe({ v8: 0, v10: 4, v12: 6 }[series]);
      expect(host.stats().leakedPages).toBe(lost);
      expect(host.stats().granules).toEqual({ DELEGATED: 0, RD: 0, REC: 0, REC_AUX: 0, DATA: 0, RTT: 0 });
    }
  });

  it("bad input gets a clear error and changes nothing", () => {
    const host = Host.create({ series: "v10", seed: 1 });
    const vm = host.createRealm({ ipaBits: 40, memory: 16n << 20n, vcpus: 2 });
    vm.start();
    const calls = host.rmiCalls;
    const stats = JSON.stringify(host.stats());
    expect(() => vm.touch(1n << 40n)).toThrow(/outside the realm's 40-bit IPA space/);
    expect(() => vm.touch(RAM, { vcpu: 2 })).toThrow(/vCPU 2 does not exist/);
    expect(() => vm.touch(RAM, { access: "poke" as never })).toThrow(/access must be/);
    expect(() => host.inject({ rmi: "RTT_EXPLODE", status: "RMI_ERROR_RTT" })).toThrow(/no command 'RTT_EXPLODE'/);
    expect(() => host.inject({ rmi: "RTT_CREATE", status: "RMI_OOPS" })).toThrow(/unknown RMI status/);
    expect(() => host.inject({ rmi: "RTT_CREATE", status: "RMI_ERROR_RTT", nth: 0 })).toThrow(/nth must be a positive integer/);
    expect(() => Host.create({ series: "v9" as never })).toThrow(/unknown posting 'v9'/);
    expect(() => host.createRealm({ ipaBits: 60 })).toThrow(/ipaBits/);
    expect(host.rmiCalls).toBe(calls);
    expect(JSON.stringify(host.stats())).toBe(stats);
    expect(host.faults.list()).toEqual([]);
  });

  it("an injected RTT_CREATE failure is taken by the posted code and recorded in the trace", () => {
    const host = Host.create({ series: "v12", seed: 1 });
    const vm = host.createRealm({ ipaBits: 40, memory: 64n << 20n, vcpus: 1 });
    vm.start();
    host.inject({ rmi: "RTT_CREATE", nth: 1, status: "RMI_ERROR_INPUT" });
    const t = vm.touch(RAM + (10n << 20n), { access: "write" });
    expect(host.trace.some((l) => l.startsWith("SMC_RMI_RTT_CREATE") && l.endsWith("(injected)"))).toBe(true);
    expect(host.warns.some((w) => w.fn === "realm_create_rtt_levels")).toBe(true);
    // realm_map_protected unwinds (undelegate) and the fault returns -ENXIO: KVM_RUN fails.
    expect(t.outcome).toBe("error");
    expect(t.errno).toBe("-ENXIO");
    expect(host.granules().DELEGATED).toBe(0);
    expect(host.faults.list()[0]).toMatchObject({ fired: 1, active: false });
  });

  it("the Nth page allocation failing makes the fault path return -ENOMEM to the VMM", () => {
    const host = Host.create({ series: "v10", seed: 1 });
    const vm = host.createRealm({ ipaBits: 40, memory: 64n << 20n, vcpus: 1 });
    vm.start();
    host.inject({ alloc: "page", nth: 1, count: Infinity });
    const t = vm.touch(RAM + (12n << 20n), { access: "write" });
    expect(t.outcome).toBe("error");
    expect(t.errno).toBe("-ENOMEM");
  });
});

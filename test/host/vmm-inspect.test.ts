/**
 * The VMM reads a realm's tables through the Platform (issue 14: src/vmm inspects nothing of the
 * RMM's internals itself): vm.rtt() is p.rttTree(rd), vm.mappingOf(ipa) is the last entry of
 * p.rttWalk(rd, ipa) and agrees with what the RMM reports to the host for that IPA
 * (RMI_RTT_READ_ENTRY at level 3), and vm.rmmState is p.granule(rd).realmState.
 */
import { describe, expect, it } from "vitest";
import { Host } from "../../src/host/host.js";
import { RIPAS_NAMES } from "../../src/arch/ripas.js";
import type { SeriesId } from "../../src/kvm/series/index.js";

const RAM = 0x8000_0000n;
const SHARED_40 = 1n << 39n;

describe("RealmVm inspection through the Platform", () => {
  it.each(["v12", "v14"] as SeriesId[])("%s: mappingOf = RTT_READ_ENTRY(ipa, 3); rtt() = p.rttTree(rd); rmmState = p.granule(rd)", (series) => {
    const host = Host.create({ series, seed: 1 });
    const vm = host.createRealm({ ipaBits: 40, memory: 16n << 20n, vcpus: 1 });
    expect(vm.rtt()).toBeUndefined();
    expect(vm.rmmState).toBeUndefined();
    expect(() => vm.mappingOf(RAM)).toThrow(/the realm has no RD/);
    expect(vm.start().ok).toBe(true);
    expect(vm.touch(RAM + 0x10_0000n, { access: "write" }).outcome).toBe("ok");
    expect(vm.touch(SHARED_40 + RAM + 0x20_0000n, { access: "write" }).outcome).toBe("ok"); // (a v14 shared read fault fails: S05)

    const p = host.platform;
    const rd = BigInt(vm.kvm.realm.rd);
    expect(vm.rmmState).toBe("ACTIVE");
    expect(vm.rmmState).toBe(p.granule(rd).realmState);
    expect(vm.rtt()).toEqual(p.rttTree(rd));
    expect(vm.rtt({ maxLevel: 2 })).toEqual(p.rttTree(rd, { maxLevel: 2 }));

    // a populated page, a page faulted in, untouched RAM, a shared page faulted in, an unmapped shared IPA
    const ipas = [RAM, RAM + 0x10_0000n, RAM + 0x30_0000n, SHARED_40 + RAM + 0x20_0000n, SHARED_40 + RAM + 0x40_0000n];
    const seen = new Set<string>();
    for (const ipa of ipas) {
      const m = vm.mappingOf(ipa);
      const last = p.rttWalk(rd, ipa)!.at(-1)!;
      expect(m.level).toBe(last.level);
      const e = p.rmi.rttReadEntry(rd, ipa, 3);
      expect(e.status).toBe("RMI_SUCCESS");
      expect(m.level, `0x${ipa.toString(16)}`).toBe(Number(e.walkLevel));
      const assigned = m.state.startsWith("ASSIGNED");
      expect(Number(e.state), `0x${ipa.toString(16)} ${m.state}`).toBe(assigned ? 1 : 0);
      if (ipa < SHARED_40) {
        expect(m.ripas).toBe(RIPAS_NAMES[Number(e.ripas)]);
        expect(m.state).toBe(`${assigned ? "ASSIGNED" : "UNASSIGNED"}_${m.ripas!}`);
      } else {
        expect(m.ripas).toBeUndefined();
        expect(m.state).toBe(assigned ? "ASSIGNED_NS" : "UNASSIGNED_NS");
      }
      if (assigned && ipa < SHARED_40) expect(m.pa).toBe(vm.gmemPage(ipa));
      if (!assigned) expect(m.pa).toBeUndefined();
      seen.add(m.state);
    }
    expect([...seen].sort()).toEqual(["ASSIGNED_NS", "ASSIGNED_RAM", "UNASSIGNED_NS", "UNASSIGNED_RAM"]);
  });

  it("p.rttTree / p.rttWalk answer undefined for an address that is not an RD", () => {
    const host = Host.create({ series: "v12", seed: 1 });
    const vm = host.createRealm({ memory: 16n << 20n });
    vm.start();
    const rd = BigInt(vm.kvm.realm.rd);
    expect(host.platform.rttTree(rd + 0x1000n)).toBeUndefined();
    expect(host.platform.rttWalk(rd + 0x1000n, RAM)).toBeUndefined();
    expect(host.platform.rttWalk(rd, RAM)!.length).toBeGreaterThan(0);
  });
});

/**
 * S02: v14 29/44 map paths (addr_range_desc's PMD block descriptor). A THP-backed 2 MiB shared
 * block after a share (tables exist down to L2); on v14 also realm_map_ipa of a 2 MiB block where
 * no table exists down to L2, against the post-v14 profile that creates one level at a time
 * (rangeMapCreatesOneLevel).
 */
import type { ProfileOverrides } from "../kvm/series/index.js";
import { runSync } from "../sched/coop.js";
import { errnoName } from "../kvm/errno.js";
import { KVM_PGTABLE_PROT_R, KVM_PGTABLE_PROT_W } from "../kvm/rmi/map.js";
import { realm_map_ipa } from "../kvm/mmu.js";
import { topup_memcache } from "../kvm/rmi/ripas.js";
import type { ScenarioDef } from "./scenario.js";
import { RAM, SHARED_40, newHost } from "./helpers.js";

export const S02: ScenarioDef = {
  id: "S02",
  title: "v14 map paths build tables down to L3: with a 2 MiB block descriptor the retry fails (Suzuki, v14 29/44)",
  affects: ["v14"],
  run(series, mk) {
    const one = (overrides?: ProfileOverrides) => {
      const host = newHost(series, { overrides });
      const vm = host.createRealm({ ipaBits: 40, memory: 64n << 20n, vcpus: 1, forcePte: false, thp: true });
      vm.start();
      const B = RAM + (8n << 20n); // 2 MiB aligned, no shared tables yet
      vm.share(B, 2n << 20n);
      const rtt0 = host.granules().RTT;
      const t = vm.touch(B | SHARED_40, { access: "write" });
      const m = vm.mappingOf(B | SHARED_40);
      return { host, t, rtts: host.granules().RTT - rtt0, level: m.level, state: m.state };
    };
    const a = one();
    const rec = mk(a.host);
    rec.check("touch the 2 MiB-aligned THP-backed shared block", a.t);
    rec.data.rttsAllocated = a.rtts;
    rec.data.mapping = { level: a.level, state: a.state };
    if (series === "v14") {
      const b = one({ rangeMapCreatesOneLevel: true });
      rec.data.postV14 = { rttsAllocated: b.rtts, mapping: { level: b.level, state: b.state }, outcome: b.t.outcome };
      rec.notes.push(`RTT granules for the 2 MiB block: v14 ${a.rtts}, post-v14 (one level at a time) ${b.rtts}`);
      // No table down to L2: realm_map_ipa of a 2 MiB THP at a 1 GiB shared region the share never
      // touched, twice (a fault and its refault), as user_mem_abort would call it.
      const noTables = (overrides?: ProfileOverrides) => {
        const h = newHost(series, { overrides });
        const v = h.createRealm({ ipaBits: 40, memory: 64n << 20n, vcpus: 1, forcePte: false, thp: true });
        v.start();
        const k = v.kvm;
        const ipa = Number(SHARED_40 | (RAM + (1n << 30n)));
        const pa = h.pages.allocHuge("user", k.id);
        topup_memcache(k.vcpus[0]!, 4);
        const rtt0 = h.granules().RTT;
        const rets = [0, 1].map(() => errnoName(runSync(realm_map_ipa(k, ipa, pa, 0x20_0000, KVM_PGTABLE_PROT_R + KVM_PGTABLE_PROT_W, k.vcpus[0]!.memcache))));
        const m = v.mappingOf(BigInt(ipa));
        return { h, data: { rets, rttsAllocated: h.granules().RTT - rtt0, warns: h.warnCount, mapping: { level: m.level, state: m.state } } };
      };
      const c = noTables();
      const e = noTables({ rangeMapCreatesOneLevel: true });
      rec.data.noTables = { v14: c.data, postV14: e.data };
      // v14 29/44 realm_map_non_secure: addr_range_desc's `case PMD_SIZE` block descriptor, created
      // tables to KVM_PGTABLE_LAST_LEVEL, the retry with the same descriptor, `if (WARN_ON(ret)) return ret;`
      rec.notes.push(
        "v14 29/44 addr_range_desc gives one PMD block descriptor when exactly 2 MiB is left. After a share, the shared unmap has created the L2 table, so the THP-backed fault maps the block at L2 with no new RTT, as post-v14 does.",
        "Where no table exists down to L2, v14 creates L2 and L3 (realm_create_rtt_levels to KVM_PGTABLE_LAST_LEVEL) and re-issues the same PMD descriptor: the L2 entry is now a table, RTT_UNPROT_MAP answers ERROR_RTT(2), WARN_ON(ret) and the raw status goes up the fault path, which resumes the guest; every refault does the same (a WARN per fault, no mapping). Post-v14 (one level at a time) maps the block with one RTT. linux-cca-series.md describes one extra RTT and 4K mappings; that would hold for a page-form descriptor, which addr_range_desc does not build for a 2 MiB remainder.",
      );
      rec.otherRunWarns += c.h.warnCount + e.h.warnCount;
      if (c.h.warnCount > 0) rec.mark("warn", `no table down to L2: RTT_UNPROT_MAP of the 2 MiB block after creating L2 and L3 answers ${c.data.rets[0]}: ${c.h.warnCount} WARN(s) in a fault and its refault`);
    }
    return { host: a.host, rec };
  },
};

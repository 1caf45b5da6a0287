import { describe, it, expect } from "vitest";
import * as scenarios from "../../src/scenarios/index.js";

type Part = { share: string; uninitialisedReads: string[]; warns: number; ripas: string };

describe("S20 top_ipa uninitialised after a RIPAS error", () => {
  it("v8 writes top_ipa after its loop: no uninitialised read, the change completes", () => {
    const r = scenarios.run("S20", { series: "v8" });
    const e = r.data.enomem as Part;
    const c = r.data.rttCreateFails as Part;
    expect(e).toEqual({ share: "ok", uninitialisedReads: [], warns: 0, ripas: "EMPTY" });
    expect(c.uninitialisedReads).toEqual([]);
    expect(c.warns).toBe(2); // ripas_change's RTT_CREATE failure + kvm_complete_ripas_change
    expect(r.outcome).toBe("warn");
    // the -ENOMEM trigger: the RTT page's GRANULE_DELEGATE fails (v12 17/46 alloc_delegated_granule
    // returns PHYS_ADDR_MAX); an allocation failure would only reach kvm_mmu_memory_cache_alloc's WARN
    expect(r.trace.some((l) => l.startsWith("INJECT: RMI_GRANULE_DELEGATE call #1 -> RMI_ERROR_INPUT"))).toBe(true);
  });
  for (const series of ["v10", "v12"] as const) {
    it(`${series}: both triggers read the unwritten top_ipa (flagged), the guest still gets its change later`, () => {
      const r = scenarios.run("S20", { series });
      expect(r.outcome).toBe("error");
      const e = r.data.enomem as Part;
      expect(e.uninitialisedReads).toHaveLength(2);
      expect(e.uninitialisedReads[0]).toMatch(/realm_set_ipa_state read top_ipa uninitialised after ripas_change returned -12/);
      expect(e.uninitialisedReads[1]).toMatch(/kvm_complete_ripas_change continues from an uninitialised top_ipa/);
      expect(e.share).toBe("ok");
      const c = r.data.rttCreateFails as Part;
      expect(c.uninitialisedReads).toEqual(["S20: realm_set_ipa_state read top_ipa uninitialised after ripas_change returned -6"]);
      expect(c.warns).toBe(2);
      expect(c.ripas).toBe("EMPTY");
    });
  }
});

describe("S20 on the RMM v2.0 postings (v13, v14)", () => {
  for (const [series, unmapWarns] of [["v13", 1], ["v14", 2]] as const) {
    it(`${series}: once the unmaps that run first cannot create the RTT either, ripas_change fails before progress and top_ipa is read unwritten`, () => {
      const r = scenarios.run("S20", { series });
      expect(r.outcome).toBe("error");
      const e = r.data.enomem as Part;
      expect(e.uninitialisedReads).toEqual([
        "S20: realm_set_ipa_state read top_ipa uninitialised after ripas_change returned -12",
        "S20: kvm_complete_ripas_change continues from an uninitialised top_ipa",
      ]);
      // the WARNs are the unmaps' (alloc_rtt / realm_create_rtt_levels failing), not ripas_change's
      expect(e.warns).toBe(unmapWarns);
      expect(e.ripas).toBe("EMPTY");
      const c = r.data.rttCreateFails as Part;
      expect(c.uninitialisedReads).toEqual(["S20: realm_set_ipa_state read top_ipa uninitialised after ripas_change returned -6"]);
      expect(r.trace.filter((l) => l.startsWith("WARNING: ripas_change") || l.startsWith("WARNING: realm_create_rtt_levels")).length).toBeGreaterThan(0);
    });
  }
});

describe("S21 RIPAS change reaching the shared half", () => {
  for (const series of ["v8", "v10", "v12"] as const) {
    it(`${series}: the RMM refuses it in the realm; a reported one gets -EINVAL (and from v10 the reject flag, delivered only on the next run)`, () => {
      const r = scenarios.run("S21", { series });
      expect(r.data.conformingRmm).toEqual({ guestResult: "rsi-error", ripasChangeExits: 0 });
      // v9 16/43 on: "Set RMI_REJECT bit"; v8 16/43 (as quoted in Gavin Shan's reply of 30 Apr 2025) returns -EINVAL without it
      const flag = series !== "v8";
      expect(r.data.hostCheck).toEqual({ kvmRun: "-EINVAL", enterFlags: flag ? "0x10" : "0x0", rejectFlagSet: flag, recEntersAfterReject: 0 });
      const again = r.data.runAgain as { kvmRun: string; recEnters: number; warns: number; rttSetRipas: string; rmmRipasChangePending: boolean };
      expect(again.rttSetRipas).toMatch(/> RMI_ERROR_INPUT$/); // the completion attempt with the bad top
      expect(again.warns).toBe(2);
      expect(again.rmmRipasChangePending).toBe(false); // the entry completed the request (v10+: rejected; v8: accepted, no progress)
      expect(r.outcome).toBe("error");
    });
  }
});

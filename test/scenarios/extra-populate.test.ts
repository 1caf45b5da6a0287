import { describe, it, expect } from "vitest";
import * as scenarios from "../../src/scenarios/index.js";
import { toCInt } from "../../src/kvm/rmi/populate.js";

describe("S22 populate edge cases (v8..v12)", () => {
  for (const series of ["v8", "v10", "v12"] as const) {
    it(`${series}: the uAPI flags reach DATA_CREATE: harmless with MEASURE = 1; with MEASURE = 2 ${series === "v12" ? "refused by the RMM" : "refused by v8's flags check"}`, () => {
      const r = scenarios.run("S22", { series });
      expect(r.outcome).toBe("error");
      const a = r.data.flagsAsPosted as { ret: number; measured: boolean };
      expect(a.ret).toBe(series === "v12" ? 65536 : 0);
      const b = r.data.flagsUapiBit2 as { ret: string; dataCreate: string | null };
      if (series === "v12") {
        expect(b.ret).toBe("-ENXIO");
        expect(b.dataCreate).toMatch(/^SMC_RMI_DATA_CREATE \S+ \S+ 80000000 \S+ 2 > RMI_ERROR_INPUT$/);
      } else {
        // v8 19/43 kvm_populate_realm: `args->flags & ~RMI_MEASURE_CONTENT` -> -EINVAL, no RMI call
        expect(b.ret).toBe("-EINVAL");
      }
    });
  }
  it("v8/v10: no source address; size 0 populates nothing and returns 0", () => {
    for (const series of ["v8", "v10"] as const) {
      const r = scenarios.run("S22", { series });
      expect(typeof r.data.unalignedSource).toBe("string");
      expect(r.data.size0).toEqual({ ret: 0, warns: 0, rdCreatedByIt: false });
    }
  });
  it("v12: an unaligned source_uaddr is accepted and shifts the measured contents; size 0 creates the RD, then WARNs with -EINVAL", () => {
    const r = scenarios.run("S22", { series: "v12" });
    expect(r.data.unalignedSource).toEqual({ ret: 65536, firstPageMatchesImage: false, firstPageShiftedBy0x800: true });
    expect(r.data.size0).toEqual({ ret: "-EINVAL", warns: 1, rdCreatedByIt: true });
    expect(r.notes.some((n) => n.includes("shifted by 0x800"))).toBe(true);
  });
  it("the v12 ioctl's int conversion of the byte count", () => {
    expect(toCInt(65536)).toBe(65536);
    expect(toCInt(2 ** 31 - 4096)).toBe(2 ** 31 - 4096);
    expect(toCInt(2 ** 31)).toBe(-(2 ** 31)); // 2 GiB populated reads as a negative return
    expect(toCInt(2 ** 32)).toBe(0); // 4 GiB reads as "nothing populated"
  });
});

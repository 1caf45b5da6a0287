import { describe, expect, it } from "vitest";
import { Platform } from "../../src/index.js";

describe("platform smoke", () => {
  it("delegates and undelegates a DRAM granule", () => {
    const p = Platform.create({ rmm: "1.0" });
    const pa = 0x8000_0000n;
    expect(p.rmi.granuleDelegate(pa)).toEqual({ status: "RMI_SUCCESS", index: 0 });
    expect(p.granule(pa)).toMatchObject({ state: "DELEGATED", pas: "REALM" });
    expect(p.rmi.granuleDelegate(pa).status).toBe("RMI_ERROR_INPUT");
    expect(p.rmi.granuleUndelegate(pa).status).toBe("RMI_SUCCESS");
    expect(p.granule(pa)).toMatchObject({ state: "UNDELEGATED", pas: "NS" });
    expect(p.rmmTrace.at(-1)).toBe("SMC_RMI_GRANULE_UNDELEGATE 80000000 > RMI_SUCCESS");
  });
});

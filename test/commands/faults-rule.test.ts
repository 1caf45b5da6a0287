import { describe, expect, it } from "vitest";
import { parseRule } from "../../src/commands/builtin/faults.js";

describe("inject rule words", () => {
  it("positional and key=value forms give the host's rule objects", () => {
    expect(parseRule(["RTT_CREATE", "RMI_ERROR_RTT", "2"])).toEqual({ rmi: "RTT_CREATE", status: "RMI_ERROR_RTT", index: 2 });
    expect(parseRule(["rmi_rtt_create", "error_rtt", "level=2", "nth=3"])).toEqual({ rmi: "RTT_CREATE", status: "RMI_ERROR_RTT", index: 2, nth: 3 });
    expect(parseRule(["rmi=DATA_CREATE", "status=RMI_ERROR_INPUT", "count=always", "pa=0x80200000"])).toEqual({
      rmi: "DATA_CREATE", status: "RMI_ERROR_INPUT", count: Infinity, pa: 0x80200000n,
    });
    expect(parseRule(["alloc", "nth=3"])).toEqual({ alloc: "page", nth: 3 });
    expect(parseRule(["undelegate", "0x80123000"])).toEqual({ undelegate: 0x80123000n });
    expect(parseRule(["delegateRaced"])).toEqual({ delegateRaced: true });
    expect(parseRule(["delegate-raced", "0x80123000", "nth=2"])).toEqual({ delegateRaced: 0x80123000n, nth: 2 });
    expect(parseRule(['{"rmi":"RTT_FOLD","status":"RMI_ERROR_RTT","index":2,"pa":"0x88000000"}'])).toEqual({ rmi: "RTT_FOLD", status: "RMI_ERROR_RTT", index: 2, pa: 0x88000000n });
  });
  it("bad rules are usage errors", () => {
    expect(() => parseRule(["RTT_CREATE"])).toThrow("rule for RTT_CREATE: missing status (e.g. RMI_ERROR_RTT)");
    expect(() => parseRule(["RTT_CREATE", "RMI_ERROR_RTT", "nht=2"])).toThrow("unknown rule key 'nht', did you mean 'nth'?");
    expect(() => parseRule(["undelegate"])).toThrow(/needs the granule PA/);
    expect(() => parseRule(["{bad"])).toThrow(/not valid JSON/);
    expect(() => parseRule(["RTT_CREATE", "RMI_ERROR_RTT", "2", "zz"])).toThrow("rule: unexpected 'zz' (see 'help inject')");
  });
});

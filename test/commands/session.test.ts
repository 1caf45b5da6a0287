import { describe, expect, it } from "vitest";
import { createSession } from "../../src/commands/index.js";

describe("command executor (no host needed)", () => {
  it("unknown commands and options get suggestions and change nothing", async () => {
    const s = createSession();
    const before = s.machine().platform.rmmTrace.length;
    const r = await s.run("tuch 0x1000");
    expect(r).toMatchObject({ ok: false, command: "", kind: "error" });
    expect(r.error).toBe("unknown command 'tuch', did you mean 'touch'?");
    const o = await s.run("trace --lats 3");
    expect(o.error).toBe("trace: unknown option '--lats', did you mean '--last'?");
    const v = await s.run("granule 0x8000000Q");
    expect(v.ok).toBe(false);
    expect(v.error).toMatch(/^granule: PA: '0x8000000Q' is not a number/);
    expect((await s.run("granule")).error).toBe("granule: missing PA");
    expect((await s.run("granule 0x80000000 5")).error).toBe("granule: unexpected argument '5'");
    expect((await s.run("smc RTT_CREAT 1 2 3 4")).error).toBe("smc: unknown RMI command 'RTT_CREAT' for RMM 1.0, did you mean 'RTT_CREATE'?");
    expect((await s.run("smc RTT_CREATE 1")).error).toBe("smc: RMI_RTT_CREATE takes 4 arguments (rd, rtt, ipa, level), got 1");
    expect(s.machine().platform.rmmTrace.length).toBe(before);
    expect(s.script).toEqual([]);
  });

  it("smc decodes status, index and outputs; RMI failures are results", async () => {
    const s = createSession();
    const v = await s.run("smc VERSION 0x10000");
    expect(v.ok).toBe(true);
    expect(v.value).toMatchObject({ command: "RMI_VERSION", status: "RMI_SUCCESS", index: 0, outputs: { lower: "0x10000", higher: "0x10000" } });
    const d1 = await s.run("smc GRANULE_DELEGATE 0x80000000");
    expect(d1.value).toMatchObject({ status: "RMI_SUCCESS", x0: "0x0" });
    expect((await s.run("granule 0x80000000")).value).toMatchObject({ state: "DELEGATED", pas: "REALM", refcount: 0 });
    const d2 = await s.run("rmi rmi_granule_delegate 0x80000000");
    expect(d2.ok).toBe(true);
    expect(d2.value).toMatchObject({ status: "RMI_ERROR_INPUT" });
    expect(d2.text.split("\n")[0]).toMatch(/^RMI_ERROR_INPUT /);
    const raw = await s.run("smc 0xC4000999");
    expect(raw.value).toMatchObject({ status: "SMC_UNKNOWN" });
    expect(s.machine().platform.rmmTrace.slice(-1)[0]).toMatch(/SMC_UNKNOWN/);
    // Every call that reached the RMM is part of the session script.
    expect(s.script).toEqual(["smc VERSION 0x10000", "smc GRANULE_DELEGATE 0x80000000", "rmi rmi_granule_delegate 0x80000000", "smc 0xC4000999"]);
  });

  it("renders RMI_ERROR_RTT with its level", async () => {
    const s = createSession();
    // An RTT error needs a realm; the text renderer is what matters here.
    const { renderText } = await import("../../src/commands/render/text.js");
    const t = renderText("rmi", { machine: "bare", command: "RMI_RTT_CREATE", args: { rd: "0x1" }, status: "RMI_ERROR_RTT", index: 2, outputs: {} });
    expect(t.split("\n")[0]).toBe("RMI_ERROR_RTT (level 2)    (RMI_RTT_CREATE 0x1 on bare)");
    expect(s).toBeDefined();
  });

  it("help lists every command and explains one", async () => {
    const s = createSession();
    const h = await s.run("help");
    for (const c of s.commands) expect(h.text).toContain(c.name);
    const t = await s.run("help touch");
    expect(t.text).toContain("usage: touch IPA [--vcpu N] [--read|--write|--exec] [--count N] [--stride SIZE]");
    expect((await s.run("help tuch")).error).toBe("help: unknown command 'tuch', did you mean 'touch'?");
    expect((await s.run("exit")).exit).toBe(true);
  });

  it("completion: commands, options, option values, RMI names", () => {
    const s = createSession();
    expect(s.complete("tr").items).toEqual(["trace"]);
    expect(s.complete("smc RTT_C")).toMatchObject({ start: 4, end: 9, items: ["RTT_CREATE"] });
    expect(s.complete("new r --se").items).toEqual(["--series"]);
    expect(s.complete("new r --series ").items).toEqual(["v8", "v10", "v12", "v13", "v14"]);
    expect(s.complete("new r --series v1").common).toBe("v1");
    expect(s.complete("touch 0 --r").items).toEqual(["--read"]);
    expect(s.complete("help gr").items).toEqual(["granule"]);
    // cursor in the middle of the line completes the word under it
    const c = s.complete("smc GRANULE_D 0x80000000", 13);
    expect(c).toMatchObject({ start: 4, end: 13 });
    expect(c.items).toEqual(["GRANULE_DELEGATE"]);
  });

  it("save writes a replayable script", async () => {
    const { mkdtempSync, readFileSync } = await import("node:fs");
    const { join } = await import("node:path");
    const { tmpdir } = await import("node:os");
    const dir = mkdtempSync(join(tmpdir(), "realm-save-"));
    const s = createSession({ cwd: dir });
    await s.run("smc GRANULE_DELEGATE 0x80001000");
    await s.run("granule 0x80001000");
    const r = await s.run("save out.realm");
    expect(r.ok).toBe(true);
    expect(readFileSync(join(dir, "out.realm"), "utf8")).toBe("# realm session script (realm run out.realm)\nseed 1\nsmc GRANULE_DELEGATE 0x80001000\n");
  });
});

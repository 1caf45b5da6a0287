/** `smc` register values that name the current realm's objects: rd, recN, runN. */
import { describe, expect, it } from "vitest";
import { createSession } from "../../src/commands/index.js";
import { runScript } from "../../src/commands/script.js";

const hexOf = (n: number) => `0x${n.toString(16)}`;

async function realmSession() {
  const s = createSession();
  const r = await s.run("new r --series v12 --mem 16M --vcpus 2");
  expect(r.ok).toBe(true);
  const kvm = s.realms.get("r")!.vm.kvm;
  return { s, rd: kvm.realm.rd, recs: kvm.vcpus.map((v) => v.rec.recPage), runs: kvm.vcpus.map((v) => v.rec.run) };
}

describe("smc with symbolic operands", () => {
  it("rd is the current realm's RD: the same call as with its PA", async () => {
    const { s, rd } = await realmSession();
    const sym = await s.run("smc RTT_READ_ENTRY rd 0x0 3");
    expect(sym.ok).toBe(true);
    expect(sym.value).toMatchObject({ command: "RMI_RTT_READ_ENTRY", args: { rd: hexOf(rd), ipa: "0x0", level: "0x3" }, status: "RMI_SUCCESS" });
    const num = await s.run(`smc RTT_READ_ENTRY ${hexOf(rd)} 0x0 3`);
    expect((num.value as { outputs: unknown }).outputs).toEqual((sym.value as { outputs: unknown }).outputs);
    // the trace shows the PA the RMM received
    expect(s.machine().platform.rmmTrace.slice(-2)).toEqual([
      expect.stringMatching(new RegExp(`^SMC_RMI_RTT_READ_ENTRY ${rd.toString(16)} 0 3 > RMI_SUCCESS`)),
      expect.stringMatching(new RegExp(`^SMC_RMI_RTT_READ_ENTRY ${rd.toString(16)} 0 3 > RMI_SUCCESS`)),
    ]);
  });

  it("recN and runN are vCPU N's REC and rec_run page", async () => {
    const { s, recs, runs } = await realmSession();
    expect(recs.every((x) => x >= 0) && runs.every((x) => x >= 0)).toBe(true);
    // a REC granule cannot be delegated again: an RMI failure, as a result
    const d = await s.run("smc GRANULE_DELEGATE rec1");
    expect(d.ok).toBe(true);
    expect(d.value).toMatchObject({ args: { addr: hexOf(recs[1]!) }, status: "RMI_ERROR_INPUT" });
    expect((await s.run(`granule ${hexOf(recs[1]!)}`)).value).toMatchObject({ state: "REC" });
    const u = await s.run("smc GRANULE_UNDELEGATE REC0");
    expect(u.value).toMatchObject({ args: { addr: hexOf(recs[0]!) }, status: "RMI_ERROR_INPUT" });
    // REC_ENTER takes a REC and an NS run page (any vCPU's will do for the RMM)
    const e = await s.run("smc REC_ENTER rec0 run1");
    expect(e.value).toMatchObject({ command: "RMI_REC_ENTER", args: { rec: hexOf(recs[0]!), runPtr: hexOf(runs[1]!) } });
  });

  it("names that do not resolve are usage errors, and nothing reaches the RMM", async () => {
    const bare = createSession();
    expect((await bare.run("smc RTT_READ_ENTRY rd 0x0 3")).error).toBe(
      "smc: x1: 'rd' names an object of the current realm, and no realm is selected ('new NAME' or 'use NAME')",
    );
    const { s } = await realmSession();
    const before = s.machine().platform.rmmTrace.length;
    expect((await s.run("smc GRANULE_DELEGATE rec2")).error).toBe("smc: x1: 'rec2': realm r has 2 vCPUs (rec0..rec1)");
    expect((await s.run("smc REC_ENTER rec0 run7")).error).toBe("smc: x2: 'run7': realm r has 2 vCPUs (run0..run1)");
    expect((await s.run("smc GRANULE_DELEGATE rdx")).error).toMatch(/^smc: x1: 'rdx' is not a number/);
    expect((await s.run("smc GRANULE_DELEGATE rec")).error).toMatch(/^smc: x1: 'rec' is not a number/);
    expect(s.machine().platform.rmmTrace.length).toBe(before);
  });

  it("completion offers the operands of the current realm at every register", async () => {
    const bare = createSession();
    expect(bare.complete("smc RTT_READ_ENTRY ").items).toEqual([]);
    const { s } = await realmSession();
    expect(s.complete("smc RTT_READ_ENTRY ").items).toEqual(["rd", "rec0", "rec1", "run0", "run1"]);
    expect(s.complete("smc RTT_CREATE rd 0x88000000 0x0 1 r").items).toEqual(["rd", "rec0", "rec1", "run0", "run1"]);
    expect(s.complete("smc REC_ENTER rec").items).toEqual(["rec0", "rec1"]);
  });

  it("help smc documents them; a saved session replays them", async () => {
    const { s } = await realmSession();
    const h = (await s.run("help smc")).text;
    expect(h).toContain("  rd     the realm's RD");
    expect(h).toContain("  recN   the REC of vCPU N (rec0, rec1, ...)");
    expect(h).toContain("  runN   the rec_run page of vCPU N (REC_ENTER's second argument)");
    expect(h).toContain("smc RTT_READ_ENTRY rd 0x0 3");
    await s.run("smc RTT_READ_ENTRY rd 0x80000000 3");
    await s.run("smc GRANULE_DELEGATE rec0");
    expect(s.script.slice(-2)).toEqual(["smc RTT_READ_ENTRY rd 0x80000000 3", "smc GRANULE_DELEGATE rec0"]);
    const t = createSession();
    const rep = await runScript(t, ["seed 1", ...s.script].join("\n"));
    expect(rep.failed).toBe(0);
    expect(t.hosts.get("v12")!.platform.rmmTrace).toEqual(s.hosts.get("v12")!.platform.rmmTrace);
  });
});

/**
 * The fuzz harness itself (test/reliability/rmm-fuzz.ts): its fingerprint sees every change the
 * full digest sees, a failure is found, shrunk and printed as a script, and that script replays
 * through the command language (`realm run`) with the same results.
 */
import { describe, expect, it, vi } from "vitest";
import { createSession, rmmDigest } from "../../src/index.js";
import { scriptLines } from "../../src/commands/script.js";
import { Rmm } from "../../src/rmm/rmm.js";
import { callLine, Checker, episode, fuzz, genCall, makeWorld, stateHash, worldLine, type Abi } from "./rmm-fuzz.js";

describe("RMM fuzz harness", () => {
  it.each(["1.0", "2.0"] as const)("(a) RMM %s: stateHash changes exactly when rmmDigest changes, over 600 calls", (abi) => {
    const w = makeWorld(abi);
    const ck = new Checker(w);
    const ep = episode(abi, 11, 600);
    expect(ep.failure).toBeUndefined();
    let d = rmmDigest(w.p);
    let h = stateHash(w.p.rmm, w.pages);
    let changes = 0;
    for (const c of ep.calls) {
      expect(ck.step(c)).toBeUndefined();
      const d2 = rmmDigest(w.p);
      const h2 = stateHash(w.p.rmm, w.pages);
      expect(h2 !== h, callLine(c)).toBe(d2 !== d);
      expect(stateHash(w.p.rmm), "cached page hashes = fresh ones").toBe(h2);
      if (d2 !== d) changes++;
      d = d2;
      h = h2;
    }
    expect(changes).toBeGreaterThan(10);
  });

  it("(b) a broken RMM is caught, the sequence shrunk and printed as a script that realm run replays", async () => {
    // sabotage: a failing RTT_CREATE writes to NS memory (a failed call must change nothing)
    // (p.smc enters the RMM through smcRegs, the fixed-register form of Rmm.smc)
    const orig = Rmm.prototype.smcRegs;
    const spy = vi.spyOn(Rmm.prototype, "smcRegs").mockImplementation(function (this: Rmm, fid: bigint, ...regs: bigint[]) {
      const x = orig.call(this, fid, ...(regs as [bigint, bigint, bigint, bigint, bigint, bigint]));
      if (fid === this.fid("RMI_RTT_CREATE") && x[0] !== 0n) this.machine.mem.write(0x9000_0000, new Uint8Array([1]));
      return x;
    });
    let rep: ReturnType<typeof fuzz>;
    try {
      rep = fuzz({ calls: 20_000, seed: 7, abi: "1.0" });
    } finally {
      spy.mockRestore();
    }
    expect(rep.failures.length).toBe(1);
    const f = rep.failures[0]!;
    expect(f.message).toMatch(/^smc RTT_CREATE .* -> status \d+: did not succeed but changed the state$/);
    const lines = scriptLines(f.script).map((l) => l.line);
    expect(lines[0]).toBe(worldLine("1.0"));
    // shrunk to the failing call (any failing RTT_CREATE does it)
    expect(lines.length).toBe(2);
    expect(lines[1]).toMatch(/^smc RTT_CREATE /);
    // the script runs through the command language; without the sabotage the call fails cleanly
    const s = createSession();
    for (const l of lines) {
      const r = await s.run(l);
      if (l.startsWith("new")) expect(r.ok).toBe(true);
      else expect((r.value as { status: string }).status).not.toBe("RMI_SUCCESS");
    }
  });

  it.each(["1.0", "2.0"] as const)("(c) RMM %s: 400 generated calls give the same results through the session's smc command", async (abi: Abi) => {
    const w = makeWorld(abi);
    const direct: bigint[] = [];
    const ep = episode(abi, 23, 400);
    for (const c of ep.calls) direct.push(w.p.smc(w.p.fid(c.name), ...c.args)[0]!);
    const s = createSession();
    expect((await s.run(worldLine(abi))).ok).toBe(true);
    const viaSession: bigint[] = [];
    for (const c of ep.calls) {
      const r = await s.run(callLine(c));
      expect(r.ok, `${callLine(c)}: ${r.error}`).toBe(true);
      viaSession.push(BigInt((r.value as { x0: string }).x0));
    }
    expect(viaSession).toEqual(direct);
    expect(rmmDigest(s.realm("f").host.platform)).toBe(rmmDigest(w.p));
  });

  it("(d) genCall is deterministic per seed", () => {
    const a = episode("2.0", 99, 200).calls.map(callLine);
    const b = episode("2.0", 99, 200).calls.map(callLine);
    expect(a).toEqual(b);
    expect(new Set(a).size).toBeGreaterThan(150);
    expect(genCall).toBeTypeOf("function");
  });
});

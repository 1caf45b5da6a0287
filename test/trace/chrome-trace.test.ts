/**
 * Chrome trace-event export (issue 12 C): `trace --export FILE.json`, chromeTrace(host).
 * Failure cases, labelled:
 *  1. the file is valid for the viewers (test/trace/trace-event-format.ts) and deterministic;
 *  2. tracks: one for the VMM, one per vCPU (named), the host steps;
 *  3. every RMI call of the log is one slice (command, x1.., status, index, injected), on the
 *     track of the vCPU whose KVM_RUN made it;
 *  4. stage-2 faults (with the IPA), REC exits, WARNs and injected faults are instant events;
 *  5. accounting counters follow the host's samples and end at host.stats();
 *  6. `trace --export` in the command language writes the same JSON; misuse is refused.
 */
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createSession, type Session } from "../../src/commands/index.js";
import { chromeTrace, chromeTraceJson } from "../../src/trace/chrome-trace.js";
import { parseTrace } from "./trace-event-format.js";

const SCRIPT = [
  "new a --series v12 --mem 8M --vcpus 2",
  "touch 0x80100000 --count 2",
  "touch 0x80200000 --vcpu 1",
  "inject RTT_CREATE RMI_ERROR_RTT 2",
  "touch 0x80400000",
];

let dir: string;

async function session(series = "v12"): Promise<Session> {
  const s = createSession({ cwd: dir });
  for (const line of SCRIPT) {
    const r = await s.run(line.replace("v12", series));
    if (!r.ok) throw new Error(`${line}: ${r.error}`);
  }
  return s;
}

beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), "realm-trace-"));
});
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe("Chrome trace export", () => {
  let s: Session;
  let parsed: ReturnType<typeof parseTrace>;
  const host = () => s.machine().host!;
  const byName = (name: string) => parsed.events.filter((e) => e.name === name);

  beforeAll(async () => {
    s = await session();
    parsed = parseTrace(chromeTraceJson(host()));
  });

  it("1. parses as the viewers parse it, and the same run gives the same bytes", async () => {
    expect(parsed.problems).toEqual([]);
    expect(chromeTraceJson(host())).toBe(chromeTraceJson((await session()).machine().host!));
    expect(parseTrace(chromeTraceJson((await session("v14")).machine().host!)).problems).toEqual([]);
  });

  it("2. a track for the VMM, one per vCPU, and the host steps", () => {
    expect([...parsed.threads.values()].sort()).toEqual(["VMM", "host steps", "vm1 vCPU 0", "vm1 vCPU 1"]);
    const steps = parsed.events.filter((e) => e.cat === "step").map((e) => e.name);
    expect(steps).toContain("touch 0x80200000 write vcpu1");
  });

  it("3. each RMI call is a slice with its command, arguments and status, on its vCPU's track", () => {
    const rmi = parsed.events.filter((e) => e.cat === "rmi");
    const logged = host().log.entries.filter((e) => e.kind === "rmi");
    expect(rmi.map((e) => [e.name, e.ts])).toEqual(logged.map((e) => [e.rmi!.name, e.seq]));
    const tidOf = (name: string) => [...parsed.threads].find(([, n]) => n === name)![0].split(":")[1];
    const failed = rmi.filter((e) => e.name === "RMI_RTT_CREATE" && e.args.status !== "RMI_SUCCESS");
    expect(failed).toHaveLength(1);
    expect(failed[0]!.args).toMatchObject({ status: "RMI_ERROR_RTT", index: 2, injected: true });
    expect(String(failed[0]!.tid)).toBe(tidOf("vm1 vCPU 0"));
    const create = rmi.find((e) => e.name === "RMI_REALM_CREATE")!;
    expect(String(create.tid)).toBe(tidOf("VMM"));
    expect(create.args.x1).toMatch(/^0x[0-9a-f]+$/);
    // REC_ENTERs of vCPU 1 are on vCPU 1's track, inside a run slice
    const v1 = tidOf("vm1 vCPU 1");
    const enters = rmi.filter((e) => e.name === "RMI_REC_ENTER" && String(e.tid) === v1);
    expect(enters.length).toBeGreaterThan(0);
    const runs = parsed.events.filter((e) => (e.name === "KVM_RUN" || e.name === "vCPU run") && String(e.tid) === v1);
    for (const en of enters) expect(runs.some((r) => r.ts <= en.ts && en.ts < r.ts + r.dur)).toBe(true);
  });

  it("4. stage-2 faults, REC exits, WARNs and injected faults are instants", () => {
    const faults = byName("stage-2 fault");
    expect(faults.every((e) => e.ph === "i" && e.s === "t")).toBe(true);
    expect(faults.map((e) => e.args.ipa)).toEqual(expect.arrayContaining(["0x80100000", "0x80101000", "0x80200000", "0x80400000"]));
    expect(byName("REC exit").length).toBeGreaterThan(0); // the PSCI CPU_ON exit
    const warns = parsed.events.filter((e) => e.cat === "warn");
    expect(warns.length).toBe(host().stats().warnCount);
    expect(warns.length).toBeGreaterThan(0);
    expect(warns[0]!.name).toBe(`WARN ${warns[0]!.args.function}`);
    expect(byName("injected fault")).toHaveLength(1);
    expect(byName("fault rule added")).toHaveLength(1);
  });

  it("5. accounting counters, one value per host step, ending at host.stats()", () => {
    const g = byName("granules");
    expect(g.length).toBe(host().timeSeries.samples.length);
    expect(g.every((e) => e.ph === "C")).toBe(true);
    const last = g[g.length - 1]!;
    expect(last.args).toEqual(host().stats().granules);
    const ts = g.map((e) => e.ts);
    expect([...ts].sort((a, b) => a - b)).toEqual(ts);
    expect(byName("KVM page-table pages").at(-1)!.args.pages).toBe(host().stats().vms[0]!.pgtablePages);
  });

  it("6. `trace --export FILE.json` writes the same JSON; without a realm it is refused", async () => {
    const r = await s.run("trace --export out.json");
    expect(r.ok).toBe(true);
    expect(r.text).toMatch(/^wrote out\.json \(\d+ log entries, \d+ bytes\)/);
    expect(JSON.parse(readFileSync(join(dir, "out.json"), "utf8"))).toEqual(chromeTrace(host()));
    const bare = createSession({ cwd: dir });
    const no = await bare.run("trace --export none.json");
    expect(no.ok).toBe(false);
    expect(no.error).toContain("--export: no host trace here");
  });
});

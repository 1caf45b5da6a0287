/**
 * `realm run FILE --json` on the real binary: one JSON object per command, exit status 0 when every
 * command succeeds, non-zero at the first failure (the rest not run) unless --keep-going.
 */
import { spawnSync } from "node:child_process";
import { mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { beforeAll, describe, expect, it } from "vitest";
import { cli, ensureBuilt } from "./ensure-built.js";

const dir = mkdtempSync(join(tmpdir(), "realm-run-"));

function realm(args: string[], input?: string) {
  const r = spawnSync(process.execPath, [cli, ...args], { cwd: dir, encoding: "utf8", input, env: { ...process.env, REALM_HISTORY: join(dir, "h") } });
  return { code: r.status, out: r.stdout, err: r.stderr, json: () => r.stdout.trim().split("\n").filter(Boolean).map((l) => JSON.parse(l)) };
}

beforeAll(() => ensureBuilt());

describe("realm run", () => {
  it("--json prints one object per command with decoded values", () => {
    writeFileSync(
      join(dir, "raw.realm"),
      [
        "# raw RMI on a bare RMM 1.0 platform",
        "smc VERSION 0x10000",
        "smc GRANULE_DELEGATE 0x80000000",
        "granule 0x80000000",
        "smc GRANULE_DELEGATE 0x80000000   # again: RMI_ERROR_INPUT is a result, not a failure",
        "smc GRANULE_UNDELEGATE 0x80000000",
        "granule 0x80000000",
        "",
      ].join("\n"),
    );
    const r = realm(["run", "raw.realm", "--json"]);
    expect(r.err).toBe("");
    expect(r.code).toBe(0);
    const rows = r.json();
    expect(rows.map((x) => [x.lineNo, x.command, x.ok])).toEqual([
      [2, "smc", true], [3, "smc", true], [4, "granule", true], [5, "smc", true], [6, "smc", true], [7, "granule", true],
    ]);
    expect(rows[0].value).toMatchObject({ status: "RMI_SUCCESS", outputs: { lower: "0x10000", higher: "0x10000" } });
    expect(rows[2].value).toMatchObject({ pa: "0x80000000", state: "DELEGATED", pas: "REALM" });
    expect(rows[3].value).toMatchObject({ status: "RMI_ERROR_INPUT", index: 0 });
    expect(rows[5].value).toMatchObject({ state: "UNDELEGATED", pas: "NS" });
  });

  it("stops at the first failing command with a non-zero status; --keep-going runs the rest", () => {
    writeFileSync(join(dir, "bad.realm"), "smc VERSION 0x10000\ngranule 0x80000001\nsmc GRANULE_DELEGATE 0x80000000\n");
    const r = realm(["run", "bad.realm", "--json"]);
    expect(r.code).toBe(1);
    const rows = r.json();
    expect(rows).toHaveLength(2);
    expect(rows[1]).toMatchObject({ lineNo: 2, ok: false, error: "granule: PA 0x80000001 is not 4 KiB aligned (its granule is 0x80000000)" });
    const k = realm(["run", "bad.realm", "--keep-going"]);
    expect(k.code).toBe(1);
    expect(k.out).toContain("realm> smc GRANULE_DELEGATE 0x80000000\nRMI_SUCCESS");
    expect(k.err).toBe("bad.realm:2: granule: PA 0x80000001 is not 4 KiB aligned (its granule is 0x80000000)\n");
  });

  it("piped input runs in plain line mode (no raw mode); usage errors exit 2", () => {
    const r = realm([], "smc VERSION 0x10000\ntuch\nexit\nsmc VERSION 0x10000\n");
    expect(r.out).toBe("RMI_SUCCESS    (RMI_VERSION 0x10000 on bare)\n  lower = 0x10000\n  higher = 0x10000\nbye\n");
    expect(r.err).toBe("error: unknown command 'tuch', did you mean 'touch'?\n");
    expect(r.code).toBe(1);
    expect(realm(["run"]).code).toBe(2);
    expect(realm(["--bogus"]).code).toBe(2);
    expect(realm(["run", "missing.realm"]).err).toMatch(/^realm run: cannot read missing.realm/);
  });

  it("a realm script: create, touch, inject a failure, read the RTTs and the accounting", () => {
    writeFileSync(
      join(dir, "realm.realm"),
      [
        "new r1 --series v8 --mem 16M",
        "new r2 --series v12 --mem 16M --vcpus 1",
        "use r1",
        "touch 0x80000000 --count 4",
        "rtt 0x80000000",
        "inject RTT_CREATE RMI_ERROR_RTT 2",
        "touch 0x80800000",
        "faults",
        "trace --grep injected",
        "acct",
        "ls",
        "destroy r2",
        "scenario run S10 --series v8",
      ].join("\n") + "\n",
    );
    const r = realm(["run", "realm.realm", "--json"]);
    expect(r.err).toBe("");
    expect(r.code).toBe(0);
    const rows = r.json();
    expect(rows.map((x) => x.command)).toEqual(["new", "new", "use", "touch", "rtt", "inject", "touch", "faults", "trace", "acct", "ls", "destroy", "scenario run"]);
    expect(rows.every((x) => x.ok)).toBe(true);
    expect(rows[0].value).toMatchObject({ name: "r1", series: "v8", rmm: "1.0", state: "ACTIVE", ramBase: "0x80000000" });
    expect(rows[1].value).toMatchObject({ name: "r2", series: "v12", vcpus: 1 });
    expect(rows[3].value).toMatchObject({ realm: "r1", done: 4, outcomes: { ok: 4 } });
    expect(rows[4].value.walk.at(-1).entry).toMatchObject({ level: 3, ipa: "0x80000000", state: "ASSIGNED", ripas: "RAM" });
    expect(rows[7].value.rules).toEqual([{ rule: '{"rmi":"RTT_CREATE","status":"RMI_ERROR_RTT","index":2}', fired: 1, active: false }]);
    expect(rows[8].value.lines[0]).toMatch(/^SMC_RMI_RTT_CREATE .* > RMI_ERROR_RTT 2 .*\(injected\)$/);
    // one host per posting: r2 lives on the v12 host, acct shows the v8 one (r1 is current)
    expect(rows[9].value).toMatchObject({ machine: "v8", stats: { granules: { RD: 1, REC: 2 } } });
    expect(rows[10].value.realms.map((x: { name: string }) => x.name)).toEqual(["r1", "r2"]);
    // S10 on v8: 15/43 as quoted compares the index with the new level: WARN, free the RTT, -ENXIO
    expect(rows[12].value.results).toMatchObject([{ id: "S10", series: "v8", outcome: "warn" }]);
  });

  it("a reader that goes away (| head -1) ends the run quietly, with no EPIPE trace", () => {
    writeFileSync(join(dir, "long.realm"), "smc VERSION 0x10000\n".repeat(4000));
    const r = spawnSync("bash", ["-c", `"${process.execPath}" "${cli}" run long.realm --json | head -1; echo "status \${PIPESTATUS[0]}" >&2`], {
      cwd: dir,
      encoding: "utf8",
    });
    expect(JSON.parse(r.stdout)).toMatchObject({ lineNo: 1, command: "smc", ok: true });
    // 141 when the EPIPE reaches the process (as a SIGPIPE would end it), 0 when Node drops it
    expect(r.stderr).toMatch(/^status (0|141)\n$/);
  });

  it("kernel install writes the kernelspec under --prefix", () => {
    const k = realm(["kernel", "install", "--prefix", join(dir, "jp")]);
    expect(k.err).toBe("");
    expect(k.code).toBe(0);
    expect(k.out.split("\n")[0]).toBe(`installed the Jupyter kernel "realm" (Realm (TypeScript)) in ${join(dir, "jp/share/jupyter/kernels/realm")}`);
  });
});

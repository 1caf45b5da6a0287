/** `chart`: the terminal chart, `--png FILE` (chart.js), `--live [on|off]` / `--no-live`. */
import { existsSync, mkdtempSync, readFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { createSession } from "../../src/commands/index.js";

/** Width and height from a PNG's IHDR chunk (PNG spec 11.2.2: right after the 8-byte signature and the chunk header). */
function pngSize(b: Buffer): { width: number; height: number } {
  expect(b.subarray(0, 8)).toEqual(Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]));
  expect(b.subarray(12, 16).toString("latin1")).toBe("IHDR");
  return { width: b.readUInt32BE(16), height: b.readUInt32BE(20) };
}

describe("chart --png", () => {
  it("writes a chart.js PNG (720x360) of the current host's accounting", async () => {
    const dir = mkdtempSync(join(tmpdir(), "realm-chart-"));
    const s = createSession({ cwd: dir });
    await s.run("new r --series v12 --mem 8M");
    await s.run("touch 0x80000000 --count 16");
    const samples = s.samplesOf("v12").length;
    const r = await s.run("chart --png acct.png");
    expect(r.ok).toBe(true);
    const file = join(dir, "acct.png");
    const png = readFileSync(file);
    expect(r.value).toMatchObject({ file });
    expect(r.text).toBe(`wrote acct.png (${png.length} bytes, ${samples} samples)`);
    expect(pngSize(png)).toEqual({ width: 720, height: 360 });
    // the same samples draw the same picture; more samples a different one
    await s.run("chart --png again.png");
    expect(Buffer.compare(readFileSync(join(dir, "again.png")), png)).toBe(0);
    await s.run("touch 0x80200000");
    await s.run("chart --png more.png");
    expect(Buffer.compare(readFileSync(join(dir, "more.png")), png)).not.toBe(0);
    // read-only: not part of the saved script
    expect(s.script.some((l) => l.startsWith("chart"))).toBe(false);
  });

  it("with no realm there is nothing to draw, and no file is written", async () => {
    const dir = mkdtempSync(join(tmpdir(), "realm-chart-"));
    const s = createSession({ cwd: dir });
    const r = await s.run("chart --png none.png");
    expect(r.error).toBe("chart: --png: no samples yet (create a realm first)");
    expect(existsSync(join(dir, "none.png"))).toBe(false);
  });
});

describe("chart --live", () => {
  it("--live turns the live chart on, --live off and --no-live turn it off", async () => {
    const s = createSession();
    const live = async (line: string) => {
      const r = await s.run(line);
      expect(r.ok, `${line}: ${r.error}`).toBe(true);
      expect(r.value).toMatchObject({ live: s.liveChart });
      return s.status().live;
    };
    expect(s.status().live).toBe(true);
    expect(await live("chart --live off")).toBe(false);
    // --live is "on", not a toggle
    expect(await live("chart --live")).toBe(true);
    expect(await live("chart --live")).toBe(true);
    expect(await live("chart --no-live")).toBe(false);
    expect(await live("chart --no-live")).toBe(false);
    expect(await live("chart --live on")).toBe(true);
    expect(await live("chart --live=off")).toBe(false);
    expect(await live("chart --live ON")).toBe(true);
    expect((await s.run("chart --live off")).text).toBe("live chart off (shown while commands run)");
  });

  it("bad switch values are usage errors that change nothing", async () => {
    const s = createSession();
    expect((await s.run("chart --live=maybe")).error).toBe("chart: --live: 'maybe' is not on or off");
    expect((await s.run("chart --live maybe")).error).toBe("chart: unexpected argument 'maybe'");
    expect((await s.run("chart --no-live=on")).error).toBe("chart: --no-live takes no value");
    expect((await s.run("chart --live --no-live")).error).toBe("chart: --live given twice");
    expect(s.liveChart).toBe(true);
  });

  it("completion and help know the switch", async () => {
    const s = createSession();
    expect(s.complete("chart --").items).toEqual(["--live", "--no-live", "--png", "--width"]);
    expect(s.complete("chart --live ").items).toEqual(["on", "off"]);
    expect(s.complete("chart --live o").items).toEqual(["on", "off"]);
    const h = await s.run("help chart");
    expect(h.text).toContain("usage: chart [--live [on|off]] [--png FILE] [--width N]");
    expect(h.text).toMatch(/^ {2}--live \[on\|off\] +the live chart while commands run: on \(default\) or off$/m);
  });
});

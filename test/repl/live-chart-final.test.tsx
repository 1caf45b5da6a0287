/**
 * `chart --live on` in the Ink REPL (issue 12 D): a command too short for a redraw of the live
 * view still shows the chart (its final frame stays in the scrollback, after the command line
 * and before its result); before `chart --live on` (the default live view, shown only while a
 * command runs) and after `chart --live off` nothing stays.
 */
import { mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { render } from "ink-testing-library";
import React from "react";
import { describe, expect, it } from "vitest";
import { createSession } from "../../src/commands/index.js";
import { App } from "../../repl/app.js";
import { History } from "../../repl/history.js";

const tick = (ms = 30) => new Promise((r) => setTimeout(r, ms));

async function repl() {
  const dir = mkdtempSync(join(tmpdir(), "realm-live-"));
  const session = createSession({ cwd: dir });
  const app = render(<App session={session} history={new History(join(dir, "history"))} />);
  const screen = () => app.frames.join("\n");
  const run = async (cmd: string, until: string) => {
    app.stdin.write(cmd);
    await tick();
    app.stdin.write("\r");
    const end = Date.now() + 20000;
    while (!screen().includes(until) && Date.now() < end) await tick(20);
    expect(screen()).toContain(until);
  };
  return { app, screen, run };
}

describe("chart --live on: the final frame of a short command", () => {
  it("shows the chart after a one-step touch once asked for; not before, not after --live off", async () => {
    const t = await repl();
    await t.run("new r --series v12 --mem 8M", "realm r: v12 (RMM 1.0)");
    await t.run("touch 0x80000000", "write 0x80000000 on vCPU 0: ok");
    expect(t.screen()).not.toMatch(/DATA=\d+/);
    await t.run("chart --live on", "live chart on");
    await t.run("touch 0x80001000", "write 0x80001000 on vCPU 0: ok");
    // The frame that first shows the result: command line, then the chart, then the result.
    const s = t.screen();
    const result = s.indexOf("write 0x80001000 on vCPU 0: ok");
    const cmd = s.lastIndexOf("realm> touch 0x80001000", result);
    const between = s.slice(cmd, result);
    expect(between).toMatch(/DATA=\d+/);
    await t.run("chart --live off", "live chart off");
    await t.run("touch 0x80002000", "write 0x80002000 on vCPU 0: ok");
    const s2 = t.screen();
    const r2 = s2.indexOf("write 0x80002000 on vCPU 0: ok");
    expect(s2.slice(s2.lastIndexOf("realm> touch 0x80002000", r2), r2)).not.toMatch(/DATA=\d+/);
    t.app.unmount();
  });
});

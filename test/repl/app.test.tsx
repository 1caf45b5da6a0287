import { mkdtempSync, readFileSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { render } from "ink-testing-library";
import React from "react";
import { describe, expect, it, vi } from "vitest";
import { createSession } from "../../src/commands/index.js";
import { App } from "../../repl/app.js";
import { History } from "../../repl/history.js";

const tick = (ms = 30) => new Promise((r) => setTimeout(r, ms));
const KEY = { up: "\u001B[A", down: "\u001B[B", left: "\u001B[D", tab: "\t", enter: "\r", ctrlC: "\u0003", ctrlD: "\u0004", ctrlR: "\u0012", ctrlU: "\u0015", backspace: "\u007F" };

function setup(historyLines: string[] = []) {
  const dir = mkdtempSync(join(tmpdir(), "realm-repl-"));
  const file = join(dir, "history");
  if (historyLines.length) writeFileSync(file, historyLines.join("\n") + "\n");
  const session = createSession({ cwd: dir });
  const history = new History(file);
  const onExit = vi.fn();
  const app = render(<App session={session} history={history} onExit={onExit} />);
  const type = async (s: string) => {
    app.stdin.write(s);
    await tick();
  };
  // Text and Enter go separately (toolchain.md pitfall 9).
  const enter = async (cmd: string) => {
    await type(cmd);
    await type(KEY.enter);
    await tick(60);
  };
  const screen = () => app.frames.join("\n");
  // The input line is the last line starting with the prompt (trailing blanks are trimmed).
  const input = () => (app.lastFrame() ?? "").split("\n").findLast((l) => l.startsWith("realm>")) ?? "";
  return { app, session, history, file, onExit, type, enter, screen, input };
}

describe("realm> REPL (Ink)", () => {
  it("runs commands and shows results, errors with suggestions and the status line", async () => {
    const t = setup();
    await tick();
    expect(t.app.lastFrame()).toContain("no realm · bare · RMM 1.0");
    await t.enter("smc GRANULE_DELEGATE 0x80000000");
    expect(t.screen()).toContain("realm> smc GRANULE_DELEGATE 0x80000000");
    expect(t.screen()).toContain("RMI_SUCCESS    (RMI_GRANULE_DELEGATE 0x80000000 on bare)");
    // the status line counts delegated granules
    expect(t.app.lastFrame()).toContain("DELEGATED 1");
    await t.enter("tuch 0x1000");
    expect(t.screen()).toContain("unknown command 'tuch', did you mean 'touch'?");
    await t.enter("smc GRANULE_DELEGATE 0x80000000");
    expect(t.screen()).toContain("RMI_ERROR_INPUT");
    expect(t.session.machine().platform.granule(0x80000000n).state).toBe("DELEGATED");
    t.app.unmount();
  });

  it("Tab completes commands, RMI names and option values; shows choices", async () => {
    const t = setup();
    await t.type("sm");
    await t.type(KEY.tab);
    await t.type("GRANULE_D");
    expect(t.input()).toBe("realm> smc GRANULE_D");
    await t.type(KEY.tab);
    await t.type("1");
    expect(t.input()).toBe("realm> smc GRANULE_DELEGATE 1");
    await t.type(KEY.ctrlU);
    await t.type("new r --series v1");
    await t.type(KEY.tab);
    // several choices: listed under the prompt
    expect(t.app.lastFrame()).toContain("v10  v12  v13  v14");
    await t.type("4");
    await t.type(KEY.tab);
    await t.type("--vc");
    await t.type(KEY.tab);
    expect(t.input()).toBe("realm> new r --series v14 --vcpus");
    t.app.unmount();
  });

  it("history: up/down browse, the draft survives, lines are kept in the file", async () => {
    const t = setup(["help", "smc VERSION 0x10000"]);
    await t.type("draft");
    await t.type(KEY.up);
    expect(t.input()).toContain("realm> smc VERSION 0x10000");
    await t.type(KEY.up);
    expect(t.input()).toContain("realm> help");
    await t.type(KEY.down);
    await t.type(KEY.down);
    expect(t.input()).toContain("realm> draft");
    await t.type(KEY.ctrlU);
    await t.enter("seed");
    expect(readFileSync(t.file, "utf8")).toBe("help\nsmc VERSION 0x10000\nseed\n");
    t.app.unmount();
  });

  it("Ctrl-R searches the history backwards; Enter runs the match", async () => {
    const t = setup(["smc VERSION 0x10000", "granule 0x80000000", "smc VERSION 0x20000"]);
    await t.type(KEY.ctrlR);
    await t.type("VERS");
    expect(t.app.lastFrame()).toContain("(reverse-i-search)'VERS': smc VERSION 0x20000");
    await t.type(KEY.ctrlR);
    expect(t.app.lastFrame()).toContain("(reverse-i-search)'VERS': smc VERSION 0x10000");
    await t.type(KEY.enter);
    await tick(60);
    expect(t.screen()).toContain("realm> smc VERSION 0x10000");
    expect(t.screen()).toContain("lower = 0x10000");
    t.app.unmount();
  });

  it("Ctrl-C clears the line; twice on an empty line exits", async () => {
    const t = setup();
    await t.type("granule 0x1");
    await t.type(KEY.ctrlC);
    expect(t.input().trim()).toBe("realm>");
    expect(t.onExit).not.toHaveBeenCalled();
    await t.type(KEY.ctrlC);
    expect(t.app.lastFrame()).toContain("press Ctrl-C again to exit");
    expect(t.onExit).not.toHaveBeenCalled();
    await t.type(KEY.ctrlC);
    expect(t.onExit).toHaveBeenCalledWith(0);
  });

  it("Ctrl-D deletes on a non-empty line and exits on an empty one; 'exit' exits", async () => {
    const t = setup();
    await t.type("ab");
    await t.type(KEY.left);
    await t.type(KEY.ctrlD);
    expect(t.input()).toContain("realm> a");
    expect(t.onExit).not.toHaveBeenCalled();
    await t.type(KEY.backspace);
    await t.type(KEY.ctrlD);
    expect(t.onExit).toHaveBeenCalledWith(0);
    const u = setup();
    await u.enter("exit");
    expect(u.onExit).toHaveBeenCalledWith(0);
  });

  it("pasted text with line ends runs each line in order", async () => {
    const t = setup();
    await t.type("smc GRANULE_DELEGATE 0x80002000\rgranule 0x80002000\r");
    await tick(120);
    const s = t.screen();
    expect(s.indexOf("realm> smc GRANULE_DELEGATE 0x80002000")).toBeLessThan(s.indexOf("realm> granule 0x80002000"));
    expect(s).toContain("state       DELEGATED");
    t.app.unmount();
  });

  it("Ctrl-C stops a running workload; the live chart shows it; the line typed meanwhile stays", async () => {
    const t = setup();
    await t.enter("new r --series v12 --mem 64M");
    const until = Date.now() + 20000;
    while (!t.screen().includes("realm r: v12 (RMM 1.0)") && Date.now() < until) await tick(20);
    expect(t.screen()).toContain("realm r: v12 (RMM 1.0)");
    await t.type("workload seq");
    await t.type(KEY.enter);
    while (!(t.app.lastFrame() ?? "").includes("running…") && Date.now() < until) await tick(20);
    await tick(300);
    expect(t.app.lastFrame()).toMatch(/DATA=\d+/);
    expect(t.app.lastFrame()).toContain("(Ctrl-C stops)");
    // Typed while running: kept on the line; Ctrl-C stops the workload, Enter then runs it.
    await t.type("acct");
    await t.type(KEY.ctrlC);
    while (!t.screen().includes("(stopped)") && Date.now() < until) await tick(20);
    expect(t.input()).toBe("realm> acct");
    await t.type(KEY.enter);
    while (!t.screen().includes("accounting on the v12 host") && Date.now() < until) await tick(20);
    const s = t.screen();
    expect(s).toMatch(/workload seq: \d+\/16384 steps \(stopped\)/);
    expect(s.indexOf("(stopped)")).toBeLessThan(s.indexOf("accounting on the v12 host"));
    expect(t.onExit).not.toHaveBeenCalled();
    t.app.unmount();
  });

  it("Enter while a command runs queues the line; Ctrl-C discards the queue", async () => {
    const t = setup();
    await t.enter("new r --series v12 --mem 64M");
    const until = Date.now() + 20000;
    while (!t.screen().includes("realm r: v12") && Date.now() < until) await tick(20);
    const p = t.session.machine().platform;
    await t.enter("workload seq --pages 3000");
    expect(p.granule(0xf0000000n).state).toBe("UNDELEGATED");
    await t.enter("smc GRANULE_DELEGATE 0xF0000000");
    while (!t.screen().includes("(RMI_GRANULE_DELEGATE 0xf0000000 on v12)") && Date.now() < until) await tick(20);
    const s = t.screen();
    expect(s).toMatch(/workload seq: 3000\/3000 steps/);
    expect(s.indexOf("workload seq: 3000/3000")).toBeLessThan(s.indexOf("(RMI_GRANULE_DELEGATE 0xf0000000 on v12)"));
    expect(p.granule(0xf0000000n).state).toBe("DELEGATED");
    await t.enter("workload seq");
    await t.enter("smc GRANULE_DELEGATE 0xF0001000");
    while (!(t.app.lastFrame() ?? "").includes("1 queued") && Date.now() < until) await tick(20);
    expect(t.app.lastFrame()).toContain("1 queued");
    await t.type(KEY.ctrlC);
    while (!t.screen().includes("(stopped)") && Date.now() < until) await tick(20);
    await tick(200);
    expect(p.granule(0xf0001000n).state).toBe("UNDELEGATED");
    t.app.unmount();
  });
});

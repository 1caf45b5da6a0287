/**
 * Ctrl-C stops a running command in the key's own turn (repl/app.tsx calls the runner's stop
 * before the state change is rendered): the guest makes no access after the key, however long
 * the render of that state takes.
 */
import { mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { render } from "ink-testing-library";
import { describe, expect, it } from "vitest";
import { createSession } from "../../src/commands/index.js";
import { App } from "../../repl/app.js";
import { History } from "../../repl/history.js";

const tick = (ms = 20) => new Promise((r) => setTimeout(r, ms));

describe("Ctrl-C during a long touch", () => {
  it("no access after the key; the result says where it stopped", async () => {
    const dir = mkdtempSync(join(tmpdir(), "realm-intr-"));
    const session = createSession({ cwd: dir });
    const app = render(<App session={session} history={new History(undefined)} />);
    const screen = () => app.frames.join("\n");
    const until = Date.now() + 20000;
    const enter = async (cmd: string) => {
      app.stdin.write(cmd);
      await tick();
      app.stdin.write("\r");
    };
    await enter("new r --series v12 --mem 256M");
    while (!screen().includes("realm r: v12") && Date.now() < until) await tick();
    await enter("touch 0x80000000 --count 65536");
    while (!(app.lastFrame() ?? "").includes("running… touch") && Date.now() < until) await tick();
    const data = () => session.machine().platform.granuleCounts()["DATA"] ?? 0;
    const atKey = data();
    expect(atKey).toBeGreaterThan(0);
    app.stdin.write("\u0003");
    while (!/stopped\s+after/.test(screen()) && Date.now() < until) await tick(5);
    expect(data()).toBe(atKey);
    expect(screen()).toMatch(new RegExp(`x${atKey} \\(stride 0x1000\\) on vCPU 0: ${atKey} ok`));
    app.unmount();
  });
});

/**
 * End to end: the REAL binary (node dist/repl/cli.js, built by `npm test` before vitest runs; built
 * here if missing or older than its sources) in a real terminal (tmux): start, type commands,
 * read the screen, exit with status 0.
 */
import { execFileSync } from "node:child_process";
import { mkdtempSync, readFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { cli, ensureBuilt } from "./ensure-built.js";

const sock = `realm-e2e-${process.pid}`;
const dir = mkdtempSync(join(tmpdir(), "realm-e2e-"));

const tmux = (...args: string[]) => execFileSync("tmux", ["-L", sock, ...args], { encoding: "utf8" });
const screen = () => tmux("capture-pane", "-p", "-J", "-t", "realm", "-S", "-200");

async function waitFor(pred: (s: string) => boolean, what: string, ms = 15000): Promise<string> {
  const until = Date.now() + ms;
  let s = "";
  while (Date.now() < until) {
    s = screen();
    if (pred(s)) return s;
    await new Promise((r) => setTimeout(r, 100));
  }
  throw new Error(`timed out waiting for ${what}; screen:\n${s}`);
}

async function typeLine(cmd: string): Promise<void> {
  // Text and Enter separately (toolchain.md pitfall 9).
  tmux("send-keys", "-t", "realm", "-l", cmd);
  await new Promise((r) => setTimeout(r, 150));
  tmux("send-keys", "-t", "realm", "Enter");
}

beforeAll(() => {
  ensureBuilt();
  const hist = join(dir, "history");
  tmux(
    "new-session", "-d", "-s", "realm", "-x", "110", "-y", "40",
    `cd ${dir} && REALM_HISTORY=${hist} node ${cli}; echo EXITED rc=$?; sleep 60`,
  );
});

afterAll(() => {
  try {
    tmux("kill-server");
  } catch {
    /* already gone */
  }
});

describe("realm binary in tmux", () => {
  it("starts, runs typed commands, completes with Tab, keeps history, exits 0", async () => {
    await waitFor((s) => s.includes("realm>") && s.includes("RMM 1.0"), "the prompt and status line");
    await typeLine("smc GRANULE_DELEGATE 0x80000000");
    await waitFor((s) => s.includes("RMI_SUCCESS    (RMI_GRANULE_DELEGATE 0x80000000 on bare)"), "the smc result");
    await typeLine("tuch 0x1000");
    await waitFor((s) => s.includes("unknown command 'tuch', did you mean 'touch'?"), "the suggestion");
    // Tab completion of a command name, then its argument.
    tmux("send-keys", "-t", "realm", "-l", "gran");
    await new Promise((r) => setTimeout(r, 150));
    tmux("send-keys", "-t", "realm", "Tab");
    await new Promise((r) => setTimeout(r, 150));
    tmux("send-keys", "-t", "realm", "-l", "0x80000000");
    await new Promise((r) => setTimeout(r, 150));
    tmux("send-keys", "-t", "realm", "Enter");
    const s = await waitFor((x) => x.includes("state       DELEGATED"), "the granule view");
    expect(s).toContain("realm> granule 0x80000000");
    expect(s).toContain("DELEGATED 1");
    // History: Up recalls the last command; Enter runs it again.
    tmux("send-keys", "-t", "realm", "Up");
    await new Promise((r) => setTimeout(r, 150));
    tmux("send-keys", "-t", "realm", "Enter");
    await waitFor((x) => x.split("state       DELEGATED").length === 3, "the recalled command's output");
    // A realm, a workload with the live chart, stopped with Ctrl-C; the status line follows.
    await typeLine("new r1 --series v8 --mem 1G");
    await waitFor((x) => x.includes("realm r1: v8 (RMM 1.0), 40-bit IPA, RAM 0x80000000+1 GiB"), "the new realm");
    await waitFor((x) => /realm r1 · v8 · RMM 1\.0 · RD 1/.test(x), "the status line of r1");
    await typeLine("workload seq");
    await waitFor((x) => x.includes("running…") && x.includes("(Ctrl-C stops)") && /DATA=\d+/.test(x), "the live chart", 30000);
    tmux("send-keys", "-t", "realm", "C-c");
    const stopped = await waitFor((x) => x.includes("(stopped)"), "the stopped workload", 30000);
    expect(stopped).toMatch(/workload seq: \d+\/262144 steps \(stopped\)/);
    await typeLine("rtt 0x80000000");
    await waitFor((x) => /L3 RTT 0x[0-9a-f]+ +\[0\] +0x80000000 +\+4K +ASSIGNED RAM +pa 0x/.test(x), "the RTT walk");
    await typeLine("exit");
    const end = await waitFor((x) => x.includes("EXITED rc="), "the exit");
    expect(end).toContain("EXITED rc=0");
    expect(readFileSync(join(dir, "history"), "utf8")).toBe(
      "smc GRANULE_DELEGATE 0x80000000\ntuch 0x1000\ngranule 0x80000000\nnew r1 --series v8 --mem 1G\nworkload seq\nrtt 0x80000000\nexit\n",
    );
    // (the recalled line is a consecutive duplicate: kept once)
  });
});

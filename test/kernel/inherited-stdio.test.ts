/**
 * The kernel leaves the stdout and stderr it inherits from the Jupyter client in blocking mode.
 * Node switches inherited pipes and sockets to non-blocking (libuv); the open file is shared
 * with the client, whose own large writes then stop part-way (EAGAIN): kclient.py's answer to
 * an interrupted `%realm workload` (live chart frames, > 212,992 bytes, the socket buffer)
 * arrived cut short and the parity tests hung. Linux only (/proc).
 */
import { readFileSync } from "node:fs";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { KernelClient } from "./client.js";

const O_NONBLOCK = 0o4000;

/** The open-file flags of a descriptor of a process (octal in /proc/PID/fdinfo/FD). */
function fdFlags(pid: number, fd: number): number {
  const m = /^flags:\s+([0-7]+)$/m.exec(readFileSync(`/proc/${pid}/fdinfo/${fd}`, "utf8"));
  if (m === null) throw new Error(`no flags for fd ${fd} of ${pid}`);
  return parseInt(m[1]!, 8);
}

let k: KernelClient;

beforeAll(async () => {
  k = await KernelClient.start();
});

afterAll(async () => {
  await k?.close();
});

describe.runIf(process.platform === "linux")("the client's stdout and stderr (shared with the kernel)", () => {
  it("stay blocking after the kernel started and ran a cell", async () => {
    expect((await k.execute("%realm new s1 --series v12 --mem 16M")).reply.content.status).toBe("ok");
    expect(fdFlags(k.pid, 1) & O_NONBLOCK).toBe(0);
    expect(fdFlags(k.pid, 2) & O_NONBLOCK).toBe(0);
  });

  it("an answer larger than the socket buffer arrives whole", async () => {
    const big = await k.execute(`console.log("y".repeat(300_000))`);
    expect(big.iopub.filter((m) => m.msg_type === "stream").map((m) => m.content.text).join("").length).toBeGreaterThanOrEqual(300_000);
  });
});

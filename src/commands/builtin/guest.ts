/** Guest activity on the current realm: touch, share, unshare, workload. */
import type { GuestOp } from "../../guest/guest.js";
import { boot, random, sequential, type Workload } from "../../guest/workloads.js";
import type { TouchResult } from "../../vmm/vm.js";
import type { AccessKind } from "../../rmm/realm-exec.js";
import type { CommandContext, RealmEntry } from "../context.js";
import { UsageError, type Args, type CommandSpec, type Outcome } from "../spec.js";
import { formatSize, hex, sizeToken } from "../values.js";

/** Yield to the event loop (keys, Ctrl-C, redraws) every this many guest steps. */
const YIELD_EVERY = 64;

function checkRange(r: RealmEntry, what: string, ipa: bigint, size: bigint): void {
  const limit = 1n << BigInt(r.ipaBits);
  if (ipa >= limit || ipa + size > limit) {
    throw new UsageError(`${what} ${hex(ipa)}${size > 1n ? `..${hex(ipa + size)}` : ""} is outside the realm's ${r.ipaBits}-bit IPA space (limit ${hex(limit)})`);
  }
}

function accessOf(a: Args): AccessKind {
  return a.flag("read") ? "read" : a.flag("exec") ? "exec" : "write";
}

function vcpuOf(r: RealmEntry, a: Args): number {
  const v = a.num("vcpu") ?? 0;
  if (v >= r.vcpus) throw new UsageError(`--vcpu ${v}: realm ${r.name} has ${r.vcpus} vCPU${r.vcpus === 1 ? "" : "s"} (0..${r.vcpus - 1})`);
  return v;
}

export interface TouchSummary {
  realm: string;
  ipa: bigint;
  access: AccessKind;
  vcpu: number;
  count: number;
  stride: bigint;
  done: number;
  outcomes: Record<string, number>;
  exits: number;
  rmiCalls: number;
  /** Every result when count is small, else the first and last few. */
  results: (TouchResult & { ipa: bigint })[];
  interrupted: boolean;
  /** Why the accesses stopped before `count` (a hang, a livelock, the host out of memory). */
  stopped?: string;
}

/** What a run of guest steps did (touch --count, workload). */
interface StepRun {
  done: number;
  outcomes: Record<string, number>;
  exits: number;
  rmiCalls: number;
  interrupted: boolean;
  /** Set when a step ended so that going on is pointless: the message says which step and why. */
  stopped?: string;
}

/**
 * Why a step's result stops the run: the vCPU never completed it (a hang: the VMM loop gave up;
 * a livelock: the same exit again and again), or KVM_RUN failed with -ENOMEM. Going on would
 * repeat the same ~10,000 exits per step (issue 11).
 */
function stopReason(r: RealmEntry, res: TouchResult): string | undefined {
  const oom = r.host.pages.freePages === 0 ? " - the host is out of memory (0 free pages)" : "";
  if (res.outcome === "hang") return `hang: the access never completed (${res.exits} exits, ${res.rmiCalls} RMI calls)${oom}`;
  if (res.outcome === "livelock") return `livelock: the vCPU keeps taking the same exit (${res.exits} exits)${oom}`;
  if (res.outcome === "error" && res.errno === "-ENOMEM") return `KVM_RUN = -ENOMEM${oom}`;
  return undefined;
}

/**
 * Run `total` guest steps: progress and a turn of the event loop every YIELD_EVERY steps (or
 * 25 ms), stop on Ctrl-C (`interrupted`) and at the first step that hangs, livelocks or runs out
 * of memory (`stopped`, naming the step).
 */
async function runSteps(s: CommandContext, r: RealmEntry, command: string, total: number, step: (i: number) => TouchResult, what: (i: number) => string, onResult?: (i: number, res: TouchResult) => void): Promise<StepRun> {
  const run: StepRun = { done: 0, outcomes: {}, exits: 0, rmiCalls: 0, interrupted: false };
  for (let i = 0; i < total; i++) {
    if (s.dueForYield(i, YIELD_EVERY)) {
      s.onProgress?.({ command, done: i, total, sample: s.lastSample(r.host) });
      await s.yieldNow();
      if (s.aborted) {
        run.interrupted = true;
        break;
      }
    }
    const res = step(i);
    run.done++;
    run.outcomes[res.outcome] = (run.outcomes[res.outcome] ?? 0) + 1;
    run.exits += res.exits;
    run.rmiCalls += res.rmiCalls;
    onResult?.(i, res);
    const why = stopReason(r, res);
    if (why !== undefined) {
      run.stopped = `${what(i)}: ${why}${run.done < total ? `; stopped after ${run.done} of ${total}` : ""}`;
      break;
    }
  }
  return run;
}

export const touchCommand: CommandSpec<CommandContext> = {
  name: "touch",
  aliases: ["t"],
  summary: "guest accesses at IPA (exits, stage-2 faults and maps as the posting does them)",
  help:
    "Stops at the first access that hangs, livelocks or finds the host out of memory (the command\n" +
    "fails and says which access), and on Ctrl-C; long runs show progress.",
  args: [{ name: "ipa", kind: "address", help: "guest physical address (protected, or the unprotected alias)" }],
  options: [
    { name: "vcpu", kind: "count", meta: "N", help: "vCPU making the access (default 0)", min: 0, max: 511 },
    { name: "read", kind: "flag", group: "access", help: "a read access" },
    { name: "write", kind: "flag", group: "access", help: "a write access (the default)" },
    { name: "exec", kind: "flag", group: "access", help: "an instruction fetch" },
    { name: "count", kind: "count", meta: "N", help: "number of accesses (default 1)", min: 1, max: 1 << 26 },
    { name: "stride", kind: "size", meta: "SIZE", help: "distance between accesses (default 4K)" },
  ],
  interruptible: true,
  examples: ["touch 0x80000000", "touch 0x80000000 --count 512 --stride 4K --read", "touch 0x8080000000 --vcpu 1   (the unprotected alias of 0x80000000 in a 40-bit realm)"],
  async run(s, a): Promise<Outcome> {
    const r = s.realm();
    const ipa = a.big("ipa")!;
    // (addresses are absolute IPAs: guest RAM starts at the VM's RAM base, see 'ls')
    const n = a.num("count") ?? 1;
    const stride = a.big("stride") ?? 4096n;
    if (n > 1 && stride === 0n) throw new UsageError("--stride must not be 0 with --count > 1");
    checkRange(r, "IPA", ipa, stride * BigInt(n - 1) + 1n);
    const access = accessOf(a);
    const vcpu = vcpuOf(r, a);
    const keep = n <= 16 ? n : 8;
    const results: (TouchResult & { ipa: bigint })[] = [];
    const tail: (TouchResult & { ipa: bigint })[] = [];
    const at = (i: number) => ipa + stride * BigInt(i);
    const run = await runSteps(s, r, "touch", n, (i) => r.vm.touch(at(i), { vcpu, access }), (i) => `access #${i + 1} at ${hex(at(i))}`, (i, res) => {
      const row = { ...res, ipa: at(i) };
      if (results.length < keep) results.push(row);
      else {
        tail.push(row);
        if (tail.length > 4) tail.shift();
      }
    });
    results.push(...tail);
    const sum: TouchSummary = { realm: r.name, ipa, access, vcpu, count: n, stride, done: run.done, outcomes: run.outcomes, exits: run.exits, rmiCalls: run.rmiCalls, results, interrupted: run.interrupted };
    if (run.stopped !== undefined) sum.stopped = run.stopped;
    // what ran, so that `realm run` replays exactly (a stopped run replays to the same stop)
    const replay = run.done < n ? replayTouch(a, run.done) : undefined;
    return { value: sum, kind: "touch", ...(replay !== undefined ? { replay } : {}), ...(run.stopped !== undefined ? { failed: run.stopped } : {}) };
  },
};

function replayTouch(a: Args, done: number): string {
  const parts = ["touch", hex(a.big("ipa")!)];
  if (a.has("vcpu")) parts.push("--vcpu", String(a.num("vcpu")));
  for (const f of ["read", "write", "exec"]) if (a.flag(f)) parts.push(`--${f}`);
  parts.push("--count", String(done));
  if (a.has("stride")) parts.push("--stride", sizeToken(a.big("stride")!));
  return parts.join(" ");
}

function rangeCommand(name: "share" | "unshare"): CommandSpec<CommandContext> {
  return {
    name,
    summary:
      name === "share"
        ? "the guest makes [IPA, IPA+SIZE) shared (RSI RIPAS change to EMPTY; host handling)"
        : "the guest makes [IPA, IPA+SIZE) private again (RSI RIPAS change to RAM; host handling)",
    args: [
      { name: "ipa", kind: "address", help: "base, 4 KiB aligned" },
      { name: "size", kind: "size", help: "length, a multiple of 4 KiB" },
    ],
    examples: [`${name} 0x80200000 2M`],
    run(s, a) {
      const r = s.realm();
      const ipa = a.big("ipa")!;
      const size = a.big("size")!;
      if (ipa % 4096n !== 0n) throw new UsageError(`IPA ${hex(ipa)} is not 4 KiB aligned`);
      if (size === 0n || size % 4096n !== 0n) throw new UsageError(`SIZE ${formatSize(size)} is not a positive multiple of 4 KiB`);
      checkRange(r, "range", ipa, size);
      if (ipa + size > 1n << BigInt(r.ipaBits - 1)) {
        throw new UsageError(`range ${hex(ipa)}..${hex(ipa + size)} is not in the protected half (below ${hex(1n << BigInt(r.ipaBits - 1))}); give the protected IPA`);
      }
      const result = name === "share" ? r.vm.share(ipa, size) : r.vm.unshare(ipa, size);
      return { value: { realm: r.name, op: name, ipa, size, result }, kind: "range" };
    },
  };
}

export const shareCommand = rangeCommand("share");
export const unshareCommand = rangeCommand("unshare");

/** Guest RAM base of a realm VM (the host's memslot; 0x8000_0000 by default in the host model). */
export function ramBase(r: RealmEntry): bigint {
  return BigInt(r.vm.ramBase);
}

const WORKLOADS = ["seq", "random", "boot", "share-cycle"] as const;

/**
 * `workload NAME`: a guest workload as a list of steps, each one guest operation run through the
 * host model. seq/random/boot are the guest model's own workloads (src/guest/workloads.ts,
 * executed op by op with vm.run); share-cycle alternates share/unshare and accesses. The command
 * yields between steps (Ctrl-C stops it); a stopped workload is saved with the number of steps
 * it ran, so `realm run` replays it exactly.
 */
export const workloadCommand: CommandSpec<CommandContext> = {
  name: "workload",
  aliases: ["wl"],
  summary: "run a guest workload on the current realm (Ctrl-C stops it)",
  help:
    "  seq          write every page of guest RAM in order (--pages N: the first N pages)\n" +
    "  random       N accesses to random pages of guest RAM (--pages N, default 1024; --seed S)\n" +
    "  boot         read the kernel image, write RAM outward, share a bounce buffer (--size, default\n" +
    "               64K) and write it through the unprotected alias\n" +
    "  share-cycle  share a region (--size, default 2M, at the end of RAM), touch it through the\n" +
    "               alias, make it private again and touch it; --rounds times (default 4)\n" +
    "The REPL shows a live chart of granules by state while it runs.",
  args: [{ name: "name", kind: "enum", choices: WORKLOADS, help: WORKLOADS.join(", ") }],
  options: [
    { name: "pages", kind: "count", meta: "N", help: "pages (seq) or accesses (random)", min: 1, max: 1 << 28 },
    { name: "size", kind: "size", meta: "SIZE", help: "bounce buffer (boot) or region (share-cycle)" },
    { name: "rounds", kind: "count", meta: "N", help: "share-cycle rounds (default 4)", min: 1, max: 1 << 20 },
    { name: "vcpu", kind: "count", meta: "N", help: "vCPU (default 0)", min: 0, max: 511 },
    { name: "seed", kind: "count", meta: "S", help: "seed of random (default: from the session seed)", min: 1, max: 0xffff_ffff },
    { name: "steps", kind: "count", meta: "N", help: "stop after N steps", min: 0, max: Number.MAX_SAFE_INTEGER },
  ],
  interruptible: true,
  examples: ["workload seq", "workload random --pages 4096", "workload boot", "workload share-cycle --size 4M --rounds 8"],
  async run(s, a): Promise<Outcome> {
    const r = s.realm();
    const name = a.str("name") as (typeof WORKLOADS)[number];
    const vcpu = vcpuOf(r, a);
    const base = ramBase(r);
    const alias = 1n << BigInt(r.ipaBits - 1);
    const ramPages = Number(r.memory / 4096n);
    const replay = ["workload", name];
    let total: number;
    let step: (i: number) => TouchResult;
    if (name === "share-cycle") {
      const size = a.big("size") ?? 2n << 20n;
      if (size === 0n || size % 4096n !== 0n || size > r.memory) throw new UsageError(`--size ${formatSize(size)} must be a positive multiple of 4 KiB within guest RAM (${formatSize(r.memory)})`);
      const rounds = a.num("rounds") ?? 4;
      const region = base + r.memory - size;
      total = rounds * 4;
      step = (i) => {
        switch (i % 4) {
          case 0:
            return r.vm.share(region, size);
          case 1:
            return r.vm.touch(alias + region, { vcpu, access: "write" });
          case 2:
            return r.vm.unshare(region, size);
          default:
            return r.vm.touch(region, { vcpu, access: "write" });
        }
      };
      replay.push("--size", sizeToken(size), "--rounds", String(rounds));
    } else {
      let w: Workload;
      if (name === "seq") {
        const n = Math.min(a.num("pages") ?? ramPages, ramPages);
        w = sequential(base, BigInt(n) * 4096n);
        replay.push("--pages", String(n));
      } else if (name === "random") {
        const n = a.num("pages") ?? 1024;
        const seed = a.num("seed") ?? ((((s.seed * 2654435761) >>> 0) ^ s.script.length) >>> 0 || 1);
        w = random(base, r.memory, n, seed);
        replay.push("--pages", String(n), "--seed", String(seed));
      } else {
        const bounce = a.big("size") ?? 64n << 10n;
        const image = BigInt(r.vm.imageSize);
        if (bounce === 0n || bounce % 4096n !== 0n || bounce + image > r.memory) throw new UsageError(`--size ${formatSize(bounce)}: the bounce buffer must be a positive multiple of 4 KiB that fits after the image`);
        w = boot(base, r.memory, image, bounce, alias);
        replay.push("--size", sizeToken(bounce));
      }
      // generated one step at a time (steps run in order): nothing is built up front
      total = w.length;
      const ops = w.ops();
      step = () => r.vm.run(vcpu, [ops.next().value as GuestOp]);
    }
    if (a.has("vcpu")) replay.push("--vcpu", String(vcpu));
    const limit = Math.min(total, a.num("steps") ?? total);
    const run = await runSteps(s, r, `workload ${name}`, limit, step, (i) => `step ${i + 1}`);
    const done = run.done;
    if (done < total) replay.push("--steps", String(done));
    const st = r.host.stats();
    return {
      value: { realm: r.name, workload: name, steps: done, of: total, interrupted: run.interrupted, ...(run.stopped !== undefined ? { stopped: run.stopped } : {}), outcomes: run.outcomes, exits: run.exits, rmiCalls: run.rmiCalls, granules: st.granules, leakedPages: st.leakedPages, warnCount: st.warnCount },
      kind: "workload",
      replay: replay.join(" "),
      ...(run.stopped !== undefined ? { failed: run.stopped } : {}),
    };
  },
};

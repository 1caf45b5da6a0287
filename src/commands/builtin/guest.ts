/** Guest activity on the current realm: touch, share, unshare, workload. */
import type { RealmEntry, Session } from "../session.js";
import type { Access, TouchResultLike } from "../sim.js";
import { UsageError, type Args, type CommandSpec, type Outcome } from "../spec.js";
import { formatSize, hex, sizeToken } from "../values.js";

/** Yield to the event loop (keys, Ctrl-C, redraws) every this many guest steps. */
const YIELD_EVERY = 64;

function count(x: unknown): number {
  if (typeof x === "number") return x;
  if (Array.isArray(x)) return x.length;
  return 0;
}

function checkRange(r: RealmEntry, what: string, ipa: bigint, size: bigint): void {
  const limit = 1n << BigInt(r.ipaBits);
  if (ipa >= limit || ipa + size > limit) {
    throw new UsageError(`${what} ${hex(ipa)}${size > 1n ? `..${hex(ipa + size)}` : ""} is outside the realm's ${r.ipaBits}-bit IPA space (limit ${hex(limit)})`);
  }
}

function accessOf(a: Args): Access {
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
  access: Access;
  vcpu: number;
  count: number;
  stride: bigint;
  done: number;
  outcomes: Record<string, number>;
  exits: number;
  rmiCalls: number;
  /** Every result when count is small, else the first and last few. */
  results: (TouchResultLike & { ipa: bigint })[];
  interrupted: boolean;
}

export const touchCommand: CommandSpec<Session> = {
  name: "touch",
  aliases: ["t"],
  summary: "guest accesses at IPA (exits, stage-2 faults and maps as the posting does them)",
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
  examples: ["touch 0x1000", "touch 0 --count 512 --stride 4K --read", "touch 0x8000000000 --vcpu 1"],
  async run(s, a): Promise<Outcome> {
    const r = s.realm();
    const ipa = a.big("ipa")!;
    const n = a.num("count") ?? 1;
    const stride = a.big("stride") ?? 4096n;
    if (n > 1 && stride === 0n) throw new UsageError("--stride must not be 0 with --count > 1");
    checkRange(r, "IPA", ipa, stride * BigInt(n - 1) + 1n);
    const access = accessOf(a);
    const vcpu = vcpuOf(r, a);
    const sum: TouchSummary = { realm: r.name, ipa, access, vcpu, count: n, stride, done: 0, outcomes: {}, exits: 0, rmiCalls: 0, results: [], interrupted: false };
    const keep = n <= 16 ? n : 8;
    const tail: (TouchResultLike & { ipa: bigint })[] = [];
    for (let i = 0; i < n; i++) {
      if (i > 0 && i % YIELD_EVERY === 0) {
        s.onProgress?.({ command: "touch", done: i, total: n, sample: s.sample(r.host, `touch ${i}/${n}`) });
        await s.yieldNow();
        if (s.aborted) {
          sum.interrupted = true;
          break;
        }
      }
      const at = ipa + stride * BigInt(i);
      const res = r.vm.touch(at, { vcpu, access });
      sum.done++;
      sum.outcomes[res.outcome] = (sum.outcomes[res.outcome] ?? 0) + 1;
      sum.exits += count(res.exits);
      sum.rmiCalls += count(res.rmiCalls);
      const row = { ...res, ipa: at };
      if (sum.results.length < keep) sum.results.push(row);
      else {
        tail.push(row);
        if (tail.length > 4) tail.shift();
      }
    }
    sum.results.push(...tail);
    s.sample(r.host, `touch ${hex(ipa)}${n > 1 ? ` x${sum.done}` : ""}`);
    const replay = sum.interrupted ? replayTouch(a, sum.done) : undefined;
    return { value: sum, kind: "touch", ...(replay !== undefined ? { replay } : {}) };
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

function rangeCommand(name: "share" | "unshare"): CommandSpec<Session> {
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
    examples: [`${name} 0x200000 2M`],
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
      s.sample(r.host, `${name} ${hex(ipa)} ${sizeToken(size)}`);
      return { value: { realm: r.name, op: name, ipa, size, result }, kind: "range" };
    },
  };
}

export const shareCommand = rangeCommand("share");
export const unshareCommand = rangeCommand("unshare");

/**
 * Issue 11 "Bounded, interruptible and exact under big, hostile and replayed input": one labelled
 * regression case per defect (1-7, 9, 10; 8 is in realm-create's own tests). Each failed on the
 * code before the fix.
 */
import { mkdtempSync, readFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { Readable, Writable } from "node:stream";
import { describe, expect, it, vi } from "vitest";
import { createSession, Host, Platform } from "../../src/index.js";
import { SEED_MAX } from "../../src/commands/index.js";
import { scriptLines } from "../../src/commands/script.js";
import { runLines, progressReporter } from "../../repl/plain.js";
import { random, randomWorkload, sequential, boot, bootWorkload } from "../../src/guest/workloads.js";
import { GfnBitmap } from "../../src/kvm/mem-attr.js";
import { IncrementalInvariants } from "../../src/host/invariants.js";
import { TimeSeries, type SeriesSample } from "../../src/trace/series.js";

/** A writable that keeps what was written. */
function sink(isTTY = false): Writable & { text: string; isTTY: boolean } {
  const w = new Writable({
    write(chunk, _enc, cb) {
      w.text += String(chunk);
      cb();
    },
  }) as Writable & { text: string; isTTY: boolean };
  w.text = "";
  w.isTTY = isTTY;
  return w;
}

describe("defect 1: workloads are generated lazily and stop on Ctrl-C", () => {
  it("(a) a 2^28-step workload has its length without building its operations", () => {
    const w = random(0x8000_0000n, 16n << 20n, 2 ** 28, 7);
    expect(w.length).toBe(2 ** 28);
    const first = w.ops().next().value;
    expect(first).toEqual(randomWorkload(0x8000_0000n, 16n << 20n, 1, 7)[0]);
    // the list forms are the generators' operations
    expect(bootWorkload(0x8000_0000n, 1n << 20n, 64n << 10n, 64n << 10n, 1n << 39n)).toEqual([...boot(0x8000_0000n, 1n << 20n, 64n << 10n, 64n << 10n, 1n << 39n).ops()]);
    expect(boot(0x8000_0000n, 1n << 20n, 64n << 10n, 64n << 10n, 1n << 39n).length).toBe(bootWorkload(0x8000_0000n, 1n << 20n, 64n << 10n, 64n << 10n, 1n << 39n).length);
    expect(sequential(0x8000_0000n, 10n * 4096n + 1n).length).toBe(11);
  });

  it("(b) `workload random --pages 100000000` on a 16M realm starts at once and Ctrl-C stops it; the replay line has the steps run", async () => {
    const s = createSession();
    expect((await s.run("new a --mem 16M")).ok).toBe(true);
    const ac = new AbortController();
    let progress = 0;
    const t0 = performance.now();
    const p = s.run("workload random --pages 100000000", {
      signal: ac.signal,
      onProgress: () => {
        if (++progress === 20) ac.abort();
      },
    });
    const r = await p;
    expect(performance.now() - t0).toBeLessThan(10_000);
    expect(r.ok).toBe(true);
    expect(r.interrupted).toBe(true);
    const v = r.value as { steps: number; of: number };
    expect(v.of).toBe(100_000_000);
    expect(v.steps).toBeGreaterThan(0);
    expect(v.steps).toBeLessThan(100_000_000);
    expect(s.script[s.script.length - 1]).toMatch(new RegExp(`^workload random --pages 100000000 --seed \\d+ --steps ${v.steps}$`));
  });
});

describe("defect 2: touch stops at the first hang or out-of-memory, and says so", () => {
  it("(a) host memory exhausted: the first access that fails ends the command as a failure naming it", async () => {
    const s = createSession();
    // a host with 16 MiB of DRAM under a 64 MiB realm
    s.hosts.set("v12", Host.create({ series: "v12", seed: 1, memoryMap: [{ kind: "dram", base: 0x8000_0000n, size: 16n << 20n }] }));
    expect((await s.run("new a --mem 64M --vcpus 1")).ok).toBe(true);
    const r = await s.run("touch 0x80000000 --count 16384");
    expect(r.ok).toBe(false);
    // v12 24/46 gmem_abort: kvm_gmem_get_pfn's -ENOMEM is returned (after preparing the memory-fault exit)
    expect(r.error).toMatch(/^access #\d+ at 0x[0-9a-f]+: KVM_RUN = -ENOMEM - the host is out of memory \(0 free pages\); stopped after \d+ of 16384$/);
    const v = r.value as { done: number; outcomes: Record<string, number> };
    expect(v.outcomes["error"]).toBe(1);
    expect(v.done).toBeLessThan(16384);
    // the replay runs what ran: the same accesses, to the same stop
    expect(s.script[s.script.length - 1]).toBe(`touch 0x80000000 --count ${v.done}`);
  });

  it("(b) KVM_RUN = -ENOMEM (injected page allocation failures) stops at the first access", async () => {
    const s = createSession();
    await s.run("new a --mem 16M");
    await s.run("inject alloc nth=1 count=always");
    const r = await s.run("touch 0x80100000 --count 1000");
    expect(r.ok).toBe(false);
    expect(r.error).toBe("access #1 at 0x80100000: KVM_RUN = -ENOMEM; stopped after 1 of 1000");
    expect((r.value as { done: number }).done).toBe(1);
  });

  it("(c) progress of a long command goes to stderr, one line a second in line mode, rewritten on a terminal", () => {
    let t = 0;
    const err = sink(false);
    const p = progressReporter(err, () => t);
    for (const [at, done] of [[500, 10], [1200, 20], [1500, 30], [2300, 40]] as const) {
      t = at;
      p.onProgress({ command: "touch", done, total: 100 });
    }
    p.done();
    expect(err.text).toBe("progress: touch: 20/100 (20.0%), 1 s (Ctrl-C stops it)\nprogress: touch: 40/100 (40.0%), 2 s (Ctrl-C stops it)\n");
    const tty = sink(true);
    t = 0;
    const q = progressReporter(tty, () => t);
    t = 1500;
    q.onProgress({ command: "workload seq", done: 5, total: 10 });
    q.done();
    expect(tty.text).toBe("\rworkload seq: 5/10 (50.0%), 2 s (Ctrl-C stops it)\x1b[K\r\x1b[K");
  });
});

describe("defect 3: `new` costs what is mapped, not the declared RAM", () => {
  it("(a) a 1 TiB realm is created and started in well under a second (was ~12 s)", () => {
    const host = Host.create({ series: "v12", seed: 1, invariants: false });
    const t0 = performance.now();
    const vm = host.createRealm({ ipaBits: 48, memory: 1n << 40n, vcpus: 1 });
    expect(vm.start().ok).toBe(true);
    expect(performance.now() - t0).toBeLessThan(2000);
    expect(vm.kvm.memIsPrivate(0x8000_0000 / 4096 + 2 ** 28 - 1)).toBe(true);
    expect(vm.kvm.memIsPrivate(0x8000_0000 / 4096 + 2 ** 28)).toBe(false);
  });

  it("(b) GfnBitmap.setRange agrees with a Set over ranges crossing whole chunks", () => {
    const b = new GfnBitmap();
    const s = new Set<number>();
    const ops: [number, number, boolean][] = [[5, 2 ** 19 + 7, true], [2 ** 18, 2 ** 18 + 3, false], [2 ** 18 - 2, 2 ** 19, false], [0, 2 ** 18, true], [2 ** 18 + 1, 2 ** 18 + 2, true]];
    for (const [lo, hi, on] of ops) {
      b.setRange(lo, hi, on);
      for (let g = lo; g < hi; g++) on ? s.add(g) : s.delete(g);
      expect(b.size).toBe(s.size);
    }
    for (const g of [0, 4, 5, 2 ** 18 - 3, 2 ** 18 - 2, 2 ** 18, 2 ** 18 + 1, 2 ** 18 + 2, 2 ** 19, 2 ** 19 + 6, 2 ** 19 + 7]) expect(b.has(g), `gfn ${g}`).toBe(s.has(g));
    expect([...b]).toEqual([...s].sort((x, y) => x - y));
  });
});

describe("defect 4: incremental invariants stay incremental when VMs come and go", () => {
  it("creating the 300th realm re-checks about as many granules as creating the 20th (the checker rebuilt everything per new VM)", () => {
    const host = Host.create({ series: "v12", seed: 1, memoryMap: [{ kind: "dram", base: 0x8000_0000n, size: 4n << 30n }] });
    const spy = vi.spyOn(IncrementalInvariants.prototype as unknown as { updateGranule(g: number): void }, "updateGranule");
    const cost: number[] = [];
    for (let i = 1; i <= 300; i++) {
      const before = spy.mock.calls.length;
      const vm = host.createRealm({ memory: 2n << 20n, image: 0n, vcpus: 1 });
      expect(vm.start().ok).toBe(true);
      if (i % 3 === 0) vm.destroy();
      cost.push(spy.mock.calls.length - before);
    }
    spy.mockRestore();
    expect(cost[299]!).toBeLessThanOrEqual(2 * cost[19]! + 10);
    // and the verdicts are the full scan's
    expect(host.violations).toEqual([]);
    expect((host as unknown as { incremental: IncrementalInvariants }).incremental.check()).toEqual(host.checkInvariants());
  });

  it("a VM destroyed with pages not counted as leaked is reported, as the full scan reports it", () => {
    const host = Host.create({ series: "v12", seed: 1 });
    const a = host.createRealm({ memory: 2n << 20n, image: 0n, vcpus: 1 });
    a.start();
    const b = host.createRealm({ memory: 2n << 20n, image: 0n, vcpus: 1 });
    b.start();
    // a VM marked destroyed behind the checker's back: its granules are orphaned now
    a.kvm.destroyed = true;
    host.step("test: VM 1 gone");
    expect(host.violations.length).toBeGreaterThan(0);
    expect(host.violations.every((v) => v.startsWith("step"))).toBe(true);
    expect((host as unknown as { incremental: IncrementalInvariants }).incremental.check()).toEqual(host.checkInvariants());
  });
});

describe("defect 5: the time series is bounded and keeps its shape and extremes", () => {
  const sample = (step: number, data: number, free: number, calls: number): SeriesSample => ({
    step, label: `s${step}`, granules: { DELEGATED: 0, RD: 1, REC: 1, REC_AUX: 16, DATA: data, RTT: 3 }, pgtablePages: 3, freePages: free, leakedPages: 0, warnCount: 0, rmiCalls: calls, rmiByCommand: {},
  });

  it("(a) 200,000 samples stay within the capacity; first, last and every column's max and min survive", () => {
    const ts = new TimeSeries(512);
    let x = 1;
    let data = 1000;
    const all: SeriesSample[] = [];
    let longest = 0;
    for (let i = 0; i < 200_000; i++) {
      x = (x * 1103515245 + 12345) % 2 ** 31;
      data += (x % 3) - 1;
      const s = sample(i, data, 500_000 - data, i * 4);
      all.push(s);
      ts.push(s);
      longest = Math.max(longest, ts.samples.length);
    }
    expect(longest).toBeLessThanOrEqual(512);
    const kept = ts.samples;
    expect(kept[0]).toBe(all[0]);
    expect(kept[kept.length - 1]).toBe(all[all.length - 1]);
    const max = (xs: SeriesSample[], f: (s: SeriesSample) => number) => xs.reduce((m, s) => Math.max(m, f(s)), -Infinity);
    const min = (xs: SeriesSample[], f: (s: SeriesSample) => number) => xs.reduce((m, s) => Math.min(m, f(s)), Infinity);
    const dataOf = (s: SeriesSample) => s.granules.DATA;
    expect(max(kept, dataOf)).toBe(max(all, dataOf));
    expect(min(kept, dataOf)).toBe(min(all, dataOf));
    expect(max(kept, (s) => s.freePages)).toBe(max(all, (s) => s.freePages));
    expect(min(kept, (s) => s.freePages)).toBe(min(all, (s) => s.freePages));
    for (let i = 1; i < kept.length; i++) expect(kept[i]!.step).toBeGreaterThan(kept[i - 1]!.step);
    expect(ts.downsampled).toBe(200_000 - kept.length);
  });

  it("(b) a host touching a mapped page keeps at most capacity samples; capacity is validated", () => {
    const host = Host.create({ series: "v12", seed: 1, trace: false, invariants: false });
    host.timeSeries.capacity = 64;
    const vm = host.createRealm({ memory: 2n << 20n, vcpus: 1 });
    vm.start();
    for (let i = 0; i < 2000; i++) vm.touch(0x8000_0000n, { access: "read" });
    expect(host.timeSeries.samples.length).toBeLessThanOrEqual(64);
    expect(host.timeSeries.samples[host.timeSeries.samples.length - 1]!.label).toBe("touch 0x80000000 read vcpu0");
    expect(() => (host.timeSeries.capacity = 3)).toThrow(/capacity must be an integer >= 16, got 3/);
  });
});

describe("defect 6: save writes what replays exactly; one input reader", () => {
  it("(a) a line ending in `\\` inside a comment is saved without its comment, and the replay makes the same RMI calls", async () => {
    const dir = mkdtempSync(join(tmpdir(), "realm-save-"));
    const s = createSession();
    const lines = ["new a --mem 16M", "touch 0x80000000 --count 2 # first two pages \\", "touch 0x80100000"];
    for (const l of lines) expect((await s.run(l)).ok, l).toBe(true);
    await s.run(`save ${join(dir, "s.realm")}`);
    const text = readFileSync(join(dir, "s.realm"), "utf8");
    expect(text).toContain("touch 0x80000000 --count 2\ntouch 0x80100000\n");
    const replay = createSession();
    const results = [];
    for (const { line } of scriptLines(text)) results.push(await replay.run(line));
    expect(results.every((r) => r.ok)).toBe(true);
    expect(results.length).toBe(4); // seed, new, touch, touch
    expect(replay.realm("a").host.rmiCalls).toBe(s.realm("a").host.rmiCalls);
  });

  it("(b) a trailing `\\` outside a comment continues the line; an escaped one does not; a lone CR ends a line", () => {
    expect(scriptLines("touch 0x80000000 \\\n  --count 2\nls # c \\\nseed\r\nhelp\rls \\\\\nseed")).toEqual([
      { lineNo: 1, line: "touch 0x80000000    --count 2" },
      { lineNo: 3, line: "ls # c \\" },
      { lineNo: 4, line: "seed" },
      { lineNo: 5, line: "help" },
      { lineNo: 6, line: "ls \\\\" },
      { lineNo: 7, line: "seed" },
    ]);
  });

  it("(c) the piped REPL reads lines as `realm run` does (continuations, lone CR)", async () => {
    const text = "new a --mem 16M\rtouch 0x80000000 \\\n --count 3 # x \\\ntouch 0x80100000\n";
    const s = createSession();
    const out = sink();
    const err = sink();
    const code = await runLines(s, Readable.from([text]), { stdout: out, stderr: err }, () => new AbortController().signal);
    expect(err.text).toBe("");
    expect(code).toBe(0);
    const t = createSession();
    for (const { line } of scriptLines(text)) expect((await t.run(line)).ok).toBe(true);
    expect(s.script).toEqual(t.script);
    expect(s.script).toEqual(["new a --series v12 --ipa-bits 40 --mem 16M --vcpus 2", "touch 0x80000000   --count 3", "touch 0x80100000"]);
  });
});

describe("defect 7: inject rejects what cannot happen, naming it, and changes nothing", () => {
  it.each([
    ["inject RTT_CREATE RMI_SUCCESS", /RMI_SUCCESS cannot be injected/],
    ["inject RTT_CREATE RMI_INCOMPLETE", /RMM 1\.0 has no status RMI_INCOMPLETE/],
    ["inject RTT_CREATE RMI_BUSY", /RMM 1\.0 has no status RMI_BUSY/],
    ['inject {"rmi":"RTT_CREATE","status":"RMI_ERROR_RTT","every":2}', /unknown key 'every'/],
    ['inject {"alloc":"page","nth":1,"bogus":true}', /unknown key 'bogus'/],
    ["inject bogus=1", /unknown rule key 'bogus'/],
    ["inject RTT_CREATE RMI_ERROR_RTT every", /unexpected 'every'/],
    ["inject RTT_CREATE RMI_ERROR_WHAT", /unknown RMI status 'RMI_ERROR_WHAT'/],
  ])("%s", async (line, msg) => {
    const s = createSession();
    await s.run("new a --mem 16M");
    const host = s.realm().host;
    const trace = host.trace.length;
    const r = await s.run(line);
    expect(r.ok).toBe(false);
    expect(r.error).toMatch(msg);
    expect(host.faults.list()).toEqual([]);
    expect(host.trace.length).toBe(trace);
    // and the host goes on as before
    expect((await s.run("touch 0x80100000")).ok).toBe(true);
  });

  it("RMI_INCOMPLETE and RMI_BUSY stay injectable on an RMM 2.0 host (v14)", async () => {
    const s = createSession();
    await s.run("new a --series v14 --mem 16M");
    expect((await s.run("inject RTT_DATA_MAP RMI_INCOMPLETE")).ok).toBe(true);
    expect((await s.run("inject GRANULE_RANGE_DELEGATE RMI_BUSY")).ok).toBe(true);
  });
});

describe("defect 9: seeds out of range are refused (not cut to 32 bits)", () => {
  it.each([
    ["seed 4294967296", /seed: 4294967296 is out of range: seeds are integers 0\.\.4294967295/],
    ["seed 99999999999999999999", /does not fit in 64 bits/],
    ["seed 9007199254740991", /out of range/],
  ])("%s", async (line, msg) => {
    const s = createSession();
    const r = await s.run(line);
    expect(r.ok).toBe(false);
    expect(r.error).toMatch(msg);
    expect(s.seed).toBe(1);
  });

  it("the API refuses them too, and `help seed` says which seeds there are", async () => {
    expect(SEED_MAX).toBe(2 ** 32 - 1);
    expect(() => createSession({ seed: 2 ** 32 })).toThrow(/seed 4294967296 is out of range/);
    expect(() => Host.create({ series: "v12", seed: 2 ** 53 - 1 })).toThrow(RangeError);
    expect(() => Host.create({ series: "v12", seed: 1.5 })).toThrow(/seed must be an integer/);
    expect(Host.create({ series: "v12", seed: SEED_MAX }).seed).toBe(SEED_MAX);
    const h = await createSession().run("help seed");
    expect(h.text).toContain("Seeds are integers 0..4294967295");
  });
});

describe("defect 10: validation of the API and the command language", () => {
  it("(a) Platform.create refuses features out of their field and unknown options", () => {
    expect(() => Platform.create({ features: { s2sz: 99 } })).toThrow(/features\.s2sz must be an integer in \[16, 52\], got 99/);
    expect(() => Platform.create({ features: { s2sz: -5 } })).toThrow(/got -5/);
    expect(() => Platform.create({ features: { s2sz: 52 } })).toThrow(/needs lpa2/);
    expect(() => Platform.create({ features: { sve: "yes" as never } })).toThrow(/features\.sve must be true or false/);
    expect(() => Platform.create({ features: { s2zs: 40 } as never })).toThrow(/unknown option 's2zs'/);
    expect(() => Platform.create({ trace: "yes" as never })).toThrow(/trace must be true or false, got 'yes'/);
    expect(() => Platform.create({ rmm: "1.0", paBits: 52, features: { lpa2: true, s2sz: 52 } })).not.toThrow();
  });

  it("(b) Host.create and createRealm refuse unknown options, non-boolean switches and mistyped overrides", () => {
    expect(() => Host.create({ series: "v12", trace: "yes" as never })).toThrow(/trace must be true or false, got 'yes'/);
    expect(() => Host.create({ series: "v12", sede: 1 } as never)).toThrow(/unknown option 'sede'/);
    expect(() => Host.create({ series: "v14", overrides: { rangeMapCreatesOneLevel: "true" as never } })).toThrow(/'rangeMapCreatesOneLevel' must be a boolean/);
    const host = Host.create({ series: "v12", seed: 1 });
    const before = host.stats();
    expect(() => host.createRealm({ memroy: 1n << 20n } as never)).toThrow(/createRealm: unknown option 'memroy'/);
    expect(() => host.createRealm({ thp: 1 as never })).toThrow(/thp must be true or false/);
    expect(() => host.createRealm({ memory: 1 << 20 } as never)).toThrow(/memory must be a bigint/);
    expect(host.stats()).toEqual(before);
  });

  it("(c) a zero-length NS access touches nothing; a huge one is refused before allocating", () => {
    const p = Platform.create({ rmm: "1.0" });
    const g = 0x8800_0000n;
    expect(p.rmi.granuleDelegate(g).status).toBe("RMI_SUCCESS");
    expect(p.ns.read(g, 0)).toEqual(new Uint8Array(0));
    expect(() => p.ns.write(g, new Uint8Array(0))).not.toThrow();
    expect(() => p.ns.read(g, 1)).toThrow(/GranuleProtection|protection/i);
    expect(() => p.ns.read(0x8000_0000n, 1e9)).toThrow(/1000000000 bytes is more than one access may move/);
  });

  it("(d) error messages name a 10,000-character token without echoing it", async () => {
    const s = createSession();
    for (const line of [`touch ${"9".repeat(10_000)}`, `${"x".repeat(10_000)}`, `new ${"a".repeat(10_000)}`, `help ${"h".repeat(10_000)}`]) {
      const r = await s.run(line);
      expect(r.ok).toBe(false);
      expect(r.error!.length, r.error!.slice(0, 80)).toBeLessThan(400);
      expect(r.error).not.toMatch(/(\S)\1{64}/);
    }
  });
});

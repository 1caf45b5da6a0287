/**
 * Host snapshot and restore (issue 11 standing defence; design.md "Host state, error-path
 * campaigns"). Failure cases, each labelled:
 *   A. restore then continue gives the trace of the uninterrupted run, byte for byte: on every
 *      scenario and posting (snapshot at the scenario's 2nd host step, through JSON), and on a
 *      plain workload on every posting;
 *   B. a snapshot of another version or format is refused with a clear error;
 *   C. not at a quiescent point (a lock held, a live cooperative thread) -> refused, naming it;
 *   D. the restored host is independent of the original (and of the snapshot).
 */
import { afterEach, describe, expect, it } from "vitest";
import { Host } from "../../src/host/host.js";
import { availableSeries, type SeriesId } from "../../src/kvm/series/index.js";
import * as scenarios from "../../src/scenarios/index.js";

const RAM = 0x8000_0000n;
const SHARED = 1n << 39n;

/** The same continuation on any host: guest actions on each live VM, then its teardown; errors are part of the output. */
function continuation(h: Host): string {
  const out: string[] = [];
  const tryIt = (what: string, f: () => unknown): void => {
    try {
      out.push(`${what}: ${JSON.stringify(f(), (_, v) => (typeof v === "bigint" ? `0x${v.toString(16)}` : v))}`);
    } catch (e) {
      out.push(`${what}: threw ${(e as Error).message}`);
    }
  };
  for (const vm of h.vms) {
    if (vm.kvm.destroyed) continue;
    if (!vm.started) tryIt(`start ${vm.id}`, () => vm.start().ok);
    tryIt(`touch ${vm.id}`, () => vm.touch(RAM + (24n << 20n), { access: "write" }).outcome);
    tryIt(`shared touch ${vm.id}`, () => vm.touch((RAM + (26n << 20n)) | SHARED, { access: "write" }).outcome);
    tryIt(`share ${vm.id}`, () => vm.share(RAM + (24n << 20n), 0x1000n).outcome);
    tryIt(`destroy ${vm.id}`, () => vm.destroy().state);
  }
  return [...h.trace, ...out, JSON.stringify(h.stats()), h.checkInvariants().join("\n")].join("\n");
}

const realStep = Host.prototype.step;
afterEach(() => {
  Host.prototype.step = realStep;
});

class Stop extends Error {}

/**
 * Run scenario `id` and, at the 2nd step of the first host it creates, hand that host to `at`
 * (which returns the text to compare), then stop the scenario. undefined: the scenario's first
 * host never reached that step.
 */
function atSecondStep(id: string, series: SeriesId, at: (h: Host) => string): string | undefined {
  let first: Host | undefined;
  let steps = 0;
  let got: string | undefined;
  Host.prototype.step = function (this: Host, label: string) {
    realStep.call(this, label);
    first ??= this;
    if (this !== first || ++steps !== 2 || got !== undefined) return;
    got = at(this);
    throw new Stop();
  };
  try {
    scenarios.run(id, { series });
  } finally {
    Host.prototype.step = realStep;
  }
  return got;
}

describe("A. restore, then continue = the uninterrupted run", () => {
  it("every scenario on every posting (snapshot at the 2nd host step, through JSON)", () => {
    let compared = 0;
    const skipped: string[] = [];
    for (const { id, series } of scenarios.list()) {
      for (const s of series as SeriesId[]) {
        let prefixOk = true;
        const restored = atSecondStep(id, s, (h) => {
          let snap: string;
          try {
            snap = JSON.stringify(h.snapshot());
          } catch (e) {
            return `not quiescent: ${(e as Error).message}`;
          }
          const r = Host.restore(JSON.parse(snap));
          prefixOk = r.trace.join("\n") === h.trace.join("\n");
          return continuation(r);
        });
        if (restored === undefined) {
          skipped.push(`${id}/${s}`);
          continue;
        }
        if (restored.startsWith("not quiescent")) {
          skipped.push(`${id}/${s}: ${restored}`);
          continue;
        }
        const straight = atSecondStep(id, s, (h) => continuation(h));
        expect(prefixOk, `${id} ${s}: restored trace prefix`).toBe(true);
        expect(restored, `${id} ${s}: restore then continue`).toBe(straight);
        compared++;
      }
    }
    // nearly every (scenario, posting) pair has a 2nd step on its first host
    expect(compared).toBeGreaterThan(scenarios.list().length * 3);
    expect(skipped.filter((x) => x.includes("not quiescent"))).toEqual([]);
  }, 600_000);

  it.each(availableSeries())("%s: a started realm with faults, through JSON, continues with the same trace", (series) => {
    const mk = (): Host => {
      const h = Host.create({ series, seed: 7 });
      const vm = h.createRealm({ memory: 64n << 20n, vcpus: 2 });
      vm.start();
      vm.touch(RAM + (8n << 20n), { access: "write", vcpu: 1 });
      vm.share(RAM + (12n << 20n), 0x2000n);
      return h;
    };
    const a = mk();
    const snap = JSON.parse(JSON.stringify(a.snapshot()));
    const b = Host.restore(snap);
    expect(b.series).toBe(series);
    expect(b.stats()).toEqual(a.stats());
    const ta = continuation(a);
    expect(continuation(b)).toBe(ta);
    // a binary snapshot restores the same way
    const c = mk();
    const d = Host.restore(c.snapshot({ binary: true }));
    expect(continuation(d)).toBe(ta);
  });
});

describe("B. versions and formats", () => {
  it("a snapshot of another version is refused, naming both versions", () => {
    const snap = Host.create({ series: "v12" }).snapshot();
    expect(() => Host.restore({ ...snap, version: 0 })).toThrow(/snapshot version 0 is not supported \(this build reads version 1 only\)/);
    expect(() => Host.restore({ ...snap, format: "other" } as never)).toThrow(/not a host snapshot/);
    expect(() => Host.restore(null as never)).toThrow(/expected a snapshot object/);
  });
});

describe("C. only at a quiescent point", () => {
  it("a held lock is refused, naming the lock", () => {
    const h = Host.create({ series: "v14" });
    const vm = h.createRealm({ memory: 64n << 20n });
    vm.kvm.mmuLock.lockSync(1000);
    expect(() => h.snapshot()).toThrow(/not at a quiescent point: lock 'mmu_lock' at host\.vmList\[?.?0.*is held/);
    vm.kvm.mmuLock.writeUnlock();
    expect(() => h.snapshot()).not.toThrow();
  });

  it("a live cooperative thread (generator) in the graph is refused", () => {
    const h = Host.create({ series: "v8" });
    const vm = h.createRealm({ memory: 64n << 20n });
    vm.start();
    const { threads } = vm.raceThreads([{ vcpu: 0, ops: [] }]);
    (vm.kvm as unknown as { pending: unknown }).pending = threads[0];
    expect(() => h.snapshot()).toThrow(/not at a quiescent point: a live cooperative thread \(generator\) is held at host\..*pending/);
  });
});

describe("D. independence", () => {
  it("running the restored host changes neither the original nor the snapshot", () => {
    const a = Host.create({ series: "v10", seed: 3 });
    const vm = a.createRealm({ memory: 64n << 20n });
    vm.start();
    const snap = a.snapshot();
    const text = JSON.stringify(snap);
    const before = a.trace.length;
    const b = Host.restore(snap);
    b.vms[0]!.touch(RAM + (8n << 20n), { access: "write" });
    b.vms[0]!.destroy();
    expect(a.trace.length).toBe(before);
    expect(a.vms[0]!.kvm.destroyed).toBe(false);
    expect(JSON.stringify(snap)).toBe(text);
    // and a second restore from the same snapshot starts from the same state
    expect(Host.restore(snap).trace.length).toBe(before);
  });
});

describe("snapshot({history: false})", () => {
  it("leaves the trace and the RMM call log out; restore then continue gives the uninterrupted run's later trace", async () => {
    const { Host } = await import("../../src/host/host.js");
    const run = (h: import("../../src/host/host.js").Host, from: number) => {
      const vm = h.vms[0]!;
      for (let i = from; i < from + 8; i++) vm.touch(0x8000_0000n + BigInt(i) * 0x1000n, { access: "write" });
    };
    const a = Host.create({ series: "v14", seed: 3 });
    a.createRealm({ ipaBits: 40, memory: 16n << 20n, vcpus: 1 }).start();
    run(a, 0);
    const n = a.log.length;
    const full = a.snapshot();
    const lean = a.snapshot({ history: false });
    expect(lean.graph.nodes.length).toBeLessThan(full.graph.nodes.length);
    run(a, 8);
    const tail = a.trace.slice(n);
    const b = Host.restore(JSON.parse(JSON.stringify(lean, (_k, v) => (typeof v === "bigint" ? v.toString() : v))));
    expect(b.trace).toEqual([]);
    expect(b.platform.rmm.trace.records).toEqual([]);
    run(b, 8);
    expect(b.trace).toEqual(tail);
    expect(b.stats()).toEqual(a.stats());
  });
});

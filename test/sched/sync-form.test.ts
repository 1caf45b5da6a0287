/**
 * The non-yielding form of the host's thread steps (src/kvm-sync, written by scripts/gen-sync.mjs
 * from the generators in src/kvm): it is what the script writes today, and calling it does what
 * driving the generator with runSync does - the same RMI calls in the same order, the same results,
 * the same trace.
 */
import { describe, expect, it } from "vitest";
import { existsSync, readdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
// @ts-expect-error: a plain ES module script, no declarations
import { generate } from "../../scripts/gen-sync.mjs";
import { Host } from "../../src/host/host.js";
import { SERIES_IDS, type SeriesId } from "../../src/kvm/series/index.js";
import { runSync } from "../../src/sched/coop.js";
import { kvm_handle_guest_abort } from "../../src/kvm/mmu.js";
import { kvm_handle_guest_abort as kvm_handle_guest_abort_sync } from "../../src/kvm-sync/mmu.js";
import type { GuestOp } from "../../src/guest/guest.js";

const ROOT = new URL("../..", import.meta.url).pathname;
const RAM = 0x8000_0000n;

function listTs(dir: string): string[] {
  if (!existsSync(join(ROOT, dir))) return [];
  return readdirSync(join(ROOT, dir), { withFileTypes: true }).flatMap((e) => (e.isDirectory() ? listTs(`${dir}/${e.name}`) : e.name.endsWith(".ts") ? [`${dir}/${e.name}`] : []));
}

function started(series: SeriesId) {
  const host = Host.create({ series, seed: 1, invariants: false });
  const vm = host.createRealm({ ipaBits: 40, memory: 16n << 20n, vcpus: 1 });
  expect(vm.start().ok).toBe(true);
  return { host, vm };
}

/** What the kernel did: the SMCs with their results, the exit and event lines (not the VMM's steps). */
const kernelLines = (host: Host, from: number) => host.trace.slice(from).filter((l) => !l.startsWith("step") && !l.startsWith("touch") && !l.startsWith("run "));

describe("src/kvm-sync: the generated non-yielding form", () => {
  it("is what scripts/gen-sync.mjs writes from src/kvm (run `node scripts/gen-sync.mjs` after changing a generator there)", () => {
    const files = generate() as Map<string, string>;
    expect(files.size).toBeGreaterThan(0);
    for (const [path, content] of files) expect(readFileSync(join(ROOT, path), "utf8"), path).toBe(content);
    expect(listTs("src/kvm-sync").sort()).toEqual([...files.keys()].sort());
  });

  it("has no yield, no generator and no Gen type left", () => {
    for (const p of listTs("src/kvm-sync")) {
      const code = readFileSync(join(ROOT, p), "utf8").split("\n").filter((l) => !/^\s*(\/\/|\*|\/\*\*)/.test(l)).join("\n");
      expect(code, p).not.toMatch(/\byield\b|function\s*\*|\bGen</);
    }
  });

  for (const series of SERIES_IDS) {
    it(`${series}: KVM_RUN through the generated form (vm.run) and the generator under runSync make the same calls and the same trace`, () => {
      const ops: GuestOp[] = [
        { kind: "access", ipa: RAM + 0x10_0000n, access: "read", value: 0n },
        { kind: "access", ipa: RAM + 0x10_1000n, access: "write", value: 7n },
        { kind: "access", ipa: RAM + 0x10_0000n, access: "read", value: 0n },
        { kind: "access", ipa: RAM + 0x40_0000n, access: "read", value: 0n },
      ];
      const a = started(series);
      const b = started(series);
      const ta = a.host.trace.length;
      const tb = b.host.trace.length;
      const ca = a.host.rmiCalls;
      const cb = b.host.rmiCalls;
      const r = a.vm.run(0, ops);
      expect(r.outcome).toBe("ok");
      const { threads, records } = b.vm.raceThreads([{ vcpu: 0, ops }]);
      const res = runSync(threads[0]!);
      expect(res.stop).toBe("guest-idle");
      expect(records[0]!.every((x) => x.result !== undefined)).toBe(true);
      expect(kernelLines(b.host, tb)).toEqual(kernelLines(a.host, ta));
      expect(b.host.rmiCalls - cb).toBe(a.host.rmiCalls - ca);
      expect(b.host.granules()).toEqual(a.host.granules());
      for (const op of ops) if (op.kind === "access") expect(b.vm.mappingOf(op.ipa)).toEqual(a.vm.mappingOf(op.ipa));
    });

    it(`${series}: kvm_handle_guest_abort, both forms: a private fault, the shared alias of a private page, an address outside every memslot`, () => {
      const a = started(series);
      const b = started(series);
      const shared = Number(1n << 39n);
      const aborts = [
        { ipa: Number(RAM) + 0x20_0000, write: false, exec: false, isv: true, len: 8 },
        { ipa: shared + Number(RAM) + 0x20_1000, write: true, exec: false, isv: true, len: 8 },
        { ipa: 0x1000_0000, write: false, exec: false, isv: true, len: 4 },
        { ipa: 0x1000_0000, write: false, exec: false, isv: false, len: 4 },
      ];
      for (const ab of aborts) {
        const ta = a.host.trace.length;
        const tb = b.host.trace.length;
        const ra = kvm_handle_guest_abort_sync(a.vm.kvm.vcpus[0]!, ab);
        const rb = runSync(kvm_handle_guest_abort(b.vm.kvm.vcpus[0]!, ab));
        expect(ra, `0x${ab.ipa.toString(16)}`).toBe(rb);
        expect(a.vm.kvm.vcpus[0]!.lastExit).toEqual(b.vm.kvm.vcpus[0]!.lastExit);
        expect(kernelLines(a.host, ta)).toEqual(kernelLines(b.host, tb));
      }
      expect(a.host.granules()).toEqual(b.host.granules());
    });
  }
});

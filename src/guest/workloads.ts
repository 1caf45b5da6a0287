/**
 * Guest workloads for charts and benchmarks: sequential, seeded random, and a boot-like pattern
 * (kernel image reads, then RAM written outward, a shared bounce buffer made shared and used
 * through the shared alias).
 *
 * Each is a `Workload`: its length, known up front, and its operations generated one at a time,
 * so a workload of 2^28 steps costs the step being run, not a list of 2^28 operations (the
 * `workload` command runs them lazily and can stop between any two). The `...Workload` functions
 * return the whole list, for small workloads through the API.
 */
import { Prng } from "../arch/prng.js";
import { Ripas } from "../arch/ripas.js";
import { RSI_CHANGE_DESTROYED } from "../rmm/realm-exec.js";
import type { GuestOp } from "./guest.js";

const PAGE = 4096n;

/** A workload: `length` operations, generated in order by `ops()` (a fresh iterator each call). */
export interface Workload {
  readonly length: number;
  ops(): IterableIterator<GuestOp>;
}

/** Accesses at base, base + stride, ... below end. */
function* strided(base: bigint, end: bigint, stride: bigint, access: "write" | "exec", value: boolean): IterableIterator<GuestOp> {
  for (let a = base; a < end; a += stride) yield value ? { kind: "access", ipa: a, access, value: a } : { kind: "access", ipa: a, access };
}

/** Number of strided accesses in [0, size). */
function stridedCount(size: bigint, stride: bigint): number {
  return size <= 0n ? 0 : Number((size + stride - 1n) / stride);
}

/** Write every page of [base, base + size), in order. */
export function sequential(base: bigint, size: bigint, stride: bigint = PAGE): Workload {
  if (stride <= 0n) throw new RangeError("sequential: stride must be positive");
  return { length: stridedCount(size, stride), ops: () => strided(base, base + size, stride, "write", true) };
}

/** `count` accesses to random pages of [base, base + size) (src/arch/prng.ts xorshift32 seeded by `seed`; 0 counts as 1). */
export function random(base: bigint, size: bigint, count: number, seed = 1): Workload {
  const pages = Number(size / PAGE);
  if (pages < 1) throw new RangeError("random: size must hold at least one page");
  return {
    length: count,
    *ops() {
      const rnd = new Prng(seed, 1);
      for (let i = 0; i < count; i++) {
        const s = rnd.u32();
        const p = BigInt(s % pages);
        yield { kind: "access", ipa: base + p * PAGE, access: s % 3 === 0 ? "read" : "write" };
      }
    },
  };
}

/**
 * Boot-like: read the image, write the first `ram` bytes of RAM (page tables, heap), share a
 * bounce buffer of `bounce` bytes at the end of RAM and write it through the shared alias.
 */
export function boot(ramBase: bigint, ram: bigint, image: bigint, bounce: bigint, sharedBit: bigint): Workload {
  const b = ramBase + ram - bounce;
  return {
    length: stridedCount(image, PAGE) + stridedCount(ram - bounce - image, PAGE * 4n) + 1 + stridedCount(bounce, PAGE),
    *ops() {
      yield* strided(ramBase, ramBase + image, PAGE, "exec", false);
      for (let a = image; a < ram - bounce; a += PAGE * 4n) yield { kind: "access", ipa: ramBase + a, access: "write" };
      yield { kind: "ipa-state-set", base: b, top: b + bounce, ripas: Ripas.EMPTY, flags: RSI_CHANGE_DESTROYED };
      for (let a = 0n; a < bounce; a += PAGE) yield { kind: "access", ipa: (b + a) | sharedBit, access: "write" };
    },
  };
}

/** `sequential` as a list. */
export function sequentialWorkload(base: bigint, size: bigint, stride: bigint = PAGE): GuestOp[] {
  return [...sequential(base, size, stride).ops()];
}

/** `random` as a list. */
export function randomWorkload(base: bigint, size: bigint, count: number, seed = 1): GuestOp[] {
  return [...random(base, size, count, seed).ops()];
}

/** `boot` as a list. */
export function bootWorkload(ramBase: bigint, ram: bigint, image: bigint, bounce: bigint, sharedBit: bigint): GuestOp[] {
  return [...boot(ramBase, ram, image, bounce, sharedBit).ops()];
}

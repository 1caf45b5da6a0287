/**
 * Guest workloads (lists of guest operations) for charts and benchmarks: sequential, seeded
 * random, and a boot-like pattern (kernel image reads, then RAM written outward, a shared
 * bounce buffer made shared and used through the shared alias).
 */
import type { GuestOp } from "./guest.js";

const PAGE = 4096n;

/** Write every page of [base, base + size), in order. */
export function sequentialWorkload(base: bigint, size: bigint, stride: bigint = PAGE): GuestOp[] {
  const ops: GuestOp[] = [];
  for (let a = base; a < base + size; a += stride) ops.push({ kind: "access", ipa: a, access: "write", value: a });
  return ops;
}

/** `count` accesses to random pages of [base, base + size) (xorshift32 seeded by `seed`). */
export function randomWorkload(base: bigint, size: bigint, count: number, seed = 1): GuestOp[] {
  let s = seed >>> 0 || 1;
  const pages = Number(size / PAGE);
  const ops: GuestOp[] = [];
  for (let i = 0; i < count; i++) {
    s ^= s << 13;
    s ^= s >>> 17;
    s ^= s << 5;
    s >>>= 0;
    const p = BigInt(s % pages);
    ops.push({ kind: "access", ipa: base + p * PAGE, access: s % 3 === 0 ? "read" : "write" });
  }
  return ops;
}

/**
 * Boot-like: read the image, write the first `ram` bytes of RAM (page tables, heap), share a
 * bounce buffer of `bounce` bytes at the end of RAM and write it through the shared alias.
 */
export function bootWorkload(ramBase: bigint, ram: bigint, image: bigint, bounce: bigint, sharedBit: bigint): GuestOp[] {
  const ops: GuestOp[] = [];
  for (let a = 0n; a < image; a += PAGE) ops.push({ kind: "access", ipa: ramBase + a, access: "exec" });
  for (let a = image; a < ram - bounce; a += PAGE * 4n) ops.push({ kind: "access", ipa: ramBase + a, access: "write" });
  const b = ramBase + ram - bounce;
  ops.push({ kind: "ipa-state-set", base: b, top: b + bounce, ripas: 0, flags: 1n });
  for (let a = 0n; a < bounce; a += PAGE) ops.push({ kind: "access", ipa: (b + a) | sharedBit, access: "write" });
  return ops;
}

/**
 * The structs: struct kvm, struct kvm_vcpu (include/linux/kvm_host.h, arch/arm64/include/asm/
 * kvm_host.h), struct realm and struct realm_rec (asm/kvm_rmi.h; kvm_rme.h in v8/v10).
 * The KVM side of one VM as the CCA series sees it: `struct kvm` (realm state, RD, params, VMID,
 * stage-2 PGD, memslots, memory attributes, page-table accounting, locks) and `struct kvm_vcpu`
 * (REC pages, run page, memcache, power state). Behaviour lives in the function modules
 * (rmi/rtt.ts, rmi/map.ts, mmu.ts, ...), named after the posted functions.
 */
import { GfnBitmap } from "./mem-attr.js";
import { GRANULE_SIZE, SZ_2M, stage2_pgtable_levels } from "../arch/geometry.js";
import type { KvmEnv, PageOwner } from "./env.js";
import { RwLock } from "../sched/coop.js";
import type { SeriesProfile } from "./series/profile.js";

/** enum realm_state (kvm_rmi.h: v9 07/43, v12 07/46, v14 14/44). */
export enum RealmStateK {
  NONE = "NONE",
  NEW = "NEW",
  ACTIVE = "ACTIVE",
  DYING = "DYING",
  DEAD = "DEAD",
}

export const PAGE_SIZE = GRANULE_SIZE;
export const RMM_PAGE_SIZE = GRANULE_SIZE;
export const RMM_RTT_BLOCK_LEVEL = 2;
export const RMM_RTT_MAX_LEVEL = 3;
export const RMM_L2_BLOCK_SIZE = SZ_2M;
export const PHYS_ADDR_MAX = -1;

/** Userspace (VMM) memory behind a memslot: the shared alias' backing (anonymous, maybe THP). */
export class UserMemory {
  /** 2 MiB region index -> base PA of a huge page backing it. */
  readonly huge = new Map<number, number>();
  /** gfn -> PA of a 4 KiB page. */
  readonly small = new Map<number, number>();
  constructor(
    /** Transparent huge pages enabled on the VMA. */
    public thp: boolean,
  ) {}
}

/** A guest_memfd: the private backing, one 4 KiB page per gfn, allocated on first use. */
export class GuestMemfd {
  /** gfn -> PA. The file holds one reference to each page. */
  readonly pages = new GfnPages();
}

/** gfns per chunk of a GfnPages (16 MiB of guest memory, 64 KiB of table). */
const GFN_CHUNK = 4096;

/**
 * gfn -> PA with the semantics of a Map<number, number> the users rely on (get, set, delete,
 * clear, size, iteration in insertion order: a guest_memfd drops its pages in the order it took
 * them, and the host's LIFO free list hands them out again in that order), kept as chunks of a
 * Float64Array indexed by gfn instead of a hash table that grows with the realm. Per gfn: PA + 1
 * (0: none) and its place in `order`.
 */
export class GfnPages {
  private readonly chunks = new Map<number, Float64Array>();
  /** The chunk looked up last (consecutive gfns mostly fall in one). */
  private lastCi = -1;
  private last: Float64Array | undefined = undefined;
  /** gfns in insertion order; -1 where one was deleted. */
  private order: number[] = [];
  private count = 0;

  get size(): number {
    return this.count;
  }

  private chunk(gfn: number): Float64Array | undefined {
    const ci = Math.floor(gfn / GFN_CHUNK);
    if (ci === this.lastCi) return this.last;
    const c = this.chunks.get(ci);
    if (c !== undefined) {
      this.lastCi = ci;
      this.last = c;
    }
    return c;
  }

  get(gfn: number): number | undefined {
    const c = this.chunk(gfn);
    if (c === undefined) return undefined;
    const v = c[2 * (gfn - Math.floor(gfn / GFN_CHUNK) * GFN_CHUNK)]!;
    return v === 0 ? undefined : v - 1;
  }

  has(gfn: number): boolean {
    return this.get(gfn) !== undefined;
  }

  set(gfn: number, pa: number): this {
    if (!Number.isSafeInteger(gfn) || gfn < 0) throw new RangeError(`GfnPages: gfn must be a non-negative integer, got ${gfn}`);
    let c = this.chunk(gfn);
    if (c === undefined) {
      const ci = Math.floor(gfn / GFN_CHUNK);
      c = new Float64Array(2 * GFN_CHUNK);
      this.chunks.set(ci, c);
      this.lastCi = ci;
      this.last = c;
    }
    const i = 2 * (gfn - Math.floor(gfn / GFN_CHUNK) * GFN_CHUNK);
    if (c[i] === 0) {
      c[i + 1] = this.order.length;
      this.order.push(gfn);
      this.count++;
    }
    c[i] = pa + 1;
    return this;
  }

  delete(gfn: number): boolean {
    const c = this.chunk(gfn);
    if (c === undefined) return false;
    const i = 2 * (gfn - Math.floor(gfn / GFN_CHUNK) * GFN_CHUNK);
    if (c[i] === 0) return false;
    this.order[c[i + 1]!] = -1;
    c[i] = 0;
    c[i + 1] = 0;
    this.count--;
    // drop the holes once they are most of the list (positions renumbered, order kept)
    if (this.order.length > 64 && this.count < this.order.length / 2) this.compact();
    return true;
  }

  clear(): void {
    this.chunks.clear();
    this.lastCi = -1;
    this.last = undefined;
    this.order = [];
    this.count = 0;
  }

  private compact(): void {
    const order: number[] = [];
    for (const g of this.order) {
      if (g < 0) continue;
      const c = this.chunk(g)!;
      c[2 * (g - Math.floor(g / GFN_CHUNK) * GFN_CHUNK) + 1] = order.length;
      order.push(g);
    }
    this.order = order;
  }

  /** [gfn, PA] in insertion order, as a Map iterates. */
  *entries(): Generator<[number, number]> {
    for (let k = 0; k < this.order.length; k++) {
      const g = this.order[k]!;
      if (g < 0) continue;
      yield [g, this.get(g)!];
    }
  }

  [Symbol.iterator](): Generator<[number, number]> {
    return this.entries();
  }
}

export interface Memslot {
  id: number;
  baseGfn: number;
  npages: number;
  /** Private backing (KVM_MEM_GUEST_MEMFD), if any. */
  gmem: GuestMemfd | undefined;
  user: UserMemory;
}

/** struct realm (kvm->arch.realm). */
export interface RealmK {
  state: RealmStateK;
  /** PA of the RD page, or -1 (NULL). */
  rd: number;
  /** PA of the realm_params page, or -1. */
  params: number;
  iaBits: number;
  vmid: number;
  numAux: number;
  /** v8/v10 CONFIG_REALM items. */
  hashAlgo: number;
  rpv: Uint8Array;
}

/** struct kvm_s2_mmu (the parts used here). */
export interface S2Mmu {
  /** PA of the stage-2 PGD (the realm's root RTTs once delegated), -1 if none. */
  pgdPhys: number;
  pgdSize: number;
  /** mmu->pgt != NULL (set to NULL to "leak the PGD" in realm_create_rd's error path). */
  pgt: boolean;
  /** VTCR_EL2 IPA size. */
  iaBits: number;
  /** Stage-2 start level (4 - stage2_pgtable_levels). */
  startLevel: number;
}

/** A guest memory-fault exit to the VMM (KVM_EXIT_MEMORY_FAULT). */
export interface MemoryFault {
  gpa: number;
  size: number;
  private: boolean;
  write: boolean;
}

export type VcpuExit =
  | { kind: "none" }
  | { kind: "memory-fault"; fault: MemoryFault }
  | { kind: "mmio"; ipa: number; write: boolean; len: number }
  | { kind: "system-event"; type: "shutdown" | "reset" }
  | { kind: "shutdown" }
  | { kind: "unknown" }
  /** KVM_EXIT_INTERNAL_ERROR: handle_rec_exit met an exit reason it has no case for. */
  | { kind: "internal-error"; reason: number }
  | { kind: "hypercall"; imm: number }
  | { kind: "psci"; fid: bigint };

/** struct realm_rec (vcpu->arch.rec). */
export interface RecK {
  /** PA of the REC page, or -1. */
  recPage: number;
  /** PA of the rec_run page, or -1 (NULL: not created). */
  run: number;
  /** PAs of the aux granules. */
  aux: number[];
  mpidr: bigint;
  /** v10/v12 kvm_create_rec unwind: `run` (and `recPage`, -1 when its undelegate failed) still
   *  point at the pages the unwind freed (profile.recCreateUnwindClearsRun false). */
  stale: boolean;
}

export class Vcpu {
  readonly rec: RecK = { recPage: -1, run: -1, aux: [], mpidr: 0n, stale: false };
  /** kvm_mmu_memory_cache: pre-allocated zeroed pages. */
  readonly memcache: number[] = [];
  /** PSCI power state as KVM's PSCI emulation keeps it. */
  powerOff: boolean;
  /** Has run KVM_RUN at least once (kvm_arch_vcpu_run_pid_change). */
  hasRun = false;
  /** v8/v10: KVM_ARM_VCPU_REC finalized. */
  finalized = false;
  lastExit: VcpuExit = { kind: "none" };
  /** Pending MMIO completion for the next entry. */
  mmioPending: { read: boolean; value: bigint } | undefined;
  /** v14: a PSCI request handled in KVM, completed at the next kvm_rec_pre_enter. */
  psciPending: { target: Vcpu; status: number } | undefined;
  /** rec_exit_ripas_change set the RIPAS_RESPONSE reject flag for the next entry. */
  ripasReject = false;
  constructor(readonly kvm: Kvm, readonly id: number) {
    this.powerOff = id !== 0;
  }
  get mpidr(): bigint {
    // MPIDR_EL1 affinity as KVM assigns it for vcpu_id (Aff0 = id % 16, Aff1 = id / 16).
    return BigInt(this.id % 16) | (BigInt(Math.floor(this.id / 16) % 256) << 8n);
  }
}

export class Kvm {
  readonly realm: RealmK;
  readonly mmu: S2Mmu;
  readonly memslots: Memslot[] = [];
  /** gfns whose memory attribute is PRIVATE (KVM_MEMORY_ATTRIBUTE_PRIVATE). */
  readonly privateGfns = new GfnBitmap();
  readonly vcpus: Vcpu[] = [];
  /** kvm_account_pgtable_pages(): the VM's secondary page-table statistic (pages). */
  pgtablePages = 0;
  readonly mmuLock = new RwLock("mmu_lock");
  /** Events "flagged" by the model (UB shifts, uninitialised reads) for the scenarios. */
  readonly flags: string[] = [];
  irqchipInKernel = true;
  /** Force PAGE_SIZE stage-2 mappings for realm faults ("Always use 4k pages" in user_mem_abort, v8..v13; profile forcePteDefault). */
  forcePte: boolean;
  /** mmu_invalidate_seq (bumped by MMU-notifier invalidations). */
  mmuInvalidateSeq = 0;
  destroyed = false;
  /** KVM_BUG_ON fired (kvm->vm_bugged): every vCPU ioctl fails with -EIO. */
  vmBugged = false;
  /** Count of cond_resched points taken / missed during long unmaps (S12); `whileAtomic`: taken
   *  although the caller passed may_block = false (v8 15/43 realm_unmap_shared_range). */
  resched = { taken: 0, longestWithout: 0, current: 0, whileAtomic: 0 };

  constructor(
    readonly env: KvmEnv,
    readonly id: number,
    readonly profile: SeriesProfile,
    iaBits: number,
  ) {
    this.realm = { state: RealmStateK.NONE, rd: -1, params: -1, iaBits: 0, vmid: -1, numAux: 0, hashAlgo: 0, rpv: new Uint8Array(64) };
    // VTCR_EL2.SL0: the stage-2 starting level, 4 - stage2_pgtable_levels(ia_bits) (4K pages).
    const startLevel = 4 - stage2_pgtable_levels(iaBits);
    this.mmu = { pgdPhys: -1, pgdSize: 0, pgt: false, iaBits, startLevel };
    this.forcePte = profile.forcePteDefault;
  }

  get isRealm(): boolean {
    return true;
  }

  /** kvm_realm_is_created(). */
  get realmCreated(): boolean {
    return this.realm.state !== RealmStateK.NONE;
  }

  allocPage(owner: PageOwner): number {
    return this.env.pages.alloc(owner, this.id);
  }

  warn(fn: string, msg: string): void {
    this.env.warn(fn, msg);
  }

  event(text: string): void {
    this.env.log.push("event", text);
  }

  /** kvm_account_pgtable_pages(virt, n). */
  accountPgtablePages(n: number): void {
    this.pgtablePages += n;
  }

  memslotOf(gfn: number): Memslot | undefined {
    for (const s of this.memslots) if (gfn >= s.baseGfn && gfn < s.baseGfn + s.npages) return s;
    return undefined;
  }

  /** kvm_mem_is_private(). */
  memIsPrivate(gfn: number): boolean {
    return this.privateGfns.has(gfn);
  }

  /**
   * cond_resched_rwlock_write: counts reschedule points of long unmaps (S12). `take`: the posted
   * code reschedules here; `callerMayBlock`: whether its caller allowed it (may_block).
   */
  condResched(take: boolean, callerMayBlock = take): void {
    if (take) {
      this.resched.taken++;
      if (!callerMayBlock) this.resched.whileAtomic++;
      this.resched.current = 0;
    } else {
      this.resched.current++;
      if (this.resched.current > this.resched.longestWithout) this.resched.longestWithout = this.resched.current;
    }
  }
}

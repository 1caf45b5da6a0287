/**
 * The host's page allocator over the platform's DRAM (the buddy allocator as far as the CCA code
 * can tell): every page has an owner, a reference count and an explicit leaked state.
 *
 * Linux semantics kept: `free_page` drops one reference and frees at zero, so a page pinned with
 * `get_page` after a failed undelegate is never reused (S23). A page whose owner forgot it (the
 * PGD after S14, an RTT whose undelegate failed) is marked leaked when its VM goes away.
 * Deterministic: a bump pointer plus a LIFO free list; 2 MiB (order-9) blocks come from the bump
 * pointer, aligned. Cost is proportional to the pages in use: per-page records live in lazily
 * allocated typed-array chunks (8 bytes a page), not one object per page.
 */
import { Chunks } from "../arch/chunks.js";
import { GRANULE_SIZE, SZ_2M } from "../arch/geometry.js";
import type { Machine } from "../platform/machine.js";
import { Pas } from "../platform/gpt.js";

export type PageOwner =
  | "kvm-rd" | "kvm-rec" | "kvm-aux" | "kvm-rtt" | "kvm-pgd" | "kvm-params" | "kvm-run"
  | "memcache" | "gmem" | "user" | "vmm" | "kernel";

export interface HostPage {
  pa: number;
  owner: PageOwner;
  /** VM id (0 for pages of no VM). */
  vm: number;
  refcount: number;
  /** Set when the page can never come back (undelegate failed, or forgotten by its owner). */
  leaked: boolean;
  leakReason?: string;
}

export interface AllocRequest {
  owner: PageOwner;
  vm: number;
  order: 0 | 9;
}

/** Fault injection: return true to make this allocation fail (the Nth page allocation fails). */
export type AllocHook = (req: AllocRequest, nth: number) => boolean;

/** Owner names by code - 1 (a code is given to each owner name the first time it is seen). */
const OWNERS: PageOwner[] = [];
const OWNER_CODE = new Map<PageOwner, number>();

/**
 * Pages per chunk of the per-page arrays (16 MiB of DRAM, 32 KiB of records): small enough that
 * a host restored from a snapshot copies little on its first writes (Chunks copy on write).
 */
const CHUNK = 4096;
/** Largest VM id a page record holds. */
const VM_MAX = 0xffff;

interface Chunk {
  /** 0: free; else 1 + index in OWNERS. */
  owner: Uint8Array;
  leaked: Uint8Array;
  vm: Uint16Array;
  refcount: Int32Array;
}

/**
 * A live view of one allocated page's record (reads and writes go to the allocator's arrays; a
 * write first makes the chunk the allocator's own, see Chunks copy on write).
 */
class PageView implements HostPage {
  constructor(private readonly c: Chunk, private readonly i: number, readonly pa: number, private readonly a: PageAllocator) {}
  get owner(): PageOwner {
    return OWNERS[this.c.owner[this.i]! - 1]!;
  }
  set owner(o: PageOwner) {
    this.a.ownChunk(this.pa);
    this.c.owner[this.i] = ownerCode(o);
    this.a.journal?.push(this.pa);
  }
  get vm(): number {
    return this.c.vm[this.i]!;
  }
  set vm(v: number) {
    this.a.ownChunk(this.pa);
    this.c.vm[this.i] = v;
    this.a.journal?.push(this.pa);
  }
  get refcount(): number {
    return this.c.refcount[this.i]!;
  }
  set refcount(v: number) {
    this.a.ownChunk(this.pa);
    this.c.refcount[this.i] = v;
  }
  get leaked(): boolean {
    return this.c.leaked[this.i] === 1;
  }
  get leakReason(): string | undefined {
    return this.a.leakReason(this.pa);
  }
}

function ownerCode(o: PageOwner): number {
  let c = OWNER_CODE.get(o);
  if (c === undefined) {
    if (typeof o !== "string") throw new TypeError(`host: page owner must be a name, got ${String(o)}`);
    if (OWNERS.length >= 255) throw new RangeError("host: too many page owner names");
    OWNERS.push(o);
    c = OWNERS.length;
    OWNER_CODE.set(o, c);
  }
  return c;
}

export class PageAllocator {
  /** Per-page records by page number from the allocator's base. */
  private readonly chunks = new Chunks<Chunk>(CHUNK, () => ({
    owner: new Uint8Array(CHUNK), leaked: new Uint8Array(CHUNK), vm: new Uint16Array(CHUNK), refcount: new Int32Array(CHUNK),
  }));
  private readonly reasons = new Map<number, string>();
  private readonly freeList: number[] = [];
  private bump: number;
  private readonly base: number;
  private readonly end: number;
  readonly totalPages: number;
  /** Allocations attempted so far (1-based count for "the Nth allocation"). */
  allocations = 0;
  hook: AllocHook | undefined;
  /**
   * Called when the last reference to a page goes while its granule is not in the Non-secure PAS
   * (the host code freed a page the RMM still holds). See put().
   */
  onFreeDelegated: ((pa: number, owner: PageOwner) => void) | undefined = undefined;
  /** Pages freed while their granule was not NS (see put()), until it is undelegated. */
  private readonly quarantined = new Set<number>();
  /**
   * When set, the PA of every page allocated, freed, leaked or given another owner or VM is
   * appended here (incremental invariant checks, src/host/invariants.ts). Undefined: no journal.
   */
  journal: number[] | undefined = undefined;
  private leakedCount = 0;
  private used = 0;

  /** Why a leaked page was leaked. */
  leakReason(pa: number): string | undefined {
    return this.reasons.get(pa);
  }

  constructor(private readonly machine: Machine, base?: number, size?: number) {
    const dram = machine.map.regions.find((r) => r.kind === "dram");
    if (dram === undefined) throw new Error("host: the memory map has no DRAM");
    this.bump = base ?? dram.base;
    this.base = this.bump;
    this.end = size !== undefined ? this.bump + size : dram.end;
    this.totalPages = (this.end - this.bump) / GRANULE_SIZE;
  }

  get freePages(): number {
    return this.totalPages - this.used;
  }

  get usedPages(): number {
    return this.used;
  }

  get leakedPages(): number {
    return this.leakedCount;
  }

  /** Page number of `pa` if it is a page this allocator manages, else -1. */
  private num(pa: number): number {
    if (!(pa >= this.base && pa < this.end) || pa % GRANULE_SIZE !== 0) return -1;
    return (pa - this.base) / GRANULE_SIZE;
  }

  /** Allocate one 4 KiB page (refcount 1), zeroed. Returns its PA, or -1 (NULL). */
  alloc(owner: PageOwner, vm: number): number {
    const nth = ++this.allocations;
    if (this.hook?.({ owner, vm, order: 0 }, nth)) return -1;
    let pa: number;
    if (this.freeList.length > 0) pa = this.freeList.pop()!;
    else if (this.bump < this.end) {
      pa = this.bump;
      this.bump += GRANULE_SIZE;
    } else return -1;
    this.install(pa, owner, vm);
    return pa;
  }

  /** Allocate a 2 MiB aligned block (a THP / hugetlb folio): 512 pages, each refcount 1. */
  allocHuge(owner: PageOwner, vm: number): number {
    return this.allocBlock(SZ_2M / GRANULE_SIZE, owner, vm, 9);
  }

  /** alloc_pages_exact: `n` physically contiguous pages aligned to their power-of-two size. */
  allocBlock(n: number, owner: PageOwner, vm: number, order: 0 | 9 = 0): number {
    const nth = ++this.allocations;
    if (this.hook?.({ owner, vm, order }, nth)) return -1;
    let align = GRANULE_SIZE;
    while (align < n * GRANULE_SIZE) align *= 2;
    let base = this.bump;
    const r = base % align;
    if (r !== 0) base += align - r;
    const size = n * GRANULE_SIZE;
    if (base + size > this.end) return -1;
    // Pages skipped for alignment go to the free list (lowest address on top).
    for (let a = base - GRANULE_SIZE; a >= this.bump; a -= GRANULE_SIZE) this.freeList.push(a);
    this.bump = base + size;
    for (let a = base; a < base + size; a += GRANULE_SIZE) this.install(a, owner, vm);
    return base;
  }

  private install(pa: number, owner: PageOwner, vm: number): void {
    const code = ownerCode(owner);
    if (!Number.isInteger(vm) || vm < 0 || vm > VM_MAX) throw new RangeError(`host: page owner VM id ${vm} out of range 0..${VM_MAX}`);
    this.machine.mem.zero(pa / GRANULE_SIZE);
    const n = (pa - this.base) / GRANULE_SIZE;
    const c = this.chunks.forWrite(n);
    const i = n % CHUNK;
    c.owner[i] = code;
    c.vm[i] = vm;
    c.refcount[i] = 1;
    c.leaked[i] = 0;
    this.used++;
    this.journal?.push(pa);
  }

  page(pa: number): HostPage | undefined {
    const n = this.num(pa);
    if (n < 0) return undefined;
    const c = this.chunks.find(n);
    const i = n % CHUNK;
    if (c === undefined || c.owner[i] === 0) return undefined;
    return new PageView(c, i, pa, this);
  }

  isFree(pa: number): boolean {
    return this.num(pa) >= 0 && this.page(pa) === undefined;
  }

  /** get_page: one more reference. */
  get(pa: number): void {
    const c = this.mustPage(pa, "get_page");
    c.refcount[this.mi]!++;
  }

  /** put_page / free_page: drop one reference; the page returns to the free list at zero. */
  put(pa: number): void {
    const c = this.mustPage(pa, "put_page");
    const i = this.mi;
    const rc = c.refcount[i]!;
    if (rc <= 0) throw new Error(`host: put_page on PA 0x${pa.toString(16)} with refcount ${rc}`);
    c.refcount[i] = rc - 1;
    if (rc === 1 && this.machine.gpt.get(pa / GRANULE_SIZE) !== Pas.NS) {
      // The posted code frees a page whose undelegate failed or was never attempted (v12
      // realm_destroy_private_granule's failed undelegate, v13 21/48 / v14 23/44
      // realm_unmap_private_range breaking out of its loop, then guest_memfd's release). The kernel
      // would hand a Realm-PAS page to its next user, who takes a granule protection fault on first
      // touch. The model cannot run that later fault, so it shows the free visibly: the page is
      // quarantined as leaked (never reused), with its reason, and the host logs the event.
      const owner = OWNERS[c.owner[i]! - 1]!;
      this.leak(pa, `freed by the host while still delegated to the realm (${owner})`);
      this.quarantined.add(pa);
      this.onFreeDelegated?.(pa, owner);
      return;
    }
    if (rc === 1) this.release(pa, c, i);
  }

  /**
   * After an undelegate: a quarantined page whose granule is back in the Non-secure PAS is what
   * the kernel's free left it, a free page (the posted code freed it before undelegating it).
   */
  releaseUndelegated(): void {
    if (this.quarantined.size === 0) return;
    for (const pa of [...this.quarantined]) {
      if (this.machine.gpt.get(pa / GRANULE_SIZE) !== Pas.NS) continue;
      this.quarantined.delete(pa);
      const c = this.mustPage(pa, "free_page");
      this.release(pa, c, this.mi);
    }
  }

  /** The page returns to the free list (its last reference is gone). */
  private release(pa: number, c: Chunk, i: number): void {
    if (c.leaked[i] === 1) {
      this.leakedCount--;
      this.reasons.delete(pa);
    }
    c.owner[i] = 0;
    c.leaked[i] = 0;
    c.vm[i] = 0;
    this.used--;
    this.freeList.push(pa);
    this.journal?.push(pa);
  }

  /** Mark a page as lost for good (it stays allocated and is never reused). */
  leak(pa: number, reason: string): void {
    const c = this.mustPage(pa, "leak");
    const i = this.mi;
    if (c.leaked[i] === 0) {
      c.leaked[i] = 1;
      this.reasons.set(pa, reason);
      this.leakedCount++;
      this.journal?.push(pa);
    }
  }

  /** Pages still held for VM `vm` (for the leak sweep at VM destruction), in address order. */
  pagesOf(vm: number): HostPage[] {
    const out: HostPage[] = [];
    for (const p of this.allocated()) if (p.vm === vm) out.push(p);
    return out;
  }

  /** Every allocated page, in address order (invariant checks; cost proportional to the chunks in use). */
  *allocated(): IterableIterator<HostPage> {
    for (const [first, c] of this.chunks.sorted()) {
      for (let i = 0; i < CHUNK; i++) {
        if (c.owner[i] !== 0) yield new PageView(c, i, this.base + (first + i) * GRANULE_SIZE, this);
      }
    }
  }

  /** Index in the chunk of the last mustPage() (saves an allocation per call). */
  private mi = 0;

  /** The chunk of an allocated page (its index in `mi`), for writing; throws for a free page. */
  private mustPage(pa: number, what: string): Chunk {
    const n = this.num(pa);
    const c = n < 0 ? undefined : this.chunks.find(n);
    const i = n % CHUNK;
    if (c === undefined || c.owner[i] === 0) throw new Error(`host: ${what} on free page PA 0x${pa.toString(16)} (simulator bug)`);
    this.mi = i;
    // the same record, its arrays copied first if a restored host still shares them with the snapshot
    return this.chunks.forWrite(n);
  }

  /** Before a PageView writes a record field: the page's chunk becomes this allocator's own (copy on write). */
  ownChunk(pa: number): void {
    const n = this.num(pa);
    if (n >= 0) this.chunks.forWrite(n);
  }
}

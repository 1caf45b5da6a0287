/**
 * The host's page allocator over the platform's DRAM (the buddy allocator as far as the CCA code
 * can tell): every page has an owner, a reference count and an explicit leaked state.
 *
 * Linux semantics kept: `free_page` drops one reference and frees at zero, so a page pinned with
 * `get_page` after a failed undelegate is never reused (S23). A page whose owner forgot it (the
 * PGD after S14, an RTT whose undelegate failed) is marked leaked when its VM goes away.
 * Deterministic: a bump pointer plus a LIFO free list; 2 MiB (order-9) blocks come from the bump
 * pointer, aligned. Cost is proportional to the pages in use.
 */
import { GRANULE_SIZE, SZ_2M } from "../arch/geometry.js";
import type { Machine } from "../platform/machine.js";

export type PageOwner =
  | "kvm-rd" | "kvm-rec" | "kvm-aux" | "kvm-rtt" | "kvm-pgd" | "kvm-params" | "kvm-run"
  | "memcache" | "gmem" | "user" | "vmm";

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

export class PageAllocator {
  private readonly pages = new Map<number, HostPage>();
  private readonly freeList: number[] = [];
  private bump: number;
  private readonly end: number;
  readonly totalPages: number;
  /** Allocations attempted so far (1-based count for "the Nth allocation"). */
  allocations = 0;
  hook: AllocHook | undefined;
  private leakedCount = 0;

  constructor(private readonly machine: Machine, base?: number, size?: number) {
    const dram = machine.map.regions.find((r) => r.kind === "dram");
    if (dram === undefined) throw new Error("host: the memory map has no DRAM");
    this.bump = base ?? dram.base;
    this.end = size !== undefined ? this.bump + size : dram.end;
    this.totalPages = (this.end - this.bump) / GRANULE_SIZE;
  }

  get freePages(): number {
    return this.totalPages - this.pages.size;
  }

  get usedPages(): number {
    return this.pages.size;
  }

  get leakedPages(): number {
    return this.leakedCount;
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
    this.machine.mem.zero(pa / GRANULE_SIZE);
    this.pages.set(pa, { pa, owner, vm, refcount: 1, leaked: false });
  }

  page(pa: number): HostPage | undefined {
    return this.pages.get(pa);
  }

  isFree(pa: number): boolean {
    return !this.pages.has(pa) && pa >= this.baseAddr && pa < this.end;
  }

  private get baseAddr(): number {
    return this.end - this.totalPages * GRANULE_SIZE;
  }

  /** get_page: one more reference. */
  get(pa: number): void {
    const p = this.mustPage(pa, "get_page");
    p.refcount++;
  }

  /** put_page / free_page: drop one reference; the page returns to the free list at zero. */
  put(pa: number): void {
    const p = this.mustPage(pa, "put_page");
    if (p.refcount <= 0) throw new Error(`host: put_page on PA 0x${pa.toString(16)} with refcount ${p.refcount}`);
    p.refcount--;
    if (p.refcount === 0) {
      if (p.leaked) this.leakedCount--;
      this.pages.delete(pa);
      this.freeList.push(pa);
    }
  }

  /** Mark a page as lost for good (it stays allocated and is never reused). */
  leak(pa: number, reason: string): void {
    const p = this.mustPage(pa, "leak");
    if (!p.leaked) {
      p.leaked = true;
      p.leakReason = reason;
      this.leakedCount++;
    }
  }

  /** Pages still held for VM `vm` (for the leak sweep at VM destruction). */
  pagesOf(vm: number): HostPage[] {
    const out: HostPage[] = [];
    for (const p of this.pages.values()) if (p.vm === vm) out.push(p);
    return out;
  }

  /** Every allocated page (invariant checks; cost proportional to pages in use). */
  allocated(): IterableIterator<HostPage> {
    return this.pages.values();
  }

  private mustPage(pa: number, what: string): HostPage {
    const p = this.pages.get(pa);
    if (p === undefined) throw new Error(`host: ${what} on free page PA 0x${pa.toString(16)} (simulator bug)`);
    return p;
  }
}

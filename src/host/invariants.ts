/**
 * The host/RMM invariants of Host.checkInvariants, kept up to date incrementally so that checking
 * them after every host step costs what the step changed, not what the realms have mapped (a full
 * scan after each of N page faults made fault-in O(N^2)).
 *
 * What can change an invariant's verdict, and how it is seen here:
 * * a granule's state (GranuleTable journal) - the granule's verdict, and the RTT count of a realm;
 * * a host page allocated, freed, leaked or given another owner/VM (PageAllocator journal) - the
 *   verdict of the granule at that PA, and a VM's count of leaked RTT pages;
 * * a VM created or destroyed (seen by a scan of the VMs' live flags every step) - the verdicts
 *   of the granules whose host page is that VM's (indexed by VM, so a new or destroyed VM costs
 *   its own granules, not everyone's: a full rebuild there made creating N realms O(N^2)).
 * The result, messages and their order, is what the full scan (Host.checkInvariants) gives.
 */
import { GRANULE_SIZE } from "../arch/geometry.js";
import { GranuleState, GRANULE_STATE_NAMES } from "../rmm/granule.js";
import type { Platform } from "../system/platform.js";
import type { RealmVm } from "../vmm/vm.js";
import type { PageAllocator } from "./page-alloc.js";

/** What the checks read: the platform (the RMM's granules and RTTs), the host pages, the VMs. */
export interface InvariantsSubject {
  readonly platform: Platform;
  readonly pages: PageAllocator;
  readonly vms: readonly RealmVm[];
  vm(id: number): RealmVm | undefined;
}

/** Above this many journal entries in one step, a full rebuild is cheaper than the replay. */
const MAX_JOURNAL = 1 << 20;

export class IncrementalInvariants {
  private valid = false;
  /** Current violations per granule index. */
  private readonly bad = new Map<number, string[]>();
  /** RTT granule -> [rd granule, level] counted in rttsByRd. */
  private readonly rttOf = new Map<number, [number, number]>();
  /** rd granule -> RTTs by level (index level + 1). */
  private readonly rttsByRd = new Map<number, Int32Array>();
  /** PA of a leaked "kvm-rtt" page -> VM id it counts for. */
  private readonly leakedRttOf = new Map<number, number>();
  private readonly leakedRttByVm = new Map<number, number>();
  /** Granule -> VM id of its host page, and the reverse, for the granules with a verdict input. */
  private readonly vmOfGranule = new Map<number, number>();
  private readonly granulesOfVm = new Map<number, Set<number>>();
  /** Whether each VM (by its index in host.vms) was live at the last check. */
  private readonly liveSeen: boolean[] = [];

  constructor(private readonly host: InvariantsSubject) {}

  /** Stop journalling (invariant checks switched off): the next check rebuilds. */
  suspend(): void {
    this.valid = false;
    this.host.platform.rmm.granules.journal = undefined;
    this.host.pages.journal = undefined;
  }

  /** The violations now (same messages, same order as Host.checkInvariants()). */
  check(): string[] {
    const host = this.host;
    const rmm = host.platform.rmm;
    const gj = rmm.granules.journal;
    const pj = host.pages.journal;
    if (!this.valid || gj === undefined || pj === undefined || gj.length + pj.length > MAX_JOURNAL) {
      this.rebuild();
    } else {
      for (const g of gj) {
        this.updateGranule(g);
        this.updateRtt(g);
      }
      for (const pa of pj) {
        this.updateGranule(pa / GRANULE_SIZE);
        this.updateLeakedRtt(pa);
      }
      gj.length = 0;
      pj.length = 0;
      // every RTT in the RMM's map is counted: otherwise something changed the map without a
      // granule state change, and the counts are rebuilt
      if (this.rttOf.size !== rmm.rtts.size) this.rebuild();
      else this.vmsChanged();
    }
    return this.report();
  }

  /** A VM created or destroyed since the last check: the verdicts of its granules again. */
  private vmsChanged(): void {
    const vms = this.host.vms;
    for (let i = 0; i < vms.length; i++) {
      const v = vms[i]!;
      const live = !v.kvm.destroyed;
      if (this.liveSeen[i] === live) continue;
      this.liveSeen[i] = live;
      const gs = this.granulesOfVm.get(v.id);
      if (gs !== undefined) for (const g of [...gs]) this.updateGranule(g);
    }
  }

  private rememberLiveness(): void {
    const vms = this.host.vms;
    for (let i = 0; i < vms.length; i++) this.liveSeen[i] = !vms[i]!.kvm.destroyed;
  }

  /** Index granule g under the VM of its host page (or under none). */
  private indexVm(g: number, vm: number | undefined): void {
    const old = this.vmOfGranule.get(g);
    if (old === vm) return;
    if (old !== undefined) {
      this.granulesOfVm.get(old)!.delete(g);
      this.vmOfGranule.delete(g);
    }
    if (vm === undefined) return;
    this.vmOfGranule.set(g, vm);
    let gs = this.granulesOfVm.get(vm);
    if (gs === undefined) this.granulesOfVm.set(vm, (gs = new Set()));
    gs.add(g);
  }

  private rebuild(): void {
    const host = this.host;
    const rmm = host.platform.rmm;
    this.bad.clear();
    this.rttOf.clear();
    this.rttsByRd.clear();
    this.leakedRttOf.clear();
    this.leakedRttByVm.clear();
    this.vmOfGranule.clear();
    this.granulesOfVm.clear();
    this.rememberLiveness();
    for (const [g] of rmm.granules.nonNs()) this.updateGranule(g);
    for (const g of rmm.rtts.keys()) this.updateRtt(g);
    for (const p of host.pages.allocated()) if (p.owner === "kvm-rtt" && p.leaked) this.updateLeakedRtt(p.pa);
    rmm.granules.journal = [];
    host.pages.journal = [];
    this.valid = true;
  }

  /** The per-granule invariants of granule g (Host.checkInvariants, first loop). */
  private updateGranule(g: number): void {
    const host = this.host;
    const st = host.platform.rmm.granules.state(g);
    if (st === GranuleState.NS) {
      this.bad.delete(g);
      this.indexVm(g, undefined);
      return;
    }
    const out: string[] = [];
    const pa = g * GRANULE_SIZE;
    const page = host.pages.page(pa);
    const name = GRANULE_STATE_NAMES[st];
    this.indexVm(g, page?.vm);
    if (page === undefined) {
      out.push(`granule 0x${pa.toString(16)} is ${name} in the RMM but free in the host`);
    } else {
      const vm = host.vm(page.vm);
      if (!page.leaked && (vm === undefined || vm.kvm.destroyed)) out.push(`granule 0x${pa.toString(16)} (${name}, ${page.owner}) is delegated for a VM that is gone and not counted as leaked`);
      if (st === GranuleState.DELEGATED && !page.leaked) out.push(`granule 0x${pa.toString(16)} (${page.owner}) is DELEGATED but no RMM object uses it (orphan)`);
    }
    if (out.length > 0) this.bad.set(g, out);
    else this.bad.delete(g);
  }

  /** Whether granule g is an RTT of the RMM, counted by realm and level. */
  private updateRtt(g: number): void {
    const old = this.rttOf.get(g);
    if (old !== undefined) {
      this.rttsByRd.get(old[0])![old[1] + 1]!--;
      this.rttOf.delete(g);
    }
    const t = this.host.platform.rmm.rtts.get(g);
    if (t === undefined) return;
    let byLevel = this.rttsByRd.get(t.rd);
    if (byLevel === undefined) this.rttsByRd.set(t.rd, (byLevel = new Int32Array(5)));
    byLevel[t.level + 1]!++;
    this.rttOf.set(g, [t.rd, t.level]);
  }

  /** Whether the page at pa is a leaked "kvm-rtt" page, counted by VM. */
  private updateLeakedRtt(pa: number): void {
    const old = this.leakedRttOf.get(pa);
    if (old !== undefined) {
      this.leakedRttByVm.set(old, this.leakedRttByVm.get(old)! - 1);
      this.leakedRttOf.delete(pa);
    }
    const p = this.host.pages.page(pa);
    if (p === undefined || p.owner !== "kvm-rtt" || !p.leaked) return;
    this.leakedRttOf.set(pa, p.vm);
    this.leakedRttByVm.set(p.vm, (this.leakedRttByVm.get(p.vm) ?? 0) + 1);
  }

  private report(): string[] {
    const out: string[] = [];
    if (this.bad.size > 0) {
      const gs = [...this.bad.keys()].sort((a, b) => a - b);
      for (const g of gs) out.push(...this.bad.get(g)!);
    }
    const rmm = this.host.platform.rmm;
    for (const v of this.host.vms) {
      if (v.kvm.destroyed || v.kvm.profile.freeDelegatedGranuleUnaccounts) continue;
      const rd = v.kvm.realm.rd;
      let held = 0;
      if (rd >= 0) {
        const rdG = rd / GRANULE_SIZE;
        const realm = rmm.realms.get(rdG);
        const byLevel = this.rttsByRd.get(rdG);
        if (realm !== undefined && byLevel !== undefined) for (let l = realm.sl + 1; l <= 3; l++) held += byLevel[l + 1]!;
      }
      held += this.leakedRttByVm.get(v.id) ?? 0;
      if (held !== v.kvm.pgtablePages) out.push(`VM ${v.id}: kvm_account_pgtable_pages says ${v.kvm.pgtablePages}, the realm holds ${held} RTT page(s)`);
    }
    return out;
  }
}

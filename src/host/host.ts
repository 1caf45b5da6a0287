/**
 * The Host API (design.md "Host, guest, scenarios"): a Linux/KVM host of one posting of the CCA
 * series on its own platform, with a toy VMM per realm VM, a realm guest, fault injection, the
 * ordered trace, a per-step time series and invariant checks.
 *
 *   const host = Host.create({ series: "v12", seed: 1 });
 *   const vm = host.createRealm({ ipaBits: 40, memory: 64n << 20n, vcpus: 2 });
 *   vm.start(); vm.touch(0x8000_0000n); vm.destroy(); host.stats();
 */
import { Prng } from "../arch/prng.js";
import { checkKnownKeys, shown } from "../platform/args.js";
import { GRANULE_SIZE } from "../arch/geometry.js";
import { GranuleState, GRANULE_STATE_NAMES } from "../rmm/granule.js";
import type { RmiCallRecord } from "../rmm/trace.js";
import { Platform } from "../system/platform.js";
import type { MemoryRegion } from "../platform/memory-map.js";
import { FaultInjector, type FaultRule } from "../faults/inject.js";
import { TraceLog } from "../trace/log.js";
import { TimeSeries, type SeriesSample } from "../trace/series.js";
import { PageAllocator } from "./page-alloc.js";
import { RmiClient } from "../kvm/rmi_cmds.js";
import type { KvmArmMode, KvmEnv, KvmNs } from "../kvm/env.js";
import { profileOf, type ProfileOverrides, type SeriesId, type SeriesProfile } from "../kvm/series/index.js";
import { kvm_init_rmi, rmiUnavailableReason } from "../kvm/rmi/init.js";
import { RealmVm, type CreateRealmOptions } from "../vmm/vm.js";
import { IncrementalInvariants } from "./invariants.js";
import { checkSnapshot, decodeGraph, encodeGraph, HOST_SNAPSHOT_FORMAT, HOST_SNAPSHOT_VERSION, type HostSnapshot } from "./snapshot.js";

export interface HostOptions {
  series: SeriesId;
  /** Seed of the host's PRNG (workloads, sampling). Same seed, same trace. */
  seed?: number;
  /** Check the invariants after every step (default true). */
  invariants?: boolean;
  /** Keep the ordered trace (default true). */
  trace?: boolean;
  /**
   * Change named variation points of the posting ("what if v14 had the post-v14 fix"), e.g.
   * `{rangeMapCreatesOneLevel: true}` (S02) or `{rmmDescConvention: "bet1"}` (S07).
   */
  overrides?: ProfileOverrides;
  /**
   * Uninitialised locals of the posted code (S09 v13 `i`, S28 v14 SRO result) read as garbage
   * (a non-zero value) instead of a stale zero. Either way each read is flagged. Default false.
   */
  poisonUninit?: boolean;
  /** The platform's memory map (default: Platform's, 2 GiB of DRAM); a bigger DRAM hosts bigger realms. */
  memoryMap?: readonly MemoryRegion[];
  /**
   * The host kernel's kvm-arm.mode: "vhe" (default, the kernel at EL2) or "nvhe" (S26: v13 loses
   * the realm's GIC state on nVHE, v14 refuses realm VMs there).
   */
  kvmArmMode?: KvmArmMode;
}

/** kvm-arm.mode on the host kernel command line (VHE: the kernel runs at EL2). */
export type { KvmArmMode };

export interface HostStats {
  freePages: number;
  leakedPages: number;
  warnCount: number;
  granules: { DELEGATED: number; RD: number; REC: number; REC_AUX: number; DATA: number; RTT: number };
  vms: { id: number; state: string; pgtablePages: number }[];
  /** Total RMI calls so far. */
  rmiCalls: number;
  /** Invariant violations seen so far (when checking is on). */
  violations: number;
}

export interface WarnRecord {
  fn: string;
  msg: string;
  step: number;
}


/** The largest seed: the host's PRNG (src/arch/prng.ts, xorshift32) has 32 bits of state. */
export const SEED_MAX = 0xffff_ffff;

/**
 * A seed, checked: an integer in [0, 2^32 - 1]. Larger seeds are refused rather than cut to 32
 * bits (0, 2^32 and 2^53 - 1 would otherwise give one trace). Seed 0 runs as 0x9e3779b9
 * (xorshift32 cannot start from 0).
 */
export function checkSeed(what: string, v: unknown): number {
  if (typeof v !== "number" || !Number.isInteger(v)) throw new TypeError(`${what}: seed must be an integer in [0, ${SEED_MAX}], got ${shown(v)}`);
  if (v < 0 || v > SEED_MAX) throw new RangeError(`${what}: seed ${v} is out of range: seeds are integers in [0, ${SEED_MAX}] (the PRNG has 32 bits of state)`);
  return v;
}

const HOST_OPTIONS = ["series", "seed", "invariants", "trace", "overrides", "poisonUninit", "memoryMap", "kvmArmMode"];
const REALM_OPTIONS = ["ipaBits", "memory", "vcpus", "ramBase", "image", "forcePte", "thp", "irqchip", "initRipasAfterPopulate"];

function checkBoolean(what: string, o: Record<string, unknown>, keys: readonly string[]): void {
  for (const k of keys) if (o[k] !== undefined && typeof o[k] !== "boolean") throw new TypeError(`${what}: ${k} must be true or false, got ${shown(o[k])}`);
}

/** Host.create's options: known keys, switches that are booleans, overrides of the profile field's type. */
function checkHostOptions(opts: HostOptions, base: SeriesProfile): void {
  const o = opts as unknown as Record<string, unknown>;
  checkKnownKeys("Host.create", o, HOST_OPTIONS);
  checkBoolean("Host.create", o, ["invariants", "trace", "poisonUninit"]);
  if (opts.overrides === undefined || opts.overrides === null || typeof opts.overrides !== "object") return;
  for (const [k, v] of Object.entries(opts.overrides)) {
    const was = (base as unknown as Record<string, unknown>)[k];
    if (k in base && v !== undefined && typeof v !== typeof was) throw new TypeError(`Host.create: overrides: '${k}' must be a ${typeof was} (the profile has ${shown(was)}), got ${shown(v)}`);
  }
}

/** createRealm's options: known keys and the types of the switches (ranges are checked by the VM). */
function checkRealmOptions(opts: CreateRealmOptions): void {
  if (opts === null || typeof opts !== "object") throw new TypeError("createRealm: options must be an object");
  const o = opts as unknown as Record<string, unknown>;
  checkKnownKeys("createRealm", o, REALM_OPTIONS);
  checkBoolean("createRealm", o, ["forcePte", "thp", "irqchip", "initRipasAfterPopulate"]);
  for (const k of ["memory", "ramBase", "image"]) if (o[k] !== undefined && typeof o[k] !== "bigint") throw new TypeError(`createRealm: ${k} must be a bigint, got ${shown(o[k])}`);
}

/** A count as a small integer (V8 keeps it unboxed in an object); counts are far below 2^30. */
function smallInt(n: number): number {
  return n < 0x4000_0000 ? n | 0 : n;
}

/**
 * Per command name, what the host's RMM subscriber needs, computed once per name (one lookup per
 * call): the short name ("RMI_RTT_CREATE" -> "RTT_CREATE"), whether a success changes state (not
 * READ_ONLY), whether it is an undelegate.
 */
interface CmdInfo {
  short: string;
  readOnly: boolean;
  undelegate: boolean;
}
const CMD_INFO = new Map<string, CmdInfo>();
function cmdInfo(name: string): CmdInfo {
  let i = CMD_INFO.get(name);
  if (i === undefined) CMD_INFO.set(name, (i = { short: name.replace(/^RMI_/, ""), readOnly: READ_ONLY.has(name), undelegate: UNDELEGATES.has(name) }));
  return i;
}

const UNDELEGATES = new Set(["RMI_GRANULE_UNDELEGATE", "RMI_GRANULE_RANGE_UNDELEGATE"]);
const READ_ONLY = new Set(["RMI_VERSION", "RMI_FEATURES", "RMI_RTT_READ_ENTRY", "RMI_REC_AUX_COUNT", "RMI_REC_ENTER"]);

/**
 * The Linux KVM host of one posting of the CCA series on a simulated platform: `Host.create`,
 * `host.createRealm(...)` for VMs, the host's trace log, accounting time series, fault injection
 * and invariant checks.
 */
export class Host implements KvmEnv {
  readonly platform: Platform;
  readonly profile: SeriesProfile;
  readonly series: SeriesId;
  readonly seed: number;
  readonly pages: PageAllocator;
  readonly rmi: RmiClient;
  readonly log = new TraceLog();
  readonly timeSeries = new TimeSeries();
  readonly faults: FaultInjector;
  readonly rng: Prng;
  /** Host VMID bitmap (v8..v12). */
  readonly vmids = new Set<number>();
  readonly warns: WarnRecord[] = [];
  readonly violations: string[] = [];
  private readonly incremental = new IncrementalInvariants(this);
  invariants: boolean;
  /** Successful state-changing RMI calls (progress, for livelock detection). */
  mutations = 0;
  /** RMI calls so far by command name (RMI_ prefix dropped), for the time series. */
  private readonly rmiByCmd: Record<string, number> = {};
  private readonly vmList: RealmVm[] = [];
  private nextVmId = 1;
  private stepNo = 0;

  /** Uninitialised reads take a garbage value (see HostOptions.poisonUninit). */
  readonly poisonUninit: boolean;
  /** kvm_init_rmi's result (0, or the errno that left realms unsupported). */
  readonly rmiInit: number;
  /** kvm-arm.mode (HostOptions.kvmArmMode). */
  readonly kvmArmMode: KvmArmMode;

  /** The options the host was created with (Host.restore creates a host with them first). */
  private readonly createOptions: HostOptions;

  private constructor(opts: HostOptions) {
    this.createOptions = opts;
    const base = profileOf(opts.series);
    if (opts.overrides !== undefined) {
      if (opts.overrides === null || typeof opts.overrides !== "object") throw new TypeError("Host.create: overrides must be an object of profile fields");
      for (const k of Object.keys(opts.overrides)) {
        if (!(k in base) || k === "id" || k === "rmm" || k === "uapi") throw new RangeError(`Host.create: overrides: '${k}' is not a variation point that can be overridden`);
      }
    }
    this.profile = opts.overrides === undefined ? base : { ...base, ...opts.overrides };
    this.poisonUninit = opts.poisonUninit ?? false;
    this.series = this.profile.id;
    this.seed = opts.seed === undefined ? 1 : checkSeed("Host.create", opts.seed);
    const mode = opts.kvmArmMode ?? "vhe";
    if (mode !== "vhe" && mode !== "nvhe") throw new RangeError(`Host.create: kvmArmMode must be "vhe" or "nvhe", got ${String(mode)}`);
    this.kvmArmMode = mode;
    this.rng = new Prng(this.seed);
    this.invariants = opts.invariants ?? true;
    this.log.enabled = opts.trace ?? true;
    if (mode === "nvhe") this.log.push("event", "host kernel: kvm-arm.mode=nvhe");
    const popts: Parameters<typeof Platform.create>[0] = { rmm: this.profile.rmm };
    if (opts.memoryMap !== undefined) popts.memoryMap = opts.memoryMap;
    if (this.profile.rmm === "2.0") popts.v1Compat = this.profile.v1Compat;
    this.platform = Platform.create(popts);
    this.pages = new PageAllocator(this.platform.machine);
    this.pages.onFreeDelegated = (pa, owner) =>
      this.log.push("event", `BUG: the last reference to PA 0x${pa.toString(16)} (${owner}) dropped while its granule is still delegated: the kernel frees a Realm-PAS page (its next user takes a granule protection fault); quarantined as leaked`);
    this.rmi = new RmiClient(this.platform);
    this.faults = new FaultInjector({ rmm: this.platform.rmm, pages: this.pages, log: this.log });
    this.platform.rmm.trace.subscribe((r: RmiCallRecord) => {
      this.log.pushRmi(r);
      // RMI calls by command, counted as they happen (a sample copies the counts; rescanning the
      // log at every step made a run of N steps cost O(N^2)).
      const info = cmdInfo(r.name);
      const short = info.short;
      this.rmiByCmd[short] = (this.rmiByCmd[short] ?? 0) + 1;
      if (r.x0 === 0 && !info.readOnly) this.mutations++;
      // a page the posted code freed while delegated is a free page again once undelegated
      if (info.undelegate) this.pages.releaseUndelegated();
    });
    this.rmi.descConvention = this.profile.rmm === "2.0" ? this.profile.rmmDescConvention : "bet1";
    this.rmi.onWarn = (fn, msg) => this.warn(fn, msg);
    this.rmiInit = kvm_init_rmi(this);
    this.platform.rmm.guest = (v) => {
      // the VM whose RD is the vCPU's (compared as numbers: v.realm.rd is the RD's granule index)
      const rd = v.realm.rd * GRANULE_SIZE;
      for (const vm of this.vmList) if (!vm.kvm.destroyed && vm.kvm.realm.rd === rd) return vm.guest.hook(v);
    };
  }

  /**
   * A host running the KVM code of one posting of the CCA series (`opts.series`: "v8", "v10",
   * "v12", "v13", "v14") on a fresh platform with the RMM that posting drives (RMI 1.0 or 2.0).
   * Then `host.createRealm({...})` makes a VM and `vm.start()` starts its realm.
   * @param opts series, seed of the host's PRNG, trace/invariants switches, profile overrides
   * @example Host.create({ series: "v12", seed: 1 })
   */
  static create(opts: HostOptions): Host {
    if (opts === null || typeof opts !== "object") throw new TypeError("Host.create: options must be an object, e.g. {series: \"v12\"}");
    checkHostOptions(opts, profileOf(opts.series));
    return new Host(opts);
  }

  /**
   * The whole host state as a plain JSON value (src/host/snapshot.ts), versioned; only at a
   * quiescent point (between host steps: no vCPU thread alive, no lock held), else it throws.
   */
  snapshot(opts: { binary?: boolean; history?: boolean } = {}): HostSnapshot {
    // binary: memory kept as ArrayBuffer copies (faster to take and restore; not JSON).
    // history: false leaves out the trace and the RMM's call log (a restored host starts them
    // empty; their sequence counters continue): nothing the simulation does reads them back.
    const omit = opts.history === false ? new Set<object>([...this.log.historyArrays(), this.platform.rmm.trace.records]) : undefined;
    return {
      format: HOST_SNAPSHOT_FORMAT,
      version: HOST_SNAPSHOT_VERSION,
      series: this.series,
      options: encodeGraph(this.createOptions, "host.snapshot"),
      graph: encodeGraph(this, "host.snapshot", opts.binary === true, omit),
    };
  }

  /** A host in the state of `snap` (from host.snapshot(), possibly through JSON); it continues as the original would. */
  static restore(snap: HostSnapshot): Host {
    const s = checkSnapshot(snap);
    const opts = decodeGraph(s.options, undefined, "Host.restore") as HostOptions;
    return decodeGraph(s.graph, new Host(opts), "Host.restore") as Host;
  }

  /** A realm VM with its toy VMM (not started: call vm.start()). */
  createRealm(opts: CreateRealmOptions = {}): RealmVm {
    // KVM_CREATE_VM(KVM_VM_TYPE_ARM_REALM) with RMI unavailable (kvm_init_rmi failed, e.g. S29).
    const off = rmiUnavailableReason(this);
    if (off !== undefined) throw new Error(`createRealm: realm support is disabled on this ${this.series} host: kvm_init_rmi: ${off}; KVM_CREATE_VM(KVM_VM_TYPE_ARM_REALM) fails with -EINVAL`);
    checkRealmOptions(opts);
    const vm = new RealmVm(this, this.nextVmId, opts);
    this.nextVmId++;
    this.vmList.push(vm);
    this.step(`create realm VM ${vm.id}`);
    return vm;
  }

  get vms(): readonly RealmVm[] {
    return this.vmList;
  }

  /** The VM with this id (ids are 1, 2, ... in creation order), without a search. */
  vm(id: number): RealmVm | undefined {
    const v = this.vmList[id - 1];
    return v?.id === id ? v : undefined;
  }

  /** Add a fault-injection rule (src/faults/inject.ts). Throws on a bad rule, changing nothing. */
  inject(rule: FaultRule): string {
    return this.faults.add(rule);
  }

  /** KvmEnv: NS memory through the kernel's linear map (the platform's NS access). */
  get ns(): KvmNs {
    return this.platform.ns;
  }

  /** KvmEnv: whether the granule at `pa` is still delegated (bookkeeping after a failed undelegate). */
  delegated(pa: number): boolean {
    return this.platform.rmm.granules.state(pa / GRANULE_SIZE) === GranuleState.DELEGATED;
  }

  /** KvmEnv: the DRAM banks (for_each_mem_region). */
  memRegions(): readonly { base: number; end: number }[] {
    return this.platform.machine.map.regions.filter((r) => r.kind === "dram");
  }

  warn(fn: string, msg: string): void {
    this.warns.push({ fn, msg, step: this.stepNo });
    this.log.push("warn", msg, fn);
  }

  get warnCount(): number {
    return this.warns.length;
  }

  /** Every RMI call (in the RMM's trace format) and host event, in order. */
  get trace(): string[] {
    return this.log.lines();
  }

  get rmiCalls(): number {
    return this.platform.rmm.trace.seq;
  }

  granules(): HostStats["granules"] {
    // straight from the counts (no intermediate record), as small integers: a value read from the
    // Float64Array would otherwise be kept boxed, ~150 B more per time-series sample
    const g = this.platform.rmm.granules;
    return {
      DELEGATED: smallInt(g.countOf(GranuleState.DELEGATED)),
      RD: smallInt(g.countOf(GranuleState.RD)),
      REC: smallInt(g.countOf(GranuleState.REC)),
      REC_AUX: smallInt(g.countOf(GranuleState.REC_AUX)),
      DATA: smallInt(g.countOf(GranuleState.DATA)),
      RTT: smallInt(g.countOf(GranuleState.RTT)),
    };
  }

  stats(): HostStats {
    return {
      freePages: this.pages.freePages,
      leakedPages: this.pages.leakedPages,
      warnCount: this.warns.length,
      granules: this.granules(),
      vms: this.vmList.map((v) => ({ id: v.id, state: v.state, pgtablePages: v.kvm.pgtablePages })),
      rmiCalls: this.rmiCalls,
      violations: this.violations.length,
    };
  }

  /**
   * End of a host step: one time-series sample, and the invariants when switched on. `label` may
   * be a function: it is called only when the label is used (a sample, an invariant violation),
   * so a fault-in with the time series off does not format one per access.
   */
  step(label: string | (() => string)): void {
    if (typeof label !== "string" && (this.timeSeries.enabled || this.invariants)) label = label();
    this.stepNo++;
    this.log.step = this.stepNo;
    if (this.timeSeries.enabled) {
      const byCmd: Record<string, number> = { ...this.rmiByCmd };
      const s: SeriesSample = {
        step: this.stepNo,
        label: label as string,
        granules: this.granules(),
        pgtablePages: this.vmList.reduce((a, v) => a + (v.kvm.destroyed ? 0 : v.kvm.pgtablePages), 0),
        freePages: this.pages.freePages,
        leakedPages: this.pages.leakedPages,
        warnCount: this.warns.length,
        rmiCalls: this.rmiCalls,
        rmiByCommand: byCmd,
      };
      this.timeSeries.push(s);
    }
    if (this.invariants) {
      // the same checks as checkInvariants(), at the cost of what this step changed
      for (const v of this.incremental.check()) {
        this.violations.push(`step ${this.stepNo} (${label as string}): ${v}`);
        this.log.push("event", `INVARIANT: ${v}`);
      }
    } else {
      this.incremental.suspend();
    }
  }

  /**
   * The host/RMM invariants: no page both free in the host and delegated; every delegated granule
   * held by a live VM's KVM object or counted as leaked; page-table accounting equal to the RTT
   * pages held, unless the posting is known to drift (v8, S11).
   */
  checkInvariants(): string[] {
    const out: string[] = [];
    const rmm = this.platform.rmm;
    for (const [g, st] of rmm.granules.nonNs()) {
      const pa = g * GRANULE_SIZE;
      const page = this.pages.page(pa);
      const name = GRANULE_STATE_NAMES[st];
      if (page === undefined) {
        out.push(`granule 0x${pa.toString(16)} is ${name} in the RMM but free in the host`);
        continue;
      }
      const vm = this.vm(page.vm);
      if (!page.leaked && (vm === undefined || vm.kvm.destroyed)) out.push(`granule 0x${pa.toString(16)} (${name}, ${page.owner}) is delegated for a VM that is gone and not counted as leaked`);
      if (st === GranuleState.DELEGATED && !page.leaked) out.push(`granule 0x${pa.toString(16)} (${page.owner}) is DELEGATED but no RMM object uses it (orphan)`);
    }
    for (const v of this.vmList) {
      if (v.kvm.destroyed || v.kvm.profile.freeDelegatedGranuleUnaccounts) continue;
      const rd = v.kvm.realm.rd;
      let held = 0;
      if (rd >= 0) {
        const rdG = rd / GRANULE_SIZE;
        const realm = rmm.realms.get(rdG);
        for (const t of rmm.rtts.values()) if (t.rd === rdG && realm !== undefined && t.level > realm.sl) held++;
      }
      for (const p of this.pages.pagesOf(v.id)) if (p.owner === "kvm-rtt" && p.leaked) held++;
      if (held !== v.kvm.pgtablePages) out.push(`VM ${v.id}: kvm_account_pgtable_pages says ${v.kvm.pgtablePages}, the realm holds ${held} RTT page(s)`);
    }
    return out;
  }
}

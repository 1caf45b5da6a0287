/**
 * One realm VM as a user drives it: the toy VMM (kvmtool-like) issuing each posting's ioctls,
 * the KVM VM underneath, and the realm guest. `start()` runs the posting's own VMM sequence up to
 * an ACTIVE realm and a first vCPU run; `touch`, `share`, `unshare` are guest actions.
 */
import { GRANULE_SIZE, SZ_2M } from "../arch/geometry.js";
import { Ripas } from "../arch/ripas.js";
import { GuestVm, psciOps, realmMpidr, type GuestOp, type GuestOpRecord } from "../guest/guest.js";
import { RSI_CHANGE_DESTROYED, type AccessKind } from "../rmm/realm-exec.js";
import type { RttTree, RttTreeOptions } from "../rmm/inspect.js";
import type { Platform } from "../system/platform.js";
import { KernelHang, type Gen } from "../sched/coop.js";
import { errnoName, EAGAIN, EFAULT } from "../kvm/errno.js";
import type { KvmEnv } from "../kvm/env.js";
import { GuestMemfd, Kvm, UserMemory, Vcpu } from "../kvm/kvm.js";
import { kvm_activate_realm_cap, kvm_finalize_rec } from "../kvm/rmi/lifecycle.js";
import { kvm_create_vm, kvm_destroy_vm, kvm_mmu_notifier_invalidate_range_start, kvm_vm_set_mem_attributes } from "../kvm/kvm_main.js";
import { populate } from "./populate.js";
import { ARM_RME_CONFIG_HASH_ALGO, ARM_RME_CONFIG_HASH_ALGO_SHA256, kvm_create_realm, kvm_rme_config_realm } from "../kvm/rmi/realm.js";
import { kvm_init_ipa_range_realm } from "../kvm/rmi/ripas.js";
import { EINTR_LIKE, untilDone } from "../sched/run-control.js";
import { kvm_vcpu_run, type RunResult } from "../kvm/arm.js";
import { kvm_vcpu_run as kvm_vcpu_run_sync } from "../kvm-sync/arm.js";

/**
 * What the VMM uses of the host it runs on (the Host provides it): the kernel's interface to KVM
 * (KvmEnv: page allocator, NS memory, log, profile), the host's step and counters, and the
 * Platform, through which the VMM inspects a realm's tables (no RMI call) and copies pages.
 */
export interface VmmHost extends KvmEnv {
  readonly platform: Platform;
  /** RMI calls so far. */
  readonly rmiCalls: number;
  /** Successful state-changing RMI calls so far (progress, for livelock detection). */
  readonly mutations: number;
  /** End of a host step (time-series sample, invariants); a function label is called only if used. */
  step(label: string | (() => string)): void;
}

export interface CreateRealmOptions {
  /** IPA width (VTCR_EL2 IPA size), 32..48; default 40. */
  ipaBits?: number;
  /** Guest RAM size, 4 KiB multiple; default 64 MiB. */
  memory?: bigint;
  /** Number of vCPUs, default 1. */
  vcpus?: number;
  /** Guest RAM base IPA; default 0x8000_0000 (0 if that does not fit the protected half). */
  ramBase?: bigint;
  /** Bytes of kernel image the VMM populates at the RAM base (measured); default 64 KiB; 0 for none. */
  image?: bigint;
  /** Force PAGE_SIZE stage-2 mappings (the posting's default: on for v8..v13). */
  forcePte?: boolean;
  /** Back the shared memory with transparent huge pages (2 MiB) where possible; default false. */
  thp?: boolean;
  /** In-kernel irqchip (default true; false reproduces S17). */
  irqchip?: boolean;
  /** v8/v10 VMM: call INIT_RIPAS after POPULATE instead of before (S19); default false. */
  initRipasAfterPopulate?: boolean;
}

export type TouchOutcome = "ok" | "sea" | "mmio" | "livelock" | "error" | "shutdown" | "hang" | "halted" | "rejected";

export interface TouchResult {
  outcome: TouchOutcome;
  /** REC exits taken while doing it. */
  exits: number;
  /** RMI calls made while doing it. */
  rmiCalls: number;
  /** The KVM_RUN errno when outcome is "error". */
  errno?: string;
  /** What the realm saw (guest op result), when the op completed. */
  result?: unknown;
}

export interface StartResult {
  ok: boolean;
  /** The ioctls the VMM issued, with their results. */
  steps: { ioctl: string; ret: string }[];
  rmiCalls: number;
}

/**
 * A realm VM as a VMM sees it (from `host.createRealm`): `start()`, guest accesses (`touch`),
 * share/unshare, `rtt()` (the RTTs as the RMM holds them), `destroy()`.
 */
export class RealmVm {
  readonly kvm: Kvm;
  readonly guest: GuestVm;
  readonly ramBase: number;
  readonly memory: number;
  readonly imageSize: number;
  readonly entry: bigint;
  private readonly opts: CreateRealmOptions;
  private startedFlag = false;

  constructor(readonly host: VmmHost, readonly id: number, opts: CreateRealmOptions) {
    if (opts === null || typeof opts !== "object") throw new TypeError("createRealm: options must be an object");
    const ipaBits = opts.ipaBits ?? 40;
    if (!Number.isInteger(ipaBits) || ipaBits < 32 || ipaBits > 48) throw new RangeError(`createRealm: ipaBits must be an integer in [32, 48], got ${String(ipaBits)}`);
    const memory = opts.memory ?? 64n << 20n;
    if (typeof memory !== "bigint" || memory <= 0n || memory % 4096n !== 0n) throw new RangeError("createRealm: memory must be a positive bigint multiple of 4 KiB");
    const vcpus = opts.vcpus ?? 1;
    if (!Number.isInteger(vcpus) || vcpus < 1 || vcpus > 64) throw new RangeError(`createRealm: vcpus must be an integer in [1, 64], got ${String(vcpus)}`);
    const par = 2 ** (ipaBits - 1);
    let ramBase = opts.ramBase !== undefined ? Number(opts.ramBase) : 0x8000_0000;
    if (opts.ramBase === undefined && ramBase + Number(memory) > par) ramBase = 0;
    if (ramBase % SZ_2M !== 0) throw new RangeError("createRealm: ramBase must be 2 MiB aligned");
    if (ramBase + Number(memory) > par) throw new RangeError(`createRealm: RAM [0x${ramBase.toString(16)}, +0x${memory.toString(16)}) does not fit the protected half of a ${ipaBits}-bit IPA space`);
    const image = opts.image ?? 64n << 10n;
    if (typeof image !== "bigint" || image < 0n || image % 4096n !== 0n || image > memory) throw new RangeError("createRealm: image must be a bigint multiple of 4 KiB, at most memory");
    this.opts = opts;
    this.ramBase = ramBase;
    this.memory = Number(memory);
    this.imageSize = Number(image);
    this.entry = BigInt(ramBase);
    // KVM_CREATE_VM(KVM_VM_TYPE_ARM_REALM): kvm_arch_init_vm (the stage-2 PGD, then the params page).
    const k = kvm_create_vm(host, id, ipaBits);
    if (typeof k === "number") throw new Error(`createRealm: out of host memory: KVM_CREATE_VM returns ${errnoName(k)}`);
    this.kvm = k;
    if (opts.forcePte !== undefined) k.forcePte = opts.forcePte;
    k.irqchipInKernel = opts.irqchip ?? true;
    this.guest = new GuestVm(vcpus);
    const roots = k.mmu.pgdSize / GRANULE_SIZE;
    // The RAM memslot: guest_memfd for private memory, anonymous memory for the shared alias.
    k.memslots.push({ id: 0, baseGfn: ramBase / GRANULE_SIZE, npages: this.memory / GRANULE_SIZE, gmem: new GuestMemfd(), user: new UserMemory(opts.thp ?? false) });
    // KVM_SET_MEMORY_ATTRIBUTES(PRIVATE) over the RAM, as the VMM does at start.
    k.privateGfns.setRange(ramBase / GRANULE_SIZE, (ramBase + this.memory) / GRANULE_SIZE, true);
    for (let i = 0; i < vcpus; i++) k.vcpus.push(new Vcpu(k, i));
    this.log(`KVM_CREATE_VM type REALM: VM ${id}, ipa_bits ${ipaBits}, ${roots} PGD page(s), RAM 0x${ramBase.toString(16)} +0x${this.memory.toString(16)}, ${vcpus} vCPU(s)`);
  }

  private log(text: string): void {
    this.host.log.push("ioctl", text);
  }

  /** KVM's realm state: NONE, NEW, ACTIVE, DYING, DEAD (and the RMM's view once created). */
  get state(): string {
    return this.kvm.realm.state;
  }

  get started(): boolean {
    return this.startedFlag;
  }

  get vcpus(): number {
    return this.kvm.vcpus.length;
  }

  /** The realm's RMM-side state (NEW/ACTIVE/SYSTEM_OFF), if the RD exists. */
  get rmmState(): string | undefined {
    const rd = this.kvm.realm.rd;
    return rd < 0 ? undefined : this.host.platform.granule(BigInt(rd)).realmState;
  }

  /** The posting's VMM sequence up to an ACTIVE realm and a first run of every vCPU. */
  start(): StartResult {
    if (this.startedFlag) throw new Error(`vm.start: VM ${this.id} was already started`);
    if (this.kvm.destroyed) throw new Error(`vm.start: VM ${this.id} was destroyed`);
    this.startedFlag = true;
    const k = this.kvm;
    const before = this.host.rmiCalls;
    const steps: { ioctl: string; ret: string }[] = [];
    const ioctl = (name: string, r: number): boolean => {
      steps.push({ ioctl: name, ret: errnoName(r) });
      this.log(`${name} = ${errnoName(r)}`);
      return r >= 0;
    };
    const image = new Uint8Array(this.imageSize);
    for (let i = 0; i < image.length; i++) image[i] = (i * 131 + 7) % 251; // a deterministic "kernel"
    let ok = true;
    if (k.profile.uapi === "vmm-driven") {
      ok = ioctl("KVM_ENABLE_CAP(RME, CONFIG_REALM hash=SHA256)", kvm_rme_config_realm(k, { cfg: ARM_RME_CONFIG_HASH_ALGO, hashAlgo: ARM_RME_CONFIG_HASH_ALGO_SHA256 }))
        && ioctl("KVM_ENABLE_CAP(RME, CREATE_REALM)", kvm_create_realm(k));
      const initRipas = () => ioctl(`KVM_ENABLE_CAP(RME, INIT_RIPAS_REALM 0x${this.ramBase.toString(16)} +0x${this.memory.toString(16)})`, kvm_init_ipa_range_realm(k, this.ramBase, this.memory));
      const pop = () => this.imageSize === 0 || ioctl(`KVM_ENABLE_CAP(RME, POPULATE_REALM 0x${this.ramBase.toString(16)} +0x${this.imageSize.toString(16)} MEASURE)`, Math.min(0, populate(k, this.ramBase, image, true)));
      if (ok) ok = this.opts.initRipasAfterPopulate ? pop() && initRipas() : initRipas() && pop();
      for (const v of k.vcpus) if (ok) ok = ioctl(`KVM_ARM_VCPU_FINALIZE(vcpu${v.id}, REC)`, kvm_finalize_rec(v, this.entry));
      if (ok) ok = ioctl("KVM_ENABLE_CAP(RME, ACTIVATE_REALM)", kvm_activate_realm_cap(k));
    } else if (this.imageSize > 0) {
      const r = populate(k, this.ramBase, image, true);
      ok = ioctl(`KVM_ARM_RMI_POPULATE 0x${this.ramBase.toString(16)} +0x${this.imageSize.toString(16)} MEASURE -> ${r >= 0 ? r : "error"}`, Math.min(0, r));
    }
    // KVM_RUN as a step: runOps already logged a failing ioctl's errno (once); a run that never
    // returned to the VMM (livelock, hang) has no return value, its outcome is the step's result.
    const run = (i: number, r: TouchResult): boolean => {
      const name = `KVM_RUN(vcpu${i})`;
      if (r.errno !== undefined) steps.push({ ioctl: name, ret: r.errno });
      else if (r.outcome === "livelock" || r.outcome === "hang") {
        steps.push({ ioctl: name, ret: r.outcome });
        this.log(`${name} did not return (${r.outcome})`);
      } else ioctl(name, 0);
      return r.outcome === "ok";
    };
    if (ok) {
      // vCPU 0 boots and brings up the others with PSCI CPU_ON (the Linux SMP boot).
      const ops: GuestOp[] = [];
      for (let i = 1; i < k.vcpus.length; i++) ops.push(psciOps.cpuOn(realmMpidr(i), this.entry));
      ok = run(0, this.runOps(0, ops));
      for (let i = 1; ok && i < k.vcpus.length; i++) ok = run(i, this.runOps(i, []));
    }
    this.host.step(`start VM ${this.id}`);
    return { ok, steps, rmiCalls: this.host.rmiCalls - before };
  }

  private checkIpa(what: string, ipa: unknown): number {
    if (typeof ipa !== "bigint") throw new TypeError(`${what}: ipa must be a bigint, got ${typeof ipa}`);
    if (ipa < 0n) throw new RangeError(`${what}: IPA must be non-negative, got ${ipa}`);
    const a = Number(ipa);
    if (a >= 2 ** this.kvm.mmu.iaBits) throw new RangeError(`${what}: IPA 0x${ipa.toString(16)} is outside the realm's ${this.kvm.mmu.iaBits}-bit IPA space`);
    return a;
  }

  private checkVcpu(what: string, v: unknown): number {
    const n = v ?? 0;
    if (typeof n !== "number" || !Number.isInteger(n) || n < 0 || n >= this.kvm.vcpus.length) {
      throw new RangeError(`${what}: vCPU ${String(v)} does not exist (the VM has ${this.kvm.vcpus.length}: 0..${this.kvm.vcpus.length - 1})`);
    }
    return n;
  }

  private checkRunnable(what: string): void {
    if (!this.startedFlag) throw new Error(`${what}: VM ${this.id} is not started (call vm.start() first)`);
    if (this.kvm.destroyed) throw new Error(`${what}: VM ${this.id} was destroyed`);
  }

  /** A guest access at `ipa` (either alias) on a vCPU: what the posting does with the faults. */
  touch(ipa: bigint, opts: { vcpu?: number; access?: AccessKind; value?: bigint } = {}): TouchResult {
    this.checkRunnable("touch");
    const a = this.checkIpa("touch", ipa);
    const vcpu = this.checkVcpu("touch", opts.vcpu);
    const access = opts.access ?? "read";
    if (access !== "read" && access !== "write" && access !== "exec") throw new RangeError(`touch: access must be "read", "write" or "exec", got ${String(access)}`);
    // the access at its 8-byte aligned address (the caller's bigint when already aligned; no % on an address)
    const aligned = Math.floor(a / 8) * 8;
    const r = this.runOps(vcpu, [{ kind: "access", ipa: aligned === a ? ipa : BigInt(aligned), access, value: opts.value ?? 0n }]);
    // joined, not a template: one flat string (a template makes a chain of cons strings, ~240 B
    // kept per time-series sample instead of ~50); formatted only when a sample or check uses it
    this.host.step(() => ["touch 0x", a.toString(16), " ", access, " vcpu", vcpu].join(""));
    return r;
  }

  /** The guest makes [base, base+size) shared: RSI_IPA_STATE_SET(EMPTY), then the host's handling. */
  share(base: bigint, size: bigint, opts: { vcpu?: number } = {}): TouchResult {
    return this.ripasChange("share", base, size, Ripas.EMPTY, opts.vcpu);
  }

  /** The guest makes [base, base+size) private again: RSI_IPA_STATE_SET(RAM). */
  unshare(base: bigint, size: bigint, opts: { vcpu?: number } = {}): TouchResult {
    return this.ripasChange("unshare", base, size, Ripas.RAM, opts.vcpu);
  }

  private ripasChange(what: string, base: bigint, size: bigint, ripas: Ripas.EMPTY | Ripas.RAM, v: number | undefined): TouchResult {
    this.checkRunnable(what);
    const b = this.checkIpa(what, base);
    if (typeof size !== "bigint" || size <= 0n) throw new RangeError(`${what}: size must be a positive bigint`);
    if (b % GRANULE_SIZE !== 0 || size % 4096n !== 0n) throw new RangeError(`${what}: base and size must be 4 KiB aligned`);
    this.checkIpa(what, base + size - 1n);
    const vcpu = this.checkVcpu(what, v);
    // Linux (arch/arm64/kernel/rsi.c): sharing passes RSI_CHANGE_DESTROYED (the host may already
    // have destroyed the private pages); making memory protected again does not.
    const flags = ripas === Ripas.EMPTY ? RSI_CHANGE_DESTROYED : 0n;
    const r = this.runOps(vcpu, [{ kind: "ipa-state-set", base, top: base + size, ripas, flags }]);
    this.host.step(`${what} 0x${b.toString(16)} +0x${size.toString(16)}`);
    return r;
  }

  /** Run a list of guest operations on a vCPU to completion (or until the run stops). */
  run(vcpu: number, ops: GuestOp[]): TouchResult {
    this.checkRunnable("run");
    const n = this.checkVcpu("run", vcpu);
    const r = this.runOps(n, ops);
    this.host.step(`run ${ops.length} op(s) on vcpu${n}`);
    return r;
  }

  /**
   * vCPU threads for the interleaving scheduler: each gets its guest operations queued and runs
   * KVM_RUN until they are done (or it exits to userspace / livelocks).
   */
  raceThreads(work: { vcpu: number; ops: GuestOp[] }[]): { threads: Gen<RunResult>[]; records: GuestOpRecord[][] } {
    this.checkRunnable("raceThreads");
    const threads: Gen<RunResult>[] = [];
    const records: GuestOpRecord[][] = [];
    for (const w of work) {
      const idx = this.checkVcpu("raceThreads", w.vcpu);
      const cpu = this.guest.cpus[idx]!;
      const recs = w.ops.map((o) => cpu.push(o));
      records.push(recs);
      const done = () => recs.every((r) => r.result !== undefined);
      threads.push(kvm_vcpu_run(this.kvm.vcpus[idx]!, untilDone(this.entry, done, () => this.host.mutations + cpu.doneCount)));
    }
    return { threads, records };
  }

  /** The guest_memfd page behind a protected gpa (allocated now if needed, like fallocate). */
  gmemPage(gpa: bigint): bigint {
    const k = this.kvm;
    const gfn = Math.floor(Number(gpa) / GRANULE_SIZE);
    const slot = k.memslotOf(gfn);
    if (slot?.gmem === undefined) throw new RangeError(`gmemPage: 0x${gpa.toString(16)} is not guest_memfd-backed RAM`);
    let pa = slot.gmem.pages.get(gfn);
    if (pa === undefined) {
      pa = k.allocPage("gmem");
      if (pa < 0) throw new Error("gmemPage: out of host memory");
      slot.gmem.pages.set(gfn, pa);
    }
    return BigInt(pa);
  }

  /** The VMM's loop around KVM_RUN: handles the exits to userspace until the ops are done. */
  runOps(idx: number, ops: GuestOp[]): TouchResult {
    const k = this.kvm;
    const vcpu = k.vcpus[idx]!;
    const cpu = this.guest.cpus[idx]!;
    const recs: GuestOpRecord[] = ops.map((o) => cpu.push(o));
    const before = this.host.rmiCalls;
    let exits = 0;
    const done = () => recs.every((r) => r.result !== undefined) && (recs.length > 0 || cpu.idle);
    const progress = () => this.host.mutations + cpu.doneCount;
    let outcome: TouchOutcome | undefined;
    let errno: string | undefined;
    let sameUserExit = 0;
    let lastUser = "";
    for (let round = 0; outcome === undefined; round++) {
      const ctl = untilDone(this.entry, done, progress);
      let res: RunResult;
      try {
        // one thread, no scheduler: the non-yielding form generated from kvm_vcpu_run (src/kvm-sync)
        res = kvm_vcpu_run_sync(vcpu, ctl);
      } catch (e) {
        if (e instanceof KernelHang) {
          this.host.log.push("event", `HANG: ${e.message}`);
          outcome = "hang";
          break;
        }
        throw e;
      }
      exits += res.exits;
      if (res.stop === "livelock") outcome = "livelock";
      else if (res.stop === "limit") outcome = "hang";
      else if (res.stop === "guest-idle" || (res.ret === EINTR_LIKE && done())) outcome = undefined;
      else if (res.stop === "halted") outcome = recs.length === 0 ? "ok" : "halted";
      else {
        const ex = vcpu.lastExit;
        const key = JSON.stringify(ex);
        if (key === lastUser && ++sameUserExit > 64) {
          outcome = "livelock";
          break;
        }
        if (key !== lastUser) sameUserExit = 0;
        lastUser = key;
        if (res.ret === -EFAULT && ex.kind === "memory-fault") {
          this.setMemoryAttributes(ex.fault.gpa, ex.fault.size, ex.fault.private);
        } else if (res.ret === 0 && ex.kind === "mmio") {
          this.log(`KVM_EXIT_MMIO 0x${ex.ipa.toString(16)} ${ex.write ? "write" : "read"} (VMM emulates: no device, reads 0)`);
          vcpu.mmioPending = { read: !ex.write, value: 0n };
        } else if (res.ret === 0 && (ex.kind === "system-event" || ex.kind === "shutdown")) {
          this.log(`KVM_RUN(vcpu${idx}): ${ex.kind === "shutdown" ? "KVM_EXIT_SHUTDOWN" : `KVM_EXIT_SYSTEM_EVENT ${ex.type}`}`);
          outcome = "shutdown";
        } else if (res.ret === 0 && ex.kind === "hypercall") {
          // the VMM has nothing to do for a host call
        } else if (res.ret === -EAGAIN) {
          this.log(`KVM_RUN(vcpu${idx}) = -EAGAIN (the VMM retries)`);
        } else if (res.ret < 0) {
          errno = errnoName(res.ret);
          this.log(`KVM_RUN(vcpu${idx}) = ${errno}${ex.kind === "unknown" ? " (KVM_EXIT_UNKNOWN)" : ""}`);
          outcome = "error";
        }
      }
      if (outcome === undefined && done()) break;
      if (round > 10_000) outcome = "hang";
    }
    if (outcome === undefined) {
      const last = recs[recs.length - 1];
      const r = last?.result;
      outcome = r === undefined || r === "ok" || typeof r === "object" ? "ok" : r === "rsi-error" ? "error" : (r as TouchOutcome);
    }
    const res: TouchResult = { outcome, exits, rmiCalls: this.host.rmiCalls - before };
    if (errno !== undefined) res.errno = errno;
    const last = recs[recs.length - 1];
    if (last?.result !== undefined) res.result = last.result;
    if (outcome === "livelock") this.host.log.push("event", `LIVELOCK: vcpu${idx} keeps taking the same exit with no change of state`);
    // Ops that never completed are dropped from the guest's queue (the user moves on).
    for (const r of recs) if (r.result === undefined) {
      const i = cpu.queue.indexOf(r);
      if (i >= 0) cpu.queue.splice(i, 1);
    }
    return res;
  }

  /**
   * KVM_SET_MEMORY_ATTRIBUTES(gpa, size, PRIVATE or shared) and the series'
   * kvm_arch_post_set_memory_attributes: to private, unmap the shared alias; to shared, unmap
   * the private pages (kvm_realm_unmap_range has no private-only mode: the shared alias goes too).
   */
  setMemoryAttributes(gpa: number, size: number, priv: boolean): void {
    this.log(`KVM_SET_MEMORY_ATTRIBUTES 0x${gpa.toString(16)} +0x${size.toString(16)} ${priv ? "PRIVATE" : "shared"}`);
    kvm_vm_set_mem_attributes(this.kvm, gpa, size, priv);
  }

  /**
   * The VMM (or khugepaged) replaces the 4 KiB pages backing the 2 MiB region around `gpa` with
   * one huge page: the MMU notifier unmaps the range (shared alias) first.
   */
  collapse(gpa: bigint): void {
    const k = this.kvm;
    const slot = k.memslots[0]!;
    const base = Number(gpa) - (Number(gpa) % SZ_2M);
    const region = base / SZ_2M;
    if (slot.user.huge.has(region)) return;
    kvm_mmu_notifier_invalidate_range_start(k, base, SZ_2M);
    const huge = this.host.pages.allocHuge("user", k.id);
    if (huge < 0) throw new Error("collapse: out of host memory for a huge page");
    for (let g = base / GRANULE_SIZE; g < (base + SZ_2M) / GRANULE_SIZE; g++) {
      const pa = slot.user.small.get(g);
      if (pa !== undefined) {
        this.host.platform.machine.mem.copy((huge + (g * GRANULE_SIZE - base)) / GRANULE_SIZE, pa / GRANULE_SIZE);
        this.host.pages.put(pa);
        slot.user.small.delete(g);
      }
    }
    slot.user.huge.set(region, huge);
    this.log(`khugepaged: 2 MiB at 0x${base.toString(16)} now backed by a huge page at 0x${huge.toString(16)}`);
    this.host.step(`collapse 0x${base.toString(16)}`);
  }

  /** The VMM writes to guest memory through its mapping (the shared alias' backing). */
  vmmWrite(gpa: bigint, bytes: Uint8Array): void {
    const k = this.kvm;
    if (typeof gpa !== "bigint" || gpa < 0n) throw new RangeError(`vmmWrite: gpa must be a non-negative bigint, got ${String(gpa)}`);
    const g = Math.floor(Number(gpa) / GRANULE_SIZE);
    const slot = k.memslotOf(g);
    if (slot === undefined) throw new RangeError(`vmmWrite: 0x${gpa.toString(16)} is not guest RAM`);
    const region = Math.floor(Number(gpa) / SZ_2M);
    let pa: number;
    const huge = slot.user.huge.get(region);
    if (huge !== undefined) pa = huge + (Number(gpa) % SZ_2M);
    else {
      let p = slot.user.small.get(g);
      if (p === undefined) {
        p = this.host.pages.alloc("user", k.id);
        if (p < 0) throw new Error("vmmWrite: out of host memory");
        slot.user.small.set(g, p);
      }
      pa = p + (Number(gpa) % GRANULE_SIZE);
    }
    this.host.platform.ns.write(BigInt(pa), bytes);
  }

  /** Destroy the VM the way the VMM's exit does (kvm_destroy_vm and what leads to it). */
  destroy(): { state: string; rmiCalls: number } {
    if (this.kvm.destroyed) throw new Error(`vm.destroy: VM ${this.id} was already destroyed`);
    const before = this.host.rmiCalls;
    this.log(`VMM exit: VM ${this.id} torn down`);
    kvm_destroy_vm(this.kvm);
    this.host.step(`destroy VM ${this.id}`);
    return { state: this.state, rmiCalls: this.host.rmiCalls - before };
  }

  /** The realm's RTT tree as the RMM holds it (src/rmm/inspect.ts rttTree), or undefined before the RD exists. */
  rtt(opts: RttTreeOptions = {}): RttTree | undefined {
    const rd = this.kvm.realm.rd;
    return rd < 0 ? undefined : this.host.platform.rttTree(BigInt(rd), opts);
  }

  /** Level and state of the entry mapping `ipa` (the deepest the RMM has), read without an RMI call. */
  mappingOf(ipa: bigint): { level: number; state: string; ripas?: string; pa?: bigint } {
    const rd = this.kvm.realm.rd;
    if (this.rmmState === undefined) throw new Error("mappingOf: the realm has no RD");
    const a = this.checkIpa("mappingOf", ipa);
    // the last entry of the walk (what RTT_READ_ENTRY(ipa, 3) reports), named as the RMM's
    // internal entry state: ASSIGNED / UNASSIGNED with the RIPAS (ASSIGNED_RAM, ...), or the NS /
    // TABLE states
    const e = this.host.platform.rttWalk(BigInt(rd), BigInt(a - (a % GRANULE_SIZE)))!.at(-1)!;
    const state = e.state === "ASSIGNED" || e.state === "UNASSIGNED" ? `${e.state}_${e.ripas!}` : e.state;
    const out: { level: number; state: string; ripas?: string; pa?: bigint } = { level: e.level, state };
    if (e.ripas !== undefined) out.ripas = e.ripas;
    if (e.pa !== undefined && e.state !== "TABLE") out.pa = e.pa;
    return out;
  }
}

/**
 * Workloads for error-path campaigns: a list of host steps, each a function of the Host (VMs found
 * by index, so a step runs the same on a host restored from a snapshot). Every workload ends with
 * the teardown of every VM still alive.
 */
import type { Host } from "../host/host.js";
import type { CreateRealmOptions, RealmVm, TouchResult } from "../vmm/vm.js";

/** What one step reported: the VMM-visible outcome and the errno, if an ioctl failed. */
export interface StepReport {
  outcome: string;
  errno?: string;
  /**
   * The step could not do what it says (e.g. a script command that failed): in the run without
   * failures this is bad input, refused before anything is written; after an injected failure it
   * is one more outcome of the point.
   */
  failed?: string;
}

export interface WorkloadStep {
  label: string;
  /** One step on `host` (a step may be asynchronous: a command of a script). */
  run(host: Host): StepReport | Promise<StepReport>;
}

export interface Workload {
  name: string;
  steps: readonly WorkloadStep[];
  /**
   * What the workload is, for a workload that is not built in (a script's text): part of the
   * campaign, so shards of campaigns over different scripts never merge.
   */
  source?: string;
}

export const WORKLOAD_NAMES = ["boot", "fault", "ripas", "teardown", "lifecycle"] as const;
export type WorkloadName = (typeof WORKLOAD_NAMES)[number];

export interface WorkloadOptions {
  /** Guest RAM of the realm (default 64 MiB). */
  memory?: bigint;
  /** vCPUs (default 2). */
  vcpus?: number;
}

const RAM = 0x8000_0000n;
const SHARED = 1n << 39n; // the shared alias bit of a 40-bit IPA space

function vmOf(host: Host): RealmVm | undefined {
  return host.vms[0];
}

function touchReport(r: TouchResult): StepReport {
  const out: StepReport = { outcome: r.outcome };
  if (r.errno !== undefined) out.errno = r.errno;
  return out;
}

/** A guest action on VM 0 (skipped when the VM was never created or is gone). */
function onVm(label: string, f: (vm: RealmVm) => TouchResult): WorkloadStep {
  return {
    label,
    run(host) {
      const vm = vmOf(host);
      if (vm === undefined || vm.kvm.destroyed) return { outcome: "skipped" };
      return touchReport(f(vm));
    },
  };
}

function create(memory: bigint, vcpus: number): WorkloadStep {
  const opts: CreateRealmOptions = { ipaBits: 40, memory, vcpus };
  return {
    label: "create",
    run(host) {
      try {
        host.createRealm(opts);
        return { outcome: "ok" };
      } catch (e) {
        // KVM_CREATE_VM failing for want of memory reaches the VMM as -ENOMEM
        if (e instanceof Error && /out of host memory/.test(e.message)) return { outcome: "error", errno: "-ENOMEM" };
        throw e;
      }
    },
  };
}

const start: WorkloadStep = {
  label: "start",
  run(host) {
    const vm = vmOf(host);
    if (vm === undefined) return { outcome: "skipped" };
    const s = vm.start();
    const bad = s.steps.find((x) => x.ret !== "0");
    if (bad === undefined) return { outcome: "ok" };
    const out: StepReport = { outcome: bad.ret === "livelock" || bad.ret === "hang" ? bad.ret : "error" };
    if (bad.ret.startsWith("-")) out.errno = bad.ret;
    return out;
  },
};

/** Private faults: writes to pages in two 2 MiB regions, on each vCPU. */
function faults(vcpus: number): WorkloadStep[] {
  const out: WorkloadStep[] = [];
  const pages = [RAM + (8n << 20n), RAM + (8n << 20n) + 0x1000n, RAM + (8n << 20n) + 0x5000n, RAM + (10n << 20n)];
  pages.forEach((ipa, i) => out.push(onVm(`fault 0x${ipa.toString(16)}`, (vm) => vm.touch(ipa, { access: "write", vcpu: i % vcpus }))));
  // a shared fault: the guest touches the shared alias, the VMM converts the page (memory-fault exit)
  const sh = RAM + (12n << 20n);
  out.push(onVm(`shared fault 0x${(sh | SHARED).toString(16)}`, (vm) => vm.touch(sh | SHARED, { access: "write" })));
  return out;
}

/** RIPAS changes: share a range, use it, make it private again and fault it back in. */
function ripas(): WorkloadStep[] {
  const base = RAM + (16n << 20n);
  const size = 0x4000n;
  return [
    onVm(`fault 0x${base.toString(16)}`, (vm) => vm.touch(base, { access: "write" })),
    onVm(`share 0x${base.toString(16)} +0x${size.toString(16)}`, (vm) => vm.share(base, size)),
    onVm(`shared fault 0x${(base | SHARED).toString(16)}`, (vm) => vm.touch(base | SHARED, { access: "write" })),
    onVm(`unshare 0x${base.toString(16)} +0x${size.toString(16)}`, (vm) => vm.unshare(base, size)),
    onVm(`fault 0x${base.toString(16)} again`, (vm) => vm.touch(base, { access: "read" })),
  ];
}

/** The final step of every workload: each VM still alive is destroyed (the VMM exits). */
export const teardown: WorkloadStep = {
  label: "destroy",
  run(host) {
    for (const vm of host.vms) if (!vm.kvm.destroyed) vm.destroy();
    return { outcome: "ok" };
  },
};

/** A built-in workload by name. */
export function builtinWorkload(name: string, opts: WorkloadOptions = {}): Workload {
  const memory = opts.memory ?? 64n << 20n;
  const vcpus = opts.vcpus ?? 2;
  if (typeof memory !== "bigint" || memory < 32n << 20n || memory % 4096n !== 0n) throw new RangeError("explore: memory must be a bigint of at least 32 MiB, a multiple of 4 KiB (the workloads touch up to RAM + 20 MiB)");
  if (!Number.isInteger(vcpus) || vcpus < 1 || vcpus > 8) throw new RangeError("explore: vcpus must be an integer in [1, 8]");
  const boot = [create(memory, vcpus), start];
  let steps: WorkloadStep[];
  switch (name) {
    case "boot":
      steps = boot;
      break;
    case "fault":
      steps = [...boot, ...faults(vcpus)];
      break;
    case "ripas":
      steps = [...boot, ...ripas()];
      break;
    case "teardown":
      steps = [...boot, ...faults(vcpus).slice(0, 2)];
      break;
    case "lifecycle":
      steps = [...boot, ...faults(vcpus), ...ripas()];
      break;
    default:
      throw new RangeError(`explore: unknown workload '${name}' (built in: ${WORKLOAD_NAMES.join(", ")})`);
  }
  return { name, steps: [...steps, teardown] };
}

/**
 * A workload from a function of a Host (one step: no snapshot inside it) or a list of steps; the
 * teardown is added at the end.
 */
export function customWorkload(name: string, body: ((host: Host) => void) | readonly WorkloadStep[], source?: string): Workload {
  if (typeof name !== "string" || name === "" || (WORKLOAD_NAMES as readonly string[]).includes(name)) throw new RangeError(`explore: a custom workload needs its own name (not one of ${WORKLOAD_NAMES.join(", ")})`);
  const steps: WorkloadStep[] = typeof body === "function" ? [{ label: name, run: (h) => (body(h), { outcome: "ok" }) }] : [...body];
  const w: Workload = { name, steps: [...steps, teardown] };
  if (source !== undefined) w.source = source;
  return w;
}

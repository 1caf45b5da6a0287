/** Helpers shared by the scenario modules (sNN-*.ts): realm set-up, trace counts, model flags. */
import { Host, type HostOptions } from "../host/host.js";
import type { SeriesId } from "../kvm/series/index.js";
import type { CreateRealmOptions, RealmVm, StartResult } from "../vmm/vm.js";
import type { GuestOpResult } from "../guest/guest.js";
import type { ScenarioDef } from "./scenario.js";

export const RAM = 0x8000_0000n;
/** BIT(ia_bits - 1) for the 40-bit realms the scenarios use. */
export const SHARED_40 = 1n << 39n;

/** A fresh host of `series` as the scenarios make it (PRNG seed 1), with any other Host.create options. */
export function newHost(series: SeriesId, opts: Omit<HostOptions, "series" | "seed"> = {}): Host {
  return Host.create({ series, seed: 1, ...opts });
}

/** A host of `series` with one realm VM (40-bit IPA, 64 MiB unless told) taken through vm.start(). */
export function startedRealm(series: SeriesId, opts: CreateRealmOptions = {}): { host: Host; vm: RealmVm; ok: boolean; start: StartResult } {
  const host = newHost(series);
  const vm = host.createRealm({ ipaBits: 40, memory: 64n << 20n, vcpus: 1, ...opts });
  const start = vm.start();
  return { host, vm, ok: start.ok, start };
}

/** startedRealm, with a failed start written to the host's log (the trace shows it). */
export function started(series: SeriesId, opts: CreateRealmOptions = {}): { host: Host; vm: RealmVm } {
  const { host, vm, ok, start } = startedRealm(series, opts);
  if (!ok) host.log.push("event", `scenario: start failed: ${JSON.stringify(start.steps)}`);
  return { host, vm };
}

/** RMI calls of one command in the trace so far (e.g. "RTT_INIT_RIPAS"). */
export function countRmi(host: Host, name: string): number {
  const p = `SMC_RMI_${name} `;
  let n = 0;
  for (const l of host.trace) if (l.startsWith(p)) n++;
  return n;
}

/** The RD exists in the RMM. */
export function rdExists(vm: RealmVm): boolean {
  const rd = vm.kvm.realm.rd;
  return rd >= 0 && vm.host.platform.rmm.realms.has(rd / 4096);
}

/** Model flags (UB shifts, uninitialised reads) with a given prefix, e.g. "S20". */
export function flagsOf(vm: RealmVm, prefix: string): string[] {
  return vm.kvm.flags.filter((f) => f.startsWith(prefix));
}

/** The PSCI return value a guest PSCI op got (signed), or null if it did not complete. */
export function psciReturn(r: GuestOpResult | undefined): number | null {
  return typeof r === "object" ? Number(BigInt.asIntN(64, r.psci)) : null;
}

/** A catalogue entry the simulator does not run (a review finding with no behaviour): running it returns its notes. */
export function notesOnly(id: string, title: string, notes: string[], why = "is not simulatable"): ScenarioDef {
  return {
    id,
    title,
    affects: [],
    run(series, mk) {
      const host = newHost(series);
      const rec = mk(host);
      rec.notes.push(`${id} ${why}: ${title.toLowerCase()}; nothing was run.`, ...notes);
      rec.data.simulatable = false;
      return { host, rec };
    },
  };
}

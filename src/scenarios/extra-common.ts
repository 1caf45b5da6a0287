/** Helpers shared by the extra-*.ts scenario modules (S17..S33). */
import { Host } from "../host/host.js";
import type { SeriesId } from "../host/series/index.js";
import type { CreateRealmOptions, RealmVm } from "../host/vm.js";
import type { registerScenario } from "./catalogue.js";

/** A catalogue entry as registerScenario takes it. */
export type ExtraScenario = Parameters<typeof registerScenario>[0];

export const RAM = 0x8000_0000n;
/** BIT(ia_bits - 1) for the 40-bit realms the scenarios use. */
export const SHARED_40 = 1n << 39n;

/** A host of `series` with one realm VM (40-bit IPA, 64 MiB unless told) taken through vm.start(). */
export function startedRealm(series: SeriesId, opts: CreateRealmOptions = {}): { host: Host; vm: RealmVm; ok: boolean } {
  const host = Host.create({ series, seed: 1 });
  const vm = host.createRealm({ ipaBits: 40, memory: 64n << 20n, vcpus: 1, ...opts });
  const s = vm.start();
  return { host, vm, ok: s.ok };
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

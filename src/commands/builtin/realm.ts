/** Realm lifecycle: new, use, ls, destroy. */
import { SERIES_IDS, type SeriesId } from "../../kvm/series/index.js";
import type { Host } from "../../host/host.js";
import type { RealmVm, StartResult } from "../../vmm/vm.js";
import type { CommandContext, RealmEntry } from "../context.js";
import { UsageError, type CommandSpec } from "../spec.js";
import { didYouMean } from "../suggest.js";
import { formatSize, hex, sizeToken } from "../values.js";
import { ramBase } from "./guest.js";

const NAME_RE = /^[A-Za-z][A-Za-z0-9_.-]{0,31}$/;

/** IPA widths a realm may have (RMM spec A3.4 / TF-RMM s2tt.h: 32..48, 52 with LPA2). */
const MIN_IPA_BITS = 32;
const MAX_IPA_BITS = 52;

export function checkSeries(text: string): SeriesId {
  const t = text.toLowerCase();
  if ((SERIES_IDS as readonly string[]).includes(t)) return t as SeriesId;
  throw new UsageError(`unknown posting '${text}'${didYouMean(text, SERIES_IDS) || ` (postings: ${SERIES_IDS.join(", ")})`}`);
}

function summary(r: RealmEntry): Record<string, unknown> {
  return {
    name: r.name,
    series: r.series,
    rmm: r.host.platform.abi,
    ipaBits: r.ipaBits,
    memory: r.memory,
    ramBase: ramBase(r),
    vcpus: r.vcpus,
    state: r.vm.state,
  };
}

export const newCommand: CommandSpec<CommandContext> = {
  name: "new",
  aliases: ["create"],
  summary: "create a realm and start it (the posting's own VMM sequence)",
  help:
    "Creates a realm VM on the host of the chosen posting (one host per posting per session) and\n" +
    "runs that posting's VMM sequence up to an ACTIVE realm and a first vCPU run. The new realm\n" +
    "becomes the current one.",
  args: [{ name: "name", kind: "string", help: "a name for the realm (letters, digits, _ . -)" }],
  options: [
    { name: "series", kind: "series", meta: "vN", help: "posting: v8 v10 v12 v13 v14 (default v12, or the session's)", choices: SERIES_IDS },
    { name: "ipa-bits", kind: "count", meta: "N", help: "IPA width (default 40)", min: MIN_IPA_BITS, max: MAX_IPA_BITS },
    { name: "mem", kind: "size", meta: "SIZE", help: "guest memory (default 64M)" },
    { name: "vcpus", kind: "count", meta: "N", help: "vCPUs (default 2)", min: 1, max: 512 },
  ],
  examples: ["new r1", "new big --series v14 --mem 1G --vcpus 4", "new tiny --series v8 --ipa-bits 33 --mem 2M"],
  run(s, a) {
    const name = a.str("name")!;
    if (!NAME_RE.test(name)) throw new UsageError(`'${name}' is not a realm name (a letter, then letters, digits, _ . -; at most 32)`);
    if (s.realms.has(name)) throw new UsageError(`a realm named '${name}' exists already ('destroy ${name}' first, or pick another name)`);
    const series = checkSeries(a.str("series") ?? s.defaultSeries);
    const ipaBits = a.num("ipa-bits") ?? 40;
    const memory = a.big("mem") ?? 64n << 20n;
    const vcpus = a.num("vcpus") ?? 2;
    if (memory === 0n || memory % 4096n !== 0n) throw new UsageError(`--mem ${formatSize(memory)} is not a positive multiple of 4 KiB`);
    // Guest memory lives in the protected half of the IPA space.
    if (memory > 1n << BigInt(ipaBits - 1)) {
      throw new UsageError(`--mem ${formatSize(memory)} does not fit in the protected half of a ${ipaBits}-bit IPA space (${formatSize(1n << BigInt(ipaBits - 1))})`);
    }
    const host = s.hostFor(series);
    const replay = `new ${name} --series ${series} --ipa-bits ${ipaBits} --mem ${sizeToken(memory)} --vcpus ${vcpus}`;
    let vm: RealmVm;
    const mark = hostMark(host);
    try {
      vm = host.createRealm({ ipaBits, memory, vcpus });
    } catch (e) {
      // KVM_CREATE_VM failed in the simulated host (an injected allocation failure): the host ran
      // (a rule fired, pages moved), so the line is a failed command that `save` keeps, not a
      // rejected one
      if (hostMark(host) === mark) throw e;
      const msg = `KVM_CREATE_VM failed: ${(e as Error).message}`;
      return { value: { name, series, message: `realm ${name}: ${msg}` }, kind: "realm", failed: msg, replay };
    }
    const entry: RealmEntry = { name, series, host, vm, ipaBits, memory, vcpus };
    s.realms.set(name, entry);
    s.current = name;
    let start: StartResult;
    try {
      start = vm.start();
    } catch (e) {
      // the host model threw part-way (e.g. a granule that raw `smc` calls delegated behind the
      // host's back): the realm exists, so this is a failed start that `save` keeps
      const msg = `start failed: ${(e as Error).name}: ${(e as Error).message}`;
      return { value: { ...summary(entry), message: `realm ${name}: ${msg}` }, kind: "realm", failed: msg, replay };
    }
    const value = { ...summary(entry), start };
    const failed = startFailure(start);
    return failed === undefined
      ? { value: { ...value, message: `realm ${name}: ${series} (RMM ${host.platform.abi}), ${ipaBits}-bit IPA, RAM ${hex(ramBase(entry))}+${formatSize(memory)}, ${vcpus} vCPU${vcpus === 1 ? "" : "s"}, ${vm.state}` }, kind: "realm", replay }
      : { value: { ...value, message: `realm ${name}: start failed: ${failed}` }, kind: "realm", failed: `start failed: ${failed}`, replay };
  },
};

/** What a failed call into the host changed, in short: RMI calls, trace, fault rules fired, free pages. */
function hostMark(h: Host): string {
  return `${h.rmiCalls}:${h.log.length}:${h.pages.freePages}:${h.faults.list().map((f) => f.fired).join(",")}`;
}

/** What stopped the posting's VMM sequence: the first ioctl that failed (else the last one run). */
function startFailure(r: StartResult): string | undefined {
  if (r.ok) return undefined;
  const bad = r.steps.find((x) => x.ret !== "0") ?? r.steps[r.steps.length - 1];
  return bad === undefined ? "failed" : `${bad.ioctl} = ${bad.ret}`;
}

export const useCommand: CommandSpec<CommandContext> = {
  name: "use",
  summary: "make a realm the current one",
  args: [{ name: "name", kind: "realm" }],
  run(s, a) {
    const r = s.realm(a.str("name")!);
    s.current = r.name;
    return { value: { ...summary(r), message: `using ${r.name} (${r.series}, RMM ${r.host.platform.abi})` }, kind: "realm" };
  },
};

export const lsCommand: CommandSpec<CommandContext> = {
  name: "ls",
  aliases: ["list"],
  summary: "the realms of this session",
  readOnly: true,
  run(s) {
    const rows = [...s.realms.values()].map((r) => {
      const x = summary(r);
      const base = ramBase(r);
      return [r.name === s.current ? "*" : " ", r.name, r.series, `RMM ${x["rmm"]}`, String(r.ipaBits), `${hex(base)}+${sizeToken(r.memory)}`, String(r.vcpus), String(x["state"])];
    });
    return {
      value: {
        columns: ["", "name", "posting", "abi", "ipa-bits", "ram", "vcpus", "state"],
        rows,
        align: ["l", "l", "l", "l", "r", "r", "r", "l"],
        realms: [...s.realms.values()].map(summary),
        current: s.current,
        footer: rows.length === 0 ? "(no realms: 'new NAME' creates one)" : undefined,
      },
      kind: "table",
    };
  },
};

export const destroyCommand: CommandSpec<CommandContext> = {
  name: "destroy",
  summary: "tear a realm down (the posting's teardown order)",
  args: [{ name: "name", kind: "realm" }],
  run(s, a) {
    const r = s.realm(a.str("name")!);
    let result: ReturnType<RealmVm["destroy"]>;
    try {
      result = r.vm.destroy();
    } finally {
      s.realms.delete(r.name);
      if (s.current === r.name) s.current = null;
    }
    const st = r.host.stats();
    const leaked = st.leakedPages;
    return {
      value: {
        name: r.name,
        series: r.series,
        result,
        leakedPages: leaked,
        warnCount: st.warnCount,
        message: `destroyed ${r.name}` + (leaked > 0 ? ` (host has ${leaked} leaked page${leaked === 1 ? "" : "s"})` : ""),
      },
      kind: "realm",
    };
  },
};

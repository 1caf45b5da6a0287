/**
 * The RMM model-based fuzz (issue 11 "Fuzzing as a test"): random and hostile raw RMI calls on
 * the platform of a started realm (a v12 host for RMM 1.0, a v14 host for RMM 2.0), episode after
 * episode. After every call:
 *   - the call returned (no exception: RMI failures are values);
 *   - a call that did not succeed (anything but RMI_SUCCESS; RMI_INCOMPLETE and the OP_* calls
 *     ending a v2.0 stateful operation report progress) changed nothing: the state fingerprint
 *     (`stateHash`, over everything rmmDigest covers) is unchanged;
 *   - after a call that changed the state, checkRmmInvariants holds and a Non-secure read faults on
 *     exactly the probed granules that are not NS (NS isolation). A call that changed nothing
 *     cannot change either verdict, so they are not re-run.
 * Every call is a concrete `smc NAME x1 x2 ...` line, so a failing sequence, shrunk, is printed
 * as a script that `realm run` replays (`new` of the same realm, then the calls).
 *
 * Cost: the full rmmDigest (sha256 over canonical text, ~0.8 ms here) made a million checked calls
 * take a quarter of an hour; `stateHash` hashes the same state as numbers (two 32-bit FNV lanes,
 * typed arrays by 32-bit words), ~20 us. It is cross-checked against rmmDigest (a test, and every
 * `fullEvery`-th failed call of a run).
 */
import { GRANULE_SIZE } from "../../src/arch/geometry.js";
import { Rng } from "./rng.js";
import { Host } from "../../src/host/host.js";
import { checkRmmInvariants, encodeRangeDesc, encodeRttFlags, rmmDigest, type Platform } from "../../src/index.js";
import type { RmiCommand } from "../../src/rmm/dispatch.js";
import type { Rmm } from "../../src/rmm/rmm.js";
import { GranuleState } from "../../src/rmm/granule.js";

// ---- state fingerprint ------------------------------------------------------------------------

/** Rmm fields that are not simulated state or are hashed explicitly (as in src/rmm/snapshot.ts). */
const RMM_SKIP = new Set(["machine", "granules", "realms", "rtts", "recs", "vmids", "table", "trace", "out1", "out2", "out3", "out4", "interceptor", "guest", "abi", "features"]);
const FIELD_SKIP = new Set(["guestState", "rmm", "machine", "platform", "host"]);

const f64 = new Float64Array(1);
/** Hashers for Map/Set entries, one per depth (reused: no allocation per entry). */
const SUB: Fnv[] = [];
const i32 = new Int32Array(f64.buffer);

/** Two FNV-1a-style 32-bit lanes over 32-bit words. */
export class Fnv {
  a = 0x811c9dc5 | 0;
  b = 0x2545f491 | 0;
  reset(): void {
    this.a = 0x811c9dc5 | 0;
    this.b = 0x2545f491 | 0;
  }
  int(x: number): void {
    this.a = Math.imul(this.a ^ x, 0x01000193);
    this.b = Math.imul(this.b ^ x, 0x5bd1e995) ^ (this.b >>> 15);
  }
  num(n: number): void {
    if ((n | 0) === n) this.int(n);
    else {
      f64[0] = n;
      this.int(0x7f7f7f7f);
      this.int(i32[0]!);
      this.int(i32[1]!);
    }
  }
  str(s: string): void {
    this.int(s.length ^ 0x5a5a0000);
    for (let i = 0; i < s.length; i++) this.int(s.charCodeAt(i));
  }
  /** The 32-bit words of a typed array (bytes when unaligned); whether they were all zero. */
  words(v: ArrayBufferView): boolean {
    const n = v.byteLength;
    if (n % 4 !== 0 || v.byteOffset % 4 !== 0) return this.bytes(new Uint8Array(v.buffer, v.byteOffset, n));
    const w = new Int32Array(v.buffer, v.byteOffset, n / 4);
    let a = this.a;
    let b = this.b;
    let or = 0;
    for (let i = 0; i < w.length; i++) {
      const x = w[i]!;
      or |= x;
      a = Math.imul(a ^ x, 0x01000193);
      b = Math.imul(b ^ x, 0x5bd1e995) ^ (b >>> 15);
    }
    this.a = a;
    this.b = b;
    return or === 0;
  }
  private bytes(w: Uint8Array): boolean {
    let or = 0;
    for (let i = 0; i < w.length; i++) {
      or |= w[i]!;
      this.int(w[i]!);
    }
    return or === 0;
  }
  value(x: unknown, depth: number, seen: Set<object>): void {
    switch (typeof x) {
      case "undefined":
        this.int(0x75);
        return;
      case "number":
        this.num(x);
        return;
      case "bigint":
        this.int(0x62);
        // (no string for the common small values)
        if (x >= -0x1f_ffff_ffff_ffffn && x <= 0x1f_ffff_ffff_ffffn) this.num(Number(x));
        else this.str(x.toString(16));
        return;
      case "string":
        this.str(x);
        return;
      case "boolean":
        this.int(x ? 0x54 : 0x46);
        return;
      case "function":
      case "symbol":
        return;
      default:
        break;
    }
    if (x === null) {
      this.int(0x6e);
      return;
    }
    const o = x as object;
    if (ArrayBuffer.isView(o)) {
      this.int(o.byteLength);
      this.words(o);
      return;
    }
    if (seen.has(o) || depth > 8) return;
    seen.add(o);
    if (Array.isArray(o)) {
      this.int(0x5b000000 ^ o.length);
      for (const e of o) this.value(e, depth + 1, seen);
    } else if (o instanceof Map || o instanceof Set) {
      // order-insensitive: the sum and xor of the entries' own hashes
      let sa = 0;
      let sb = 0;
      const h = SUB[depth] ?? (SUB[depth] = new Fnv());
      for (const e of o instanceof Map ? o.entries() : o.values()) {
        h.reset();
        h.value(e, depth + 1, seen);
        sa = (sa + h.a) | 0;
        sb ^= h.b;
      }
      this.int(o.size);
      this.int(sa);
      this.int(sb);
    } else {
      const rec = o as Record<string, unknown>;
      // values in key order (objects of one class have their fields in one order): the key's
      // length stands for the key
      for (const k in rec) {
        if (FIELD_SKIP.has(k)) continue;
        this.int(k.length);
        this.value(rec[k], depth + 1, seen);
      }
    }
    seen.delete(o);
  }
}

/**
 * Page hashes kept between fingerprints: the machine's memory reports every page it hands out for
 * writing (write, writeU64, granuleForWrite, copy, zero all go through pageForWrite or drop the
 * page), and only those are hashed again.
 */
export class PageHashes {
  readonly hashes = new Map<number, [number, number] | null>();
  readonly dirty = new Set<number>();

  constructor(rmm: Rmm) {
    const mem = rmm.machine.mem as unknown as Record<string, (...a: number[]) => unknown>;
    for (const name of ["pageForWrite", "zero"]) {
      const orig = mem[name]!.bind(mem);
      mem[name] = (g: number) => {
        this.dirty.add(g);
        return orig(g);
      };
    }
    const copy = mem["copy"]!.bind(mem);
    mem["copy"] = (dst: number, src: number) => {
      this.dirty.add(dst);
      return copy(dst, src);
    };
  }

  /** The hash of page g ([a, b], or null when it is all zeroes). */
  of(g: number, page: Uint8Array): [number, number] | null {
    let h = this.hashes.get(g);
    if (h === undefined || this.dirty.has(g)) {
      const f = new Fnv();
      h = f.words(page) ? null : [f.a, f.b];
      this.hashes.set(g, h);
      this.dirty.delete(g);
    }
    return h;
  }
}

/**
 * A fingerprint of the simulated state behind `rmm`: what rmmDigest covers (granule states and
 * refcounts, the GPT, non-zero memory, realms, RTTs, RECs, VMIDs, the other RMM fields), hashed as
 * numbers. Equal states give equal fingerprints; a change is missed with odds ~2^-64. `pages`
 * (made on the same rmm) saves rehashing pages that were not written.
 */
export function stateHash(rmm: Rmm, pages?: PageHashes): string {
  const h = new Fnv();
  const { granules } = rmm;
  for (const [g, s] of granules.nonNs()) {
    h.int(g);
    h.int(s);
    h.int(granules.refcount(g));
  }
  h.int(0x11111111);
  for (const [g, pas] of rmm.machine.gpt.changed()) {
    h.int(g);
    h.int(pas);
  }
  h.int(0x22222222);
  const mem = rmm.machine.mem;
  for (const g of mem.residentIndices()) {
    const page = mem.page(g)!;
    let ph: [number, number] | null;
    if (pages !== undefined) ph = pages.of(g, page);
    else {
      const p = new Fnv();
      ph = p.words(page) ? null : [p.a, p.b];
    }
    if (ph !== null) {
      h.int(g);
      h.int(ph[0]);
      h.int(ph[1]);
    }
  }
  h.int(0x33333333);
  const seen = new Set<object>();
  h.value(rmm.realms, 0, seen);
  h.value(rmm.rtts, 0, seen);
  h.value(rmm.recs, 0, seen);
  h.value(rmm.vmids, 0, seen);
  const rec = rmm as unknown as Record<string, unknown>;
  for (const k of Object.keys(rmm)) {
    if (RMM_SKIP.has(k)) continue;
    h.str(k);
    h.value(rec[k], 0, seen);
  }
  return `${(h.a >>> 0).toString(16)}.${(h.b >>> 0).toString(16)}`;
}

// ---- the world and its calls ------------------------------------------------------------------

export type Abi = "1.0" | "2.0";

/** The script line that makes the world (the session's `new`, same host and realm). */
export function worldLine(abi: Abi): string {
  return `new f --series ${abi === "1.0" ? "v12" : "v14"} --ipa-bits 40 --mem 2M --vcpus 1`;
}

export interface World {
  abi: Abi;
  host: Host;
  p: Platform;
  rd: bigint;
  rec: bigint;
  run: bigint;
  /** Commands by name, with their argument counts. */
  commands: RmiCommand[];
  pages: PageHashes;
}

/** A started realm on a fresh host (trace, time series and invariants off: the fuzz checks). */
export function makeWorld(abi: Abi): World {
  const host = Host.create({ series: abi === "1.0" ? "v12" : "v14", seed: 1, trace: false, invariants: false });
  host.timeSeries.enabled = false;
  const vm = host.createRealm({ ipaBits: 40, memory: 2n << 20n, vcpus: 1 });
  if (!vm.start().ok) throw new Error(`fuzz: the ${abi} world's realm did not start`);
  const p = host.platform;
  p.rmm.trace.enabled = false;
  const k = vm.kvm;
  const commands = [...p.rmm.table.values()].sort((a, b) => a.fnum - b.fnum);
  return { abi, host, p, rd: BigInt(k.realm.rd), rec: BigInt(k.vcpus[0]!.rec.recPage), run: BigInt(k.vcpus[0]!.rec.run), commands, pages: new PageHashes(p.rmm) };
}

export interface Call {
  name: string;
  args: bigint[];
}

/** `smc NAME 0x.. 0x..` (the command language's raw RMI call). */
export function callLine(c: Call): string {
  return ["smc", c.name.replace(/^RMI_/, ""), ...c.args.map((a) => `0x${a.toString(16)}`)].join(" ");
}


const G = BigInt(GRANULE_SIZE);
const DRAM = 0x8000_0000n;
const u64 = (v: bigint) => BigInt.asUintN(64, v);
/** Addresses no call may use: unaligned, MMIO, Secure, outside DRAM, above the PA width. */
const HOSTILE = [0n, DRAM + 0x10n, 0x1c00_0000n, 0x0600_0000n, 0x7fff_f000n, 0x1_0000_0000n + (2n << 30n), 1n << 48n, (1n << 52n) - G, 0xffff_ffff_ffff_f000n, u64(-1n)];
const LEVELS = [u64(-1n), 0n, 1n, 2n, 3n, 4n, 1n << 63n];

/** The world's objects (RD, REC, run page, RTTs, DATA, delegated and REC_AUX granules). */
function addresses(w: World): bigint[] {
  const rmm = w.p.rmm;
  const out: bigint[] = [w.rd, w.rec, w.run];
  for (const g of rmm.rtts.keys()) out.push(BigInt(g) * G);
  for (const [g, s] of rmm.granules.nonNs()) if (s === GranuleState.DATA || s === GranuleState.DELEGATED || s === GranuleState.REC_AUX) out.push(BigInt(g) * G);
  return out;
}

/** A pool of 32 granules far above what the host allocates (free in the host, NS at first). */
const POOL = Array.from({ length: 32 }, (_, i) => 0x9000_0000n + BigInt(i) * G);
function pool(_w: World): readonly bigint[] {
  return POOL;
}

/** IPAs: the realm's RAM, its edges, 2 MiB / 1 GiB boundaries, the shared alias, out of range. */
const IPAS = [0n, G, 0x20_0000n, 0x4000_0000n, 0x8000_0000n, 0x8000_1000n, 0x8010_0000n, 0x801f_f000n, 0x8020_0000n, 1n << 39n, (1n << 39n) + 0x8000_0000n, 1n << 40n, 0x123n, u64(-G)];

const ENDS_REALM = new Set(["RMI_REALM_DESTROY", "RMI_REALM_TERMINATE", "RMI_REC_DESTROY", "RMI_GRANULE_UNDELEGATE", "RMI_GRANULE_RANGE_UNDELEGATE"]);

/** One call: a command of the ABI with arguments drawn from the world's objects, its IPAs and hostile values. */
export function genCall(w: World, r: Rng, objs: readonly bigint[] = addresses(w)): Call {
  let cmd = r.pick(w.commands);
  // the calls that end the realm are drawn 8 times less often (else most of an episode runs on a dead realm)
  if (ENDS_REALM.has(cmd.name) && r.int(8) !== 0) cmd = r.pick(w.commands);
  const free = pool(w);
  const pa = () => (r.int(3) === 0 ? r.pick(objs) : r.pick(free));
  const granuleRange = /GRANULE|TRACKING/.test(cmd.name);
  const args: bigint[] = [];
  for (const n of cmd.args) {
    const roll = r.int(20);
    let v: bigint;
    if (roll === 0) v = r.pick(HOSTILE);
    else if (roll === 1) v = u64(BigInt(r.u32()) * BigInt(r.u32()));
    else if (n === "level") v = r.pick(LEVELS);
    else if (n === "top" && granuleRange) v = args[0]! + BigInt(1 + r.int(3)) * G;
    else if (n === "base" && granuleRange) v = pa();
    else if (n === "ipa" || n === "base" || n === "top") v = r.pick(IPAS) + (n === "top" ? r.pick([G, 0x20_0000n]) : 0n);
    else if (n === "rd") v = roll < 17 ? w.rd : pa();
    else if (n === "rec" || n === "calling_rec" || n === "target_rec") v = roll < 15 ? w.rec : pa();
    else if (n === "run_ptr") v = roll < 15 ? w.run : pa();
    else if (n === "flags") v = w.abi === "2.0" ? encodeRttFlags({ oaddrType: r.int(3), listCount: r.int(2), memattr: r.pick([0, 4, 6]), s2ap: r.int(4) }) : BigInt(r.int(2));
    else if (n === "oaddr") v = r.int(2) === 0 ? pa() : encodeRangeDesc({ addr: pa(), sz: r.int(3), cnt: 1 + r.int(3), state: r.int(2) });
    else if (n === "desc") v = pa() | BigInt(r.pick([0, 0x4c4, 0x744]));
    else if (n === "req") v = r.pick([0x10000n, 0x20000n, 0x10001n, 0n]);
    else if (n === "handle" || n === "index" || n === "count" || n === "capacity" || n === "status") v = BigInt(r.pick([0, 1, 2, 3, 4, 16, 512]));
    else v = pa(); // addr, rtt, data, src, params_ptr, cfg_ptr, list_pa
    args.push(u64(v)); // a register: 64 bits
  }
  return { name: cmd.name, args };
}

// ---- running and checking ---------------------------------------------------------------------

export interface FuzzFailure {
  /** What went wrong on the last call. */
  message: string;
  abi: Abi;
  /** The calls from a fresh world up to and including the failing one. */
  calls: Call[];
}

/** The addresses whose NS-read verdict is checked after a state change. */
function probes(w: World): bigint[] {
  return [...pool(w).slice(0, 8), w.rd, w.rec, w.run, ...addresses(w).slice(0, 8), 0x1c00_0000n, 0x0600_0000n];
}

function expectedNs(w: World, a: bigint): "ok" | "fault" {
  const map = w.p.machine.map;
  const region = map.regionOf(Number(a));
  if (region === undefined || region.kind === "secure") return "fault";
  if (region.kind === "mmio") return "ok";
  return w.p.rmm.granules.state(Number(a / G)) === GranuleState.NS ? "ok" : "fault";
}

/** Whether a result of this call may change state although it is not RMI_SUCCESS (v2.0 progress). */
function mayChangeOnFailure(name: string, status: number): boolean {
  return status === 13 /* RMI_INCOMPLETE */ || /^RMI_OP_/.test(name);
}

/** Checks calls one by one on a world (the rules of the file comment). */
export class Checker {
  private readonly fids: Map<string, bigint>;
  private before: string;
  private failed = 0;
  /** Whether the last call changed the state. */
  changed = false;

  constructor(
    private readonly w: World,
    private readonly fullEvery = 0,
    /** Calls that returned RMI_SUCCESS, by command (the run is not vacuous). */
    readonly succeeded = new Map<string, number>(),
  ) {
    this.fids = new Map(w.commands.map((c) => [c.name, w.p.fid(c.name)]));
    this.before = stateHash(w.p.rmm, w.pages);
  }

  /** Run one call; the message of the rule it breaks, or undefined. */
  step(c: Call): string | undefined {
    const { w } = this;
    const rmm = w.p.rmm;
    const full = this.fullEvery > 0 && this.failed % this.fullEvery === this.fullEvery - 1 ? rmmDigest(rmm) : undefined;
    let x0: number;
    try {
      x0 = Number(w.p.smc(this.fids.get(c.name)!, ...c.args)[0]! & 0xffn);
    } catch (e) {
      return `${callLine(c)} threw: ${e instanceof Error ? `${e.name}: ${e.message}` : String(e)}`;
    }
    const after = stateHash(rmm, w.pages);
    this.changed = after !== this.before;
    if (x0 === 0) this.succeeded.set(c.name, (this.succeeded.get(c.name) ?? 0) + 1);
    if (x0 !== 0 && !mayChangeOnFailure(c.name, x0)) {
      this.failed++;
      if (after !== this.before) return `${callLine(c)} -> status ${x0}: did not succeed but changed the state`;
      if (full !== undefined && rmmDigest(rmm) !== full) return `${callLine(c)} -> status ${x0}: rmmDigest changed (stateHash did not: a fingerprint gap)`;
      return undefined;
    }
    if (after === this.before) return undefined;
    this.before = after;
    const v = checkRmmInvariants(rmm);
    if (v.length > 0) return `after ${callLine(c)}: invariants broken: ${v.slice(0, 3).join("; ")}`;
    for (const a of probes(w)) {
      let got: "ok" | "fault" = "ok";
      try {
        w.p.ns.read(a, 8);
      } catch {
        got = "fault";
      }
      const want = expectedNs(w, a);
      if (got !== want) return `after ${callLine(c)}: a Non-secure read of 0x${a.toString(16)} gave ${got}, expected ${want}`;
    }
    return undefined;
  }
}

/** Stack traces off while `f` runs (NS probes fault by the dozen). */
function quiet<T>(f: () => T): T {
  const stack = Error.stackTraceLimit;
  Error.stackTraceLimit = 0;
  try {
    return f();
  } finally {
    Error.stackTraceLimit = stack;
  }
}

/** Generate an episode's calls, one at a time against the state they run on, checking each. */
export function episode(abi: Abi, seed: number, n: number, fullEvery = 0, succeeded?: Map<string, number>): { calls: Call[]; failure?: string } {
  return quiet(() => {
    const w = makeWorld(abi);
    const ck = new Checker(w, fullEvery, succeeded);
    const r = new Rng(seed);
    const calls: Call[] = [];
    let objs = addresses(w);
    for (let i = 0; i < n; i++) {
      const c = genCall(w, r, objs);
      calls.push(c);
      const f = ck.step(c);
      if (f !== undefined) return { calls, failure: f };
      if (ck.changed) objs = addresses(w);
    }
    return { calls };
  });
}

/** Run `calls` on a fresh world: the index and message of the first that breaks a rule. */
export function replay(abi: Abi, calls: readonly Call[]): { index: number; message: string } | undefined {
  return quiet(() => {
    const ck = new Checker(makeWorld(abi));
    for (let i = 0; i < calls.length; i++) {
      const f = ck.step(calls[i]!);
      if (f !== undefined) return { index: i, message: f };
    }
    return undefined;
  });
}

/** Whether `calls` from a fresh world still fail, at their last call. */
function stillFails(abi: Abi, calls: readonly Call[]): string | undefined {
  const f = replay(abi, calls);
  return f !== undefined && f.index === calls.length - 1 ? f.message : undefined;
}

/** Delta debugging: the failing call kept last, chunks of the others removed while it still fails. */
export function shrink(abi: Abi, calls: Call[], budget = 400): Call[] {
  let cur = calls;
  let chunk = Math.max(1, Math.floor((cur.length - 1) / 2));
  let tries = 0;
  while (chunk >= 1 && tries < budget) {
    let removed = false;
    for (let at = 0; at + 1 < cur.length && tries < budget; ) {
      const cand = [...cur.slice(0, at), ...cur.slice(Math.min(at + chunk, cur.length - 1))];
      tries++;
      if (cand.length < cur.length && stillFails(abi, cand) !== undefined) {
        cur = cand;
        removed = true;
      } else at += chunk;
    }
    if (!removed) chunk = Math.floor(chunk / 2);
  }
  return cur;
}

/** The failing sequence as a script `realm run` replays. */
export function failureScript(f: FuzzFailure, seed: number): string {
  return [
    `# RMM fuzz failure (RMM ${f.abi}, seed ${seed}): ${f.message}`,
    `# ${f.calls.length} call(s) after the realm is created; replay: realm run FILE --keep-going`,
    worldLine(f.abi),
    ...f.calls.map(callLine),
  ].join("\n") + "\n";
}

export interface FuzzReport {
  calls: number;
  /** RMI_SUCCESS results by command, "1.0 RMI_RTT_CREATE" -> count. */
  succeeded: Map<string, number>;
  episodes: number;
  failures: { script: string; message: string }[];
  ms: number;
}

/**
 * `calls` calls in episodes of `perEpisode` (a fresh world each), alternating RMM 1.0 and 2.0
 * unless `abi` is given; episode seeds derived from `seed`. Stops at the first failure (shrunk).
 */
export function fuzz(opts: { calls: number; seed: number; abi?: Abi; perEpisode?: number; fullEvery?: number; onEpisode?: (done: number) => void }): FuzzReport {
  const t0 = performance.now();
  const per = opts.perEpisode ?? 5000;
  const rep: FuzzReport = { calls: 0, succeeded: new Map(), episodes: 0, failures: [], ms: 0 };
  const ok = { "1.0": new Map<string, number>(), "2.0": new Map<string, number>() };
  for (let e = 0; rep.calls < opts.calls; e++) {
    const abi: Abi = opts.abi ?? (e % 2 === 0 ? "1.0" : "2.0");
    const seed = (Math.imul(opts.seed ^ 0x5bd1e995, 0x01000193) + e * 0x9e3779b9) >>> 0;
    const n = Math.min(per, opts.calls - rep.calls);
    const ep = episode(abi, seed, n, opts.fullEvery ?? 0, ok[abi]);
    rep.calls += ep.calls.length;
    rep.episodes++;
    opts.onEpisode?.(rep.calls);
    if (ep.failure !== undefined) {
      const calls = shrink(abi, ep.calls);
      const f: FuzzFailure = { message: stillFails(abi, calls) ?? ep.failure, abi, calls };
      rep.failures.push({ script: failureScript(f, opts.seed), message: f.message });
      break;
    }
  }
  for (const abi of ["1.0", "2.0"] as const) for (const [k, v] of ok[abi]) rep.succeeded.set(`${abi} ${k}`, v);
  rep.ms = performance.now() - t0;
  return rep;
}

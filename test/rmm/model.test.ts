/**
 * Model-based test of the RMM (issue 2 item 5): random AND hostile RMI sequences over a small
 * pool of addresses. After every call:
 *   - checkRmmInvariants holds (granule state <-> PAS <-> RTT entries, refcounts, VMIDs, aux);
 *   - a Non-secure access faults (GranuleProtectionFault) on exactly the granules that are not NS;
 *   - a call that does not return RMI_SUCCESS leaves rmmDigest unchanged (it changed nothing).
 * Plus light post-conditions where the outcome is certain (delegate/undelegate oracle, the
 * state of the granules a successful command consumed or released) and a full, correct teardown
 * that must succeed step by step. Deterministic seeds, bounded runs.
 */
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import {
  ExternalAbort,
  GranuleProtectionFault,
  GranuleState,
  Platform,
  REC_RUN,
  S2tte,
  checkRmmInvariants,
  diffStateLines,
  digestLines,
  encodeRealmParams,
  encodeRecParams,
  recIndexToMpidr,
  rmmDigest,
  rmmStateLines,
  type RmiResult,
  RmiAddrSize,
  RmiAddrType,
  RmiOpMemReq,
  RmiOpMemState,
  decodeDonateRequest,
  decodeIncomplete,
  encodeRangeDesc,
  encodeRangeList,
  encodeRmmConfig,
  encodeRttFlags,
} from "../../src/index.js";

const u64 = (v: bigint): bigint => BigInt.asUintN(64, v);
const hex = (v: bigint): string => `0x${v.toString(16)}`;
const G = 0x1000n;
const SZ_2M = 0x20_0000n;
const DRAM = 0x8000_0000n;
const POOL_N = 64;
/** The pool of DRAM granules every address argument is mostly drawn from. */
const POOL: bigint[] = Array.from({ length: POOL_N }, (_, i) => DRAM + BigInt(i) * G);
/** 512 granules, 2 MiB aligned: the backing of a folded 2 MiB block. */
const BLOCK = 0x8040_0000n;
const BLOCK_PROBES = [BLOCK, BLOCK + 255n * G, BLOCK + 511n * G];
const HOSTILE: bigint[] = [
  DRAM + 0x10n, DRAM + 0x800n, // unaligned
  0x1c00_0000n, 0x1c00_1000n, // MMIO
  0x0600_0000n, 0x0600_5000n, // Secure DRAM
  0x7fff_f000n, 0x1_0000_0000n, // just outside DRAM
  1n << 48n, (1n << 52n) - G, // above the PA width
  0xffff_ffff_ffff_f000n, u64(-1n), 0n,
];
/** Addresses probed with a Non-secure read after every step. */
const PROBES = [...POOL, ...BLOCK_PROBES, ...HOSTILE.filter((a) => a < 1n << 53n)];

/** RMM 1.0 commands the test drives (all of RMI v1.0). */
const V1_COMMANDS = [
  "version", "features", "granuleDelegate", "granuleUndelegate", "realmCreate", "realmActivate",
  "realmDestroy", "recAuxCount", "recCreate", "recDestroy", "recEnter", "psciComplete", "rttCreate",
  "rttDestroy", "rttFold", "rttMapUnprotected", "rttUnmapUnprotected", "rttReadEntry", "rttInitRipas",
  "rttSetRipas", "dataCreate", "dataCreateUnknown", "dataDestroy",
];

/** Valid (s2sz, rtt_level_start, rtt_num_start) combinations (rmm-model.md §4.2). */
const SANE: readonly [number, number, number][] = [[39, 1, 1], [40, 1, 2], [32, 2, 4], [33, 2, 8], [36, 1, 1]];

/** What the random runs reached; asserted non-zero so the test cannot pass vacuously. */
const reached: Record<string, number> = {};
const hit = (k: string) => (reached[k] = (reached[k] ?? 0) + 1);

type Missing = { status: "MISSING"; index: 0 };
type Res = RmiResult | Missing;

class World {
  readonly p: Platform;
  readonly steps: string[] = [];

  readonly v2: boolean;

  constructor(abi: "1.0" | "2.0", startActive = true) {
    this.p = abi === "2.0" ? Platform.create({ rmm: abi, startActive }) : Platform.create({ rmm: abi });
    this.v2 = abi === "2.0";
  }

  /** Live SRO handles (v2.0). */
  sroHandles(): Set<number> {
    const t = this.p.rmm.ext["sro"] as { live?: Map<number, unknown> } | undefined;
    return new Set(t?.live?.keys() ?? []);
  }

  /** Delegate one granule with the ABI's own command. */
  delegate(a: bigint): boolean {
    return this.delegateRes(a).status === "RMI_SUCCESS";
  }

  delegateRes(a: bigint): Res {
    return this.v2 ? this.rmi("granuleRangeDelegate", a, u64(a + G)) : this.rmi("granuleDelegate", a);
  }

  undelegate(a: bigint): Res {
    return this.v2 ? this.rmi("granuleRangeUndelegate", a, u64(a + G)) : this.rmi("granuleUndelegate", a);
  }

  fail(msg: string): never {
    throw new Error(
      `${msg}\n-- last steps:\n  ${this.steps.slice(-15).join("\n  ")}\n-- RMM trace:\n  ${this.p.rmmTrace.slice(-8).join("\n  ")}`,
    );
  }

  state(a: bigint): GranuleState {
    return this.p.rmm.granules.state(Number(a / G));
  }

  /** One RMI call through the typed wrapper, with every per-step rule checked. */
  rmi(method: string, ...args: bigint[]): Res {
    const f = (this.p.rmi as unknown as Record<string, ((...a: bigint[]) => RmiResult) | undefined>)[method];
    if (f === undefined) return { status: "MISSING", index: 0 };
    const before = rmmStateLines(this.p);
    const d0 = digestLines(before);
    const sroBefore = this.v2 ? this.sroHandles() : undefined;
    let r: RmiResult;
    try {
      r = f(...args);
    } catch (e) {
      this.fail(`${method}(${args.map(hex).join(", ")}) threw ${String(e)}`);
    }
    const outs = Object.entries(r)
      .filter(([k]) => k !== "status" && k !== "index")
      .map(([k, v]) => `${k}=${typeof v === "bigint" ? hex(v) : String(v)}`);
    const label = `${method}(${args.map(hex).join(", ")}) -> ${r.status}${r.index ? ` ${r.index}` : ""} ${outs.join(" ")}`;
    this.steps.push(label);
    // A failure changes nothing. v2.0 stateful operations (SRO) are the exceptions the spec makes:
    // RMI_INCOMPLETE reports progress, and the OP_* call that ends an SRO returns its final status.
    let exempt = r.status === "RMI_INCOMPLETE";
    if (sroBefore !== undefined && method.startsWith("op")) {
      const after = this.sroHandles();
      exempt ||= [...sroBefore].some((h) => !after.has(h));
    }
    if (r.status !== "RMI_SUCCESS" && !exempt) this.unchanged(label, before, d0);
    this.check(label);
    return r;
  }

  /** Raw SMC: never throws, failures change nothing. */
  smc(fid: bigint, args: bigint[]): bigint[] {
    const before = rmmStateLines(this.p);
    const d0 = digestLines(before);
    let x: bigint[];
    try {
      x = this.p.smc(fid, ...args);
    } catch (e) {
      this.fail(`smc(${hex(fid)}, ${args.map(hex).join(", ")}) threw ${String(e)}`);
    }
    const label = `smc(${hex(fid)}, ${args.map(hex).join(", ")}) -> ${x.map(hex).join(" ")}`;
    this.steps.push(label);
    if (x.length !== 5) this.fail(`${label}: expected 5 result registers`);
    if (x[0] !== 0n) this.unchanged(label, before, d0);
    this.check(label);
    return x;
  }

  unchanged(label: string, before: string[], d0: string): void {
    if (rmmDigest(this.p) !== d0) {
      this.fail(`${label}: did not succeed but changed state:\n  ${diffStateLines(before, rmmStateLines(this.p)).slice(0, 20).join("\n  ")}`);
    }
  }

  check(label: string): void {
    const v = checkRmmInvariants(this.p.rmm);
    if (v.length > 0) this.fail(`after ${label}: invariants broken:\n  ${v.join("\n  ")}`);
    this.probeNs(label);
  }

  /** What a Non-secure access to `a` must do, from the RMM's own view of the granule. */
  expectedNs(a: bigint): "ok" | "gpf" | "ea" {
    const region = this.p.machine.map.regionOf(Number(a - (a % G)));
    if (region === undefined) return "ea";
    if (region.kind === "secure") return "gpf";
    if (region.kind === "mmio") return "ok";
    return this.state(a - (a % G)) === GranuleState.NS ? "ok" : "gpf";
  }

  probeNs(label: string): void {
    // Faults are expected here by the dozen: skip their stack traces (cost only).
    const limit = Error.stackTraceLimit;
    Error.stackTraceLimit = 0;
    try {
      this.probeAll(label);
    } finally {
      Error.stackTraceLimit = limit;
    }
  }

  private probeAll(label: string): void {
    for (const a of PROBES) {
      let err: unknown;
      try {
        this.p.ns.read(a, 8);
      } catch (e) {
        err = e;
      }
      const got = err === undefined ? "ok" : err instanceof GranuleProtectionFault ? "gpf" : err instanceof ExternalAbort ? "ea" : `threw ${String(err)}`;
      const want = this.expectedNs(a);
      if (got !== want) this.fail(`after ${label}: NS read of ${hex(a)} gave ${got}, expected ${want} (granule ${JSON.stringify(this.p.granule(a - (a % G)), (_, v) => (typeof v === "bigint" ? hex(v) : v))})`);
    }
  }

  /** A Non-secure write: succeeds exactly when every granule it touches is NS memory; a fault changes nothing. */
  nsWrite(pa: bigint, bytes: Uint8Array): boolean {
    const label = `ns.write(${hex(pa)}, ${bytes.length} bytes)`;
    const want: string[] = [];
    for (let a = pa - (pa % G); a < pa + BigInt(Math.max(bytes.length, 1)); a += G) want.push(this.expectedNs(a));
    const expect = want.find((x) => x !== "ok") ?? "ok";
    const before = rmmStateLines(this.p);
    const d0 = digestLines(before);
    let err: unknown;
    try {
      this.p.ns.write(pa, bytes);
    } catch (e) {
      err = e;
    }
    const got = err === undefined ? "ok" : err instanceof GranuleProtectionFault ? "gpf" : err instanceof ExternalAbort ? "ea" : `threw ${String(err)}`;
    this.steps.push(`${label} -> ${got}`);
    if (got !== expect) this.fail(`${label}: got ${got}, expected ${expect}`);
    if (got !== "ok") this.unchanged(label, before, d0);
    else if (!Buffer.from(this.p.ns.read(pa, bytes.length)).equals(Buffer.from(bytes))) this.fail(`${label}: read back differs`);
    this.check(label);
    return got === "ok";
  }

  expectOk(r: Res, why: string): boolean {
    if (r.status === "MISSING") return false;
    if (r.status !== "RMI_SUCCESS") this.fail(`${why}: expected RMI_SUCCESS, got ${r.status} ${r.index}`);
    return true;
  }

  // ---- argument resolution -------------------------------------------------------------

  sortedKeys(m: Map<number, unknown>): bigint[] {
    return [...m.keys()].sort((a, b) => a - b).map((g) => BigInt(g) * G);
  }

  poolWith(s: GranuleState): bigint[] {
    return POOL.filter((a) => this.state(a) === s);
  }

  resolve(r: Ref): bigint {
    if (r.t === "raw") return r.a;
    const list =
      r.t === "rd" ? this.sortedKeys(this.p.rmm.realms)
      : r.t === "rec" ? this.sortedKeys(this.p.rmm.recs)
      : r.t === "rtt" ? this.sortedKeys(this.p.rmm.rtts)
      : r.t === "data" ? this.sortedKeys(new Map([...this.p.rmm.granules.nonNs()].filter(([, s]) => s === GranuleState.DATA)))
      : this.poolWith(r.t === "del" ? GranuleState.DELEGATED : GranuleState.NS);
    return list.length > 0 ? list[r.k % list.length]! : POOL[r.k % POOL_N]!;
  }

  /** An (ipa, level) pair: raw, or relative to an existing RTT of the realm `rd`. */
  loc(rd: bigint, l: Loc): { ipa: bigint; level: bigint } {
    if (l.t === "raw") return { ipa: l.ipa, level: l.level };
    const realm = this.p.rmm.realms.get(Number(rd / G)) ?? [...this.p.rmm.realms.values()][0];
    if (realm === undefined) return { ipa: BigInt(l.j) * G, level: BigInt(l.d + 2) };
    const ts = [...this.p.rmm.rtts.values()].filter((t) => t.rd === realm.rd).sort((a, b) => a.g - b.g);
    const t = ts[l.k % ts.length]!;
    const j = l.j % t.entries;
    return { ipa: BigInt(t.ipaOf(j)), level: u64(BigInt(t.level + l.d)) };
  }

  /** n DELEGATED pool granules (delegating UNDELEGATED ones as needed), none in `avoid`. */
  delegated(n: number, avoid: ReadonlySet<bigint> = new Set()): bigint[] | undefined {
    const out: bigint[] = [];
    for (const a of POOL) {
      if (out.length === n) break;
      if (avoid.has(a)) continue;
      const s = this.state(a);
      if (s === GranuleState.DELEGATED) out.push(a);
      else if (s === GranuleState.NS && this.delegate(a)) out.push(a);
    }
    return out.length === n ? out : undefined;
  }

  /** n contiguous DELEGATED pool granules aligned to n granules (for concatenated root RTTs). */
  contiguous(n: number): bigint | undefined {
    for (let s = 0; s + n <= POOL_N; s += n) {
      const run = POOL.slice(s, s + n);
      if (!run.every((a) => this.state(a) === GranuleState.DELEGATED || this.state(a) === GranuleState.NS)) continue;
      for (const a of run) if (this.state(a) === GranuleState.NS) this.delegate(a);
      if (run.every((a) => this.state(a) === GranuleState.DELEGATED)) return run[0];
    }
    return undefined;
  }

  nsPage(k: number, avoid: ReadonlySet<bigint> = new Set()): bigint {
    const l = this.poolWith(GranuleState.NS).filter((a) => !avoid.has(a));
    return l.length > 0 ? l[k % l.length]! : 0x1c00_0000n; // MMIO: never a valid NS buffer
  }
}

type Ref = { t: "rd" | "rec" | "del" | "ns" | "rtt" | "data"; k: number } | { t: "raw"; a: bigint };
type Loc = { t: "raw"; ipa: bigint; level: bigint } | { t: "tbl"; k: number; j: number; d: number };
type Cmd = fc.Command<object, World>;

const cmd = (label: string, run: (w: World) => void): Cmd => ({
  check: () => true,
  run: (_m, w) => run(w),
  toString: () => label,
});
const show = (x: unknown): string => JSON.stringify(x, (_, v) => (typeof v === "bigint" ? hex(v) : v));

// ---- arbitraries ----------------------------------------------------------------------------

const kinds = ["rd", "rec", "del", "ns", "rtt", "data"] as const;
const rawAddr = fc.constantFrom(...POOL.slice(0, 8), ...HOSTILE, BLOCK, BLOCK + G).map((a): Ref => ({ t: "raw", a }));
function ref(prefer: (typeof kinds)[number]): fc.Arbitrary<Ref> {
  return fc.oneof(
    { weight: 6, arbitrary: fc.nat(15).map((k): Ref => ({ t: prefer, k })) },
    { weight: 2, arbitrary: fc.record({ t: fc.constantFrom(...kinds), k: fc.nat(15) }) as fc.Arbitrary<Ref> },
    { weight: 1, arbitrary: rawAddr },
  );
}
const IPAS = [
  0n, G, 2n * G, 0x1f_f000n, SZ_2M, 2n * SZ_2M, 0x4000_0000n, 0x8000_0000n, 1n << 35n, 1n << 38n, 1n << 39n,
  (1n << 39n) - G, 0x123n, 0xffff_ffff_ffff_f000n, 1n << 52n,
];
const LEVELS = [u64(-2n), u64(-1n), 0n, 1n, 2n, 3n, 4n, 1n << 63n, 0x100000003n];
const loc: fc.Arbitrary<Loc> = fc.oneof(
  { weight: 3, arbitrary: fc.record({ t: fc.constant("tbl" as const), k: fc.nat(7), j: fc.oneof(fc.constant(0), fc.nat(511)), d: fc.constantFrom(0, 1, 1, -1, 2) }) },
  { weight: 2, arbitrary: fc.record({ t: fc.constant("raw" as const), ipa: fc.constantFrom(...IPAS), level: fc.constantFrom(...LEVELS) }) },
);
const sizeArb = fc.constantFrom(0n, G, 2n * G, 3n * G, SZ_2M, 0x4000_0000n, 0x10n, u64(-G));
const realmSpec = fc.record({
  sane: fc.boolean(),
  combo: fc.nat(SANE.length - 1),
  s2sz: fc.constantFrom(0, 31, 32, 39, 40, 44, 48, 49, 52),
  sl: fc.constantFrom(-1, 0, 1, 2, 3),
  num: fc.constantFrom(0, 1, 2, 3, 4, 16, 17),
  vmid: fc.constantFrom(0, 1, 2, 3, 255, 65535),
  hash: fc.constantFrom(0, 0, 1, 2, 255),
  flags: fc.constantFrom(0n, 0n, 1n, 2n, 4n, 8n),
  bps: fc.constantFrom(1, 1, 0, 2, 64),
  wps: fc.constantFrom(1, 1, 0, 3, 64),
  page: fc.nat(15),
  then: fc.constantFrom("none", "none", "rec", "activate", "activate"),
});

// ---- v1.0 commands --------------------------------------------------------------------------

function v1Commands(maxFnum = 0x16f): fc.Arbitrary<Cmd>[] {
  return [
    // GRANULE_DELEGATE / UNDELEGATE with a full oracle (rmm-model.md §5.3).
    fc.tuple(ref("ns"), fc.boolean()).map(([r, del]) =>
      cmd(`${del ? "delegate" : "undelegate"} ${show(r)}`, (w) => {
        const a = w.resolve(r);
        const okAddr = a % G === 0n && a < 1n << 48n && w.p.granule(a).region === "dram";
        const before = okAddr ? w.state(a) : undefined;
        const active = w.p.rmm.active;
        const res = del ? w.delegateRes(a) : w.undelegate(a);
        if (!active) {
          // RMM v2.0 before RMM_ACTIVATE: RMI_ERROR_GLOBAL for everything but the boot commands (§9.1).
          if (res.status !== "RMI_ERROR_GLOBAL") w.fail(`(UN)DELEGATE before RMM_ACTIVATE gave ${res.status}`);
          return;
        }
        const want = before === (del ? GranuleState.NS : GranuleState.DELEGATED);
        if ((res.status === "RMI_SUCCESS") !== want || (!want && res.status !== "RMI_ERROR_INPUT")) {
          w.fail(`${del ? "DELEGATE" : "UNDELEGATE"} ${hex(a)} (state ${before}): got ${res.status}`);
        }
        if (want) {
          const g = w.p.granule(a);
          if (g.state !== (del ? "DELEGATED" : "UNDELEGATED") || g.pas !== (del ? "REALM" : "NS")) w.fail(`after (un)delegate ${hex(a)}: ${show(g)}`);
        }
      }),
    ),
    fc.tuple(fc.nat(POOL_N - 1), fc.integer({ min: 1, max: 20 })).map(([i, n]) =>
      cmd(`delegateRun ${i} ${n}`, (w) => {
        for (const a of POOL.slice(i, i + n)) if (w.state(a) === GranuleState.NS) w.delegate(a);
      }),
    ),
    // REALM_CREATE with mostly sane parameters (and hostile ones).
    realmSpec.map((s) =>
      cmd(`realmCreateSmart ${show(s)}`, (w) => {
        const [s2sz, sl, num] = s.sane ? SANE[s.combo]! : [s.s2sz, s.sl, s.num];
        const n = Math.max(1, Math.min(num, 16));
        const base = w.contiguous(n);
        if (base === undefined) return;
        const roots = new Set(Array.from({ length: n }, (_, i) => base + BigInt(i) * G));
        const rd = w.delegated(1, roots)?.[0];
        if (rd === undefined) return;
        const page = w.nsPage(s.page);
        const params = encodeRealmParams({
          flags: s.sane ? 0n : s.flags, s2sz, hashAlgo: s.sane ? s.hash % 2 : s.hash, vmid: s.vmid,
          numBps: s.sane ? 1 : s.bps, numWps: s.sane ? 1 : s.wps,
          rttBase: base, rttLevelStart: sl, rttNumStart: num,
        });
        if (!w.nsWrite(page, params)) return;
        const r = w.rmi("realmCreate", rd, page);
        if (r.status === "RMI_SUCCESS") {
          hit("realmCreate");
          if (w.state(rd) !== GranuleState.RD) w.fail(`REALM_CREATE succeeded but RD ${hex(rd)} is ${w.state(rd)}`);
          for (const a of roots) if (w.state(a) !== GranuleState.RTT) w.fail(`REALM_CREATE succeeded but root ${hex(a)} is ${w.state(a)}`);
          if (w.p.granule(rd).realmState !== "NEW") w.fail("new realm is not NEW");
          if (s.then === "rec" || s.then === "activate") createRec(w, rd, true, "next", "ok", s.page);
          if (s.then === "activate" && w.rmi("realmActivate", rd).status === "RMI_SUCCESS") hit("realmActivate");
        }
      }),
    ),
    fc.tuple(ref("rd"), ref("ns")).map(([rd, pp]) => cmd(`realmCreate ${show(rd)} ${show(pp)}`, (w) => void w.rmi("realmCreate", w.resolve(rd), w.resolve(pp)))),
    fc.tuple(ref("ns"), realmSpec).map(([pg, s]) =>
      cmd(`writeRealmParams ${show(pg)} ${show(s)}`, (w) => {
        const base = w.resolve({ t: "del", k: s.page });
        w.nsWrite(w.resolve(pg), encodeRealmParams({ flags: s.flags, s2sz: s.s2sz, vmid: s.vmid, rttBase: base, rttLevelStart: s.sl, rttNumStart: s.num, hashAlgo: s.hash, numBps: s.bps, numWps: s.wps }));
      }),
    ),
    fc.tuple(ref("rd"), fc.constantFrom("realmActivate", "realmDestroy", "recAuxCount")).map(([rd, m]) =>
      cmd(`${m} ${show(rd)}`, (w) => {
        const a = w.resolve(rd);
        const r = w.rmi(m, a);
        if (m === "realmActivate" && r.status === "RMI_SUCCESS") hit("realmActivate");
        if (m === "realmDestroy" && r.status === "RMI_SUCCESS") {
          hit("realmDestroy");
          if (w.state(a) !== GranuleState.DELEGATED) w.fail(`REALM_DESTROY succeeded but RD is ${w.state(a)}`);
        }
      }),
    ),
    // RTT commands with locations near existing tables.
    fc.tuple(ref("rd"), ref("del"), loc).map(([rd, t, l]) =>
      cmd(`rttCreate ${show(rd)} ${show(t)} ${show(l)}`, (w) => {
        const a = w.resolve(rd);
        const { ipa, level } = w.loc(a, l);
        const g = w.resolve(t);
        const r = w.rmi("rttCreate", a, g, ipa, level);
        if (r.status === "RMI_SUCCESS" && w.state(g) !== GranuleState.RTT) w.fail(`RTT_CREATE succeeded but ${hex(g)} is ${w.state(g)}`);
      }),
    ),
    fc.tuple(ref("rd"), loc, fc.constantFrom("rttDestroy", "rttFold", "rttReadEntry", "rttUnmapUnprotected", "dataDestroy")).map(([rd, l, m]) =>
      cmd(`${m} ${show(rd)} ${show(l)}`, (w) => {
        const a = w.resolve(rd);
        const { ipa, level } = w.loc(a, l);
        const r = m === "dataDestroy" ? w.rmi(m, a, ipa) : w.rmi(m, a, ipa, level);
        if (r.status !== "RMI_SUCCESS") return;
        const o = r as RmiResult;
        const freed = m === "dataDestroy" ? o["data"] : m === "rttDestroy" || m === "rttFold" ? o["rtt"] : undefined;
        if (typeof freed === "bigint" && w.state(freed) !== GranuleState.DELEGATED) w.fail(`${m} succeeded but ${hex(freed)} is ${w.state(freed)}`);
        if (m === "rttFold") hit("rttFold");
      }),
    ),
    fc.tuple(ref("rd"), loc, ref("ns"), fc.constantFrom(0n, 1n, 2n, 3n, 4n), fc.constantFrom(0n, 1n, 2n, 3n), fc.constantFrom(0n, 0n, 1n << 8n, 1n << 10n, 1n << 63n, 0x10n)).map(
      ([rd, l, oa, attr, s2ap, extra]) =>
        cmd(`rttMapUnprotected ${show([rd, l, oa, attr, s2ap, extra])}`, (w) => {
          const a = w.resolve(rd);
          const { ipa, level } = w.loc(a, l);
          const desc = w.resolve(oa) | (attr << 2n) | (s2ap << 6n) | extra;
          if (w.rmi("rttMapUnprotected", a, ipa, level, desc).status === "RMI_SUCCESS") hit("rttMapUnprotected");
        }),
    ),
    fc.tuple(ref("rd"), loc, sizeArb, ref("rec"), fc.boolean()).map(([rd, l, size, rec, set]) =>
      cmd(`${set ? "rttSetRipas" : "rttInitRipas"} ${show([rd, l, size, rec])}`, (w) => {
        const a = w.resolve(rd);
        const { ipa } = w.loc(a, l);
        const top = u64(ipa + size);
        const r = set ? w.rmi("rttSetRipas", a, w.resolve(rec), ipa, top) : w.rmi("rttInitRipas", a, ipa, top);
        if (r.status === "RMI_SUCCESS") hit(set ? "rttSetRipas" : "rttInitRipas");
      }),
    ),
    fc.tuple(ref("rd"), ref("del"), loc, ref("ns"), fc.constantFrom(0n, 1n, 2n), fc.boolean()).map(([rd, d, l, src, flags, unknown]) =>
      cmd(`${unknown ? "dataCreateUnknown" : "dataCreate"} ${show([rd, d, l, src, flags])}`, (w) => {
        const a = w.resolve(rd);
        const { ipa } = w.loc(a, l);
        const g = w.resolve(d);
        const r = unknown ? w.rmi("dataCreateUnknown", a, g, ipa) : w.rmi("dataCreate", a, g, ipa, w.resolve(src), flags);
        if (r.status === "RMI_SUCCESS") {
          hit("dataCreate");
          if (w.state(g) !== GranuleState.DATA) w.fail(`DATA_CREATE succeeded but ${hex(g)} is ${w.state(g)}`);
          const e = w.rmi("rttReadEntry", a, ipa, 3n);
          if (e.status === "RMI_SUCCESS" && ((e as RmiResult)["state"] !== 1n || (e as RmiResult)["desc"] !== g)) w.fail(`READ_ENTRY after DATA_CREATE: ${show(e)}`);
        }
      }),
    ),
    // Populate: RTTs down to level 3 at `ipa`, then `n` data pages (a host's fault path).
    fc.tuple(ref("rd"), fc.constantFrom(0n, 0x10_0000n, SZ_2M + 0x3000n, 0x4000_0000n, 1n << 35n), fc.integer({ min: 1, max: 4 }), ref("ns")).map(([rd, ipa, n, src]) =>
      cmd(`populate ${show([rd, ipa, n])}`, (w) => {
        const a = w.resolve(rd);
        const realm = w.p.rmm.realms.get(Number(a / G));
        if (realm === undefined) return;
        ensureTables(w, a, realm.sl, ipa);
        for (let i = 0n; i < BigInt(n); i++) {
          const g = w.delegated(1)?.[0];
          if (g === undefined) return;
          const r = realm.state === 0 ? w.rmi("dataCreate", a, g, ipa + i * G, w.resolve(src), 1n) : w.rmi("dataCreateUnknown", a, g, ipa + i * G);
          if (r.status === "RMI_SUCCESS") hit("dataCreate");
        }
      }),
    ),
    // A 2 MiB block: 512 pages from BLOCK, folded; later steps may unfold, destroy, tear down.
    fc.tuple(ref("rd"), fc.constantFrom(1n, 2n, 3n), fc.boolean()).map(([rd, k, ripas]) =>
      cmd(`block ${show([rd, k, ripas])}`, (w) => mapBlock(w, w.resolve(rd), k * SZ_2M, ripas)),
    ),
    // Unfold: RTT_CREATE under an assigned block.
    fc.tuple(ref("rd"), ref("del")).map(([rd, d]) =>
      cmd(`unfold ${show([rd, d])}`, (w) => {
        const a = w.resolve(rd);
        for (const t of w.p.rmm.rtts.values()) {
          if (t.rd !== Number(a / G) || t.level >= 3) continue;
          for (let i = 0; i < t.entries; i++) {
            const k = t.kind[i]!;
            if (k === S2tte.ASSIGNED_EMPTY || k === S2tte.ASSIGNED_RAM || k === S2tte.ASSIGNED_DESTROYED || k === S2tte.ASSIGNED_NS) {
              const r = w.rmi("rttCreate", a, w.resolve(d), BigInt(t.ipaOf(i)), BigInt(t.level + 1));
              if (r.status === "RMI_SUCCESS") hit("unfold");
              return;
            }
          }
        }
      }),
    ),
    // RECs.
    fc.tuple(ref("rd"), fc.boolean(), fc.constantFrom("next", "next", "skip", "bad"), fc.constantFrom("ok", "ok", "ok", "short", "dup", "rd", "ns", "many"), fc.nat(15)).map(
      ([rd, runnable, mp, aux, page]) => cmd(`recCreateSmart ${show([rd, runnable, mp, aux])}`, (w) => createRec(w, w.resolve(rd), runnable, mp, aux, page)),
    ),
    // NS mappings in the unprotected half, RTTs created on the way.
    fc.tuple(ref("rd"), fc.nat(7), fc.constantFrom(3n, 3n, 2n), fc.constantFrom(0n, (1n << 2n) | (3n << 6n), 2n << 6n)).map(([rd, k, level, attrs]) =>
      cmd(`mapNs ${show([rd, k, level, attrs])}`, (w) => {
        const a = w.resolve(rd);
        const realm = w.p.rmm.realms.get(Number(a / G));
        if (realm === undefined) return;
        const span = level === 3n ? G : SZ_2M;
        const ipa = BigInt(realm.parSize) + BigInt(k) * span;
        if (!ensureTables(w, a, realm.sl, ipa, Number(level))) return;
        const oa = level === 3n ? POOL[k]! : 0x1c00_0000n;
        if (w.rmi("rttMapUnprotected", a, ipa, level, oa | attrs).status === "RMI_SUCCESS") hit("rttMapUnprotected");
      }),
    ),
    // Enter a REC of an active realm (no realm guest: the REC exits at once).
    fc.tuple(ref("rec"), fc.nat(15)).map(([rec, page]) =>
      cmd(`recEnterSmart ${show([rec, page])}`, (w) => {
        const r = w.resolve(rec);
        const run = w.nsPage(page);
        if (!w.nsWrite(run, new Uint8Array(0x800))) return;
        if (w.rmi("recEnter", r, run).status === "RMI_SUCCESS") hit("recEnter");
      }),
    ),
    fc.tuple(ref("rd"), ref("del"), ref("ns")).map(([rd, rec, pp]) => cmd(`recCreate ${show([rd, rec, pp])}`, (w) => void w.rmi("recCreate", w.resolve(rd), w.resolve(rec), w.resolve(pp)))),
    ref("rec").map((rec) =>
      cmd(`recDestroy ${show(rec)}`, (w) => {
        const a = w.resolve(rec);
        const aux = w.p.rmm.recs.get(Number(a / G))?.aux ?? [];
        if (w.rmi("recDestroy", a).status === "RMI_SUCCESS") {
          hit("recDestroy");
          for (const g of [Number(a / G), ...aux]) if (w.p.rmm.granules.state(g) !== GranuleState.DELEGATED) w.fail(`REC_DESTROY left ${hex(BigInt(g) * G)} in state ${w.p.rmm.granules.state(g)}`);
        }
      }),
    ),
    fc.tuple(ref("rec"), ref("ns"), fc.constantFrom(0n, 0n, 1n, 2n, 4n, 16n, 0xffn), fc.constantFrom(0n, 0n, 1n, 1n << 40n)).map(([rec, run, flags, hcr]) =>
      cmd(`recEnter ${show([rec, run, flags, hcr])}`, (w) => {
        const r = w.resolve(run);
        const page = new Uint8Array(0x800);
        const dv = new DataView(page.buffer);
        dv.setBigUint64(REC_RUN.enter.flags, flags, true);
        dv.setBigUint64(REC_RUN.enter.gicv3_hcr, hcr, true);
        if (r < 1n << 52n && r % G === 0n && w.expectedNs(r) === "ok") w.nsWrite(r, page);
        if (w.rmi("recEnter", w.resolve(rec), r).status === "RMI_SUCCESS") hit("recEnter");
      }),
    ),
    fc.tuple(ref("rec"), ref("rec"), fc.constantFrom(0n, u64(-3n), 1n, u64(-1n))).map(([a, b, s]) =>
      cmd(`psciComplete ${show([a, b, s])}`, (w) => void w.rmi("psciComplete", w.resolve(a), w.resolve(b), s)),
    ),
    ref("rd").map((rd) => cmd(`teardown ${show(rd)}`, (w) => (w.v2 ? teardownV2(w, w.resolve(rd)) : teardown(w, w.resolve(rd))))),
    // Raw SMCs, including unused RMI numbers and values that do not fit the registers' meaning.
    fc.tuple(fc.integer({ min: 0x14f, max: maxFnum }), fc.array(fc.oneof(fc.constantFrom(...POOL.slice(0, 4), ...HOSTILE), fc.bigInt({ min: 0n, max: (1n << 64n) - 1n })), { maxLength: 6 })).map(([fnum, args]) =>
      cmd(`smc ${hex(BigInt(fnum))} ${show(args)}`, (w) => {
        const x = w.smc(0xc400_0000n + BigInt(fnum), args);
        if (w.p.rmm.table.get(fnum) === undefined && x[0] !== u64(-1n)) w.fail(`unknown fnum ${hex(BigInt(fnum))} gave ${hex(x[0]!)}, expected SMC_UNKNOWN`);
      }),
    ),
    // Misuse of the TypeScript API throws an error naming the argument and changes nothing.
    fc.constantFrom("negative", "missing", "nsNegative", "nsHuge").map((k) =>
      cmd(`apiMisuse ${k}`, (w) => {
        const d0 = rmmDigest(w.p);
        let err: unknown;
        try {
          const del = (w.v2 ? w.p.rmi.granuleRangeDelegate : w.p.rmi.granuleDelegate) as unknown as (...a: bigint[]) => unknown;
          if (k === "negative") del(-1n, 0n);
          else if (k === "missing") del();
          else if (k === "nsNegative") w.p.ns.read(-5n, 4);
          else w.p.ns.read(1n << 64n, 4);
        } catch (e) {
          err = e;
        }
        if (!(err instanceof Error) || !/addr|base|pa/.test(err.message)) w.fail(`API misuse ${k}: expected an error naming the argument, got ${String(err)}`);
        if (rmmDigest(w.p) !== d0) w.fail(`API misuse ${k} changed state`);
      }),
    ),
    fc.tuple(ref("ns"), fc.constantFrom(0n, 8n, 0xff8n, 0xffcn), fc.constantFrom(1, 8, 16, 4096)).map(([r, off, len]) =>
      cmd(`nsWrite ${show([r, off, len])}`, (w) => {
        const bytes = new Uint8Array(len).map((_, i) => (i * 37 + 11) % 256);
        const pa = w.resolve(r) + off;
        if (pa + BigInt(len) < 1n << 52n) {
          w.nsWrite(pa, bytes);
          return;
        }
        const d0 = rmmDigest(w.p);
        expect(() => w.p.ns.write(pa, bytes)).toThrow(/pa/);
        if (rmmDigest(w.p) !== d0) w.fail(`ns.write(${hex(pa)}) threw but changed state`);
      }),
    ),
    fc.constantFrom(0n, 0x10000n, 0x10001n, 0x20000n, u64(-1n)).map((v) => cmd(`version ${hex(v)}`, (w) => void w.rmi("version", v))),
    fc.constantFrom(0n, 1n, 2n, u64(-1n)).map((v) => cmd(`features ${hex(v)}`, (w) => void w.rmi("features", v))),
  ];
}

/** Create a REC: `aux` and `mp` choose a correct or a hostile RecParams. */
function createRec(w: World, a: bigint, runnable: boolean, mp: string, aux: string, page: number): void {
  if (w.v2) return createRecV2(w, a, runnable, aux === "ok" ? "ok" : "short", page);
  const realm = w.p.rmm.realms.get(Number(a / G));
  const c = w.rmi("recAuxCount", a);
  const n = c.status === "RMI_SUCCESS" ? Number((c as RmiResult)["auxCount"]) : 16;
  const list = w.delegated(n + 1);
  if (list === undefined) return;
  const rec = list[n]!;
  let auxs = list.slice(0, n);
  if (aux === "short") auxs = auxs.slice(1);
  if (aux === "dup" && n > 1) auxs[1] = auxs[0]!;
  if (aux === "rd" && n > 0) auxs[0] = a;
  if (aux === "ns" && n > 0) auxs[n - 1] = w.nsPage(page + 1);
  if (aux === "many") auxs = [...auxs, ...auxs.slice(0, 17 - n)];
  const idx = realm?.recCount ?? 0;
  const mpidr = mp === "next" ? recIndexToMpidr(idx) : mp === "skip" ? recIndexToMpidr(idx + 1) : (1n << 60n) | 0xf0n;
  const pp = w.nsPage(page);
  if (!w.nsWrite(pp, encodeRecParams({ flags: runnable ? 1n : 0n, mpidr, pc: 0x1000n, gprs: [1n, 2n], aux: auxs, numAux: auxs.length }))) return;
  const r = w.rmi("recCreate", a, rec, pp);
  if (r.status === "RMI_SUCCESS") {
    hit("recCreate");
    if (w.state(rec) !== GranuleState.REC) w.fail(`REC_CREATE succeeded but REC is ${w.state(rec)}`);
    for (const x of auxs) if (w.state(x) !== GranuleState.REC_AUX) w.fail(`REC_CREATE succeeded but aux ${hex(x)} is ${w.state(x)}`);
  }
}

/** RTT_CREATE at every level from sl+1 to `upTo` for `ipa` (a level that exists gives RTT(level-1)). */
function ensureTables(w: World, rd: bigint, sl: number, ipa: bigint, upTo = 3): boolean {
  for (let l = sl + 1; l <= upTo; l++) {
    const span = 1n << BigInt(12 + 9 * (3 - (l - 1)));
    const g = w.delegated(1)?.[0];
    if (g === undefined) return false;
    const r = w.rmi("rttCreate", rd, g, ipa - (ipa % span), BigInt(l));
    if (r.status === "MISSING") return false;
    if (r.status !== "RMI_SUCCESS" && !(r.status === "RMI_ERROR_RTT" && r.index === l - 1)) return false;
  }
  return true;
}

/** Map 512 pages of BLOCK at `ipa` (2 MiB aligned) and fold them into a 2 MiB block. */
function mapBlock(w: World, rd: bigint, ipa: bigint, initRipas: boolean): void {
  const realm = w.p.rmm.realms.get(Number(rd / G));
  if (realm === undefined) return;
  if (!ensureTables(w, rd, realm.sl, ipa)) return;
  if (initRipas && realm.state === 0) w.rmi("rttInitRipas", rd, ipa, ipa + SZ_2M);
  for (let i = 0n; i < 512n; i++) {
    const pa = BLOCK + i * G;
    if (w.state(pa) === GranuleState.NS) w.delegate(pa);
    if (w.state(pa) !== GranuleState.DELEGATED) return;
    if (w.rmi("dataCreateUnknown", rd, pa, ipa + i * G).status !== "RMI_SUCCESS") return;
  }
  hit("block512");
  const r = w.rmi("rttFold", rd, ipa, 3n);
  if (r.status === "RMI_SUCCESS") hit("foldBlock");
}

/** A correct teardown of one realm, every step of which must succeed (rmm-model.md §10 v1.0). */
function teardown(w: World, rd: bigint): void {
  const rdg = Number(rd / G);
  const realm = w.p.rmm.realms.get(rdg);
  if (realm === undefined) return;
  const released: bigint[] = [];
  const tables = () => [...w.p.rmm.rtts.values()].filter((t) => t.rd === rdg).sort((a, b) => b.level - a.level || a.g - b.g);
  // 1. Unmap everything: NS mappings, DATA pages; unfold blocks first.
  for (let pass = 0; pass < 6; pass++) {
    let again = false;
    for (const t of tables()) {
      for (let i = 0; i < t.entries; i++) {
        const k = t.kind[i]! as S2tte;
        const ipa = BigInt(t.ipaOf(i));
        if (k === S2tte.ASSIGNED_NS) {
          if (!w.expectOk(w.rmi("rttUnmapUnprotected", rd, ipa, BigInt(t.level)), `teardown: unmap NS ${hex(ipa)} L${t.level}`)) return;
        } else if (k === S2tte.ASSIGNED_EMPTY || k === S2tte.ASSIGNED_RAM || k === S2tte.ASSIGNED_DESTROYED) {
          if (t.level === 3) {
            const r = w.rmi("dataDestroy", rd, ipa);
            if (!w.expectOk(r, `teardown: DATA_DESTROY ${hex(ipa)}`)) return;
            released.push((r as RmiResult)["data"] as bigint);
          } else {
            const g = w.delegated(1)?.[0];
            if (g === undefined) return;
            if (!w.expectOk(w.rmi("rttCreate", rd, g, ipa, BigInt(t.level + 1)), `teardown: unfold ${hex(ipa)} L${t.level + 1}`)) return;
            hit("unfold");
            again = true;
          }
        }
      }
    }
    if (!again) break;
  }
  // 2. RTTs bottom-up.
  for (const t of tables()) {
    if (t.level === realm.sl) continue;
    const r = w.rmi("rttDestroy", rd, BigInt(t.base), BigInt(t.level));
    if (!w.expectOk(r, `teardown: RTT_DESTROY ${hex(BigInt(t.base))} L${t.level}`)) return;
    released.push((r as RmiResult)["rtt"] as bigint);
  }
  // 3. RECs, then the realm.
  for (const [g, rec] of [...w.p.rmm.recs.entries()].filter(([, r]) => r.rd === rdg)) {
    const aux = rec.aux.map((x) => BigInt(x) * G);
    if (!w.expectOk(w.rmi("recDestroy", BigInt(g) * G), `teardown: REC_DESTROY ${hex(BigInt(g) * G)}`)) return;
    released.push(BigInt(g) * G, ...aux);
  }
  const roots = Array.from({ length: realm.numRoot }, (_, i) => BigInt(realm.rootRtt(i)) * G);
  if (!w.expectOk(w.rmi("realmDestroy", rd), `teardown: REALM_DESTROY ${hex(rd)}`)) return;
  released.push(rd, ...roots);
  for (const a of released) w.expectOk(w.undelegate(a), `teardown: UNDELEGATE ${hex(a)}`);
  hit("teardown");
}

// ---- v2.0 commands --------------------------------------------------------------------------

const SINGLE = encodeRttFlags({ oaddrType: RmiAddrType.SINGLE });
const LIST_PAGE_K = 3;

/** Drive an SRO to its end the way Linux v14 rmi_sro_memxfer_execute does (with hostile twists). */
function driveSro(w: World, first: Res, mode: string, avoid: ReadonlySet<bigint>, keepPage?: bigint): Res {
  const pages = new Set(keepPage === undefined ? [] : [keepPage]);
  let r = first;
  // The handle comes with the first INCOMPLETE (x1); later results carry other outputs in x1.
  const handle = r.status === "RMI_INCOMPLETE" ? ((r as RmiResult)["handle"] as bigint) : 0n;
  for (let step = 0; step < 12 && r.status === "RMI_INCOMPLETE"; step++) {
    const o = r as RmiResult;
    const { memreq } = decodeIncomplete(r.index);
    if (mode === "cancel" && step === 1) {
      r = w.rmi("opCancel", handle);
      continue;
    }
    if (mode === "wrongHandle" && step === 0) w.rmi("opContinue", handle + 7n, 0n);
    if (memreq === RmiOpMemReq.DONATE) {
      const req = decodeDonateRequest(o["request"] as bigint);
      const want = mode === "short" ? Math.max(1, req.count - 1) : req.count;
      const granules = w.delegated(want, avoid);
      if (granules === undefined) return w.rmi("opCancel", handle);
      if (mode === "ns" && step === 0) granules[0] = w.nsPage(5, pages);
      const list = w.nsPage(LIST_PAGE_K, pages);
      if (!w.nsWrite(list, encodeRangeList(granules.map((a) => encodeRangeDesc({ addr: a, cnt: 1, state: RmiOpMemState.DELEGATED }))))) return r;
      r = w.rmi("opMemDonate", handle, list, BigInt(granules.length));
      if (r.status === "RMI_SUCCESS" && (r as RmiResult)["request"] === 0n) r = w.rmi("opContinue", handle, 0n);
    } else if (memreq === RmiOpMemReq.RECLAIM) {
      const list = w.nsPage(LIST_PAGE_K, pages);
      r = w.rmi("opMemReclaim", handle, list, mode === "smallReclaim" ? 1n : 64n);
      if (r.status === "RMI_SUCCESS") r = w.rmi("opContinue", handle, 0n);
    } else {
      r = w.rmi("opContinue", handle, 0n);
    }
  }
  return r;
}

/** REC_CREATE v2.0: REC granule, params, then the SRO (donation of the aux granules). */
function createRecV2(w: World, a: bigint, runnable: boolean, mode: string, page: number): void {
  const realm = w.p.rmm.realms.get(Number(a / G));
  const rec = w.delegated(1)?.[0];
  if (rec === undefined) return;
  const pp = w.nsPage(page);
  if (!w.nsWrite(pp, encodeRecParams({ flags: runnable ? 1n : 0n, mpidr: recIndexToMpidr(realm?.recCount ?? 0) }))) return;
  const r = driveSro(w, w.rmi("recCreate", a, rec, pp), mode, new Set([rec]), pp);
  if (r.status === "RMI_SUCCESS" && w.state(rec) === GranuleState.REC) hit("v2:recCreate");
}

function v2Commands(): fc.Arbitrary<Cmd>[] {
  const sroMode = fc.constantFrom("ok", "ok", "ok", "cancel", "short", "ns", "wrongHandle", "smallReclaim");
  const recDestroySro = fc.tuple(ref("rec"), sroMode).map(([rec, mode]) =>
    cmd(`recDestroySro ${show([rec, mode])}`, (w) => {
      const a = w.resolve(rec);
      const r = driveSro(w, w.rmi("recDestroy", a), mode, new Set());
      if (r.status === "RMI_SUCCESS" && w.state(a) === GranuleState.DELEGATED) hit("v2:recDestroy");
    }),
  );
  // Populate the way v14 does on a fault: RTTs, then RTT_DATA_MAP_INIT (NEW) or RTT_DATA_MAP of contiguous pages.
  const populateV2 = fc.tuple(ref("rd"), fc.constantFrom(0n, 0x10_0000n, SZ_2M + 0x3000n, 0x4000_0000n), fc.integer({ min: 1, max: 4 }), ref("ns"), fc.boolean()).map(
    ([rd, ipa, n, src, mapInNew]) =>
      cmd(`populateV2 ${show([rd, ipa, n, mapInNew])}`, (w) => {
        const a = w.resolve(rd);
        const realm = w.p.rmm.realms.get(Number(a / G));
        if (realm === undefined || !ensureTables(w, a, realm.sl, ipa)) return;
        const gs = w.delegated(n);
        if (gs === undefined) return;
        if (!mapInNew && realm.state === 0) {
          for (let i = 0; i < n; i++) if (w.rmi("rttDataMapInit", a, gs[i]!, ipa + BigInt(i) * G, w.resolve(src), 1n).status === "RMI_SUCCESS") hit("v2:dataMapInit");
          return;
        }
        let base = ipa;
        for (let i = 0; i < n; i++) {
          const r = w.rmi("rttDataMap", a, base, base + G, SINGLE, encodeRangeDesc({ addr: gs[i]!, cnt: 1 }));
          if (r.status !== "RMI_SUCCESS") break;
          hit("v2:dataMap");
          base += G;
        }
      }),
  );
  // A 2 MiB block mapped directly (descriptor SZ = 1), from the BLOCK granules.
  const blockV2 = fc.tuple(ref("rd"), fc.constantFrom(1n, 2n)).map(([rd, k]) =>
    cmd(`blockV2 ${show([rd, k])}`, (w) => {
      const a = w.resolve(rd);
      const realm = w.p.rmm.realms.get(Number(a / G));
      if (realm === undefined || !ensureTables(w, a, realm.sl, k * SZ_2M, 2)) return;
      let base = BLOCK;
      for (let i = 0; i < 520 && base < BLOCK + SZ_2M; i++) {
        const r = w.rmi("granuleRangeDelegate", base, BLOCK + SZ_2M);
        if (r.status !== "RMI_SUCCESS") return;
        base = (r as RmiResult)["top"] as bigint;
      }
      const r = w.rmi("rttDataMap", a, k * SZ_2M, (k + 1n) * SZ_2M, SINGLE, encodeRangeDesc({ addr: BLOCK, sz: RmiAddrSize.BLOCK_L2, cnt: 1 }));
      if (r.status === "RMI_SUCCESS") hit("v2:block");
    }),
  );
  const v1 = v1Commands(0x20f);
  return [
    ...v1,
    recDestroySro,
    recDestroySro,
    populateV2,
    populateV2,
    populateV2,
    blockV2,
    // Boot: CONFIG_SET / CONFIG_GET / ACTIVATE, mostly right, sometimes not.
    fc.tuple(fc.constantFrom(0n, 0n, 1n, 3n), fc.constantFrom(0n, 0n, 2n, 0xffn), fc.nat(15)).map(([tr, gs, page]) =>
      cmd(`boot ${show([tr, gs, page])}`, (w) => {
        const pg = w.nsPage(page);
        if (!w.nsWrite(pg, encodeRmmConfig({ trackingRegionSize: tr, rmiGranuleSize: gs }))) return;
        w.rmi("rmmConfigSet", pg);
        w.rmi("rmmConfigGet", pg);
        if (w.rmi("rmmActivate").status === "RMI_SUCCESS") hit("v2:activate");
      }),
    ),
    // GRANULE_RANGE_(UN)DELEGATE loops (Linux rmi_delegate_range), hostile ranges included.
    fc.tuple(fc.nat(POOL_N - 1), fc.integer({ min: 1, max: 24 }), fc.boolean(), fc.constantFrom(0n, 0n, 0n, 8n, -G, u64(-1n))).map(([i, n, del, skew]) =>
      cmd(`range${del ? "Delegate" : "Undelegate"} ${show([i, n, skew])}`, (w) => {
        let base = POOL[i]!;
        const top = u64(base + BigInt(n) * G + skew);
        for (let k = 0; k < 30 && base < top; k++) {
          const r = w.rmi(del ? "granuleRangeDelegate" : "granuleRangeUndelegate", base, top);
          if (r.status !== "RMI_SUCCESS") break;
          const t = (r as RmiResult)["top"] as bigint;
          if (t <= base) w.fail(`range (un)delegate made no progress: out_top ${hex(t)} <= base ${hex(base)}`);
          base = t;
        }
      }),
    ),
    fc.tuple(ref("rd"), fc.constantFrom("realmTerminate", "realmTerminate", "realmDestroy")).map(([rd, m]) =>
      cmd(`${m} ${show(rd)}`, (w) => {
        if (w.rmi(m, w.resolve(rd)).status === "RMI_SUCCESS") hit(`v2:${m}`);
      }),
    ),
    // REC_CREATE / REC_DESTROY as SROs.
    fc.tuple(ref("rd"), sroMode, fc.boolean(), fc.nat(15)).map(([rd, mode, runnable, page]) =>
      cmd(`recCreateSro ${show([rd, mode, runnable])}`, (w) => createRecV2(w, w.resolve(rd), runnable, mode, page)),
    ),
    // Raw OP_* with made-up handles and lists.
    fc.tuple(fc.constantFrom("opContinue", "opCancel", "opMemDonate", "opMemReclaim"), fc.constantFrom(0n, 1n, 2n, 3n, u64(-1n)), ref("ns"), fc.constantFrom(0n, 1n, 16n, 1n << 20n)).map(([m, h, list, n]) =>
      cmd(`${m} ${show([h, list, n])}`, (w) => {
        const l = w.resolve(list);
        if (m === "opContinue") w.rmi(m, h, 0n);
        else if (m === "opCancel") w.rmi(m, h);
        else w.rmi(m, h, l, n);
      }),
    ),
    // RTT_DATA_MAP_INIT / RTT_DATA_MAP / RTT_DATA_UNMAP.
    fc.tuple(ref("rd"), loc, fc.integer({ min: 1, max: 4 }), fc.constantFrom("single", "single", "none", "list", "undelegated", "block"), ref("ns"), fc.boolean()).map(([rd, l, n, kind, src, init]) =>
      cmd(`dataMap ${show([rd, l, n, kind, init])}`, (w) => {
        const a = w.resolve(rd);
        const { ipa } = w.loc(a, l);
        const realm = w.p.rmm.realms.get(Number(a / G));
        if (realm !== undefined && ipa < 1n << 52n) ensureTables(w, a, realm.sl, ipa);
        const gs = w.delegated(n);
        if (gs === undefined) return;
        if (init) {
          if (w.rmi("rttDataMapInit", a, gs[0]!, ipa, w.resolve(src), 1n).status === "RMI_SUCCESS") hit("v2:dataMapInit");
          return;
        }
        const contiguous = gs.every((g, i) => g === gs[0]! + BigInt(i) * G);
        const desc = encodeRangeDesc({
          addr: kind === "block" ? BLOCK : gs[0]!,
          sz: kind === "block" ? RmiAddrSize.BLOCK_L2 : RmiAddrSize.PAGE_L3,
          cnt: kind === "block" ? 1 : contiguous ? n : 1,
          state: kind === "undelegated" ? RmiOpMemState.UNDELEGATED : RmiOpMemState.DELEGATED,
        });
        let flags = SINGLE;
        let oaddr = desc;
        if (kind === "none") (flags = 0n), (oaddr = 0n);
        if (kind === "list") {
          oaddr = w.nsPage(LIST_PAGE_K);
          if (!w.nsWrite(oaddr, encodeRangeList(gs.map((g) => encodeRangeDesc({ addr: g, cnt: 1 }))))) return;
          flags = encodeRttFlags({ oaddrType: RmiAddrType.LIST, listCount: gs.length });
        }
        const size = kind === "block" ? SZ_2M : BigInt(n) * G;
        const r = w.rmi("rttDataMap", a, ipa, u64(ipa + size), flags, oaddr);
        if (r.status === "RMI_SUCCESS") hit("v2:dataMap");
        else if (r.status === "RMI_INCOMPLETE") driveSro(w, r, "ok", new Set());
      }),
    ),
    fc.tuple(ref("rd"), loc, sizeArb, fc.constantFrom("single", "none", "list")).map(([rd, l, size, kind]) =>
      cmd(`dataUnmap ${show([rd, l, size, kind])}`, (w) => {
        const a = w.resolve(rd);
        const { ipa } = w.loc(a, l);
        const list = w.nsPage(LIST_PAGE_K);
        const flags = kind === "single" ? SINGLE : kind === "list" ? encodeRttFlags({ oaddrType: RmiAddrType.LIST, listCount: 16 }) : 0n;
        const r = w.rmi("rttDataUnmap", a, ipa, u64(ipa + size), flags, kind === "list" ? list : 0n);
        if (r.status === "RMI_SUCCESS") hit("v2:dataUnmap");
      }),
    ),
    fc.tuple(ref("rd"), fc.nat(7), fc.boolean(), fc.constantFrom(0, 1, 5), fc.constantFrom(0, 1, 3, 8)).map(([rd, k, map, memattr, s2ap]) =>
      cmd(`unprot${map ? "Map" : "Unmap"} ${show([rd, k, memattr, s2ap])}`, (w) => {
        const a = w.resolve(rd);
        const realm = w.p.rmm.realms.get(Number(a / G));
        if (realm === undefined) return;
        const ipa = BigInt(realm.parSize) + BigInt(k) * G;
        if (!ensureTables(w, a, realm.sl, ipa)) return;
        const r = map
          ? w.rmi("rttUnprotMap", a, ipa, ipa + G, encodeRttFlags({ oaddrType: RmiAddrType.SINGLE, memattr, s2ap }) , encodeRangeDesc({ addr: POOL[k]!, cnt: 1, state: RmiOpMemState.UNDELEGATED }))
          : w.rmi("rttUnprotUnmap", a, ipa, ipa + 4n * G, SINGLE, 0n);
        if (r.status === "RMI_SUCCESS") hit(`v2:unprot${map ? "Map" : "Unmap"}`);
      }),
    ),
  ];
}

/** A correct v2.0 teardown (Linux v14): unmap, REALM_TERMINATE, RTTs bottom-up, REC_DESTROY, REALM_DESTROY, undelegate. */
function teardownV2(w: World, rd: bigint): void {
  const rdg = Number(rd / G);
  const realm = w.p.rmm.realms.get(rdg);
  if (realm === undefined || w.sroHandles().size > 0) return;
  const released: bigint[] = [];
  const tables = () => [...w.p.rmm.rtts.values()].filter((t) => t.rd === rdg).sort((a, b) => b.level - a.level || a.g - b.g);
  for (let pass = 0; pass < 6; pass++) {
    let again = false;
    for (const t of tables()) {
      for (let i = 0; i < t.entries; i++) {
        const k = t.kind[i]! as S2tte;
        const ipa = BigInt(t.ipaOf(i));
        const size = 1n << BigInt(12 + 9 * (3 - t.level));
        if (k === S2tte.ASSIGNED_NS) {
          if (!w.expectOk(w.rmi("rttUnprotUnmap", rd, ipa, ipa + size, 0n, 0n), `teardown: UNPROT_UNMAP ${hex(ipa)}`)) return;
        } else if (k === S2tte.ASSIGNED_EMPTY || k === S2tte.ASSIGNED_RAM || k === S2tte.ASSIGNED_DESTROYED) {
          const r = w.rmi("rttDataUnmap", rd, ipa, ipa + size, SINGLE, 0n);
          if (!w.expectOk(r, `teardown: DATA_UNMAP ${hex(ipa)} L${t.level}`)) return;
          hit("v2:dataUnmap");
          const range = (r as RmiResult)["range"] as bigint;
          const first = ((range >> 12n) & ((1n << 40n) - 1n)) << 12n;
          for (let a = first; a < first + size; a += G) released.push(a);
          again = true;
        }
      }
    }
    if (!again) break;
  }
  if (!w.expectOk(w.rmi("realmTerminate", rd), "teardown: REALM_TERMINATE")) return;
  for (const t of tables()) {
    if (t.level === realm.sl) continue;
    const r = w.rmi("rttDestroy", rd, BigInt(t.base), BigInt(t.level));
    if (!w.expectOk(r, `teardown: RTT_DESTROY ${hex(BigInt(t.base))} L${t.level}`)) return;
    released.push((r as RmiResult)["rtt"] as bigint);
  }
  for (const [g] of [...w.p.rmm.recs.entries()].filter(([, r]) => r.rd === rdg)) {
    const r = driveSro(w, w.rmi("recDestroy", BigInt(g) * G), "ok", new Set());
    if (!w.expectOk(r, `teardown: REC_DESTROY ${hex(BigInt(g) * G)}`)) return;
  }
  const roots = Array.from({ length: realm.numRoot }, (_, i) => BigInt(realm.rootRtt(i)) * G);
  if (!w.expectOk(w.rmi("realmDestroy", rd), `teardown: REALM_DESTROY ${hex(rd)}`)) return;
  released.push(rd, ...roots);
  for (const a of released) w.expectOk(w.undelegate(a), `teardown: UNDELEGATE ${hex(a)}`);
  hit("v2:teardown");
}

function runModel(abi: "1.0" | "2.0", arbs: fc.Arbitrary<Cmd>[], seed: number, numRuns: number, maxCommands: number): void {
  for (const k of Object.keys(reached)) delete reached[k];
  fc.assert(
    fc.property(fc.commands(arbs, { maxCommands, size: "max" }), fc.boolean(), (cmds, startActive) => {
      const w = new World(abi, abi === "1.0" || startActive);
      w.check("start");
      fc.modelRun(() => ({ model: {}, real: w }), cmds);
    }),
    { seed, numRuns, endOnFailure: false },
  );
}

describe("RMM 1.0 model-based test", () => {
  it("has every RMI v1.0 command (the model test drives all of them)", () => {
    const p = Platform.create({ rmm: "1.0" });
    const missing = V1_COMMANDS.filter((m) => typeof (p.rmi as unknown as Record<string, unknown>)[m] !== "function");
    expect(missing).toEqual([]);
  });

  it("keeps the invariants, NS isolation and failure atomicity under random and hostile sequences", () => {
    runModel("1.0", v1Commands(), 0x5eed_0001, 30, 60);
    if (process.env["MODEL_STATS"]) console.log(JSON.stringify(reached));
    // The runs reached the interesting states (the test cannot pass vacuously).
    for (const k of ["realmCreate", "dataCreate", "recCreate", "realmActivate", "recEnter", "block512", "foldBlock", "unfold", "rttMapUnprotected", "teardown"]) {
      expect(reached[k] ?? 0, `random runs never reached ${k}`).toBeGreaterThan(0);
    }
  });

  it("a correct host sequence reaches every state worth checking (not vacuous)", () => {
    // A scripted tour through the same checked driver: realm, tables, data, a folded block,
    // NS mappings, RECs, activation and a full teardown that must succeed step by step.
    const w = new World("1.0");
    const base = w.contiguous(2)!;
    const rd = w.delegated(1, new Set([base, base + G]))![0]!;
    const page = w.nsPage(0);
    w.nsWrite(page, encodeRealmParams({ s2sz: 40, rttBase: base, rttLevelStart: 1, rttNumStart: 2, vmid: 7 }));
    expect(w.rmi("realmCreate", rd, page).status).toBe("RMI_SUCCESS");
    mapBlock(w, rd, SZ_2M, true);
    expect(w.p.rmi.rttReadEntry(rd, SZ_2M, 2n)).toMatchObject({ status: "RMI_SUCCESS", walkLevel: 2n, state: 1n, desc: BLOCK, ripas: 1n });
    ensureTables(w, rd, 1, 1n << 39n);
    expect(w.rmi("rttMapUnprotected", rd, 1n << 39n, 3n, 0x8000_0000n + 40n * G).status).toBe("RMI_SUCCESS");
    const aux = Number(w.p.rmi.recAuxCount(rd).auxCount);
    const list = w.delegated(aux + 1)!;
    const page2 = w.nsPage(0);
    expect(w.nsWrite(page2, encodeRecParams({ flags: 1n, mpidr: 0n, aux: list.slice(0, aux) }))).toBe(true);
    expect(w.rmi("recCreate", rd, list[aux]!, page2).status).toBe("RMI_SUCCESS");
    expect(w.rmi("realmActivate", rd).status).toBe("RMI_SUCCESS");
    expect(w.rmi("realmDestroy", rd)).toMatchObject({ status: "RMI_ERROR_REALM" });
    teardown(w, rd);
    expect(w.p.granuleCounts()).toMatchObject({ DELEGATED: 0, RD: 0, REC: 0, REC_AUX: 0, DATA: 0, RTT: 0 });
  });
});

/** The v2.0 helper's commands (rmm-model.md §9.1): the v2.0 run needs them all. */
const V2_COMMANDS = [
  "RMI_RMM_CONFIG_SET", "RMI_RMM_ACTIVATE", "RMI_GRANULE_RANGE_DELEGATE", "RMI_GRANULE_RANGE_UNDELEGATE",
  "RMI_RTT_DATA_MAP_INIT", "RMI_RTT_DATA_MAP", "RMI_RTT_DATA_UNMAP", "RMI_RTT_UNPROT_MAP", "RMI_RTT_UNPROT_UNMAP",
  "RMI_REALM_TERMINATE", "RMI_OP_CONTINUE", "RMI_OP_MEM_DONATE", "RMI_OP_MEM_RECLAIM", "RMI_OP_CANCEL",
];
const v2Missing = (() => {
  const p = Platform.create({ rmm: "2.0" });
  return V2_COMMANDS.filter((n) => ![...p.rmm.table.values()].some((c) => c.name === n));
})();

describe("RMM 2.0 model-based test", () => {
  it("has the v2.0 command table (the model run below needs it)", () => {
    expect(v2Missing).toEqual([]);
  });

  it.runIf(v2Missing.length === 0)("keeps the invariants, NS isolation and failure atomicity (SROs included)", () => {
    runModel("2.0", v2Commands(), 0x5eed_0002, 50, 60);
    if (process.env["MODEL_STATS"]) console.log(JSON.stringify(reached));
    for (const k of ["v2:activate", "realmCreate", "v2:recCreate", "v2:recDestroy", "v2:dataMap", "v2:dataMapInit", "v2:dataUnmap", "v2:unprotMap", "v2:realmTerminate", "v2:teardown"]) {
      expect(reached[k] ?? 0, `random v2.0 runs never reached ${k}`).toBeGreaterThan(0);
    }
  });
});

describe("invariants and digest catch what they must (white-box)", () => {
  it("a granule whose state disagrees with its PAS is reported", () => {
    const p = Platform.create({ rmm: "1.0" });
    expect(p.rmi.granuleDelegate(DRAM).status).toBe("RMI_SUCCESS");
    expect(checkRmmInvariants(p.rmm)).toEqual([]);
    p.machine.gpt.set(Number(DRAM / G), 0); // EL3 flips it back to NS behind the RMM's back
    expect(checkRmmInvariants(p.rmm).join("\n")).toMatch(/0x80000000: state DELEGATED but GPT PAS NS/);
  });

  it("a DELEGATED granule holding data, and an UNDELEGATED one in the Realm PAS, are reported", () => {
    const p = Platform.create({ rmm: "1.0" });
    p.rmi.granuleDelegate(DRAM);
    p.machine.mem.write(Number(DRAM) + 8, new Uint8Array([1]));
    p.machine.gpt.set(Number(DRAM / G) + 1, 1);
    const v = checkRmmInvariants(p.rmm).join("\n");
    expect(v).toMatch(/0x80000000: DELEGATED but holds non-zero data/);
    expect(v).toMatch(/0x80001000: state UNDELEGATED but GPT PAS REALM/);
  });

  it("RTT refcounts and DATA references are checked", () => {
    const w = new World("1.0");
    const base = w.contiguous(1)!;
    const rd = w.delegated(1, new Set([base]))![0]!;
    w.nsWrite(w.nsPage(0), encodeRealmParams({ s2sz: 39, rttBase: base, rttLevelStart: 1, rttNumStart: 1, vmid: 1 }));
    if (w.rmi("realmCreate", rd, w.nsPage(0)).status !== "RMI_SUCCESS") return;
    w.p.rmm.granules.addRef(Number(base / G), 1);
    expect(checkRmmInvariants(w.p.rmm).join("\n")).toMatch(/RTT 0x[0-9a-f]+ .*refcount 1, but 0 TABLE\/ASSIGNED entries/);
    w.p.rmm.granules.addRef(Number(base / G), -1);
    const root = w.p.rmm.rtts.get(Number(base / G))!;
    root.kind[0] = S2tte.ASSIGNED_RAM; // a level-1 block pointing at non-DATA granules
    expect(checkRmmInvariants(w.p.rmm).join("\n")).toMatch(/maps 0x0, which is UNDELEGATED \(expected DATA\)/);
  });

  it("the digest sees memory, GPT, granule, realm and REC changes, and nothing else", () => {
    const p = Platform.create({ rmm: "1.0" });
    const d0 = rmmDigest(p);
    p.rmi.version(0x10000n); // a successful call that changes nothing
    expect(rmmDigest(p)).toBe(d0);
    p.ns.write(DRAM + 100n, new Uint8Array([0]));
    expect(rmmDigest(p)).toBe(d0); // writing zeroes leaves memory contents as they were
    p.ns.write(DRAM + 100n, new Uint8Array([5]));
    const d1 = rmmDigest(p);
    expect(d1).not.toBe(d0);
    p.ns.write(DRAM + 100n, new Uint8Array([0]));
    expect(rmmDigest(p)).toBe(d0);
    p.machine.gpt.set(Number(DRAM / G) + 3, 1);
    expect(rmmDigest(p)).not.toBe(d0);
    p.machine.gpt.set(Number(DRAM / G) + 3, 0);
    expect(rmmDigest(p)).toBe(d0);
    p.rmm.granules.addRef(Number(DRAM / G) + 9, 0);
    p.rmm.granules.setState(Number(DRAM / G) + 9, GranuleState.DELEGATED);
    expect(diffStateLines(rmmStateLines(Platform.create()), rmmStateLines(p))).toEqual(["+ granule 80009000 state 1 ref 0"]);
    // Deterministic: the same history gives the same digest on another platform.
    const q = Platform.create({ rmm: "1.0" });
    q.ns.write(DRAM + 100n, new Uint8Array([0]));
    q.rmm.granules.setState(Number(DRAM / G) + 9, GranuleState.DELEGATED);
    expect(rmmDigest(q)).toBe(rmmDigest(p));
  });
});

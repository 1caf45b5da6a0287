/**
 * Platform: the machine (memory map, memory, GPT) with an RMM in front of it, as the Non-secure
 * host sees it. `Platform.create({rmm: "1.0" | "2.0"})` (design.md "Platform and raw RMI").
 */
import { GRANULE_SIZE } from "../arch/geometry.js";
import { checkKnownKeys, requireAddress, requireReg, shown } from "../platform/args.js";
import { Pas, PAS_NAMES } from "../platform/gpt.js";
import { Machine, type MachineOptions, type NsAccess } from "../platform/machine.js";
import type { MemoryRegion } from "../platform/memory-map.js";
import type { RmiAbi } from "../rmm/dispatch.js";
import type { RmmFeatures } from "../rmm/features.js";
import { GRANULE_STATE_NAMES, GranuleState } from "../rmm/granule.js";
import { REALM_STATE_NAMES } from "../rmm/realm.js";
import { rttTree, rttWalkPath, type RttTree, type RttTreeOptions, type RttWalkStep } from "../rmm/inspect.js";
import { Rmm, type RmiInterceptor } from "../rmm/rmm.js";
import { makeRmiApi, type RmiApi } from "./rmi-api.js";
import type { RmmProgressOptions } from "../rmm/commands/v2/state.js";

export interface PlatformOptions {
  /** RMI ABI: "1.0" (default) or "2.0" (beta, as v13/v14 use it). */
  rmm?: RmiAbi;
  memoryMap?: readonly MemoryRegion[];
  /** PA width, 48 by default. */
  paBits?: number;
  features?: Partial<RmmFeatures>;
  /** RMM 2.0: keep the v1.0 unprotected-map calls and REC_AUX_COUNT ("temporary v1.0 SMCs", v13). */
  v1Compat?: boolean;
  /** Record every RMI call in `rmmTrace` (default true). */
  trace?: boolean;
  /** RMM 2.0: when range commands stop early (partial progress); defaults follow TF-RMM main (docs/rmm-2.0.md). */
  progress?: RmmProgressOptions;
  /** RMM 2.0: start ACTIVE, as if RMM_CONFIG_SET + RMM_ACTIVATE had run (default false: state INIT). */
  startActive?: boolean;
}

export interface GranuleInfo {
  pa: bigint;
  /** Spec name: UNDELEGATED, DELEGATED, RD, REC, REC_AUX, DATA, RTT (v2.0: PARTIAL, INTERNAL). */
  state: string;
  /** PAS in the GPT: NS, REALM, SECURE, ROOT. */
  pas: string;
  refcount: number;
  /** Whether the RMM tracks this granule (conventional DRAM). */
  tracked: boolean;
  /** Memory region kind, or "none". */
  region: string;
  /** The owning realm's RD, for RD/REC/REC_AUX/RTT/DATA granules where known. */
  owner?: bigint;
  /** RTT level, for RTT granules; realm state, for RDs; REC index, for RECs. */
  level?: number;
  realmState?: string;
  recIndex?: number;
}

const TWO_64 = 1n << 64n;

/** Register `i` of `smc`: a bigint wrapped to 64 bits, or a safe integer as a signed register value. */
function smcReg(i: number, v: unknown): bigint {
  if (typeof v === "bigint") return v >= 0n && v < TWO_64 ? v : BigInt.asUintN(64, v);
  return requireReg(`x${i}`, v);
}

const PLATFORM_OPTIONS = ["rmm", "memoryMap", "paBits", "features", "v1Compat", "trace", "progress", "startActive"];

/**
 * The bounds of each RMM feature (RmiFeatureRegister0, RMM spec v1.0 B4.4: the field widths, and
 * NUM_BPS/NUM_WPS/GICV3_NUM_LRS hold count - 1). A value outside them is refused rather than cut to
 * the field's width (s2sz -5 used to read back as 251).
 */
const FEATURE_BOUNDS: Record<keyof RmmFeatures, readonly [number, number] | "boolean"> = {
  s2sz: [16, 52],
  lpa2: "boolean",
  sve: "boolean",
  sveVl: [0, 15],
  numBps: [1, 64],
  numWps: [1, 64],
  pmu: "boolean",
  pmuNumCtrs: [0, 31],
  hpmn0: "boolean",
  sha256: "boolean",
  sha512: "boolean",
  gicv3NumLrs: [1, 16],
  maxRecsOrder: [0, 15],
  vmidCount: [1, 1 << 16],
  paBits: [32, 52],
};

function checkFeatures(f: unknown): void {
  if (f === null || typeof f !== "object") throw new TypeError("Platform.create: features must be an object");
  const o = f as Record<string, unknown>;
  checkKnownKeys("Platform.create: features", o, Object.keys(FEATURE_BOUNDS));
  for (const [k, v] of Object.entries(o)) {
    if (v === undefined) continue;
    const b = FEATURE_BOUNDS[k as keyof RmmFeatures];
    if (b === "boolean") {
      if (typeof v !== "boolean") throw new TypeError(`Platform.create: features.${k} must be true or false, got ${shown(v)}`);
    } else if (typeof v !== "number" || !Number.isInteger(v) || v < b[0] || v > b[1]) {
      throw new RangeError(`Platform.create: features.${k} must be an integer in [${b[0]}, ${b[1]}], got ${shown(v)}`);
    }
  }
  // without LPA2 the stage-2 input size stops at 48 bits (RMM spec A3.4)
  if (typeof o["s2sz"] === "number" && o["s2sz"] > 48 && o["lpa2"] !== true) throw new RangeError(`Platform.create: features.s2sz ${o["s2sz"]} needs lpa2: true (at most 48 without LPA2)`);
}

/**
 * A simulated machine: memory and the GPT (granule protection), the RMM (RMI 1.0 or the 2.0 beta)
 * and the SMC interface the host calls. `Platform.create({ rmm })`; `p.rmi.*` typed RMI calls,
 * `p.smc(fid, ...)` raw SMCs, `p.granule(pa)` a granule's state.
 */
export class Platform {
  readonly machine: Machine;
  readonly rmm: Rmm;
  readonly rmi: RmiApi;

  private constructor(opts: PlatformOptions) {
    const m: MachineOptions = {};
    if (opts.memoryMap !== undefined) m.memoryMap = opts.memoryMap;
    if (opts.paBits !== undefined) m.paBits = opts.paBits;
    this.machine = new Machine(m);
    const ro: ConstructorParameters<typeof Rmm>[1] = { abi: opts.rmm ?? "1.0" };
    if (opts.features !== undefined) ro.features = opts.features;
    if (opts.v1Compat !== undefined) ro.v1Compat = opts.v1Compat;
    if (opts.trace !== undefined) ro.trace = opts.trace;
    if (opts.progress !== undefined) ro.progress = opts.progress;
    if (opts.startActive !== undefined) ro.startActive = opts.startActive;
    this.rmm = new Rmm(this.machine, ro);
    this.rmi = makeRmiApi(this.rmm);
  }

  static create(opts: PlatformOptions = {}): Platform {
    if (opts === null || typeof opts !== "object") throw new TypeError("Platform.create: options must be an object");
    checkKnownKeys("Platform.create", opts, PLATFORM_OPTIONS);
    if (opts.rmm !== undefined && opts.rmm !== "1.0" && opts.rmm !== "2.0") {
      throw new RangeError(`Platform.create: rmm must be "1.0" or "2.0", got ${shown(opts.rmm)}`);
    }
    for (const k of ["v1Compat", "trace", "startActive"] as const) {
      if (opts[k] !== undefined && typeof opts[k] !== "boolean") throw new TypeError(`Platform.create: ${k} must be true or false, got ${shown(opts[k])}`);
    }
    if (opts.features !== undefined) checkFeatures(opts.features);
    return new Platform(opts);
  }

  get abi(): RmiAbi {
    return this.rmm.abi;
  }

  get memoryMap(): MemoryRegion[] {
    return this.machine.memoryMap;
  }

  get paBits(): number {
    return this.machine.paBits;
  }

  get ns(): NsAccess {
    return this.machine.ns;
  }

  /**
   * SMCCC call: returns [x0, x1, x2, x3, x4]. Bad register values give the RMM's status, never a
   * throw; a register that is not a bigint or a safe integer is misuse (a TypeError naming it).
   */
  smc(fid: bigint, ...args: bigint[]): bigint[];
  smc(fid: unknown, a1?: unknown, a2?: unknown, a3?: unknown, a4?: unknown, a5?: unknown, a6?: unknown): bigint[] {
    // Fixed parameters instead of a rest array, and no new bigint for a value that is already a
    // 64-bit register value: the raw ABI costs what the typed wrappers cost (issue 14).
    const n = arguments.length;
    if (n > 7) {
      // more registers than X1..X6: each is still checked, as given, before the call
      const rest = Array.prototype.slice.call(arguments, 1) as unknown[];
      const f = requireReg("fid", fid);
      return this.rmm.smc(f, rest.map((a, i) => smcReg(i + 1, a)));
    }
    const f = typeof fid === "bigint" && fid >= 0n && fid < TWO_64 ? fid : requireReg("fid", fid);
    return this.rmm.smcRegs(
      f,
      n > 1 ? smcReg(1, a1) : 0n,
      n > 2 ? smcReg(2, a2) : 0n,
      n > 3 ? smcReg(3, a3) : 0n,
      n > 4 ? smcReg(4, a4) : 0n,
      n > 5 ? smcReg(5, a5) : 0n,
      n > 6 ? smcReg(6, a6) : 0n,
    );
  }

  /** Function ID of an RMI command by spec name ("RMI_RTT_CREATE") or wrapper name ("rttCreate"). */
  fid(name: string): bigint {
    return this.rmm.fid(name);
  }

  /** The RMM's own call log, formatted as TF-RMM prints it. */
  get rmmTrace(): string[] {
    return this.rmm.trace.lines();
  }

  /** Fault injection at the RMI boundary (see src/faults for the rule language). */
  set interceptor(f: RmiInterceptor | undefined) {
    this.rmm.interceptor = f;
  }

  /** Inspect one granule without side effects. */
  granule(pa: bigint): GranuleInfo {
    const a = requireAddress("pa", pa);
    if (a % GRANULE_SIZE !== 0) throw new RangeError(`granule: pa 0x${pa.toString(16)} is not 4 KiB aligned`);
    const g = a / GRANULE_SIZE;
    const region = this.machine.map.regionOf(a);
    const tracked = a < this.machine.map.paLimit && this.machine.map.isDram(a);
    const state = tracked ? this.rmm.granules.state(g) : GranuleState.NS;
    const info: GranuleInfo = {
      pa,
      state: GRANULE_STATE_NAMES[state]!,
      pas: region === undefined ? "NS" : PAS_NAMES[this.machine.gpt.get(g) as Pas]!,
      refcount: tracked ? this.rmm.granules.refcount(g) : 0,
      tracked,
      region: region?.kind ?? "none",
    };
    const realm = this.rmm.realms.get(g);
    if (realm !== undefined) info.realmState = REALM_STATE_NAMES[realm.state];
    const rec = this.rmm.recs.get(g);
    if (rec !== undefined) {
      info.owner = BigInt(rec.rd * GRANULE_SIZE);
      info.recIndex = rec.index;
    }
    const rtt = this.rmm.rtts.get(g);
    if (rtt !== undefined) info.level = rtt.level;
    const owner = tracked ? this.rmm.ownerOf(g) : undefined;
    if (owner !== undefined) info.owner = BigInt(owner * GRANULE_SIZE);
    return info;
  }

  /**
   * The Realm Initial Measurement of the realm whose RD is at `rd` (hash-length bytes, a copy), or
   * undefined when `rd` is not an RD. Inspection only.
   */
  rim(rd: bigint): Uint8Array | undefined {
    const a = requireAddress("rd", rd);
    const realm = a % GRANULE_SIZE === 0 ? this.rmm.realms.get(a / GRANULE_SIZE) : undefined;
    if (realm === undefined) return undefined;
    const n = realm.hashAlgo === 0 ? 32 : realm.hashAlgo === 1 ? 64 : 48;
    return realm.rim.slice(0, n);
  }

  /**
   * The RTTs of the realm whose RD is at `rd`, as the RMM holds them (src/rmm/inspect.ts
   * rttTree), or undefined when `rd` is not an RD. Inspection only.
   */
  rttTree(rd: bigint, opts: RttTreeOptions = {}): RttTree | undefined {
    return this.isRd(rd) ? rttTree(this.rmm, rd, opts) : undefined;
  }

  /**
   * The entries a walk for `ipa` visits in the realm whose RD is at `rd`, root first (src/rmm/
   * inspect.ts rttWalkPath; the last is what RTT_READ_ENTRY(ipa, 3) reports), or undefined when
   * `rd` is not an RD. Inspection only.
   */
  rttWalk(rd: bigint, ipa: bigint): RttWalkStep[] | undefined {
    return this.isRd(rd) ? rttWalkPath(this.rmm, rd, ipa) : undefined;
  }

  private isRd(rd: bigint): boolean {
    const a = requireAddress("rd", rd);
    return a % GRANULE_SIZE === 0 && this.rmm.realms.has(a / GRANULE_SIZE);
  }

  /** Granules by state (accounting). */
  granuleCounts(): Record<string, number> {
    return this.rmm.granuleCounts();
  }
}


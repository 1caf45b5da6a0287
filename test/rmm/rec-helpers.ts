/**
 * Helpers for the REC / REC_ENTER / PSCI tests: RecParams and RecRun pages in NS memory written
 * byte by byte from the spec layout (not through the simulator's encoders), REC creation as a host
 * does it, and a failure check that compares the complete simulated state before and after.
 */
import { expect } from "vitest";
import type { Platform } from "../../src/index.js";
import { rmmDigest } from "../../src/rmm/snapshot.js";
import { G, makeRealm, type RealmOptions, type TestRealm } from "./helpers.js";

/** RmiRecParams offsets (RMM spec / TF-RMM smc-rmi.h struct rmi_rec_params). */
const P_FLAGS = 0x000;
const P_MPIDR = 0x100;
const P_PC = 0x200;
const P_GPRS = 0x300;
const P_NUM_AUX = 0x800;
const P_AUX = 0x808;

export interface RecParamsSpec {
  flags?: bigint;
  mpidr?: bigint;
  pc?: bigint;
  gprs?: bigint[];
  numAux?: bigint;
  aux?: bigint[];
}

export function recParamsBytes(s: RecParamsSpec): Uint8Array {
  const b = new Uint8Array(4096);
  const v = new DataView(b.buffer);
  v.setBigUint64(P_FLAGS, s.flags ?? 0n, true);
  v.setBigUint64(P_MPIDR, s.mpidr ?? 0n, true);
  v.setBigUint64(P_PC, s.pc ?? 0n, true);
  (s.gprs ?? []).forEach((x, i) => v.setBigUint64(P_GPRS + 8 * i, x, true));
  const aux = s.aux ?? [];
  v.setBigUint64(P_NUM_AUX, s.numAux ?? BigInt(aux.length), true);
  aux.forEach((x, i) => v.setBigUint64(P_AUX + 8 * i, x, true));
  return b;
}

/** RmiRecMpidr for REC index i (Aff0 = i[3:0], Aff1 = i[11:4] at bits [15:8]). */
export function mpidrOf(i: number): bigint {
  return BigInt(i % 16) | (BigInt(Math.floor(i / 16) % 256) << 8n) | (BigInt(Math.floor(i / 4096) % 256) << 16n);
}

export interface CreatedRec {
  rec: bigint;
  aux: bigint[];
  params: bigint;
}

/** Delegate a REC granule and 16 aux granules, write RecParams, REC_CREATE (must succeed). */
export function createRec(t: TestRealm, spec: RecParamsSpec = {}): CreatedRec {
  const rec = t.delegated();
  const aux = spec.aux ?? Array.from({ length: 16 }, () => t.delegated());
  const params = t.alloc.ns();
  t.p.ns.write(params, recParamsBytes({ flags: 1n, mpidr: mpidrOf(t.realm.recCount), ...spec, aux }));
  const r = t.p.rmi.recCreate(t.rd, rec, params);
  if (r.status !== "RMI_SUCCESS") throw new Error(`recCreate: ${r.status} ${r.index}`);
  return { rec, aux, params };
}

/** A realm with `recs` RECs (REC 0 runnable, the others not unless `allRunnable`), activated if asked. */
export function realmWithRecs(n: number, o: { activate?: boolean; allRunnable?: boolean; realm?: RealmOptions } = {}): { t: TestRealm; recs: CreatedRec[] } {
  const t = makeRealm(o.realm);
  const recs: CreatedRec[] = [];
  for (let i = 0; i < n; i++) recs.push(createRec(t, { flags: i === 0 || o.allRunnable ? 1n : 0n, pc: 0x1000n * BigInt(i + 1) }));
  if (o.activate ?? true) {
    const r = t.p.rmi.realmActivate(t.rd);
    if (r.status !== "RMI_SUCCESS") throw new Error(`realmActivate: ${r.status}`);
  }
  return { t, recs };
}

// ---- RmiRecRun (RMM spec / TF-RMM smc-rmi.h struct rmi_rec_run) ----
export const ENTER_FLAGS = 0x000;
export const ENTER_GPRS = 0x200;
export const ENTER_GICV3_HCR = 0x300;
export const ENTER_GICV3_LRS = 0x308;
export const EXIT = 0x800;

export const EMUL_MMIO = 1n << 0n;
export const INJECT_SEA = 1n << 1n;
export const TRAP_WFI = 1n << 2n;
export const TRAP_WFE = 1n << 3n;
export const RIPAS_RESPONSE_REJECT = 1n << 4n;

export interface EnterSpec {
  flags?: bigint;
  gprs?: bigint[];
  gicv3Hcr?: bigint;
  lrs?: bigint[];
}

/** Write run.enter (the whole 2 KiB entry half) into the NS run page. */
export function writeEnter(p: Platform, run: bigint, s: EnterSpec = {}): void {
  const b = new Uint8Array(0x800);
  const v = new DataView(b.buffer);
  v.setBigUint64(ENTER_FLAGS, s.flags ?? 0n, true);
  (s.gprs ?? []).forEach((x, i) => v.setBigUint64(ENTER_GPRS + 8 * i, x, true));
  v.setBigUint64(ENTER_GICV3_HCR, s.gicv3Hcr ?? 0n, true);
  (s.lrs ?? []).forEach((x, i) => v.setBigUint64(ENTER_GICV3_LRS + 8 * i, x, true));
  p.ns.write(run, b);
}

export interface ExitView {
  exitReason: bigint;
  esr: bigint;
  far: bigint;
  hpfar: bigint;
  gprs: bigint[];
  gicv3Hcr: bigint;
  lrs: bigint[];
  ripasBase: bigint;
  ripasTop: bigint;
  ripasValue: number;
  imm: bigint;
}

/** Read run.exit back from NS memory. */
export function readExit(p: Platform, run: bigint): ExitView {
  const b = p.ns.read(run + BigInt(EXIT), 0x800);
  const v = new DataView(b.buffer, b.byteOffset, b.byteLength);
  const u = (o: number) => v.getBigUint64(o, true);
  return {
    exitReason: u(0x000),
    esr: u(0x100),
    far: u(0x108),
    hpfar: u(0x110),
    gprs: Array.from({ length: 31 }, (_, i) => u(0x200 + 8 * i)),
    gicv3Hcr: u(0x300),
    lrs: Array.from({ length: 16 }, (_, i) => u(0x308 + 8 * i)),
    ripasBase: u(0x500),
    ripasTop: u(0x508),
    ripasValue: b[0x510]!,
    imm: u(0x600),
  };
}

export const RMI_EXIT_SYNC = 0n;
export const RMI_EXIT_IRQ = 1n;
export const RMI_EXIT_PSCI = 3n;
export const RMI_EXIT_RIPAS_CHANGE = 4n;
export const RMI_EXIT_HOST_CALL = 5n;

/** Run `fn` (an RMI call) and check status/index and that the simulated state did not change at all. */
export function expectFail(p: Platform, name: string, status: string, index: number, fn: () => { status: string; index: number }): void {
  const before = rmmDigest(p);
  const r = fn();
  expect({ case: name, status: r.status, index: r.index }).toEqual({ case: name, status, index });
  expect(rmmDigest(p) === before, `${name}: a failing command changed the state`).toBe(true);
}

export { G };

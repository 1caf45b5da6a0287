/**
 * The RMM state the command handlers work on: granules, realms, RTTs, RECs, the output registers
 * of the current call, the realm guest and the per-ABI extensions. `Rmm` (rmm.ts) implements it
 * and imports the command table; the commands and their helpers (checks, walk, rtt-ops, rec-ops,
 * sro, realm-exec) depend on this interface only, so the dependencies point one way:
 * rmm.ts -> commands -> helpers -> state.ts. TF-RMM's counterpart is the global state the
 * smc_* handlers reach (granules[], the RD/REC/RTT granule contents, the per-CPU SMC result).
 */
import type { Machine } from "../platform/machine.js";
import type { RmmFeatures } from "./features.js";
import type { GranuleTable } from "./granule.js";
import type { Realm } from "./realm.js";
import type { RealmGuest } from "./realm-exec.js";
import type { Rec } from "./rec.js";
import type { Rtt } from "./s2tt.js";
import type { RmiTrace } from "./trace.js";

/** The RMI ABI an RMM instance implements: v1.0, or the v2.0 beta (v13/v14). */
export type RmiAbi = "1.0" | "2.0";

export interface RmmState {
  readonly machine: Machine;
  readonly abi: RmiAbi;
  readonly features: RmmFeatures;
  readonly granules: GranuleTable;
  /** RD granule index -> realm. */
  readonly realms: Map<number, Realm>;
  /** RTT granule index -> table. */
  readonly rtts: Map<number, Rtt>;
  /** REC granule index -> REC. */
  readonly recs: Map<number, Rec>;
  /** VMIDs in use (v1.0: given by the host in RealmParams). */
  readonly vmids: Set<number>;
  readonly trace: RmiTrace;
  /** Output registers x1..x4 of the current call (a handler sets them; x0 is its return value). */
  out1: bigint;
  out2: bigint;
  out3: bigint;
  out4: bigint;
  /** The realm guest model REC_ENTER runs (realm-exec.ts); undefined: every REC_ENTER exits with RMI_EXIT_IRQ. */
  guest: RealmGuest | undefined;
  /** v2.0: RMM_ACTIVATE done (v1.0 is always active). */
  active: boolean;
  /** Per-ABI state that command families keep (e.g. the v2.0 RMM global state, SROs). */
  readonly ext: Record<string, unknown>;
  /** v2.0 with the v1.0 compatibility rows (v13's bet0 RMM). */
  readonly v1Compat: boolean;
}

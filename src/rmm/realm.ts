/**
 * The realm object the RMM keeps behind an RD granule. Source: RMM spec A2.1 (realm attributes),
 * TF-RMM runtime/include/realm.h (struct rd).
 */
import { pow2 } from "../arch/geometry.js";

export enum RealmState {
  NEW = 0,
  ACTIVE = 1,
  SYSTEM_OFF = 2,
  /** v2.0: after REALM_TERMINATE. */
  ZOMBIE = 3,
}

export const REALM_STATE_NAMES = ["NEW", "ACTIVE", "SYSTEM_OFF", "ZOMBIE"] as const;

export class Realm {
  state = RealmState.NEW;
  /** Next REC index to allocate (never decremented; indices are not reused). */
  recCount = 0;
  rim: Uint8Array;
  /** Number of RECs currently inside REC_ENTER (v2.0 REALM_TERMINATE needs 0). */
  runningRecs = 0;

  constructor(
    /** Granule index of the RD. */
    readonly rd: number,
    readonly s2sz: number,
    /** rtt_level_start */
    readonly sl: number,
    /** rtt_num_start */
    readonly numRoot: number,
    /** Granule index of the first root RTT. */
    readonly rttBase: number,
    readonly lpa2: boolean,
    readonly vmid: number,
    readonly hashAlgo: number,
    readonly numRecAux: number,
    readonly flags: bigint,
    readonly rpv: Uint8Array,
    rim: Uint8Array,
  ) {
    this.rim = rim;
  }

  /** Size of the IPA space: 2^s2sz. */
  get ipaSize(): number {
    return pow2(this.s2sz);
  }

  /** Size of the protected address range (PAR): the lower half. TF-RMM realm_par_size. */
  get parSize(): number {
    return pow2(this.s2sz - 1);
  }

  addrInPar(ipa: number): boolean {
    return ipa < this.parSize;
  }

  /** Granule index of root RTT i. */
  rootRtt(i: number): number {
    return this.rttBase + i;
  }
}

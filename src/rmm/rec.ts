/**
 * The REC (Realm Execution Context) object behind a REC granule.
 * Source: RMM spec A2.3; TF-RMM runtime/include/rec.h (struct rec).
 */

export interface RipasChangeRequest {
  base: number;
  top: number;
  /** Progress: the next address the host's RTT_SET_RIPAS must start from. */
  addr: number;
  ripas: number;
  changeDestroyed: boolean;
}

export interface PsciPending {
  fid: bigint;
  /** x1..x3 of the request (target MPIDR, entry point, context id / lowest affinity level). */
  args: bigint[];
}

export class Rec {
  runnable: boolean;
  pc: bigint;
  readonly gprs: bigint[] = new Array<bigint>(31).fill(0n);
  /** Pending RIPAS change, set by RSI_IPA_STATE_SET, cleared on completion at the next entry. */
  ripas: RipasChangeRequest | undefined;
  /** Pending PSCI request that needs RMI_PSCI_COMPLETE. */
  psci: PsciPending | undefined;
  /** What the last REC exit was (drives the entry checks for INJECT_SEA / EMUL_MMIO). */
  lastExit: { reason: number; esr: bigint; far: bigint; hpfar: bigint; ipa: number; unprotected: boolean; emulatable: boolean } | undefined;
  /** Free-form state the realm guest model keeps for this vCPU. */
  guestState: unknown;

  constructor(
    /** Granule index of the REC. */
    readonly g: number,
    /** Granule index of the owning RD. */
    readonly rd: number,
    readonly index: number,
    readonly mpidr: bigint,
    readonly aux: readonly number[],
    runnable: boolean,
    pc: bigint,
    gprs: readonly bigint[],
  ) {
    this.runnable = runnable;
    this.pc = pc;
    gprs.forEach((v, i) => (this.gprs[i] = v));
  }
}

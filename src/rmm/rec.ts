/**
 * The REC (Realm Execution Context) object behind a REC granule.
 * Source: RMM spec A2.3; TF-RMM rmm-spec-v1.0-rel0 runtime/include/rec.h (struct rec).
 */

/** A pending RIPAS change (RSI_IPA_STATE_SET), TF-RMM rec->set_ripas. RTT_SET_RIPAS advances `addr`. */
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

/**
 * TF-RMM rec->last_run_info: the unsanitised ESR/HPFAR/FAR of the last synchronous exit to the
 * host (0 after any other exit). REC_ENTER checks INJECT_SEA / EMUL_MMIO against it and takes
 * the MMIO target register (SRT) and access size from it.
 */
export interface LastRunInfo {
  esr: bigint;
  hpfar: bigint;
  far: bigint;
}

/** What the vCPU was doing when it last left the realm (drives what the guest model sees on entry). */
export type RecResumeKind = "reset" | "irq" | "abort" | "psci" | "ripas-change" | "host-call" | "wfx";

/** GICv3 virtual CPU interface state the host passes in and out through RecRun (TF-RMM gic_cpu_state). */
export interface RecGicState {
  hcr: bigint;
  lrs: bigint[];
}

/** ICH_HCR_EL2 at REC creation: En | vSGIEOICount | DVIM (TF-RMM gic.c gic_cpu_state_init). */
export const ICH_HCR_EL2_INIT = (1n << 0n) | (1n << 8n) | (1n << 15n);

export class Rec {
  runnable: boolean;
  pc: bigint;
  readonly gprs: bigint[] = new Array<bigint>(31).fill(0n);
  /** Pending RIPAS change, set by RSI_IPA_STATE_SET, cleared on completion at the next entry. */
  ripas: RipasChangeRequest | undefined;
  /** Pending PSCI request that needs RMI_PSCI_COMPLETE (TF-RMM psci_info.pending). */
  psci: PsciPending | undefined;
  /** TF-RMM last_run_info (all zero after a non-sync exit and at each entry). */
  lastRun: LastRunInfo = { esr: 0n, hpfar: 0n, far: 0n };
  /** Why the vCPU last stopped running realm code. */
  resume: RecResumeKind = "reset";
  /** RSI_HOST_CALL pending completion (TF-RMM rec->host_call). */
  hostCall = false;
  /** Virtual GIC state (copied from run.enter at entry, to run.exit at exit). */
  readonly gic: RecGicState = { hcr: ICH_HCR_EL2_INIT, lrs: new Array<bigint>(16).fill(0n) };
  /** enter.flags TRAP_WFI / TRAP_WFE of the current entry (HCR_EL2.TWI/TWE). */
  trapWfi = false;
  trapWfe = false;
  /** Free-form state the realm guest model keeps for this vCPU. */
  guestState: unknown;

  constructor(
    /** Granule index of the REC. */
    readonly g: number,
    /** Granule index of the owning RD. */
    readonly rd: number,
    readonly index: number,
    /** RmiRecMpidr value given at REC_CREATE. */
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

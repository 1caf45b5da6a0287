/**
 * The realm guest model: each vCPU runs a queue of operations (memory accesses, RIPAS changes
 * through RSI_IPA_STATE_SET, PSCI calls), driven by the RMM's REC_ENTER through `rmm.guest`
 * (src/rmm/realm-exec.ts). An operation that makes the REC exit is retried or completed at the
 * next entry, as the realm would see it: an access re-executes after a stage-2 fault, a RIPAS
 * change continues from where the host got to, a PSCI call returns the host's answer.
 */
import { PSCI_0_2_FN64_AFFINITY_INFO, PSCI_0_2_FN64_CPU_ON, PSCI_0_2_FN_CPU_OFF, PSCI_0_2_FN_SYSTEM_OFF } from "../arch/psci.js";
import { recIndexToMpidr, recMpidrToMpidrEl1 } from "../rmm/abi/rec-params.js";
import { RSI_REJECT, type AccessKind, type RealmVcpu } from "../rmm/realm-exec.js";

export type GuestOp =
  | { kind: "access"; ipa: bigint; access: AccessKind; value?: bigint }
  | { kind: "ipa-state-set"; base: bigint; top: bigint; ripas: 0 | 1; flags?: bigint }
  | { kind: "psci"; fid: bigint; x1?: bigint; x2?: bigint; x3?: bigint }
  | { kind: "wfi" };

export type GuestOpResult =
  | "ok" | "sea" | "mmio" | "rejected" | "rsi-error" | { psci: bigint };

export interface GuestOpRecord {
  op: GuestOp;
  result: GuestOpResult | undefined;
  /** REC exits this operation caused. */
  exits: number;
}

/** One realm vCPU's program. */
export class GuestCpu {
  readonly queue: GuestOpRecord[] = [];
  /**
   * Operations completed so far (a progress count: the records themselves go back to whoever
   * queued them; keeping every one here made a long run hold O(ops) memory).
   */
  doneCount = 0;
  /** An op issued an exit and waits for the next entry to complete it. */
  private pending = false;
  /** The RIPAS change in progress (continues from rsiResult.x1). */
  private ripasNext: bigint | undefined;
  constructor(readonly index: number) {}

  push(op: GuestOp): GuestOpRecord {
    const r: GuestOpRecord = { op, result: undefined, exits: 0 };
    this.queue.push(r);
    return r;
  }

  get idle(): boolean {
    return this.queue.length === 0;
  }

  private finish(result: GuestOpResult): void {
    const r = this.queue.shift()!;
    r.result = result;
    this.pending = false;
    this.ripasNext = undefined;
    this.doneCount++;
  }

  /** Called by REC_ENTER (through the realm's guest hook). */
  run(v: RealmVcpu, budget = 64): void {
    // Complete what the previous exit left pending.
    if (this.pending && this.queue.length > 0) {
      const cur = this.queue[0]!;
      const op = cur.op;
      this.pending = false;
      if (op.kind === "access") {
        if (v.entry.seaInjected) this.finish("sea");
        else if (v.entry.mmioCompleted) this.finish("mmio");
        // else: a stage-2 fault was fixed (or not): the access re-executes below
      } else if (op.kind === "ipa-state-set") {
        const res = v.entry.rsiResult;
        if (res !== undefined) {
          if (res.x2 === RSI_REJECT) this.finish("rejected");
          else if (res.x1 >= op.top) this.finish("ok");
          else this.ripasNext = res.x1;
        }
      } else if (op.kind === "psci") {
        this.finish({ psci: v.entry.psciResult ?? 0n });
      } else {
        this.finish("ok");
      }
    }
    for (let n = 0; n < budget && this.queue.length > 0; n++) {
      const cur = this.queue[0]!;
      const op = cur.op;
      switch (op.kind) {
        case "access": {
          const r = v.access(op.ipa, op.access, op.value ?? 0n);
          if (r === "exit") return this.exited(cur);
          this.finish(r);
          break;
        }
        case "ipa-state-set": {
          const base = this.ripasNext ?? op.base;
          const r = v.ipaStateSet(base, op.top, op.ripas, op.flags ?? 0n);
          if (r === "exit") return this.exited(cur);
          this.finish("rsi-error");
          break;
        }
        case "psci": {
          const r = v.psci(op.fid, op.x1 ?? 0n, op.x2 ?? 0n, op.x3 ?? 0n);
          if (r === "exit") return this.exited(cur);
          this.finish({ psci: r });
          break;
        }
        case "wfi":
          v.wfi();
          return this.exited(cur);
      }
    }
  }

  private exited(cur: GuestOpRecord): void {
    cur.exits++;
    this.pending = true;
  }
}

/** All vCPUs of one realm; `hook` is what the host sets as (part of) `rmm.guest`. */
export class GuestVm {
  readonly cpus: GuestCpu[];
  constructor(nr: number) {
    this.cpus = Array.from({ length: nr }, (_, i) => new GuestCpu(i));
  }

  hook(v: RealmVcpu): void {
    this.cpus[v.index]?.run(v);
  }
}

/** Helpers to build PSCI operations. */
export const psciOps = {
  cpuOn(targetMpidr: bigint, entry: bigint): GuestOp {
    return { kind: "psci", fid: PSCI_0_2_FN64_CPU_ON, x1: targetMpidr, x2: entry, x3: 0n };
  },
  affinityInfo(targetMpidr: bigint): GuestOp {
    return { kind: "psci", fid: PSCI_0_2_FN64_AFFINITY_INFO, x1: targetMpidr, x2: 0n };
  },
  cpuOff(): GuestOp {
    return { kind: "psci", fid: PSCI_0_2_FN_CPU_OFF };
  },
  systemOff(): GuestOp {
    return { kind: "psci", fid: PSCI_0_2_FN_SYSTEM_OFF };
  },
};

/**
 * MPIDR_EL1 of REC index i as the realm reads it (bit 31 RES1, Aff0 = i % 16, Aff1 = i / 16 % 256,
 * ...): the RMM's RmiRecMpidr of that index as the realm sees it (src/rmm/abi/rec-params.ts).
 */
export function realmMpidr(i: number): bigint {
  return recMpidrToMpidrEl1(recIndexToMpidr(i));
}

/**
 * arch/arm64/kvm/rmi-exit.c (v12+; rme-exit.c in v8/v10): handle_rec_exit and its exit handlers
 * (SYNC data aborts through kvm_handle_guest_abort, PSCI with the in-kernel emulation and
 * PSCI_COMPLETE, RIPAS_CHANGE; no HOST_CALL case in any posting). Sources: v8 16/43 as quoted in
 * Gavin Shan's reply of 30 Apr 2025, v9 16/43 (stand-in for v10 16), v12 16/46, v13 20/48,
 * v14 22/44; per function: docs/provenance.md.
 */
import { REC_ENTER_FLAG_RIPAS_RESPONSE, REC_RUN, RmiExitReason } from "../rmm/abi/rec-params.js";
import { type Gen } from "../sched/coop.js";
import { EAGAIN, EFAULT, EINVAL, ENXIO } from "./errno.js";
import { Kvm, type Vcpu } from "./kvm.js";
import { kvm_handle_guest_abort, type AbortInfo } from "./mmu.js";
import { RMI_ERROR_REALM, RMI_ERROR_REC, RMI_RAM, RMI_RETURN_INDEX, RMI_RETURN_STATUS, RMI_SUCCESS } from "./rmi_cmds.js";
import {
  PSCI_0_2_FN64_AFFINITY_INFO, PSCI_0_2_FN64_CPU_ON, PSCI_0_2_FN_CPU_OFF, PSCI_0_2_FN_SYSTEM_OFF, PSCI_0_2_FN_SYSTEM_RESET,
  PSCI_RET_ALREADY_ON, PSCI_RET_DENIED, PSCI_RET_SUCCESS,
} from "../arch/psci.js";
import { ESR_ELx_EC_DABT_LOW, ESR_ELx_EC_IABT_LOW, ESR_ELx_EC_SYS64 } from "../arch/esr.js";
import { sharedBit } from "./rmi/unmap.js";
import { runField, runFieldNumber, setRunField } from "./rmi/rec.js";

/** The exception classes handle_rec_exit dispatches on (src/arch/esr.ts), as numbers. */
const ESR_EC_SYS64 = Number(ESR_ELx_EC_SYS64);
const ESR_EC_IABT_LOW = Number(ESR_ELx_EC_IABT_LOW);
const ESR_EC_DABT_LOW = Number(ESR_ELx_EC_DABT_LOW);

/**
 * rec_exit_ripas_change: a range reaching the shared half is refused with -EINVAL (S21), with
 * REC_ENTER_FLAG_RIPAS_RESPONSE for the next entry from v9 16/43 on ("Set RMI_REJECT bit"; not in
 * v8 16/43: ripasChangeRejectFlag); else KVM_EXIT_MEMORY_FAULT and -EFAULT.
 */
function rec_exit_ripas_change(vcpu: Vcpu): number {
  const kvm = vcpu.kvm;
  const base = Number(runField(vcpu, REC_RUN.exit.ripas_base));
  const top = Number(runField(vcpu, REC_RUN.exit.ripas_top));
  const ripas = kvm.env.ns.read(BigInt(vcpu.rec.run + REC_RUN.exit.ripas_value), 1)[0]!;
  const bit = sharedBit(kvm);
  if (base >= bit || top - 1 >= bit) {
    const reject = kvm.profile.ripasChangeRejectFlag;
    if (reject) {
      setRunField(vcpu, REC_RUN.enter.flags, REC_ENTER_FLAG_RIPAS_RESPONSE);
      vcpu.ripasReject = true;
    }
    kvm.event(`rec_exit_ripas_change: 0x${base.toString(16)}..0x${top.toString(16)} reaches the shared half: ${reject ? "reject, " : ""}-EINVAL`);
    return -EINVAL;
  }
  vcpu.lastExit = { kind: "memory-fault", fault: { gpa: base, size: top - base, private: ripas === RMI_RAM, write: false } };
  kvm.event(`RIPAS_CHANGE 0x${base.toString(16)}..0x${top.toString(16)} -> ${ripas === RMI_RAM ? "RAM" : "EMPTY"}: KVM_EXIT_MEMORY_FAULT`);
  return -EFAULT;
}

function vcpuByMpidr(kvm: Kvm, mpidr: bigint): Vcpu | undefined {
  return kvm.vcpus.find((v) => v.mpidr === (mpidr & 0xff_00ff_ffffn));
}

/** rec_exit_psci: KVM's in-kernel PSCI emulation, then PSCI_COMPLETE where the RMM needs it. */
function rec_exit_psci(vcpu: Vcpu): number {
  const kvm = vcpu.kvm;
  const fid = runField(vcpu, REC_RUN.exit.gprs);
  const x1 = runField(vcpu, REC_RUN.exit.gprs + 8);
  switch (fid) {
    case PSCI_0_2_FN64_CPU_ON: {
      const target = vcpuByMpidr(kvm, x1);
      if (target === undefined) return 1;
      let status = PSCI_RET_SUCCESS;
      if (!target.powerOff) status = PSCI_RET_ALREADY_ON;
      else target.powerOff = false;
      kvm.event(`PSCI CPU_ON vcpu${target.id} from vcpu${vcpu.id}: ${status === 0 ? "SUCCESS" : "ALREADY_ON"}`);
      const st = status === PSCI_RET_SUCCESS || status === PSCI_RET_ALREADY_ON ? PSCI_RET_SUCCESS : PSCI_RET_DENIED;
      if (kvm.profile.psciCompletion === "pre-enter") {
        vcpu.psciPending = { target, status: st };
        return 1;
      }
      const r = kvm.env.rmi.psci_complete(vcpu.rec.recPage, target.rec.recPage, st);
      return r === RMI_SUCCESS ? 1 : -EINVAL;
    }
    case PSCI_0_2_FN64_AFFINITY_INFO: {
      const target = vcpuByMpidr(kvm, x1);
      if (target === undefined) return 1;
      if (kvm.profile.psciCompletion === "pre-enter") {
        // v14: "XXX hack": RMM v2.0 is taken not to exit for AFFINITY_INFO; answered SUCCESS.
        vcpu.psciPending = { target, status: PSCI_RET_SUCCESS };
        return 1;
      }
      const r = kvm.env.rmi.psci_complete(vcpu.rec.recPage, target.rec.recPage, PSCI_RET_SUCCESS);
      return r === RMI_SUCCESS ? 1 : -EINVAL;
    }
    case PSCI_0_2_FN_CPU_OFF:
      vcpu.powerOff = true;
      return 1;
    case PSCI_0_2_FN_SYSTEM_OFF:
      vcpu.lastExit = { kind: "system-event", type: "shutdown" };
      return 0;
    case PSCI_0_2_FN_SYSTEM_RESET:
      vcpu.lastExit = { kind: "system-event", type: "reset" };
      return 0;
    default:
      return 1;
  }
}

/**
 * handle_rec_exit(vcpu, rec_run_ret): 1 resume, 0 exit to userspace, < 0 error (v12 16/46, v13 20/48,
 * v14 22/44 rmi-exit.c; v8 16/43 rme-exit.c as quoted in Gavin Shan's reply of 30 Apr 2025; v9 16/43
 * rme-exit.c stands in for v10).
 */
export function* handle_rec_exit(vcpu: Vcpu, ret: number): Gen<number> {
  const kvm = vcpu.kvm;
  if (ret !== RMI_SUCCESS) {
    const st = RMI_RETURN_STATUS(ret);
    const idx = RMI_RETURN_INDEX(ret);
    const prof = kvm.profile.recEnterRealmError;
    if (st === RMI_ERROR_REALM && (prof === "shutdown-any" || idx === 1)) {
      // "If a PSCI_SYSTEM_OFF request raced with a vcpu executing ... return to user space":
      // v8 16/43 KVM_EXIT_UNKNOWN, v9 16/43 on KVM_EXIT_SHUTDOWN (S25)
      vcpu.lastExit = { kind: prof === "unknown-index1" ? "unknown" : "shutdown" };
      return 0;
    }
    if (st === RMI_ERROR_REC && prof === "shutdown-any") {
      // v14 22/44: "If a VCPU has been turned on, but the REC state hasn't been updated we may
      // experience RMI_ERROR_REC. Exit to the userspace with -EAGAIN for a retry." (S25)
      kvm.event(`REC_ENTER vcpu${vcpu.id}: RMI_ERROR_REC: -EAGAIN`);
      return -EAGAIN;
    }
    // `if (rec_run_ret) return -ENXIO;` (run->exit_reason keeps KVM_EXIT_UNKNOWN)
    vcpu.lastExit = { kind: "unknown" };
    kvm.event(`REC_ENTER failed (${ret}): -ENXIO, KVM_EXIT_UNKNOWN`);
    return -ENXIO;
  }
  const reason = runFieldNumber(vcpu, REC_RUN.exit.exit_reason);
  switch (reason) {
    case RmiExitReason.RMI_EXIT_SYNC: {
      // EC, ISV, SAS and WnR all lie in ESR's low word (a syndrome, not an address: 32-bit ops)
      const lo = vcpu.kvm.env.ns.readU32At(vcpu.rec.run + REC_RUN.exit.esr);
      const ec = (lo >>> 26) & 0x3f;
      // rec_exit_handlers[esr_ec]: SYS64 -> rec_exit_sys_reg (kvm_handle_sys_reg, 1), DABT_LOW ->
      // rec_exit_sync_dabt; IABT_LOW -> rec_exit_sync_iabt ("Unhandled instruction abort") and every
      // other EC -> rec_exit_reason_notimpl: vcpu_err and -ENXIO (the same table in every posting).
      if (ec === ESR_EC_SYS64) return 1;
      if (ec !== ESR_EC_DABT_LOW) {
        const what = ec === ESR_EC_IABT_LOW ? "Unhandled instruction abort" : "Unhandled exit reason from realm";
        kvm.event(`vcpu${vcpu.id}: ${what} (ESR: 0x${runField(vcpu, REC_RUN.exit.esr).toString(16)}): -ENXIO`);
        return -ENXIO;
      }
      // HPFAR.FIPA << 12 (scaling by 2^12 is exact); as a number when HPFAR is below 2^53
      const h = runFieldNumber(vcpu, REC_RUN.exit.hpfar);
      const ipa = h < Number.MAX_SAFE_INTEGER ? Math.floor(h / 16) * 4096 : Number(runField(vcpu, REC_RUN.exit.hpfar) >> 4n) * 4096;
      const isv = ((lo >>> 24) & 1) === 1;
      const a: AbortInfo = {
        ipa,
        write: ((lo >>> 6) & 1) === 1,
        exec: false,
        isv,
        len: 2 ** ((lo >>> 22) & 3),
      };
      // (one flat string: a template keeps a chain of cons strings in the log)
      if (kvm.env.log.enabled) kvm.env.log.push("exit", ["vcpu", vcpu.id, " SYNC data abort IPA 0x", ipa.toString(16), a.write ? " write" : ""].join(""));
      // rec_exit_sync_dabt: kvm_handle_guest_abort (mmu.c), the one part that can yield
      return yield* kvm_handle_guest_abort(vcpu, a);
    }
    case RmiExitReason.RMI_EXIT_IRQ:
    case RmiExitReason.RMI_EXIT_FIQ:
      return 1;
    case RmiExitReason.RMI_EXIT_PSCI:
      kvm.env.log.push("exit", `vcpu${vcpu.id} PSCI 0x${runField(vcpu, REC_RUN.exit.gprs).toString(16)}`);
      return rec_exit_psci(vcpu);
    case RmiExitReason.RMI_EXIT_RIPAS_CHANGE:
      kvm.env.log.push("exit", `vcpu${vcpu.id} RIPAS_CHANGE`);
      return rec_exit_ripas_change(vcpu);
    case RmiExitReason.RMI_EXIT_SERROR:
      // v14 22/44 adds `case RMI_EXIT_SERROR:` next to IRQ/FIQ; before, it is an unsupported reason.
      if (kvm.profile.recExitSerrorResumes) return 1;
      break;
  }
  // No case for RMI_EXIT_HOST_CALL (or anything else) in any posting's rmi-exit.c / rme-exit.c:
  // kvm_pr_unimpl("Unsupported exit reason"), KVM_EXIT_INTERNAL_ERROR, return 0 (no WARN).
  kvm.event(`vcpu${vcpu.id}: Unsupported exit reason: ${reason}: KVM_EXIT_INTERNAL_ERROR`);
  vcpu.lastExit = { kind: "internal-error", reason };
  return 0;
}

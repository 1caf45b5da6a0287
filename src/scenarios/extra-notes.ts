/**
 * S32 and S33: catalogue entries the simulator does not run: review
 * findings with no behaviour. They are registered so the catalogue is complete; running one
 * returns its notes. (S29 runs: src/scenarios/extra-tracking.ts.)
 */
import { Host } from "../host/host.js";
import type { ExtraScenario } from "./extra-common.js";

function notesOnly(id: string, title: string, notes: string[], why = "is not simulatable"): ExtraScenario {
  return {
    id,
    title,
    affects: [],
    run(series, mk) {
      const host = Host.create({ series, seed: 1 });
      const rec = mk(host);
      rec.notes.push(`${id} ${why}: ${title.toLowerCase()}; nothing was run.`, ...notes);
      rec.data.simulatable = false;
      return { host, rec };
    },
  };
}

export const S32 = notesOnly("S32", "Build/config-only findings", [
  "v9: a declaration right after a case label breaks GCC <= 10 (Andre Przywara); an unnecessary #ifdef around the private-memory hooks (Joey Gouly).",
  "v12: the kvm_arch_has_private_mem macro collides with the generic inline when CONFIG_KVM_GENERIC_MEMORY_ATTRIBUTES is off (kernel test robot, randconfig); #ifdef in v13.",
  "v13: a hunk of 27/48 duplicated into 37/48 by a rebase, with a stale comment naming private_memslot_fault() (Wei-Lin Chang).",
  "v14: a stray change to the pgt initialiser in 17/44 (Wei-Lin Chang); stray whitespace in kvm_psci_vcpu_on (Gavin Shan).",
]);

export const S33 = notesOnly("S33", "Review nits (naming, comments, types, style)", [
  "Behaviour-neutral review comments (symbol names such as RMM_RTT_BLOCK_LEVEL, comment typos such as \"Thus is\" -> \"Thus if\", gpa_t vs phys_addr_t, enum vs bool, renames such as kvm_init_realm_vm -> kvm_init_realm). Stored examples: Suzuki K Poulose on v8 20/43 (seed 001: RMM_RTT_BLOCK_LEVEL / RMM_RTT_MAX_LEVEL for the literals 2 and 3); Wei-Lin Chang on v13 27/48 (seed 000: gpa_t for kvm_gpa_from_fault's ipa, \"Thus is -> Thus if.\", \"Maybe use !shared_ipa_fault() here?\") and on v14 17/44 (\"Looks like out_rtt can be simplified out.\"; Steven, seed 004: a deliberate unsigned long -> phys_addr_t conversion).",
]);

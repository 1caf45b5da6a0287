/**
 * S33: behaviour-neutral review nits (naming, comments, types, style). Not simulatable: the entry
 * keeps the catalogue complete, and running it returns its notes.
 */
import { notesOnly } from "./helpers.js";

export const S33 = notesOnly("S33", "Review nits (naming, comments, types, style)", [
  "Behaviour-neutral review comments (symbol names such as RMM_RTT_BLOCK_LEVEL, comment typos such as \"Thus is\" -> \"Thus if\", gpa_t vs phys_addr_t, enum vs bool, renames such as kvm_init_realm_vm -> kvm_init_realm). Stored examples: Suzuki K Poulose on v8 20/43 (seed 001: RMM_RTT_BLOCK_LEVEL / RMM_RTT_MAX_LEVEL for the literals 2 and 3); Wei-Lin Chang on v13 27/48 (seed 000: gpa_t for kvm_gpa_from_fault's ipa, \"Thus is -> Thus if.\", \"Maybe use !shared_ipa_fault() here?\") and on v14 17/44 (\"Looks like out_rtt can be simplified out.\"; Steven, seed 004: a deliberate unsigned long -> phys_addr_t conversion).",
]);

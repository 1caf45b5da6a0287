/**
 * S32: build- and config-only findings of the reviews. Not simulatable (no behaviour): the entry
 * keeps the catalogue complete, and running it returns its notes.
 */
import { notesOnly } from "./helpers.js";

export const S32 = notesOnly("S32", "Build/config-only findings", [
  "v9: a declaration right after a case label breaks GCC <= 10 (Andre Przywara); an unnecessary #ifdef around the private-memory hooks (Joey Gouly).",
  "v12: the kvm_arch_has_private_mem macro collides with the generic inline when CONFIG_KVM_GENERIC_MEMORY_ATTRIBUTES is off (kernel test robot, randconfig); #ifdef in v13.",
  "v13: a hunk of 27/48 duplicated into 37/48 by a rebase, with a stale comment naming private_memslot_fault() (Wei-Lin Chang).",
  "v14: a stray change to the pgt initialiser in 17/44 (Wei-Lin Chang); stray whitespace in kvm_psci_vcpu_on (Gavin Shan).",
]);

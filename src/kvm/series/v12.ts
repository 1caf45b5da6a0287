/** v12, 17 Dec 2025, 46 patches, RMM v1.0-rel0, implicit uAPI (lore 20251217101125.91098-1-steven.price@arm.com). */
import type { SeriesProfile } from "./profile.js";
import { v10 } from "./v10.js";

export const v12: SeriesProfile = {
  ...v10,
  id: "v12",
  date: "2025-12-17",
  title: "v12: RMM v1.0, implicit uAPI (rmi.c), activation on first run",
  uapi: "implicit",
  // v12 17/46 realm_create_rtt_levels: "The RTT already exists, continue" after free_rtt(rtt).
  rttExistsFreesNewGranule: true,
  destroyRealmUnmapsFirst: true,
  privateUnmapDropsRef: false,
  privateFault: "gmem_abort",
  // v12 24/46 gmem_abort: "if successful don't release the page".
  gmemRefAfterMap: "keep-on-success",
  ripasInitErrAtMapLevel: "skip-page",
  ripasSetErrAtMapLevel: "skip-page",
  ripasInit: "activation-all-gmem",
  activationIrqchipAfterDead: true,
  activationEarlyExit: "active",
  // v12 11/46 kvm_activate_realm: the irqchip check moved into it (S17 A).
  firstRunIrqchipCheck: false,
  populateUapi: "ioctl-int-bytes",
};

/**
 * arch/arm64/kvm/rmi.c (v12+; rme.c in v8/v10), split by topic: realm.ts (RD, params, VMID,
 * config), rtt.ts, map.ts (+ the RMM v2.0 range forms), unmap.ts, ripas.ts, rec.ts, init.ts
 * (kvm_init_rmi), sro.ts, populate.ts, range.ts, lifecycle.ts (activation, destroy).
 */
export * from "./realm.js";
export * from "./rtt.js";
export * from "./map.js";
export * from "./unmap.js";
export * from "./ripas.js";
export * from "./rec.js";
export * from "./init.js";
export * from "./sro.js";
export * from "./populate.js";
export * from "./range.js";
export * from "./lifecycle.js";

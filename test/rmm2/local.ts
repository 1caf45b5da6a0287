export { Platform } from "../../src/index.js";
export const SMC_UNKNOWN_FOR_TEST = 0xffff_ffff_ffff_ffffn;

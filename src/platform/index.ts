export * from "./memory-map.js";
export * from "./gpt.js";
export * from "./physical-memory.js";
export * from "./errors.js";
export * from "./machine.js";
export * from "./args.js";

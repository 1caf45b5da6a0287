/** A Non-secure world access hit a granule whose PAS is not NS (Arm ARM: Granule Protection Check fault). */
export class GranuleProtectionFault extends Error {
  override readonly name = "GranuleProtectionFault";
  constructor(
    readonly pa: bigint,
    readonly pas: string,
    readonly access: "read" | "write",
  ) {
    super(`Granule Protection Fault: Non-secure ${access} of PA 0x${pa.toString(16)} in the ${pas} PAS`);
  }
}

/** A physical access outside any memory region of the map. */
export class ExternalAbort extends Error {
  override readonly name = "ExternalAbort";
  constructor(readonly pa: bigint, access: "read" | "write") {
    super(`External abort: Non-secure ${access} of PA 0x${pa.toString(16)}, which is not memory`);
  }
}

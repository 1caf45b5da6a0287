/**
 * The RIPAS encoding (RmiRipas / RsiRipas, RMM spec v1.0 B4.4.x "RmiRipas type" and B5.4.x
 * "RsiRipas type"; Linux arch/arm64/include/asm/rmi_smc.h `enum ripas { RMI_EMPTY, RMI_RAM,
 * RMI_DESTROYED }`; TF-RMM RIPAS_EMPTY, RIPAS_RAM, RIPAS_DESTROYED), defined once for the RMM
 * (s2tt, RTT_INIT_RIPAS, RTT_SET_RIPAS, RSI_IPA_STATE_SET), the guest and KVM (RIPAS change exits).
 */
export enum Ripas {
  EMPTY = 0,
  RAM = 1,
  DESTROYED = 2,
}

/** Names by value, as the trace and inspection print them. */
export const RIPAS_NAMES = ["EMPTY", "RAM", "DESTROYED"] as const;

/**
 * What the posted KVM functions need from the rest of the kernel, as one narrow interface: the
 * RMI wrappers (rmi_cmds.h), the page allocator (alloc_page / get_page / put_page, and the model's
 * "leaked" bookkeeping), NS memory (the kernel's linear map), the log and WARN, the posting's
 * profile, the VMID bitmap (v8..v12), kvm-arm.mode and the poison-uninitialised switch.
 * `struct kvm` (kvm.ts) holds a `KvmEnv`, never the Host: the Host (src/host/host.ts) provides
 * one, and fault injection (src/faults/inject.ts) wraps it.
 */
import type { TraceLog } from "../trace/log.js";
import type { RmiClient } from "./rmi_cmds.js";
import type { SeriesProfile } from "./series/profile.js";

/** Who holds a host page (the model's accounting, shown by the invariants and the notebooks). */
export type PageOwner =
  | "kvm-rd" | "kvm-rec" | "kvm-aux" | "kvm-rtt" | "kvm-pgd" | "kvm-params" | "kvm-run"
  | "memcache" | "gmem" | "user" | "vmm" | "kernel";

/** One allocated host page as KVM sees it. */
export interface KvmPage {
  readonly pa: number;
  owner: PageOwner;
  vm: number;
  readonly refcount: number;
  readonly leaked: boolean;
}

/** The host page allocator (alloc_page, get_page / put_page) plus the model's leak marking. */
export interface KvmPages {
  alloc(owner: PageOwner, vm: number): number;
  allocHuge(owner: PageOwner, vm: number): number;
  allocBlock(n: number, owner: PageOwner, vm: number, order?: 0 | 9): number;
  page(pa: number): KvmPage | undefined;
  get(pa: number): void;
  put(pa: number): void;
  leak(pa: number, reason: string): void;
  pagesOf(vm: number): KvmPage[];
}

/** Non-secure memory through the kernel's linear map (a delegated granule faults). */
export interface KvmNs {
  write(pa: bigint, bytes: Uint8Array): void;
  read(pa: bigint, length: number): Uint8Array;
  writeU64(pa: bigint, value: bigint): void;
  readU64(pa: bigint): bigint;
  /**
   * readU64/writeU64 at a PA given as a number (a field of a REC run page): the same access, the
   * same fault where the access would fault, without a bigint address per field.
   */
  readU64At(pa: number): bigint;
  writeU64At(pa: number, value: bigint): void;
  /** Number(readU64At(pa)) (the same value, rounded the same way), without the bigint. */
  readU64NumberAt(pa: number): number;
  /** The low 32 bits of readU64At(pa) as a number (a syndrome register's low word). */
  readU32At(pa: number): number;
}

export type KvmArmMode = "vhe" | "nvhe";

export interface KvmEnv {
  /** The RMI wrappers (rmi_cmds.h / rmi_smc.h). */
  readonly rmi: RmiClient;
  readonly pages: KvmPages;
  readonly ns: KvmNs;
  /** The host's ordered trace (events, exits). */
  readonly log: TraceLog;
  /** WARN / WARN_ON: recorded and logged. */
  warn(fn: string, msg: string): void;
  /** The posting's profile (variation points), possibly with overrides. */
  readonly profile: SeriesProfile;
  /** Host VMID bitmap (v8..v12). */
  readonly vmids: Set<number>;
  /** kvm-arm.mode. */
  readonly kvmArmMode: KvmArmMode;
  /** Uninitialised reads take a garbage value. */
  readonly poisonUninit: boolean;
  /**
   * Whether the granule at `pa` is still delegated (the model's bookkeeping after a failed
   * undelegate: which granules stay in the Realm PAS; the kernel learns it from the RMI result).
   */
  delegated(pa: number): boolean;
  /** The DRAM banks the kernel knows (memblock: for_each_mem_region), in address order. */
  memRegions(): readonly { base: number; end: number }[];
}

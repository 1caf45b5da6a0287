/**
 * cca-realm-sim: a deterministic simulator of Arm CCA realms (RMM host interface, Linux KVM host
 * code of the CCA series, realm guest). Public entry point (design.md "Contracts").
 */
export { Platform, type PlatformOptions, type GranuleInfo } from "./system/platform.js";
export type { RmiApi, RmiResult } from "./system/rmi-api.js";
export * as geometry from "./arch/geometry.js";
export { GranuleProtectionFault, ExternalAbort } from "./platform/errors.js";
export { DEFAULT_MEMORY_MAP, type MemoryRegion } from "./platform/memory-map.js";
export { Pas } from "./platform/gpt.js";
export { RmiStatus, statusName } from "./rmm/status.js";
export { GranuleState } from "./rmm/granule.js";
export { RealmState } from "./rmm/realm.js";
export { S2tte, RmiRttEntryState, Ripas } from "./rmm/s2tt.js";
export { encodeRealmParams, type RealmParams } from "./rmm/abi/realm-params.js";
export * from "./rmm/abi/rec-params.js";
export { featureRegister0, decodeFeatureRegister0, type RmmFeatures } from "./rmm/features.js";
export { formatRecord, type RmiCallRecord } from "./rmm/trace.js";
export { checkRmmInvariants, type InvariantOptions } from "./rmm/invariants.js";
export { rmmDigest, rmmStateLines, digestLines, diffStateLines, type SnapshotSource } from "./rmm/snapshot.js";
export { RealmVcpu, type RealmGuest, type RecEntryInfo, type RecExit, type AccessKind, type AccessOutcome, type AccessOptions } from "./rmm/realm-exec.js";
export * as realmExec from "./rmm/realm-exec.js";
/** The encodings both sides of the SMC interface use, once (Linux / Arm ARM names): PSCI function IDs and
 *  return codes, ESR classes and syndrome fields (Ripas is exported above). (Before issue 14 realmExec carried its own copies.) */
export * as psci from "./arch/psci.js";
export * as esr from "./arch/esr.js";
export * as commands from "./commands/index.js";
export { createSession, Session, type SessionOptions, type RunResult, type Completion } from "./commands/index.js";
export * as viz from "./viz/index.js";
export { display, liveChart, rttView, accountingChart, chartView, traceView, comparisonView, renderChartPng, MIME_BUNDLE, type MimeBundle, type AccountingPoint } from "./viz/index.js";
export * from "./rmm/abi/range-desc.js";
export { encodeRmmConfig, decodeRmmConfig, RMM_CONFIG, RmiGranuleSize, RMI_GRAN_4KB_TRACKING_REGION_SIZE_1GB, type RmmConfig } from "./rmm/abi/rmm-config.js";
export { DEFAULT_PROGRESS, type RmmProgressOptions } from "./rmm/commands/v2/state.js";
export { featureRegisterV2 } from "./rmm/commands/v2/boot.js";
export { rttTree, rttWalkPath, formatRttTree, formatRttWalkPath, formatSize, type RttTree, type RttTreeTable, type RttTreeEntry, type RttTreeOptions, type RttTreeStats, type RttWalkStep, type RttEntryStateName } from "./rmm/inspect.js";
export * as rttOps from "./rmm/rtt-ops.js";
export { Prng } from "./arch/prng.js";
export { Host, type HostOptions, type HostStats, type WarnRecord } from "./host/host.js";
export { RealmVm, type CreateRealmOptions, type TouchResult, type TouchOutcome, type StartResult } from "./vmm/vm.js";
export { PROFILES, availableSeries, profileOf, SERIES_IDS, type SeriesId, type SeriesProfile } from "./kvm/series/index.js";
export * as scenarios from "./scenarios/index.js";
export type { ScenarioResult, ScenarioInfo, ScenarioOutcome } from "./scenarios/index.js";
export { FaultInjector, describeRule, type FaultRule } from "./faults/inject.js";
export { TraceLog, formatEntry, type TraceEntry, type TraceKind } from "./trace/log.js";
export { TimeSeries, type SeriesSample } from "./trace/series.js";
export { chromeTrace, chromeTraceJson, writeChromeTrace, type ChromeTrace, type ChromeTraceEvent, type ChromeTraceSource } from "./trace/chrome-trace.js";
export { explore, interleave } from "./sched/sched.js";
/** Error-path campaigns (issue 13): `campaigns.explore({workload: "lifecycle", series: "all"})`, `campaigns.liveExplore(...)` in a notebook. */
export * as campaigns from "./explore/index.js";
export { HOST_SNAPSHOT_VERSION, type HostSnapshot } from "./host/snapshot.js";
export { GuestVm, GuestCpu, psciOps, realmMpidr, type GuestOp, type GuestOpResult, type GuestOpRecord } from "./guest/guest.js";
export { sequentialWorkload, randomWorkload, bootWorkload } from "./guest/workloads.js";
export { realm_num_root_rtts } from "./kvm/rmi/realm.js";
export { RmiMemCategory, RmiTrackingRegionState, TRACKING_REGION_SIZE, L0GPT_SIZE } from "./rmm/commands/v2/tracking.js";

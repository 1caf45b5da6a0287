/** Error-path campaigns (issue 13): every RMI failure, page-allocation failure and stuck undelegate a workload can meet, injected one at a time. */
export { OUTCOMES, POINT_KINDS, campaignSpec, record, runPoint, ruleFor, siteOf, type CampaignInput, type CampaignSpec, type Outcome, type Point, type PointKind, type PointResult, type LeakCounts, type Recording } from "./campaign.js";
export { WORKLOAD_NAMES, builtinWorkload, customWorkload, type Workload, type WorkloadStep, type StepReport, type WorkloadName } from "./workloads.js";
export { failuresFor, explorableCommands, checkStatusOverrides, type StatusOverrides } from "./statuses.js";
export { explore, prepare, type ExploreOptions, type ExploreResult, type Progress, type WorkloadModule } from "./run.js";
export { parseShard, worst, ResultWriter, SummaryBuilder, readResult, RESULT_FORMAT, RESULT_VERSION, type Shard, type Summary, type ResultHeader, type PointLine, type SiteChange } from "./result.js";
export { checkShards, mergeShards, type ShardSource } from "./merge.js";
export { formatSummary, summaryHtml, heatmapPng, exploreView, liveExplore, OUTCOME_COLORS } from "./render.js";

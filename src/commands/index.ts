/**
 * The realm> command language: one parser and executor shared by the REPL, `realm run` scripts
 * and the Jupyter kernel's %realm lines. `createSession(opts)` -> `session.run(line)` gives a
 * structured result {ok, command, value, kind, text, error?}; `session.complete(line, cursor)`.
 */
export { createSession, Session, commonPrefix, type SessionOptions, type RunResult, type RunOptions, type Progress, type RealmEntry, type Completion, type StatusInfo } from "./session.js";
export { BUILTIN_COMMANDS } from "./builtin/index.js";
export { parseLine, findCommand, commandNames } from "./parser.js";
export { lex, quoteWord } from "./lexer.js";
export { renderText, registerTextRenderer, table, type TableValue } from "./render/text.js";
export { textChart, type ChartSeries } from "./render/chart.js";
export { parseSize, parseAddress, parseInteger, formatSize, hex, toJson, clipLongWords, type Jsonified } from "./values.js";
export { Args, UsageError, usage, type CommandSpec, type ArgSpec, type OptSpec, type Outcome, type ValueKind } from "./spec.js";
/** Seeds are integers in [0, SEED_MAX] (the PRNG has 32 bits of state). */
export { SEED_MAX } from "../host/host.js";
/** The postings `new --series` takes (src/kvm/series). */
export { SERIES_IDS as SERIES } from "../kvm/series/index.js";
export { runScript, type ScriptOptions, type ScriptReport } from "./script.js";
export { scriptWorkload, scriptName, SCRIPT_WORKLOAD_MODULE } from "./explore-script.js";
export { scriptWorkloadOf } from "./explore-worker.js";

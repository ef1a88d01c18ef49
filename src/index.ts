/**
 * @module guestops — library API: canonical records, the method catalog, readers and CLI entry.
 */
export * from "./model/catalog.js";
export type * from "./model/record.js";
export type * from "./model/operation.js";
export type * from "./ingest/types.js";
export { parseEnvelope } from "./ingest/syslog/envelope.js";
export { openRouter, type ReaderLookup } from "./ingest/readers/syslog/index.js";
export {
  readInputs,
  type ReadHooks,
  type ReadInputsOptions,
  type ReadProgress,
} from "./ingest/read.js";
export type {
  InputStatus,
  InputSummary,
  IssueExample,
  IssueSummary,
  ReadSummary,
  ReadTotals,
} from "./ingest/summary.js";
export { GuestOpsError, isGuestOpsError, type ErrorCode } from "./shared/errors.js";
export { run } from "./cli/run.js";
export * from "./policy/index.js";
export {
  isSeverity,
  maxSeverity,
  severityRank,
  shiftSeverity,
  type Alert,
  type AlertOperation,
  type AlertPrincipal,
  type AlertProvenance,
  type AlertSignal,
} from "./model/alert.js";
export type { Incident, IncidentEntry, IncidentLink, LinkKind } from "./model/incident.js";
export {
  BUILTIN_RULES,
  builtinRules,
  defineRule,
  detect,
  isAttributed,
  linkIncidents,
  createIncidentLinker,
  type IncidentLinker,
  type LinkOptions,
  type BuiltinRuleName,
  type CoverageSpan,
  type DetectDeps,
  type DetectOptions,
  type DetectResult,
  type Rule,
  type RuleContext,
  type RuleFailure,
  type RuleListener,
  type RuleMeta,
  type RuleReport,
} from "./detect/index.js";
export { analyze, type AnalyzeOptions, type Analysis } from "./pipeline.js";
export {
  ALERT_FORMATS,
  formatAlerts,
  type AlertFormat,
  type ScanSummary,
} from "./report/alerts.js";
export {
  correlate,
  createCorrelator,
  DEFAULT_WINDOWS,
  type CorrelationResult,
  type Correlator,
  type CorrelatorOptions,
  type JoinWindows,
  type UnattachedObservation,
} from "./attribute/correlate.js";
export {
  accountMatches,
  clientFromUserAgent,
  compareVm,
  hostKey,
  isIpAddress,
  namesEndUser,
  normaliseAccount,
  opIdBelongsTo,
  opIdShape,
  vmFacts,
  type VmFacts,
} from "./attribute/identity.js";
export {
  gapOf,
  summarise,
  type AttributionSummary,
  type Gap,
  type HostCoverage,
} from "./attribute/summary.js";
export {
  csvField,
  csvRow,
  escapeHtml,
  escapeTerminal,
  neutraliseCsvFormula,
  safeJsonStringify,
  truncateForDisplay,
} from "./report/escape.js";
export {
  formatOperations,
  OPERATION_FORMATS,
  OPERATION_SCHEMA,
  OPERATIONS_SCHEMA,
  operationJson,
  summaryText,
  type EventsContext,
  type OperationFormat,
  type OperationJson,
} from "./report/operations.js";

/**
 * Detection: rules over attributed operations, grouped into alerts, linked into incidents
 * (docs/alerts.md, docs/rules.md).
 */
export { detect, isAttributed } from "./engine.js";
export {
  groupAlerts,
  alertId,
  compareOperations,
  principalKey,
  vmKey,
  vmDisplay,
} from "./group.js";
export {
  linkIncidents,
  createIncidentLinker,
  incidentId,
  DEFAULT_LINK_WINDOW_MS,
  DEFAULT_REPEAT_WINDOW_MS,
  type IncidentLinker,
  type LinkOptions,
} from "./incidents.js";
export { BUILTIN_RULES, builtinRules, type BuiltinRuleName } from "./registry.js";
export { isAuthFailure } from "./rules/auth-failure-burst/index.js";
export * from "./types.js";

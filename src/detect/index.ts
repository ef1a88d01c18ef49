/** Detection: rules over attributed operations, grouped into alerts (docs/alerts.md, docs/rules.md). */
export { detect, isAttributed } from "./engine.js";
export {
  groupAlerts,
  alertId,
  compareOperations,
  principalKey,
  vmKey,
  vmDisplay,
} from "./group.js";
export { BUILTIN_RULES, builtinRules, type BuiltinRuleName } from "./registry.js";
export { isAuthFailure } from "./rules/auth-failure-burst/index.js";
export * from "./types.js";

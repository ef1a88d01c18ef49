/**
 * @module policy — the site policy: loading and validating the YAML file, and the pure queries the
 * rules ask of it (sites and zones, accounts, hours, windows, tiers, methods, addresses).
 */
export type * from "./types.js";
export { SEVERITIES, ROLES, WEEKDAYS } from "./types.js";
export {
  checkPolicyFile,
  checkPolicyText,
  defaultPolicy,
  exceptionExpiry,
  exceptionScope,
  formatProblem,
  invalidPolicy,
  loadPolicy,
  parsePolicy,
  type CheckResult,
  type ParseOptions,
  type PolicyProblem,
} from "./load.js";
export {
  accountId,
  accountPolicy,
  describeOccurrence,
  exceptionCovering,
  expectation,
  factsFromOperation,
  isBusinessHours,
  isCritical,
  isHoliday,
  isVcenterAddress,
  isWithinAllowedHours,
  methodAllowed,
  policyWarnings,
  ROLE_DEFAULT_METHODS,
  ruleEnabled,
  ruleSeverity,
  siteFor,
  sourceAllowed,
  vmAllowed,
  vmTier,
  windowCovering,
  windowOccurrences,
  windowsCovering,
} from "./evaluate.js";
export {
  describeSchedule,
  formatLocalLong,
  formatLocalShort,
  formatUtc,
  instantMs,
  isValidZone,
  localTime,
  parsePolicyInstant,
} from "./windows.js";

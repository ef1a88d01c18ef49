/**
 * Explicit registry of the built-in rules (no directory scanning). Adding a rule is one import and
 * one entry here: its id, and the options its `meta.options` declares, become the policy's
 * `rules.<id>` section and docs/rules.md's option table.
 */
import type { Rule } from "./types.js";
import { authFailureBurst } from "./rules/auth-failure-burst/index.js";
import { directHostAccess } from "./rules/direct-host-access/index.js";
import { disallowedMethod } from "./rules/disallowed-method/index.js";
import { outsideHours } from "./rules/outside-hours/index.js";
import { sensitiveVm } from "./rules/sensitive-vm/index.js";
import { unexpectedAccount } from "./rules/unexpected-account/index.js";
import { rateAnomaly } from "./rules/rate-anomaly/index.js";
import { firstSeen } from "./rules/first-seen/index.js";
import { fanOut } from "./rules/fan-out/index.js";
import { exfilSequence } from "./rules/exfil-sequence/index.js";
import { rareHour } from "./rules/rare-hour/index.js";
import { offCadence } from "./rules/off-cadence/index.js";

export const builtinRules = {
  "unexpected-account": unexpectedAccount,
  "outside-hours": outsideHours,
  "sensitive-vm": sensitiveVm,
  "disallowed-method": disallowedMethod,
  "direct-host-access": directHostAccess,
  "auth-failure-burst": authFailureBurst,
  "rate-anomaly": rateAnomaly,
  "first-seen": firstSeen,
  "fan-out": fanOut,
  "exfil-sequence": exfilSequence,
  "rare-hour": rareHour,
  "off-cadence": offCadence,
} as const satisfies Record<string, Rule>;

export type BuiltinRuleName = keyof typeof builtinRules;

/** The built-in rules in documentation order. */
export const BUILTIN_RULES: readonly Rule[] = Object.values(builtinRules);

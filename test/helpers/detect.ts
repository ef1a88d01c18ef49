/** Runs rules over built operations with the shared test policy (src/detect/fixtures). */
import { fileURLToPath } from "node:url";
import { detect } from "../../src/detect/engine.js";
import { BUILTIN_RULES } from "../../src/detect/registry.js";
import type { CoverageSpan, DetectResult, Rule, Signal } from "../../src/detect/types.js";
import type { Alert, AlertSignal } from "../../src/model/alert.js";
import type { Operation } from "../../src/model/operation.js";
import { loadPolicy } from "../../src/policy/load.js";
import type { Policy } from "../../src/policy/types.js";
import type { Baseline } from "../../src/baseline/model.js";

export const SITE_POLICY_PATH = fileURLToPath(
  new URL("../../src/detect/fixtures/site-policy.yaml", import.meta.url),
);

/** The shared rule-test policy (Paris and New York sites, accounts, critical tier, windows). */
export const sitePolicy: Policy = loadPolicy(SITE_POLICY_PATH);

export interface RunOptions {
  readonly rules?: readonly Rule[];
  readonly policy?: Policy;
  readonly coverage?: readonly CoverageSpan[];
  readonly groupingGapMs?: number;
  readonly incidentWindowMs?: number;
  readonly incidentRepeatMs?: number;
  readonly baseline?: Baseline;
}

export function run(ops: readonly Operation[], options: RunOptions = {}): DetectResult {
  return detect(ops, {
    rules: options.rules ?? BUILTIN_RULES,
    policy: options.policy ?? sitePolicy,
    ...(options.coverage ? { coverage: options.coverage } : {}),
    ...(options.baseline ? { baseline: options.baseline } : {}),
    options: {
      ...(options.groupingGapMs !== undefined ? { groupingGapMs: options.groupingGapMs } : {}),
      ...(options.incidentWindowMs !== undefined
        ? { incidentWindowMs: options.incidentWindowMs }
        : {}),
      ...(options.incidentRepeatMs !== undefined
        ? { incidentRepeatMs: options.incidentRepeatMs }
        : {}),
    },
  });
}

/** Every signal of a rule across the alerts. */
export const signalsOf = (result: DetectResult, rule: string): AlertSignal[] =>
  result.alerts.flatMap((a) => a.signals.filter((s) => s.rule === rule));

/** The alerts a rule fired in. */
export const alertsWith = (result: DetectResult, rule: string): Alert[] =>
  result.alerts.filter((a) => a.rules.includes(rule));

export type { Signal };

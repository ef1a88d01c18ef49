/**
 * One learning run over a stream of operations (docs/detection.md, "Poisoning"): the rules first
 * judge the operations (the policy's and the policy-free rules, and the baseline rules against the
 * previous baseline when there is one), and the operations of every alert of medium or higher
 * severity — those raised now and those already stored — are left out of learning, unless an
 * analyst accepted the alert. Two passes over the operations, each streamed in time order.
 */
import { createDetector } from "../detect/engine.js";
import { BUILTIN_RULES } from "../detect/registry.js";
import type { Rule } from "../detect/types.js";
import { severityRank, type Alert } from "../model/alert.js";
import type { Operation } from "../model/operation.js";
import type { Policy } from "../policy/types.js";
import { HOUR_MS, type Baseline } from "./model.js";
import { createLearner } from "./learn.js";

export interface LearnRunOptions {
  readonly policy: Policy;
  readonly rules?: readonly Rule[];
  /** The baseline stored before this run; its rules judge too. */
  readonly previous?: Baseline;
  /** Alerts already in the store (only medium or higher count). */
  readonly storedAlerts?: Iterable<Pick<Alert, "id" | "severity" | "operations">>;
  /** Ids of alerts an analyst accepted: their operations are learned. */
  readonly accepted?: ReadonlySet<string>;
  readonly learnedAt?: number;
}

export interface LearnRunResult {
  readonly baseline: Baseline;
  /** Alerts whose operations were left out, and those accepted (learned anyway). */
  readonly excludedAlerts: readonly string[];
  readonly acceptedAlerts: readonly string[];
  readonly skipped: number;
}

const MEDIUM = severityRank("medium");

export function learnRun(
  operations: () => Iterable<Operation>,
  options: LearnRunOptions,
): LearnRunResult {
  const accepted = options.accepted ?? new Set<string>();
  const excludedOps = new Set<string>();
  const excludedAlerts = new Set<string>();
  const acceptedAlerts = new Set<string>();
  const consider = (alert: Pick<Alert, "id" | "severity" | "operations">): void => {
    if (severityRank(alert.severity) < MEDIUM) return;
    if (accepted.has(alert.id)) {
      acceptedAlerts.add(alert.id);
      return;
    }
    excludedAlerts.add(alert.id);
    for (const o of alert.operations) excludedOps.add(o.id);
  };
  for (const alert of options.storedAlerts ?? []) consider(alert);

  const detector = createDetector({
    rules: options.rules ?? BUILTIN_RULES,
    policy: options.policy,
    ...(options.previous ? { baseline: options.previous } : {}),
  });
  let lastFlush = Number.NEGATIVE_INFINITY;
  for (const op of operations()) {
    detector.push([op]);
    const t = op.time === undefined ? Number.NaN : Date.parse(op.time);
    if (!Number.isNaN(t) && t - lastFlush >= HOUR_MS) {
      for (const alert of detector.flush(t).closed) consider(alert);
      lastFlush = t;
    }
  }
  for (const alert of detector.end().alerts) consider(alert);

  const learner = createLearner({
    zone: options.policy.defaultSite.zone,
    aliases: options.policy.domainAliases,
    exclude: (op) => excludedOps.has(op.id),
  });
  for (const op of operations()) learner.add(op);
  const baseline = learner.finish({
    ...(options.learnedAt !== undefined ? { learnedAt: options.learnedAt } : {}),
    excludedAlerts: excludedAlerts.size,
  });
  return {
    baseline,
    excludedAlerts: [...excludedAlerts].sort(),
    acceptedAlerts: [...acceptedAlerts].sort(),
    skipped: learner.counts().skipped,
  };
}

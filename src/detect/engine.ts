/**
 * The detection engine: feeds attributed operations to the rules, applies the policy's rule
 * settings and the attribution adjustment, isolates crashing rules, and groups the findings into
 * alerts. Pure with respect to its inputs: no clock, no I/O, no globals.
 */
import { methodByApi } from "../model/catalog.js";
import { severityRank, shiftSeverity, type Severity } from "../model/alert.js";
import type { Operation } from "../model/operation.js";
import * as evaluate from "../policy/evaluate.js";
import type { Expectation, PolicyQueries } from "../policy/types.js";
import { compareOperations, groupAlerts, isAttributed } from "./group.js";
import { linkIncidents } from "./incidents.js";

export { isAttributed };
import type {
  DetectDeps,
  DetectResult,
  Rule,
  RuleContext,
  RuleFailure,
  RuleListener,
  RuleReport,
  Signal,
} from "./types.js";

interface Running {
  readonly rule: Rule;
  readonly listener: RuleListener;
}

/** Runs the rules over the operations and returns the alerts. */
export function detect(operations: Iterable<Operation>, deps: DetectDeps): DetectResult {
  const { policy } = deps;
  const queries: PolicyQueries = deps.queries ?? evaluate;
  const ops = [...operations].sort(compareOperations);
  const signals: Signal[] = [];
  const signalsByRule = new Map<string, number>();
  const failures = new Map<string, RuleFailure>();
  const disabled: { rule: string; why: string }[] = [];
  const expectations = new Map<string, Expectation>();

  const expectation = (op: Operation): Expectation => {
    let e = expectations.get(op.id);
    if (!e) {
      e = queries.expectation(policy, evaluate.factsFromOperation(op));
      expectations.set(op.id, e);
    }
    return e;
  };

  const fail = (
    rule: Rule,
    stage: RuleFailure["stage"],
    cause: unknown,
    op: Operation | undefined,
  ): void => {
    const key = `${rule.meta.id}\u0000${stage}`;
    const prev = failures.get(key);
    if (prev) {
      failures.set(key, { ...prev, count: prev.count + 1 });
      return;
    }
    failures.set(key, {
      code: "rule_crashed",
      ruleId: rule.meta.id,
      stage,
      count: 1,
      message: cause instanceof Error ? cause.message : String(cause),
      ...(op ? { operationId: op.id } : {}),
    });
  };

  const running: Running[] = [];
  for (const rule of deps.rules) {
    const { meta } = rule;
    if (!queries.ruleEnabled(policy, meta.id)) {
      disabled.push({ rule: meta.id, why: "disabled by the policy" });
      continue;
    }
    if (meta.requiresPolicy && policy.source === undefined) {
      disabled.push({ rule: meta.id, why: "needs a policy file (--policy)" });
      continue;
    }
    const severity = queries.ruleSeverity(policy, meta.id, meta.severity);
    // A policy override moves every severity of the rule by the same number of steps.
    const delta = severityRank(severity) - severityRank(meta.severity);
    signalsByRule.set(meta.id, 0);
    const report = (finding: RuleReport): void => {
      signals.push(toSignal(rule, finding, delta));
      signalsByRule.set(meta.id, (signalsByRule.get(meta.id) ?? 0) + 1);
    };
    const ctx: RuleContext = {
      policy,
      queries,
      expectation,
      coverage: deps.coverage ?? [],
      severity,
      report,
    };
    try {
      running.push({ rule, listener: rule.create(ctx) });
    } catch (cause) {
      fail(rule, "create", cause, undefined);
    }
  }

  for (const op of ops) {
    for (const { rule, listener } of running) {
      if (!listener.onOperation || !routes(rule, op)) continue;
      try {
        listener.onOperation(op);
      } catch (cause) {
        fail(rule, "operation", cause, op); // one bad rule must not blind the others
      }
    }
  }
  for (const { rule, listener } of running) {
    if (!listener.end) continue;
    try {
      listener.end();
    } catch (cause) {
      fail(rule, "end", cause, undefined);
    }
  }

  const labels = new Map(deps.rules.map((r) => [r.meta.id as string, r.meta.label]));
  const gapMs = deps.options?.groupingGapMs ?? policy.groupingGapMs;
  const grouped = groupAlerts(ops, signals, {
    gapMs,
    labels,
    siteOf: (op) => expectation(op).site.site.name,
    accountKey: (p) => {
      // The policy's domain aliases fold `corp.example\alice` and `corp\alice` into one account.
      const domain = p.domain === undefined ? undefined : policy.domainAliases.get(p.domain);
      return domain === undefined ? p.id : `${domain}\\${p.user}`;
    },
  });
  const linking = policy.incidentLinking;
  const incidents = linkIncidents(grouped, {
    windowMs: deps.options?.incidentWindowMs ?? linking.windowMs,
    repeatMs: deps.options?.incidentRepeatMs ?? linking.repeatMs,
    principalKey: (p) => {
      if (p.id === undefined) return undefined;
      // The same folding of domain aliases as grouping (`corp.example\alice` is `corp\alice`).
      const cut = p.id.indexOf("\\");
      if (cut < 0) return p.id;
      const domain = policy.domainAliases.get(p.id.slice(0, cut));
      return domain === undefined ? p.id : `${domain}${p.id.slice(cut)}`;
    },
    sharedAddress: (ip) => queries.isVcenterAddress(policy, ip).ok,
  });
  const incidentOf = new Map<string, string>();
  for (const incident of incidents)
    for (const id of incident.alerts) incidentOf.set(id, incident.id);
  const alerts = grouped.map((a) => {
    const incident = incidentOf.get(a.id);
    return incident === undefined ? a : { ...a, incident };
  });
  return {
    alerts,
    incidents,
    signalsByRule,
    disabled,
    failures: [...failures.values()],
    operations: ops.length,
  };
}

/** Capability routing: principal-required rules see only attributed operations. */
function routes(rule: Rule, op: Operation): boolean {
  const { meta } = rule;
  if (meta.principal === "required" && !isAttributed(op)) return false;
  if (meta.categories && !meta.categories.includes(op.category)) return false;
  return true;
}

function toSignal(rule: Rule, finding: RuleReport, delta: number): Signal {
  const { meta } = rule;
  const op = finding.operation;
  let severity: Severity = shiftSeverity(finding.severity ?? meta.severity, delta);
  let reason = finding.reason;
  const dependsOnPrincipal = finding.dependsOnPrincipal ?? meta.principal === "required";
  if (dependsOnPrincipal && op.attribution.level === "inferred") {
    const lowered = shiftSeverity(severity, -1);
    const note = lowered === severity ? "" : `, severity lowered from ${severity} to ${lowered}`;
    reason = `${reason} (principal only inferred${note}: ${op.attribution.reason})`;
    severity = lowered;
  }
  const attack = new Set<string>(meta.attack);
  for (const a of finding.attack ?? []) attack.add(a);
  for (const a of methodByApi(op.api)?.attack ?? ["T1675"]) attack.add(a);
  return {
    rule: meta.id,
    operationId: op.id,
    severity,
    reason,
    key: finding.key ?? finding.reason,
    attack: [...attack].sort(),
  };
}

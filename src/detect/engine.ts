/**
 * The detection engine: feeds attributed operations to the rules, applies the policy's rule
 * settings and the attribution adjustment, isolates crashing rules, and groups the findings into
 * alerts. Pure with respect to its inputs: no clock, no I/O, no globals.
 */
import { methodByApi } from "../model/catalog.js";
import { severityRank, shiftSeverity, type Severity } from "../model/alert.js";
import type { Operation } from "../model/operation.js";
import * as evaluate from "../policy/evaluate.js";
import type { Expectation, PolicyException, PolicyQueries } from "../policy/types.js";
import type { Alert } from "../model/alert.js";
import type { Incident } from "../model/incident.js";
import { AlertGrouper, compareOperations, isAttributed } from "./group.js";
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

/** What one `push` or `flush` changed. */
export interface DetectorChanges {
  /** Alerts of clusters still open that are new or changed (they may change again). */
  readonly updated: readonly Alert[];
  /** Alerts that can no longer change, in alert order. */
  readonly closed: readonly Alert[];
  /**
   * Alerts that can no longer change and are not raised: an active exception covered every one
   * of their findings (each carries its `exceptions`). An open alert covered so far is in neither
   * `updated` nor here: it is withheld until it closes or a finding no exception covers joins it.
   */
  readonly excepted: readonly Alert[];
}

/**
 * The incremental detector: operations go in (`push`, in time order, operations without a time
 * last), alerts come out as they open, change and become final (`flush(now)` with the stream's
 * time; `end()` closes everything). Rules that look at a window of other operations hold only
 * that window (`RuleListener.flush`, `heldSince`); the grouper holds the open clusters. State is
 * bounded by the windows, never by the stream. `detect()` is this run over a whole set at once.
 */
export interface Detector {
  readonly push: (operations: Iterable<Operation>) => DetectorChanges;
  readonly flush: (now: number) => DetectorChanges;
  /**
   * Closes every cluster; the result counts the whole run (`alerts` are those closed now).
   * Incidents are linked over all of a run's alerts by `linkAlerts` (`detect()` does it).
   */
  readonly end: () => Omit<DetectResult, "incidents">;
  /**
   * Where a restarted detector must start replaying stored operations (epoch ms) to hold exactly
   * what this one holds: the first operation of the oldest open cluster or rule window; undefined
   * when nothing is held. Rule state is never serialised: it is rebuilt by replaying that span
   * (alerts it closes again carry the same ids, so a store deduplicates them).
   */
  readonly checkpoint: () => { readonly from: number | undefined };
  /** What the detector holds now: open clusters and their operations (bounded by the windows). */
  readonly held: () => { readonly clusters: number; readonly operations: number };
  /**
   * Exceptions judged beside the policy's own (`serve`'s, from the store) for findings reported
   * from now on; each call replaces the previous list.
   */
  readonly setExceptions: (extra: readonly PolicyException[]) => void;
}

export function createDetector(deps: DetectDeps): Detector {
  const { policy } = deps;
  const queries: PolicyQueries = deps.queries ?? evaluate;
  const signalsByRule = new Map<string, number>();
  const failures = new Map<string, RuleFailure>();
  const disabled: { rule: string; why: string }[] = [];
  const notes = new Map<string, { rule: string; note: string }>();
  /** Policy answers of the operations still open in the grouper or a rule's window. */
  const expectations = new Map<string, { readonly e: Expectation; readonly t: number }>();
  let operations = 0;
  /** The policy's exceptions, then those given by `setExceptions`. */
  let exceptions: readonly PolicyException[] = policy.exceptions ?? [];
  /** Findings (rule, operation id) an exception covered, until their alert closes. */
  const covered = new Map<string, PolicyException>();

  const expectation = (op: Operation): Expectation => {
    let entry = expectations.get(op.id);
    if (!entry) {
      const t = op.time === undefined ? Number.NaN : Date.parse(op.time);
      entry = { e: queries.expectation(policy, evaluate.factsFromOperation(op)), t };
      expectations.set(op.id, entry);
    }
    return entry.e;
  };

  const labels = new Map(deps.rules.map((r) => [r.meta.id, r.meta.label]));
  const grouper = new AlertGrouper({
    gapMs: deps.options?.groupingGapMs ?? policy.groupingGapMs,
    labels,
    siteOf: (op) => expectation(op).site.site.name,
    accountKey: (p) => {
      // The policy's domain aliases fold `corp.example\alice` and `corp\alice` into one account.
      const domain = p.domain === undefined ? undefined : policy.domainAliases.get(p.domain);
      return domain === undefined ? p.id : `${domain}\\${p.user}`;
    },
  });

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
    if (meta.requiresBaseline && deps.baseline === undefined) {
      disabled.push({
        rule: meta.id,
        why: "needs a baseline (guestops learn into the store, then scan --db)",
      });
      continue;
    }
    const severity = queries.ruleSeverity(policy, meta.id, meta.severity);
    // A policy override moves every severity of the rule by the same number of steps.
    const delta = severityRank(severity) - severityRank(meta.severity);
    signalsByRule.set(meta.id, 0);
    const report = (finding: RuleReport): void => {
      // a finding on an operation whose alert is already final cannot be placed: a rule bug
      if (!grouper.signal(toSignal(rule, finding, delta))) {
        fail(
          rule,
          "operation",
          new Error("reported on an operation it no longer holds"),
          finding.operation,
        );
        return;
      }
      signalsByRule.set(meta.id, (signalsByRule.get(meta.id) ?? 0) + 1);
      if (exceptions.length > 0) {
        const op = finding.operation;
        const facts = evaluate.factsFromOperation(op);
        const x = evaluate.exceptionCovering(policy, exceptions, {
          rule: meta.id,
          instant: op.time,
          principal: facts.principal,
          ...(facts.vm !== undefined ? { vm: facts.vm } : {}),
          ...(op.host !== undefined ? { host: op.host } : {}),
          api: op.api,
        });
        if (x) covered.set(`${meta.id}\u0000${op.id}`, x);
      }
    };
    const ctx: RuleContext = {
      policy,
      queries,
      expectation,
      coverage: deps.coverage ?? [],
      severity,
      options: queries.ruleOptions(policy, meta.id, meta.options),
      report,
      ...(deps.baseline !== undefined ? { baseline: deps.baseline } : {}),
      note: (text) => {
        const key = `${meta.id}\u0000${text}`;
        if (!notes.has(key)) notes.set(key, { rule: meta.id, note: text });
      },
    };
    try {
      running.push({ rule, listener: rule.create(ctx) });
    } catch (cause) {
      fail(rule, "create", cause, undefined);
    }
  }

  /** The earliest operation time a rule may still report on. */
  const heldSince = (): number => {
    let min = Number.POSITIVE_INFINITY;
    for (const { listener } of running) {
      const t = listener.heldSince?.();
      if (t !== undefined && t < min) min = t;
    }
    return min;
  };

  const forget = (alerts: readonly Alert[]): void => {
    for (const a of alerts) {
      for (const o of a.operations) expectations.delete(o.id);
      if (covered.size === 0) continue;
      for (const s of a.signals)
        for (const id of s.operations) covered.delete(`${s.rule}\u0000${id}`);
    }
  };

  /**
   * The one place exceptions are applied: an alert every finding of which an exception covered
   * is excepted; one only partly covered is kept, with a reason naming each exception and how
   * much of it that exception covered.
   */
  const judge = (alert: Alert): { alert: Alert; excepted: boolean } => {
    if (covered.size === 0) return { alert, excepted: false };
    let total = 0;
    let hit = 0;
    const by = new Map<PolicyException, number>();
    for (const s of alert.signals) {
      for (const id of s.operations) {
        total++;
        const x = covered.get(`${s.rule}\u0000${id}`);
        if (!x) continue;
        hit++;
        by.set(x, (by.get(x) ?? 0) + 1);
      }
    }
    if (hit === 0) return { alert, excepted: false };
    const refs = [...by].map(([x, findings]) => ({
      id: x.id,
      ticket: x.ticket,
      owner: x.owner,
      expires: new Date(x.expiresMs).toISOString(),
      ...(x.reason !== undefined ? { reason: x.reason } : {}),
      source: x.source,
      findings,
    }));
    if (hit === total) return { alert: { ...alert, exceptions: refs }, excepted: true };
    const notes = refs.map(
      (r) =>
        `exception ${evaluate.q(r.ticket)} (owner ${evaluate.q(r.owner)}, until ${r.expires}) covers ${r.findings} of ${total} findings; the others are not excepted`,
    );
    return {
      alert: { ...alert, exceptions: refs, reasons: [...alert.reasons, ...notes] },
      excepted: false,
    };
  };
  const judgeAll = (alerts: readonly Alert[]): { kept: Alert[]; excepted: Alert[] } => {
    const kept: Alert[] = [];
    const excepted: Alert[] = [];
    for (const a of alerts) {
      const j = judge(a);
      (j.excepted ? excepted : kept).push(j.alert);
    }
    return { kept, excepted };
  };
  // Expectations of operations that never joined an alert are dropped with the window.
  let expectationsSweep = Number.NEGATIVE_INFINITY;
  const sweep = (now: number): void => {
    if (now - expectationsSweep < 3_600_000) return;
    expectationsSweep = now;
    const keep = Math.min(
      now - 2 * (deps.options?.groupingGapMs ?? policy.groupingGapMs),
      heldSince(),
    );
    for (const [id, { t }] of expectations) if (t < keep) expectations.delete(id);
  };

  const flushRules = (now: number): void => {
    for (const { rule, listener } of running) {
      if (!listener.flush) continue;
      try {
        listener.flush(now);
      } catch (cause) {
        fail(rule, "end", cause, undefined);
      }
    }
  };

  return {
    push(ops) {
      for (const op of ops) {
        operations++;
        grouper.add(op);
        for (const { rule, listener } of running) {
          if (!listener.onOperation || !routes(rule, op)) continue;
          try {
            listener.onOperation(op);
          } catch (cause) {
            fail(rule, "operation", cause, op); // one bad rule must not blind the others
          }
        }
      }
      return { updated: judgeAll(grouper.changed()).kept, closed: [], excepted: [] };
    },
    flush(now) {
      flushRules(now);
      const final = grouper.flush(now, heldSince());
      const closed = judgeAll(final);
      forget(final);
      sweep(now);
      return {
        updated: judgeAll(grouper.changed()).kept,
        closed: closed.kept,
        excepted: closed.excepted,
      };
    },
    held: () => grouper.held(),
    setExceptions(extra) {
      exceptions = [...(policy.exceptions ?? []), ...extra];
    },
    checkpoint() {
      const held = heldSince();
      const oldest = grouper.oldest();
      const from = Math.min(held, oldest ?? Number.POSITIVE_INFINITY);
      return { from: Number.isFinite(from) ? from : undefined };
    },
    end() {
      for (const { rule, listener } of running) {
        if (!listener.end) continue;
        try {
          listener.end();
        } catch (cause) {
          fail(rule, "end", cause, undefined);
        }
      }
      const final = judgeAll(grouper.end());
      expectations.clear();
      covered.clear();
      return {
        alerts: final.kept,
        ...(final.excepted.length > 0 ? { excepted: final.excepted } : {}),
        signalsByRule,
        disabled,
        failures: [...failures.values()],
        ...(notes.size > 0 ? { notes: [...notes.values()] } : {}),
        operations,
      };
    },
  };
}

/** Runs the rules over the operations and returns the alerts (the detector over one batch). */
export function detect(operations: Iterable<Operation>, deps: DetectDeps): DetectResult {
  const detector = createDetector(deps);
  detector.push([...operations].sort(compareOperations));
  const result = detector.end();
  return { ...result, ...linkAlerts(result.alerts, deps) };
}

/**
 * Links alerts into incidents (docs/alerts.md) and marks each alert with its incident's id.
 * Alerts keep their order.
 */
export function linkAlerts(
  alerts: readonly Alert[],
  deps: Pick<DetectDeps, "policy" | "queries" | "options">,
): { alerts: Alert[]; incidents: Incident[] } {
  const { policy } = deps;
  const queries: PolicyQueries = deps.queries ?? evaluate;
  const linking = policy.incidentLinking;
  const incidents = linkIncidents(alerts, {
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
  for (const incident of incidents) {
    for (const id of incident.alerts) incidentOf.set(id, incident.id);
  }
  return {
    alerts: alerts.map((a) => {
      const incident = incidentOf.get(a.id);
      return incident === undefined ? a : { ...a, incident };
    }),
    incidents,
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

/**
 * Scores a scan against labels (docs/evaluation.md): which attack scenarios were caught and how,
 * precision over alerts, the benign alert rate, attribution, and operations missed or counted
 * twice; the same restricted to the scenarios built only from verified formats.
 */
import { severityRank, type Alert } from "../model/alert.js";
import type { Operation } from "../model/operation.js";
import type { Incident } from "../model/incident.js";
import { labelPrincipal, type Labels, type OperationLabel } from "./labels.js";

/** Alerts at or above this severity count (caught, precision, rate). */
export const COUNTED_SEVERITY = "medium";
/** An operation without keys matches a label of its VM and method within this time. */
export const MATCH_TOLERANCE_MS = 60_000;

export interface ScenarioScore {
  readonly id: string;
  readonly description?: string;
  /** Every labelled operation of the scenario is written in formats real samples confirm. */
  readonly verified: boolean;
  readonly operations: number;
  readonly caught: boolean;
  /** Rules of the medium+ alerts holding its operations. */
  readonly rules: readonly string[];
  /** Alerts (any severity) holding at least one of its operations, and their incidents. */
  readonly alerts: number;
  readonly incidents: number;
  readonly firstOperation?: string;
  /** First time a rule fired on one of its operations in a medium+ alert. */
  readonly firstAlert?: string;
  readonly timeToAlertMs?: number;
}

export interface Figures {
  readonly scenarios: readonly ScenarioScore[];
  readonly attacks: { readonly total: number; readonly caught: number };
  /** Medium+ alerts: true ones hold an attack operation, false ones only benign or unlabelled ones. */
  readonly alerts: {
    readonly counted: number;
    readonly true: number;
    readonly false: number;
    /** Of the false ones, alerts none of whose operations is labelled. */
    readonly unlabelled: number;
    readonly precision: number | null;
  };
  /** False medium+ alerts per 100 hosts per day. */
  readonly benignAlertsPer100HostsPerDay: number | null;
  readonly attribution: {
    readonly right: number;
    readonly wrong: number;
    readonly unknown: number;
  };
  readonly operations: {
    readonly labelled: number;
    readonly found: number;
    readonly missed: number;
    /** Labelled operations that two or more operations of the scan stand for. */
    readonly doubleCounted: number;
    /** Operations of the scan no label matches. */
    readonly unlabelled: number;
    /**
     * Operations built from records of two or more labelled operations (a join took another
     * call's record); each counts for the label most of its records belong to. All scenarios only.
     */
    readonly mixed?: number;
  };
}

export interface Evaluation {
  readonly all: Figures;
  /** The same, restricted to scenarios built only from verified formats. */
  readonly verified: Figures;
  readonly period: {
    readonly start?: string;
    readonly end?: string;
    readonly days: number;
    readonly hosts: number;
  };
  readonly severity: string;
}

export interface ScoreInput {
  readonly labels: Labels;
  readonly operations: readonly Operation[];
  readonly alerts: readonly Alert[];
  readonly incidents: readonly Incident[];
  /** Labels before this instant are learning data: left out of every figure. */
  readonly from?: number;
}

/** The keys of the lines an operation was built from (labels.ts `keys`). */
export function operationKeys(op: Operation): string[] {
  const keys: string[] = [];
  for (const o of op.observations) {
    if (o.kind === "hostd.event" && o.eventKey !== undefined)
      keys.push(`hostd|${o.host ?? op.host ?? ""}|${o.eventKey}`);
    else if (
      (o.kind === "vmx.request" || o.kind === "vmx.response") &&
      o.opId !== undefined &&
      o.seq !== undefined
    )
      keys.push(`vmx|${o.opId}|${o.seq}`);
    else if (o.kind === "vpxd.lro" && o.eventKey !== undefined) keys.push(`lro|${o.eventKey}`);
    else if ((o.kind === "vc.event" || o.kind === "vc.auth-failure") && o.eventKey !== undefined)
      keys.push(`vc|${o.eventKey}`);
  }
  return keys;
}

export function score(input: ScoreInput): Evaluation {
  const from = input.from;
  const labels = input.labels.operations.filter(
    (l) => from === undefined || Date.parse(l.time) >= from,
  );
  const byKey = new Map<string, number>();
  const loose = new Map<string, number[]>();
  labels.forEach((l, i) => {
    if (l.keys?.length) for (const k of l.keys) byKey.set(k, i);
    else {
      const k = `${l.vm.toLowerCase()}\u0000${l.api}`;
      const list = loose.get(k) ?? [];
      list.push(i);
      loose.set(k, list);
    }
  });
  // operation id -> labels it stands for; label -> operations standing for it
  const labelsOf = new Map<string, Set<number>>();
  let mixed = 0;
  const opsOf = new Map<number, Operation[]>();
  for (const op of input.operations) {
    // the label most of its records belong to (ties: the earliest record's)
    const votes = new Map<number, number>();
    for (const k of operationKeys(op)) {
      const i = byKey.get(k);
      if (i !== undefined) votes.set(i, (votes.get(i) ?? 0) + 1);
    }
    if (votes.size > 1) mixed++;
    const found = new Set<number>();
    let top: number | undefined;
    for (const [i, n] of votes) if (top === undefined || n > (votes.get(top) ?? 0)) top = i;
    if (top !== undefined) found.add(top);
    if (found.size === 0 && loose.size > 0 && op.time !== undefined) {
      const t = Date.parse(op.time);
      const list = loose.get(`${(op.vm.name ?? "").toLowerCase()}\u0000${op.api}`) ?? [];
      let best: number | undefined;
      let bestGap = MATCH_TOLERANCE_MS + 1;
      for (const i of list) {
        const gap = Math.abs(Date.parse(labels[i]?.time ?? "") - t);
        if (gap < bestGap && !opsOf.has(i)) {
          best = i;
          bestGap = gap;
        }
      }
      if (best !== undefined) found.add(best);
    }
    labelsOf.set(op.id, found);
    for (const i of found) {
      const list = opsOf.get(i) ?? [];
      list.push(op);
      opsOf.set(i, list);
    }
  }
  const scenarioOps = new Map<string, number[]>();
  labels.forEach((l, i) => {
    const list = scenarioOps.get(l.scenario) ?? [];
    list.push(i);
    scenarioOps.set(l.scenario, list);
  });
  const verifiedScenario = (id: string): boolean =>
    (scenarioOps.get(id) ?? []).every((i) => labels[i]?.verified === true);

  const fleet = input.labels.fleet;
  const times = labels.map((l) => Date.parse(l.time));
  const start = Math.max(
    from ?? -Infinity,
    fleet?.start ? Date.parse(fleet.start) : Math.min(...times),
  );
  const end = fleet?.end ? Date.parse(fleet.end) : Math.max(...times);
  const days =
    Number.isFinite(start) && Number.isFinite(end) && end > start ? (end - start) / 86_400_000 : 0;
  const hosts =
    fleet?.hosts ?? new Set(labels.map((l) => l.host).filter((h) => h !== undefined)).size;

  const figures = (inScope: (scenario: string) => boolean, all: boolean): Figures =>
    figuresFor(
      input,
      labels,
      labelsOf,
      opsOf,
      scenarioOps,
      inScope,
      all,
      verifiedScenario,
      days,
      hosts,
      mixed,
    );
  return {
    all: figures(() => true, true),
    verified: figures(verifiedScenario, false),
    period: {
      ...(Number.isFinite(start) ? { start: new Date(start).toISOString() } : {}),
      ...(Number.isFinite(end) ? { end: new Date(end).toISOString() } : {}),
      days,
      hosts,
    },
    severity: COUNTED_SEVERITY,
  };
}

function figuresFor(
  input: ScoreInput,
  labels: readonly OperationLabel[],
  labelsOf: ReadonlyMap<string, ReadonlySet<number>>,
  opsOf: ReadonlyMap<number, readonly Operation[]>,
  scenarioOps: ReadonlyMap<string, readonly number[]>,
  inScope: (scenario: string) => boolean,
  all: boolean,
  verifiedScenario: (id: string) => boolean,
  days: number,
  hosts: number,
  mixed: number,
): Figures {
  const scenarios = input.labels.scenarios;
  const isAttack = (id: string): boolean => scenarios.get(id)?.attack === true;
  const threshold = severityRank(COUNTED_SEVERITY);
  const counted = (a: Alert): boolean => severityRank(a.severity) >= threshold;

  // per alert: the scenarios of its operations
  const alertScenarios = new Map<Alert, Set<string>>();
  for (const a of input.alerts) {
    const s = new Set<string>();
    for (const op of a.operations)
      for (const i of labelsOf.get(op.id) ?? []) s.add(labels[i]?.scenario ?? "");
    alertScenarios.set(a, s);
  }

  const results: ScenarioScore[] = [];
  for (const [id, info] of scenarios) {
    if (!info.attack || !inScope(id)) continue;
    const idx = scenarioOps.get(id) ?? [];
    if (idx.length === 0) continue;
    const mine = new Set<string>();
    for (const i of idx) for (const op of opsOf.get(i) ?? []) mine.add(op.id);
    const holding = input.alerts.filter((a) => a.operations.some((o) => mine.has(o.id)));
    const strong = holding.filter(counted);
    const rules = new Set<string>();
    let fired = Infinity;
    for (const a of strong) {
      for (const r of a.rules) rules.add(r);
      for (const o of a.operations) {
        if (o.rules.length && o.time !== undefined) fired = Math.min(fired, Date.parse(o.time));
      }
    }
    const first = Math.min(...idx.map((i) => Date.parse(labels[i]?.time ?? "")));
    results.push({
      id,
      ...(info.description !== undefined ? { description: info.description } : {}),
      verified: verifiedScenario(id),
      operations: idx.length,
      caught: strong.length > 0,
      rules: [...rules].sort(),
      alerts: holding.length,
      incidents: new Set(holding.map((a) => a.incident ?? a.id)).size,
      ...(Number.isFinite(first) ? { firstOperation: new Date(first).toISOString() } : {}),
      ...(Number.isFinite(fired)
        ? { firstAlert: new Date(fired).toISOString(), timeToAlertMs: Math.max(0, fired - first) }
        : {}),
    });
  }

  let truePositives = 0;
  let falsePositives = 0;
  let unlabelled = 0;
  let countedAlerts = 0;
  // the restricted figures judge only the alerts holding an operation of their scenarios
  const scoped = (a: Alert): boolean => all || [...(alertScenarios.get(a) ?? [])].some(inScope);
  for (const a of input.alerts) {
    if (!counted(a) || !scoped(a)) continue;
    countedAlerts++;
    const s = alertScenarios.get(a) ?? new Set();
    if ([...s].some((id) => isAttack(id) && inScope(id))) truePositives++;
    else {
      falsePositives++;
      if (s.size === 0) unlabelled++;
    }
  }

  let right = 0;
  let wrong = 0;
  let unknown = 0;
  let found = 0;
  let missed = 0;
  let doubleCounted = 0;
  labels.forEach((l, i) => {
    if (!inScope(l.scenario)) return;
    const ops = opsOf.get(i) ?? [];
    if (ops.length === 0) {
      missed++;
      return;
    }
    found++;
    if (ops.length > 1) doubleCounted++;
    const want = labelPrincipal(l);
    if (want === undefined) return;
    const got = ops[0]?.attribution;
    if (!got?.principal || got.level === "ambiguous" || got.level === "unknown") unknown++;
    else if (got.principal.id === want) right++;
    else wrong++;
  });
  let opsUnlabelled = 0;
  if (all)
    for (const op of input.operations) if ((labelsOf.get(op.id)?.size ?? 0) === 0) opsUnlabelled++;

  return {
    scenarios: results,
    attacks: { total: results.length, caught: results.filter((r) => r.caught).length },
    alerts: {
      counted: countedAlerts,
      true: truePositives,
      false: falsePositives,
      unlabelled,
      precision: countedAlerts ? truePositives / countedAlerts : null,
    },
    benignAlertsPer100HostsPerDay:
      days > 0 && hosts > 0 ? falsePositives / (hosts / 100) / days : null,
    attribution: { right, wrong, unknown },
    operations: {
      labelled: found + missed,
      found,
      missed,
      doubleCounted,
      unlabelled: opsUnlabelled,
      ...(all ? { mixed } : {}),
    },
  };
}

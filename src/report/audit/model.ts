/**
 * The audit report as data (`guestops.report/1`): headline answers, who, which VMs, when (timeline
 * and hour-of-week in the site's zone), incidents, alerts with their evidence lines, and the
 * logging coverage. Built from the scan and the coverage, pure: the same inputs give the same
 * report (nothing is read from the clock). The HTML, Markdown and JSON writers render this.
 * Large estates are aggregated: tables list the leading rows and sum the rest.
 */
import { DateTime } from "luxon";
import { LEVEL_ORDER } from "../../attribute/summary.js";
import type { CoverageReport } from "../../coverage/findings.js";
import { vmLabelOf } from "../../coverage/collect.js";
import { SEVERITIES, severityRank, type Severity } from "../../model/alert.js";
import type { AttributionLevel, Operation } from "../../model/operation.js";
import {
  accountPolicy,
  expectation,
  factsFromOperation,
  isBusinessHours,
  siteFor,
  vmTier,
} from "../../policy/evaluate.js";
import type { Policy } from "../../policy/types.js";
import type { Analysis } from "../../pipeline.js";

export const REPORT_SCHEMA = "guestops.report/1";

/** Rows listed per table before the rest is summed up. */
export const ROW_LIMITS = { principals: 50, vms: 50, alerts: 100, incidents: 50 } as const;
/** Evidence lines shown per alert, and their length. */
export const EVIDENCE_LINES = 3;
export const EVIDENCE_CHARS = 400;
/** More days than this and the timeline counts by week. */
export const DAILY_LIMIT = 92;

const UNATTRIBUTED = "(not attributed)";

export interface Share {
  readonly count: number;
  /** count / operations, 0 without operations. */
  readonly share: number;
}

export interface Headline {
  readonly operations: number;
  readonly principals: number;
  readonly vms: number;
  readonly hosts: number;
  readonly first?: string;
  readonly last?: string;
  readonly expected: number;
  readonly unexpected: number;
  readonly afterHours: Share;
  readonly critical: Share;
  /** exact + correlated. */
  readonly attributed: Share;
  readonly levels: Readonly<Record<AttributionLevel, number>>;
  readonly unattributedReasons: readonly {
    readonly reason: string;
    readonly operations: number;
    readonly advice: string;
  }[];
  readonly incidents: { readonly total: number; readonly bySeverity: Record<Severity, number> };
  readonly alerts: {
    readonly total: number;
    readonly bySeverity: Record<Severity, number>;
    /** Alerts not raised: exceptions covered every finding of theirs (absent: none). */
    readonly excepted?: number;
  };
}

export interface PrincipalRow {
  readonly principal: string;
  readonly level: string;
  /** The policy's role for the account, or `not in policy`. */
  readonly role: string;
  readonly operations: number;
  readonly vms: number;
  readonly methods: readonly string[];
  /** Local hours (site zone) the operations fell in: `08–17`, or a list. */
  readonly hours: string;
  readonly afterHours: number;
  readonly expected: number;
  readonly unexpected: number;
}

export interface VmRow {
  readonly vm: string;
  readonly tier?: string;
  readonly critical: boolean;
  readonly operations: number;
  readonly principals: number;
  readonly methods: readonly string[];
  readonly unexpected: number;
  readonly first?: string;
  readonly last?: string;
}

/** What a table left out: how many rows and the operations they hold. */
export interface Rest {
  readonly rows: number;
  readonly operations: number;
}

export interface TimelinePoint {
  /** The local date (site zone) the day or week starts on. */
  readonly start: string;
  readonly operations: number;
  readonly unexpected: number;
}

export interface EvidenceLine {
  readonly where: string;
  readonly kind: string;
  readonly text: string;
}

export interface AlertRow {
  readonly id: string;
  readonly severity: Severity;
  readonly title: string;
  readonly principal: string;
  readonly vm: string;
  readonly host?: string;
  readonly first?: string;
  readonly last?: string;
  readonly count: number;
  readonly rules: readonly string[];
  readonly reasons: readonly string[];
  readonly evidence: readonly EvidenceLine[];
  readonly incident?: string;
}

export interface IncidentRow {
  readonly id: string;
  readonly severity: Severity;
  readonly title: string;
  readonly principals: readonly string[];
  readonly vms: readonly string[];
  readonly first?: string;
  readonly last?: string;
  readonly alerts: number;
  readonly operations: number;
}

export interface AuditReport {
  readonly schema: typeof REPORT_SCHEMA;
  readonly title: string;
  readonly policy: string;
  readonly site: string;
  readonly zone: string;
  readonly since?: string;
  readonly until?: string;
  readonly inputs: { readonly files: number; readonly records: number };
  readonly headline: Headline;
  /** The headline in plain sentences. */
  readonly answers: readonly string[];
  readonly principals: readonly PrincipalRow[];
  readonly principalsRest?: Rest;
  readonly vms: readonly VmRow[];
  readonly vmsRest?: Rest;
  readonly timeline: { readonly unit: "day" | "week"; readonly points: readonly TimelinePoint[] };
  /** Operations per local weekday (0 = Monday) and hour. */
  readonly heatmap: readonly (readonly number[])[];
  readonly incidents: readonly IncidentRow[];
  readonly incidentsRest?: Rest;
  readonly alerts: readonly AlertRow[];
  readonly alertsRest?: Rest;
  readonly coverage: CoverageReport;
}

export interface ReportOptions {
  readonly policyName: string;
  /** Inputs and records the report rests on (read now, or held by the store). */
  readonly inputs: { readonly files: number; readonly records: number };
  readonly since?: number;
  readonly until?: number;
  readonly title?: string;
}

const cmp = (a: string, b: string): number => (a < b ? -1 : a > b ? 1 : 0);
const zeroSeverities = (): Record<Severity, number> =>
  Object.fromEntries(SEVERITIES.map((s) => [s, 0])) as Record<Severity, number>;
const shareOf = (count: number, total: number): Share => ({
  count,
  share: total === 0 ? 0 : count / total,
});
export const percent = (s: Share): string => `${Math.round(s.share * 100)}%`;
const plural = (n: number, one: string, many = `${one}s`): string => `${n} ${n === 1 ? one : many}`;

function principalOf(op: Operation): { key: string; display: string } {
  const a = op.attribution;
  if ((a.level === "exact" || a.level === "correlated" || a.level === "inferred") && a.principal) {
    return { key: a.principal.id, display: a.principal.display };
  }
  return { key: UNATTRIBUTED, display: UNATTRIBUTED };
}

/** `08–17` for a contiguous run of hours, else the hours listed. */
function hoursText(hours: ReadonlySet<number>): string {
  const list = [...hours].sort((a, b) => a - b);
  if (list.length === 0) return "-";
  const two = (h: number): string => String(h).padStart(2, "0");
  const contiguous = list.every((h, i) => i === 0 || h === list[i - 1]! + 1);
  if (contiguous)
    return list.length === 1 ? two(list[0]!) : `${two(list[0]!)}–${two(list.at(-1)!)}`;
  return list.length <= 8 ? list.map(two).join(", ") : `${list.length} different hours`;
}

function topMethods(counts: ReadonlyMap<string, number>, max = 5): string[] {
  return [...counts]
    .sort((a, b) => b[1] - a[1] || cmp(a[0], b[0]))
    .slice(0, max)
    .map(([m, n]) => `${m} ×${n}`);
}

function limit<T extends { operations: number }>(
  rows: readonly T[],
  max: number,
): { rows: T[]; rest?: Rest } {
  if (rows.length <= max) return { rows: [...rows] };
  const rest = rows.slice(max);
  return {
    rows: rows.slice(0, max),
    rest: { rows: rest.length, operations: rest.reduce((n, r) => n + r.operations, 0) },
  };
}

const rawText = (o: Operation["observations"][number]): string =>
  o.prov.rawEncoding === "base64"
    ? `(bytes not UTF-8: ${o.prov.raw.length} base64 characters)`
    : o.prov.raw.length > EVIDENCE_CHARS
      ? `${o.prov.raw.slice(0, EVIDENCE_CHARS - 1)}…`
      : o.prov.raw;

export function buildReport(
  analysis: Analysis,
  operations: readonly Operation[],
  coverage: CoverageReport,
  policy: Policy,
  options: ReportOptions,
): AuditReport {
  const ops = operations.filter((o) => !o.hidden);
  const site = policy.defaultSite;
  // one zone for one site; with several, each operation is placed in its own site's local time
  const zones = [...new Set(policy.sites.map((s) => s.zone))];
  const zone = zones.length === 1 ? site.zone : "each site's local time";
  const principals = new Map<
    string,
    {
      display: string;
      level: AttributionLevel;
      role: string;
      operations: number;
      vms: Set<string>;
      methods: Map<string, number>;
      hours: Set<number>;
      afterHours: number;
      expected: number;
    }
  >();
  const vms = new Map<
    string,
    {
      tier: string | undefined;
      operations: number;
      principals: Set<string>;
      methods: Map<string, number>;
      unexpected: number;
      first?: string;
      last?: string;
    }
  >();
  const hosts = new Set<string>();
  const heatmap = Array.from({ length: 7 }, () => Array.from({ length: 24 }, () => 0));
  const days = new Map<string, { operations: number; unexpected: number }>();
  let expected = 0;
  let afterHours = 0;
  let critical = 0;
  let first: string | undefined;
  let last: string | undefined;
  for (const op of ops) {
    const facts = factsFromOperation(op);
    const verdict = expectation(policy, facts);
    const ms = op.time === undefined ? Number.NaN : Date.parse(op.time);
    const opSite = siteFor(policy, op.host, op.vcenter).site;
    const after = !Number.isNaN(ms) && !isBusinessHours(ms, opSite).ok;
    if (verdict.expected) expected++;
    if (after) afterHours++;
    if (verdict.critical) critical++;
    if (op.host !== undefined) hosts.add(op.host.toLowerCase());
    if (op.time !== undefined) {
      if (first === undefined || op.time < first) first = op.time;
      if (last === undefined || op.time > last) last = op.time;
    }
    const who = principalOf(op);
    let p = principals.get(who.key);
    if (!p) {
      const account = facts.principal ? accountPolicy(policy, facts.principal) : undefined;
      p = {
        display: who.display,
        level: op.attribution.level,
        role: account ? account.account.role : who.key === UNATTRIBUTED ? "-" : "not in policy",
        operations: 0,
        vms: new Set(),
        methods: new Map(),
        hours: new Set(),
        afterHours: 0,
        expected: 0,
      };
      principals.set(who.key, p);
    }
    if (LEVEL_ORDER.indexOf(op.attribution.level) < LEVEL_ORDER.indexOf(p.level)) {
      p.level = op.attribution.level;
    }
    p.operations++;
    const vmName = vmLabelOf(op.vm) ?? "(unknown VM)";
    p.vms.add(vmName);
    p.methods.set(op.api, (p.methods.get(op.api) ?? 0) + 1);
    if (after) p.afterHours++;
    if (verdict.expected) p.expected++;
    let v = vms.get(vmName);
    if (!v) {
      v = {
        tier: vmTier(policy, facts.vm ?? {}),
        operations: 0,
        principals: new Set(),
        methods: new Map(),
        unexpected: 0,
      };
      vms.set(vmName, v);
    }
    v.operations++;
    v.principals.add(who.key);
    v.methods.set(op.api, (v.methods.get(op.api) ?? 0) + 1);
    if (!verdict.expected) v.unexpected++;
    if (op.time !== undefined) {
      if (v.first === undefined || op.time < v.first) v.first = op.time;
      if (v.last === undefined || op.time > v.last) v.last = op.time;
    }
    if (!Number.isNaN(ms)) {
      const local = DateTime.fromMillis(ms, { zone: opSite.zone });
      const row = heatmap[local.weekday - 1]!;
      row[local.hour] = (row[local.hour] ?? 0) + 1;
      p.hours.add(local.hour);
      const day = local.toISODate() ?? "";
      const d = days.get(day) ?? { operations: 0, unexpected: 0 };
      d.operations++;
      if (!verdict.expected) d.unexpected++;
      days.set(day, d);
    }
  }

  const principalRows: PrincipalRow[] = [...principals.values()]
    .map((p) => ({
      principal: p.display,
      level: p.level,
      role: p.role,
      operations: p.operations,
      vms: p.vms.size,
      methods: topMethods(p.methods),
      hours: hoursText(p.hours),
      afterHours: p.afterHours,
      expected: p.expected,
      unexpected: p.operations - p.expected,
    }))
    .sort(
      (a, b) =>
        b.unexpected - a.unexpected || b.operations - a.operations || cmp(a.principal, b.principal),
    );
  const tierRank = (tier: string | undefined): number => {
    if (tier === "critical") return 0;
    if (tier === undefined) return policy.tiers.length + 1;
    const i = policy.tiers.findIndex((t) => t.name === tier);
    return i < 0 ? policy.tiers.length : i + 1;
  };
  const vmRows: VmRow[] = [...vms.entries()]
    .map(([vm, v]) => ({
      vm,
      ...(v.tier !== undefined ? { tier: v.tier } : {}),
      critical: v.tier === "critical",
      operations: v.operations,
      principals: v.principals.size,
      methods: topMethods(v.methods),
      unexpected: v.unexpected,
      ...(v.first !== undefined ? { first: v.first } : {}),
      ...(v.last !== undefined ? { last: v.last } : {}),
    }))
    .sort(
      (a, b) =>
        tierRank(a.tier) - tierRank(b.tier) || b.operations - a.operations || cmp(a.vm, b.vm),
    );

  const timeline = timelineOf(days);
  const detection = analysis.detection;
  const byId = new Map(operations.map((o) => [o.id, o]));
  const alertRows: AlertRow[] = [...detection.alerts]
    .sort(
      (a, b) =>
        severityRank(b.severity) - severityRank(a.severity) ||
        cmp(a.firstSeen ?? "", b.firstSeen ?? "") ||
        cmp(a.id, b.id),
    )
    .map((a) => {
      const evidence: EvidenceLine[] = [];
      for (const ref of a.operations) {
        const op = byId.get(ref.id);
        for (const o of op?.observations ?? []) {
          if (evidence.length >= EVIDENCE_LINES) break;
          const src = o.prov.source;
          evidence.push({
            where: `${src.member !== undefined ? `${src.path}!${src.member}` : src.path}:${o.prov.line}`,
            kind: o.kind,
            text: rawText(o),
          });
        }
        if (evidence.length >= EVIDENCE_LINES) break;
      }
      return {
        id: a.id,
        severity: a.severity,
        title: a.title,
        principal: a.principal.display,
        vm: a.vm,
        ...(a.host !== undefined ? { host: a.host } : {}),
        ...(a.firstSeen !== undefined ? { first: a.firstSeen } : {}),
        ...(a.lastSeen !== undefined ? { last: a.lastSeen } : {}),
        count: a.count,
        rules: a.rules,
        reasons: a.reasons,
        evidence,
        ...(a.incident !== undefined ? { incident: a.incident } : {}),
      };
    });
  const incidentRows: IncidentRow[] = [...detection.incidents]
    .sort(
      (a, b) =>
        severityRank(b.severity) - severityRank(a.severity) ||
        cmp(a.firstSeen ?? "", b.firstSeen ?? "") ||
        cmp(a.id, b.id),
    )
    .map((i) => ({
      id: i.id,
      severity: i.severity,
      title: i.title,
      principals: i.principals.map((p) => p.display),
      vms: i.vms,
      ...(i.firstSeen !== undefined ? { first: i.firstSeen } : {}),
      ...(i.lastSeen !== undefined ? { last: i.lastSeen } : {}),
      alerts: i.alerts.length,
      operations: i.operations,
    }));

  const alertsBySeverity = zeroSeverities();
  for (const a of detection.alerts) alertsBySeverity[a.severity]++;
  const incidentsBySeverity = zeroSeverities();
  for (const i of detection.incidents) incidentsBySeverity[i.severity]++;
  const attribution = analysis.attribution;
  const reasons = new Map<string, { reason: string; operations: number; advice: string }>();
  for (const h of attribution.perHost) {
    for (const g of h.gaps) {
      const r = reasons.get(g.reason) ?? { reason: g.reason, operations: 0, advice: g.advice };
      r.operations += g.operations;
      reasons.set(g.reason, r);
    }
  }
  const attributedCount = attribution.levels.exact + attribution.levels.correlated;
  const headline: Headline = {
    operations: ops.length,
    principals: [...principals.keys()].filter((k) => k !== UNATTRIBUTED).length,
    vms: vms.size,
    hosts: hosts.size,
    ...(first !== undefined ? { first } : {}),
    ...(last !== undefined ? { last } : {}),
    expected,
    unexpected: ops.length - expected,
    afterHours: shareOf(afterHours, ops.length),
    critical: shareOf(critical, ops.length),
    attributed: shareOf(attributedCount, ops.length),
    levels: attribution.levels,
    unattributedReasons: [...reasons.values()].sort(
      (a, b) => b.operations - a.operations || cmp(a.reason, b.reason),
    ),
    incidents: { total: detection.incidents.length, bySeverity: incidentsBySeverity },
    alerts: {
      total: detection.alerts.length,
      bySeverity: alertsBySeverity,
      ...(detection.excepted?.length ? { excepted: detection.excepted.length } : {}),
    },
  };
  const p = limit(principalRows, ROW_LIMITS.principals);
  const v = limit(vmRows, ROW_LIMITS.vms);
  const al = limitCount(alertRows, ROW_LIMITS.alerts);
  const inc = limitCount(incidentRows, ROW_LIMITS.incidents);
  return {
    schema: REPORT_SCHEMA,
    title: options.title ?? "Guest operations audit",
    policy: options.policyName,
    site: site.name,
    zone,
    ...(options.since !== undefined ? { since: new Date(options.since).toISOString() } : {}),
    ...(options.until !== undefined ? { until: new Date(options.until).toISOString() } : {}),
    inputs: options.inputs,
    headline,
    answers: answersOf(headline, incidentRows, zone),
    principals: p.rows,
    ...(p.rest ? { principalsRest: p.rest } : {}),
    vms: v.rows,
    ...(v.rest ? { vmsRest: v.rest } : {}),
    timeline,
    heatmap,
    incidents: inc.rows,
    ...(inc.rest ? { incidentsRest: inc.rest } : {}),
    alerts: al.rows,
    ...(al.rest ? { alertsRest: al.rest } : {}),
    coverage,
  };
}

function limitCount<T>(rows: readonly T[], max: number): { rows: T[]; rest?: Rest } {
  if (rows.length <= max) return { rows: [...rows] };
  return { rows: rows.slice(0, max), rest: { rows: rows.length - max, operations: 0 } };
}

function timelineOf(
  days: ReadonlyMap<string, { operations: number; unexpected: number }>,
): AuditReport["timeline"] {
  const sorted = [...days.keys()].sort(cmp);
  if (sorted.length === 0) return { unit: "day", points: [] };
  const start = DateTime.fromISO(sorted[0]!, { zone: "UTC" });
  const end = DateTime.fromISO(sorted.at(-1)!, { zone: "UTC" });
  const span = Math.round(end.diff(start, "days").days) + 1;
  const unit = span > DAILY_LIMIT ? "week" : "day";
  const buckets = new Map<string, { operations: number; unexpected: number }>();
  // every day (or week) of the span, empty ones too: a gap in activity shows as a gap
  const first = unit === "week" ? start.startOf("week") : start;
  for (let d = first; d <= end; d = d.plus(unit === "week" ? { weeks: 1 } : { days: 1 })) {
    buckets.set(d.toISODate() ?? "", { operations: 0, unexpected: 0 });
  }
  for (const [day, c] of days) {
    const key =
      unit === "week"
        ? (DateTime.fromISO(day, { zone: "UTC" }).startOf("week").toISODate() ?? "")
        : day;
    const b = buckets.get(key);
    if (!b) continue;
    b.operations += c.operations;
    b.unexpected += c.unexpected;
  }
  return {
    unit,
    points: [...buckets].map(([s, c]) => ({ start: s, ...c })),
  };
}

/** The headline answers, in plain sentences (names inside are log-derived: escape on output). */
function answersOf(h: Headline, incidents: readonly IncidentRow[], zone: string): string[] {
  if (h.operations === 0) {
    return ["No guest operation was found in the evidence read for this period."];
  }
  const out: string[] = [];
  const period =
    h.first !== undefined && h.last !== undefined
      ? ` between ${h.first.slice(0, 10)} and ${h.last.slice(0, 10)}`
      : "";
  out.push(
    `${plural(h.operations, "guest operation")} by ${plural(h.principals, "identified principal")} on ${plural(h.vms, "VM")}${period} (times in ${zone}).`,
  );
  out.push(
    `${h.expected} ${h.expected === 1 ? "was" : "were"} expected by the policy (an approved account, method, VM and time, or an approved window); ${h.unexpected} ${h.unexpected === 1 ? "was" : "were"} not.`,
  );
  out.push(
    `${h.afterHours.count} (${percent(h.afterHours)}) happened outside business hours; ${h.critical.count} (${percent(h.critical)}) touched critical VMs.`,
  );
  const reasons = h.unattributedReasons
    .slice(0, 3)
    .map((r) => `${r.operations} ${r.reason}`)
    .join("; ");
  out.push(
    `${h.attributed.count} of ${h.operations} (${percent(h.attributed)}) are attributed to an accountable identity${
      h.attributed.count < h.operations
        ? `; not attributed: ${reasons || "no record names the account"}`
        : ""
    }.`,
  );
  if (h.incidents.total === 0) out.push("No incident was raised.");
  else {
    const counts = [...SEVERITIES]
      .reverse()
      .filter((s) => h.incidents.bySeverity[s] > 0)
      .map((s) => `${h.incidents.bySeverity[s]} ${s}`)
      .join(", ");
    const top = incidents[0];
    out.push(
      `${plural(h.incidents.total, "incident")} (${counts})${top ? `; the most severe: ${top.title}` : ""}.`,
    );
  }
  return out;
}

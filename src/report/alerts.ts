/**
 * Incident and alert formatters for `guestops scan`: table (people), ndjson and json (machines),
 * csv (spreadsheets). Incidents come first, most severe first, each with its alerts. Every string that may come from a log is escaped: terminal control characters
 * made visible in table and csv, CSV formulas neutralised, JSON written with `safeJsonStringify`.
 */
import { SEVERITIES, severityRank, type Alert, type Severity } from "../model/alert.js";
import type { Incident } from "../model/incident.js";
import type { AttributionLevel } from "../model/operation.js";
import { csvRow, escapeTerminal, type CsvValue, safeJsonStringify } from "./escape.js";
import { skippedText, type ReportInputs } from "./inputs.js";
import { padToWidth } from "../shared/width.js";
import {
  cellsOf,
  displayTime,
  layoutTable,
  paint,
  PLAIN_DISPLAY,
  tableLine,
  timeTitle,
  wrapped,
  type Column,
  type TableDisplay,
} from "./table.js";

export const ALERT_FORMATS = ["table", "ndjson", "json", "csv"] as const;
export type AlertFormat = (typeof ALERT_FORMATS)[number];

/** What a scan states about itself (stderr, or the final member under `--format json`). */
export interface ScanSummary extends ReportInputs {
  readonly tool: { readonly name: "guestops"; readonly version: string };
  readonly policy: string;
  /** The policy's recurrences that hit an expansion cap or stopped in this run (none: absent). */
  readonly policyWarnings?: readonly string[];
  /** IANA zone used for timestamps without one (`--assume-tz`). */
  readonly assumeTz: string;
  readonly since?: string;
  readonly until?: string;
  readonly records: number;
  readonly operations: number;
  /** Operations left out by --since/--until. */
  readonly outsideTimeRange: number;
  readonly attribution: {
    readonly levels: Readonly<Record<AttributionLevel, number>>;
    /** (exact + correlated) / operations; 0 when there are none. */
    readonly coverage: number;
    /** What to collect to attribute the rest. */
    readonly hints: readonly string[];
  };
  readonly incidents: {
    readonly total: number;
    readonly bySeverity: Readonly<Record<Severity, number>>;
  };
  readonly alerts: {
    readonly total: number;
    readonly bySeverity: Readonly<Record<Severity, number>>;
    readonly byRule: Readonly<Record<string, number>>;
  };
  /**
   * Alerts not raised because active exceptions covered every finding of theirs (docs/policy.md#exceptions),
   * each with the exceptions that did; absent when none.
   */
  readonly excepted?: {
    readonly total: number;
    readonly alerts: readonly {
      readonly id: string;
      readonly title: string;
      readonly severity: Severity;
      readonly firstSeen?: string;
      readonly exceptions: readonly {
        readonly id: string;
        readonly ticket: string;
        readonly owner: string;
        readonly expires: string;
        readonly findings: number;
      }[];
    }[];
  };
  readonly rules: {
    readonly ran: readonly string[];
    readonly disabled: readonly { readonly rule: string; readonly why: string }[];
    /** What rules could not judge and why (baseline warm-up); absent when none. */
    readonly notes?: readonly { readonly rule: string; readonly note: string }[];
    readonly failures: readonly {
      readonly rule: string;
      readonly stage: string;
      readonly count: number;
      readonly message: string;
    }[];
  };
}

/** Version of the JSON document shape (`--format json`): 2 added `incidents`. */
export const ALERTS_JSON_VERSION = 2;

/**
 * Renders incidents and alerts (and, for json, the summary as the final member) in one format.
 * Incidents in the order given (the engine's: most severe first), each followed by its alerts;
 * alerts no given incident holds come last, so none is ever left out.
 */
export function formatAlerts(
  format: AlertFormat,
  alerts: readonly Alert[],
  summary: ScanSummary,
  incidents: readonly Incident[],
  display: TableDisplay = PLAIN_DISPLAY,
): string {
  switch (format) {
    case "table":
      return scanTable(incidents, alerts, display);
    case "ndjson":
      return scanNdjson(incidents, alerts);
    case "json":
      return safeJsonStringify({ version: ALERTS_JSON_VERSION, incidents, alerts, summary }, 2);
    case "csv":
      return scanCsv(incidents, alerts);
  }
}

/** Each incident with its alerts (in timeline order), then the alerts no incident holds. */
export function byIncident(
  incidents: readonly Incident[],
  alerts: readonly Alert[],
): { incident: Incident | undefined; alerts: Alert[] }[] {
  const byId = new Map(alerts.map((a) => [a.id, a]));
  const placed = new Set<string>();
  const groups: { incident: Incident | undefined; alerts: Alert[] }[] = [];
  for (const incident of incidents) {
    const members: Alert[] = [];
    for (const id of incident.alerts) {
      const a = byId.get(id);
      if (a && !placed.has(id)) {
        placed.add(id);
        members.push(a);
      }
    }
    groups.push({ incident, alerts: members });
  }
  const rest = alerts.filter((a) => !placed.has(a.id));
  if (rest.length > 0) groups.push({ incident: undefined, alerts: rest });
  return groups;
}

/** NDJSON: one object per line, `type` first: each incident, then its alerts. */
export function scanNdjson(incidents: readonly Incident[], alerts: readonly Alert[]): string {
  const lines: string[] = [];
  for (const group of byIncident(incidents, alerts)) {
    if (group.incident) lines.push(safeJsonStringify({ type: "incident", ...group.incident }));
    for (const a of group.alerts) lines.push(safeJsonStringify({ type: "alert", ...a }));
  }
  return lines.join("\n");
}

const CSV_COLUMNS = [
  "id",
  "severity",
  "rules",
  "title",
  "principal",
  "attribution",
  "vm",
  "host",
  "site",
  "first_seen",
  "last_seen",
  "count",
  "methods",
  "attack",
  "reasons",
  "type",
  "incident",
  "alerts",
] as const;

const alertCells = (a: Alert): readonly CsvValue[] => [
  a.id,
  a.severity,
  a.rules.join(";"),
  a.title,
  a.principal.display,
  a.principal.level,
  a.vm,
  a.host,
  a.site,
  a.firstSeen,
  a.lastSeen,
  a.count,
  a.methods.join(";"),
  a.attack.join(";"),
  a.reasons.join(" | "),
  "alert",
  a.incident,
  undefined,
];

const distinct = (items: Iterable<string>): string[] => [...new Set(items)];

/**
 * CSV (RFC 4180, CRLF): one row per incident (`type` incident; `count` is its operations,
 * `reasons` its links, `alerts` its alert ids), each followed by one row per alert of it.
 */
export function scanCsv(incidents: readonly Incident[], alerts: readonly Alert[]): string {
  let out = csvRow(CSV_COLUMNS);
  for (const group of byIncident(incidents, alerts)) {
    const i = group.incident;
    if (i) {
      out += csvRow([
        i.id,
        i.severity,
        i.rules.join(";"),
        i.title,
        i.principals.map((p) => p.display).join(";"),
        distinct(i.principals.map((p) => p.level)).join(";"),
        i.vms.join(";"),
        i.hosts.join(";"),
        distinct(group.alerts.flatMap((a) => (a.site === undefined ? [] : [a.site]))).join(";"),
        i.firstSeen,
        i.lastSeen,
        i.operations,
        distinct(group.alerts.flatMap((a) => a.methods)).join(";"),
        i.attack.join(";"),
        i.links.map(linkText).join(" | "),
        "incident",
        i.id,
        i.alerts.join(";"),
      ]);
    }
    for (const a of group.alerts) out += csvRow(alertCells(a));
  }
  return out.replace(/\r\n$/, "");
}

/** `same principal CORP\alice (3 alerts)`. */
export function linkText(link: Incident["links"][number]): string {
  return `same ${link.by} ${link.value} (${link.alerts.length} alerts)`;
}

/** CSV (RFC 4180, CRLF): one row per alert; lists joined with `;`, reasons with ` | `. */
export function alertsCsv(alerts: readonly Alert[]): string {
  let out = csvRow(CSV_COLUMNS);
  for (const a of alerts) out += csvRow(alertCells(a));
  return out.replace(/\r\n$/, "");
}

const pad = (text: string, width: number): string => padToWidth(text, width);

const shortTime = (iso: string | undefined, zone = "UTC"): string =>
  iso === undefined ? "-" : displayTime(iso, zone, false);

const bySeverityDesc = <T extends { readonly severity: Severity }>(items: readonly T[]): T[] =>
  items
    .map((item, i) => ({ item, i }))
    .sort((x, y) => severityRank(y.item.severity) - severityRank(x.item.severity) || x.i - y.i)
    .map((x) => x.item);

const COUNT_WORDS = ["no", "one", "two", "three", "four", "five", "six"];

/**
 * Why an alert's severity is above every one of its signals' (two or more rules agreeing raise it
 * one step: docs/alerts.md): `two rules agree (a, b): raised from high to critical`. Undefined
 * when the severity is a signal's own.
 */
export function escalationText(alert: Alert): string | undefined {
  if (alert.signals.length === 0) return undefined;
  const top = alert.signals.reduce<Severity>(
    (acc, sig) => (severityRank(sig.severity) > severityRank(acc) ? sig.severity : acc),
    "info",
  );
  if (severityRank(alert.severity) <= severityRank(top)) return undefined;
  const n = alert.rules.length;
  const count = COUNT_WORDS[n] ?? String(n);
  return `${count} rules agree (${alert.rules.join(", ")}): raised from ${top} to ${alert.severity}`;
}

/** The alert columns, priority 0 kept longest (report/table.ts). */
const alertColumns = (zone: string): Column<Alert>[] => [
  { title: "SEVERITY", priority: 0, min: 8, value: (a) => a.severity.toUpperCase() },
  { title: "ID", priority: 3, min: 8, value: (a) => a.id },
  {
    title: timeTitle("FIRST SEEN", zone),
    priority: 0,
    min: 16,
    value: (a) => shortTime(a.firstSeen, zone),
  },
  {
    title: "PRINCIPAL",
    priority: 0,
    min: 12,
    max: 40,
    value: (a) => escapeTerminal(`${a.principal.display} (${a.principal.level})`),
  },
  { title: "VM", priority: 1, min: 8, max: 28, value: (a) => escapeTerminal(a.vm) },
  { title: "HOST", priority: 3, min: 8, max: 28, value: (a) => escapeTerminal(a.host ?? "-") },
  { title: "OPS", priority: 2, min: 3, align: "right", value: (a) => String(a.count) },
  { title: "RULES", priority: 1, min: 10, value: (a) => a.rules.join(", ") },
];

/** Colours the severity cell (the first) of an alert row. */
const severityStyle =
  (severity: Severity, color: boolean) =>
  (cell: string, index: number): string =>
    index === 0 ? paint(cell, severity, color) : cell;

/**
 * The `scan` table: one block per incident, most severe first: a line with its severity, id, time
 * span and size, its title, what linked its alerts and why its severity was raised, then its
 * alerts, most severe first, each with its reasons wrapped under it. The table is fitted to the
 * display's width (columns dropped, values cut with `…`; `--wide` keeps all); titles and reasons
 * are wrapped, never cut. Every log-derived string is escaped.
 */
export function scanTable(
  incidents: readonly Incident[],
  alerts: readonly Alert[],
  display: TableDisplay = PLAIN_DISPLAY,
): string {
  if (alerts.length === 0 && incidents.length === 0) return "No alerts.";
  const groups = byIncident(bySeverityDesc(incidents), alerts);
  const rowIndent = "    ";
  const inner = display.width === undefined ? undefined : display.width - rowIndent.length;
  const layout = layoutTable(alertColumns(display.zone), alerts, { ...display, width: inner });
  const header = tableLine(
    layout.columns.map((c) => c.title),
    layout,
    (cell) => paint(cell, "dim", display.color),
  );
  const text = (line: string, indent: string, hang = "  "): string[] =>
    wrapped(line, indent, display.width, hang);
  const out: string[] = [];
  for (const { incident: i, alerts: members } of groups) {
    if (out.length > 0) out.push("");
    let top: Alert | undefined;
    if (i) {
      const n = i.alerts.length;
      const span =
        i.firstSeen === undefined
          ? "no time"
          : `${shortTime(i.firstSeen, display.zone)} → ${shortTime(i.lastSeen ?? i.firstSeen, display.zone)}`;
      const sev = paint(pad(i.severity.toUpperCase(), 8), i.severity, display.color);
      out.push(
        ...text(
          `INCIDENT ${sev}  ${i.id}  ${span}  ${n} alert${n === 1 ? "" : "s"}, ${i.operations} operation${i.operations === 1 ? "" : "s"}`,
          "",
        ),
      );
      out.push(...text(escapeTerminal(i.title), "  "));
      if (i.links.length > 0) {
        out.push(...text(`linked by: ${escapeTerminal(i.links.map(linkText).join("; "))}`, "  "));
      }
      top = members.find((a) => a.severity === i.severity);
      const raised = top ? escalationText(top) : undefined;
      if (raised) out.push(...text(`${i.severity}: ${raised}`, "  "));
    } else {
      out.push("ALERTS IN NO INCIDENT");
    }
    out.push(`${rowIndent}${header}`);
    for (const a of bySeverityDesc(members)) {
      out.push(
        `${rowIndent}${tableLine(cellsOf(layout, a), layout, severityStyle(a.severity, display.color))}`,
      );
      // the incident's line already explains its top alert's severity
      const raised = i && a.severity === i.severity && a === top ? undefined : escalationText(a);
      if (raised) out.push(...text(`↑ ${raised}`, "        "));
      for (const reason of a.reasons) out.push(...text(`- ${escapeTerminal(reason)}`, "        "));
    }
  }
  if (layout.dropped.length > 0) {
    out.push("", ...text(`(left out to fit: ${layout.dropped.join(", ")}; --wide shows all)`, ""));
  }
  return out.join("\n");
}

/**
 * A table for people: one row per alert, most severe first, its reasons indented below. Cells
 * are escaped and cut to the display's width; reasons are escaped and wrapped, never cut.
 */
export function alertsTable(
  alerts: readonly Alert[],
  display: TableDisplay = PLAIN_DISPLAY,
): string {
  if (alerts.length === 0) return "No alerts.";
  const layout = layoutTable(alertColumns(display.zone), alerts, display);
  const out = [
    tableLine(
      layout.columns.map((c) => c.title),
      layout,
    ),
  ];
  for (const a of bySeverityDesc(alerts)) {
    out.push(tableLine(cellsOf(layout, a), layout, severityStyle(a.severity, display.color)));
    const raised = escalationText(a);
    if (raised) out.push(...wrapped(`↑ ${raised}`, "    ", display.width, "  "));
    for (const reason of a.reasons) {
      out.push(...wrapped(`- ${escapeTerminal(reason)}`, "    ", display.width, "  "));
    }
  }
  return out.join("\n");
}

/** Zero counts for every severity, in order. */
export const emptySeverityCounts = (): Record<Severity, number> =>
  Object.fromEntries(SEVERITIES.map((s) => [s, 0])) as Record<Severity, number>;

/** The summary as lines for stderr (escaped: paths and hints may carry log-derived text). */
export function summaryText(s: ScanSummary): string {
  const out: string[] = [];
  const pct = (n: number): string => `${(n * 100).toFixed(1)}%`;
  out.push(`guestops ${s.tool.version} scan — policy: ${escapeTerminal(s.policy)}`);
  for (const w of s.policyWarnings ?? []) out.push(`  policy warning: ${escapeTerminal(w)}`);
  const range = [s.since ? `since ${s.since}` : "", s.until ? `until ${s.until}` : ""]
    .filter(Boolean)
    .join(", ");
  if (range) out.push(`time range: ${range} (${s.outsideTimeRange} operations outside it)`);
  const formats = Object.entries(s.formats)
    .map(([f, n]) => `${escapeTerminal(f)} ${n}`)
    .join(", ");
  out.push(`inputs: ${s.inputs.length}${formats ? ` (${formats})` : ""}`);
  const issues = Object.entries(s.issues);
  const issueTotal = issues.reduce((n, [, c]) => n + c, 0);
  out.push(
    `issues: ${issueTotal}${issues.length ? ` (${issues.map(([c, n]) => `${escapeTerminal(c)} ${n}`).join(", ")})` : ""}`,
  );
  const skipped = skippedText(s.skipped);
  if (skipped) out.push(skipped);
  const lv = s.attribution.levels;
  out.push(
    `operations: ${s.operations} — exact ${lv.exact}, correlated ${lv.correlated}, inferred ${lv.inferred}, ambiguous ${lv.ambiguous}, unknown ${lv.unknown}; attribution coverage ${pct(s.attribution.coverage)}`,
  );
  for (const hint of s.attribution.hints) out.push(`  hint: ${escapeTerminal(hint)}`);
  const sev = SEVERITIES.slice()
    .reverse()
    .filter((k) => s.alerts.bySeverity[k] > 0)
    .map((k) => `${k} ${s.alerts.bySeverity[k]}`)
    .join(", ");
  const rules = Object.entries(s.alerts.byRule)
    .map(([r, n]) => `${r} ${n}`)
    .join(", ");
  const isev = SEVERITIES.slice()
    .reverse()
    .filter((k) => s.incidents.bySeverity[k] > 0)
    .map((k) => `${k} ${s.incidents.bySeverity[k]}`)
    .join(", ");
  out.push(`incidents: ${s.incidents.total}${isev ? ` (${isev})` : ""}`);
  out.push(
    `alerts: ${s.alerts.total}${sev ? ` (${sev})` : ""}${rules ? `; by rule: ${rules}` : ""}`,
  );
  if (s.excepted && s.excepted.total > 0) {
    // per exception: how many alerts it took away, so nothing vanishes without a word
    const per = new Map<string, { text: string; alerts: number }>();
    for (const a of s.excepted.alerts) {
      for (const x of a.exceptions) {
        const key = x.id;
        const entry = per.get(key) ?? {
          text: `${escapeTerminal(x.ticket)} (owner ${escapeTerminal(x.owner)}, until ${x.expires})`,
          alerts: 0,
        };
        entry.alerts++;
        per.set(key, entry);
      }
    }
    out.push(
      `excepted: ${s.excepted.total} alert(s) not raised, every finding covered by an exception`,
    );
    for (const e of per.values()) out.push(`  exception ${e.text}: ${e.alerts} alert(s)`);
  }
  // one line per reason: six baseline rules waiting for a baseline say so once
  const notRun = new Map<string, string[]>();
  for (const d of s.rules.disabled) notRun.set(d.why, [...(notRun.get(d.why) ?? []), d.rule]);
  for (const [why, rules] of notRun) {
    out.push(`  ${rules.length === 1 ? "rule" : "rules"} ${rules.join(", ")} not run: ${why}`);
  }
  for (const n of s.rules.notes ?? []) out.push(`  rule ${n.rule}: ${escapeTerminal(n.note)}`);
  for (const f of s.rules.failures) {
    out.push(
      `  rule ${f.rule} crashed ${f.count} time(s) in ${f.stage}: ${escapeTerminal(f.message)}`,
    );
  }
  return out.join("\n");
}

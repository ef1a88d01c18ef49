/**
 * Incident and alert formatters for `guestops scan`: table (people), ndjson and json (machines),
 * csv (spreadsheets). Incidents come first, most severe first, each with its alerts. Every string that may come from a log is escaped: terminal control characters
 * made visible in table and csv, CSV formulas neutralised, JSON written with `safeJsonStringify`.
 */
import { SEVERITIES, type Alert, type Severity } from "../model/alert.js";
import type { Incident } from "../model/incident.js";
import type { AttributionLevel } from "../model/operation.js";
import {
  csvRow,
  escapeTerminal,
  type CsvValue,
  safeJsonStringify,
  truncateForDisplay,
} from "./escape.js";
import { skippedText, type ReportInputs } from "./inputs.js";

export const ALERT_FORMATS = ["table", "ndjson", "json", "csv"] as const;
export type AlertFormat = (typeof ALERT_FORMATS)[number];

export const isAlertFormat = (name: string): name is AlertFormat =>
  (ALERT_FORMATS as readonly string[]).includes(name);

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
): string {
  switch (format) {
    case "table":
      return scanTable(incidents, alerts);
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

const pad = (text: string, width: number): string => {
  const len = Array.from(text).length;
  return len >= width ? text : text + " ".repeat(width - len);
};

const shortTime = (iso: string | undefined): string =>
  iso === undefined ? "-" : iso.replace("T", " ").replace(/:\d\d(\.\d+)?Z$/, "Z");

const ALERT_HEADER = [
  "SEVERITY",
  "ID",
  "FIRST SEEN (UTC)",
  "PRINCIPAL",
  "VM",
  "HOST",
  "OPS",
  "RULES",
] as const;

/** One alert's table cells. */
const alertRow = (a: Alert): string[] => [
  a.severity.toUpperCase(),
  a.id,
  shortTime(a.firstSeen),
  truncateForDisplay(`${a.principal.display} (${a.principal.level})`, 36),
  truncateForDisplay(a.vm, 24),
  truncateForDisplay(a.host ?? "-", 24),
  String(a.count),
  a.rules.join(", "),
];

/** Renders rows at column widths fitted to the header and every row (last column not padded). */
function columns(rows: readonly (readonly string[])[]): (cells: readonly string[]) => string {
  const widths = ALERT_HEADER.map((h) => Array.from(h).length);
  for (const r of rows) {
    r.forEach((c, i) => {
      widths[i] = Math.max(widths[i] ?? 0, Array.from(c).length);
    });
  }
  return (cells) =>
    cells
      .map((c, i) => (i === cells.length - 1 ? c : pad(c, widths[i] ?? 0)))
      .join("  ")
      .trimEnd();
}

/**
 * The `scan` table: one block per incident, most severe first: a line with its severity, id, time
 * span and size, its title and what linked its alerts, then its alerts (as in `alertsTable`),
 * indented. Every log-derived string is escaped; cells are cut, titles and reasons never are.
 */
export function scanTable(incidents: readonly Incident[], alerts: readonly Alert[]): string {
  if (alerts.length === 0 && incidents.length === 0) return "No alerts.";
  const groups = byIncident(incidents, alerts);
  const line = columns(alerts.map(alertRow));
  const out: string[] = [];
  for (const { incident: i, alerts: members } of groups) {
    if (out.length > 0) out.push("");
    if (i) {
      const n = i.alerts.length;
      const span =
        i.firstSeen === undefined
          ? "no time"
          : `${shortTime(i.firstSeen)} → ${shortTime(i.lastSeen ?? i.firstSeen)}`;
      out.push(
        `INCIDENT ${pad(i.severity.toUpperCase(), 8)}  ${i.id}  ${span}  ${n} alert${n === 1 ? "" : "s"}, ${i.operations} operation${i.operations === 1 ? "" : "s"}`,
      );
      out.push(`  ${escapeTerminal(i.title)}`);
      if (i.links.length > 0) {
        out.push(`  linked by: ${escapeTerminal(i.links.map(linkText).join("; "))}`);
      }
    } else {
      out.push("ALERTS IN NO INCIDENT");
    }
    out.push(`    ${line(ALERT_HEADER)}`);
    for (const a of members) {
      out.push(`    ${line(alertRow(a))}`);
      for (const reason of a.reasons) out.push(`        - ${escapeTerminal(reason)}`);
    }
  }
  return out.join("\n");
}

/**
 * A table for people: one row per alert, its reasons indented below. Cells are escaped and cut;
 * reasons are escaped, never cut.
 */
export function alertsTable(alerts: readonly Alert[]): string {
  if (alerts.length === 0) return "No alerts.";
  const rows = alerts.map(alertRow);
  const line = columns(rows);
  const out = [line(ALERT_HEADER)];
  alerts.forEach((a, i) => {
    out.push(line(rows[i] ?? []));
    for (const reason of a.reasons) out.push(`    - ${escapeTerminal(reason)}`);
  });
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
  for (const d of s.rules.disabled) out.push(`  rule ${d.rule} not run: ${d.why}`);
  for (const n of s.rules.notes ?? []) out.push(`  rule ${n.rule}: ${escapeTerminal(n.note)}`);
  for (const f of s.rules.failures) {
    out.push(
      `  rule ${f.rule} crashed ${f.count} time(s) in ${f.stage}: ${escapeTerminal(f.message)}`,
    );
  }
  return out.join("\n");
}

/**
 * Alert formatters for `guestops scan`: table (people), ndjson and json (machines), csv
 * (spreadsheets). Every string that may come from a log is escaped: terminal control characters
 * made visible in table and csv, CSV formulas neutralised, JSON written with `safeJsonStringify`.
 */
import { SEVERITIES, type Alert, type Severity } from "../model/alert.js";
import type { AttributionLevel } from "../model/operation.js";
import {
  csvRow,
  escapeTerminal,
  safeJsonStringify,
  truncateForDisplay,
  type CsvValue,
} from "./escape.js";
import {
  defineFormats,
  jsonDocumentFormat,
  renderRecords,
  writeRecords,
  type OutputFormat,
  type TextSink,
} from "./format.js";
import type { ReportInputs } from "./inputs.js";

export const ALERT_FORMATS = ["table", "ndjson", "json", "csv"] as const;
export type AlertFormat = (typeof ALERT_FORMATS)[number];

export const isAlertFormat = (name: string): name is AlertFormat =>
  (ALERT_FORMATS as readonly string[]).includes(name);

/** What a scan states about itself (stderr, or the final member under `--format json`). */
export interface ScanSummary extends ReportInputs {
  readonly tool: { readonly name: "guestops"; readonly version: string };
  readonly policy: string;
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
  readonly alerts: {
    readonly total: number;
    readonly bySeverity: Readonly<Record<Severity, number>>;
    readonly byRule: Readonly<Record<string, number>>;
  };
  readonly rules: {
    readonly ran: readonly string[];
    readonly disabled: readonly { readonly rule: string; readonly why: string }[];
    readonly failures: readonly {
      readonly rule: string;
      readonly stage: string;
      readonly count: number;
      readonly message: string;
    }[];
  };
}

/** Version of the JSON document shape (`--format json`). */
export const ALERTS_JSON_VERSION = 1;

export type AlertOutputFormat = OutputFormat<Alert, ScanSummary>;

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
] as const;

const csvValues = (a: Alert): CsvValue[] => [
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
];

/** A CSV record without its CRLF (the last record of the file ends with the output's newline). */
const csvLine = (values: readonly CsvValue[]): string => csvRow(values).slice(0, -2);

/**
 * CSV (RFC 4180, CRLF): one row per alert; lists joined with `;`, reasons with ` | `. Each CRLF
 * is written before the next row: the last row ends where the text does.
 */
const csvFormat: OutputFormat<Alert, unknown> = {
  name: "csv",
  start: () => ({
    head: csvLine(CSV_COLUMNS),
    record: (a) => `\r\n${csvLine(csvValues(a))}`,
    tail: () => "",
  }),
};

/** One JSON line per alert (no newline after the last). */
const ndjsonFormat: OutputFormat<Alert, unknown> = {
  name: "ndjson",
  start: () => ({
    head: "",
    record: (a, i) => `${i ? "\n" : ""}${safeJsonStringify(a)}`,
    tail: () => "",
  }),
};

/** `{ version, alerts, summary }`, the alerts written one by one. */
const jsonFormat: AlertOutputFormat = jsonDocumentFormat<Alert, ScanSummary>({
  name: "json",
  members: (summary) => [
    ["version", ALERTS_JSON_VERSION],
    ["alerts", undefined],
    ["summary", summary],
  ],
  arrayKey: "alerts",
  element: (a) => a,
  end: "",
});

const pad = (text: string, width: number): string => {
  const len = Array.from(text).length;
  return len >= width ? text : text + " ".repeat(width - len);
};

const shortTime = (iso: string | undefined): string =>
  iso === undefined ? "-" : iso.replace("T", " ").replace(/:\d\d(\.\d+)?Z$/, "Z");

const TABLE_HEADER = [
  "SEVERITY",
  "ID",
  "FIRST SEEN (UTC)",
  "PRINCIPAL",
  "VM",
  "HOST",
  "OPS",
  "RULES",
];

const tableCells = (a: Alert): string[] => [
  a.severity.toUpperCase(),
  a.id,
  shortTime(a.firstSeen),
  truncateForDisplay(`${a.principal.display} (${a.principal.level})`, 36),
  truncateForDisplay(a.vm, 24),
  truncateForDisplay(a.host ?? "-", 24),
  String(a.count),
  a.rules.join(", "),
];

/**
 * A table for people: one row per alert, its reasons indented below. Cells are escaped and cut;
 * reasons are escaped, never cut. The column widths come from a first look over every alert.
 */
const tableFormat: OutputFormat<Alert, unknown> = {
  name: "table",
  start(alerts) {
    if (alerts.length === 0) return { head: "No alerts.", record: () => "", tail: () => "" };
    const widths = TABLE_HEADER.map((h) => Array.from(h).length);
    for (const a of alerts) {
      tableCells(a).forEach((cell, i) => {
        widths[i] = Math.max(widths[i] ?? 0, Array.from(cell).length);
      });
    }
    const line = (cells: readonly string[]): string =>
      cells
        .map((c, i) => (i === cells.length - 1 ? c : pad(c, widths[i] ?? 0)))
        .join("  ")
        .trimEnd();
    return {
      head: line(TABLE_HEADER),
      record: (a) =>
        `\n${line(tableCells(a))}${a.reasons.map((r) => `\n    - ${escapeTerminal(r)}`).join("")}`,
      tail: () => "",
    };
  },
};

/** The `scan` formats, in the order `--format` lists them. */
export const ALERT_OUTPUTS = defineFormats<Alert, ScanSummary>([
  tableFormat,
  ndjsonFormat,
  jsonFormat,
  csvFormat,
]);

const formatOf = (name: AlertFormat): AlertOutputFormat => {
  const format = ALERT_OUTPUTS.get(name);
  if (!format) throw new Error(`no scan format ${name}`);
  return format;
};

/**
 * Writes alerts (and, for json, the summary as the final member) in one format into `sink`,
 * record by record. Like `formatAlerts`, without the final newline.
 */
export function writeAlerts(
  format: AlertFormat,
  alerts: readonly Alert[],
  summary: ScanSummary,
  sink: TextSink,
): Promise<void> {
  return writeRecords(formatOf(format), alerts, summary, sink);
}

/** Renders alerts (and, for json, the summary as the final member) in one format. */
export function formatAlerts(
  format: AlertFormat,
  alerts: readonly Alert[],
  summary: ScanSummary,
): string {
  return renderRecords(formatOf(format), alerts, summary);
}

/** CSV (RFC 4180, CRLF): one row per alert; lists joined with `;`, reasons with ` | `. */
export const alertsCsv = (alerts: readonly Alert[]): string =>
  renderRecords(csvFormat, alerts, undefined);

/**
 * A table for people: one row per alert, its reasons indented below. Cells are escaped and cut;
 * reasons are escaped, never cut.
 */
export const alertsTable = (alerts: readonly Alert[]): string =>
  renderRecords(tableFormat, alerts, undefined);

/** Zero counts for every severity, in order. */
export const emptySeverityCounts = (): Record<Severity, number> =>
  Object.fromEntries(SEVERITIES.map((s) => [s, 0])) as Record<Severity, number>;

/** The summary as lines for stderr (escaped: paths and hints may carry log-derived text). */
export function summaryText(s: ScanSummary): string {
  const out: string[] = [];
  const pct = (n: number): string => `${(n * 100).toFixed(1)}%`;
  out.push(`guestops ${s.tool.version} scan — policy: ${escapeTerminal(s.policy)}`);
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
  out.push(
    `alerts: ${s.alerts.total}${sev ? ` (${sev})` : ""}${rules ? `; by rule: ${rules}` : ""}`,
  );
  for (const d of s.rules.disabled) out.push(`  rule ${d.rule} not run: ${d.why}`);
  for (const f of s.rules.failures) {
    out.push(
      `  rule ${f.rule} crashed ${f.count} time(s) in ${f.stage}: ${escapeTerminal(f.message)}`,
    );
  }
  return out.join("\n");
}

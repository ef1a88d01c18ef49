/**
 * Formatters for attributed operations (`guestops events`): json (one versioned document),
 * ndjson (one operation per line), table (people) and csv (spreadsheets). The JSON shape is the
 * contract documented in docs/output.md and docs/schema/operation.schema.json; fields are only
 * ever added, never renamed or removed, and a breaking change bumps `OPERATIONS_SCHEMA`.
 *
 * Every string that may come from a log is escaped: JSON with `safeJsonStringify`, table and csv
 * through `escapeTerminal`, csv with formula neutralising.
 */
import type { AttributionSummary } from "../attribute/summary.js";
import { hostlessLines, LEVEL_ORDER } from "../attribute/summary.js";
import { methodByApi } from "../model/catalog.js";
import type { Operation, Principal } from "../model/operation.js";
import type { Observation, SessionRecord } from "../model/record.js";
import { csvRow, escapeTerminal, safeJsonStringify, type CsvValue } from "./escape.js";
import {
  defineFormats,
  jsonDocumentFormat,
  recordWriter,
  renderRecords,
  type OutputFormat,
  type RecordWriter,
  type TextSink,
} from "./format.js";
import { skippedText, type ReportInputs } from "./inputs.js";
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

export const OPERATION_FORMATS = ["ndjson", "json", "table", "csv"] as const;
export type OperationFormat = (typeof OPERATION_FORMATS)[number];

export const isOperationFormat = (name: string): name is OperationFormat =>
  (OPERATION_FORMATS as readonly string[]).includes(name);

/** Version of the document (`--format json`) and of each operation object. */
export const OPERATIONS_SCHEMA = "guestops.events/3";
export const OPERATION_SCHEMA = "guestops.operation/3";

/** What a run states about itself: tool, inputs with their hashes, time zone, counts. */
export interface EventsContext extends ReportInputs {
  readonly tool: { readonly name: "guestops"; readonly version: string };
  /** IANA zone assumed for timestamps that carry none (`--assume-tz`). */
  readonly assumeTz: string;
  /** Filters applied (`--since`, `--until`, `--account`, ...), as given. */
  readonly filters: Readonly<Record<string, string>>;
  readonly counts: {
    readonly records: number;
    readonly observations: number;
    readonly sessionRecords: number;
    readonly duplicateObservations: number;
    readonly operations: number;
    /** Operations left out by the filters. */
    readonly filteredOut: number;
  };
}

/* ------------------------------------------------------------------------------------------------
 * JSON shape (docs/output.md)
 * ---------------------------------------------------------------------------------------------- */

/**
 * How much evidence an operation carries: `compact` (the default) gives every record's file, line
 * and SHA-256 and the raw text of the operation's own lines, the session lines without their raw
 * text; `full` gives the raw text of every line.
 */
export const EVIDENCE_PROFILES = ["compact", "full"] as const;
export type EvidenceProfile = (typeof EVIDENCE_PROFILES)[number];

export const isEvidenceProfile = (name: string | undefined): name is EvidenceProfile =>
  (EVIDENCE_PROFILES as readonly (string | undefined)[]).includes(name);

/**
 * Every key below is always present; `null` (or `false`, `[]`, `0`) when unknown or not
 * applicable, so that a jq filter needs no `//` guard (docs/output.md).
 */
export interface EvidenceJson {
  /** `obs:<i>` or `session:<i>`: what `attribution.evidence` refers to. */
  readonly id: string;
  readonly kind: string;
  readonly time: string | null;
  readonly timeAssumed: boolean;
  readonly host: string | null;
  readonly vcenter: string | null;
  readonly user: string | null;
  readonly sourceIp: string | null;
  readonly userAgent: string | null;
  readonly opId: string | null;
  readonly session: string | null;
  readonly eventKey: string | null;
  /** The reader's confidence in the record's format (`inferred`: an unconfirmed shape). */
  readonly format: "verbatim" | "inferred";
  readonly file: string;
  readonly member: string | null;
  readonly sha256: string;
  readonly line: number;
  readonly lineCount: number;
  /** The line(s) as read; `null` for a session line under the compact profile. */
  readonly raw: string | null;
  readonly rawEncoding: "base64" | null;
}

export interface PrincipalJson {
  readonly id: string;
  readonly display: string;
  readonly user: string;
  readonly domain: string | null;
  readonly kind: Principal["kind"];
  readonly viaVcenter: boolean;
}

export interface OperationJson {
  readonly schema: typeof OPERATION_SCHEMA;
  readonly id: string;
  readonly time: string | null;
  readonly end: string | null;
  readonly host: string | null;
  readonly vcenter: string | null;
  readonly vm: {
    readonly name: string | null;
    readonly vmx: string | null;
    readonly dir: string | null;
    readonly moref: string | null;
  };
  readonly api: string;
  readonly category: string;
  readonly attack: readonly string[];
  readonly outcome: string;
  readonly attribution: {
    readonly level: string;
    readonly principal: PrincipalJson | null;
    readonly candidates: readonly PrincipalJson[];
    readonly reason: string;
    readonly evidence: readonly string[];
    readonly related: readonly string[];
  };
  readonly origin: {
    readonly via: string;
    readonly sourceIp: string | null;
    readonly userAgent: string | null;
    readonly client: string | null;
    readonly basis: string | null;
  };
  readonly opId: string | null;
  readonly session: string | null;
  readonly guest: {
    readonly path: string | null;
    readonly program: string | null;
    readonly arguments: string | null;
    readonly workingDirectory: string | null;
    readonly username: string | null;
  } | null;
  readonly fault: string | null;
  readonly hidden: { readonly count: number | null; readonly phase: string | null } | null;
  readonly notes: readonly string[];
  readonly copies: number;
  readonly evidence: readonly EvidenceJson[];
}

const nul = <T>(value: T | undefined): T | null => (value === undefined ? null : value);

const principalJson = (p: Principal): PrincipalJson => ({
  id: p.id,
  display: p.display,
  user: p.user,
  domain: nul(p.domain),
  kind: p.kind,
  viaVcenter: p.viaVcenter === true,
});

function evidenceJson(
  id: string,
  kind: string,
  r: Observation | SessionRecord,
  details: {
    user?: string;
    sourceIp?: string;
    userAgent?: string;
    opId?: string;
    session?: string;
  },
  withRaw: boolean,
): EvidenceJson {
  const src = r.prov.source;
  return {
    id,
    kind,
    time: nul(r.time),
    timeAssumed: r.timeAssumed === true,
    host: nul(r.host),
    vcenter: nul(r.vcenter),
    user: nul(details.user),
    sourceIp: nul(details.sourceIp),
    userAgent: nul(details.userAgent),
    opId: nul(details.opId),
    session: nul(details.session),
    eventKey: nul(r.eventKey),
    format: r.evidence,
    file: src.path,
    member: nul(src.member),
    sha256: src.sha256,
    line: r.prov.line,
    lineCount: r.prov.lineCount,
    raw: withRaw ? r.prov.raw : null,
    rawEncoding: withRaw ? nul(r.prov.rawEncoding) : null,
  };
}

const evidenceOfObservation = (o: Observation, i: number): EvidenceJson =>
  evidenceJson(`obs:${i}`, o.kind, o, o, true);

const evidenceOfSession = (s: SessionRecord, i: number, full: boolean): EvidenceJson =>
  evidenceJson(`session:${i}`, `session.${s.kind}`, s, s, full);

/** The documented JSON object of one operation (every key present; docs/output.md). */
export function operationJson(op: Operation, profile: EvidenceProfile = "compact"): OperationJson {
  const a = op.attribution;
  const fault = op.observations.find((o) => o.fault)?.fault;
  const g = op.guest;
  return {
    schema: OPERATION_SCHEMA,
    id: op.id,
    time: op.time ?? null,
    end: nul(op.end),
    host: nul(op.host),
    vcenter: nul(op.vcenter),
    vm: {
      name: nul(op.vm.name),
      vmx: nul(op.vm.vmx),
      dir: nul(op.vm.dir),
      moref: nul(op.vm.moref),
    },
    api: op.api,
    category: op.category,
    attack: [...(methodByApi(op.api)?.attack ?? [])],
    outcome: op.outcome,
    attribution: {
      level: a.level,
      principal: a.principal ? principalJson(a.principal) : null,
      candidates: (a.candidates ?? []).map(principalJson),
      reason: a.reason,
      evidence: [...a.evidence],
      related: [...(a.related ?? [])],
    },
    origin: {
      via: op.origin.via,
      sourceIp: nul(op.origin.sourceIp),
      userAgent: nul(op.origin.userAgent),
      client: nul(op.origin.client),
      basis: nul(op.origin.basis),
    },
    opId: nul(op.opId),
    session: nul(op.session),
    guest: g
      ? {
          path: nul(g.path),
          program: nul(g.program),
          arguments: nul(g.arguments),
          workingDirectory: nul(g.workingDirectory),
          username: nul(g.username),
        }
      : null,
    fault: nul(fault),
    hidden: op.hidden ? { count: nul(op.hidden.count), phase: nul(op.hidden.phase) } : null,
    notes: [...(op.notes ?? [])],
    copies: op.copies ?? 0,
    evidence: [
      ...op.observations.map(evidenceOfObservation),
      ...(op.sessions ?? []).map((s, i) => evidenceOfSession(s, i, profile === "full")),
    ],
  };
}

/** The `--format json` document. */
export interface EventsDocument {
  readonly schema: typeof OPERATIONS_SCHEMA;
  readonly context: EventsContext;
  readonly summary: AttributionSummary;
  readonly operations: readonly OperationJson[];
}

export const eventsDocument = (
  operations: readonly Operation[],
  summary: AttributionSummary,
  context: EventsContext,
): EventsDocument => ({
  schema: OPERATIONS_SCHEMA,
  context,
  summary,
  operations: operations.map((op) => operationJson(op)),
});

/* ------------------------------------------------------------------------------------------------
 * Text formats
 * ---------------------------------------------------------------------------------------------- */

const vmText = (op: Operation): string => op.vm.name ?? op.vm.vmx ?? op.vm.dir ?? op.vm.moref ?? "";

const principalText = (op: Operation): string => {
  const a = op.attribution;
  if (a.principal) return a.principal.display;
  if (a.candidates?.length) return a.candidates.map((c) => c.display).join(" | ");
  return "";
};

const guestText = (op: Operation): string => {
  const g = op.guest;
  if (!g) return "";
  const program = [g.program, g.arguments].filter((x) => x !== undefined).join(" ");
  return [program, g.path].filter((x) => x).join(" ");
};

const originText = (op: Operation): string =>
  [op.origin.via === "unknown" ? "" : `via ${op.origin.via}`, op.origin.sourceIp, op.origin.client]
    .filter((x) => x)
    .join(" ");

/** `auth failure` for a failed guest authentication (no method is named), the method else. */
const apiText = (op: Operation): string => {
  if (op.hidden) return `(${op.hidden.count ?? "?"} hidden by burst filter)`;
  if (op.api === "unknown" && op.observations.some((o) => o.kind === "vc.auth-failure")) {
    return "auth failure";
  }
  return op.api;
};

/**
 * One name per VM in a table: a row whose VM is known only by its .vmx path, folder or moref is
 * shown with the display name another row gives that same path, folder or moref.
 */
function vmNamer(operations: readonly Operation[]): (op: Operation) => string {
  const names = new Map<string, string>();
  for (const op of operations) {
    const name = op.vm.name;
    if (name === undefined) continue;
    for (const key of [op.vm.vmx, op.vm.dir, op.vm.moref]) {
      if (key !== undefined && !names.has(key)) names.set(key, name);
    }
  }
  return (op) => {
    if (op.vm.name !== undefined) return op.vm.name;
    for (const key of [op.vm.vmx, op.vm.dir, op.vm.moref]) {
      const name = key !== undefined ? names.get(key) : undefined;
      if (name !== undefined) return name;
    }
    return vmText(op) || "?";
  };
}

/** The events table's columns (priority 0 kept longest), for the VM names of `operations`. */
function tableColumns(operations: readonly Operation[], zone: string): Column<Operation>[] {
  const e = escapeTerminal;
  const vm = vmNamer(operations);
  return [
    {
      title: timeTitle("TIME", zone),
      priority: 0,
      min: 20,
      value: (op) => (op.time === undefined ? "(no time)" : displayTime(op.time, zone)),
    },
    {
      title: "HOST",
      priority: 3,
      min: 8,
      max: 24,
      value: (op) => e(op.host ?? (op.vcenter !== undefined ? `? (vCenter ${op.vcenter})` : "?")),
    },
    { title: "VM", priority: 1, min: 8, max: 28, value: (op) => e(vm(op)) },
    { title: "METHOD", priority: 0, min: 12, max: 30, value: apiText },
    { title: "OUTCOME", priority: 2, min: 7, value: (op) => op.outcome },
    { title: "LEVEL", priority: 1, min: 5, value: (op) => op.attribution.level },
    { title: "PRINCIPAL", priority: 0, min: 10, max: 32, value: (op) => e(principalText(op)) },
    { title: "ORIGIN", priority: 4, min: 10, max: 32, value: (op) => e(originText(op)) },
    { title: "GUEST", priority: 5, min: 10, max: 60, value: (op) => e(guestText(op)) },
  ];
}

export const CSV_COLUMNS = [
  "time",
  "end",
  "host",
  "vcenter",
  "vm",
  "vm_vmx",
  "vm_moref",
  "api",
  "category",
  "outcome",
  "level",
  "principal",
  "principal_kind",
  "via",
  "source_ip",
  "user_agent",
  "client",
  "op_id",
  "session",
  "guest_path",
  "guest_program",
  "guest_arguments",
  "guest_username",
  "hidden_count",
  "reason",
  "evidence",
  "id",
] as const;

const csvValues = (op: Operation): CsvValue[] => [
  op.time,
  op.end,
  op.host,
  op.vcenter,
  op.vm.name,
  op.vm.vmx,
  op.vm.moref,
  op.api,
  op.category,
  op.outcome,
  op.attribution.level,
  principalText(op),
  op.attribution.principal?.kind,
  op.origin.via,
  op.origin.sourceIp,
  op.origin.userAgent,
  op.origin.client,
  op.opId,
  op.session,
  op.guest?.path,
  op.guest?.program,
  op.guest?.arguments,
  op.guest?.username,
  op.hidden?.count,
  op.attribution.reason,
  op.observations
    .map(
      (o) =>
        `${o.prov.source.path}${o.prov.source.member ? `!${o.prov.source.member}` : ""}:${o.prov.line}`,
    )
    .join(" "),
  op.id,
];

/** How the operations are rendered: the table's layout, the JSON evidence profile. */
export interface EventsRender {
  /** How the table is laid out (default: no width limit, no colour, UTC). */
  readonly display?: TableDisplay;
  /** `compact` (default) or `full` (docs/output.md#evidence). */
  readonly evidence?: EvidenceProfile;
}

/** What an `events` format is told at the end: the run's context and attribution summary. */
export interface EventsReport {
  readonly summary: AttributionSummary;
  readonly context: EventsContext;
}

export type OperationOutputFormat = OutputFormat<Operation, EventsReport, EventsRender>;

/** Each operation as one JSON line. */
const ndjsonFormat: OperationOutputFormat = {
  name: "ndjson",
  start: (render) => ({
    head: "",
    record: (op) => `${safeJsonStringify(operationJson(op, render.evidence))}\n`,
    tail: () => "",
  }),
};

/**
 * One versioned document (`guestops.events/3`); the operations written one by one as they are
 * released, the context and summary (known at the end) after them.
 */
const jsonFormat: OperationOutputFormat = jsonDocumentFormat<Operation, EventsReport, EventsRender>(
  {
    name: "json",
    before: [["schema", OPERATIONS_SCHEMA]],
    arrayKey: "operations",
    after: ({ summary, context }) => [
      ["context", context],
      ["summary", summary],
    ],
    element: (op, render) => operationJson(op, render.evidence),
    end: "\n",
  },
);

/**
 * A table fitted to the display's width (report/table.ts): the least important columns dropped
 * first, values cut with `…`; `--wide` keeps everything. Columns are sized on the first rows (the
 * first batch released when operations stream). Log strings are escaped.
 */
const tableFormat: OutputFormat<Operation, unknown, EventsRender | undefined> = {
  name: "table",
  start: (render, sample) => {
    const display = render?.display ?? PLAIN_DISPLAY;
    const layout = layoutTable(tableColumns(sample, display.zone), sample, display);
    const head = tableLine(
      layout.columns.map((c) => c.title),
      layout,
      (cell) => paint(cell, "bold", display.color),
    );
    return {
      head: `${head}\n`,
      record: (op) => `${tableLine(cellsOf(layout, op), layout)}\n`,
      tail: (count) =>
        count === 0
          ? "No operations.\n"
          : layout.dropped.length
            ? `${wrapped(`(left out to fit ${display.width ?? ""} columns: ${layout.dropped.join(", ")}; --wide shows all)`, "", display.width).join("\n")}\n`
            : "",
    };
  },
};

/** CSV (RFC 4180, CRLF) with a header row; formulas neutralised, controls escaped. */
const csvFormat: OutputFormat<Operation, unknown, unknown> = {
  name: "csv",
  start: () => ({
    head: csvRow(CSV_COLUMNS),
    record: (op) => csvRow(csvValues(op)),
    tail: () => "",
  }),
};

/** The `events` formats, in the order `--format` lists them. */
export const OPERATION_OUTPUTS = defineFormats<Operation, EventsReport, EventsRender>([
  ndjsonFormat,
  jsonFormat,
  tableFormat,
  csvFormat,
]);

const formatOf = (name: OperationFormat): OperationOutputFormat => {
  const format = OPERATION_OUTPUTS.get(name);
  if (!format) throw new Error(`no events format ${name}`);
  return format;
};

/** Fixed-width table, one operation per line; log strings escaped and cut to their column. */
export const operationsTable = (operations: readonly Operation[]): string =>
  renderRecords(tableFormat, operations, undefined, undefined);

/** CSV (RFC 4180, CRLF) with a header row; formulas neutralised, controls escaped. */
export const operationsCsv = (operations: readonly Operation[]): string =>
  renderRecords(csvFormat, operations, undefined, undefined);

/** Each operation as one JSON line (no trailing newline on the last). */
export const operationsNdjson = (operations: readonly Operation[]): string =>
  operations.map((op) => safeJsonStringify(operationJson(op))).join("\n");

/**
 * Starts writing operations in a format into `sink`, batch by batch as they are released;
 * `end` takes the context and summary (`json` writes them after the operations).
 */
export function operationWriter(
  format: OperationFormat,
  sink: TextSink,
  render: EventsRender = {},
): RecordWriter<Operation, EventsReport> {
  return recordWriter(formatOf(format), render, sink);
}

/** Renders operations in a format as one string (the bytes `operationWriter` writes). */
export function formatOperations(
  format: OperationFormat,
  operations: readonly Operation[],
  summary: AttributionSummary,
  context: EventsContext,
  render: EventsRender = {},
): string {
  return renderRecords(formatOf(format), operations, render, { summary, context });
}

const pct = (x: number | null): string => (x === null ? "n/a" : `${Math.round(x * 1000) / 10}%`);

/** The run's context and attribution summary for people (stderr). Log strings are escaped. */
export function summaryText(
  summary: AttributionSummary,
  context: EventsContext,
  options: { readonly verbose?: boolean } = {},
): string {
  const e = escapeTerminal;
  const out: string[] = [];
  const c = context.counts;
  out.push(
    `guestops ${context.tool.version}: ${summary.operations} operation${summary.operations === 1 ? "" : "s"} from ${context.inputs.length} input${context.inputs.length === 1 ? "" : "s"} (${c.records} records; zone assumed for timestamps without one: ${e(context.assumeTz)})`,
  );
  // every input (path, format, SHA-256) only with --verbose: the formats line groups them
  for (const input of options.verbose ? context.inputs : []) {
    const name = `${input.path}${input.member ? `!${input.member}` : ""}`;
    out.push(
      `  ${e(name)}  ${e(input.format ?? "unrecognised")}  sha256 ${input.sha256 || "(not read)"}${input.records !== undefined ? `  ${input.records} records` : ""}`,
    );
  }
  const formats = Object.entries(context.formats);
  if (formats.length) {
    out.push(
      `formats: ${formats.map(([k, n]) => `${e(k)} ${n}`).join(", ")}${options.verbose ? "" : " (-v lists every input with its SHA-256)"}`,
    );
  }
  const filters = Object.entries(context.filters);
  if (filters.length) {
    out.push(
      `filters: ${filters.map(([k, v]) => `${k} ${e(v)}`).join(", ")} (${c.filteredOut} operations left out)`,
    );
  }
  const issues = Object.entries(context.issues);
  if (issues.length) out.push(`issues: ${issues.map(([k, n]) => `${k} ${n}`).join(", ")}`);
  const skipped = skippedText(context.skipped);
  if (skipped) out.push(skipped);
  if (c.duplicateObservations) {
    out.push(`duplicates: ${c.duplicateObservations} records seen twice (counted once)`);
  }
  out.push(
    `attribution: ${LEVEL_ORDER.map((l) => `${l} ${summary.levels[l]} (${pct(summary.shares[l])})`).join(", ")}; coverage (exact + correlated) ${pct(summary.coverage)}`,
  );
  if (summary.vpxuserOnly) {
    out.push(`  ${summary.vpxuserOnly} attributed only to vpxuser (vCenter passed no end user)`);
  }
  if (summary.withoutTime) {
    out.push(
      `  ${summary.withoutTime} operation${summary.withoutTime === 1 ? "" : "s"} without a time`,
    );
  }
  for (const h of summary.perHost) {
    out.push(
      `  ${e(h.host)}: ${h.operations} operation${h.operations === 1 ? "" : "s"}, coverage ${pct(h.coverage)} [${h.sources.join(", ")}]`,
    );
  }
  for (const line of hostlessLines(summary)) out.push(`  ${e(line)}`);
  for (const u of summary.unnamedVms ?? []) {
    out.push(
      `  warning: ${u.operations} operation${u.operations === 1 ? "" : "s"} without a VM name: ${e(u.reason)}`,
    );
  }
  if (summary.explanations.length) {
    out.push("why the rest is not attributed:");
    for (const line of summary.explanations) out.push(`  ${e(line)}`);
  }
  if (summary.hidden.records) {
    out.push(
      `hidden by vCenter's event burst filter: ${summary.hidden.records} burst record${summary.hidden.records === 1 ? "" : "s"}${summary.hidden.operations ? `, ${summary.hidden.operations} operations` : ""}`,
    );
  }
  for (const u of summary.unattached) out.push(`unattached evidence: ${u.count} × ${e(u.reason)}`);
  return `${out.join("\n")}\n`;
}

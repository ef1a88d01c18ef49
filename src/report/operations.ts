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
import type { GuestDetails, Observation, SessionRecord } from "../model/record.js";
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
  recordWriter,
  renderRecords,
  type OutputFormat,
  type RecordWriter,
  type TextSink,
} from "./format.js";
import { skippedText, type ReportInputs } from "./inputs.js";

export const OPERATION_FORMATS = ["ndjson", "json", "table", "csv"] as const;
export type OperationFormat = (typeof OPERATION_FORMATS)[number];

export const isOperationFormat = (name: string): name is OperationFormat =>
  (OPERATION_FORMATS as readonly string[]).includes(name);

/** Version of the document (`--format json`) and of each operation object. */
export const OPERATIONS_SCHEMA = "guestops.events/2";
export const OPERATION_SCHEMA = "guestops.operation/2";

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

export interface EvidenceJson {
  /** `obs:<i>` or `session:<i>`: what `attribution.evidence` refers to. */
  readonly id: string;
  readonly kind: string;
  readonly time?: string;
  readonly timeAssumed?: boolean;
  readonly host?: string;
  readonly vcenter?: string;
  readonly user?: string;
  readonly sourceIp?: string;
  readonly userAgent?: string;
  readonly opId?: string;
  readonly session?: string;
  readonly eventKey?: string;
  /** The reader's confidence in the record's format (`inferred`: an unconfirmed shape). */
  readonly format: "verbatim" | "inferred";
  readonly file: string;
  readonly member?: string;
  readonly sha256: string;
  readonly line: number;
  readonly lineCount: number;
  readonly raw: string;
  readonly rawEncoding?: "base64";
}

export interface PrincipalJson {
  readonly id: string;
  readonly display: string;
  readonly user: string;
  readonly domain?: string;
  readonly kind: Principal["kind"];
  readonly viaVcenter?: boolean;
}

export interface OperationJson {
  readonly schema: typeof OPERATION_SCHEMA;
  readonly id: string;
  readonly time: string | null;
  readonly end?: string;
  readonly host?: string;
  readonly vcenter?: string;
  readonly vm: {
    readonly name?: string;
    readonly vmx?: string;
    readonly dir?: string;
    readonly moref?: string;
  };
  readonly api: string;
  readonly category: string;
  readonly attack: readonly string[];
  readonly outcome: string;
  readonly attribution: {
    readonly level: string;
    readonly principal?: PrincipalJson;
    readonly candidates?: readonly PrincipalJson[];
    readonly reason: string;
    readonly evidence: readonly string[];
    readonly related?: readonly string[];
  };
  readonly origin: {
    readonly via: string;
    readonly sourceIp?: string;
    readonly userAgent?: string;
    readonly client?: string;
    readonly basis?: string;
  };
  readonly opId?: string;
  readonly session?: string;
  readonly guest?: GuestDetails;
  readonly fault?: string;
  readonly hidden?: { readonly count?: number; readonly phase?: string };
  readonly notes?: readonly string[];
  readonly copies?: number;
  readonly evidence: readonly EvidenceJson[];
}

const principalJson = (p: Principal): PrincipalJson => ({
  id: p.id,
  display: p.display,
  user: p.user,
  ...(p.domain !== undefined ? { domain: p.domain } : {}),
  kind: p.kind,
  ...(p.viaVcenter ? { viaVcenter: true } : {}),
});

function provenanceJson(
  id: string,
  r: Observation | SessionRecord,
): Omit<EvidenceJson, "kind" | "user" | "opId" | "session"> & { id: string } {
  const src = r.prov.source;
  return {
    id,
    ...(r.time !== undefined ? { time: r.time } : {}),
    ...(r.timeAssumed ? { timeAssumed: true } : {}),
    ...(r.host !== undefined ? { host: r.host } : {}),
    ...(r.vcenter !== undefined ? { vcenter: r.vcenter } : {}),
    ...(r.eventKey !== undefined ? { eventKey: r.eventKey } : {}),
    format: r.evidence,
    file: src.path,
    ...(src.member !== undefined ? { member: src.member } : {}),
    sha256: src.sha256,
    line: r.prov.line,
    lineCount: r.prov.lineCount,
    raw: r.prov.raw,
    ...(r.prov.rawEncoding ? { rawEncoding: r.prov.rawEncoding } : {}),
  };
}

const evidenceOfObservation = (o: Observation, i: number): EvidenceJson => ({
  ...provenanceJson(`obs:${i}`, o),
  kind: o.kind,
  ...(o.user !== undefined ? { user: o.user } : {}),
  ...(o.opId !== undefined ? { opId: o.opId } : {}),
  ...(o.session !== undefined ? { session: o.session } : {}),
});

const evidenceOfSession = (s: SessionRecord, i: number): EvidenceJson => ({
  ...provenanceJson(`session:${i}`, s),
  kind: `session.${s.kind}`,
  ...(s.user !== undefined ? { user: s.user } : {}),
  ...(s.sourceIp !== undefined ? { sourceIp: s.sourceIp } : {}),
  ...(s.userAgent !== undefined ? { userAgent: s.userAgent } : {}),
  ...(s.opId !== undefined ? { opId: s.opId } : {}),
  ...(s.session !== undefined ? { session: s.session } : {}),
});

/** The documented JSON object of one operation. */
export function operationJson(op: Operation): OperationJson {
  const a = op.attribution;
  const fault = op.observations.find((o) => o.fault)?.fault;
  return {
    schema: OPERATION_SCHEMA,
    id: op.id,
    time: op.time ?? null,
    ...(op.end !== undefined ? { end: op.end } : {}),
    ...(op.host !== undefined ? { host: op.host } : {}),
    ...(op.vcenter !== undefined ? { vcenter: op.vcenter } : {}),
    vm: {
      ...(op.vm.name !== undefined ? { name: op.vm.name } : {}),
      ...(op.vm.vmx !== undefined ? { vmx: op.vm.vmx } : {}),
      ...(op.vm.dir !== undefined ? { dir: op.vm.dir } : {}),
      ...(op.vm.moref !== undefined ? { moref: op.vm.moref } : {}),
    },
    api: op.api,
    category: op.category,
    attack: [...(methodByApi(op.api)?.attack ?? [])],
    outcome: op.outcome,
    attribution: {
      level: a.level,
      ...(a.principal ? { principal: principalJson(a.principal) } : {}),
      ...(a.candidates?.length ? { candidates: a.candidates.map(principalJson) } : {}),
      reason: a.reason,
      evidence: [...a.evidence],
      ...(a.related?.length ? { related: [...a.related] } : {}),
    },
    origin: {
      via: op.origin.via,
      ...(op.origin.sourceIp !== undefined ? { sourceIp: op.origin.sourceIp } : {}),
      ...(op.origin.userAgent !== undefined ? { userAgent: op.origin.userAgent } : {}),
      ...(op.origin.client !== undefined ? { client: op.origin.client } : {}),
      ...(op.origin.basis !== undefined ? { basis: op.origin.basis } : {}),
    },
    ...(op.opId !== undefined ? { opId: op.opId } : {}),
    ...(op.session !== undefined ? { session: op.session } : {}),
    ...(op.guest ? { guest: { ...op.guest } } : {}),
    ...(fault !== undefined ? { fault } : {}),
    ...(op.hidden ? { hidden: { ...op.hidden } } : {}),
    ...(op.notes?.length ? { notes: [...op.notes] } : {}),
    ...(op.copies ? { copies: op.copies } : {}),
    evidence: [
      ...op.observations.map(evidenceOfObservation),
      ...(op.sessions ?? []).map(evidenceOfSession),
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
  operations: operations.map(operationJson),
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

const apiText = (op: Operation): string =>
  op.hidden ? `(${op.hidden.count ?? "?"} hidden by burst filter)` : op.api;

const TABLE_COLUMNS: readonly {
  readonly title: string;
  readonly width: number;
  readonly value: (op: Operation) => string;
}[] = [
  { title: "TIME (UTC)", width: 24, value: (op) => op.time ?? "(no time)" },
  { title: "HOST", width: 22, value: (op) => op.host ?? "" },
  { title: "VM", width: 24, value: vmText },
  { title: "METHOD", width: 30, value: apiText },
  { title: "OUTCOME", width: 7, value: (op) => op.outcome },
  { title: "LEVEL", width: 10, value: (op) => op.attribution.level },
  { title: "PRINCIPAL", width: 30, value: principalText },
  { title: "ORIGIN", width: 32, value: originText },
  { title: "GUEST", width: 40, value: guestText },
];

const padCell = (text: string, width: number): string => {
  const cut = truncateForDisplay(text, width);
  return cut + " ".repeat(Math.max(0, width - Array.from(cut).length));
};

const tableLine = (cells: (c: (typeof TABLE_COLUMNS)[number]) => string): string =>
  TABLE_COLUMNS.map((c) => padCell(cells(c), c.width))
    .join(" ")
    .trimEnd();

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

/** What an `events` format is given besides the operations. */
export interface EventsReport {
  readonly summary: AttributionSummary;
  readonly context: EventsContext;
}

export type OperationOutputFormat = OutputFormat<Operation, EventsReport>;

/** Each operation as one JSON line. */
const ndjsonFormat: OperationOutputFormat = {
  name: "ndjson",
  start: () => ({
    head: "",
    record: (op) => `${safeJsonStringify(operationJson(op))}\n`,
    tail: () => "",
  }),
};

/**
 * One versioned document (`guestops.events/1`); the operations written one by one as they are
 * released, the context and summary (known at the end) after them.
 */
const jsonFormat: OperationOutputFormat = jsonDocumentFormat<Operation, EventsReport>({
  name: "json",
  before: [["schema", OPERATIONS_SCHEMA]],
  arrayKey: "operations",
  after: ({ summary, context }) => [
    ["context", context],
    ["summary", summary],
  ],
  element: operationJson,
  end: "\n",
});

/** Fixed-width table, one operation per line; log strings escaped and cut to their column. */
const tableFormat: OutputFormat<Operation, unknown> = {
  name: "table",
  start: () => ({
    head: `${tableLine((c) => c.title)}\n`,
    record: (op) => `${tableLine((c) => c.value(op))}\n`,
    tail: () => "",
  }),
};

/** CSV (RFC 4180, CRLF) with a header row; formulas neutralised, controls escaped. */
const csvFormat: OutputFormat<Operation, unknown> = {
  name: "csv",
  start: () => ({
    head: csvRow(CSV_COLUMNS),
    record: (op) => csvRow(csvValues(op)),
    tail: () => "",
  }),
};

/** The `events` formats, in the order `--format` lists them. */
export const OPERATION_OUTPUTS = defineFormats<Operation, EventsReport>([
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
  renderRecords(tableFormat, operations, undefined);

/** CSV (RFC 4180, CRLF) with a header row; formulas neutralised, controls escaped. */
export const operationsCsv = (operations: readonly Operation[]): string =>
  renderRecords(csvFormat, operations, undefined);

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
): RecordWriter<Operation, EventsReport> {
  return recordWriter(formatOf(format), sink);
}

/** Renders operations in a format as one string (the bytes `writeOperations` writes). */
export function formatOperations(
  format: OperationFormat,
  operations: readonly Operation[],
  summary: AttributionSummary,
  context: EventsContext,
): string {
  return renderRecords(formatOf(format), operations, { summary, context });
}

const pct = (x: number | null): string => (x === null ? "n/a" : `${Math.round(x * 1000) / 10}%`);

/** The run's context and attribution summary for people (stderr). Log strings are escaped. */
export function summaryText(summary: AttributionSummary, context: EventsContext): string {
  const e = escapeTerminal;
  const out: string[] = [];
  const c = context.counts;
  out.push(
    `guestops ${context.tool.version}: ${summary.operations} operation${summary.operations === 1 ? "" : "s"} from ${context.inputs.length} input${context.inputs.length === 1 ? "" : "s"} (${c.records} records; zone assumed for timestamps without one: ${e(context.assumeTz)})`,
  );
  for (const input of context.inputs) {
    const name = `${input.path}${input.member ? `!${input.member}` : ""}`;
    out.push(
      `  ${e(name)}  ${e(input.format ?? "unrecognised")}  sha256 ${input.sha256 || "(not read)"}${input.records !== undefined ? `  ${input.records} records` : ""}`,
    );
  }
  const formats = Object.entries(context.formats);
  if (formats.length) out.push(`formats: ${formats.map(([k, n]) => `${e(k)} ${n}`).join(", ")}`);
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

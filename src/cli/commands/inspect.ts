/**
 * `guestops inspect PATH... [--input-format NAME] [--assume-tz ZONE] [--json]`: shows what was
 * recognised in each file and archive member (format, lines, records by kind, lines not
 * understood, issues, time span) and the totals. Exit 0 even when issues were found (they are
 * reported); 2 for a missing or unreadable path or a bad option.
 */
import { formatBytes } from "../../ingest/progress.js";
import { addCommonOptions, pathsOrStdin } from "../conventions.js";
import { progressFor, quietIo } from "../terminal.js";
import type { InputSummary, IssueExample, ReadSummary } from "../../ingest/summary.js";
import { escapeTerminal, safeJsonStringify, truncateForDisplay } from "../../report/escape.js";
import { addReadOptions, readOptionsOf, type ReadCliOptions } from "../read-options.js";
import { defineCommand, EXIT, type ExitCode, type Io } from "../types.js";

interface InspectOptions extends ReadCliOptions {
  readonly json?: boolean;
  readonly quiet?: boolean;
}

export const inspectCommand = defineCommand({
  name: "inspect",
  register(program, io, done) {
    addCommonOptions(
      addReadOptions(program.command("inspect"))
        .description("Show what guestops recognises in log files, bundles and archives")
        .argument(
          "[paths...]",
          "files, directories, .gz/.tgz/.zip archives; - (or none, when piped) for standard input",
        )
        .option("--json", "print the summary as JSON"),
    ).action(async (paths: string[], options: InspectOptions) => {
      done(await inspect(pathsOrStdin(paths, io), options, options.quiet ? quietIo(io) : io));
    });
  },
});

export async function inspect(
  paths: readonly string[],
  options: InspectOptions,
  io: Io,
): Promise<ExitCode> {
  const progress = progressFor(io);
  const { readInputs } = await import("../../ingest/read.js");
  const summary = await readInputs(
    paths,
    {
      ...readOptionsOf(options),
      stdin: io.stdin,
      cwd: io.cwd,
    },
    {
      record: () => undefined,
      ...(progress ? { progress: progress.update } : {}),
    },
  );
  progress?.finish(
    `read ${summary.totals.files} file(s), ${formatBytes(summary.totals.bytesRead)} in ${(summary.durationMs / 1000).toFixed(1)} s`,
  );
  io.stdout(options.json ? safeJsonStringify(summary, 2) : renderSummary(summary));
  return EXIT.OK;
}

const n = (v: number): string => v.toLocaleString("en-US");
const e = escapeTerminal;

const inputName = (s: InputSummary): string =>
  e(s.source.member !== undefined ? `${s.source.path}!${s.source.member}` : s.source.path);

const formatCell = (s: InputSummary): string => {
  switch (s.status) {
    case "read":
      return s.source.format ?? "?";
    case "archive":
      return "archive";
    case "unknown_format":
      return "unknown";
    case "empty":
    case "binary":
    case "unsupported":
      return s.status;
  }
};

const example = (x: IssueExample): string =>
  `${x.line !== undefined ? `line ${n(x.line)}: ` : ""}${e(x.message)}${x.excerpt !== undefined ? `: "${truncateForDisplay(x.excerpt, 120)}"` : ""}`;

/** The human report: a table of inputs, details where there is something to say, totals. */
export function renderSummary(summary: ReadSummary): string {
  const out: string[] = [];
  const rows: string[][] = [
    ["FORMAT", "LINES", "PASSED", "RECORDS", "NOT UNDERSTOOD", "ISSUES", "FIRST", "LAST", "INPUT"],
  ];
  for (const s of summary.inputs) {
    const issues = s.issues.reduce((k, i) => k + i.count, 0);
    const archive = s.status === "archive";
    const name = archive
      ? `${inputName(s)} (${n(s.members?.read ?? 0)} members read, ${n(s.members?.skipped ?? 0)} skipped)`
      : inputName(s);
    rows.push([
      formatCell(s),
      archive ? "-" : n(s.lines),
      archive ? "-" : n(s.linesPassed),
      archive ? "-" : n(s.records),
      archive ? "-" : n(s.notUnderstood.count),
      n(issues),
      s.firstTime ?? "",
      s.lastTime ?? "",
      name,
    ]);
  }
  for (const row of table(rows)) out.push(row);

  const details: string[] = [];
  for (const s of summary.inputs) {
    const lines: string[] = [];
    const kinds = Object.entries(s.recordsByKind);
    if (kinds.length > 0)
      lines.push(`records: ${kinds.map(([k, v]) => `${k} ${n(v)}`).join(", ")}`);
    if (s.ignoredBy && s.ignoredBy.length > 0) {
      // kinds are the readers' own words, escaped all the same
      const by = s.ignoredBy.map((k) => `${e(k.kind)} ${n(k.count)}`).join(", ");
      lines.push(`ignored (understood, nothing to read): ${n(s.linesSkipped)} line(s): ${by}`);
    }
    if (s.source.hostHint !== undefined)
      lines.push(`host (from the name): ${e(s.source.hostHint)}`);
    if (s.encoding !== undefined && s.encoding !== "utf8")
      lines.push(`encoding: ${s.encoding} (read as UTF-8)`);
    if (s.status === "unknown_format" && s.detection?.some((d) => d.score > 0)) {
      const scores = s.detection.filter((d) => d.score > 0);
      lines.push(`best scores: ${scores.map((d) => `${d.name} ${d.score.toFixed(2)}`).join(", ")}`);
    }
    if (s.notUnderstood.count > 0 && s.status !== "unknown_format") {
      lines.push(`not understood: ${n(s.notUnderstood.count)} line(s)`);
      for (const x of s.notUnderstood.examples) lines.push(`  ${example(x)}`);
    } else if (s.status === "unknown_format" && s.notUnderstood.examples.length > 0) {
      lines.push("first lines:");
      for (const x of s.notUnderstood.examples) {
        lines.push(`  line ${n(x.line ?? 0)}: "${truncateForDisplay(x.excerpt ?? "", 120)}"`);
      }
    }
    for (const i of s.issues) {
      lines.push(`${i.code} × ${n(i.count)}`);
      for (const x of i.examples) lines.push(`  ${example(x)}`);
    }
    if (s.members && s.members.skipped > 0) {
      const why = s.members.skippedBy.map((r) => `${r.reason} ${n(r.count)}`).join(", ");
      lines.push(
        `members skipped (${why}): ${n(s.members.skipped)}, e.g. ${s.members.skippedExamples.map(e).join(", ")}`,
      );
    }
    if (lines.length === 0) continue;
    details.push("", inputName(s), ...lines.map((l) => `  ${l}`));
  }
  for (const d of details) out.push(d);

  const t = summary.totals;
  const issueTotal = Object.values(t.issues).reduce((k, v) => k + (v ?? 0), 0);
  out.push(
    "",
    `Totals: ${n(t.files)} file(s), ${n(t.inputs)} input(s) read as text, ${n(t.archives)} archive(s), ${n(t.membersSkipped)} member(s) skipped` +
      (t.entriesSkipped > 0
        ? `, ${n(t.entriesSkipped)} directory entr(ies) not read (${t.entriesSkippedBy.map((r) => `${r.reason} ${n(r.count)}`).join(", ")}; e.g. ${(summary.skippedEntries ?? []).map((x) => e(x.path)).join(", ")})`
        : ""),
    `  ${formatBytes(t.bytesRead)} read, ${formatBytes(t.bytes)} of text, ${n(t.lines)} lines, ${n(t.linesPassed)} passed to readers, ${n(t.records)} records` +
      (Object.keys(t.recordsByKind).length > 0
        ? ` (${Object.entries(t.recordsByKind)
            .map(([k, v]) => `${k} ${n(v)}`)
            .join(", ")})`
        : ""),
    `  ${n(t.notUnderstood)} line(s) not understood, ${n(issueTotal)} issue(s)` +
      (issueTotal > 0
        ? `: ${Object.entries(t.issues)
            .map(([k, v]) => `${k} ${n(v ?? 0)}`)
            .join(", ")}`
        : ""),
  );
  if (t.firstTime !== undefined) out.push(`  time span: ${t.firstTime} … ${t.lastTime ?? ""}`);
  const unknown = t.byStatus.unknown_format ?? 0;
  if (unknown > 0)
    out.push(`  ${n(unknown)} input(s) of unknown format (see above; --input-format forces one)`);
  return out.join("\n");
}

/** Left-aligned text columns, right-aligned number columns. */
function table(rows: readonly string[][]): string[] {
  const widths: number[] = [];
  for (const row of rows) {
    row.forEach((cell, i) => (widths[i] = Math.max(widths[i] ?? 0, Array.from(cell).length)));
  }
  const numeric = new Set([1, 2, 3, 4, 5]);
  return rows.map((row) =>
    row
      .map((cell, i) => {
        const w = widths[i] ?? 0;
        if (i === row.length - 1) return cell;
        const pad = " ".repeat(Math.max(0, w - Array.from(cell).length));
        return numeric.has(i) ? `${pad}${cell}` : `${cell}${pad}`;
      })
      .join("  ")
      .trimEnd(),
  );
}

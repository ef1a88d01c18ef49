/**
 * `guestops coverage` output: the logging coverage (per host and source spans, silent gaps, hostd
 * event numbers, vCenter event keys, forwarding failures, clock offsets, evidence per VM) and its findings with their fixes, as a terminal
 * table, Markdown, or JSON (`guestops.coverage/1`). Every log-derived string is escaped for the
 * format it lands in.
 */
import type { CoverageReport } from "../coverage/findings.js";
import { escapeMarkdown, escapeTerminal, safeJsonStringify } from "./escape.js";

export const COVERAGE_FORMATS = ["table", "json", "md"] as const;
export type CoverageFormat = (typeof COVERAGE_FORMATS)[number];

export const COVERAGE_SCHEMA = "guestops.coverage/1";

/** `2026-03-10T09:15:02Z` (seconds are enough for spans and gaps). */
export const shortTime = (iso: string | undefined): string =>
  iso === undefined ? "-" : `${iso.slice(0, 19)}Z`;

/** A duration in the largest unit that reads well: `3.0 d`, `7.5 h`, `12 min`, `4.2 s`. */
export function spanText(ms: number): string {
  const abs = Math.abs(ms);
  if (abs >= 86_400_000) return `${(ms / 86_400_000).toFixed(1)} d`;
  if (abs >= 3_600_000) return `${(ms / 3_600_000).toFixed(1)} h`;
  if (abs >= 60_000) return `${Math.round(ms / 60_000)} min`;
  return `${(ms / 1000).toFixed(1)} s`;
}

export function formatCoverage(format: CoverageFormat, report: CoverageReport): string {
  if (format === "json") return safeJsonStringify({ schema: COVERAGE_SCHEMA, ...report }, 2);
  return format === "md" ? coverageMarkdown(report) : coverageTable(report);
}

const n = (count: number, one: string, many = `${one}s`): string =>
  `${count} ${count === 1 ? one : many}`;

/** The plain-words opening lines, escaped by `e`. */
export function coverageHeadline(r: CoverageReport, e: (s: string) => string): string[] {
  const lines: string[] = [];
  lines.push(
    r.firstEvidence !== undefined
      ? `Guest operations can be evidenced from ${shortTime(r.firstEvidence)} on (${r.firstBySource.map((f) => `${f.source} from ${shortTime(f.first)}`).join(", ")}).`
      : "No record that could evidence a guest operation is held.",
  );
  lines.push(
    `${n(r.records, "record")}, ${n(r.operations, "guest operation")}, ${n(r.hosts.length, "host or vCenter", "hosts or vCenters")}, ${n(r.vms.length, "VM")}; ${n(r.findings.filter((f) => f.severity === "gap").length, "gap")}, ${n(r.findings.filter((f) => f.severity === "warning").length, "warning")}.`,
  );
  if (r.requiredFrom !== undefined) {
    lines.push(
      `The policy requires ${r.retentionDays} days of evidence: from ${shortTime(r.requiredFrom)} (measured back from ${shortTime(r.asOf)}).`,
    );
  } else lines.push("The policy sets no retention requirement (coverage.retention).");
  return lines.map(e);
}

function pad(rows: readonly (readonly string[])[]): string[] {
  const widths: number[] = [];
  for (const row of rows) row.forEach((c, i) => (widths[i] = Math.max(widths[i] ?? 0, c.length)));
  return rows.map((row) =>
    row
      .map((c, i) => (i === row.length - 1 ? c : c.padEnd(widths[i] ?? 0)))
      .join("  ")
      .trimEnd(),
  );
}

function coverageTable(r: CoverageReport): string {
  const t = escapeTerminal;
  const out: string[] = [...coverageHeadline(r, t), ""];
  out.push("Sources per host");
  out.push(
    ...pad([
      ["HOST", "SOURCE", "RECORDS", "FIRST", "LAST", `SILENT > ${spanText(r.thresholds.gapMs)}`],
      ...r.sources.map((s) => [
        t(s.host),
        s.source,
        String(s.records),
        shortTime(s.first),
        shortTime(s.last),
        String(s.gaps.length),
      ]),
    ]).map((l) => `  ${l}`),
  );
  if (r.events.length > 0) {
    out.push("", "hostd event numbers (they count every event type and restart with hostd)");
    for (const h of r.events) {
      const runs = h.sequences
        .map((s) => `${s.firstNumber}-${s.lastNumber} (${s.seen} seen, ${s.missing} unseen)`)
        .join(", ");
      out.push(`  ${t(h.host)}: ${runs}; ${h.restarts} restart(s)`);
    }
  }
  if (r.vcenterKeys.length > 0) {
    out.push(
      "",
      "vCenter event keys (one sequence per vCenter: a key never received is a lost event)",
    );
    for (const v of r.vcenterKeys) {
      out.push(
        `  ${t(v.vcenter)}: ${v.firstKey}-${v.lastKey}, ${v.received} received, ${v.missing} missing in ${n(v.holes, "hole")}`,
      );
    }
  }
  if (r.loggingFailures.length > 0) {
    out.push("", "Forwarding failures the hosts reported");
    for (const f of r.loggingFailures) {
      const what = f.kind === "esx.remote-failure" ? "log host unreachable" : "messages lost";
      out.push(
        `  ${t(f.host)}: ${what} x${f.reports}${f.lost !== undefined ? ` (${f.lost} messages)` : ""}, ${shortTime(f.first)} to ${shortTime(f.last)}`,
      );
    }
  }
  if (r.skew.length > 0) {
    out.push("", "Clock offsets (median over operations both sources saw)");
    out.push(
      ...pad([
        ["HOST", "SOURCE", "AGAINST", "OPERATIONS", "MEDIAN"],
        ...r.skew.map((s) => [
          t(s.host),
          s.source,
          s.reference,
          String(s.operations),
          `${(s.medianMs / 1000).toFixed(3)} s`,
        ]),
      ]).map((l) => `  ${l}`),
    );
  }
  out.push("", `Findings (${r.findings.length})`);
  for (const f of r.findings) {
    out.push(`  [${f.severity}] ${t(f.message)}`);
    for (const fix of f.fix) out.push(`      fix: ${t(fix)}`);
  }
  return `${out.join("\n")}\n`;
}

function mdTable(head: readonly string[], rows: readonly (readonly string[])[]): string[] {
  return [
    `| ${head.join(" | ")} |`,
    `|${head.map(() => "---").join("|")}|`,
    ...rows.map((r) => `| ${r.join(" | ")} |`),
  ];
}

/** The coverage as Markdown (also the report's Markdown coverage section, at `level`). */
export function coverageMarkdown(r: CoverageReport, level = 1): string {
  const m = escapeMarkdown;
  const h = "#".repeat(level);
  const out: string[] = [`${h} Logging coverage`, "", ...coverageHeadline(r, m), ""];
  out.push(`${h}# Findings`, "");
  if (r.findings.length === 0) out.push("No finding.", "");
  for (const f of r.findings) {
    out.push(`- **${f.severity}**: ${m(f.message)}`);
    for (const fix of f.fix) out.push(`  - fix: ${m(fix)}`);
  }
  out.push("", `${h}# Sources per host`, "");
  out.push(
    ...mdTable(
      ["Host", "Source", "Records", "First", "Last", `Silent > ${spanText(r.thresholds.gapMs)}`],
      r.sources.map((s) => [
        m(s.host),
        m(s.source),
        String(s.records),
        shortTime(s.first),
        shortTime(s.last),
        String(s.gaps.length),
      ]),
    ),
  );
  if (r.skew.length > 0) {
    out.push("", `${h}# Clock offsets`, "");
    out.push(
      ...mdTable(
        ["Host", "Source", "Against", "Operations", "Median"],
        r.skew.map((s) => [
          m(s.host),
          m(s.source),
          m(s.reference),
          String(s.operations),
          `${(s.medianMs / 1000).toFixed(3)} s`,
        ]),
      ),
    );
  }
  return `${out.join("\n")}\n`;
}

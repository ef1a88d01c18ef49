/**
 * `guestops scan PATH... [--policy FILE] [--format table|ndjson|json|csv] [--out FILE]
 * [--since T] [--until T] [--fail-on SEVERITY] [--input-format NAME] [--assume-tz ZONE]
 * [--reference-time ISO]`:
 * reads the logs, attributes the guest operations, runs the rules and prints the incidents, each
 * with its alerts (docs/alerts.md). The summary goes to stderr, or into the document under `--format json`.
 *
 * Exit codes: 0 when the scan ran (alerts or not); 1 with `--fail-on S` when an alert reaches S;
 * 2 for usage errors, unreadable inputs, an invalid policy, and a rule that crashed (the output is
 * still written, but the scan is incomplete).
 */
import { formatBytes } from "../../ingest/progress.js";
import { SEVERITIES, severityRank, type Severity } from "../../model/alert.js";
import type { Analysis } from "../../pipeline.js";
import {
  ALERT_FORMATS,
  emptySeverityCounts,
  summaryText,
  formatAlerts,
  type ScanSummary,
} from "../../report/alerts.js";
import { hostlessLines } from "../../attribute/summary.js";
import { skippedOf } from "../../report/inputs.js";
import { DEFAULT_ZONE } from "../../shared/zone.js";
import { VERSION } from "../../version.js";
import {
  addOutputOptions,
  choiceOption,
  oneOf,
  type OutputCliOptions,
  pathsOrStdin,
  withOutput,
} from "../conventions.js";
import { writeText } from "../output.js";
import { policyOf } from "../policy-option.js";
import { progressFor, type Display } from "../terminal.js";
import { timeRange } from "../time-bound.js";
import { addReadOptions, readOptionsOf, type ReadCliOptions } from "../read-options.js";
import { addStoreOption, storePathOf, type StoreCliOptions } from "../store-option.js";
import { defineCommand, EXIT, type ExitCode, type Io } from "../types.js";

export interface ScanOptions extends ReadCliOptions, StoreCliOptions, OutputCliOptions {
  readonly policy?: string;
  readonly format: string;
  readonly display?: Display;
  readonly since?: string;
  readonly until?: string;
  readonly failOn?: string;
}

export const scanCommand = defineCommand({
  name: "scan",
  register(program, io, done) {
    const command = addStoreOption(
      addReadOptions(program.command("scan")),
      "ingest into this store first, then scan every stored operation (docs/store.md)",
    )
      .description(
        "Scan logs for guest operations that break the site's policy and print incidents and alerts",
      )
      .argument(
        "[paths...]",
        "files, directories, .gz/.tgz/.zip archives; - (or none, when piped) for standard input",
      )
      .option("--policy <file>", "site policy (YAML, docs/policy.md); default: built-in policy")
      .option("--since <time>", "only operations at or after T (ISO 8601 with a zone, or a date)")
      .option("--until <time>", "only operations before T (a date: up to the end of that day)")
      .addOption(
        choiceOption(
          "--fail-on <severity>",
          "exit 1 when an alert reaches this severity",
          SEVERITIES,
        ),
      );
    addOutputOptions(command, ALERT_FORMATS, "incidents and alerts").action(
      async (paths: string[], options: ScanOptions) => {
        done(
          await withOutput(options, ALERT_FORMATS, io, (format, display, runIo) =>
            scan(pathsOrStdin(paths, io), { ...options, format, display }, runIo),
          ),
        );
      },
    );
  },
});

/** The whole command, callable from tests. */
export async function scan(
  paths: readonly string[],
  options: ScanOptions,
  io: Io,
): Promise<ExitCode> {
  const format = oneOf("--format", options.format, ALERT_FORMATS);
  const failOn: Severity | undefined =
    options.failOn === undefined ? undefined : oneOf("--fail-on", options.failOn, SEVERITIES);
  // The pipeline and the policy code (zod, yaml, ical.js) load only when the command runs.
  const [{ analyze }, policy, { policyWarnings }] = await Promise.all([
    import("../../pipeline.js"),
    policyOf(options.policy, io),
    import("../../policy/evaluate.js"),
  ]);
  const zone = policy.defaultSite.zone;
  const { since, until } = timeRange(options, zone);

  const progress = progressFor(io);
  const analyzeOptions = {
    paths,
    policy,
    ...readOptionsOf(options),
    ...(since !== undefined ? { since } : {}),
    ...(until !== undefined ? { until } : {}),
    stdin: io.stdin,
    cwd: io.cwd,
    readInWorker: true,
    ...(progress ? { onProgress: progress.update } : {}),
  };
  const db = storePathOf(options, io);
  const analysis =
    db !== undefined
      ? await (await import("../../store/answer.js")).analyzeWithStore(db, analyzeOptions)
      : await analyze(analyzeOptions);
  progress?.finish(
    `read ${analysis.read.totals.files} file(s), ${formatBytes(analysis.read.totals.bytesRead)} in ${(analysis.read.durationMs / 1000).toFixed(1)} s`,
  );

  const summary = scanSummary(analysis, {
    policy: options.policy ?? "(built-in default: no accounts, tiers or windows)",
    policyWarnings: policyWarnings(policy),
    assumeTz: options.assumeTz ?? DEFAULT_ZONE,
    ...(since !== undefined ? { since: new Date(since).toISOString() } : {}),
    ...(until !== undefined ? { until: new Date(until).toISOString() } : {}),
  });
  const { alerts, incidents } = analysis.detection;
  // alerts and incidents are few: rendered at once, written through the same sink as `events`
  const text = formatAlerts(format, alerts, summary, incidents, options.display);
  await writeText(io, options.out, text, { finalNewline: true });
  if (format !== "json") io.stderr(summaryText(summary));

  if (analysis.detection.failures.length > 0) return EXIT.ERROR;
  if (failOn !== undefined) {
    const threshold = severityRank(failOn);
    if (alerts.some((a) => severityRank(a.severity) >= threshold)) return EXIT.ALERTS;
  }
  return EXIT.OK;
}

/** The run's summary: inputs, formats, issues, operations, attribution, alerts, rules. */
export function scanSummary(
  analysis: Analysis,
  context: {
    policy: string;
    policyWarnings?: readonly string[];
    assumeTz: string;
    since?: string;
    until?: string;
  },
): ScanSummary {
  const { read, attribution, detection } = analysis;
  const formats = new Map<string, number>();
  for (const input of read.inputs) {
    if (input.status === "archive") continue;
    const name = input.status === "read" ? (input.source.format ?? "unknown") : input.status;
    formats.set(name, (formats.get(name) ?? 0) + 1);
  }
  const incidentsBySeverity = emptySeverityCounts();
  for (const incident of detection.incidents) incidentsBySeverity[incident.severity] += 1;
  const bySeverity = emptySeverityCounts();
  const byRule = new Map<string, number>();
  for (const alert of detection.alerts) {
    bySeverity[alert.severity] += 1;
    for (const rule of alert.rules) byRule.set(rule, (byRule.get(rule) ?? 0) + 1);
  }
  return {
    tool: { name: "guestops", version: VERSION },
    policy: context.policy,
    ...(context.policyWarnings?.length ? { policyWarnings: context.policyWarnings } : {}),
    assumeTz: context.assumeTz,
    ...(context.since !== undefined ? { since: context.since } : {}),
    ...(context.until !== undefined ? { until: context.until } : {}),
    inputs: read.inputs
      .filter((i) => i.status !== "archive")
      .map((i) => ({
        path: i.source.path,
        ...(i.source.member !== undefined ? { member: i.source.member } : {}),
        sha256: i.source.sha256,
        ...(i.source.format !== undefined ? { format: i.source.format } : {}),
        records: i.records,
      })),
    formats: Object.fromEntries(formats),
    issues: Object.fromEntries(Object.entries(read.totals.issues)),
    ...(read.totals.membersSkipped + read.totals.entriesSkipped > 0
      ? { skipped: skippedOf(read.totals) }
      : {}),
    records: read.totals.records,
    operations: analysis.inTimeRange,
    outsideTimeRange: analysis.outsideTimeRange,
    attribution: {
      levels: attribution.levels,
      coverage: attribution.coverage ?? 0,
      hints: [...hostlessLines(attribution), ...attribution.explanations],
    },
    incidents: { total: detection.incidents.length, bySeverity: incidentsBySeverity },
    alerts: {
      total: detection.alerts.length,
      bySeverity,
      byRule: Object.fromEntries(byRule),
    },
    ...(detection.excepted?.length
      ? {
          excepted: {
            total: detection.excepted.length,
            alerts: detection.excepted.map((a) => ({
              id: a.id,
              title: a.title,
              severity: a.severity,
              ...(a.firstSeen !== undefined ? { firstSeen: a.firstSeen } : {}),
              exceptions: (a.exceptions ?? []).map((x) => ({
                id: x.id,
                ticket: x.ticket,
                owner: x.owner,
                expires: x.expires,
                findings: x.findings,
              })),
            })),
          },
        }
      : {}),
    rules: {
      ran: [...detection.signalsByRule.keys()],
      disabled: detection.disabled,
      ...(detection.notes?.length ? { notes: detection.notes } : {}),
      failures: detection.failures.map((f) => ({
        rule: f.ruleId,
        stage: f.stage,
        count: f.count,
        message: f.message,
      })),
    },
  };
}

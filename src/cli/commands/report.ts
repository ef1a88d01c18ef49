/**
 * `guestops report [PATH...] [--db FILE] [--policy FILE] [--since T] [--until T] --out FILE
 * [--format html|md|json] [--as-of T] [--title TEXT]`: the audit report (docs/report.md) — headline
 * answers, who, which VMs, when, alerts with their evidence, and the logging coverage — as one
 * self-contained HTML file (or Markdown, or JSON). The same store and options give the same bytes.
 */
import { Option } from "commander";
import { escapeTerminal, safeJsonStringify } from "../../report/escape.js";
import { oneOf } from "../conventions.js";
import { GuestOpsError } from "../../shared/errors.js";
import { writeText } from "../output.js";
import { addReadOptions, readOptionsOf, type ReadCliOptions } from "../read-options.js";
import { addStoreOption, storePathOf, type StoreCliOptions } from "../store-option.js";
import { parseTimeBound, timeRange } from "../time-bound.js";
import { defineCommand, EXIT, type ExitCode, type Io } from "../types.js";
import { policyOf } from "../policy-option.js";

export const REPORT_FORMATS = ["html", "md", "json"] as const;

export interface ReportCliOptions extends ReadCliOptions, StoreCliOptions {
  readonly policy?: string;
  readonly format: string;
  readonly out?: string;
  readonly since?: string;
  readonly until?: string;
  readonly asOf?: string;
  readonly title?: string;
}

export const reportCommand = defineCommand({
  name: "report",
  register(program, io, done) {
    addStoreOption(
      addReadOptions(program.command("report")),
      "ingest the paths into this store, then report on every stored operation of the range",
    )
      .description(
        "Write the audit report: who ran guest operations on which VMs and when, alerts with evidence, logging coverage",
      )
      .argument("[paths...]", "files, directories, .gz/.tgz/.zip archives; - for standard input")
      .option("--policy <file>", "site policy (YAML, docs/policy.md); default: built-in policy")
      .requiredOption("--out <file>", "the file to write")
      .addOption(
        new Option("--format <format>", "report format").choices(REPORT_FORMATS).default("html"),
      )
      .option("--since <time>", "only operations at or after T (ISO 8601 with a zone, or a date)")
      .option("--until <time>", "only operations before T (a date: up to the end of that day)")
      .option("--as-of <time>", "measure the evidence retention back from this instant")
      .option("--title <text>", "the report's title", "Guest operations audit")
      .action(async (paths: string[], options: ReportCliOptions) => {
        done(await report(paths, options, io));
      });
  },
});

export async function report(
  paths: readonly string[],
  options: ReportCliOptions,
  io: Io,
): Promise<ExitCode> {
  const format = oneOf("--format", options.format, REPORT_FORMATS);
  if (options.out === undefined || options.out === "") {
    throw new GuestOpsError("ERR_USAGE", "report needs --out FILE");
  }
  const db = storePathOf(options, io);
  if (paths.length === 0 && db === undefined) {
    throw new GuestOpsError("ERR_USAGE", "report needs paths to read, or a store (--db FILE)", {
      hint: "guestops report LOGS... --out report.html, or guestops report --db guestops.db --out report.html",
    });
  }
  const policy = await policyOf(options.policy, io);
  const zone = policy.defaultSite.zone;
  const { since, until } = timeRange(options, zone);
  const asOf = options.asOf === undefined ? undefined : parseTimeBound(options.asOf, zone, "since");
  const [{ gatherAudit }, { buildReport }] = await Promise.all([
    import("../../audit.js"),
    import("../../report/audit/model.js"),
  ]);
  const { analysis, operations, coverage, held } = await gatherAudit({
    paths,
    policy,
    ...readOptionsOf(options),
    ...(since !== undefined ? { since } : {}),
    ...(until !== undefined ? { until } : {}),
    stdin: io.stdin,
    cwd: io.cwd,
    ...(db !== undefined ? { db } : {}),
    ...(asOf !== undefined ? { asOf } : {}),
  });
  const data = buildReport(analysis, operations, coverage, policy, {
    policyName: options.policy ?? "(built-in default: no accounts, tiers or windows)",
    inputs: { files: held.inputs, records: held.records },
    ...(since !== undefined ? { since } : {}),
    ...(until !== undefined ? { until } : {}),
    ...(options.title !== undefined ? { title: options.title } : {}),
  });
  let text: string;
  if (format === "json") text = `${safeJsonStringify(data, 2)}\n`;
  else if (format === "md")
    text = (await import("../../report/audit/markdown.js")).renderMarkdown(data);
  else text = (await import("../../report/audit/html.js")).renderHtml(data);
  await writeText(io, options.out, text, { finalNewline: false });
  io.stderr(
    `report: ${data.headline.operations} operations, ${data.headline.alerts.total} alerts, ${data.headline.incidents.total} incidents, ${coverage.findings.length} coverage findings → ${escapeTerminal(options.out)}\n`,
  );
  if (analysis.detection.failures.length > 0) return EXIT.ERROR;
  return EXIT.OK;
}

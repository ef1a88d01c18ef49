/**
 * `guestops coverage [PATH...] [--db FILE] [--policy FILE] [--format table|json|md] [--out FILE]
 * [--as-of T]`: what the logs held can evidence, per host and per source, and what to change where
 * they cannot (docs/report.md#coverage). Works from the paths alone, or from the store (after
 * ingesting the paths, if any).
 */
import { Option } from "commander";
import { COVERAGE_FORMATS } from "../../report/coverage.js";
import { oneOf } from "../conventions.js";
import { GuestOpsError } from "../../shared/errors.js";
import { writeText } from "../output.js";
import { policyOf } from "../policy-option.js";
import { addReadOptions, readOptionsOf, type ReadCliOptions } from "../read-options.js";
import { addStoreOption, storePathOf, type StoreCliOptions } from "../store-option.js";
import { parseTimeBound } from "../time-bound.js";
import { defineCommand, EXIT, type ExitCode, type Io } from "../types.js";

export interface CoverageCliOptions extends ReadCliOptions, StoreCliOptions {
  readonly policy?: string;
  readonly format: string;
  readonly out?: string;
  readonly asOf?: string;
}

export const coverageCommand = defineCommand({
  name: "coverage",
  register(program, io, done) {
    addStoreOption(
      addReadOptions(program.command("coverage")),
      "ingest the paths into this store, then report on everything it holds (docs/store.md)",
    )
      .description(
        "Show what the logs can evidence per host and source (spans, gaps, event numbers, skew, retention) and how to close the gaps",
      )
      .argument("[paths...]", "files, directories, .gz/.tgz/.zip archives; - for standard input")
      .option("--policy <file>", "site policy (YAML): tiers and the coverage: requirements")
      .addOption(
        new Option("--format <format>", "output format").choices(COVERAGE_FORMATS).default("table"),
      )
      .option("--out <file>", "write to this file instead of standard output")
      .option(
        "--as-of <time>",
        "measure the retention back from this instant (default: the newest record held)",
      )
      .action(async (paths: string[], options: CoverageCliOptions) => {
        done(await coverage(paths, options, io));
      });
  },
});

export async function coverage(
  paths: readonly string[],
  options: CoverageCliOptions,
  io: Io,
): Promise<ExitCode> {
  const format = oneOf("--format", options.format, COVERAGE_FORMATS);
  const db = storePathOf(options, io);
  if (paths.length === 0 && db === undefined) {
    throw new GuestOpsError("ERR_USAGE", "coverage needs paths to read, or a store (--db FILE)", {
      hint: "guestops coverage LOGS... or guestops coverage --db guestops.db",
    });
  }
  const policy = await policyOf(options.policy, io);
  const asOf =
    options.asOf === undefined
      ? undefined
      : parseTimeBound(options.asOf, policy.defaultSite.zone, "since");
  const [{ gatherCoverage }, { formatCoverage }] = await Promise.all([
    import("../../audit.js"),
    import("../../report/coverage.js"),
  ]);
  const { coverage: report } = await gatherCoverage({
    paths,
    policy,
    ...readOptionsOf(options),
    stdin: io.stdin,
    cwd: io.cwd,
    ...(db !== undefined ? { db } : {}),
    ...(asOf !== undefined ? { asOf } : {}),
  });
  const text = formatCoverage(format, report);
  await writeText(io, options.out, text, { finalNewline: true });
  return EXIT.OK;
}

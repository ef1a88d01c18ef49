/**
 * `guestops evaluate --truth LABELS PATH... [--policy FILE] [--learn-until T [--db FILE]]
 * [--format table|json]`: scans labelled logs and scores the result (docs/evaluation.md). With
 * `--learn-until`, a baseline is learned from the operations before T first (into a temporary
 * store, or `--db`) and the scan judges the rest against it.
 *
 * Exit codes: 0 when the evaluation ran; 2 for usage errors, unreadable inputs or labels, an
 * invalid policy, and a rule that crashed (the figures are still printed).
 */
import { Option } from "commander";
import { EVALUATE_FORMATS } from "../../evaluate/format.js";
import { oneOf } from "../conventions.js";
import { GuestOpsError } from "../../shared/errors.js";
import { writeText } from "../output.js";
import { policyOf } from "../policy-option.js";
import { addReadOptions, readOptionsOf, type ReadCliOptions } from "../read-options.js";
import type { StoreCliOptions } from "../store-option.js";
import { parseTimeBound } from "../time-bound.js";
import { defineCommand, EXIT, type ExitCode, type Io } from "../types.js";

export interface EvaluateCliOptions extends ReadCliOptions, StoreCliOptions {
  readonly truth: string;
  readonly policy?: string;
  readonly learnUntil?: string;
  readonly format: string;
  readonly out?: string;
}

export const evaluateCommand = defineCommand({
  name: "evaluate",
  register(program, io, done) {
    addReadOptions(program.command("evaluate"))
      .description(
        "Scan labelled logs (guestops simulate, or a labelled exercise) and score the detection",
      )
      .argument("<paths...>", "files, directories, archives holding the labelled logs")
      .requiredOption("--truth <labels>", "labels file (NDJSON, docs/evaluation.md)")
      .option("--policy <file>", "site policy (YAML, docs/policy.md); default: built-in policy")
      .option(
        "--learn-until <time>",
        "learn a baseline from the operations before T (as guestops learn --until T), score the rest",
      )
      .option(
        "--db <file>",
        "with --learn-until: the store to learn into and scan from (default: a temporary one)",
      )
      .addOption(
        new Option("--format <format>", "output format").choices(EVALUATE_FORMATS).default("table"),
      )
      .option("--out <file>", "write the result to this file instead of standard output")
      .action(async (paths: string[], options: EvaluateCliOptions) => {
        done(await evaluateCli(paths, options, io));
      });
  },
});

export async function evaluateCli(
  paths: readonly string[],
  options: EvaluateCliOptions,
  io: Io,
): Promise<ExitCode> {
  oneOf("--format", options.format, EVALUATE_FORMATS);
  if (options.db !== undefined && options.learnUntil === undefined) {
    throw new GuestOpsError("ERR_USAGE", "--db needs --learn-until", {
      hint: "without learning, evaluate scans the inputs stateless; add --learn-until T to learn into the store",
    });
  }
  const [{ evaluate }, { evaluationDocument, evaluationText }, policy] = await Promise.all([
    import("../../evaluate/index.js"),
    import("../../evaluate/format.js"),
    policyOf(options.policy, io),
  ]);
  const learnUntil =
    options.learnUntil === undefined
      ? undefined
      : parseTimeBound(options.learnUntil, policy.defaultSite.zone, "since");
  const result = await evaluate({
    paths,
    truth: options.truth,
    policy,
    ...readOptionsOf(options),
    ...(learnUntil !== undefined
      ? {
          learnUntil,
          // the learning step: `guestops learn --until T` into a store, then `scan --db`
          learn: (await import("../../evaluate/learn.js")).storeLearning({
            ...(options.db !== undefined ? { db: options.db } : {}),
            cwd: io.cwd,
          }),
        }
      : {}),
    stdin: io.stdin,
    cwd: io.cwd,
  });
  const text =
    options.format === "json"
      ? `${JSON.stringify(evaluationDocument(result), null, 2)}\n`
      : evaluationText(result);
  await writeText(io, options.out, text, { finalNewline: false });
  return result.analysis.detection.failures.length > 0 ? EXIT.ERROR : EXIT.OK;
}

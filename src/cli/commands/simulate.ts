/**
 * `guestops simulate --out DIR [--hosts N] [--vms M] [--days D] [--seed S] [--tz ZONE]
 * [--start DATE] [--history H] [--scenarios LIST]`: writes a simulated estate's logs (DIR/logs), its labels
 * (DIR/labels.ndjson) and its site policy (DIR/policy.yaml); docs/evaluation.md.
 *
 * Exit codes: 0 when written; 2 for usage errors and unwritable output.
 */
import { resolve } from "node:path";
import { escapeTerminal } from "../../report/escape.js";
import { GuestOpsError, isSystemError } from "../../shared/errors.js";
import { defineCommand, EXIT, type ExitCode, type Io } from "../types.js";

export interface SimulateCliOptions {
  readonly out: string;
  readonly hosts?: string;
  readonly vms?: string;
  readonly days?: string;
  readonly history?: string;
  readonly seed?: string;
  readonly tz?: string;
  readonly start?: string;
  readonly scenarios?: string;
}

export const simulateCommand = defineCommand({
  name: "simulate",
  register(program, io, done) {
    program
      .command("simulate")
      .description("Write a simulated estate's logs with labelled attacks, for guestops evaluate")
      .requiredOption("--out <dir>", "directory to write (logs/, labels.ndjson, policy.yaml)")
      .option("--hosts <n>", "ESXi hosts (default 8)")
      .option("--vms <n>", "VMs (default 60)")
      .option("--days <n>", "days simulated (default 28)")
      .option(
        "--history <n>",
        "attack-free days at the start, to learn from (default 15; at least 7 days are left for attacks)",
      )
      .option("--seed <n>", "seed: same options and seed, same bytes (default 1)")
      .option("--tz <zone>", "IANA zone of the site (default Europe/Paris)")
      .option("--start <date>", "local date of the first day (default 2026-03-16)")
      .option(
        "--scenarios <list>",
        "switchable scenarios to include, comma-separated, or none (default: all)",
      )
      .action(async (options: SimulateCliOptions) => {
        done(await simulateCli(options, io));
      });
  },
});

const whole = (name: string, v: string | undefined): number | undefined => {
  if (v === undefined) return undefined;
  if (!/^\d{1,10}$/.test(v.trim())) {
    throw new GuestOpsError("ERR_USAGE", `--${name} must be a whole number, not ${v}`);
  }
  return Number(v.trim());
};

export async function simulateCli(options: SimulateCliOptions, io: Io): Promise<ExitCode> {
  const { simulate } = await import("../../simulate/index.js");
  const list = options.scenarios?.trim();
  const scenarios =
    list === undefined
      ? undefined
      : list === "none" || list === ""
        ? []
        : list.split(",").map((s) => s.trim());
  const hosts = whole("hosts", options.hosts);
  const vms = whole("vms", options.vms);
  const days = whole("days", options.days);
  const history = whole("history", options.history);
  const seed = whole("seed", options.seed);
  const out = resolve(io.cwd, options.out);
  let result;
  try {
    result = simulate({
      out,
      ...(hosts !== undefined ? { hosts } : {}),
      ...(vms !== undefined ? { vms } : {}),
      ...(days !== undefined ? { days } : {}),
      ...(history !== undefined ? { history } : {}),
      ...(seed !== undefined ? { seed } : {}),
      ...(options.tz !== undefined ? { tz: options.tz } : {}),
      ...(options.start !== undefined ? { start: options.start } : {}),
      ...(scenarios !== undefined ? { scenarios } : {}),
    });
  } catch (cause) {
    if (isSystemError(cause)) {
      throw new GuestOpsError("ERR_OUTPUT", `cannot write ${escapeTerminal(options.out)}`, {
        cause,
        hint: "check that the directory is writable",
      });
    }
    throw cause;
  }
  const bytes = result.files.reduce((n, f) => n + f.bytes, 0);
  io.stdout(
    [
      `wrote ${result.files.length} log files (${(bytes / 1e6).toFixed(1)} MB), ${result.operations} labelled operations`,
      ...[...result.byScenario].map(([id, n]) => `  ${id}: ${n}`),
      `labels: ${escapeTerminal(resolve(out, "labels.ndjson"))}`,
      `policy: ${escapeTerminal(resolve(out, "policy.yaml"))}`,
      `evaluate: guestops evaluate --truth ${escapeTerminal(resolve(out, "labels.ndjson"))} --policy ${escapeTerminal(resolve(out, "policy.yaml"))} ${escapeTerminal(resolve(out, "logs"))}`,
      ...(result.history > 0
        ? [
            `  learning first (${result.history} attack-free days): add --learn-until ${result.learnUntil}`,
          ]
        : []),
      "",
    ].join("\n"),
  );
  return EXIT.OK;
}

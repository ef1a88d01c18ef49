/**
 * `guestops policy check FILE [--days N]`: validates a policy file and prints it as understood,
 * with maintenance windows expanded for the next N days in local time (UTC in brackets).
 * Exit 0 when valid, 2 when invalid (every problem with its line and field).
 * `guestops policy suggest [--db FILE]`: a commented draft policy drawn from the learned baseline
 * (docs/detection.md) on stdout; 2 when the store holds no baseline.
 */
import { Option } from "commander";
import { escapeTerminal, safeJsonStringify } from "../../report/escape.js";
import { GuestOpsError } from "../../shared/errors.js";
import { defineCommand, EXIT, type ExitCode, type Io } from "../types.js";

interface CheckOptions {
  readonly days: string;
  readonly json?: boolean;
  readonly now?: string;
}

const e = (text: string): string => escapeTerminal(text);

/** The policy as JSON can hold it: big integers as strings, maps as entry lists, sets as arrays. */
const plain = (value: unknown): unknown =>
  JSON.parse(
    JSON.stringify(value, (_key, v: unknown) =>
      typeof v === "bigint"
        ? v.toString()
        : v instanceof Map
          ? [...v.entries()]
          : v instanceof Set
            ? [...v]
            : v instanceof RegExp
              ? v.source
              : v,
    ),
  ) as unknown;

/** Loads the policy code (zod, yaml, ical.js) only when the command runs. */
async function check(file: string, options: CheckOptions, io: Io): Promise<ExitCode> {
  const { checkPolicyFile, instantMs, invalidPolicy } = await import("../../policy/index.js");
  const { renderPolicy } = await import("../../report/policy.js");

  const days = Number(options.days);
  if (!Number.isInteger(days) || days < 0 || days > 3660) {
    throw new GuestOpsError(
      "ERR_USAGE",
      `--days expects a whole number of days (0–3660), got ${e(options.days)}`,
    );
  }
  let nowMs = Date.now();
  if (options.now !== undefined) {
    nowMs = instantMs(options.now);
    if (Number.isNaN(nowMs)) {
      throw new GuestOpsError(
        "ERR_USAGE",
        `--now expects an ISO 8601 time with a zone, got ${e(options.now)}`,
      );
    }
  }
  const result = checkPolicyFile(file);
  if (!result.ok) throw invalidPolicy(file, result.problems);
  io.stdout(
    options.json
      ? safeJsonStringify({ file, valid: true, policy: plain(result.policy) }, 2)
      : renderPolicy(result.policy, nowMs, days),
  );
  return EXIT.OK;
}

interface SuggestOptions {
  readonly db?: string;
}

/** `policy suggest`: a commented draft policy from the stored baseline. */
async function suggest(options: SuggestOptions, io: Io): Promise<ExitCode> {
  const store = await import("../../store/index.js");
  const { suggestPolicy } = await import("../../baseline/suggest.js");
  const opened = store.openStore(options.db ?? store.defaultDbPath(io.env), { cwd: io.cwd });
  try {
    const loaded = store.loadBaseline(opened.db);
    if (!loaded) {
      throw new GuestOpsError("ERR_USAGE", `no baseline in ${e(opened.file)}`, {
        hint: "learn one first: guestops learn PATH... --db FILE",
      });
    }
    io.stdout(suggestPolicy(loaded.baseline, { store: opened.file }));
    return EXIT.OK;
  } finally {
    opened.close();
  }
}

export const policyCommand = defineCommand({
  name: "policy",
  register(program, io, done) {
    const policy = program.command("policy").description("Work with policy files (docs/policy.md)");
    policy
      .command("check")
      .description("Validate a policy file and print it as understood, windows expanded")
      .argument("<file>", "policy file (YAML)")
      .option("--days <n>", "expand maintenance windows for this many days", "14")
      .option("--json", "print the policy as understood as JSON")
      .addOption(
        new Option("--now <time>", "evaluate as if now were this instant (tests)").hideHelp(),
      )
      .action(async (file: string, options: CheckOptions) => {
        done(await check(file, options, io));
      });
    policy
      .command("suggest")
      .description("Draft a commented policy from the learned baseline (review it, then check it)")
      .option(
        "--db <file>",
        "the store holding the baseline (default: GUESTOPS_DB, else the user's data directory)",
      )
      .action(async (options: SuggestOptions) => {
        done(await suggest(options, io));
      });
  },
});

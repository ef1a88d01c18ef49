/**
 * `guestops learn [PATH...] [--db FILE] [--policy FILE] [--since T] [--until T]`: ingests the
 * paths into the store when given, then learns the baseline from the stored operations (within
 * `--since`/`--until`) and stores it (docs/detection.md). The operations of alerts of medium or
 * higher severity are left out unless accepted (`guestops baseline accept`). Exit 0; 2 for a
 * usage error, an unreadable path, an invalid policy or a store that cannot be opened.
 */
import { escapeTerminal } from "../../report/escape.js";
import { addReadOptions, readOptionsOf, type ReadCliOptions } from "../read-options.js";
import { addStoreOption, type StoreCliOptions } from "../store-option.js";
import { timeRange } from "../time-bound.js";
import { defineCommand, EXIT, type ExitCode, type Io } from "../types.js";
import { policyOf } from "../policy-option.js";

export interface LearnCliOptions extends ReadCliOptions, StoreCliOptions {
  readonly policy?: string;
  readonly since?: string;
  readonly until?: string;
}

export const learnCommand = defineCommand({
  name: "learn",
  register(program, io, done) {
    addStoreOption(
      addReadOptions(program.command("learn")),
      "the store (default: GUESTOPS_DB, else guestops/guestops.db in the user's data directory)",
    )
      .description(
        "Learn what normal guest-operation use looks like from the stored operations (ingesting PATHs first)",
      )
      .argument("[paths...]", "logs to ingest first: files, directories, archives; - for stdin")
      .option("--policy <file>", "site policy: its zone, domain aliases and rules (docs/policy.md)")
      .option("--since <time>", "learn from operations at or after T")
      .option(
        "--until <time>",
        "learn from operations before T (a date: up to the end of that day)",
      )
      .action(async (paths: string[], options: LearnCliOptions) => {
        done(await learn(paths, options, io));
      });
  },
});

export async function learn(
  paths: readonly string[],
  options: LearnCliOptions,
  io: Io,
): Promise<ExitCode> {
  const [store, policy, { spanText, dateText }] = await Promise.all([
    import("../../store/index.js"),
    policyOf(options.policy, io),
    import("../../baseline/model.js"),
  ]);
  const zone = policy.defaultSite.zone;
  const { since, until } = timeRange(options, zone);
  const opened = store.openStore(options.db ?? store.defaultDbPath(io.env), { cwd: io.cwd });
  try {
    const lines: string[] = [];
    const { runId, ingest, result, seconds } = await store.learnIntoStore(opened.db, {
      paths,
      ...readOptionsOf(options),
      stdin: io.stdin,
      cwd: io.cwd,
      policy,
      ...(since !== undefined ? { from: since } : {}),
      ...(until !== undefined ? { to: until } : {}),
    });
    if (ingest) {
      const a = ingest.attribution;
      lines.push(
        `ingested: ${ingest.records.read} record(s) read, ${ingest.records.added} new; operations ${a.created} new, ${a.updated} updated`,
      );
    }
    const { baseline } = result;
    const scheduled = [...baseline.accounts.values()].filter((p) => p.cadence).length;
    lines.unshift(`store: ${escapeTerminal(opened.file)} (run ${runId})`);
    lines.push(
      baseline.operations > 0
        ? `learned: ${baseline.operations} operation(s) from ${dateText(baseline.from)} to ${dateText(baseline.to)} (${spanText(baseline.to - baseline.from)}), zone ${baseline.zone}, in ${seconds.toFixed(1)} s`
        : "learned: no attributed operation with a time in the store (ingest logs first: guestops learn PATH...)",
      `profiles: ${baseline.accounts.size} account(s) (${scheduled} with a schedule), ${baseline.vms.size} VM(s)`,
      `left out: ${baseline.excluded.operations} operation(s) of ${result.excludedAlerts.length} alert(s) of medium or higher severity${result.excludedAlerts.length > 0 ? ` (${result.excludedAlerts.slice(0, 5).join(", ")}${result.excludedAlerts.length > 5 ? ", ..." : ""}; guestops baseline accept ALERT-ID learns one as normal)` : ""}`,
    );
    if (result.acceptedAlerts.length > 0) {
      lines.push(`accepted: ${result.acceptedAlerts.length} alert(s) learned as normal`);
    }
    if (result.skipped > 0) {
      lines.push(
        `not learned: ${result.skipped} operation(s) without a time or an attributed principal`,
      );
    }
    io.stdout(lines.join("\n"));
    return EXIT.OK;
  } finally {
    opened.close();
  }
}

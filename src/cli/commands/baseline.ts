/**
 * `guestops baseline show [--account A]`, `guestops baseline diff [--policy FILE] [--since T]
 * [--until T]`, `guestops baseline accept ALERT-ID [--note TEXT]` (all with `--db FILE`): the
 * stored baseline in plain words; what a new learning run would change; an alert accepted as
 * normal, so that the next learning run learns its operations. Exit 0; 2 for usage errors and a
 * store without a baseline (show).
 */
import { Option } from "commander";
import { escapeTerminal } from "../../report/escape.js";
import { GuestOpsError } from "../../shared/errors.js";
import { addStoreOption, type StoreCliOptions } from "../store-option.js";
import { timeRange } from "../time-bound.js";
import { defineCommand, EXIT, type ExitCode, type Io } from "../types.js";
import { policyOf } from "../policy-option.js";

const DB_HELP =
  "the store (default: GUESTOPS_DB, else guestops/guestops.db in the user's data directory)";

interface ShowOptions extends StoreCliOptions {
  readonly account?: string;
  readonly now?: string;
}
interface DiffOptions extends StoreCliOptions {
  readonly policy?: string;
  readonly since?: string;
  readonly until?: string;
}
interface AcceptOptions extends StoreCliOptions {
  readonly note?: string;
}

async function openFor(options: StoreCliOptions, io: Io) {
  const store = await import("../../store/index.js");
  return {
    store,
    opened: store.openStore(options.db ?? store.defaultDbPath(io.env), { cwd: io.cwd }),
  };
}

async function show(options: ShowOptions, io: Io): Promise<ExitCode> {
  const { store, opened } = await openFor(options, io);
  try {
    const loaded = store.loadBaseline(opened.db);
    if (!loaded) {
      throw new GuestOpsError("ERR_USAGE", `no baseline in ${escapeTerminal(opened.file)}`, {
        hint: "learn one first: guestops learn PATH... --db FILE",
      });
    }
    const [{ describeBaseline }, { normaliseAccount }] = await Promise.all([
      import("../../baseline/describe.js"),
      import("../../attribute/identity.js"),
    ]);
    const wanted = options.account !== undefined ? normaliseAccount(options.account) : undefined;
    const text = describeBaseline(loaded.baseline, {
      now:
        options.now !== undefined && !Number.isNaN(Date.parse(options.now))
          ? Date.parse(options.now)
          : Date.now(),
      ...(wanted
        ? {
            account: (p) =>
              p.account === wanted.id ||
              p.display.toLowerCase() === (options.account ?? "").toLowerCase() ||
              p.account.endsWith(`\\${wanted.user}`),
          }
        : {}),
    });
    const lines = [text];
    if (wanted && !text.includes("\n\n")) {
      lines.push(`\nno profile for ${escapeTerminal(options.account ?? "")} in the baseline`);
    }
    if (loaded.unreadable > 0) {
      lines.push(
        `\n${loaded.unreadable} stored profile(s) could not be read (learn again to rewrite them)`,
      );
    }
    io.stdout(lines.join(""));
    return EXIT.OK;
  } finally {
    opened.close();
  }
}

async function diff(options: DiffOptions, io: Io): Promise<ExitCode> {
  const policy = await policyOf(options.policy, io);
  const { since, until } = timeRange(options, policy.defaultSite.zone);
  const { store, opened } = await openFor(options, io);
  try {
    const { diffBaselines } = await import("../../baseline/diff.js");
    const before = store.loadBaseline(opened.db)?.baseline;
    const after = store.learnFromStore(opened.db, {
      policy,
      ...(since !== undefined ? { from: since } : {}),
      ...(until !== undefined ? { to: until } : {}),
      learnedAt: Date.now(),
    }).baseline;
    io.stdout(diffBaselines(before, after));
    return EXIT.OK;
  } finally {
    opened.close();
  }
}

async function accept(alertId: string, options: AcceptOptions, io: Io): Promise<ExitCode> {
  if (!/^al-[0-9a-f]{16}$/.test(alertId)) {
    throw new GuestOpsError("ERR_USAGE", `${escapeTerminal(alertId)} is not an alert id`, {
      hint: "alert ids look like al-0123456789abcdef (scan output)",
    });
  }
  const { store, opened } = await openFor(options, io);
  try {
    const { known } = store.acceptAlert(opened.db, alertId, options.note ?? "", Date.now());
    io.stdout(
      `accepted ${alertId}${known ? "" : " (not in this store yet: accepted for when it is)"}: the next guestops learn learns its operations as normal`,
    );
    return EXIT.OK;
  } finally {
    opened.close();
  }
}

export const baselineCommand = defineCommand({
  name: "baseline",
  register(program, io, done) {
    const baseline = program
      .command("baseline")
      .description("Work with the learned baseline (docs/detection.md)");
    addStoreOption(baseline.command("show"), DB_HELP)
      .description("Describe each learned profile in plain words, with its age and history")
      .option("--account <name>", "only this account")
      .addOption(new Option("--now <time>", "describe ages as of this instant (tests)").hideHelp())
      .action(async (options: ShowOptions) => {
        done(await show(options, io));
      });
    addStoreOption(baseline.command("diff"), DB_HELP)
      .description("Show what a new learning run would change in the stored baseline")
      .option("--policy <file>", "site policy, as guestops learn would use it")
      .option("--since <time>", "learn from operations at or after T")
      .option("--until <time>", "learn from operations before T")
      .action(async (options: DiffOptions) => {
        done(await diff(options, io));
      });
    addStoreOption(baseline.command("accept"), DB_HELP)
      .description("Accept an alert as normal: the next learning run learns its operations")
      .argument("<alert-id>", "the alert's id (al-...)")
      .option("--note <text>", "why it is normal")
      .action(async (alertId: string, options: AcceptOptions) => {
        done(await accept(alertId, options, io));
      });
  },
});

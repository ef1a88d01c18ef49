/**
 * The conventions every command follows, defined once: case-insensitive choices, the output
 * options (`-f/--format`, `-o/--out`, `--force`, `--json`, `-q`, `-v`, `--color`, `--wide`,
 * `--local`, `--tz`), the format inferred from `--out`'s extension, `--out` never overwriting a
 * file unless `--force`, and standard input read when no path is given and it is not a terminal.
 */
import { stat } from "node:fs/promises";
import { extname, resolve } from "node:path";
import { Option, type Command } from "commander";
import { escapeTerminal } from "../report/escape.js";
import { GuestOpsError } from "../shared/errors.js";
import {
  COLOR_CHOICES,
  displayOf,
  quietIo,
  type Display,
  type DisplayCliOptions,
} from "./terminal.js";
import type { Io } from "./types.js";

const usage = (message: string, hint?: string): GuestOpsError =>
  new GuestOpsError("ERR_USAGE", message, hint ? { hint } : {});

/**
 * `value` as one of `choices`, else the usage error every command gives (`unknown --flag X`, the
 * choices as hint): for the command functions the library and tests call without commander.
 */
export function oneOf<T extends string>(flag: string, value: string, choices: readonly T[]): T {
  if ((choices as readonly string[]).includes(value)) return value as T;
  throw usage(`unknown ${flag} ${escapeTerminal(value)}`, `use one of ${choices.join(", ")}`);
}

/**
 * An option taking one of `choices`, matched without regard to case (`--format NDJSON`); the
 * value handed to the action is the choice as listed. Help lists the choices.
 */
export function choiceOption(
  flags: string,
  description: string,
  choices: readonly string[],
): Option {
  const option = new Option(flags, description).choices(choices);
  const name = option.long ?? flags;
  return option.argParser((value: string) => {
    const found = choices.find((c) => c.toLowerCase() === value.trim().toLowerCase());
    if (found === undefined) {
      throw usage(
        `${name} ${JSON.stringify(value)} is not one of ${choices.join(", ")}`,
        `Give one of: ${choices.join(", ")} (any case).`,
      );
    }
    return found;
  });
}

/** What `addOutputOptions` adds, as commander hands it to an action. */
export interface OutputCliOptions extends DisplayCliOptions {
  readonly format?: string;
  readonly out?: string;
  readonly force?: boolean;
  readonly json?: boolean;
  readonly quiet?: boolean;
  readonly verbose?: boolean;
}

/** `-f/--format`, `-o/--out`, `--force`, `--json`, then `addCommonOptions`. */
export function addOutputOptions(
  command: Command,
  formats: readonly string[],
  what: string,
): Command {
  return addCommonOptions(
    command
      .addOption(
        choiceOption(
          "-f, --format <format>",
          `output format (default: from --out's extension, else table)`,
          formats,
        ),
      )
      .option("-o, --out <file>", `write the ${what} to this file instead of standard output`)
      .option("--force", "let --out replace an existing file")
      .option("--json", "the same as --format json"),
  );
}

/** `-q/--quiet`, `-v/--verbose`, `--color`, `--wide`, `--local`, `--tz`: every command has them. */
export const addCommonOptions = (command: Command): Command =>
  command
    .option("-q, --quiet", "print only the results and errors (no progress, no summary)")
    .option("-v, --verbose", "list every input in the summary")
    .addOption(
      choiceOption("--color <when>", "colour the table: auto, always, never", COLOR_CHOICES),
    )
    .option("--wide", "every column of a table, nothing truncated")
    .option("--local", "show timestamps in this machine's time zone")
    .option("--tz <zone>", "show timestamps in this IANA zone (Europe/Paris)");

/** Extensions `--out` names a format by. */
const EXTENSIONS: ReadonlyMap<string, string> = new Map([
  [".ndjson", "ndjson"],
  [".jsonl", "ndjson"],
  [".json", "json"],
  [".csv", "csv"],
  [".html", "html"],
  [".htm", "html"],
  [".txt", "table"],
]);

/** The format a run writes and how it was chosen. */
export interface ResolvedFormat {
  readonly format: string;
  readonly how: "given" | "extension" | "default";
}

/**
 * `--json`, else `--format`, else the one `--out`'s extension names, else `table`. `--json` with
 * another `--format`, or an extension naming no format this command writes, is a usage error.
 */
export function resolveFormat(
  options: OutputCliOptions,
  formats: readonly string[],
): ResolvedFormat {
  if (options.json) {
    if (options.format !== undefined && options.format !== "json") {
      throw usage(`--json and --format ${options.format} ask for two formats`, "Give one.");
    }
    return { format: "json", how: "given" };
  }
  if (options.format !== undefined) return { format: options.format, how: "given" };
  if (options.out !== undefined) {
    const ext = extname(options.out).toLowerCase();
    const format = EXTENSIONS.get(ext);
    if (format !== undefined && formats.includes(format)) return { format, how: "extension" };
    if (ext !== "") {
      throw usage(
        `cannot tell the format from --out's extension ${JSON.stringify(ext)}`,
        `Give -f ${formats.join("|")}, or name the file .ndjson, .json or .csv.`,
      );
    }
  }
  return { format: "table", how: "default" };
}

/**
 * Before a run: `--out` must not name an existing file unless `--force` (checked first, so a long
 * run is not wasted), nor a directory.
 */
export async function checkOut(options: OutputCliOptions, io: Io): Promise<void> {
  if (options.out === undefined) return;
  const target = resolve(io.cwd, options.out);
  const found = await stat(target).catch(() => undefined);
  if (found === undefined) return;
  if (found.isDirectory()) {
    throw new GuestOpsError("ERR_OUTPUT", `--out ${options.out} is a directory`, {
      hint: "Name a file, e.g. --out alerts.ndjson.",
    });
  }
  if (!options.force) {
    throw new GuestOpsError("ERR_OUTPUT", `--out ${options.out} exists; not overwritten`, {
      hint: "Add --force to replace it, or name another file.",
    });
  }
}

/**
 * The line saying which format was written when nobody chose it and no terminal shows it (stdout
 * is a pipe or a file), so a pipeline that expected JSON learns why it got a table.
 */
export function formatNotice(
  resolved: ResolvedFormat,
  options: OutputCliOptions,
  io: Io,
): string | undefined {
  if (resolved.how !== "default" || options.out !== undefined || io.isStdoutTty === true) {
    return undefined;
  }
  return `guestops: wrote the ${resolved.format} format (give -f ndjson, -f json or -f csv for a pipeline)`;
}

/**
 * The paths to read: as given, else `-` (standard input) when stdin is not a terminal; no path
 * at a terminal is a usage error.
 */
export function pathsOrStdin(paths: readonly string[], io: Io): readonly string[] {
  if (paths.length > 0) return paths;
  if (io.isStdinTty === true) {
    throw usage(
      "no input: give the logs to read",
      "Name files, directories or archives (guestops scan logs/), or pipe logs in (zcat hostd.log.gz | guestops events).",
    );
  }
  return ["-"];
}

/**
 * Runs a command that writes results: resolves the format and the display (a usage error before
 * any input is read), refuses to overwrite `--out`, hands `-q` a stderr that stays silent, and
 * says which format was written when nobody chose one and no terminal shows it.
 */
export async function withOutput<C extends number>(
  options: OutputCliOptions,
  formats: readonly string[],
  io: Io,
  body: (format: string, display: Display, io: Io) => Promise<C>,
): Promise<C> {
  const resolved = resolveFormat(options, formats);
  const display = displayOf(options, io);
  await checkOut(options, io);
  const code = await body(resolved.format, display, options.quiet ? quietIo(io) : io);
  const notice = formatNotice(resolved, options, io);
  if (notice !== undefined && !options.quiet) io.stderr(notice);
  return code;
}

/**
 * What the terminal the CLI writes to allows: the width tables are fitted to, whether colour is
 * used, the zone timestamps are shown in, and the progress line on stderr. Decided once per run
 * from the options, the environment and whether stdout/stderr are terminals (`Io`).
 */
import { createProgressDisplay, type ProgressDisplay } from "../ingest/progress.js";
import { escapeTerminal } from "../report/escape.js";
import { GuestOpsError } from "../shared/errors.js";
import { isValidZone } from "../shared/zone.js";
import type { Io } from "./types.js";

/** How text output is laid out for people (table formats; machine formats ignore it). */
export interface Display {
  /** Columns a table may use; `undefined`: no limit (not a terminal, or `--wide`). */
  readonly width: number | undefined;
  /** `--wide`: every column, nothing truncated. */
  readonly wide: boolean;
  /** Severity and headings coloured (ANSI SGR). */
  readonly color: boolean;
  /** IANA zone for displayed timestamps (`UTC` unless `--local` or `--tz`). */
  readonly zone: string;
}

/** The options of `addDisplayOptions` (cli/conventions.ts) as commander hands them over. */
export interface DisplayCliOptions {
  readonly color?: string;
  readonly wide?: boolean;
  readonly local?: boolean;
  readonly tz?: string;
}

export const COLOR_CHOICES = ["auto", "always", "never"] as const;

/** The narrowest table guestops lays out; a narrower terminal wraps. */
export const MIN_WIDTH = 40;

/** The width of a terminal stream, `COLUMNS` when it does not say, 80 when neither does. */
export function terminalWidth(columns: number | undefined, env: Io["env"]): number {
  if (columns !== undefined && columns > 0) return columns;
  const fromEnv = Number(env["COLUMNS"]);
  return Number.isInteger(fromEnv) && fromEnv > 0 ? fromEnv : 80;
}

/**
 * Colour: `--color always|never` decide; under `auto` (the default) `NO_COLOR` (any non-empty
 * value) turns it off, `FORCE_COLOR` (any value but `0` or `false`) turns it on, and otherwise
 * colour is used only when stdout is a terminal whose `TERM` is not `dumb`.
 */
export function useColor(when: string | undefined, io: Io): boolean {
  const mode = (when ?? "auto").toLowerCase();
  if (mode === "always") return true;
  if (mode === "never") return false;
  if (io.env["NO_COLOR"]) return false;
  const force = io.env["FORCE_COLOR"];
  if (force !== undefined) return force !== "0" && force.toLowerCase() !== "false";
  return io.isStdoutTty === true && io.env["TERM"] !== "dumb";
}

/** The zone of this machine (`--local`): `TZ` when valid, else what the runtime reports. */
function localZone(env: Io["env"]): string {
  const tz = env["TZ"];
  if (tz && isValidZone(tz)) return tz;
  return Intl.DateTimeFormat().resolvedOptions().timeZone || "UTC";
}

export function displayOf(options: DisplayCliOptions, io: Io): Display {
  if (options.local && options.tz !== undefined) {
    throw new GuestOpsError("ERR_USAGE", "--local and --tz name two zones: give one", {
      hint: "--local shows this machine's zone, --tz Europe/Paris a site's.",
    });
  }
  let zone = "UTC";
  if (options.tz !== undefined) {
    if (!isValidZone(options.tz)) {
      throw new GuestOpsError("ERR_USAGE", `--tz ${options.tz} is not an IANA time zone`, {
        hint: "For example UTC, Europe/Paris, America/New_York.",
      });
    }
    zone = options.tz;
  } else if (options.local) zone = localZone(io.env);
  const wide = options.wide === true;
  const width =
    wide || io.isStdoutTty !== true
      ? notTerminalWidth(wide, io.env)
      : Math.max(MIN_WIDTH, terminalWidth(io.stdoutColumns, io.env));
  return { width, wide, color: useColor(options.color, io), zone };
}

/** Not a terminal: `COLUMNS` when set (a pager's width), else no limit (nothing truncated). */
function notTerminalWidth(wide: boolean, env: Io["env"]): number | undefined {
  if (wide) return undefined;
  const fromEnv = Number(env["COLUMNS"]);
  return Number.isInteger(fromEnv) && fromEnv > 0 ? Math.max(MIN_WIDTH, fromEnv) : undefined;
}

/**
 * The progress line for a reading command: drawn only when stderr is a terminal, cut to its
 * width, redrawn in place with a carriage return (no line is ever left behind) and erased when
 * the run ends. Without a raw stderr writer (tests) it falls back to whole lines.
 */
export function progressFor(io: Io): ProgressDisplay | undefined {
  if (!io.isStderrTty) return undefined;
  const width = Math.max(20, terminalWidth(io.stderrColumns, io.env) - 1);
  return createProgressDisplay({
    write: io.stderr,
    ...(io.stderrRaw ? { raw: io.stderrRaw } : {}),
    escape: escapeTerminal,
    width,
  });
}

/** Wraps `io` so that nothing but results and errors is written (`-q`): no progress, no summary. */
export const quietIo = (io: Io): Io => ({
  ...io,
  stderr: () => undefined,
  isStderrTty: false,
});

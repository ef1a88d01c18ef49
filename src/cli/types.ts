/** The command contract: each subcommand is one file in cli/commands/ that registers itself. */
import type { Command } from "commander";

/** Everything a command may touch of the outside world (tests pass fakes). */
export interface Io {
  readonly stdout: (text: string) => void;
  /** Standard output as a stream, for output written record by record (else `stdout` gets it whole). */
  readonly stdoutStream?: NodeJS.WritableStream;
  readonly stderr: (text: string) => void;
  /** Standard input as bytes (for `-` paths). */
  readonly stdin: () => NodeJS.ReadableStream;
  /** True when stderr is a terminal (progress display). */
  readonly isStderrTty: boolean;
  /** Writes to stderr as is, no line break added (the progress line redraws in place). */
  readonly stderrRaw?: (text: string) => void;
  /** True when stdout is a terminal (tables fitted to it, colour under `--color auto`). */
  readonly isStdoutTty?: boolean;
  /** True when stdin is a terminal: then no path means a usage error, not "read stdin". */
  readonly isStdinTty?: boolean;
  /** The terminals' widths in columns, when they are terminals. */
  readonly stdoutColumns?: number;
  readonly stderrColumns?: number;
  readonly env: Readonly<Record<string, string | undefined>>;
  readonly cwd: string;
}

/** Exit codes are API: 0 clean, 1 alerts at/above --fail-on, 2 usage or fatal error. */
export const EXIT = { OK: 0, ALERTS: 1, ERROR: 2 } as const;
export type ExitCode = (typeof EXIT)[keyof typeof EXIT];

export interface CommandDef {
  readonly name: string;
  /** Adds the subcommand to `program`. Its action returns the exit code. */
  readonly register: (program: Command, io: Io, done: (code: ExitCode) => void) => void;
}

export const defineCommand = (def: CommandDef): CommandDef => def;

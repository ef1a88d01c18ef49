/**
 * Where a reading command's records go: a file (`--out`) or standard output, written record by
 * record through a `TextSink` (report/format.ts). Without a stdout stream (tests) the text is
 * gathered and handed to `io.stdout` once, as a string.
 */
import { open, rm } from "node:fs/promises";
import { resolve } from "node:path";
import { GuestOpsError, isSystemError } from "../shared/errors.js";
import { escapeTerminal } from "../report/escape.js";
import { fileSink, streamSink, stringSink, type TextSink } from "../report/format.js";
import type { Io } from "./types.js";

export interface OutputOptions {
  /** `--out` as given (relative to `io.cwd`). */
  readonly out: string | undefined;
  /** Ends a non-empty output with a newline. */
  readonly finalNewline: boolean;
}

/** The usage error every command gives for an `--out` it cannot open or write. */
export const cannotWrite = (out: string | undefined, cause: NodeJS.ErrnoException): GuestOpsError =>
  new GuestOpsError(
    "ERR_OUTPUT",
    `cannot write ${escapeTerminal(out ?? "")}: ${cause.code ?? cause.message}`,
    { cause, hint: "check that the directory exists and is writable" },
  );

/** Writes one rendered text (a report, a summary document) to the command's output. */
export function writeText(
  io: Io,
  out: string | undefined,
  text: string,
  options: { readonly finalNewline: boolean },
): Promise<void> {
  return writeOutput(io, { out, finalNewline: options.finalNewline }, (sink) => sink.write(text));
}

/**
 * Runs `write` against the command's output and closes it. Records are written while inputs are
 * still read, so a run that fails half-way (an unreadable input, a write error) removes the file
 * it was writing rather than leave a partial result that looks whole.
 */
export async function writeOutput(
  io: Io,
  options: OutputOptions,
  write: (sink: TextSink) => Promise<void>,
): Promise<void> {
  const mapped = (error: unknown): unknown =>
    isSystemError(error) ? cannotWrite(options.out, error) : error;
  let target: TextSink;
  let gathered: ReturnType<typeof stringSink> | undefined;
  if (options.out !== undefined) {
    try {
      target = fileSink(await open(resolve(io.cwd, options.out), "w"));
    } catch (error) {
      throw mapped(error);
    }
  } else if (io.stdoutStream) target = streamSink(io.stdoutStream);
  else target = gathered = stringSink();
  let written = false;
  const sink: TextSink = {
    write(text) {
      if (text !== "") written = true;
      return target.write(text);
    },
    close: () => target.close(),
  };
  try {
    await write(sink);
    if (options.finalNewline && written) await sink.write("\n");
    await sink.close();
  } catch (error) {
    if (options.out !== undefined) {
      await target.close().catch(() => undefined);
      await rm(resolve(io.cwd, options.out), { force: true }).catch(() => undefined);
      throw mapped(error);
    }
    throw error;
  }
  if (gathered) {
    const text = gathered.text();
    if (text !== "") io.stdout(text.replace(/\n$/, ""));
  }
}

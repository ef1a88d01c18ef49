/** The CLI's `Io` for tests: records what a command prints, in place of the process streams. */
import { Readable } from "node:stream";
import type { Io } from "../../src/cli/types.js";

export interface RecordingIo {
  readonly io: Io;
  /** What went to stdout, one entry per write. */
  readonly out: string[];
  /** What went to stderr, one entry per write. */
  readonly err: string[];
}

/**
 * An `Io` working in `cwd` (default: the process's), not a terminal, with an empty environment;
 * standard input holds `stdin` (nothing by default).
 */
export function fakeIo(cwd: string = process.cwd(), stdin?: Buffer): RecordingIo {
  const out: string[] = [];
  const err: string[] = [];
  const io: Io = {
    stdout: (t) => void out.push(t),
    stderr: (t) => void err.push(t),
    stdin: () => Readable.from(stdin === undefined ? [] : [stdin]),
    isStderrTty: false,
    env: {},
    cwd,
  };
  return { io, out, err };
}

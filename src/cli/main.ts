#!/usr/bin/env node
import { isatty } from "node:tty";
import { escapeLines, run } from "./run.js";
import { EXIT } from "./types.js";

run(process.argv.slice(2), {
  stdout: (text) => void process.stdout.write(`${text}\n`),
  stdoutStream: process.stdout,
  stderr: (text) => void process.stderr.write(`${text}\n`),
  stdin: () => process.stdin,
  isStderrTty: process.stderr.isTTY,
  stderrRaw: (text) => void process.stderr.write(text),
  isStdoutTty: process.stdout.isTTY,
  isStdinTty: isatty(0),
  ...(process.stdout.isTTY ? { stdoutColumns: process.stdout.columns } : {}),
  ...(process.stderr.isTTY ? { stderrColumns: process.stderr.columns } : {}),
  env: process.env,
  cwd: process.cwd(),
}).then(
  (code) => {
    process.exitCode = code;
  },
  (error: unknown) => {
    // a bug: the stack is printed, escaped (its message may quote input)
    const text = error instanceof Error ? (error.stack ?? String(error)) : String(error);
    process.stderr.write(`${escapeLines(text)}\n`);
    process.exitCode = EXIT.ERROR;
  },
);

#!/usr/bin/env node
import { run } from "./run.js";
import { EXIT } from "./types.js";

run(process.argv.slice(2), {
  stdout: (text) => void process.stdout.write(`${text}\n`),
  stdoutStream: process.stdout,
  stderr: (text) => void process.stderr.write(`${text}\n`),
  stdin: () => process.stdin,
  isStderrTty: process.stderr.isTTY,
  env: process.env,
  cwd: process.cwd(),
}).then(
  (code) => {
    process.exitCode = code;
  },
  (error: unknown) => {
    console.error(error);
    process.exitCode = EXIT.ERROR;
  },
);

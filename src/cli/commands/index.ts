/** Explicit registry of subcommands (no directory scanning). */
import type { CommandDef } from "../types.js";
import { evaluateCommand } from "./evaluate.js";
import { completionCommand } from "./completion.js";
import { coverageCommand } from "./coverage.js";
import { baselineCommand } from "./baseline.js";
import { eventsCommand } from "./events.js";
import { helpCommand } from "./help.js";
import { ingestCommand } from "./ingest.js";
import { inspectCommand } from "./inspect.js";
import { learnCommand } from "./learn.js";
import { policyCommand } from "./policy.js";
import { reportCommand } from "./report.js";
import { scanCommand } from "./scan.js";
import { serveCommand } from "./serve.js";
import { simulateCommand } from "./simulate.js";

export const commands: readonly CommandDef[] = [
  coverageCommand,
  eventsCommand,
  ingestCommand,
  inspectCommand,
  policyCommand,
  reportCommand,
  scanCommand,
  evaluateCommand,
  simulateCommand,
  helpCommand,
  completionCommand,
  learnCommand,
  baselineCommand,
  serveCommand,
];

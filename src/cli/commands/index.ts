/** Explicit registry of subcommands (no directory scanning). */
import type { CommandDef } from "../types.js";
import { evaluateCommand } from "./evaluate.js";
import { completionCommand } from "./completion.js";
import { eventsCommand } from "./events.js";
import { helpCommand } from "./help.js";
import { ingestCommand } from "./ingest.js";
import { inspectCommand } from "./inspect.js";
import { policyCommand } from "./policy.js";
import { scanCommand } from "./scan.js";
import { simulateCommand } from "./simulate.js";

export const commands: readonly CommandDef[] = [
  eventsCommand,
  ingestCommand,
  inspectCommand,
  policyCommand,
  scanCommand,
  evaluateCommand,
  simulateCommand,
  helpCommand,
  completionCommand,
];

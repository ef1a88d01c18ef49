/** Explicit registry of subcommands (no directory scanning). */
import type { CommandDef } from "../types.js";
import { completionCommand } from "./completion.js";
import { eventsCommand } from "./events.js";
import { helpCommand } from "./help.js";
import { ingestCommand } from "./ingest.js";
import { inspectCommand } from "./inspect.js";
import { policyCommand } from "./policy.js";
import { scanCommand } from "./scan.js";

export const commands: readonly CommandDef[] = [
  eventsCommand,
  ingestCommand,
  inspectCommand,
  policyCommand,
  scanCommand,
  helpCommand,
  completionCommand,
];

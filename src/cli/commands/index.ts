/** Explicit registry of subcommands (no directory scanning). */
import type { CommandDef } from "../types.js";
import { baselineCommand } from "./baseline.js";
import { eventsCommand } from "./events.js";
import { ingestCommand } from "./ingest.js";
import { inspectCommand } from "./inspect.js";
import { learnCommand } from "./learn.js";
import { policyCommand } from "./policy.js";
import { scanCommand } from "./scan.js";

export const commands: readonly CommandDef[] = [
  eventsCommand,
  ingestCommand,
  inspectCommand,
  policyCommand,
  scanCommand,
  learnCommand,
  baselineCommand,
];

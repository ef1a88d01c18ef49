/** Explicit registry of subcommands (no directory scanning). */
import type { CommandDef } from "../types.js";
import { coverageCommand } from "./coverage.js";
import { eventsCommand } from "./events.js";
import { ingestCommand } from "./ingest.js";
import { inspectCommand } from "./inspect.js";
import { policyCommand } from "./policy.js";
import { reportCommand } from "./report.js";
import { scanCommand } from "./scan.js";

export const commands: readonly CommandDef[] = [
  coverageCommand,
  eventsCommand,
  ingestCommand,
  inspectCommand,
  policyCommand,
  reportCommand,
  scanCommand,
];

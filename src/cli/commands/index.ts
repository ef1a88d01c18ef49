/** Explicit registry of subcommands (no directory scanning). */
import type { CommandDef } from "../types.js";
import { policyCommand } from "./policy.js";

export const commands: readonly CommandDef[] = [policyCommand];

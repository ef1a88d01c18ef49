/** Explicit registry of subcommands (no directory scanning). */
import type { CommandDef } from "../types.js";

export const commands: readonly CommandDef[] = [];

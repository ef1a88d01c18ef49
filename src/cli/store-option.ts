/** `--db FILE`, shared by the commands that can use the store (docs/store.md). */
import type { Command } from "commander";
import type { Io } from "./types.js";

export interface StoreCliOptions {
  readonly db?: string;
}

export const addStoreOption = (command: Command, what: string): Command =>
  command.option("--db <file>", what);

/** The store `events`/`scan` use: `--db`, else `GUESTOPS_DB`, else none (stateless). */
export const storePathOf = (options: StoreCliOptions, io: Io): string | undefined =>
  options.db ?? (io.env["GUESTOPS_DB"] || undefined);

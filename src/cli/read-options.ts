/** The options every command that reads logs shares, defined once. */
import { Option, type Command } from "commander";
import { readers } from "../ingest/registry.js";
import { DEFAULT_ZONE } from "../shared/zone.js";

/** What `addReadOptions` adds, as commander hands it to an action. */
export interface ReadCliOptions {
  readonly inputFormat?: string;
  readonly assumeTz?: string;
  readonly referenceTime?: string;
}

/** `--input-format`, `--assume-tz`, `--reference-time`. */
export const addReadOptions = (command: Command): Command =>
  command
    .addOption(
      new Option("--input-format <name>", "read every input as this format").choices(
        readers.map((r) => r.name),
      ),
    )
    .option("--assume-tz <zone>", "IANA zone for timestamps without one (RFC 3164)", DEFAULT_ZONE)
    .option("--reference-time <iso>", "infer years of year-less timestamps from this time");

/** The same options as `readInputs` takes them (absent ones left out). */
export const readOptionsOf = (options: ReadCliOptions) => ({
  ...(options.assumeTz !== undefined ? { assumeTz: options.assumeTz } : {}),
  ...(options.inputFormat !== undefined ? { inputFormat: options.inputFormat } : {}),
  ...(options.referenceTime !== undefined ? { referenceTime: options.referenceTime } : {}),
});

/** The options every command that reads logs shares, defined once. */
import { Option, type Command } from "commander";
import { readers } from "../ingest/registry.js";
import type { InputHost } from "../ingest/read.js";
import { GuestOpsError } from "../shared/errors.js";

/** What `addReadOptions` adds, as commander hands it to an action. */
export interface ReadCliOptions {
  readonly inputFormat?: string;
  readonly assumeTz?: string;
  readonly referenceTime?: string;
  readonly inputHost?: readonly string[];
}

/** `--input-format`, `--assume-tz`, `--reference-time`. */
export const addReadOptions = (command: Command): Command =>
  command
    .addOption(
      new Option("--input-format <name>", "read every input as this format").choices(
        readers.map((r) => r.name),
      ),
    )
    .option("--assume-tz <zone>", "IANA zone for timestamps without one (RFC 3164)", "UTC")
    .option("--reference-time <iso>", "infer years of year-less timestamps from this time")
    .option(
      "--input-host <[path=]name>",
      "host that wrote inputs whose lines name none: NAME for every input, PATH=NAME for the inputs at or under PATH (repeatable)",
      (value: string, previous: string[] | undefined) => [...(previous ?? []), value],
    );

/** The same options as `readInputs` takes them (absent ones left out). */
export const readOptionsOf = (options: ReadCliOptions) => ({
  ...(options.assumeTz !== undefined ? { assumeTz: options.assumeTz } : {}),
  ...(options.inputFormat !== undefined ? { inputFormat: options.inputFormat } : {}),
  ...(options.referenceTime !== undefined ? { referenceTime: options.referenceTime } : {}),
  ...(options.inputHost?.length ? { inputHosts: options.inputHost.map(parseInputHost) } : {}),
});

/**
 * `esx01` (every input) or `logs/esx01=esx01.corp.example` (inputs at or under that path). The
 * name is checked as a host name or address: it is written into every record of those inputs.
 */
export function parseInputHost(value: string): InputHost {
  const eq = value.lastIndexOf("=");
  const path = eq >= 0 ? value.slice(0, eq) : undefined;
  const host = (eq >= 0 ? value.slice(eq + 1) : value).trim();
  if (!/^[A-Za-z0-9_][\w.:-]*$/.test(host) || host.length > 253 || path === "") {
    throw new GuestOpsError(
      "ERR_USAGE",
      `--input-host ${JSON.stringify(value)}: expected NAME or PATH=NAME, NAME a host name or address`,
    );
  }
  return path === undefined ? { host } : { path, host };
}

/** The options every command that reads logs shares, defined once. */
import { Option, type Command } from "commander";
import { readers } from "../ingest/registry.js";
import type { InputHost } from "../ingest/read.js";
import { GuestOpsError } from "../shared/errors.js";
import { DEFAULT_ZONE } from "../shared/zone.js";

/** What `addReadOptions` adds, as commander hands it to an action. */
export interface ReadCliOptions {
  readonly inputFormat?: string;
  readonly assumeTz?: string;
  readonly referenceTime?: string;
  readonly maxArchiveBytes?: string;
  readonly allMembers?: boolean;
  readonly inputHost?: readonly string[];
}

/** `--input-format`, `--assume-tz`, `--reference-time`, `--max-archive-bytes`, `--all-members`. */
export const addReadOptions = (command: Command): Command =>
  command
    .addOption(
      new Option("--input-format <name>", "read every input as this format").choices(
        readers.map((r) => r.name),
      ),
    )
    .option("--assume-tz <zone>", "IANA zone for timestamps without one (RFC 3164)", DEFAULT_ZONE)
    .option("--reference-time <iso>", "infer years of year-less timestamps from this time")
    .option(
      "--max-archive-bytes <size>",
      "stop reading an archive after this many decompressed bytes (e.g. 512M, 16G; default 16G)",
    )
    .option(
      "--all-members",
      "read every archive member, even one whose name or content says it is no log",
    )
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
  ...(options.maxArchiveBytes !== undefined
    ? { maxArchiveBytes: byteSize(options.maxArchiveBytes, "--max-archive-bytes") }
    : {}),
  ...(options.allMembers ? { allMembers: true } : {}),
  ...(options.inputHost?.length ? { inputHosts: options.inputHost.map(parseInputHost) } : {}),
});

const UNITS: ReadonlyMap<string, number> = new Map([
  ["", 1],
  ["k", 1024],
  ["m", 1024 ** 2],
  ["g", 1024 ** 3],
  ["t", 1024 ** 4],
]);

/** `16G`, `512MiB`, `1048576`: a positive byte count (binary multiples). */
export function byteSize(text: string, option: string): number {
  const m = /^(\d{1,15})\s*([kmgt]?)(?:i?b)?$/i.exec(text.trim());
  const bytes = m ? Number(m[1]) * (UNITS.get((m[2] ?? "").toLowerCase()) ?? NaN) : NaN;
  if (!Number.isSafeInteger(bytes) || bytes <= 0) {
    throw new GuestOpsError("ERR_USAGE", `invalid ${option} ${JSON.stringify(text)}`, {
      hint: "Use a positive size in bytes, or with K, M, G or T (binary multiples): 512M, 16G.",
    });
  }
  return bytes;
}

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

/**
 * `guestops ingest PATH... [--db FILE] [--retention DURATION] [--input-format NAME] [--assume-tz ZONE]
 * [--reference-time ISO]`: reads the inputs into the store (docs/store.md) and attributes the
 * operations the new records touch; no rules run. Prints, per input, the records read and how many
 * were new, then the operations created, updated and superseded. Exit 0; 2 for a usage error, an
 * unreadable path or a store that cannot be opened.
 */
import { escapeTerminal, safeJsonStringify } from "../../report/escape.js";
import { addCommonOptions, pathsOrStdin } from "../conventions.js";
import { progressFor, quietIo } from "../terminal.js";
import { addReadOptions, readOptionsOf, type ReadCliOptions } from "../read-options.js";
import { addStoreOption, type StoreCliOptions } from "../store-option.js";
import { defineCommand, EXIT, type ExitCode, type Io } from "../types.js";

export interface IngestCliOptions extends ReadCliOptions, StoreCliOptions {
  readonly retention?: string;
  readonly json?: boolean;
  readonly quiet?: boolean;
}

export const ingestCommand = defineCommand({
  name: "ingest",
  register(program, io, done) {
    const command = addStoreOption(
      addReadOptions(program.command("ingest")),
      "the store (default: GUESTOPS_DB, else guestops/guestops.db in the user's data directory)",
    )
      .description("Read logs into the store and attribute the operations; no rules run")
      .argument(
        "[paths...]",
        "files, directories, .gz/.tgz/.zip archives; - (or none, when piped) for standard input",
      )
      .option("--retention <duration>", "then remove operations older than this (400d, 12w, 36h)")
      .option("--json", "print the ingest report as JSON");
    addCommonOptions(command).action(async (paths: string[], options: IngestCliOptions) => {
      done(await ingest(pathsOrStdin(paths, io), options, options.quiet ? quietIo(io) : io));
    });
  },
});

export async function ingest(
  paths: readonly string[],
  options: IngestCliOptions,
  io: Io,
): Promise<ExitCode> {
  const { defaultDbPath, ingestIntoStore, openStore, parseRetention } =
    await import("../../store/index.js");
  const retentionMs =
    options.retention !== undefined ? parseRetention(options.retention) : undefined;
  const store = openStore(options.db ?? defaultDbPath(io.env), { cwd: io.cwd });
  try {
    const progress = progressFor(io);
    const report = await ingestIntoStore(store.db, {
      paths,
      ...readOptionsOf(options),
      stdin: io.stdin,
      cwd: io.cwd,
      readInWorker: true,
      command: "ingest",
      args: [...paths],
      ...(retentionMs !== undefined ? { retentionMs } : {}),
      ...(progress
        ? {
            onProgress: progress.update,
            onAttributed: ({ storedTo, span, created }) => {
              const share = Math.floor((100 * (storedTo - span.from)) / (span.to - span.from || 1));
              progress.status(
                `attributing ${Math.max(0, Math.min(100, share))}%: ${created} operation(s) stored, up to ${new Date(storedTo).toISOString()}`,
              );
            },
          }
        : {}),
    });
    progress?.finish("");
    if (options.json) {
      io.stdout(safeJsonStringify({ store: store.file, ...report }, 2));
      return EXIT.OK;
    }
    const lines: string[] = [`store: ${escapeTerminal(store.file)} (run ${report.runId})`];
    for (const path of report.skipped) {
      lines.push(`  ${escapeTerminal(path)}: already in the store (same SHA-256), not read again`);
    }
    for (const input of report.inputs) {
      const name = `${input.path}${input.member !== undefined ? `!${input.member}` : ""}`;
      lines.push(
        `  ${escapeTerminal(name)}: ${input.records} record(s), ${input.added} new, ${input.records - input.added} already known`,
      );
    }
    const a = report.attribution;
    lines.push(
      `records: ${report.records.read} read, ${report.records.added} new`,
      `operations: ${a.created} new, ${a.updated} updated, ${a.superseded} superseded, ${a.unchanged} unchanged`,
    );
    if (report.retention) {
      const r = report.retention;
      lines.push(
        `retention: removed ${r.operations} operation(s) and ${r.records} record(s) before ${r.cutoff}`,
      );
    }
    io.stdout(lines.join("\n"));
    return EXIT.OK;
  } finally {
    store.close();
  }
}

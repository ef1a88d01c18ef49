/**
 * `ingestIntoStore()`: reads inputs into the store and attributes what changed. One file at a time:
 * a file whose bytes the store already holds (same size and SHA-256, read to the end) is skipped;
 * every other file streams its records into `RecordWriter` (new ones stored by content key, known
 * ones ignored), and its inputs are marked done with their SHA-256 once it is read. The span of the
 * new records is then attributed again (`attributePending`). Killed at any point, the next run
 * reads the unfinished inputs again and attributes what the killed one left pending.
 */
import { createReadStream } from "node:fs";
import { createHash } from "node:crypto";
import type { Database } from "better-sqlite3";
import { DEFAULT_WINDOWS } from "../attribute/correlate.js";
import { readInputs, type ReadInputsOptions, type ReadProgress } from "../ingest/read.js";
import { expandPaths, type SourceEntry } from "../ingest/sources.js";
import { totalsOf, type InputSummary, type ReadSummary } from "../ingest/summary.js";
import type { CanonicalRecord } from "../model/record.js";
import { isVpxdCoverage } from "../pipeline.js";
import { VERSION } from "../version.js";
import {
  attributePending,
  type AttributeReport,
  type AttributeStep,
  type AttributionPath,
} from "./operations.js";
import { finishInputs, RecordWriter } from "./records.js";
import { applyRetention, type RetentionReport } from "./retention.js";

export interface IngestOptions {
  readonly paths: readonly string[];
  readonly assumeTz?: string;
  readonly inputFormat?: string;
  readonly referenceTime?: string;
  /** As `readInputs` takes them (`--max-archive-bytes`, `--all-members`, `--input-host`). */
  readonly maxArchiveBytes?: ReadInputsOptions["maxArchiveBytes"];
  readonly allMembers?: boolean;
  readonly inputHosts?: ReadInputsOptions["inputHosts"];
  readonly stdin?: () => NodeJS.ReadableStream;
  readonly cwd?: string;
  /**
   * Read in a worker thread (`ReadInputsOptions.worker`): the readers' parsing off this thread,
   * the same records in the same order. Default false.
   */
  readonly readInWorker?: boolean;
  readonly onProgress?: (progress: ReadProgress) => void;
  /** Remove operations older than this many ms before the newest stored operation... or now. */
  readonly retentionMs?: number;
  /** Reference "now" for retention (epoch ms). Default: the clock. */
  readonly now?: number;
  /** Stream time attributed at once (ms; default `CHUNK_MS`, a day): smaller in tests. */
  readonly chunkMs?: number;
  /** Most records in one chunk's span (default `CHUNK_RECORDS`): busier stretches get shorter chunks. */
  readonly chunkRecords?: number;
  /** `chunks`: cut even a span no operation is stored in into chunks (default `auto`: stream it). */
  readonly attribution?: AttributionPath;
  /** After each committed step of a streamed attribution (progress; see `AttributePendingOptions.onStep`). */
  readonly onAttributed?: (step: AttributeStep) => void;
  /** The command and its arguments, for the run's row. */
  readonly command?: string;
  readonly args?: readonly string[];
}

export interface IngestReport {
  readonly runId: number;
  readonly read: ReadSummary;
  /** Files skipped because the store already holds their bytes. */
  readonly skipped: readonly string[];
  /** Records read, and records new to the store. */
  readonly records: {
    readonly read: number;
    readonly added: number;
    readonly observations: number;
    readonly sessions: number;
  };
  /** Per input read: records read and new. */
  readonly inputs: readonly {
    readonly path: string;
    readonly member?: string;
    readonly records: number;
    readonly added: number;
  }[];
  readonly attribution: AttributeReport;
  readonly retention?: RetentionReport;
}

/** SHA-256 of a file, streamed. */
async function sha256Of(path: string): Promise<string> {
  const hash = createHash("sha256");
  for await (const chunk of createReadStream(path)) hash.update(chunk as Buffer);
  return hash.digest("hex");
}

/** True when the store holds a fully read input of these bytes. */
async function alreadyRead(db: Database, entry: SourceEntry): Promise<boolean> {
  if (entry.kind !== "file" || entry.absolute === undefined || entry.size === undefined)
    return false;
  const candidates = db
    .prepare(
      `SELECT DISTINCT sha256 FROM inputs WHERE size = ? AND status = 'done' AND sha256 != ''`,
    )
    .all(entry.size) as { sha256: string }[];
  if (candidates.length === 0) return false;
  const sha = await sha256Of(entry.absolute);
  return candidates.some((c) => c.sha256 === sha);
}

/** The vpxd coverage spans (for direct-host-access), per input and vCenter. */
class CoverageTally {
  readonly spans = new Map<
    string,
    { inputId: number; vcenter: string; start: string; end: string }
  >();

  add(record: CanonicalRecord, inputId: number): void {
    if (record.time === undefined || !isVpxdCoverage(record)) return;
    const vcenter = record.vcenter ?? "";
    const key = `${inputId}\u0000${vcenter}`;
    const span = this.spans.get(key);
    if (!span) this.spans.set(key, { inputId, vcenter, start: record.time, end: record.time });
    else {
      if (record.time < span.start) span.start = record.time;
      if (record.time > span.end) span.end = record.time;
    }
  }

  write(db: Database): void {
    const upsert = db.prepare(
      `INSERT INTO coverage (input_id, format, vcenter, start, end) VALUES (?, 'vpxd', ?, ?, ?)
       ON CONFLICT (input_id, format, vcenter) DO UPDATE SET
         start = min(start, excluded.start), end = max(end, excluded.end)`,
    );
    db.transaction(() => {
      for (const s of this.spans.values()) upsert.run(s.inputId, s.vcenter, s.start, s.end);
    }).immediate();
    this.spans.clear();
  }
}

/** Reads `options.paths` into the store and attributes the new records. */
export async function ingestIntoStore(db: Database, options: IngestOptions): Promise<IngestReport> {
  const entries = await expandPaths(options.paths, options.cwd);
  const runId = Number(
    db
      .prepare(
        `INSERT INTO runs (command, args, version, started, status) VALUES (?, ?, ?, ?, 'running')`,
      )
      .run(
        options.command ?? "ingest",
        JSON.stringify(options.args ?? options.paths),
        VERSION,
        new Date().toISOString(),
      ).lastInsertRowid,
  );
  const started = Date.now();
  try {
    const writer = new RecordWriter(db, runId);
    const coverage = new CoverageTally();
    const summaries: InputSummary[] = [];
    const skipped: string[] = [];
    let bytesRead = 0;
    let files = 0;
    for (const entry of entries) {
      files++;
      if (await alreadyRead(db, entry)) {
        skipped.push(entry.path);
        continue;
      }
      const before = new Set(writer.inputs().keys());
      const read = await readInputs(
        [entry.kind === "stdin" ? "-" : entry.path],
        {
          ...(options.assumeTz !== undefined ? { assumeTz: options.assumeTz } : {}),
          ...(options.inputFormat !== undefined ? { inputFormat: options.inputFormat } : {}),
          ...(options.referenceTime !== undefined ? { referenceTime: options.referenceTime } : {}),
          ...(options.maxArchiveBytes !== undefined
            ? { maxArchiveBytes: options.maxArchiveBytes }
            : {}),
          ...(options.allMembers ? { allMembers: true } : {}),
          ...(options.inputHosts ? { inputHosts: options.inputHosts } : {}),
          ...(options.stdin ? { stdin: options.stdin } : {}),
          ...(options.cwd !== undefined ? { cwd: options.cwd } : {}),
          ...(options.readInWorker ? { worker: true } : {}),
        },
        {
          record: (record) => {
            const tally = writer.inputOf(record.prov.source, entry.size);
            coverage.add(record, tally.inputId);
            writer.add(record);
          },
          // a vCenter event that is only a key: into its vCenter's runs, no record built
          eventKey: (source, key, time, ms, vcenter, line) => {
            writer.inputOf(source, entry.size);
            writer.addKey(source, key, time, ms, vcenter, line);
          },
          input: (summary) => {
            writer.inputOf(summary.source, entry.size);
          },
          ...(options.onProgress ? { progress: options.onProgress } : {}),
        },
      );
      writer.flush();
      coverage.write(db);
      const mine = new Map([...writer.inputs()].filter(([source]) => !before.has(source)));
      finishInputs(db, mine);
      for (const input of read.inputs) summaries.push(input);
      bytesRead += read.totals.bytesRead;
    }
    const attribution = attributePending(db, runId, {
      windows: DEFAULT_WINDOWS,
      ...(options.chunkMs !== undefined ? { chunkMs: options.chunkMs } : {}),
      ...(options.chunkRecords !== undefined ? { chunkRecords: options.chunkRecords } : {}),
      ...(options.attribution !== undefined ? { path: options.attribution } : {}),
      ...(options.onAttributed ? { onStep: options.onAttributed } : {}),
    });
    const retention =
      options.retentionMs !== undefined
        ? applyRetention(db, runId, (options.now ?? Date.now()) - options.retentionMs)
        : undefined;
    const inputs = [...writer.inputs().entries()].map(([source, tally]) => ({
      path: source.path,
      ...(source.member !== undefined ? { member: source.member } : {}),
      records: tally.records,
      added: tally.added,
    }));
    const report: IngestReport = {
      runId,
      read: {
        inputs: summaries,
        totals: totalsOf(summaries, files, bytesRead),
        durationMs: Date.now() - started,
      },
      skipped,
      records: {
        read: writer.offered,
        added: writer.added,
        observations: writer.observations,
        sessions: writer.sessions,
      },
      inputs,
      attribution,
      ...(retention ? { retention } : {}),
    };
    db.prepare(`UPDATE runs SET finished = ?, status = 'done', summary = ? WHERE id = ?`).run(
      new Date().toISOString(),
      JSON.stringify({
        skipped: skipped.length,
        records: report.records,
        attribution,
        ...(retention ? { retention } : {}),
      }),
      runId,
    );
    return report;
  } catch (error) {
    db.prepare(`UPDATE runs SET finished = ?, status = 'failed' WHERE id = ?`).run(
      new Date().toISOString(),
      runId,
    );
    throw error;
  }
}

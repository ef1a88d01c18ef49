/**
 * Inputs and canonical records in the store. A record is stored once, under its content key
 * (`model/record-key.ts`), with the provenance of where it was first read; reading it again from
 * any file adds nothing (`INSERT OR IGNORE`). Records are written in transactions of a few thousand
 * rows; each transaction also widens the span still to attribute (`pending`), so a process killed
 * between two batches leaves a store whose next run attributes what was committed. A vCenter event
 * that is only a key is no row: its key joins its vCenter's runs (`key-runs.ts`), merged in the same
 * transactions.
 */
import type { Database, Statement } from "better-sqlite3";
import { hostKey } from "../attribute/identity.js";
import { NO_HOST, streamEventKey, vcenterOfKey } from "../coverage/collect.js";
import { KeyRuns } from "../coverage/keys.js";
import { knownRecordKey, recordKey } from "../model/record-key.js";
import type { CanonicalRecord, FormatName, InputSource } from "../model/record.js";
import { KEY_RUN_SPLIT_MS, KeyRunStore } from "./key-runs.js";

/** Rows per write transaction. */
export const BATCH_ROWS = 4000;
/** vCenter event keys (`vc.event-key`, no row of their own) gathered before a transaction. */
export const BATCH_KEYS = 50_000;

/** The runs of one input's keys of one vCenter, not yet merged into the store. */
interface KeyBuffer {
  readonly tally: InputTally;
  readonly id: string;
  readonly label: string;
  readonly runs: KeyRuns;
}

const timeMs = (time: string | undefined): number | null => {
  if (time === undefined) return null;
  const t = Date.parse(time);
  return Number.isNaN(t) ? null : t;
};

/** A record as stored: everything but its input, which the row names. */
function bodyOf(record: CanonicalRecord): string {
  const { prov, ...rest } = record;
  const where = {
    line: prov.line,
    lineCount: prov.lineCount,
    raw: prov.raw,
    ...(prov.rawEncoding !== undefined ? { rawEncoding: prov.rawEncoding } : {}),
  };
  return JSON.stringify({ ...rest, prov: where });
}

export interface InputRow {
  readonly id: number;
  readonly path: string;
  readonly member: string | null;
  readonly sha256: string;
  readonly size: number | null;
  readonly format: string | null;
  readonly host_hint: string | null;
  readonly status: "reading" | "done";
}

/** What one input added. */
export interface InputTally {
  readonly inputId: number;
  readonly source: InputSource;
  records: number;
  added: number;
  firstTime?: string;
  lastTime?: string;
}

/**
 * Writes the records of one run. `add()` buffers; a batch is committed every `BATCH_ROWS` records
 * and by `flush()`.
 */
export class RecordWriter {
  readonly #db: Database;
  readonly #runId: number;
  readonly #insert: Statement;
  readonly #insertLogging: Statement;
  readonly #widen: Statement;
  readonly #newInput: Statement;
  readonly #reuseInput: Statement;
  readonly #tallyInput: Statement;
  readonly #inputs = new Map<InputSource, InputTally>();
  #batch: { key: string; record: CanonicalRecord; tally: InputTally }[] = [];
  readonly #keyRuns: KeyRunStore;
  /** Keys waiting for the next transaction, per input and vCenter. */
  readonly #keys = new Map<string, KeyBuffer>();
  #pendingKeys = 0;
  #lastKeys: KeyBuffer | undefined;
  /** Records offered and records new to the store, over the run. */
  offered = 0;
  added = 0;
  /** Records offered, by type. */
  observations = 0;
  sessions = 0;
  logging = 0;

  constructor(db: Database, runId: number) {
    this.#db = db;
    this.#runId = runId;
    this.#insert = db.prepare(
      `INSERT OR IGNORE INTO records (key, type, kind, time_ms, host, input_id, line, run_id, body)
       VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)`,
    );
    this.#insertLogging = db.prepare(
      `INSERT OR IGNORE INTO logging_records (key, kind, time_ms, host, input_id, run_id, body)
       VALUES (?, ?, ?, ?, ?, ?, ?)`,
    );
    this.#keyRuns = new KeyRunStore(db, runId);
    this.#widen = db.prepare(
      `INSERT INTO pending (id, min_ms, max_ms, timeless) VALUES (1, ?, ?, ?)
       ON CONFLICT (id) DO UPDATE SET
         min_ms = CASE WHEN excluded.min_ms IS NULL THEN min_ms WHEN min_ms IS NULL THEN excluded.min_ms ELSE min(min_ms, excluded.min_ms) END,
         max_ms = CASE WHEN excluded.max_ms IS NULL THEN max_ms WHEN max_ms IS NULL THEN excluded.max_ms ELSE max(max_ms, excluded.max_ms) END,
         timeless = max(timeless, excluded.timeless)`,
    );
    this.#newInput = db.prepare(
      `INSERT INTO inputs (path, member, size, format, host_hint, status, run_id, read_at)
       VALUES (?, ?, ?, ?, ?, 'reading', ?, ?)`,
    );
    // an input a killed run left half-read is read again under the same row
    this.#reuseInput = db.prepare(
      `SELECT id FROM inputs WHERE path = ? AND member IS ? AND status = 'reading' ORDER BY id LIMIT 1`,
    );
    this.#tallyInput = db.prepare(
      `UPDATE inputs SET records = ?, added = added + ?, format = coalesce(?, format),
         first_time = CASE WHEN first_time IS NULL OR ? < first_time THEN ? ELSE first_time END,
         last_time = CASE WHEN last_time IS NULL OR ? > last_time THEN ? ELSE last_time END
       WHERE id = ?`,
    );
  }

  /** The row of `source` in this run (created on its first record or when it is finished). */
  inputOf(source: InputSource, size?: number): InputTally {
    const known = this.#inputs.get(source);
    if (known) return known;
    const reused = this.#reuseInput.get(source.path, source.member ?? null) as
      { id: number } | undefined;
    const inputId =
      reused?.id ??
      Number(
        this.#newInput.run(
          source.path,
          source.member ?? null,
          size ?? null,
          source.format ?? null,
          source.hostHint ?? null,
          this.#runId,
          new Date().toISOString(),
        ).lastInsertRowid,
      );
    const tally: InputTally = { inputId, source, records: 0, added: 0 };
    this.#inputs.set(source, tally);
    return tally;
  }

  add(record: CanonicalRecord): void {
    const tally = this.inputOf(record.prov.source);
    tally.records++;
    this.offered++;
    if (record.type === "observation") this.observations++;
    else if (record.type === "session") this.sessions++;
    else this.logging++;
    if (record.time !== undefined) {
      if (tally.firstTime === undefined || record.time < tally.firstTime)
        tally.firstTime = record.time;
      if (tally.lastTime === undefined || record.time > tally.lastTime)
        tally.lastTime = record.time;
    }
    // a vCenter event with nothing but its key: into the runs of its vCenter, no row of its own
    const eventKey =
      record.type === "logging" && record.kind === "vc.event-key"
        ? streamEventKey(record)
        : undefined;
    if (eventKey !== undefined) {
      this.#key(record, eventKey, tally);
      return;
    }
    this.#batch.push({ key: recordKey(record), record, tally });
    if (this.#batch.length >= BATCH_ROWS) this.flush();
  }

  /**
   * A vCenter event that is only a key (`ReadHooks.eventKey`), as `add()` takes its
   * `vc.event-key` record: counted, and into the runs of its vCenter.
   */
  addKey(
    source: InputSource,
    key: number,
    time: string | undefined,
    ms: number | undefined,
    vcenter: string | undefined,
    line: number,
  ): void {
    const tally = this.inputOf(source);
    tally.records++;
    this.offered++;
    this.logging++;
    if (time !== undefined) {
      if (tally.firstTime === undefined || time < tally.firstTime) tally.firstTime = time;
      if (tally.lastTime === undefined || time > tally.lastTime) tally.lastTime = time;
    }
    // exports are queries: their keys say nothing of loss (as `streamEventKey`), nor are kept
    if (source.format === "vc-events-json") return;
    this.#keyAt(vcenter ?? source.hostHint ?? NO_HOST, key, ms, source, line, tally);
  }

  #key(record: CanonicalRecord, key: number, tally: InputTally): void {
    this.#keyAt(
      vcenterOfKey(record),
      key,
      timeMs(record.time) ?? undefined,
      record.prov.source,
      record.prov.line,
      tally,
    );
  }

  #keyAt(
    label: string,
    key: number,
    ms: number | undefined,
    source: InputSource,
    line: number,
    tally: InputTally,
  ): void {
    // a stream names one vCenter line after line: the last buffer, without a key built
    const last = this.#lastKeys;
    let buffer =
      last !== undefined && last.label === label && last.tally === tally ? last : undefined;
    if (!buffer) {
      const id = hostKey(label);
      const at = `${tally.inputId}\u0000${id}`;
      buffer = this.#keys.get(at);
      if (!buffer) {
        buffer = {
          tally,
          id,
          label,
          runs: new KeyRuns({ splitAfterMs: KEY_RUN_SPLIT_MS, maxRuns: Number.MAX_SAFE_INTEGER }),
        };
        this.#keys.set(at, buffer);
      }
    }
    this.#lastKeys = buffer;
    buffer.runs.add(key, ms, source, line);
    if (++this.#pendingKeys >= BATCH_KEYS) this.flush();
  }

  /** Commits the buffered records, the inputs' tallies and the wider pending span. */
  flush(): void {
    const batch = this.#batch;
    if (batch.length === 0 && this.#pendingKeys === 0) return;
    this.#batch = [];
    const keys = [...this.#keys.values()];
    this.#keys.clear();
    this.#lastKeys = undefined;
    this.#pendingKeys = 0;
    this.#db
      .transaction(() => {
        let min: number | null = null;
        let max: number | null = null;
        let timeless = 0;
        const addedBy = new Map<InputTally, number>();
        for (const { key, record, tally } of batch) {
          const t = timeMs(record.time);
          if (record.type === "logging") {
            // coverage reads these; attribution never does, so they widen no pending span
            const host = record.host ?? record.prov.source.hostHint ?? record.vcenter ?? null;
            const added = this.#insertLogging.run(
              key,
              record.kind,
              t,
              host,
              tally.inputId,
              this.#runId,
              bodyOf(record),
            ).changes;
            if (added === 0) continue;
            this.added++;
            addedBy.set(tally, (addedBy.get(tally) ?? 0) + 1);
            continue;
          }
          const changes = this.#insert.run(
            key,
            record.type,
            record.kind,
            t,
            record.host ?? record.prov.source.hostHint ?? null,
            tally.inputId,
            record.prov.line,
            this.#runId,
            bodyOf(record),
          ).changes;
          if (changes === 0) continue;
          this.added++;
          addedBy.set(tally, (addedBy.get(tally) ?? 0) + 1);
          if (t === null) timeless = 1;
          else {
            if (min === null || t < min) min = t;
            if (max === null || t > max) max = t;
          }
        }
        // keys: each input's runs merged into its vCenter's rows (a late input fills holes)
        for (const { tally, id, label, runs } of keys) {
          let added = 0;
          for (const run of runs.runs()) {
            added += this.#keyRuns.merge(id, label, {
              ...run,
              loSource: tally.inputId,
              hiSource: tally.inputId,
            });
          }
          this.added += added;
          addedBy.set(tally, (addedBy.get(tally) ?? 0) + added);
        }
        const tallies = new Set([...batch.map((b) => b.tally), ...keys.map((k) => k.tally)]);
        for (const tally of tallies) {
          const added = addedBy.get(tally) ?? 0;
          tally.added += added;
          this.#tallyInput.run(
            tally.records,
            added,
            tally.source.format ?? null,
            tally.firstTime ?? null,
            tally.firstTime ?? null,
            tally.lastTime ?? null,
            tally.lastTime ?? null,
            tally.inputId,
          );
        }
        if (min !== null || timeless) this.#widen.run(min, max, timeless);
      })
      .immediate();
  }

  /** Every input of this run, with the source it was read as. */
  inputs(): ReadonlyMap<InputSource, InputTally> {
    return this.#inputs;
  }
}

/** Marks the inputs read done, with their final SHA-256 (known once the outer file is read). */
export function finishInputs(db: Database, inputs: ReadonlyMap<InputSource, InputTally>): void {
  const done = db.prepare(
    `UPDATE inputs SET status = 'done', sha256 = ?, format = coalesce(?, format) WHERE id = ?`,
  );
  db.transaction(() => {
    for (const [source, tally] of inputs)
      done.run(source.sha256, source.format ?? null, tally.inputId);
  }).immediate();
}

/** A stored record, rebuilt, with where and when it entered the store. */
export interface LoadedRecord {
  readonly record: CanonicalRecord;
  readonly inputId: number;
  readonly runId: number;
}

/** Every input, as the source its records were read from (inputs are few: one row per file or member). */
export function inputSources(db: Database): Map<number, InputSource> {
  const sources = new Map<number, InputSource>();
  for (const row of db.prepare(`SELECT * FROM inputs`).all() as InputRow[]) {
    sources.set(row.id, {
      id: row.id,
      path: row.path,
      ...(row.member !== null ? { member: row.member } : {}),
      sha256: row.sha256,
      ...(row.format !== null ? { format: row.format as FormatName } : {}),
      ...(row.host_hint !== null ? { hostHint: row.host_hint } : {}),
    });
  }
  return sources;
}

/** Which records to load: times are epoch ms, bounds inclusive. */
export interface LoadSpan {
  /** Observations (and sessions) whose time lies in [from, to]. */
  readonly from: number;
  readonly to: number;
  /** Sessions also from this earlier time (default `from`). */
  readonly sessionsFrom?: number;
  /** Every record without a time too. */
  readonly timeless: boolean;
}

/** Rows read at once by `loadRecords`: no statement stays open between two pages. */
const PAGE_ROWS = 2_000;

/**
 * Records of `span`, streamed from the time index (never the whole table) a page at a time, each
 * rebuilt with the input it was first read from. No statement is open between two pages, so the
 * caller may write to the store while it iterates. `sources` (from `inputSources`) saves reading
 * the inputs again.
 */
export function* loadRecords(
  db: Database,
  span: LoadSpan,
  sources: ReadonlyMap<number, InputSource> = inputSources(db),
): Generator<LoadedRecord> {
  const sourceOf = (id: number): InputSource => {
    const known = sources.get(id);
    if (!known) throw new Error(`store: record of unknown input ${id}`);
    return known;
  };
  const sessionsFrom = Math.min(span.sessionsFrom ?? span.from, span.from);
  // two ranges read in index order (timeless first, as `ORDER BY time_ms` puts NULL first), each
  // paged by its sort key: one query with OR would sort the whole chunk in memory
  type Row = {
    key: string;
    time_ms: number | null;
    input_id: number;
    run_id: number;
    body: string;
  };
  const untimed = db.prepare(
    `SELECT key, time_ms, input_id, run_id, body FROM records
     WHERE time_ms IS NULL AND key > @key ORDER BY key LIMIT ${PAGE_ROWS}`,
  );
  const timed = db.prepare(
    `SELECT key, time_ms, input_id, run_id, body FROM records
     WHERE (time_ms, key) > (@time, @key) AND time_ms <= @to
       AND (time_ms >= @from OR type = 'session')
     ORDER BY time_ms, key LIMIT ${PAGE_ROWS}`,
  );
  const pages = function* (): Generator<Row[]> {
    if (span.timeless) {
      let key = "";
      for (;;) {
        const page = untimed.all({ key }) as Row[];
        if (page.length > 0) yield page;
        if (page.length < PAGE_ROWS) break;
        key = page[page.length - 1]?.key ?? key;
      }
    }
    let time = sessionsFrom;
    let key = "";
    for (;;) {
      const page = timed.all({ from: span.from, to: span.to, time, key }) as Row[];
      if (page.length > 0) yield page;
      if (page.length < PAGE_ROWS) break;
      const last = page[page.length - 1];
      if (!last) break;
      time = last.time_ms ?? time;
      key = last.key;
    }
  };
  for (const page of pages()) {
    for (const row of page) {
      const parsed = JSON.parse(row.body) as Omit<CanonicalRecord, "prov"> & {
        prov: Omit<CanonicalRecord["prov"], "source">;
      };
      const record = {
        ...parsed,
        prov: { ...parsed.prov, source: sourceOf(row.input_id) },
      } as CanonicalRecord;
      knownRecordKey(record, row.key);
      yield { record, inputId: row.input_id, runId: row.run_id };
    }
  }
}

/** Every stored logging record (vCenter event keys, forwarding failures), streamed by time. */
export function* loadLoggingRecords(
  db: Database,
  sources: ReadonlyMap<number, InputSource> = inputSources(db),
): Generator<CanonicalRecord> {
  type Row = { input_id: number; body: string };
  const rows = db
    .prepare(`SELECT input_id, body FROM logging_records ORDER BY time_ms, key`)
    .iterate() as IterableIterator<Row>;
  for (const row of rows) {
    const source = sources.get(row.input_id);
    if (!source) throw new Error(`store: logging record of unknown input ${row.input_id}`);
    const parsed = JSON.parse(row.body) as Omit<CanonicalRecord, "prov"> & {
      prov: Omit<CanonicalRecord["prov"], "source">;
    };
    yield { ...parsed, prov: { ...parsed.prov, source } } as CanonicalRecord;
  }
}

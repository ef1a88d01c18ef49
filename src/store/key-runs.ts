/**
 * vCenter event keys in the store as runs of consecutive keys, per vCenter: one row per run
 * (lo, hi, the times and the input and line of its two end records), so that the store grows with
 * the holes in a vCenter's key sequence, not with its events. A vCenter event guestops has no other
 * use for (`vc.event-key`) is stored only here; guest operations, sessions and forwarding failures
 * keep their rows with bodies and bring their keys back themselves.
 *
 * Runs are merged as inputs arrive, in the record writer's transactions (`records.ts`): a late input
 * that fills a hole joins two rows into one, an input read again changes no row, and a process
 * killed between two transactions leaves runs that the input read again merges into. Two adjacent
 * runs stay two rows when the upper one starts more than `KEY_RUN_SPLIT_MS` after the lower one
 * ends, so that stored coverage still sees a silence of the vCenter inside consecutive keys.
 */
import type { Database, Statement } from "better-sqlite3";
import type { KeyRunIn } from "../coverage/collect.js";
import { mergeRuns, type Run } from "../coverage/keys.js";
import type { InputSource } from "../model/record.js";

/** A silence longer than this between two consecutive keys keeps their runs apart. */
export const KEY_RUN_SPLIT_MS = 10 * 60_000;

/** The schema of the runs (a migration's body: `migrations.ts` gives it its version number). */
export const KEY_RUNS_MIGRATION = {
  description:
    "vCenter event keys as runs of consecutive keys per vCenter (vcenter_key_runs), and the logging records that are findings in themselves (ESXi forwarding failures, lost messages) with their bodies (logging_records)",
  up(db: Database): void {
    db.exec(`
      CREATE TABLE vcenter_key_runs (
        vcenter TEXT NOT NULL,
        lo INTEGER NOT NULL,
        hi INTEGER NOT NULL,
        label TEXT NOT NULL,
        lo_ms INTEGER,
        hi_ms INTEGER,
        first_ms INTEGER,
        last_ms INTEGER,
        lo_input INTEGER NOT NULL REFERENCES inputs (id),
        lo_line INTEGER NOT NULL,
        hi_input INTEGER NOT NULL REFERENCES inputs (id),
        hi_line INTEGER NOT NULL,
        run_id INTEGER NOT NULL REFERENCES runs (id),
        PRIMARY KEY (vcenter, lo),
        CHECK (lo <= hi)
      ) WITHOUT ROWID;
      CREATE INDEX vcenter_key_runs_last ON vcenter_key_runs (last_ms);
      CREATE TABLE logging_records (
        key TEXT PRIMARY KEY,
        kind TEXT NOT NULL,
        time_ms INTEGER,
        host TEXT,
        input_id INTEGER NOT NULL REFERENCES inputs (id),
        run_id INTEGER NOT NULL REFERENCES runs (id),
        body TEXT NOT NULL
      ) WITHOUT ROWID;
      CREATE INDEX logging_records_time ON logging_records (time_ms, key);
    `);
  },
} as const;

interface RunRow {
  vcenter: string;
  lo: number;
  hi: number;
  label: string;
  lo_ms: number | null;
  hi_ms: number | null;
  first_ms: number | null;
  last_ms: number | null;
  lo_input: number;
  lo_line: number;
  hi_input: number;
  hi_line: number;
}

const orUndefined = (v: number | null): number | undefined => (v === null ? undefined : v);
const orNull = (v: number | undefined): number | null => (v === undefined ? null : v);

const runOf = (r: RunRow): Run<number> => ({
  lo: r.lo,
  hi: r.hi,
  loMs: orUndefined(r.lo_ms),
  hiMs: orUndefined(r.hi_ms),
  firstMs: orUndefined(r.first_ms),
  lastMs: orUndefined(r.last_ms),
  loSource: r.lo_input,
  loLine: r.lo_line,
  hiSource: r.hi_input,
  hiLine: r.hi_line,
});

const same = (a: Run<number>, b: Run<number>): boolean =>
  a.lo === b.lo &&
  a.hi === b.hi &&
  a.loMs === b.loMs &&
  a.hiMs === b.hiMs &&
  a.firstMs === b.firstMs &&
  a.lastMs === b.lastMs &&
  a.loSource === b.loSource &&
  a.loLine === b.loLine &&
  a.hiSource === b.hiSource &&
  a.hiLine === b.hiLine;

/** Merges runs into a store's rows; call inside the writer's transaction. */
export class KeyRunStore {
  readonly #near: Statement;
  readonly #delete: Statement;
  readonly #insert: Statement;
  readonly #runId: number;

  constructor(db: Database, runId: number) {
    this.#runId = runId;
    // runs are disjoint: walking down from the last run starting at or below hi + 1 finds every
    // run that overlaps or touches [lo, hi], and stops at the first that ends below lo - 1
    this.#near = db.prepare(
      `SELECT * FROM vcenter_key_runs WHERE vcenter = ? AND lo <= ? ORDER BY lo DESC`,
    );
    this.#delete = db.prepare(`DELETE FROM vcenter_key_runs WHERE vcenter = ? AND lo = ?`);
    this.#insert = db.prepare(
      `INSERT INTO vcenter_key_runs (vcenter, lo, hi, label, lo_ms, hi_ms, first_ms, last_ms,
         lo_input, lo_line, hi_input, hi_line, run_id)
       VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
    );
  }

  /**
   * Merges one run (its sources are input row ids) into vCenter `id`'s rows; returns how many of
   * its keys were new to the store. `label`: the vCenter as written (a stored spelling wins).
   */
  merge(id: string, label: string, run: Readonly<Run<number>>): number {
    const rows: RunRow[] = [];
    for (const row of this.#near.iterate(id, run.hi + 1) as IterableIterator<RunRow>) {
      if (row.hi < run.lo - 1) break;
      rows.push(row);
    }
    rows.reverse();
    const stored = rows.map(runOf);
    let held = 0;
    for (const r of stored)
      held += Math.max(0, Math.min(r.hi, run.hi) - Math.max(r.lo, run.lo) + 1);
    const merged = mergeRuns([...stored, run], KEY_RUN_SPLIT_MS);
    if (merged.length === stored.length && merged.every((m, i) => same(m, stored[i]!))) return 0;
    const name = rows[0]?.label ?? label;
    for (const r of rows) this.#delete.run(id, r.lo);
    for (const m of merged) {
      this.#insert.run(
        id,
        m.lo,
        m.hi,
        name,
        orNull(m.loMs),
        orNull(m.hiMs),
        orNull(m.firstMs),
        orNull(m.lastMs),
        m.loSource ?? m.hiSource,
        m.loLine,
        m.hiSource ?? m.loSource,
        m.hiLine,
        this.#runId,
      );
    }
    return run.hi - run.lo + 1 - held;
  }
}

/** Every stored run, by vCenter and key, each with the inputs its end records were read from. */
export function* loadKeyRuns(
  db: Database,
  sources: ReadonlyMap<number, InputSource>,
): Generator<KeyRunIn> {
  const rows = db
    .prepare(`SELECT * FROM vcenter_key_runs ORDER BY vcenter, lo`)
    .iterate() as IterableIterator<RunRow>;
  const sourceOf = (id: number): InputSource => {
    const known = sources.get(id);
    if (!known) throw new Error(`store: vCenter key run of unknown input ${id}`);
    return known;
  };
  for (const r of rows) {
    yield {
      vcenter: r.label,
      lo: r.lo,
      hi: r.hi,
      loMs: orUndefined(r.lo_ms),
      hiMs: orUndefined(r.hi_ms),
      firstMs: orUndefined(r.first_ms),
      lastMs: orUndefined(r.last_ms),
      loSource: sourceOf(r.lo_input),
      loLine: r.lo_line,
      hiSource: sourceOf(r.hi_input),
      hiLine: r.hi_line,
    };
  }
}

/** Removes the runs whose every key is older than `cutoff` (epoch ms); returns the keys removed. */
export function dropKeyRunsBefore(db: Database, cutoff: number): number {
  const { n } = db
    .prepare(`SELECT coalesce(sum(hi - lo + 1), 0) AS n FROM vcenter_key_runs WHERE last_ms < ?`)
    .get(cutoff) as { n: number };
  db.prepare(`DELETE FROM vcenter_key_runs WHERE last_ms < ?`).run(cutoff);
  return n;
}

/** Rows and keys held (for `inspect`-style summaries and tests). */
export function keyRunCounts(db: Database): { runs: number; keys: number } {
  return db
    .prepare(`SELECT count(*) AS runs, coalesce(sum(hi - lo + 1), 0) AS keys FROM vcenter_key_runs`)
    .get() as { runs: number; keys: number };
}

/**
 * Operations in the store, recomputed only where new records landed. The span still to attribute
 * (`pending`, widened by every record batch) is attributed again from the stored records: the
 * operations placed within one reach of the span (`reachMs`: the correlator's longest join window
 * plus the session horizon) are rebuilt, one chunk of stream time at a time (`CHUNK_MS`, cut in a
 * quiet gap when there is one), from the records streamed over the chunk widened by
 * `observationMarginMs` (sessions by the session horizon more); those farther out had part of
 * their context left out, and new records cannot change them anyway. Every change is a revision
 * (created, updated, superseded), never a silent overwrite. The chunked recomputation is one
 * transaction, which also clears `pending`; a span streamed (nothing stored in it yet) commits at
 * every release step and moves `pending` past what it stored.
 */
import { createHash } from "node:crypto";
import type { Database } from "better-sqlite3";
import {
  createCorrelator,
  DEFAULT_WINDOWS,
  longestWindow,
  type JoinWindows,
} from "../attribute/correlate.js";
import { Release } from "../attribute/release.js";
import { recordKey } from "../model/record-key.js";
import type { CanonicalRecord } from "../model/record.js";
import type { Operation } from "../model/operation.js";
import { RELEASE_STEP_MS } from "../pipeline.js";
import { inputSources, loadRecords, type LoadedRecord } from "./records.js";

/** How far (ms) one record can change operations: the longest join window plus the session horizon. */
export function reachMs(windows: JoinWindows = DEFAULT_WINDOWS): number {
  return longestWindow(windows) + windows.sessionHorizon;
}

export interface Span {
  readonly from: number;
  readonly to: number;
  /** Records without a time are involved. */
  readonly timeless: boolean;
}

export function pendingSpan(db: Database): Span | undefined {
  const row = db.prepare(`SELECT min_ms, max_ms, timeless FROM pending WHERE id = 1`).get() as
    { min_ms: number | null; max_ms: number | null; timeless: number } | undefined;
  if (!row || (row.min_ms === null && !row.timeless)) return undefined;
  return {
    from: row.min_ms ?? Number.POSITIVE_INFINITY,
    to: row.max_ms ?? Number.NEGATIVE_INFINITY,
    timeless: row.timeless === 1,
  };
}

/** An operation as stored: its source objects without the run-local ids. */
export function operationJson(op: Operation): string {
  const bare = new Map<object, object>();
  const strip = <T extends { prov: { source: object } }>(r: T): T => {
    const source = r.prov.source as { id?: number; path: string };
    let s = bare.get(source);
    if (!s) {
      const { id: _id, ...rest } = source;
      void _id;
      s = rest;
      bare.set(source, s);
    }
    return { ...r, prov: { ...r.prov, source: s } };
  };
  return JSON.stringify({
    ...op,
    observations: op.observations.map(strip),
    ...(op.sessions ? { sessions: op.sessions.map(strip) } : {}),
  });
}

export const contentHash = (text: string): string =>
  createHash("sha256").update(text).digest("hex").slice(0, 32);

interface StoredOp {
  readonly id: string;
  readonly hash: string;
  readonly level: string;
  readonly principal: string | null;
  readonly body: string;
}

export interface AttributeReport {
  /** The span attributed again (epoch ms), when there was one. */
  readonly span?: { readonly from: number; readonly to: number };
  readonly recordsLoaded: number;
  readonly created: number;
  readonly updated: number;
  readonly superseded: number;
  readonly unchanged: number;
}

const principalOf = (op: Operation): string | null => op.attribution.principal?.id ?? null;

const keysOf = (op: Pick<Operation, "observations" | "sessions">): string[] => [
  ...op.observations.map((o) => recordKey(o)),
  ...(op.sessions ?? []).map((s) => recordKey(s)),
];

const vmOf = (op: Operation): string | null => op.vm.name ?? op.vm.vmx ?? op.vm.moref ?? null;

/**
 * How a span is attributed: `auto` streams a span no operation is stored in yet (the first read of
 * a period) through one correlator released by stream time, and cuts any other into chunks;
 * `chunks` always cuts (the tests compare the two).
 */
export type AttributionPath = "auto" | "chunks";

/** The stream time one attribution chunk covers (ms): operations are written a day at a time. */
export const CHUNK_MS = 24 * 3_600_000;

/**
 * The most records a chunk's own span holds: a busier day is cut into shorter chunks, so memory
 * follows this count (the correlator's records and operations of one chunk), not the estate's
 * density (a million operations a month put 140k records in a day: 2.8 GB).
 */
export const CHUNK_RECORDS = 40_000;

/**
 * How far (ms) an operation's observations can lie from its anchor time and still change it: its
 * own records reach one longest join window, and the session chain lends it the principal of exact
 * operations within `sessionChain`, whose own records reach one more longest join window
 * (`longestWindow`, as the correlator's live flushing counts it).
 */
export function observationMarginMs(windows: JoinWindows = DEFAULT_WINDOWS): number {
  return 2 * longestWindow(windows) + windows.sessionChain;
}

/** One chunk of stream time: operations anchored in [from, to) are written from it. */
interface Chunk {
  readonly from: number;
  readonly to: number;
  /** The pass for operations without a time (only records without a time are loaded). */
  readonly untimed: boolean;
}

/**
 * Where the chunk starting at `from` ends: at `from + span` when that lies in a quiet gap (no
 * record for `quietMs`), else in the first such gap before `from + 2 × span`, so that no join
 * and no session chain crosses the cut; without one, at `from + span`. Never past `end`. The span
 * is `chunkMs`, or less when that much stream time holds more than `chunkRecords` records.
 */
function chunkEnd(
  db: Database,
  from: number,
  chunkMs: number,
  chunkRecords: number,
  quietMs: number,
  end: number,
): number {
  const nth = Number.isFinite(chunkRecords)
    ? (db
        .prepare(`SELECT time_ms FROM records WHERE time_ms >= ? ORDER BY time_ms LIMIT 1 OFFSET ?`)
        .pluck()
        .get(from, chunkRecords) as number | null | undefined)
    : undefined;
  const span = nth == null ? chunkMs : Math.max(1, Math.min(chunkMs, nth - from));
  const nominal = from + span;
  if (nominal >= end) return end;
  const limit = Math.min(from + 2 * span, end);
  let prev =
    (db.prepare(`SELECT max(time_ms) FROM records WHERE time_ms < ?`).pluck().get(nominal) as
      number | null) ?? Number.NEGATIVE_INFINITY;
  const times = db
    .prepare(`SELECT time_ms FROM records WHERE time_ms >= ? AND time_ms <= ? ORDER BY time_ms`)
    .pluck()
    .iterate(nominal, limit) as IterableIterator<number>;
  let found: number | undefined;
  for (const t of times) {
    if (found === undefined && t - prev >= quietMs) found = Math.max(nominal, prev + 1);
    prev = t;
  }
  if (found !== undefined) return found;
  const after =
    (db.prepare(`SELECT min(time_ms) FROM records WHERE time_ms > ?`).pluck().get(limit) as
      number | null) ?? Number.POSITIVE_INFINITY;
  return after - prev >= quietMs ? Math.min(Math.max(nominal, prev + 1), limit) : nominal;
}

/** How `attributePending` runs (the defaults are the CLI's). */
export interface AttributePendingOptions {
  readonly windows?: JoinWindows;
  /** Stream time attributed at once on the chunked path (default `CHUNK_MS`). */
  readonly chunkMs?: number;
  /** Most records in one chunk's span (default `CHUNK_RECORDS`). */
  readonly chunkRecords?: number;
  /** `chunks`: cut even a span no operation is stored in into chunks (default `auto`). */
  readonly path?: AttributionPath;
  /**
   * Called after each committed step of a streamed span with where it stands: for progress. What
   * it throws ends the run as a crash would, after that commit.
   */
  readonly onStep?: (step: AttributeStep) => void;
}

/** Where a streamed attribution stands after a committed step. */
export interface AttributeStep {
  /** Every operation starting before this time (epoch ms) is stored. */
  readonly storedTo: number;
  /** The span being written (epoch ms). */
  readonly span: { readonly from: number; readonly to: number };
  /** Operations written so far by this run. */
  readonly created: number;
}

/**
 * Attributes the pending span again and writes what changed: streamed when nothing is stored in
 * the span yet, else one chunk of `chunkMs` of stream time at a time (docs/store.md). Memory holds
 * the open window or one chunk's records and operations, whatever the span.
 */
export function attributePending(
  db: Database,
  runId: number,
  options: AttributePendingOptions = {},
): AttributeReport {
  const {
    windows = DEFAULT_WINDOWS,
    chunkMs = CHUNK_MS,
    chunkRecords = CHUNK_RECORDS,
    path = "auto",
  } = options;
  if (!(chunkMs > 0)) throw new Error(`store: chunk size must be positive, not ${chunkMs}`);
  if (!(chunkRecords >= 1)) {
    throw new Error(`store: chunk record count must be positive, not ${chunkRecords}`);
  }
  const pending = pendingSpan(db);
  const none = { recordsLoaded: 0, created: 0, updated: 0, superseded: 0, unchanged: 0 };
  if (!pending) return none;
  const reach = reachMs(windows);
  const margin = observationMarginMs(windows);
  const timed = pending.from <= pending.to;
  const write = timed ? { from: pending.from - reach, to: pending.to + reach } : undefined;
  const writeEnd = write ? write.to + 1 : 0;

  const select = db.prepare(`SELECT id, hash, level, principal, body FROM operations WHERE id = ?`);
  const inCore = db.prepare(
    `SELECT id, hash, level, principal, body FROM operations WHERE time_ms >= ? AND time_ms < ?`,
  );
  const untimedRows = db.prepare(
    `SELECT id, hash, level, principal, body FROM operations WHERE time_ms IS NULL`,
  );
  const upsert = db.prepare(
    `INSERT INTO operations (id, time_ms, end_ms, host, vm, principal, level, api, hash, body, run_id, updated_run)
     VALUES (@id, @time, @end, @host, @vm, @principal, @level, @api, @hash, @body, @run, @run)
     ON CONFLICT (id) DO UPDATE SET time_ms = @time, end_ms = @end, host = @host, vm = @vm,
       principal = @principal, level = @level, api = @api, hash = @hash, body = @body, updated_run = @run`,
  );
  const remove = db.prepare(`DELETE FROM operations WHERE id = ?`);
  const revise = db.prepare(
    `INSERT INTO operation_revisions (operation_id, run_id, input_id, change, level_before, level_after,
       principal_before, principal_after, reason, related)
     VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
  );

  const counts = { created: 0, updated: 0, superseded: 0, unchanged: 0 };
  let recordsLoaded = 0;
  const sources = inputSources(db);
  const supersede = (row: StoredOp, by: string | undefined): void => {
    remove.run(row.id);
    counts.superseded++;
    revise.run(
      row.id,
      runId,
      null,
      "superseded",
      row.level,
      null,
      row.principal,
      null,
      by ? `its records now belong to ${by}` : "no longer built from the stored records",
      by ? JSON.stringify([by]) : null,
    );
  };

  const paramsOf = (op: Operation, body: string, hash: string) => ({
    id: op.id,
    time: op.time === undefined ? null : Date.parse(op.time),
    end: op.end === undefined ? null : Date.parse(op.end),
    host: op.host ?? null,
    vm: vmOf(op),
    principal: principalOf(op),
    level: op.attribution.level,
    api: op.api,
    hash,
    body,
    run: runId,
  });
  /** A stored operation built again: unchanged, or updated with a revision saying what changed. */
  const rewrite = (
    op: Operation,
    old: StoredOp,
    body: string,
    hash: string,
    cause: number | null,
  ) => {
    if (old.hash === hash) {
      counts.unchanged++;
      return;
    }
    upsert.run(paramsOf(op, body, hash));
    counts.updated++;
    const changed =
      old.level !== op.attribution.level || old.principal !== principalOf(op)
        ? `attribution ${old.level}${old.principal ? ` (${old.principal})` : ""} → ${op.attribution.level}${principalOf(op) ? ` (${principalOf(op) ?? ""})` : ""}: ${op.attribution.reason}`
        : "new evidence joined the operation";
    revise.run(
      op.id,
      runId,
      cause,
      "updated",
      old.level,
      op.attribution.level,
      old.principal,
      principalOf(op),
      changed,
      null,
    );
  };

  // A span no operation is stored in (the first read of a period): nothing to compare, supersede
  // or carry across chunks, so the records stream through one correlator released by stream time,
  // as `events` reads files, and memory holds the open window instead of a chunk.
  const fresh =
    write !== undefined &&
    !pending.timeless &&
    path !== "chunks" &&
    db
      .prepare(`SELECT 1 FROM operations WHERE time_ms >= ? AND time_ms < ? LIMIT 1`)
      .get(write.from, write.to) === undefined;
  if (fresh && write) {
    // One transaction per release step, not one for the span: a month in one transaction grew
    // the WAL by the whole month (5 GB at a million operations). Each commit also moves the start
    // of `pending` to the step's bound, before which every operation is now stored: a run killed
    // later resumes from there (the stored operations within reach of it are built again, through
    // the chunked path below, and found unchanged).
    const advance = db.prepare(
      `UPDATE pending SET min_ms = min(max(min_ms, @bound), max_ms) WHERE id = 1`,
    );
    db.exec("BEGIN IMMEDIATE");
    try {
      const correlator = createCorrelator({ windows });
      const release = new Release(correlator, { stepMs: RELEASE_STEP_MS });
      /** The input each record of this run entered by (the cause a revision names). */
      const inputOf = new WeakMap<object, number>();
      const causeOf = (op: Operation): number | null => {
        for (const o of [...op.observations, ...(op.sessions ?? [])]) {
          const found = inputOf.get(o);
          if (found !== undefined) return found;
        }
        return null;
      };
      const store = (ops: readonly Operation[]): void => {
        for (const op of ops) {
          const t = op.time === undefined ? Number.NaN : Date.parse(op.time);
          if (!(t >= write.from && t < write.to)) continue;
          const body = operationJson(op);
          const hash = contentHash(body);
          const cause = causeOf(op);
          const old = select.get(op.id) as StoredOp | undefined;
          if (old) {
            rewrite(op, old, body, hash, cause);
            continue;
          }
          upsert.run(paramsOf(op, body, hash));
          counts.created++;
          revise.run(
            op.id,
            runId,
            cause,
            "created",
            null,
            op.attribution.level,
            null,
            principalOf(op),
            op.attribution.reason,
            null,
          );
        }
      };
      const span = {
        from: write.from - margin,
        to: write.to + margin,
        sessionsFrom: write.from - windows.sessionHorizon - margin,
        timeless: false,
      };
      for (const loaded of loadRecords(db, span, sources)) {
        recordsLoaded++;
        if (loaded.runId === runId) inputOf.set(loaded.record, loaded.inputId);
        correlator.add(loaded.record);
        const t = loaded.record.time === undefined ? undefined : Date.parse(loaded.record.time);
        if (t !== undefined && !Number.isNaN(t)) {
          const step = release.at(t);
          if (step) {
            // a step's bound is finite (only `finish` gives +Infinity)
            store(step.ready);
            advance.run({ bound: step.bound });
            db.exec("COMMIT");
            options.onStep?.({ storedTo: step.bound, span: write, created: counts.created });
            db.exec("BEGIN IMMEDIATE");
          }
        }
      }
      store(release.finish().ready);
      db.prepare(`DELETE FROM pending`).run();
      db.exec("COMMIT");
    } catch (error) {
      if (db.inTransaction) db.exec("ROLLBACK");
      throw error;
    }
    return { span: write, recordsLoaded, ...counts };
  }

  /**
   * Stored operations of earlier chunks not built again there, but built (or their records
   * taken) by an operation anchored later: the chunk that writes that one decides.
   */
  let carried = new Map<string, StoredOp>();
  db.transaction(() => {
    let next: Chunk | undefined = write
      ? {
          from: write.from,
          to: chunkEnd(db, write.from, chunkMs, chunkRecords, margin, writeEnd),
          untimed: false,
        }
      : pending.timeless
        ? { from: 1, to: 0, untimed: true }
        : undefined;
    while (next) {
      const chunk: Chunk = next;
      next =
        !chunk.untimed && chunk.to < writeEnd
          ? {
              from: chunk.to,
              to: chunkEnd(db, chunk.to, chunkMs, chunkRecords, margin, writeEnd),
              untimed: false,
            }
          : !chunk.untimed && pending.timeless
            ? { from: 1, to: 0, untimed: true }
            : undefined;
      const last = next === undefined;
      const correlator = createCorrelator({ windows });
      /** Where each record loaded entered the store (the input a revision names). */
      const origin = new Map<string, LoadedRecord>();
      const load = chunk.untimed
        ? { from: 1, to: 0, timeless: true }
        : {
            from: chunk.from - margin,
            to: chunk.to + margin,
            sessionsFrom: chunk.from - windows.sessionHorizon - margin,
            timeless: pending.timeless,
          };
      for (const loaded of loadRecords(db, load, sources)) {
        recordsLoaded++;
        if (loaded.runId === runId) origin.set(recordKey(loaded.record), loaded);
        correlator.add(loaded.record);
      }
      const causeOf = (op: Operation): number | null => {
        for (const key of keysOf(op)) {
          const found = origin.get(key);
          if (found) return found.inputId;
        }
        return null;
      };
      const inChunk = (op: Operation): boolean => {
        if (op.time === undefined) return chunk.untimed;
        if (chunk.untimed) return false;
        const t = Date.parse(op.time);
        return t >= chunk.from && t < chunk.to;
      };
      const fresh: Operation[] = [];
      /** Operations built anchored after this chunk (their own chunk writes them). */
      const later: Operation[] = [];
      for (const op of correlator.finish().operations) {
        if (inChunk(op)) fresh.push(op);
        else if (!chunk.untimed && op.time !== undefined && Date.parse(op.time) >= chunk.to)
          later.push(op);
      }

      // stored operations of the chunk: any not built again is superseded (merged, split,
      // re-anchored), unless a later chunk builds it or takes its records
      const before = new Map<string, StoredOp>(carried);
      carried = new Map();
      const rows = (
        chunk.untimed ? untimedRows.all() : inCore.all(chunk.from, chunk.to)
      ) as StoredOp[];
      for (const row of rows) before.set(row.id, row);
      const freshIds = new Set(fresh.map((op) => op.id));
      /** Old operations not built again, by the keys of their records. */
      const orphanByKey = new Map<string, StoredOp>();
      for (const row of before.values()) {
        if (freshIds.has(row.id)) continue;
        for (const key of keysOf(parseOperation(row.body))) orphanByKey.set(key, row);
      }
      // stored operations just after the chunk that nothing built: a new operation of this
      // chunk may have taken their records (an earlier record changed the anchor)
      if (!chunk.untimed && !last) {
        const builtIds = new Set(later.map((op) => op.id));
        const until = Math.min(chunk.to + margin, writeEnd);
        for (const row of inCore.all(chunk.to, until) as StoredOp[]) {
          if (builtIds.has(row.id) || before.has(row.id)) continue;
          for (const key of keysOf(parseOperation(row.body)))
            if (!orphanByKey.has(key)) orphanByKey.set(key, row);
        }
      }
      const claimed = new Map<string, string>();
      for (const op of fresh) {
        const body = operationJson(op);
        const hash = contentHash(body);
        const old = before.get(op.id) ?? (select.get(op.id) as StoredOp | undefined);
        const params = paramsOf(op, body, hash);
        if (old) {
          rewrite(op, old, body, hash, causeOf(op));
          continue;
        }
        // a new id: does it take over operations stored under another id?
        const replaced = new Map<string, StoredOp>();
        for (const key of keysOf(op)) {
          const orphan = orphanByKey.get(key);
          if (orphan) replaced.set(orphan.id, orphan);
        }
        const [first] = replaced.values();
        upsert.run(params);
        counts.created++;
        for (const [id, row] of replaced) {
          // one just after the chunk is settled here: its chunk will not see it again
          if (!before.has(id) && !claimed.has(id)) supersede(row, op.id);
          claimed.set(id, op.id);
        }
        revise.run(
          op.id,
          runId,
          causeOf(op),
          "created",
          first?.level ?? null,
          op.attribution.level,
          first?.principal ?? null,
          principalOf(op),
          first
            ? `built again from the records of ${[...replaced.keys()].join(", ")} with new evidence: ${op.attribution.reason}`
            : op.attribution.reason,
          replaced.size ? JSON.stringify([...replaced.keys()]) : null,
        );
      }
      // orphans whose id or records an operation anchored later holds wait for its chunk
      const wanted = new Set<string>();
      if (!last && !chunk.untimed) {
        const laterIds = new Set(later.map((op) => op.id));
        const waiting = new Map<string, StoredOp>();
        for (const row of before.values())
          if (!freshIds.has(row.id) && !claimed.has(row.id)) waiting.set(row.id, row);
        for (const id of waiting.keys()) if (laterIds.has(id)) wanted.add(id);
        if (waiting.size > wanted.size) {
          for (const op of later)
            for (const key of keysOf(op)) {
              const orphan = orphanByKey.get(key);
              if (orphan && waiting.has(orphan.id)) wanted.add(orphan.id);
            }
        }
      }
      for (const row of before.values()) {
        if (freshIds.has(row.id)) continue;
        if (wanted.has(row.id)) {
          carried.set(row.id, row);
          continue;
        }
        supersede(row, claimed.get(row.id));
      }
    }
    for (const row of carried.values()) supersede(row, undefined);
    db.prepare(`DELETE FROM pending`).run();
  }).immediate();
  return {
    ...(write ? { span: write } : {}),
    recordsLoaded,
    ...counts,
  };
}

/** Rebuilds a stored operation (JSON as `operationJson` wrote it). */
export const parseOperation = (body: string): Operation => JSON.parse(body) as Operation;

/** Stored operations in [from, to) (epoch ms; all when absent), in time order (timeless last). */
export function* storedOperations(
  db: Database,
  range: { readonly from?: number; readonly to?: number } = {},
): Generator<Operation> {
  const bounded = range.from !== undefined || range.to !== undefined;
  const rows = (
    bounded
      ? db
          .prepare(
            `SELECT body FROM operations WHERE time_ms >= ? AND time_ms < ? ORDER BY time_ms, id`,
          )
          .iterate(range.from ?? Number.MIN_SAFE_INTEGER, range.to ?? Number.MAX_SAFE_INTEGER)
      : db
          .prepare(`SELECT body FROM operations WHERE time_ms IS NOT NULL ORDER BY time_ms, id`)
          .iterate()
  ) as IterableIterator<{ body: string }>;
  for (const row of rows) yield parseOperation(row.body);
  if (bounded) return;
  // timeless last, read through the same index (a sort of the whole table would be in memory)
  const timeless = db
    .prepare(`SELECT body FROM operations WHERE time_ms IS NULL ORDER BY id`)
    .iterate() as IterableIterator<{ body: string }>;
  for (const row of timeless) yield parseOperation(row.body);
}

export type { CanonicalRecord };

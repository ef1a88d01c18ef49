/**
 * Operations in the store, recomputed only where new records landed. The span still to attribute
 * (`pending`, widened by every record batch) is attributed again from the stored records: records
 * are loaded over the span widened by twice the reach of a record (`reachMs`: the correlator's
 * longest join window plus the session horizon), and the operations placed within one reach of the
 * span are written; those farther out had part of their context left out, and new records cannot
 * change them anyway. Every change is a revision (created, updated, superseded), never a silent
 * overwrite. The whole recomputation is one transaction, which also clears `pending`.
 */
import { createHash } from "node:crypto";
import type { Database } from "better-sqlite3";
import { createCorrelator, DEFAULT_WINDOWS, type JoinWindows } from "../attribute/correlate.js";
import { recordKey } from "../model/record-key.js";
import type { CanonicalRecord } from "../model/record.js";
import type { Operation } from "../model/operation.js";
import { loadRecords, type LoadedRecord } from "./records.js";

/** How far (ms) one record can change operations: the longest join window plus the session horizon. */
export function reachMs(windows: JoinWindows = DEFAULT_WINDOWS): number {
  const { sessionHorizon, ...joins } = windows;
  return Math.max(...Object.values(joins)) + sessionHorizon;
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

/** Attributes the pending span again and writes what changed. */
export function attributePending(
  db: Database,
  runId: number,
  windows: JoinWindows = DEFAULT_WINDOWS,
): AttributeReport {
  const pending = pendingSpan(db);
  const none = { recordsLoaded: 0, created: 0, updated: 0, superseded: 0, unchanged: 0 };
  if (!pending) return none;
  const reach = reachMs(windows);
  const timed = pending.from <= pending.to;
  const write = timed ? { from: pending.from - reach, to: pending.to + reach } : undefined;
  const load = timed
    ? { from: pending.from - 2 * reach, to: pending.to + 2 * reach, timeless: pending.timeless }
    : { from: 1, to: 0, timeless: true };

  const correlator = createCorrelator({ windows });
  /** Where each record loaded entered the store (the input a revision names). */
  const origin = new Map<string, LoadedRecord>();
  let recordsLoaded = 0;
  for (const loaded of loadRecords(db, load)) {
    recordsLoaded++;
    if (loaded.runId === runId) origin.set(recordKey(loaded.record), loaded);
    correlator.add(loaded.record);
  }
  const inWrite = (op: Operation): boolean => {
    if (op.time === undefined) return pending.timeless;
    if (!write) return false;
    const t = Date.parse(op.time);
    return t >= write.from && t <= write.to;
  };
  const fresh = correlator.finish().operations.filter(inWrite);

  const select = db.prepare(`SELECT id, hash, level, principal, body FROM operations WHERE id = ?`);
  const inSpan = db.prepare(
    `SELECT id, hash, level, principal, body FROM operations
     WHERE (time_ms BETWEEN ? AND ?) OR (? AND time_ms IS NULL)`,
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
  const causeOf = (op: Operation): number | null => {
    for (const key of keysOf(op)) {
      const loaded = origin.get(key);
      if (loaded) return loaded.inputId;
    }
    return null;
  };

  const counts = { created: 0, updated: 0, superseded: 0, unchanged: 0 };
  db.transaction(() => {
    // stored operations of the span: any not built again is superseded (merged, split, re-anchored)
    const before = new Map<string, StoredOp>();
    const rows = inSpan.all(
      write?.from ?? 1,
      write?.to ?? 0,
      pending.timeless ? 1 : 0,
    ) as StoredOp[];
    for (const row of rows) before.set(row.id, row);
    const freshIds = new Set(fresh.map((op) => op.id));
    /** Old operations not built again, by the keys of their records. */
    const orphanByKey = new Map<string, StoredOp>();
    for (const row of before.values()) {
      if (freshIds.has(row.id)) continue;
      for (const key of keysOf(JSON.parse(row.body) as Operation)) orphanByKey.set(key, row);
    }
    const claimed = new Map<string, string>();
    for (const op of fresh) {
      const body = operationJson(op);
      const hash = contentHash(body);
      const old = before.get(op.id) ?? (select.get(op.id) as StoredOp | undefined);
      const params = {
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
      };
      if (old) {
        if (old.hash === hash) {
          counts.unchanged++;
          continue;
        }
        upsert.run(params);
        counts.updated++;
        const changed =
          old.level !== op.attribution.level || old.principal !== principalOf(op)
            ? `attribution ${old.level}${old.principal ? ` (${old.principal})` : ""} → ${op.attribution.level}${principalOf(op) ? ` (${principalOf(op) ?? ""})` : ""}: ${op.attribution.reason}`
            : "new evidence joined the operation";
        revise.run(
          op.id,
          runId,
          causeOf(op),
          "updated",
          old.level,
          op.attribution.level,
          old.principal,
          principalOf(op),
          changed,
          null,
        );
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
      for (const id of replaced.keys()) claimed.set(id, op.id);
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
    for (const row of before.values()) {
      if (freshIds.has(row.id)) continue;
      remove.run(row.id);
      counts.superseded++;
      const by = claimed.get(row.id);
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
    }
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
      : db.prepare(`SELECT body FROM operations ORDER BY time_ms IS NULL, time_ms, id`).iterate()
  ) as IterableIterator<{ body: string }>;
  for (const row of rows) yield parseOperation(row.body);
}

export type { CanonicalRecord };

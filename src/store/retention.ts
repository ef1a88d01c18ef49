/**
 * Retention: operations (and the records they were built from) older than a cutoff are removed, and
 * the removal is logged (how many, the span they covered, the run). Inputs keep their rows; alerts
 * and incidents keep theirs, and the records they rest on (`evidence`) are kept.
 */
import type { Database } from "better-sqlite3";
import { GuestOpsError } from "../shared/errors.js";
import { dropKeyRunsBefore } from "./key-runs.js";

const UNITS = new Map<string, number>([
  ["h", 3_600_000],
  ["d", 86_400_000],
  ["w", 7 * 86_400_000],
]);

/** `400d`, `12w`, `36h` → milliseconds. */
export function parseRetention(text: string): number {
  const m = /^\s*(\d{1,6})\s*([hdw])\s*$/i.exec(text);
  const unit = m ? UNITS.get((m[2] ?? "").toLowerCase()) : undefined;
  const n = m ? Number(m[1]) : 0;
  if (!m || unit === undefined || n <= 0) {
    throw new GuestOpsError("ERR_USAGE", `--retention ${text} is not a duration`, {
      hint: "a positive number of hours, days or weeks: 36h, 400d, 12w",
    });
  }
  return n * unit;
}

export interface RetentionReport {
  readonly cutoff: string;
  readonly operations: number;
  readonly records: number;
  readonly firstTime?: string;
  readonly lastTime?: string;
}

/** Removes what is older than `cutoff` (epoch ms) and logs it under `runId`. */
export function applyRetention(db: Database, runId: number, cutoff: number): RetentionReport {
  return db
    .transaction((): RetentionReport => {
      const span = db
        .prepare(
          `SELECT count(*) AS n, min(time_ms) AS first, max(time_ms) AS last FROM operations WHERE time_ms < ?`,
        )
        .get(cutoff) as { n: number; first: number | null; last: number | null };
      db.prepare(`DELETE FROM operations WHERE time_ms < ?`).run(cutoff);
      // the records alerts and incidents rest on stay
      const records =
        db
          .prepare(
            `DELETE FROM records WHERE time_ms < ? AND key NOT IN (SELECT record_key FROM evidence)`,
          )
          .run(cutoff).changes +
        db.prepare(`DELETE FROM logging_records WHERE time_ms < ?`).run(cutoff).changes +
        // a run of vCenter event keys goes once its newest key is older (its keys count as records)
        dropKeyRunsBefore(db, cutoff);
      const report: RetentionReport = {
        cutoff: new Date(cutoff).toISOString(),
        operations: span.n,
        records,
        ...(span.first !== null ? { firstTime: new Date(span.first).toISOString() } : {}),
        ...(span.last !== null ? { lastTime: new Date(span.last).toISOString() } : {}),
      };
      db.prepare(
        `INSERT INTO retention_log (run_id, cutoff, operations, records, first_time, last_time)
         VALUES (?, ?, ?, ?, ?, ?)`,
      ).run(
        runId,
        report.cutoff,
        span.n,
        records,
        report.firstTime ?? null,
        report.lastTime ?? null,
      );
      return report;
    })
    .immediate();
}

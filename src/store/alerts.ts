/**
 * Alerts and incidents in the store, with their history. Each is stored whole (JSON) with its id,
 * severity and time indexed; a re-evaluation over a range compares what the rules give now with
 * what the store holds in that range and writes one revision per change: `opened`, `updated`
 * (severity, operations or reasons changed), `closed` (no longer raised: late evidence named an
 * expected account, say), `reopened`. The records each finding rests on are listed in `evidence`,
 * and retention keeps them, so an old alert's lines can still be shown.
 */
import type { Database } from "better-sqlite3";
import type { Alert } from "../model/alert.js";
import { contentHash } from "./operations.js";

/** What a stored finding needs: alerts have it, incidents are expected to. */
export interface Finding {
  readonly id: string;
  readonly severity: string;
  readonly firstSeen?: string;
  readonly lastSeen?: string;
}

export type FindingTable = "alerts" | "incidents";

export interface FindingChanges {
  readonly opened: number;
  readonly updated: number;
  readonly closed: number;
  readonly reopened: number;
  readonly unchanged: number;
}

const ms = (iso: string | undefined): number | null => {
  if (iso === undefined) return null;
  const t = Date.parse(iso);
  return Number.isNaN(t) ? null : t;
};

/**
 * Stores `findings`, the complete result of evaluating the operations in `range` (epoch ms, both
 * ends optional), and closes the open ones of that range the evaluation no longer gives.
 */
export function storeFindings(
  db: Database,
  table: FindingTable,
  runId: number,
  findings: readonly Finding[],
  range: { readonly from?: number; readonly to?: number } = {},
  /** The content keys of the records a finding rests on (kept through retention). */
  evidenceOf?: (finding: Finding) => Iterable<string>,
): FindingChanges {
  const one = table === "alerts" ? "alert" : "incident";
  const select = db.prepare(`SELECT status, hash, severity FROM ${table} WHERE id = ?`);
  const upsert = db.prepare(
    `INSERT INTO ${table} (id, severity, first_ms, last_ms, status, hash, body, run_id, updated_run)
     VALUES (@id, @severity, @first, @last, 'open', @hash, @body, @run, @run)
     ON CONFLICT (id) DO UPDATE SET severity = @severity, first_ms = @first, last_ms = @last,
       status = 'open', hash = @hash, body = @body, updated_run = @run`,
  );
  const revise = db.prepare(
    `INSERT INTO ${one}_revisions (${one}_id, run_id, change, severity_before, severity_after, reason)
     VALUES (?, ?, ?, ?, ?, ?)`,
  );
  const openInRange = db.prepare(
    `SELECT id, severity FROM ${table}
     WHERE status = 'open' AND ((first_ms >= ? AND first_ms < ?) OR (? AND first_ms IS NULL))`,
  );
  const keep = db.prepare(`INSERT OR IGNORE INTO evidence (finding_id, record_key) VALUES (?, ?)`);
  const close = db.prepare(`UPDATE ${table} SET status = 'closed', updated_run = ? WHERE id = ?`);
  const counts = { opened: 0, updated: 0, closed: 0, reopened: 0, unchanged: 0 };
  db.transaction(() => {
    const seen = new Set<string>();
    for (const finding of findings) {
      seen.add(finding.id);
      const body = JSON.stringify(finding);
      const hash = contentHash(body);
      const old = select.get(finding.id) as
        { status: string; hash: string; severity: string } | undefined;
      if (old && old.status === "open" && old.hash === hash) {
        counts.unchanged++;
        continue;
      }
      if (evidenceOf) for (const key of evidenceOf(finding)) keep.run(finding.id, key);
      upsert.run({
        id: finding.id,
        severity: finding.severity,
        first: ms(finding.firstSeen),
        last: ms(finding.lastSeen),
        hash,
        body,
        run: runId,
      });
      const change = !old ? "opened" : old.status === "closed" ? "reopened" : "updated";
      counts[change]++;
      revise.run(
        finding.id,
        runId,
        change,
        old?.severity ?? null,
        finding.severity,
        change === "updated"
          ? old?.severity !== finding.severity
            ? `severity ${old?.severity ?? ""} → ${finding.severity}`
            : "operations or reasons changed"
          : change === "opened"
            ? "raised by the rules"
            : "raised again by the rules",
      );
    }
    const unbounded = range.from === undefined && range.to === undefined;
    const stale = openInRange.all(
      range.from ?? Number.MIN_SAFE_INTEGER,
      range.to ?? Number.MAX_SAFE_INTEGER,
      unbounded ? 1 : 0,
    ) as { id: string; severity: string }[];
    for (const row of stale) {
      if (seen.has(row.id)) continue;
      close.run(runId, row.id);
      counts.closed++;
      revise.run(
        row.id,
        runId,
        "closed",
        row.severity,
        null,
        "no longer raised by the rules over the stored operations",
      );
    }
  }).immediate();
  return counts;
}

/** Stored open findings whose first time lies in [from, to) (all when absent), oldest first. */
export function storedFindings<T = Alert>(
  db: Database,
  table: FindingTable,
  range: { readonly from?: number; readonly to?: number } = {},
): T[] {
  const bounded = range.from !== undefined || range.to !== undefined;
  const rows = (
    bounded
      ? db
          .prepare(
            `SELECT body FROM ${table} WHERE status = 'open' AND first_ms >= ? AND first_ms < ? ORDER BY first_ms, id`,
          )
          .all(range.from ?? Number.MIN_SAFE_INTEGER, range.to ?? Number.MAX_SAFE_INTEGER)
      : db
          .prepare(
            `SELECT body FROM ${table} WHERE status = 'open' ORDER BY first_ms IS NULL, first_ms, id`,
          )
          .all()
  ) as { body: string }[];
  return rows.map((r) => JSON.parse(r.body) as T);
}

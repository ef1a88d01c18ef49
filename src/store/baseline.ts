/**
 * The baseline in the store (docs/store.md, docs/detection.md): one row for the baseline, one per
 * account and VM profile, a row per learning run, and the alerts an analyst accepted as normal.
 * Learning reads the stored operations twice in time order (streamed: `baseline/run.ts`) and
 * replaces the stored baseline in one transaction; `diff` learns the same way without storing.
 */
import type { Database } from "better-sqlite3";
import {
  accountJson,
  decodeAccount,
  decodeMeta,
  decodeVm,
  metaJson,
  vmJson,
} from "../baseline/codec.js";
import type { AccountProfile, Baseline, VmProfile } from "../baseline/model.js";
import { learnRun, type LearnRunResult } from "../baseline/run.js";
import type { Rule } from "../detect/types.js";
import type { Alert } from "../model/alert.js";
import type { Policy } from "../policy/types.js";
import { GuestOpsError } from "../shared/errors.js";
import { storedOperations } from "./operations.js";

/** The stored baseline, or undefined when none was learned; rows that do not decode are counted. */
export function loadBaseline(db: Database): { baseline: Baseline; unreadable: number } | undefined {
  const row = db.prepare(`SELECT body FROM baseline WHERE id = 1`).get() as
    { body: string } | undefined;
  if (!row) return undefined;
  let meta: ReturnType<typeof decodeMeta>;
  try {
    meta = decodeMeta(row.body);
  } catch (cause) {
    throw new GuestOpsError("ERR_STORE", "the stored baseline cannot be read", {
      cause,
      hint: "learn it again: guestops learn --db FILE",
    });
  }
  const accounts = new Map<string, AccountProfile>();
  const vms = new Map<string, VmProfile>();
  let unreadable = 0;
  const rows = db
    .prepare(`SELECT kind, subject, body FROM baseline_profiles ORDER BY kind, subject`)
    .iterate() as IterableIterator<{ kind: string; subject: string; body: string }>;
  for (const r of rows) {
    try {
      if (r.kind === "account") accounts.set(r.subject, decodeAccount(r.body));
      else vms.set(r.subject, decodeVm(r.body));
    } catch {
      unreadable++;
    }
  }
  return { baseline: { ...meta, accounts, vms }, unreadable };
}

/** Replaces the stored baseline with `baseline`, and logs the learning run. */
export function saveBaseline(db: Database, runId: number, baseline: Baseline): void {
  const learnedAt = new Date(baseline.learnedAt).toISOString();
  db.transaction(() => {
    db.prepare(`DELETE FROM baseline_profiles`).run();
    db.prepare(
      `INSERT INTO baseline (id, run_id, learned_at, body) VALUES (1, ?, ?, ?)
       ON CONFLICT (id) DO UPDATE SET run_id = excluded.run_id, learned_at = excluded.learned_at, body = excluded.body`,
    ).run(runId, learnedAt, metaJson(baseline));
    const put = db.prepare(`INSERT INTO baseline_profiles (kind, subject, body) VALUES (?, ?, ?)`);
    for (const [key, p] of baseline.accounts) put.run("account", key, accountJson(p));
    for (const [key, p] of baseline.vms) put.run("vm", key, vmJson(p));
    db.prepare(
      `INSERT INTO baseline_runs (run_id, learned_at, from_ms, to_ms, operations, excluded_operations, excluded_alerts, accounts, vms)
       VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)`,
    ).run(
      runId,
      learnedAt,
      baseline.operations > 0 ? baseline.from : null,
      baseline.operations > 0 ? baseline.to : null,
      baseline.operations,
      baseline.excluded.operations,
      baseline.excluded.alerts,
      baseline.accounts.size,
      baseline.vms.size,
    );
  }).immediate();
}

/** Marks an alert as accepted: its operations are learned as normal from the next run on. */
export function acceptAlert(
  db: Database,
  alertId: string,
  note: string,
  at: number,
): { known: boolean } {
  const known = db.prepare(`SELECT 1 FROM alerts WHERE id = ?`).get(alertId) !== undefined;
  db.prepare(
    `INSERT INTO baseline_accepted (alert_id, accepted_at, note) VALUES (?, ?, ?)
     ON CONFLICT (alert_id) DO UPDATE SET accepted_at = excluded.accepted_at, note = excluded.note`,
  ).run(alertId, new Date(at).toISOString(), note);
  return { known };
}

export function acceptedAlerts(db: Database): Set<string> {
  const rows = db.prepare(`SELECT alert_id FROM baseline_accepted`).all() as { alert_id: string }[];
  return new Set(rows.map((r) => r.alert_id));
}

/** Stored open alerts of medium or higher severity, streamed. */
function* storedSevereAlerts(db: Database): Generator<Alert> {
  const rows = db
    .prepare(
      `SELECT body FROM alerts WHERE status = 'open' AND severity IN ('medium', 'high', 'critical')`,
    )
    .iterate() as IterableIterator<{ body: string }>;
  for (const r of rows) yield JSON.parse(r.body) as Alert;
}

export interface LearnStoreOptions {
  readonly policy: Policy;
  readonly rules?: readonly Rule[];
  /** Epoch ms bounds of the operations learned from (absent: all stored). */
  readonly from?: number;
  readonly to?: number;
  readonly learnedAt: number;
}

/** Learns a baseline from the stored operations (not stored: see `saveBaseline`). */
export function learnFromStore(db: Database, options: LearnStoreOptions): LearnRunResult {
  const range = {
    ...(options.from !== undefined ? { from: options.from } : {}),
    ...(options.to !== undefined ? { to: options.to } : {}),
  };
  const previous = loadBaseline(db)?.baseline;
  return learnRun(() => storedOperations(db, range), {
    policy: options.policy,
    ...(options.rules ? { rules: options.rules } : {}),
    ...(previous ? { previous } : {}),
    storedAlerts: storedSevereAlerts(db),
    accepted: acceptedAlerts(db),
    learnedAt: options.learnedAt,
  });
}

/** Starts a run row for a command that does not ingest (`learn` without paths). */
export function beginRun(
  db: Database,
  command: string,
  args: readonly string[],
  version: string,
): number {
  return Number(
    db
      .prepare(
        `INSERT INTO runs (command, args, version, started, status) VALUES (?, ?, ?, ?, 'running')`,
      )
      .run(command, JSON.stringify(args), version, new Date().toISOString()).lastInsertRowid,
  );
}

export function finishRun(db: Database, runId: number, summary: unknown): void {
  db.prepare(`UPDATE runs SET finished = ?, status = 'done', summary = ? WHERE id = ?`).run(
    new Date().toISOString(),
    JSON.stringify(summary),
    runId,
  );
}

/**
 * Exceptions made from the dashboard or the JSON API, kept in the store (docs/serve.md#exceptions):
 * each one is made from an alert and matches that alert's rules, principal and VM, with an owner,
 * a ticket, an expiry and a reason, who made it and when; it is revoked, never deleted. The live
 * processor judges them beside the policy's own `exceptions:` from its next step on; alerts they
 * cover whole are kept here as excepted, so none vanishes without a trace.
 */
import type { Database } from "better-sqlite3";
import type { Alert } from "../model/alert.js";
import { exceptionExpiry } from "../policy/load.js";
import { hasGlob, vmNames } from "../policy/match.js";
import type { PolicyException } from "../policy/types.js";

/** What an analyst gives to make an exception from an alert. */
export interface ExceptionRequest {
  readonly alert: string;
  readonly owner: string;
  readonly ticket: string;
  /** A date (the whole of that day), a local date-time (in the policy's zone) or one with `Z`/an offset. */
  readonly expires: string;
  readonly reason?: string;
  /** Rule ids among the alert's; default: every rule of the alert. */
  readonly rules?: readonly string[];
}

/** One stored exception as the API lists it. */
export interface StoredException {
  readonly id: string;
  readonly source: "store";
  readonly alert: string | null;
  readonly rules: readonly string[];
  readonly account: string;
  readonly vm: string;
  readonly owner: string;
  readonly ticket: string;
  readonly expires: string;
  readonly reason: string | null;
  readonly createdBy: string;
  readonly createdMs: number;
  readonly revokedBy: string | null;
  readonly revokedMs: number | null;
}

/** A request the store refuses, with the reason the API answers (400, or 404 for no alert). */
export class ExceptionRefused extends Error {
  constructor(
    message: string,
    readonly status: 400 | 404 = 400,
  ) {
    super(message);
  }
}

interface Row {
  id: number;
  alert_id: string | null;
  rules: string;
  account: string;
  vm: string;
  owner: string;
  ticket: string;
  expires_ms: number;
  reason: string | null;
  created_by: string;
  created_ms: number;
  revoked_by: string | null;
  revoked_ms: number | null;
}

const toStored = (r: Row): StoredException => ({
  id: `ex-${r.id}`,
  source: "store",
  alert: r.alert_id,
  rules: JSON.parse(r.rules) as string[],
  account: r.account,
  vm: r.vm,
  owner: r.owner,
  ticket: r.ticket,
  expires: new Date(r.expires_ms).toISOString(),
  reason: r.reason,
  createdBy: r.created_by,
  createdMs: r.created_ms,
  revokedBy: r.revoked_by,
  revokedMs: r.revoked_ms,
});

/** The VM name an exception matches by: the display name, or a .vmx path's file stem. */
const vmPattern = (vm: string): string =>
  /\.vmx$/i.test(vm) ? (vmNames({ vmx: vm })[0] ?? vm) : vm;

/**
 * Makes an exception from a stored alert. Refused: an unknown alert, an alert without a named
 * principal or VM, a principal or VM whose name holds glob characters (`*`, `?`: a name from the
 * logs must never widen the exception), a rule the alert does not have, an unreadable expiry or
 * one already past.
 */
export function createException(
  db: Database,
  request: ExceptionRequest,
  actor: string,
  zone: string,
  now = Date.now(),
): StoredException {
  const row = db.prepare(`SELECT body FROM alerts WHERE id = ?`).get(request.alert) as
    { body: string } | undefined;
  if (!row) throw new ExceptionRefused("no such alert", 404);
  const alert = JSON.parse(row.body) as Alert;
  const account = alert.principal.id;
  if (account === undefined || account === "") {
    throw new ExceptionRefused(
      "the alert names no principal: write such an exception in the policy file",
    );
  }
  const vm = alert.vm === "unknown VM" ? "" : vmPattern(alert.vm);
  if (vm === "") {
    throw new ExceptionRefused("the alert names no VM: write such an exception in the policy file");
  }
  if (hasGlob(account) || hasGlob(vm)) {
    throw new ExceptionRefused(
      "the alert's principal or VM name holds * or ?: write such an exception in the policy file",
    );
  }
  const rules = request.rules ?? alert.rules;
  const unknown = rules.filter((r) => !alert.rules.includes(r));
  if (rules.length === 0 || unknown.length > 0) {
    throw new ExceptionRefused(`the alert's rules are ${alert.rules.join(", ")}`);
  }
  const expiresMs = exceptionExpiry(request.expires, zone);
  if (expiresMs === undefined) {
    throw new ExceptionRefused(
      "expires: expected a date (2027-03-31) or a date-time (2027-03-31T18:00, …Z)",
    );
  }
  if (expiresMs <= now) throw new ExceptionRefused("expires: that time has passed");
  const info = db
    .prepare(
      `INSERT INTO exceptions (alert_id, rules, account, vm, owner, ticket, expires_ms, reason, created_by, created_ms)
       VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
    )
    .run(
      alert.id,
      JSON.stringify([...new Set(rules)]),
      account,
      vm,
      request.owner,
      request.ticket,
      expiresMs,
      request.reason ?? null,
      actor,
      now,
    );
  return one(db, Number(info.lastInsertRowid)) as StoredException;
}

const idOf = (id: string): number | undefined => {
  const m = /^ex-(\d{1,15})$/.exec(id);
  return m ? Number(m[1]) : undefined;
};

function one(db: Database, id: number): StoredException | undefined {
  const row = db.prepare(`SELECT * FROM exceptions WHERE id = ?`).get(id) as Row | undefined;
  return row ? toStored(row) : undefined;
}

/** Revokes an exception (kept, with who revoked it and when); undefined for an unknown id. */
export function revokeException(
  db: Database,
  id: string,
  actor: string,
  now = Date.now(),
): StoredException | undefined {
  const n = idOf(id);
  if (n === undefined) return undefined;
  db.prepare(
    `UPDATE exceptions SET revoked_by = ?, revoked_ms = ? WHERE id = ? AND revoked_ms IS NULL`,
  ).run(actor, now, n);
  return one(db, n);
}

/** Every stored exception, newest first (revoked ones too). */
export function listExceptions(db: Database, limit = 1000): StoredException[] {
  return (db.prepare(`SELECT * FROM exceptions ORDER BY id DESC LIMIT ?`).all(limit) as Row[]).map(
    toStored,
  );
}

/**
 * The exceptions the detector judges: those not revoked, as policy exceptions (their expiry is
 * judged by each operation's time, like the policy's).
 */
export function activeExceptions(db: Database): PolicyException[] {
  const rows = db
    .prepare(`SELECT * FROM exceptions WHERE revoked_ms IS NULL ORDER BY id`)
    .all() as Row[];
  return rows.map((r) => ({
    id: `ex-${r.id}`,
    rules: JSON.parse(r.rules) as string[],
    accounts: [r.account],
    vms: [{ kind: "glob", pattern: r.vm }],
    hosts: undefined,
    methods: undefined,
    owner: r.owner,
    ticket: r.ticket,
    expiresMs: r.expires_ms,
    ...(r.reason !== null ? { reason: r.reason } : {}),
    source: "store",
    createdBy: r.created_by,
    createdMs: r.created_ms,
  }));
}

/** Changes whenever an exception is made or revoked (cheap: the processor asks at every step). */
export function exceptionsVersion(db: Database): string {
  const r = db
    .prepare(
      `SELECT count(*) AS n, coalesce(max(id), 0) AS last, count(revoked_ms) AS revoked FROM exceptions`,
    )
    .get() as { n: number; last: number; revoked: number };
  return `${r.n}/${r.last}/${r.revoked}`;
}

/** Stores alerts the exceptions covered whole (the latest version of each, by alert id). */
export function recordExcepted(db: Database, alerts: readonly Alert[], now: number): void {
  const put = db.prepare(
    `INSERT INTO excepted_alerts (alert_id, at_ms, body) VALUES (?, ?, ?)
     ON CONFLICT (alert_id) DO UPDATE SET at_ms = excluded.at_ms, body = excluded.body`,
  );
  for (const a of alerts) put.run(a.id, now, JSON.stringify(a));
}

/** Excepted alerts, latest first. */
export function exceptedAlerts(db: Database, limit: number): { total: number; items: Alert[] } {
  const total = (db.prepare(`SELECT count(*) AS n FROM excepted_alerts`).get() as { n: number }).n;
  const items = (
    db
      .prepare(`SELECT body FROM excepted_alerts ORDER BY at_ms DESC, alert_id LIMIT ?`)
      .all(limit) as { body: string }[]
  ).map((r) => JSON.parse(r.body) as Alert);
  return { total, items };
}

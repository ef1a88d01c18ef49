/**
 * API tokens and triage, in the store. A token is 32 random bytes (base64url) shown once; only its
 * SHA-256 is stored, with a name and a role: `viewer` reads, `analyst` also triages. Triage of an
 * alert or incident (acknowledge, assign, close with a reason, reopen) is one current row plus one
 * revision per change, with who made it.
 */
import { createHash, randomBytes, timingSafeEqual } from "node:crypto";
import type { Database } from "better-sqlite3";
import { GuestOpsError } from "../shared/errors.js";

export type Role = "viewer" | "analyst";

const hashOf = (token: string): string => createHash("sha256").update(token).digest("hex");

/** Creates a token; returns it (the only time it is known in clear). */
export function addToken(db: Database, name: string, role: Role, now = Date.now()): string {
  if (!/^[A-Za-z0-9._@-]{1,64}$/.test(name)) {
    throw new GuestOpsError("ERR_USAGE", `invalid token name ${JSON.stringify(name)}`, {
      hint: "Use 1-64 letters, digits, dots, dashes, underscores or @.",
    });
  }
  const token = `go_${randomBytes(32).toString("base64url")}`;
  try {
    db.prepare(`INSERT INTO api_tokens (name, role, hash, created_ms) VALUES (?, ?, ?, ?)`).run(
      name,
      role,
      hashOf(token),
      now,
    );
  } catch (cause) {
    throw new GuestOpsError("ERR_USAGE", `a token named ${JSON.stringify(name)} exists`, {
      cause,
      hint: "revoke it first, or choose another name",
    });
  }
  return token;
}

export function revokeToken(db: Database, name: string, now = Date.now()): boolean {
  return (
    db
      .prepare(`UPDATE api_tokens SET revoked_ms = ? WHERE name = ? AND revoked_ms IS NULL`)
      .run(now, name).changes > 0
  );
}

export function listTokens(
  db: Database,
): { name: string; role: Role; createdMs: number; revokedMs: number | null }[] {
  return (
    db.prepare(`SELECT name, role, created_ms, revoked_ms FROM api_tokens ORDER BY name`).all() as {
      name: string;
      role: Role;
      created_ms: number;
      revoked_ms: number | null;
    }[]
  ).map((r) => ({ name: r.name, role: r.role, createdMs: r.created_ms, revokedMs: r.revoked_ms }));
}

/** The token's name and role, or undefined for an unknown or revoked token. */
export function checkToken(db: Database, token: string): { name: string; role: Role } | undefined {
  if (token.length === 0 || token.length > 200) return undefined;
  const hash = hashOf(token);
  const row = db
    .prepare(`SELECT name, role, hash FROM api_tokens WHERE hash = ? AND revoked_ms IS NULL`)
    .get(hash) as { name: string; role: Role; hash: string } | undefined;
  if (!row) return undefined;
  // the lookup is by hash; compare again in constant time all the same
  const ok = timingSafeEqual(Buffer.from(row.hash, "hex"), Buffer.from(hash, "hex"));
  return ok ? { name: row.name, role: row.role } : undefined;
}

export type TriageAction = "acknowledge" | "assign" | "close" | "reopen";

export interface TriageState {
  readonly findingId: string;
  readonly status: "new" | "acknowledged" | "closed";
  readonly assignee: string | null;
  readonly reason: string | null;
  readonly updatedMs: number;
  readonly revision: number;
}

export function triageOf(db: Database, findingId: string): TriageState | undefined {
  const row = db
    .prepare(
      `SELECT finding_id, status, assignee, reason, updated_ms, revision FROM triage WHERE finding_id = ?`,
    )
    .get(findingId) as
    | {
        finding_id: string;
        status: TriageState["status"];
        assignee: string | null;
        reason: string | null;
        updated_ms: number;
        revision: number;
      }
    | undefined;
  return row
    ? {
        findingId: row.finding_id,
        status: row.status,
        assignee: row.assignee,
        reason: row.reason,
        updatedMs: row.updated_ms,
        revision: row.revision,
      }
    : undefined;
}

export function triageHistory(db: Database, findingId: string): unknown[] {
  return db
    .prepare(
      `SELECT revision, at_ms AS atMs, actor, action, status, assignee, reason FROM triage_revisions WHERE finding_id = ? ORDER BY revision`,
    )
    .all(findingId);
}

/** Applies one triage action; returns the new state. */
export function triage(
  db: Database,
  findingId: string,
  action: { action: TriageAction; assignee?: string; reason?: string },
  actor: string,
  now = Date.now(),
): TriageState {
  return db
    .transaction(() => {
      const old = triageOf(db, findingId);
      const status =
        action.action === "acknowledge"
          ? "acknowledged"
          : action.action === "close"
            ? "closed"
            : action.action === "reopen"
              ? "new"
              : (old?.status ?? "new");
      const assignee =
        action.action === "assign" ? (action.assignee ?? null) : (old?.assignee ?? null);
      const reason =
        action.action === "close" || action.action === "reopen"
          ? (action.reason ?? null)
          : (old?.reason ?? null);
      const revision = (old?.revision ?? 0) + 1;
      db.prepare(
        `INSERT INTO triage (finding_id, status, assignee, reason, updated_ms, revision) VALUES (?, ?, ?, ?, ?, ?)
         ON CONFLICT (finding_id) DO UPDATE SET status = excluded.status, assignee = excluded.assignee,
           reason = excluded.reason, updated_ms = excluded.updated_ms, revision = excluded.revision`,
      ).run(findingId, status, assignee, reason, now, revision);
      db.prepare(
        `INSERT INTO triage_revisions (finding_id, revision, at_ms, actor, action, status, assignee, reason) VALUES (?, ?, ?, ?, ?, ?, ?, ?)`,
      ).run(
        findingId,
        revision,
        now,
        actor,
        action.action,
        status,
        assignee,
        action.reason ?? null,
      );
      return { findingId, status, assignee, reason, updatedMs: now, revision };
    })
    .immediate();
}

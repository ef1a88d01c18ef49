/**
 * The schema, as numbered forward migrations. `PRAGMA user_version` holds the number of the last
 * one applied; `migrate()` applies the rest in order, each in its own transaction (a crash leaves
 * the database at the previous version). Migrations are only ever appended, never edited.
 */
import type { Database } from "better-sqlite3";
import { KEY_RUNS_MIGRATION } from "./key-runs.js";

export interface Migration {
  readonly version: number;
  readonly description: string;
  readonly up: (db: Database) => void;
}

export const MIGRATIONS: readonly Migration[] = [
  {
    version: 1,
    description: "runs, inputs, records (by content key) and the span still to attribute",
    up(db) {
      db.exec(`
        CREATE TABLE runs (
          id INTEGER PRIMARY KEY,
          command TEXT NOT NULL,
          args TEXT NOT NULL,
          version TEXT NOT NULL,
          started TEXT NOT NULL,
          finished TEXT,
          status TEXT NOT NULL CHECK (status IN ('running', 'done', 'failed')),
          summary TEXT
        );
        CREATE TABLE inputs (
          id INTEGER PRIMARY KEY,
          path TEXT NOT NULL,
          member TEXT,
          sha256 TEXT NOT NULL DEFAULT '',
          size INTEGER,
          format TEXT,
          host_hint TEXT,
          first_time TEXT,
          last_time TEXT,
          records INTEGER NOT NULL DEFAULT 0,
          added INTEGER NOT NULL DEFAULT 0,
          status TEXT NOT NULL CHECK (status IN ('reading', 'done')),
          run_id INTEGER NOT NULL REFERENCES runs (id),
          read_at TEXT NOT NULL
        );
        CREATE INDEX inputs_path ON inputs (path, member);
        CREATE INDEX inputs_sha ON inputs (sha256, size);
        CREATE TABLE records (
          id INTEGER PRIMARY KEY,
          key TEXT NOT NULL UNIQUE,
          type TEXT NOT NULL CHECK (type IN ('observation', 'session')),
          kind TEXT NOT NULL,
          time_ms INTEGER,
          host TEXT,
          input_id INTEGER NOT NULL REFERENCES inputs (id),
          line INTEGER NOT NULL,
          run_id INTEGER NOT NULL REFERENCES runs (id),
          body TEXT NOT NULL
        );
        CREATE INDEX records_time ON records (time_ms);
        CREATE TABLE pending (
          id INTEGER PRIMARY KEY CHECK (id = 1),
          min_ms INTEGER,
          max_ms INTEGER,
          timeless INTEGER NOT NULL DEFAULT 0
        );
      `);
    },
  },
  {
    version: 2,
    description: "operations with their revisions, and the vpxd coverage spans",
    up(db) {
      db.exec(`
        CREATE TABLE operations (
          rowid INTEGER PRIMARY KEY,
          id TEXT NOT NULL UNIQUE,
          time_ms INTEGER,
          end_ms INTEGER,
          host TEXT,
          vm TEXT,
          principal TEXT,
          level TEXT NOT NULL,
          api TEXT NOT NULL,
          hash TEXT NOT NULL,
          body TEXT NOT NULL,
          run_id INTEGER NOT NULL REFERENCES runs (id),
          updated_run INTEGER NOT NULL REFERENCES runs (id)
        );
        CREATE INDEX operations_time ON operations (time_ms);
        CREATE INDEX operations_host ON operations (host);
        CREATE INDEX operations_vm ON operations (vm);
        CREATE INDEX operations_principal ON operations (principal);
        CREATE INDEX operations_level ON operations (level);
        CREATE INDEX operations_api ON operations (api);
        CREATE TABLE operation_revisions (
          id INTEGER PRIMARY KEY,
          operation_id TEXT NOT NULL,
          run_id INTEGER NOT NULL REFERENCES runs (id),
          input_id INTEGER REFERENCES inputs (id),
          change TEXT NOT NULL CHECK (change IN ('created', 'updated', 'superseded')),
          level_before TEXT,
          level_after TEXT,
          principal_before TEXT,
          principal_after TEXT,
          reason TEXT NOT NULL,
          related TEXT
        );
        CREATE INDEX operation_revisions_op ON operation_revisions (operation_id);
        CREATE TABLE coverage (
          input_id INTEGER NOT NULL REFERENCES inputs (id),
          format TEXT NOT NULL,
          vcenter TEXT NOT NULL DEFAULT '',
          start TEXT NOT NULL,
          end TEXT NOT NULL,
          PRIMARY KEY (input_id, format, vcenter)
        ) WITHOUT ROWID;
      `);
    },
  },
  {
    version: 3,
    description: "alerts and incidents with their revisions; the retention log",
    up(db) {
      for (const table of ["alerts", "incidents"]) {
        const one = table.slice(0, -1);
        db.exec(`
          CREATE TABLE ${table} (
            rowid INTEGER PRIMARY KEY,
            id TEXT NOT NULL UNIQUE,
            severity TEXT NOT NULL,
            first_ms INTEGER,
            last_ms INTEGER,
            status TEXT NOT NULL CHECK (status IN ('open', 'closed')),
            hash TEXT NOT NULL,
            body TEXT NOT NULL,
            run_id INTEGER NOT NULL REFERENCES runs (id),
            updated_run INTEGER NOT NULL REFERENCES runs (id)
          );
          CREATE INDEX ${table}_time ON ${table} (first_ms);
          CREATE INDEX ${table}_severity ON ${table} (severity);
          CREATE TABLE ${one}_revisions (
            id INTEGER PRIMARY KEY,
            ${one}_id TEXT NOT NULL,
            run_id INTEGER NOT NULL REFERENCES runs (id),
            change TEXT NOT NULL CHECK (change IN ('opened', 'updated', 'closed', 'reopened')),
            severity_before TEXT,
            severity_after TEXT,
            reason TEXT NOT NULL
          );
          CREATE INDEX ${one}_revisions_id ON ${one}_revisions (${one}_id);
        `);
      }
      db.exec(`
        CREATE TABLE retention_log (
          id INTEGER PRIMARY KEY,
          run_id INTEGER NOT NULL REFERENCES runs (id),
          cutoff TEXT NOT NULL,
          operations INTEGER NOT NULL,
          records INTEGER NOT NULL,
          first_time TEXT,
          last_time TEXT
        );
      `);
    },
  },
  {
    version: 4,
    description: "the records each alert and incident rests on, kept through retention",
    up(db) {
      db.exec(`
        CREATE TABLE evidence (
          finding_id TEXT NOT NULL,
          record_key TEXT NOT NULL,
          PRIMARY KEY (finding_id, record_key)
        ) WITHOUT ROWID;
        CREATE INDEX evidence_record ON evidence (record_key);
      `);
    },
  },
  {
    version: 5,
    description:
      "the learned baseline (profiles per account and VM), its learning runs, accepted alerts",
    up(db) {
      db.exec(`
        CREATE TABLE baseline (
          id INTEGER PRIMARY KEY CHECK (id = 1),
          run_id INTEGER NOT NULL REFERENCES runs (id),
          learned_at TEXT NOT NULL,
          body TEXT NOT NULL
        );
        CREATE TABLE baseline_profiles (
          kind TEXT NOT NULL CHECK (kind IN ('account', 'vm')),
          subject TEXT NOT NULL,
          body TEXT NOT NULL,
          PRIMARY KEY (kind, subject)
        ) WITHOUT ROWID;
        CREATE TABLE baseline_runs (
          id INTEGER PRIMARY KEY,
          run_id INTEGER NOT NULL REFERENCES runs (id),
          learned_at TEXT NOT NULL,
          from_ms INTEGER,
          to_ms INTEGER,
          operations INTEGER NOT NULL,
          excluded_operations INTEGER NOT NULL,
          excluded_alerts INTEGER NOT NULL,
          accounts INTEGER NOT NULL,
          vms INTEGER NOT NULL
        );
        CREATE TABLE baseline_accepted (
          alert_id TEXT PRIMARY KEY,
          accepted_at TEXT NOT NULL,
          note TEXT NOT NULL DEFAULT ''
        ) WITHOUT ROWID;
      `);
    },
  },
  {
    version: 6,
    description:
      "operations and records indexed in the order they are read back (time, then id or key): no sort of a whole table in memory",
    up(db) {
      db.exec(`
        CREATE INDEX operations_time_id ON operations (time_ms, id);
        DROP INDEX operations_time;
        CREATE INDEX records_time_key ON records (time_ms, key);
        DROP INDEX records_time;
      `);
    },
  },
  {
    version: 7,
    description:
      "guestops serve: the frame spool, processing and delivery cursors, the alert event log, triage, API tokens, dead letters",
    up(db) {
      db.exec(`
        CREATE TABLE IF NOT EXISTS spool (
          id INTEGER PRIMARY KEY AUTOINCREMENT,
          rx_ms INTEGER NOT NULL,
          listener TEXT NOT NULL,
          peer TEXT NOT NULL,
          frame BLOB NOT NULL
        );
        CREATE TABLE IF NOT EXISTS serve_cursors (
          name TEXT PRIMARY KEY,
          value INTEGER NOT NULL
        ) WITHOUT ROWID;
        CREATE TABLE IF NOT EXISTS serve_events (
          id INTEGER PRIMARY KEY AUTOINCREMENT,
          at_ms INTEGER NOT NULL,
          kind TEXT NOT NULL CHECK (kind IN ('alert', 'incident')),
          finding_id TEXT NOT NULL,
          change TEXT NOT NULL,
          body TEXT NOT NULL
        );
        CREATE INDEX IF NOT EXISTS serve_events_finding ON serve_events (finding_id);
        CREATE TABLE IF NOT EXISTS triage (
          finding_id TEXT PRIMARY KEY,
          status TEXT NOT NULL CHECK (status IN ('new', 'acknowledged', 'closed')),
          assignee TEXT,
          reason TEXT,
          updated_ms INTEGER NOT NULL,
          revision INTEGER NOT NULL
        ) WITHOUT ROWID;
        CREATE TABLE IF NOT EXISTS triage_revisions (
          id INTEGER PRIMARY KEY,
          finding_id TEXT NOT NULL,
          revision INTEGER NOT NULL,
          at_ms INTEGER NOT NULL,
          actor TEXT NOT NULL,
          action TEXT NOT NULL,
          status TEXT NOT NULL,
          assignee TEXT,
          reason TEXT
        );
        CREATE INDEX IF NOT EXISTS triage_revisions_finding ON triage_revisions (finding_id);
        CREATE TABLE IF NOT EXISTS api_tokens (
          id INTEGER PRIMARY KEY,
          name TEXT NOT NULL UNIQUE,
          role TEXT NOT NULL CHECK (role IN ('viewer', 'analyst')),
          hash TEXT NOT NULL UNIQUE,
          created_ms INTEGER NOT NULL,
          revoked_ms INTEGER
        );
        CREATE TABLE IF NOT EXISTS dead_letters (
          id INTEGER PRIMARY KEY,
          output TEXT NOT NULL,
          event_id INTEGER NOT NULL,
          at_ms INTEGER NOT NULL,
          attempts INTEGER NOT NULL,
          error TEXT NOT NULL,
          body TEXT NOT NULL
        );
      `);
    },
  },
  // the body lives with the code that writes the runs: renumbering it is this one line
  { version: 8, ...KEY_RUNS_MIGRATION },
  {
    version: 9,
    description:
      "guestops serve: exceptions made from the dashboard (owner, ticket, expiry, who and when, revocation) and the alerts they covered whole",
    up(db) {
      db.exec(`
        CREATE TABLE IF NOT EXISTS exceptions (
          id INTEGER PRIMARY KEY AUTOINCREMENT,
          alert_id TEXT,
          rules TEXT NOT NULL,
          account TEXT NOT NULL,
          vm TEXT NOT NULL,
          owner TEXT NOT NULL,
          ticket TEXT NOT NULL,
          expires_ms INTEGER NOT NULL,
          reason TEXT,
          created_by TEXT NOT NULL,
          created_ms INTEGER NOT NULL,
          revoked_by TEXT,
          revoked_ms INTEGER
        );
        CREATE TABLE IF NOT EXISTS excepted_alerts (
          alert_id TEXT PRIMARY KEY,
          at_ms INTEGER NOT NULL,
          body TEXT NOT NULL
        ) WITHOUT ROWID;
      `);
    },
  },
];

export const SCHEMA_VERSION = MIGRATIONS.length;

/** The schema version of `db` (0 for a new file). */
export const schemaVersion = (db: Database): number =>
  db.pragma("user_version", { simple: true }) as number;

/** Applies the migrations after the database's version, up to `target` (default: the latest). */
export function migrate(db: Database, target: number = SCHEMA_VERSION): number {
  let version = schemaVersion(db);
  for (const migration of MIGRATIONS) {
    if (migration.version <= version || migration.version > target) continue;
    db.transaction(() => {
      migration.up(db);
      db.pragma(`user_version = ${migration.version}`);
    }).immediate();
    version = migration.version;
  }
  return version;
}

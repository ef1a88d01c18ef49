import assert from "node:assert/strict";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, describe, it } from "node:test";
import BetterSqlite3 from "better-sqlite3";
import { isGuestOpsError } from "../shared/errors.js";
import { KEY_RUNS_MIGRATION } from "./key-runs.js";
import { MIGRATIONS, SCHEMA_VERSION, schemaVersion } from "./migrations.js";
import { defaultDbPath, openStore } from "./open.js";

const dir = mkdtempSync(join(tmpdir(), "guestops-migrations-"));
after(() => rmSync(dir, { recursive: true, force: true }));
let n = 0;
const file = (): string => join(dir, `m${++n}.db`);

const tables = (db: BetterSqlite3.Database): string[] =>
  (
    db.prepare(`SELECT name FROM sqlite_master WHERE type = 'table' ORDER BY name`).all() as {
      name: string;
    }[]
  ).map((r) => r.name);

/** A store at version 1 holding one run, one input and one record. */
function atV1(): string {
  const path = file();
  const store = openStore(path, { version: 1 });
  store.db.exec(`
    INSERT INTO runs (id, command, args, version, started, status) VALUES (1, 'ingest', '[]', '0', '2026-01-01T00:00:00Z', 'done');
    INSERT INTO inputs (id, path, sha256, status, run_id, read_at) VALUES (1, 'hostd.log', 'ab', 'done', 1, '2026-01-01T00:00:00Z');
    INSERT INTO records (key, type, kind, time_ms, input_id, line, run_id, body) VALUES ('k1', 'observation', 'hostd.event', 5, 1, 1, 1, '{}');
  `);
  store.close();
  return path;
}

describe("store migrations", () => {
  it("are numbered 1..N without gaps", () => {
    assert.deepEqual(
      MIGRATIONS.map((m) => m.version),
      Array.from({ length: SCHEMA_VERSION }, (_, i) => i + 1),
    );
  });

  it("1: a new file gets runs, inputs, records and pending, WAL journal", () => {
    const store = openStore(file(), { version: 1 });
    assert.equal(schemaVersion(store.db), 1);
    assert.deepEqual(tables(store.db), ["inputs", "pending", "records", "runs"]);
    assert.equal(store.db.pragma("journal_mode", { simple: true }), "wal");
    store.close();
  });

  it("2: a version-1 store with data gains operations, revisions and coverage, data kept", () => {
    const path = atV1();
    const store = openStore(path, { version: 2 });
    assert.equal(schemaVersion(store.db), 2);
    assert.ok(tables(store.db).includes("operations"));
    assert.ok(tables(store.db).includes("operation_revisions"));
    assert.ok(tables(store.db).includes("coverage"));
    assert.deepEqual(store.db.prepare(`SELECT key, input_id FROM records`).all(), [
      { key: "k1", input_id: 1 },
    ]);
    store.db
      .prepare(
        `INSERT INTO operations (id, level, api, hash, body, run_id, updated_run) VALUES ('o1', 'unknown', 'x', 'h', '{}', 1, 1)`,
      )
      .run();
    store.close();
  });

  it("3: a version-2 store with operations gains alerts, incidents and the retention log, data kept", () => {
    const path = atV1();
    openStore(path, { version: 2 }).close();
    const v2 = openStore(path, { version: 2 });
    v2.db
      .prepare(
        `INSERT INTO operations (id, level, api, hash, body, run_id, updated_run) VALUES ('o1', 'unknown', 'x', 'h', '{}', 1, 1)`,
      )
      .run();
    v2.close();
    const store = openStore(path, { version: 3 });
    assert.equal(schemaVersion(store.db), 3);
    for (const t of [
      "alerts",
      "alert_revisions",
      "incidents",
      "incident_revisions",
      "retention_log",
    ]) {
      assert.ok(tables(store.db).includes(t), t);
    }
    assert.deepEqual(store.db.prepare(`SELECT id, level FROM operations`).all(), [
      { id: "o1", level: "unknown" },
    ]);
    assert.equal(
      (store.db.prepare(`SELECT count(*) AS n FROM records`).get() as { n: number }).n,
      1,
    );
    store.close();
  });

  it("4: a version-3 store with alerts gains the evidence table, alerts kept", () => {
    const path = atV1();
    const v3 = openStore(path, { version: 3 });
    v3.db
      .prepare(
        `INSERT INTO alerts (id, severity, first_ms, status, hash, body, run_id, updated_run) VALUES ('al-1', 'high', 5, 'open', 'h', '{}', 1, 1)`,
      )
      .run();
    v3.close();
    const store = openStore(path, { version: 4 });
    assert.equal(schemaVersion(store.db), 4);
    assert.ok(tables(store.db).includes("evidence"));
    store.db.prepare(`INSERT INTO evidence (finding_id, record_key) VALUES ('al-1', 'k1')`).run();
    assert.deepEqual(store.db.prepare(`SELECT id, status FROM alerts`).all(), [
      { id: "al-1", status: "open" },
    ]);
    store.close();
  });

  it("5: a version-4 store gains the baseline tables, alerts kept", () => {
    const path = atV1();
    openStore(path, { version: 4 }).close();
    const store = openStore(path, { version: 5 });
    assert.equal(schemaVersion(store.db), 5);
    for (const t of ["baseline", "baseline_profiles", "baseline_runs", "baseline_accepted"]) {
      assert.ok(tables(store.db).includes(t), t);
    }
    store.close();
  });

  it("6: a version-5 store with operations reads them back in order through an index, not a sort", () => {
    const path = atV1();
    const old = openStore(path, { version: 5 });
    old.db
      .prepare(
        `INSERT INTO operations (id, time_ms, level, api, hash, body, run_id, updated_run)
         VALUES (?, ?, 'unknown', 'StartProgramInGuest', 'h', '{}', 1, 1)`,
      )
      .run("op-1", 5);
    old.close();
    const store = openStore(path, { version: 6 });
    assert.equal(schemaVersion(store.db), 6);
    const plan = (sql: string): string =>
      (store.db.prepare(`EXPLAIN QUERY PLAN ${sql}`).all() as { detail: string }[])
        .map((r) => r.detail)
        .join("; ");
    for (const sql of [
      `SELECT body FROM operations WHERE time_ms >= 0 AND time_ms < 10 ORDER BY time_ms, id`,
      `SELECT body FROM operations WHERE time_ms IS NOT NULL ORDER BY time_ms, id`,
      `SELECT body FROM records WHERE time_ms BETWEEN 0 AND 10 ORDER BY time_ms, key`,
    ]) {
      assert.doesNotMatch(plan(sql), /TEMP B-TREE/, sql);
    }
    assert.equal(
      (store.db.prepare(`SELECT count(*) AS n FROM operations`).get() as { n: number }).n,
      1,
    );
    store.close();
  });

  it("7: a version-6 store gains the live receiver's spool, cursors, event log, triage and tokens", () => {
    const path = atV1();
    openStore(path, { version: 6 }).close();
    const store = openStore(path, { version: 7 });
    assert.equal(schemaVersion(store.db), 7);
    for (const t of [
      "spool",
      "serve_cursors",
      "serve_events",
      "triage",
      "api_tokens",
      "dead_letters",
    ]) {
      assert.ok(tables(store.db).includes(t), t);
    }
    assert.equal(
      (store.db.prepare(`SELECT count(*) AS n FROM records`).get() as { n: number }).n,
      1,
    );
    store.close();
  });

  // its number is wherever migrations.ts puts it (another migration may come before it)
  const keyRuns = MIGRATIONS.find((m) => m.up === KEY_RUNS_MIGRATION.up)?.version ?? 0;
  it(`${keyRuns}: the store before it gains vCenter key runs and logging records, data kept`, () => {
    assert.ok(keyRuns > 1);
    const path = atV1();
    openStore(path, { version: keyRuns - 1 }).close();
    const store = openStore(path, { version: keyRuns });
    assert.equal(schemaVersion(store.db), keyRuns);
    for (const t of ["vcenter_key_runs", "logging_records"]) {
      assert.ok(tables(store.db).includes(t), t);
    }
    // one row per run, two runs of one vCenter cannot start at the same key, nor end before it
    const run = (lo: number, hi: number) =>
      store.db
        .prepare(
          `INSERT INTO vcenter_key_runs (vcenter, lo, hi, label, lo_input, lo_line, hi_input, hi_line, run_id)
           VALUES ('vcsa01.lab', ?, ?, 'vcsa01.lab', 1, 1, 1, 2, 1)`,
        )
        .run(lo, hi);
    run(10, 20);
    assert.throws(() => run(10, 30), /UNIQUE|PRIMARY/);
    assert.throws(() => run(40, 39), /CHECK/);
    assert.equal(
      (store.db.prepare(`SELECT count(*) AS n FROM records`).get() as { n: number }).n,
      1,
    );
    store.close();
  });

  it("9: a version-8 store with serve's triage gains the exceptions and the excepted alerts, data kept", () => {
    const path = atV1();
    const v8 = openStore(path, { version: 8 });
    v8.db
      .prepare(
        `INSERT INTO triage (finding_id, status, updated_ms, revision) VALUES ('al-1', 'acknowledged', 5, 1)`,
      )
      .run();
    v8.close();
    const store = openStore(path, { version: 9 });
    assert.equal(schemaVersion(store.db), 9);
    for (const t of ["exceptions", "excepted_alerts"]) assert.ok(tables(store.db).includes(t), t);
    store.db
      .prepare(
        `INSERT INTO exceptions (rules, account, vm, owner, ticket, expires_ms, created_by, created_ms)
         VALUES ('["outside-hours"]', 'corp\\alice', 'app01', 'carol', 'SEC-1', 10, 'local', 5)`,
      )
      .run();
    assert.deepEqual(store.db.prepare(`SELECT finding_id, status FROM triage`).all(), [
      { finding_id: "al-1", status: "acknowledged" },
    ]);
    store.close();
  });

  it("refuses a store from a newer guestops and a file that is not a store", () => {
    const path = file();
    const raw = new BetterSqlite3(path);
    raw.pragma(`user_version = ${SCHEMA_VERSION + 1}`);
    raw.close();
    assert.throws(
      () => openStore(path),
      (e) => isGuestOpsError(e) && /newer/.test(e.message),
    );
    const junk = join(dir, "junk.db");
    writeFileSync(
      junk,
      "not a database, just text long enough to be read as a header\n".repeat(20),
    );
    assert.throws(
      () => openStore(junk),
      (e) => isGuestOpsError(e) && e.code === "ERR_STORE",
    );
  });
});

describe("the default store location", () => {
  it("is GUESTOPS_DB, else XDG_DATA_HOME/guestops, else ~/.local/share/guestops", () => {
    assert.equal(defaultDbPath({ GUESTOPS_DB: "/x/y.db", XDG_DATA_HOME: "/d" }), "/x/y.db");
    assert.equal(defaultDbPath({ XDG_DATA_HOME: "/d" }), join("/d", "guestops", "guestops.db"));
    assert.equal(
      defaultDbPath({ HOME: "/home/u" }),
      join("/home/u", ".local", "share", "guestops", "guestops.db"),
    );
  });
});

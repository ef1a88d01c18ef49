import assert from "node:assert/strict";
import { appendFileSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { gzipSync } from "node:zlib";
import { after, describe, it } from "node:test";
import { attributeInputs, analyze } from "../pipeline.js";
import { loadPolicy } from "../policy/load.js";
import { run } from "../cli/run.js";
import { fakeIo } from "../../test/helpers/cli.js";
import { openStore, type Store } from "./open.js";
import { ingestIntoStore } from "./ingest.js";
import { dumpStore } from "./dump.js";
import { analyzeWithStore } from "./answer.js";
import { storedFindings } from "./alerts.js";

const root = process.cwd();
const example = (p: string): string => join(root, "examples/logs", p);
const HOST_SIDE = [example("esx01"), example("esx02"), example("syslog/esxi-hosts.log")];
const VCENTER_SIDE = [example("vcsa01"), example("syslog/vcsa01-events.log")];
const policy = loadPolicy(join(root, "examples/policy.yaml"));

const dir = mkdtempSync(join(tmpdir(), "guestops-store-"));
after(() => rmSync(dir, { recursive: true, force: true }));
let n = 0;
const fresh = (): Store => openStore(join(dir, `s${++n}.db`));

async function statelessIds(paths: readonly string[]): Promise<string[]> {
  const { correlated } = await attributeInputs({ paths });
  return correlated.operations.map((o) => o.id).sort();
}

describe("the store", () => {
  it("holds the operations a stateless run gives, and reading the same files again adds nothing", async () => {
    const store = fresh();
    const paths = [...HOST_SIDE, ...VCENTER_SIDE];
    const first = await ingestIntoStore(store.db, { paths });
    assert.ok(first.records.added > 200);
    assert.equal(first.records.added, first.records.read);
    const before = dumpStore(store.db);
    assert.deepEqual(before.operationIds, await statelessIds(paths));
    const again = await ingestIntoStore(store.db, { paths });
    assert.equal(again.records.added, 0);
    assert.equal(again.skipped.length, first.read.totals.files);
    assert.deepEqual(dumpStore(store.db), before);
    store.close();
  });

  it("a grown log adds only its new lines; the same lines rotated into a .gz under another name add none", async () => {
    const text = readFileSync(example("syslog/esxi-hosts.log"), "utf8");
    const lines = text.split("\n");
    const half = lines.slice(0, Math.floor(lines.length / 2)).join("\n") + "\n";
    const log = join(dir, "hosts.log");
    writeFileSync(log, half);
    const store = fresh();
    const a = await ingestIntoStore(store.db, { paths: [log] });
    appendFileSync(log, text.slice(half.length));
    const b = await ingestIntoStore(store.db, { paths: [log] });
    assert.equal(b.records.read, a.records.added + b.records.added);
    assert.ok(b.records.added > 0 && a.records.added > 0);
    const grown = dumpStore(store.db);
    // the whole log under another name, compressed: same content keys, nothing new
    const rotated = join(dir, "hosts.0.gz");
    writeFileSync(rotated, gzipSync(text));
    const c = await ingestIntoStore(store.db, { paths: [rotated] });
    assert.equal(c.records.added, 0);
    assert.equal(c.records.read, b.records.read);
    assert.deepEqual(dumpStore(store.db), grown);
    // and the ids are those of reading the whole file in one go, statelessly, from any name
    assert.deepEqual(grown.operationIds, await statelessIds([rotated]));
    assert.deepEqual(await statelessIds([log]), await statelessIds([rotated]));
    store.close();
  });

  it("late vCenter evidence amends stored operations with revisions, never silently", async () => {
    const store = fresh();
    await ingestIntoStore(store.db, { paths: HOST_SIDE });
    const levels = new Map(
      (
        store.db.prepare(`SELECT id, level FROM operations`).all() as {
          id: string;
          level: string;
        }[]
      ).map((r) => [r.id, r.level]),
    );
    const late = await ingestIntoStore(store.db, { paths: VCENTER_SIDE });
    assert.ok(late.attribution.updated > 0);
    const revisions = store.db
      .prepare(
        `SELECT r.operation_id, r.level_before, r.level_after, r.change, r.reason, i.path FROM operation_revisions r
         LEFT JOIN inputs i ON i.id = r.input_id WHERE r.run_id = ? AND r.change = 'updated'`,
      )
      .all(late.runId) as {
      operation_id: string;
      level_before: string;
      level_after: string;
      reason: string;
      path: string | null;
    }[];
    assert.equal(revisions.length, late.attribution.updated);
    const raised = revisions.filter((r) => r.level_before !== "exact" && r.level_after === "exact");
    assert.ok(raised.length > 0, "some operation became exact");
    for (const r of raised) {
      assert.equal(levels.get(r.operation_id), r.level_before);
      assert.ok(r.path && /vcsa01/.test(r.path), `revision names the vCenter input: ${r.path}`);
    }
    // the store ends where one clean run over everything ends
    const clean = fresh();
    await ingestIntoStore(clean.db, { paths: [...HOST_SIDE, ...VCENTER_SIDE] });
    const a = dumpStore(store.db);
    const b = dumpStore(clean.db);
    assert.deepEqual(a.operationIds, b.operationIds);
    assert.equal(a.recordKeys, b.recordKeys);
    store.close();
    clean.close();
  });

  it("scan --db stores alert revisions as evidence arrives and answers what a stateless scan does", async () => {
    const file = join(dir, `scan${++n}.db`);
    await analyzeWithStore(file, { paths: HOST_SIDE, policy });
    const all = await analyzeWithStore(file, { paths: VCENTER_SIDE, policy });
    const stateless = await analyze({ paths: [...HOST_SIDE, ...VCENTER_SIDE], policy });
    const ids = (xs: readonly { id: string }[]) => xs.map((x) => x.id).sort();
    assert.deepEqual(ids(all.detection.alerts), ids(stateless.detection.alerts));
    const store = openStore(file);
    assert.deepEqual(ids(storedFindings(store.db, "alerts")), ids(stateless.detection.alerts));
    const changes = store.db
      .prepare(`SELECT change, count(*) AS n FROM alert_revisions GROUP BY change`)
      .all() as { change: string; n: number }[];
    assert.ok(changes.some((c) => c.change === "opened"));
    assert.ok(
      changes.some((c) => c.change !== "opened"),
      `late evidence changed or closed some alert: ${JSON.stringify(changes)}`,
    );
    store.close();
  });

  it("retention removes old operations and logs what it removed", async () => {
    const store = fresh();
    const all = await ingestIntoStore(store.db, { paths: [...HOST_SIDE, ...VCENTER_SIDE] });
    const times = (
      store.db.prepare(`SELECT time_ms FROM operations ORDER BY time_ms`).all() as {
        time_ms: number;
      }[]
    ).map((r) => r.time_ms);
    const middle = times[Math.floor(times.length / 2)] ?? 0;
    const day = 86_400_000;
    const r = await ingestIntoStore(store.db, {
      paths: HOST_SIDE,
      retentionMs: day,
      now: middle + day,
    });
    const older = times.filter((t) => t < middle).length;
    assert.equal(r.retention?.operations, older);
    assert.ok(older > 0);
    const left = (store.db.prepare(`SELECT count(*) AS n FROM operations`).get() as { n: number })
      .n;
    assert.equal(left, all.attribution.created - older);
    const log = store.db.prepare(`SELECT * FROM retention_log`).all() as {
      run_id: number;
      operations: number;
    }[];
    assert.deepEqual(
      log.map((l) => [l.run_id, l.operations]),
      [[r.runId, older]],
    );
    store.close();
  });

  it("retention keeps the records alerts rest on", async () => {
    const file = join(dir, `keep${++n}.db`);
    const scanned = await analyzeWithStore(file, {
      paths: [...HOST_SIDE, ...VCENTER_SIDE],
      policy,
    });
    assert.ok(scanned.detection.alerts.length > 0);
    const store = openStore(file);
    const r = await ingestIntoStore(store.db, {
      paths: HOST_SIDE,
      retentionMs: 3_600_000,
      now: Date.parse("2100-01-01T00:00:00Z"),
    });
    assert.equal(r.retention?.operations, scanned.inTimeRange);
    const count = (sql: string): number => (store.db.prepare(sql).get() as { n: number }).n;
    assert.equal(count(`SELECT count(*) AS n FROM operations`), 0);
    const kept = count(`SELECT count(DISTINCT record_key) AS n FROM evidence`);
    assert.ok(kept > 0);
    assert.equal(count(`SELECT count(*) AS n FROM records`), kept);
    assert.equal(storedFindings(store.db, "alerts").length, scanned.detection.alerts.length);
    store.close();
  });

  it("guestops ingest prints what was new and what was known; events --db lists the store", async () => {
    const db = join(dir, "cli.db");
    const { io, out } = fakeIo(root);
    assert.equal(await run(["ingest", "examples/logs/syslog", "--db", db], io), 0);
    assert.match(out.join("\n"), /esxi-hosts\.log: \d+ record\(s\), \d+ new, 0 already known/);
    const second = fakeIo(root);
    assert.equal(await run(["ingest", "examples/logs/syslog", "--db", db], second.io), 0);
    assert.match(second.out.join("\n"), /already in the store/);
    assert.match(second.out.join("\n"), /records: 0 read, 0 new/);
    const events = fakeIo(root);
    const env = { ...events.io, env: { GUESTOPS_DB: db } };
    assert.equal(await run(["events", "examples/logs/vcsa01", "--format", "ndjson"], env), 0);
    const listed = events.out.join("\n").split("\n").filter(Boolean).length;
    assert.equal(listed, (await statelessIds([example("syslog"), example("vcsa01")])).length);
    const bad = fakeIo(root);
    assert.equal(
      await run(["ingest", "examples/logs/syslog", "--db", db, "--retention", "soon"], bad.io),
      2,
    );
  });
});

import assert from "node:assert/strict";
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { after, describe, it } from "node:test";
import type { Database } from "better-sqlite3";
import { attributeInputs } from "../pipeline.js";
import { generateEstate } from "../attribute/fixtures/estate.js";
import { writeEstate } from "../../test/helpers/estate.js";
import { openStore } from "./open.js";
import { ingestIntoStore } from "./ingest.js";
import { dumpStore } from "./dump.js";
import { type AttributionPath, CHUNK_MS, observationMarginMs } from "./operations.js";
import { DEFAULT_WINDOWS } from "../attribute/correlate.js";

const root = process.cwd();
const example = (p: string): string => join(root, "examples/logs", p);
const HOST_SIDE = [example("esx01"), example("esx02"), example("syslog/esxi-hosts.log")];
const VCENTER_SIDE = [example("vcsa01"), example("syslog/vcsa01-events.log")];
const HOUR = 3_600_000;

const dir = mkdtempSync(join(tmpdir(), "guestops-chunks-"));
after(() => rmSync(dir, { recursive: true, force: true }));
let n = 0;

/** Four generated 10-hour estates, 20 hours apart (about 70 hours), as host side and vCenter side. */
function writeDays(): { hostSide: string[]; vcenterSide: string[]; operations: number } {
  const out = join(dir, "estate");
  const hostSide: string[] = [];
  const vcenterSide: string[] = [];
  let operations = 0;
  for (let day = 0; day < 4; day++) {
    const estate = generateEstate({
      seed: 7 + day,
      hosts: 3,
      vmsPerHost: 4,
      runs: 60,
      directShare: 0.05,
      maxSkewMs: 1500,
      start: new Date(Date.parse("2024-06-10T07:00:00.000Z") + day * 20 * HOUR).toISOString(),
    });
    operations += estate.truth.length;
    const write = (name: string, text: string): string => {
      const path = join(out, `part${day}`, name);
      mkdirSync(dirname(path), { recursive: true });
      writeFileSync(path, text);
      return path;
    };
    for (const file of estate.files.hostd) hostSide.push(write(file.name, file.text));
    vcenterSide.push(write(estate.files.vcEvents.name, estate.files.vcEvents.text));
    vcenterSide.push(write(estate.files.vpxd.name, estate.files.vpxd.text));
  }
  return { hostSide, vcenterSide, operations };
}

/** Everything a run leaves that chunking must not change: operations, their fields and their revisions. */
function snapshot(db: Database): unknown {
  return {
    dump: dumpStore(db),
    operations: db
      .prepare(`SELECT id, time_ms, level, principal, hash FROM operations ORDER BY id`)
      .all(),
    revisions: db
      .prepare(
        `SELECT operation_id, change, level_before, level_after, principal_before, principal_after,
           reason, related, input_id
         FROM operation_revisions
         ORDER BY operation_id, change, reason, related, level_before, level_after`,
      )
      .all(),
  };
}

/**
 * Ingests the batches in order with chunks of `chunkMs` (`attribution: "chunks"`: every span in
 * chunks, even one no operation is stored in; `auto`, that span streamed); the store's snapshot
 * and the attribution reports.
 */
async function ingestAll(
  batches: readonly (readonly string[])[],
  chunkMs: number,
  chunkRecords: number = Number.POSITIVE_INFINITY,
  attribution: AttributionPath = "chunks",
): Promise<{ state: unknown; reports: unknown[] }> {
  const store = openStore(join(dir, `c${++n}.db`));
  const reports: unknown[] = [];
  for (const paths of batches) {
    const report = await ingestIntoStore(store.db, { paths, chunkMs, chunkRecords, attribution });
    const { recordsLoaded: _loaded, ...counts } = report.attribution;
    void _loaded;
    reports.push(counts);
  }
  const state = snapshot(store.db);
  store.close();
  return { state, reports };
}

describe("chunked re-attribution", () => {
  it("the observation margin comes from the join windows", () => {
    assert.equal(CHUNK_MS, 24 * HOUR);
    // longest join 1 h + vCenter skew, twice, plus the session chain
    assert.equal(observationMarginMs(DEFAULT_WINDOWS), 2 * (HOUR + 10_000) + HOUR);
    assert.equal(
      observationMarginMs({ ...DEFAULT_WINDOWS, sameOpId: 2 * HOUR, sessionChain: 30 * 60_000 }),
      2 * (2 * HOUR + 10_000) + 30 * 60_000,
    );
  });

  it("rejects a chunk size that is not positive", async () => {
    const store = openStore(join(dir, `c${++n}.db`));
    await assert.rejects(
      ingestIntoStore(store.db, { paths: [example("esx01")], chunkMs: 0 }),
      /chunk size/,
    );
    store.close();
  });

  it("a busy multi-day hostd estate gives the same store in 2 h chunks, day chunks and one pass", async () => {
    // four ESXi 8 hosts' hostd.log (no vCenter side), ~24k operations over 3 days
    const paths = writeEstate(join(dir, "hostd"), { hosts: 4, runs: 3400, days: 3 }).paths.filter(
      (p) => p.endsWith("hostd.log"),
    );
    assert.equal(paths.length, 4);
    const whole = await ingestAll([paths], Number.POSITIVE_INFINITY);
    const report = whole.reports[0] as { span: { from: number; to: number }; created: number };
    // about 3 days of operations, every few seconds: 2 h chunks cut through them
    assert.ok(report.span.to - report.span.from > 2 * 24 * HOUR);
    assert.ok(report.created > 20_000);
    assert.deepEqual(await ingestAll([paths], 2 * HOUR), whole);
    assert.deepEqual(await ingestAll([paths], CHUNK_MS), whole);
    // a busy stretch cut by its record count (3,000 a chunk: tens of chunks a day)
    assert.deepEqual(await ingestAll([paths], CHUNK_MS, 3_000), whole);
    // streamed through one correlator released by stream time (a span nothing is stored in)
    assert.deepEqual(await ingestAll([paths], CHUNK_MS, 3_000, "auto"), whole);
    // a second run over the whole span (a copy with more lines) settles the same way
    const half = paths.slice(0, 2);
    const rest = paths.slice(2);
    const split = await ingestAll([half, rest], Number.POSITIVE_INFINITY);
    assert.deepEqual(await ingestAll([half, rest], 2 * HOUR), split);
    // the first run streamed, the second (operations stored over its span) in chunks
    assert.deepEqual(
      await ingestAll([half, rest], 2 * HOUR, Number.POSITIVE_INFINITY, "auto"),
      split,
    );
  });

  it("estate days with vCenter events: chunks cut in quiet gaps give the store of one pass, and the correlator's operations on everything", async () => {
    const { hostSide, vcenterSide, operations } = writeDays();
    const all = [...hostSide, ...vcenterSide];
    // one ingest of everything, then host side first and vCenter side a run later (revisions)
    for (const batches of [[all], [hostSide, vcenterSide]]) {
      const whole = await ingestAll(batches, Number.POSITIVE_INFINITY);
      assert.deepEqual(await ingestAll(batches, 12 * HOUR), whole);
      assert.deepEqual(await ingestAll(batches, CHUNK_MS), whole);
      assert.deepEqual(await ingestAll(batches, CHUNK_MS, Number.POSITIVE_INFINITY, "auto"), whole);
      const dump = (whole.state as { dump: { operations: number } }).dump;
      assert.ok(dump.operations >= operations * 0.9, `${dump.operations} of ${operations}`);
    }
    // the stateless correlator over every record at once: same ids, levels, principals, content
    const { correlated } = await attributeInputs({ paths: all });
    const expected = correlated.operations
      .map((op) => ({
        id: op.id,
        level: op.attribution.level,
        principal: op.attribution.principal?.id ?? null,
      }))
      .sort((a, b) => (a.id < b.id ? -1 : a.id > b.id ? 1 : 0));
    const chunked = await ingestAll([all], 12 * HOUR);
    const stored = (
      chunked.state as { operations: { id: string; level: string; principal: string | null }[] }
    ).operations.map(({ id, level, principal }) => ({ id, level, principal }));
    assert.deepEqual(stored, expected);
    const levels = new Set(expected.map((e) => e.level));
    assert.ok(levels.has("exact") && levels.size > 1, [...levels].join(","));
  });

  it("examples/logs: 2 h chunks give the store of one pass, late vCenter evidence included", async () => {
    for (const batches of [[[...HOST_SIDE, ...VCENTER_SIDE]], [HOST_SIDE, VCENTER_SIDE]]) {
      const whole = await ingestAll(batches, Number.POSITIVE_INFINITY);
      assert.deepEqual(await ingestAll(batches, 2 * HOUR), whole);
      assert.deepEqual(await ingestAll(batches, 15 * 60_000), whole);
      assert.deepEqual(
        await ingestAll(batches, 15 * 60_000, Number.POSITIVE_INFINITY, "auto"),
        whole,
      );
    }
  });
});

describe("a streamed attribution cut after a committed step", () => {
  it("keeps what it committed, moves pending past it, and resumes to the store of one run", async () => {
    const { hostSide, vcenterSide } = writeDays();
    const all = [...hostSide, ...vcenterSide];
    const clean = openStore(join(dir, `c${++n}.db`));
    await ingestIntoStore(clean.db, { paths: all });
    const expected = snapshot(clean.db) as { dump: unknown; operations: unknown };
    clean.close();

    const store = openStore(join(dir, `c${++n}.db`));
    const steps: number[] = [];
    const crash = new Error("cut after the third step");
    await assert.rejects(
      ingestIntoStore(store.db, {
        paths: all,
        onAttributed: ({ storedTo }) => {
          steps.push(storedTo);
          if (steps.length === 3) throw crash;
        },
      }),
      (error) => error === crash,
    );
    const storedTo = steps[2] ?? Number.NaN;
    assert.ok(steps[0] !== undefined && steps[0] < storedTo, steps.join(","));
    // what the three steps stored is committed, and all of it starts before the last bound
    const stored = store.db
      .prepare(`SELECT count(*) AS n, max(time_ms) AS last FROM operations`)
      .get() as { n: number; last: number };
    assert.ok(stored.n > 0);
    assert.ok(stored.last < storedTo, `${stored.last} < ${storedTo}`);
    const pending = store.db.prepare(`SELECT min_ms FROM pending WHERE id = 1`).get() as {
      min_ms: number;
    };
    assert.equal(pending.min_ms, storedTo);

    // the next run reads nothing again and finishes the span: the store of one clean run, every
    // operation created once and never rewritten
    const resumed = await ingestIntoStore(store.db, { paths: all });
    assert.equal(resumed.records.added, 0);
    const got = snapshot(store.db) as { dump: unknown; operations: unknown };
    assert.deepEqual(got.dump, expected.dump);
    assert.deepEqual(got.operations, expected.operations);
    const changes = store.db
      .prepare(
        `SELECT change, count(*) AS n, count(DISTINCT operation_id) AS ops
         FROM operation_revisions GROUP BY change`,
      )
      .all() as { change: string; n: number; ops: number }[];
    assert.deepEqual(
      changes.map((c) => [c.change, c.n, c.ops]),
      [["created", stored.n + resumed.attribution.created, stored.n + resumed.attribution.created]],
    );
    assert.equal(
      stored.n + resumed.attribution.created,
      (expected.dump as { operations: number }).operations,
    );
    store.close();
  });
});

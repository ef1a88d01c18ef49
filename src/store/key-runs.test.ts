/**
 * vCenter event keys in the store as runs: a file of many consecutive keys adds one row, a late
 * input that fills a hole joins rows and removes the finding, an input read again changes no row,
 * retention drops whole runs, and coverage from the store gives the findings the files give.
 */
import assert from "node:assert/strict";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, describe, it } from "node:test";
import { gatherCoverage } from "../audit.js";
import { CoverageCollector } from "../coverage/collect.js";
import { readInputs } from "../ingest/read.js";
import { parsePolicy } from "../policy/load.js";
import { ingestIntoStore } from "./ingest.js";
import { keyRunCounts } from "./key-runs.js";
import { openStore, type Store } from "./open.js";
import { applyRetention } from "./retention.js";

const dir = mkdtempSync(join(tmpdir(), "guestops-key-runs-"));
after(() => rmSync(dir, { recursive: true, force: true }));
let n = 0;
const fresh = (): { store: Store; path: string } => {
  const path = join(dir, `k${++n}.db`);
  return { store: openStore(path), path };
};

const T0 = Date.parse("2026-03-02T00:00:00.000Z");
const iso = (ms: number): string => new Date(ms).toISOString();
/** A vCenter event guestops has no other use for, key `key`, at T0 + `s` seconds. */
const other = (key: number, s: number, vcenter = "vcsa01.lab"): string => {
  const at = iso(T0 + s * 1000);
  return `<14>1 ${at} ${vcenter} vpxd 58650 - -  Event [${key}] [1-1] [${at}] [vim.event.AlarmStatusChangedEvent] [info] [] [DC1] [${key}] [Alarm 'Host CPU usage' on esx-a.lab changed from Gray to Green]`;
};
const remoteFailure = (key: number, s: number): string => {
  const at = iso(T0 + s * 1000);
  return `<14>1 ${at} vcsa01.lab vpxd 58650 - -  Event [${key}] [1-1] [${at}] [vim.event.EventEx] [error] [] [DC1] [${key}] [The host "udp://10.0.0.5:514" has become unreachable. Remote logging to this host has stopped.]`;
};
/** Keys `from`..`to` (inclusive), one a second from `s0`. */
const keys = (from: number, to: number, s0 = from): string[] =>
  Array.from({ length: to - from + 1 }, (_, i) => other(from + i, s0 + i));
const file = (name: string, lines: readonly string[]): string => {
  const path = join(dir, name);
  writeFileSync(path, `${lines.join("\n")}\n`);
  return path;
};
const rows = (store: Store, table: string): number =>
  (store.db.prepare(`SELECT count(*) AS n FROM ${table}`).get() as { n: number }).n;

const policy = parsePolicy("sites: [{ name: s, zone: UTC }]\ncoverage: { gap: 1h }\n", {
  name: "p.yaml",
});
const fromStore = async (path: string) =>
  (await gatherCoverage({ db: path, paths: [], policy })).coverage;
const fromFiles = async (paths: readonly string[]) =>
  (await gatherCoverage({ paths, policy })).coverage;

describe("vCenter event keys in the store", () => {
  it("a file of many consecutive keys adds one row, and its continuation none", async () => {
    const { store } = fresh();
    const first = await ingestIntoStore(store.db, { paths: [file("a.log", keys(1, 20_000))] });
    assert.equal(first.records.read, 20_000);
    assert.equal(first.records.added, 20_000, "every key is new");
    assert.deepEqual(keyRunCounts(store.db), { runs: 1, keys: 20_000 });
    assert.equal(rows(store, "records"), 0, "no record row per event");
    assert.equal(rows(store, "logging_records"), 0, "nor a logging row");
    await ingestIntoStore(store.db, { paths: [file("b.log", keys(20_001, 45_000))] });
    assert.deepEqual(keyRunCounts(store.db), { runs: 1, keys: 45_000 });
    store.close();
  });

  it("the same keys read again (other bytes, other order) change no row", async () => {
    const { store } = fresh();
    await ingestIntoStore(store.db, { paths: [file("c.log", keys(100, 5_099))] });
    const before = store.db.prepare(`SELECT * FROM vcenter_key_runs`).all();
    const again = await ingestIntoStore(store.db, {
      paths: [file("c-reversed.log", keys(100, 5_099).reverse())],
    });
    assert.equal(again.records.read, 5_000);
    assert.equal(again.records.added, 0);
    assert.deepEqual(store.db.prepare(`SELECT * FROM vcenter_key_runs`).all(), before);
    store.close();
  });

  it("a hole is a finding with the lines around it; a late input that fills it removes it", async () => {
    const { store, path } = fresh();
    const early = file("early.log", [
      ...keys(1000, 1099),
      remoteFailure(1100 + 20, 1120),
      ...keys(1121, 1199),
    ]);
    await ingestIntoStore(store.db, { paths: [early] });
    assert.equal(keyRunCounts(store.db).runs, 2);
    assert.equal(rows(store, "logging_records"), 1, "the failure keeps its body");
    const holed = await fromStore(path);
    const gap = holed.findings.find((f) => f.kind === "vcenter-event-gap");
    assert.match(gap?.message ?? "", /20 event keys never received in 1 hole/);
    assert.match(gap?.message ?? "", /1100–1119/);
    assert.deepEqual(holed.vcenterKeys[0]?.listed[0]?.fromAt, { input: early, line: 100 });
    assert.deepEqual(holed.vcenterKeys[0]?.listed[0]?.toAt, { input: early, line: 101 });
    assert.ok(holed.findings.some((f) => f.kind === "remote-logging-failed"));

    const late = file("late.log", keys(1100, 1119));
    const filled = await ingestIntoStore(store.db, { paths: [late] });
    assert.equal(filled.records.added, 20);
    // 1000-1119 is one row; 1120 is the failure's, which has its own row with its body
    assert.equal(keyRunCounts(store.db).runs, 2, "the late run joined the one below it");
    assert.equal(keyRunCounts(store.db).keys, 199);
    const whole = await fromStore(path);
    assert.ok(!whole.findings.some((f) => f.kind === "vcenter-event-gap"));
    assert.equal(whole.vcenterKeys[0]?.missing, 0);
    assert.equal(whole.vcenterKeys[0]?.received, 200);
    assert.ok(whole.findings.some((f) => f.kind === "remote-logging-failed"));
    store.close();
  });

  it("coverage from the store gives the findings the files give (holes, silences, failures)", async () => {
    const { store, path } = fresh();
    const paths = [
      // a silence of three hours inside consecutive keys: vCenter quiet, no key lost
      file("one.log", [...keys(1, 500), ...keys(501, 900, 501 + 3 * 3600)]),
      file("two.log", [...keys(905, 1500, 905 + 3 * 3600), remoteFailure(1501, 1501 + 3 * 3600)]),
      file(
        "other-vc.log",
        keys(70, 90).map((_, i) => other(70 + i * 2, i, "vcsa02.lab")),
      ),
    ];
    await ingestIntoStore(store.db, { paths });
    const stored = await fromStore(path);
    const direct = await fromFiles(paths);
    const kinds = direct.findings
      .map((f) => f.kind)
      .filter((k) => k !== "source-absent")
      .sort();
    assert.deepEqual(kinds, [
      "remote-logging-failed",
      "silent-gap",
      "vcenter-event-gap",
      "vcenter-event-gap",
    ]);
    assert.deepEqual(stored.findings, direct.findings);
    assert.deepEqual(stored.vcenterKeys, direct.vcenterKeys);
    assert.deepEqual(stored.sources, direct.sources);
    assert.deepEqual(stored.loggingFailures, direct.loggingFailures);
    store.close();
  });

  it("retention drops the runs whose every key is older than the cutoff", async () => {
    const { store, path } = fresh();
    await ingestIntoStore(store.db, {
      paths: [file("old.log", keys(1, 100)), file("new.log", keys(200, 300, 10_000))],
    });
    assert.equal(keyRunCounts(store.db).runs, 2);
    const report = applyRetention(store.db, 1, T0 + 5_000 * 1000);
    assert.equal(report.records, 100, "its keys counted as records removed");
    assert.deepEqual(keyRunCounts(store.db), { runs: 1, keys: 101 });
    const after = await fromStore(path);
    assert.ok(!after.findings.some((f) => f.kind === "vcenter-event-gap"));
    store.close();
  });

  it("the light path (keys without records) gathers what the records give", async () => {
    const paths = [
      file("light.log", [
        ...keys(1, 300),
        ...keys(310, 400, 310 + 2 * 3600),
        remoteFailure(401, 9000),
      ]),
      file(
        "light-other.log",
        keys(5, 40).map((_, i) => other(5 + i * 3, i, "vcsa02.lab")),
      ),
    ];
    const viaRecords = new CoverageCollector(policy.coverage.gapMs);
    const recordsRead = await readInputs(paths, {}, { record: (r) => viaRecords.add(r) });
    const viaKeys = new CoverageCollector(policy.coverage.gapMs);
    let records = 0;
    const keysRead = await readInputs(
      paths,
      {},
      {
        record: (r) => {
          records++;
          viaKeys.add(r);
        },
        eventKey: (source, key, _time, ms, vcenter, line) =>
          viaKeys.addKey(source, key, ms, vcenter, line),
      },
    );
    assert.equal(records, 1, "only the forwarding failure is built as a record");
    assert.deepEqual(keysRead.totals, recordsRead.totals, "counted all the same");
    assert.deepEqual(
      viaKeys.snapshot(policy.coverage.gapMs),
      viaRecords.snapshot(policy.coverage.gapMs),
    );
  });
});

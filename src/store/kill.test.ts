import assert from "node:assert/strict";
import { mkdirSync, mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, describe, it } from "node:test";
import { writeEstate } from "../../test/helpers/estate.js";
import { ingestProcess } from "../../test/helpers/ingest-process.js";
import { mulberry32 } from "../../test/helpers/random.js";
import { dumpStore } from "./dump.js";
import { ingestIntoStore } from "./ingest.js";
import { openStore } from "./open.js";

const dir = mkdtempSync(join(tmpdir(), "guestops-kill-"));
after(() => rmSync(dir, { recursive: true, force: true }));

describe("a store killed at random points", { timeout: 240_000 }, () => {
  it("stays consistent and, resumed, ends equal to an uninterrupted run", async () => {
    const estate = join(dir, "estate");
    mkdirSync(estate);
    writeEstate(estate, { files: 4, opsPerFile: 4000, seed: 9 });
    const clean = openStore(join(dir, "clean.db"));
    await ingestIntoStore(clean.db, { paths: [estate] });
    const expected = dumpStore(clean.db);
    clean.close();
    assert.ok(expected.operations > 10_000);

    // how long one uninterrupted process takes here: the kills fall inside it
    const t0 = Date.now();
    assert.equal(await ingestProcess([estate, "--db", join(dir, "timing.db")]), "done");
    const full = Date.now() - t0;

    const rand = mulberry32(42);
    let killed = 0;
    const started = Date.now();
    for (let cycle = 0; cycle < 6 && Date.now() - started < 150_000; cycle++) {
      // a fresh store, killed twice at random points (the second time while resuming), then
      // resumed to the end: it must equal the uninterrupted run
      const db = join(dir, `killed-${cycle}.db`);
      for (let k = 0; k < 2; k++) {
        const delay = Math.round(full * (0.15 + 0.7 * rand()));
        if ((await ingestProcess([estate, "--db", db], delay)) === "killed") killed++;
        const check = openStore(db);
        assert.equal(check.db.pragma("integrity_check", { simple: true }), "ok");
        // no record is ever counted twice, whatever was cut
        const { n, keys } = check.db
          .prepare(`SELECT count(*) AS n, count(DISTINCT key) AS keys FROM records`)
          .get() as { n: number; keys: number };
        assert.equal(n, keys);
        check.close();
      }
      assert.equal(await ingestProcess([estate, "--db", db]), "done");
      const resumed = openStore(db);
      const got = dumpStore(resumed.db);
      resumed.close();
      assert.equal(got.records, expected.records, `cycle ${cycle}`);
      assert.equal(got.recordKeys, expected.recordKeys, `cycle ${cycle}`);
      assert.deepEqual(got.operationIds, expected.operationIds, `cycle ${cycle}`);
      assert.equal(got.operationHashes, expected.operationHashes, `cycle ${cycle}`);
    }
    assert.ok(killed >= 6, `killed ${killed} times`);
  });
});

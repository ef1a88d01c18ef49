/**
 * `kill -9` of `guestops ingest` while it merges vCenter event keys into their runs: the store stays
 * consistent (disjoint runs, integrity), and the input read again ends with the rows of a run that
 * was never interrupted.
 */
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, describe, it } from "node:test";
import { ingestProcess } from "../../test/helpers/ingest-process.js";
import { mulberry32 } from "../../test/helpers/random.js";
import { ingestIntoStore } from "./ingest.js";
import { openStore } from "./open.js";

const dir = mkdtempSync(join(tmpdir(), "guestops-key-runs-kill-"));
after(() => rmSync(dir, { recursive: true, force: true }));

/** The runs, without the run and input ids that differ between stores. */
function runsOf(path: string): unknown[] {
  const store = openStore(path);
  try {
    assert.equal(store.db.pragma("integrity_check", { simple: true }), "ok");
    const rows = store.db
      .prepare(
        `SELECT vcenter, lo, hi, lo_ms, hi_ms, first_ms, last_ms, lo_line, hi_line
         FROM vcenter_key_runs ORDER BY vcenter, lo`,
      )
      .all() as { vcenter: string; lo: number; hi: number }[];
    for (let i = 1; i < rows.length; i++) {
      const [a, b] = [rows[i - 1]!, rows[i]!];
      if (a.vcenter === b.vcenter) assert.ok(a.hi < b.lo, `runs overlap at ${a.hi}/${b.lo}`);
    }
    return rows;
  } finally {
    store.close();
  }
}

describe("vCenter key runs in a store killed mid-ingest", { timeout: 180_000 }, () => {
  it("stay disjoint, and the input read again ends as an uninterrupted run", async () => {
    const file = join(dir, "vcsa01-events.log");
    const gen = spawnSync(process.execPath, ["scripts/gen-vc-events.mjs", file, "300000", "7"]);
    assert.equal(gen.status, 0, String(gen.stderr));
    const clean = openStore(join(dir, "clean.db"));
    await ingestIntoStore(clean.db, { paths: [file] });
    clean.close();
    const expected = runsOf(join(dir, "clean.db"));
    assert.equal(expected.length, 8, "7 holes: 8 runs");

    const t0 = Date.now();
    assert.equal(await ingestProcess([file, "--db", join(dir, "timing.db")]), "done");
    const full = Date.now() - t0;

    const rand = mulberry32(7);
    let killed = 0;
    for (let cycle = 0; cycle < 3; cycle++) {
      const db = join(dir, `killed-${cycle}.db`);
      for (let k = 0; k < 2; k++) {
        const delay = Math.round(full * (0.3 + 0.6 * rand()));
        if ((await ingestProcess([file, "--db", db], delay)) === "killed") killed++;
        runsOf(db); // consistent at whatever point it was cut
      }
      assert.equal(await ingestProcess([file, "--db", db]), "done");
      assert.deepEqual(runsOf(db), expected, `cycle ${cycle}`);
    }
    assert.ok(killed >= 3, `killed ${killed} times`);
  });
});

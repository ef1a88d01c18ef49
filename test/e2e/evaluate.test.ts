/** `guestops simulate` then `guestops evaluate` as the CLI runs them. */
import assert from "node:assert/strict";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, describe, it } from "node:test";
import { run } from "../../src/cli/run.js";
import { fakeIo } from "../helpers/cli.js";

describe("guestops simulate and evaluate", () => {
  const dir = mkdtempSync(join(tmpdir(), "guestops-e2e-eval-"));
  after(() => rmSync(dir, { recursive: true, force: true }));

  it("simulates a fleet and scores it, as a table and as JSON", async () => {
    const sim = fakeIo(dir);
    const args = [
      "simulate",
      "--out",
      "sim",
      "--hosts",
      "2",
      "--vms",
      "8",
      "--days",
      "3",
      "--seed",
      "5",
    ];
    assert.equal(await run(args, sim.io), 0);
    assert.match(sim.out.join(""), /labelled operations/);
    const table = fakeIo(dir);
    const evalArgs = [
      "evaluate",
      "--truth",
      "sim/labels.ndjson",
      "--policy",
      "sim/policy.yaml",
      "sim/logs",
    ];
    assert.equal(await run(evalArgs, table.io), 0);
    assert.match(table.out.join(""), /All scenarios[\s\S]*precision/);
    const json = fakeIo(dir);
    assert.equal(
      await run([...evalArgs, "--format", "json", "--learn-until", "2026-03-17"], json.io),
      0,
    );
    const doc = JSON.parse(json.out.join("")) as {
      learning: { learned: boolean; until?: string; note: string };
      all: { operations: { labelled: number } };
    };
    // a baseline was learned from the day before T (a temporary store), too short to judge by
    assert.equal(doc.learning.learned, true);
    assert.match(doc.learning.note, /^learned \(as guestops learn --until 2026-03-1/);
    assert.ok(doc.learning.until?.startsWith("2026-03-1"));
    assert.ok(doc.all.operations.labelled > 0);
  });

  it("refuses a bad option with exit 2", async () => {
    const bad = fakeIo(dir);
    assert.equal(await run(["simulate", "--out", "x", "--hosts", "many"], bad.io), 2);
    const missing = fakeIo(dir);
    assert.equal(await run(["evaluate", "--truth", "nope.ndjson", "sim/logs"], missing.io), 2);
  });
});

/**
 * Batch and stream agree: the inputs read one after another with every record held to the end
 * (`correlate()`, then `detect()` over the whole set) give the operations and alerts that the
 * pipeline gives reading them side by side in stream time, releasing as the watermark moves and
 * feeding the incremental detector — whatever the order the inputs are given in. The estate spans
 * days, so many releases happen; its ground truth says who made each call.
 */
import assert from "node:assert/strict";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, describe, it } from "node:test";
import { correlate } from "../src/attribute/correlate.js";
import { detect } from "../src/detect/engine.js";
import { BUILTIN_RULES } from "../src/detect/registry.js";
import { readInputs, type InputHost } from "../src/ingest/read.js";
import type { Operation } from "../src/model/operation.js";
import type { CanonicalRecord } from "../src/model/record.js";
import { analyze, attributeInputs, RELEASE_STEP_MS, VpxdCoverage } from "../src/pipeline.js";
import { defaultPolicy } from "../src/policy/load.js";
import { writeEstate } from "./helpers/estate.js";

const hostsOf = (given: readonly string[]): InputHost[] =>
  given.map((h) => {
    const cut = h.lastIndexOf("=");
    return { path: h.slice(0, cut), host: h.slice(cut + 1) };
  });

/** What an operation is, as a reader of `events` sees it. */
const view = (op: Operation) => ({
  id: op.id,
  time: op.time,
  api: op.api,
  vm: op.vm.name,
  host: op.host,
  level: op.attribution.level,
  principal: op.attribution.principal?.id,
});

/** The records an operation rests on. */
const evidenceOf = (op: Operation): string =>
  [...op.observations, ...(op.sessions ?? [])]
    .map((r) => `${r.prov.source.path}:${r.prov.line}`)
    .join(" ");

describe("batch and stream", () => {
  const dir = mkdtempSync(join(tmpdir(), "guestops-stream-"));
  after(() => rmSync(dir, { recursive: true, force: true }));
  // 4 days: the watermark crosses RELEASE_STEP_MS many times
  const estate = writeEstate(dir, { hosts: 4, vmsPerHost: 3, runs: 500, days: 4, seed: 21 });
  const inputHosts = hostsOf(estate.inputHosts);

  async function batch(): Promise<{ operations: Operation[]; coverage: VpxdCoverage }> {
    const records: CanonicalRecord[] = [];
    const coverage = new VpxdCoverage();
    await readInputs(
      estate.paths,
      { inputHosts },
      {
        record: (r) => {
          records.push(r);
          coverage.add(r);
        },
      },
    );
    return { operations: [...correlate(records).operations], coverage };
  }

  it("give the same operations, attributed alike, with the inputs in any order", async () => {
    assert.ok(4 * 86_400_000 > 10 * RELEASE_STEP_MS);
    const { operations } = await batch();
    assert.ok(operations.length > 3000, `${operations.length} operations`);
    const expected = operations.map(view);
    for (const paths of [estate.paths, [...estate.paths].reverse()]) {
      const released: Operation[] = [];
      let batches = 0;
      const streamed = await attributeInputs({
        paths,
        inputHosts,
        onOperations: (ops) => {
          batches++;
          released.push(...ops);
        },
      });
      assert.ok(batches > 5, `released in ${batches} batches`);
      assert.equal(streamed.late, 0);
      assert.deepEqual(released.map(view), expected);
      // A time-paired crowd (vpxd LROs placed by time among several calls) is seen whole by the
      // batch; a release may cut one, so its calls can differ in the session records they cite
      // (docs/DESIGN.md): never in their account or level, and for a handful of calls at most.
      const differ = released.filter(
        (op, i) => evidenceOf(op) !== evidenceOf(operations[i] as Operation),
      );
      assert.ok(differ.length <= operations.length / 500, `${differ.length} differ in evidence`);
      for (const op of differ) assert.notEqual(op.attribution.level, "exact");
    }
  });

  it("give the same alerts and incidents", async () => {
    const policy = defaultPolicy();
    const { operations, coverage } = await batch();
    const expected = detect(operations, {
      rules: BUILTIN_RULES,
      policy,
      coverage: coverage.spans(),
    });
    assert.ok(expected.alerts.length > 0);
    const streamed = await analyze({ paths: [...estate.paths].reverse(), inputHosts, policy });
    assert.equal(streamed.inTimeRange, operations.length);
    assert.deepEqual(
      streamed.detection.alerts.map((a) => JSON.stringify(a)),
      expected.alerts.map((a) => JSON.stringify(a)),
    );
    assert.deepEqual(streamed.detection.incidents, expected.incidents);
  });
});

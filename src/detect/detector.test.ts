/**
 * The incremental detector gives what one batch gives: the same alerts (ids, severities, reasons,
 * operations) whether the operations arrive at once or one by one with the stream's time advancing,
 * and it holds only the open windows, not the stream.
 */
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { fileURLToPath } from "node:url";
import { analyze, attributeInputs } from "../pipeline.js";
import { loadPolicy } from "../policy/load.js";
import { sitePolicy } from "../../test/helpers/detect.js";
import { op, plus } from "../../test/helpers/operations.js";
import type { Alert } from "../model/alert.js";
import type { Operation } from "../model/operation.js";
import type { Policy } from "../policy/types.js";
import { createDetector, detect, linkAlerts } from "./engine.js";
import { compareOperations } from "./group.js";
import { BUILTIN_RULES } from "./registry.js";
import type { CoverageSpan } from "./types.js";

const root = fileURLToPath(new URL("../../", import.meta.url));

/** Pushes one operation at a time, flushing at each operation's time; every alert closed. */
function streamed(
  ops: readonly Operation[],
  policy: Policy,
  coverage: readonly CoverageSpan[] = [],
): { alerts: Alert[]; maxHeld: number } {
  const d = createDetector({ rules: BUILTIN_RULES, policy, coverage });
  const alerts: Alert[] = [];
  let maxHeld = 0;
  for (const o of [...ops].sort(compareOperations)) {
    if (o.time !== undefined) alerts.push(...d.flush(Date.parse(o.time)).closed);
    d.push([o]);
    maxHeld = Math.max(maxHeld, d.held().operations);
  }
  alerts.push(...d.end().alerts);
  return { alerts: linkAlerts(alerts, { policy }).alerts, maxHeld };
}

const ids = (alerts: readonly Alert[]) => alerts.map((a) => a.id).sort();
const comparable = (alerts: readonly Alert[]) =>
  [...alerts].sort((a, b) => a.id.localeCompare(b.id)).map((a) => JSON.stringify(a));

describe("incremental detector", () => {
  it("gives the batch's alerts on the example, operation by operation", async () => {
    const policy = loadPolicy(`${root}examples/policy.yaml`);
    const paths = [`${root}examples/logs`];
    const { correlated, coverage } = await attributeInputs({ paths, cwd: root });
    const detection = detect(correlated.operations, { rules: BUILTIN_RULES, policy, coverage });
    assert.ok(detection.alerts.length >= 3);
    const { alerts } = streamed(correlated.operations, policy, coverage);
    assert.deepEqual(ids(alerts), ids(detection.alerts));
    assert.deepEqual(comparable(alerts), comparable(detection.alerts));
    // the pipeline's scan, fed as reading goes on, gives the same alerts and incidents
    const piped = await analyze({ paths, policy, cwd: root });
    assert.deepEqual(comparable(piped.detection.alerts), comparable(detection.alerts));
    assert.deepEqual(piped.detection.incidents, detection.incidents);
    assert.equal(piped.inTimeRange, correlated.operations.length);
  });

  it("gives the batch's bursts when failure chains span flushes, and holds only open windows", () => {
    const T0 = "2026-03-11T15:40:00Z";
    const ops: Operation[] = [];
    // 40 days: each day a burst of 6 failures by one account, 3 stray failures, routine work
    for (let day = 0; day < 40; day++) {
      const base = day * 86_400;
      for (let i = 0; i < 6; i++) {
        ops.push(
          op({
            time: plus(T0, base + i * 70),
            principal: "CORP\\jsmith",
            vm: `db${day % 3}`,
            kinds: ["vc.auth-failure"],
            outcome: "failure",
          }),
        );
      }
      for (let i = 0; i < 3; i++) {
        ops.push(
          op({ time: plus(T0, base + 3_600 + i * 4_000), vm: "app01", kinds: ["vc.auth-failure"] }),
        );
      }
      for (let i = 0; i < 20; i++) {
        ops.push(
          op({
            time: plus(T0, base + 7_200 + i * 600),
            principal: "bob@corp.example",
            vm: "app02",
          }),
        );
      }
    }
    const batch = detect(ops, { rules: BUILTIN_RULES, policy: sitePolicy });
    const { alerts, maxHeld } = streamed(ops, sitePolicy);
    assert.ok(batch.alerts.some((a) => a.rules.includes("auth-failure-burst")));
    assert.deepEqual(ids(alerts), ids(batch.alerts));
    assert.deepEqual(comparable(alerts), comparable(batch.alerts));
    // a day's work is the most the detector ever holds, not the 40 days
    assert.ok(maxHeld <= 29 && maxHeld >= 6, `held ${maxHeld} operations`);
  });

  it("resumes from a checkpoint by replaying the stored operations from its start", () => {
    const T0 = "2026-03-14T01:00:00Z";
    const ops: Operation[] = [];
    for (let i = 0; i < 60; i++) {
      ops.push(op({ time: plus(T0, i * 420), principal: "bob@corp.example", vm: `app0${i % 2}` }));
      if (i % 7 === 0) {
        for (let k = 0; k < 5; k++) {
          ops.push(
            op({ time: plus(T0, i * 420 + k * 30), vm: "db01", kinds: ["vc.auth-failure"] }),
          );
        }
      }
    }
    ops.sort(compareOperations);
    const batch = detect(ops, { rules: BUILTIN_RULES, policy: sitePolicy });
    assert.ok(batch.alerts.length >= 2);
    for (const cut of [10, 100, 200, ops.length - 1]) {
      // the first process runs to `cut`, closes what it can and stops
      const first = createDetector({ rules: BUILTIN_RULES, policy: sitePolicy });
      const stored = new Map<string, Alert>();
      for (const o of ops.slice(0, cut)) {
        for (const a of first.flush(Date.parse(o.time ?? "")).closed) stored.set(a.id, a);
        first.push([o]);
      }
      const { from } = first.checkpoint();
      // the second replays the operations from the checkpoint, then goes on
      const second = createDetector({ rules: BUILTIN_RULES, policy: sitePolicy });
      const replay = ops.filter(
        (o, i) => i >= cut || Date.parse(o.time ?? "") >= (from ?? Infinity),
      );
      for (const o of replay) {
        for (const a of second.flush(Date.parse(o.time ?? "")).closed) stored.set(a.id, a);
        second.push([o]);
      }
      for (const a of second.end().alerts) stored.set(a.id, a);
      const linked = linkAlerts([...stored.values()], { policy: sitePolicy }).alerts;
      assert.deepEqual(comparable(linked), comparable(batch.alerts), `cut at ${cut}`);
    }
  });
});

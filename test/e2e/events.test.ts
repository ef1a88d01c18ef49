/**
 * `guestops events` end to end on the bundled example dataset (examples/logs): who made each call
 * of the Veeam job on dc01, and one spelling per host.
 */
import assert from "node:assert/strict";
import { before, describe, it } from "node:test";
import { fileURLToPath } from "node:url";
import { run } from "../../src/cli/run.js";
import type { OperationJson } from "../../src/report/operations.js";
import { fakeIo } from "../helpers/cli.js";

const ROOT = fileURLToPath(new URL("../..", import.meta.url));

async function events(args: readonly string[]): Promise<OperationJson[]> {
  const { io, out } = fakeIo(ROOT);
  assert.equal(await run(["events", "examples/logs", ...args, "--format", "json"], io), 0);
  return (JSON.parse(out.join("\n")) as { operations: OperationJson[] }).operations;
}

describe("guestops events on the example dataset", () => {
  let dc01: OperationJson[];
  let all: OperationJson[];
  before(async () => {
    dc01 = await events(["--vm", "dc01"]);
    all = await events([]);
  });

  it("the Veeam job on dc01: 4 calls named by vCenter events, 3 polls through its vCenter session", () => {
    const job = dc01.filter((o) => (o.time ?? "").startsWith("2026-03-12T01:0"));
    assert.equal(job.length, 7);
    for (const o of job) assert.equal(o.attribution.principal?.id, "corp\\svc-veeam");
    const polls = job.filter((o) => o.api === "ListProcessesInGuest");
    assert.deepEqual(
      polls.map((o) => o.attribution.level),
      ["correlated", "correlated", "correlated"],
    );
    const exact = job.filter((o) => o.attribution.level === "exact");
    assert.equal(exact.length, 4);
    for (const p of polls) {
      assert.match(
        p.attribution.reason,
        /^vpxd LRO lro-\d+ ran in vCenter session 5285e7a0-47f4-7903-4dc8-1f11295a627b .*name CORP\\svc-veeam exactly \(vCenter events /,
      );
      assert.equal(p.session, "5285e7a0-47f4-7903-4dc8-1f11295a627b");
      for (const id of exact.map((o) => o.id)) assert.ok(p.attribution.related?.includes(id));
    }
  });

  it("alice's and svc-aria's polls are theirs, not vCenter's vpxuser", () => {
    const polls = all.filter(
      (o) =>
        o.api === "ListProcessesInGuest" &&
        ((o.time ?? "").startsWith("2026-03-10T09:15") ||
          (o.time ?? "").startsWith("2026-03-11T13:00")),
    );
    assert.deepEqual(
      polls.map((o) => [o.attribution.level, o.attribution.principal?.id]),
      [
        ["correlated", "corp\\alice"],
        ["correlated", "corp\\alice"],
        ["correlated", "corp\\svc-aria"],
        ["correlated", "corp\\svc-aria"],
      ],
    );
  });

  it("the stolen vpxuser's calls stay inferred: no vCenter session to chain to", () => {
    const attack = dc01.filter((o) => (o.time ?? "").startsWith("2026-03-14"));
    assert.equal(attack.length, 6);
    for (const o of attack) {
      assert.equal(o.attribution.level, "inferred");
      assert.equal(o.attribution.principal?.kind, "vpxuser");
    }
  });

  it("one spelling per host: esx01.corp.example, never the bundle's esx01", () => {
    assert.deepEqual([...new Set(dc01.map((o) => o.host))], ["esx01.corp.example"]);
    assert.deepEqual([...new Set(all.flatMap((o) => (o.host ? [o.host] : [])))].sort(), [
      "esx01.corp.example",
      "esx02.corp.example",
    ]);
  });
});

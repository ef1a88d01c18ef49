/**
 * The proving ground's regression gate: a small simulated fleet, evaluated with its own policy,
 * must reach eval/expected.json (caught scenarios stay caught, no figure gets worse), stateless
 * and after learning a baseline from its attack-free history. Also: the scorer on hand-written
 * labels without keys (how a site labels its own exercise).
 */
import assert from "node:assert/strict";
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, describe, it } from "node:test";
import { fileURLToPath } from "node:url";
import { evaluate } from "../src/evaluate/index.js";
import { storeLearning } from "../src/evaluate/learn.js";
import type { Figures } from "../src/evaluate/score.js";
import { loadPolicy } from "../src/policy/load.js";
import { run } from "../src/cli/run.js";
import { simulate } from "../src/simulate/index.js";
import { loadBaseline, openStore } from "../src/store/index.js";
import { fakeIo } from "./helpers/cli.js";

const ROOT = fileURLToPath(new URL("..", import.meta.url));

interface Expected {
  readonly caught: readonly string[];
  readonly missed: readonly string[];
  readonly atLeast: { precision: number; attributionRightShare: number; foundShare: number };
  readonly atMost: {
    benignAlertsPer100HostsPerDay: number;
    doubleCounted: number;
    incidentsPerAttack: number;
  };
}

const expected = JSON.parse(readFileSync(join(ROOT, "eval", "expected.json"), "utf8")) as {
  fleet: { hosts: number; vms: number; days: number; history: number; seed: number };
  all: Expected;
  verified: Expected;
  learning: { all: Expected; verified: Expected };
};

function check(name: string, f: Figures, want: Expected): void {
  const byId = new Map(f.scenarios.map((s) => [s.id, s]));
  for (const id of want.caught) {
    const s = byId.get(id);
    assert.ok(s, `${name}: scenario ${id} is in the fleet`);
    assert.ok(s.caught, `${name}: ${id} was caught and is now missed`);
    assert.ok(
      s.incidents <= want.atMost.incidentsPerAttack,
      `${name}: ${id} made ${s.incidents} incidents`,
    );
  }
  for (const s of f.scenarios) {
    if (s.caught) continue;
    assert.ok(want.missed.includes(s.id), `${name}: ${s.id} is missed and not expected to be`);
  }
  const a = f.alerts;
  assert.ok((a.precision ?? 0) >= want.atLeast.precision, `${name}: precision ${a.precision}`);
  assert.ok(
    (f.benignAlertsPer100HostsPerDay ?? Infinity) <= want.atMost.benignAlertsPer100HostsPerDay,
    `${name}: ${f.benignAlertsPer100HostsPerDay} false alerts per 100 hosts per day`,
  );
  const at = f.attribution;
  const share = at.right / Math.max(1, at.right + at.wrong + at.unknown);
  assert.ok(share >= want.atLeast.attributionRightShare, `${name}: attribution right ${share}`);
  const o = f.operations;
  assert.ok(
    o.found / Math.max(1, o.labelled) >= want.atLeast.foundShare,
    `${name}: ${o.missed} missed`,
  );
  assert.ok(
    o.doubleCounted <= want.atMost.doubleCounted,
    `${name}: ${o.doubleCounted} counted twice`,
  );
}

describe("evaluate", () => {
  const dirs: string[] = [];
  after(() => {
    for (const d of dirs) rmSync(d, { recursive: true, force: true });
  });
  const tmp = (): string => {
    const d = mkdtempSync(join(tmpdir(), "guestops-eval-"));
    dirs.push(d);
    return d;
  };

  /** The gate's fleet, simulated once for both gates. */
  let fleet: { dir: string; learnUntil: string } | undefined;
  const gateFleet = (): { dir: string; learnUntil: string } => {
    if (!fleet) {
      const dir = tmp();
      fleet = { dir, learnUntil: simulate({ out: dir, ...expected.fleet }).learnUntil };
    }
    return fleet;
  };

  it("reaches eval/expected.json on the small simulated fleet", async () => {
    const { dir } = gateFleet();
    const result = await evaluate({
      paths: [join(dir, "logs")],
      truth: join(dir, "labels.ndjson"),
      policy: loadPolicy(join(dir, "policy.yaml")),
    });
    assert.equal(result.labels.problemCount, 0);
    assert.equal(result.analysis.detection.failures.length, 0);
    assert.equal(result.learning.learned, false);
    check("all", result.evaluation.all, expected.all);
    check("verified", result.evaluation.verified, expected.verified);
    // the verified subset holds only scenarios whose every operation is in verified formats
    for (const s of result.evaluation.verified.scenarios) assert.ok(s.verified, s.id);
  });

  it("reaches eval/expected.json's learning figures after learning from the history", async () => {
    const { dir, learnUntil } = gateFleet();
    const result = await evaluate({
      paths: [join(dir, "logs")],
      truth: join(dir, "labels.ndjson"),
      policy: loadPolicy(join(dir, "policy.yaml")),
      learnUntil: Date.parse(learnUntil),
      learn: storeLearning(),
    });
    assert.equal(result.analysis.detection.failures.length, 0);
    assert.equal(result.learning.learned, true);
    assert.match(result.learning.note, /^learned \(as guestops learn --until /);
    // the baseline spans the warm-up: the baseline rules judged, none is warming up
    const notes = result.analysis.detection.notes ?? [];
    assert.ok(!notes.some((n) => /warming up/.test(n.note)), notes.map((n) => n.note).join("\n"));
    // every scored operation comes after the learning period
    assert.ok(result.evaluation.all.operations.labelled > 0);
    check("learning all", result.evaluation.all, expected.learning.all);
    check("learning verified", result.evaluation.verified, expected.learning.verified);
    // the baseline rules took part: the newcomer's fan-out is seen by fan-out, not only by policy
    const fanout = result.evaluation.all.scenarios.find((s) => s.id === "new-account-fanout");
    assert.ok(fanout?.rules.includes("fan-out"), fanout?.rules.join(", "));
  });

  it("evaluate --learn-until --db keeps the store it learned into; --db alone is refused", async () => {
    const { dir, learnUntil } = gateFleet();
    const db = join(tmp(), "eval.db");
    const { io, out } = fakeIo(dir);
    const args = ["evaluate", "--truth", "labels.ndjson", "--policy", "policy.yaml", "logs"];
    assert.equal(
      await run([...args, "--learn-until", learnUntil, "--db", db, "--format", "json"], io),
      0,
    );
    const doc = JSON.parse(out.join("")) as { learning: { learned: boolean; note: string } };
    assert.equal(doc.learning.learned, true);
    const store = openStore(db);
    try {
      const baseline = loadBaseline(store.db)?.baseline;
      assert.ok(baseline && baseline.operations > 0, "a baseline is stored");
      // learned from the history only: nothing at or after --learn-until
      assert.ok(baseline.to < Date.parse(learnUntil));
      assert.ok(baseline.accounts.size > 0);
    } finally {
      store.close();
    }
    const refused = fakeIo(dir);
    assert.equal(await run([...args, "--db", db], refused.io), 2);
    assert.match(refused.err.join(""), /--db needs --learn-until/);
  });

  it("misses the attacks a policy that expects everyone cannot see, and says so", async () => {
    const dir = tmp();
    simulate({ out: dir, ...expected.fleet, scenarios: ["new-account-fanout"] });
    // the same estate with a policy that lists the newcomer: its fan-out is no longer caught
    const policy = readFileSync(join(dir, "policy.yaml"), "utf8").replace(
      "accounts:\n",
      "accounts:\n  - name: 'CORP\\svc-deploy'\n    role: admin\n",
    );
    writeFileSync(join(dir, "lenient.yaml"), policy);
    const result = await evaluate({
      paths: [join(dir, "logs")],
      truth: join(dir, "labels.ndjson"),
      policy: loadPolicy(join(dir, "lenient.yaml")),
    });
    const fanout = result.evaluation.all.scenarios.find((s) => s.id === "new-account-fanout");
    assert.equal(fanout?.caught, false);
    assert.equal(result.evaluation.all.attacks.caught, 0);
    // and the gate says so
    assert.throws(
      () =>
        check("all", result.evaluation.all, { ...expected.all, caught: ["new-account-fanout"] }),
      /new-account-fanout was caught and is now missed/,
    );
  });

  it("scores labels a site wrote by hand (no keys: matched by VM, method and time)", async () => {
    const dir = tmp();
    const truth = join(dir, "exercise.ndjson");
    writeFileSync(
      truth,
      [
        { type: "scenario", id: "red-team", attack: true, description: "stolen vpxuser on dc01" },
        {
          type: "operation",
          scenario: "red-team",
          time: "2026-03-14T02:01:50Z",
          vm: "dc01",
          api: "InitiateFileTransferToGuest",
          principal: "vpxuser",
        },
        {
          type: "operation",
          scenario: "red-team",
          time: "2026-03-14T02:02:10Z",
          vm: "dc01",
          api: "NoSuchCall",
        },
      ]
        .map((l) => JSON.stringify(l))
        .concat(["not json", JSON.stringify({ type: "operation", scenario: "red-team" })])
        .join("\n"),
    );
    const result = await evaluate({
      paths: [join(ROOT, "examples", "logs")],
      truth,
      policy: loadPolicy(join(ROOT, "examples", "policy.yaml")),
    });
    assert.equal(result.labels.problemCount, 2, "two bad lines are counted, not fatal");
    const red = result.evaluation.all.scenarios[0];
    assert.equal(red?.id, "red-team");
    assert.equal(red.caught, true);
    assert.ok(red.rules.includes("direct-host-access"));
    assert.equal(result.evaluation.all.operations.found, 1);
    assert.equal(result.evaluation.all.operations.missed, 1);
  });
});

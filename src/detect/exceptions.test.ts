/**
 * Exceptions honoured by the detector: an alert every finding of which an active exception covers
 * is not raised but reported as excepted (with the exception's ticket and owner); one only partly
 * covered is kept, with a reason naming the exception; an expired exception, or one for another
 * account, changes nothing. The incremental detector and the batch agree.
 */
import assert from "node:assert/strict";
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, it } from "node:test";
import { fileURLToPath } from "node:url";
import { fakeIo } from "../../test/helpers/cli.js";
import { run as cli } from "../cli/run.js";
import { op } from "../../test/helpers/operations.js";
import type { Operation } from "../model/operation.js";
import { parsePolicy } from "../policy/load.js";
import type { PolicyException } from "../policy/types.js";
import { createDetector, detect } from "./engine.js";
import { BUILTIN_RULES } from "./registry.js";

const POLICY = `sites:
  - name: paris
    zone: Europe/Paris
    businessHours:
      - { days: mon-fri, start: "08:00", end: "18:00" }
domains:
  - [CORP, corp.example]
accounts:
  - { name: CORP\\alice, role: admin }
  - { name: CORP\\bob, role: admin }
`;

const policyWith = (exceptions: string) =>
  parsePolicy(`${POLICY}exceptions:\n${exceptions}`, { name: "policy.yaml" });

// Saturday 2026-03-07, 03:00 Paris: outside business hours for both admins.
const night = (principal: string, minute: number, method = "StartProgramInGuest"): Operation =>
  op({
    time: `2026-03-07T02:${String(minute).padStart(2, "0")}:00Z`,
    principal,
    vm: "app01",
    method,
    host: "esx01.corp.example",
  });

const run = (ops: readonly Operation[], exceptions: string) =>
  detect(ops, { rules: BUILTIN_RULES, policy: policyWith(exceptions) });

const ALICE_APP = `  - { rules: [outside-hours], accounts: [alice@corp.example], vms: [app*], owner: carol, ticket: SEC-42, expires: 2026-04-01, reason: patch week }\n`;

describe("exceptions in the detector", () => {
  it("does not raise an alert whose every finding is covered, and reports it as excepted", () => {
    const ops = [night("CORP\\alice", 0), night("CORP\\alice", 5)];
    const plain = detect(ops, { rules: BUILTIN_RULES, policy: policyWith("  []\n") });
    assert.equal(plain.alerts.length, 1, "the operations alert without the exception");
    const r = run(ops, ALICE_APP);
    assert.deepEqual(r.alerts, []);
    assert.deepEqual(r.incidents, []);
    assert.equal(r.excepted?.length, 1);
    const [x] = r.excepted ?? [];
    assert.equal(x?.id, plain.alerts[0]?.id, "the excepted alert keeps its id");
    assert.deepEqual(x?.exceptions, [
      {
        id: "exceptions[0]",
        ticket: "SEC-42",
        owner: "carol",
        expires: "2026-04-01T22:00:00.000Z",
        reason: "patch week",
        source: "policy",
        findings: 2,
      },
    ]);
  });

  it("keeps a partly covered alert, with a reason naming the exception", () => {
    // the file transfer is also outside hours, but the exception names StartProgramInGuest only
    const ops = [night("CORP\\alice", 0), night("CORP\\alice", 5, "InitiateFileTransferFromGuest")];
    const r = run(
      ops,
      `  - { rules: [outside-hours], accounts: [CORP\\alice], methods: [StartProgramInGuest], owner: carol, ticket: SEC-7, expires: 2027-01-01 }\n`,
    );
    assert.equal(r.excepted, undefined);
    assert.equal(r.alerts.length, 1);
    const [a] = r.alerts;
    assert.equal(a?.exceptions?.[0]?.ticket, "SEC-7");
    assert.equal(a?.exceptions?.[0]?.findings, 1);
    assert.ok(
      a?.reasons.some((why) =>
        /^exception SEC-7 \(owner carol, until 2027-01-01T23:00:00\.000Z\) covers 1 of 2 findings/.test(
          why,
        ),
      ),
      a?.reasons.join("\n"),
    );
  });

  it("no longer applies once expired, judged by the operation's time", () => {
    const ops = [night("CORP\\alice", 0), night("CORP\\alice", 20)];
    // expires between the two operations: the second is not covered
    const r = run(
      ops,
      `  - { rules: any, accounts: [CORP\\alice], owner: carol, ticket: SEC-9, expires: "2026-03-07T02:10Z" }\n`,
    );
    assert.equal(r.alerts.length, 1);
    assert.equal(r.alerts[0]?.exceptions?.[0]?.findings, 1);
    const expired = run(
      ops,
      `  - { rules: any, accounts: [CORP\\alice], owner: carol, ticket: SEC-9, expires: 2026-03-01 }\n`,
    );
    assert.equal(expired.alerts.length, 1);
    assert.equal(expired.alerts[0]?.exceptions, undefined);
    assert.equal(expired.excepted, undefined);
  });

  it("leaves other accounts' alerts alone", () => {
    const r = run([night("CORP\\bob", 0), night("CORP\\alice", 0)], ALICE_APP);
    assert.deepEqual(
      r.alerts.map((a) => a.principal.id),
      ["corp\\bob"],
    );
    assert.equal(r.alerts[0]?.exceptions, undefined);
    assert.equal(r.excepted?.length, 1);
  });

  it("incrementally: exceptions given later cover findings reported from then on", () => {
    const policy = policyWith("  []\n");
    const d = createDetector({ rules: BUILTIN_RULES, policy });
    const first = d.push([night("CORP\\alice", 0)]);
    assert.equal(first.updated.length, 1, "an open alert is published as it opens");
    d.flush(Date.parse("2026-03-07T04:00:00Z")); // closes it
    const extra: PolicyException = {
      id: "ex-1",
      rules: ["outside-hours"],
      accounts: ["corp\\alice"],
      vms: [{ kind: "glob", pattern: "app01" }],
      hosts: undefined,
      methods: undefined,
      owner: "carol",
      ticket: "SEC-1",
      expiresMs: Date.parse("2027-01-01T00:00:00Z"),
      source: "store",
    };
    d.setExceptions([extra]);
    const later = op({
      time: "2026-03-07T05:00:00Z",
      principal: "CORP\\alice",
      vm: "app01",
      host: "esx01.corp.example",
    });
    const pushed = d.push([later]);
    assert.deepEqual(pushed.updated, [], "a covered open alert is withheld");
    const flushed = d.flush(Date.parse("2026-03-07T07:00:00Z"));
    assert.deepEqual(flushed.closed, []);
    assert.equal(flushed.excepted.length, 1);
    assert.equal(flushed.excepted[0]?.exceptions?.[0]?.id, "ex-1");
    // revoked: the next alert is raised again
    d.setExceptions([]);
    const again = d.push([
      op({ time: "2026-03-07T08:00:00Z", principal: "CORP\\alice", vm: "app01" }),
    ]);
    assert.equal(again.updated.length, 1);
  });
});

describe("exceptions in scan", () => {
  it("counts and names the excepted alert in the summary, in text and JSON", async () => {
    const root = fileURLToPath(new URL("../../", import.meta.url));
    const dir = mkdtempSync(join(tmpdir(), "guestops-exceptions-"));
    try {
      const policy = join(dir, "policy.yaml");
      writeFileSync(
        policy,
        `${readFileSync(join(root, "examples/policy.yaml"), "utf8")}
exceptions:
  - { rules: [disallowed-method], accounts: [CORP\\svc-aria], vms: [app01], owner: "dana", ticket: "CHG-77", expires: 2026-06-01 }
`,
      );
      const logs = join(root, "examples/logs");
      const text = fakeIo(root);
      await cli(["scan", "--policy", policy, logs], text.io);
      const err = text.err.join("");
      assert.match(err, /^excepted: 1 alert\(s\) not raised/m);
      assert.match(
        err,
        /^ {2}exception CHG-77 \(owner dana, until 2026-06-01T22:00:00\.000Z\): 1 alert\(s\)$/m,
      );
      const json = fakeIo(root);
      await cli(["scan", "--policy", policy, "--format", "json", logs], json.io);
      const doc = JSON.parse(json.out.join("")) as {
        alerts: { principal: { id?: string } }[];
        summary: {
          alerts: { total: number };
          excepted?: {
            total: number;
            alerts: { exceptions: { ticket: string; owner: string }[] }[];
          };
        };
      };
      assert.equal(doc.summary.excepted?.total, 1);
      assert.deepEqual(
        doc.summary.excepted?.alerts[0]?.exceptions.map((x) => [x.ticket, x.owner]),
        [["CHG-77", "dana"]],
      );
      assert.ok(!doc.alerts.some((a) => a.principal.id === "corp\\svc-aria"));
      assert.equal(doc.summary.alerts.total, 2);
      // the audit report counts it too
      const report = join(dir, "report.json");
      await cli(
        ["report", "--policy", policy, "--format", "json", "--out", report, logs],
        fakeIo(root).io,
      );
      const audit = JSON.parse(readFileSync(report, "utf8")) as {
        headline: { alerts: { total: number; excepted?: number } };
      };
      assert.deepEqual([audit.headline.alerts.total, audit.headline.alerts.excepted], [2, 1]);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

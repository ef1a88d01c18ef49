import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { run, sitePolicy } from "../../test/helpers/detect.js";
import { op, plus } from "../../test/helpers/operations.js";
import type { RuleId, RuleSetting } from "../policy/types.js";
import { learnBaseline } from "../baseline/learn.js";
import { BUILTIN_RULES } from "./registry.js";
import { defineRule, type Rule } from "./types.js";
import { outsideHours } from "./rules/outside-hours/index.js";
import { sensitiveVm } from "./rules/sensitive-vm/index.js";

const SAT = "2026-03-14T02:02:00Z"; // Sat 03:02 Paris

/** A test rule that reports every operation it sees at the given severity. */
const everyOp = (id: "auth-failure-burst", severity: Rule["meta"]["severity"] = "low"): Rule =>
  defineRule({
    meta: {
      id,
      label: "every op",
      description: "test",
      severity,
      attack: ["T9999"],
      principal: "optional",
    },
    create: (ctx) => ({
      onOperation: (o) => ctx.report({ operation: o, reason: "seen", key: "seen" }),
    }),
  });

describe("detect engine", () => {
  describe("grouping", () => {
    const attacker = (seconds: number, method = "StartProgramInGuest", file = "hostd.log") =>
      op({
        time: plus(SAT, seconds),
        principal: "CORP\\alice",
        vm: "app01",
        method,
        file,
        line: 100 + seconds,
      });

    it("puts operations of one principal on one VM with gaps under 30 minutes in one alert", () => {
      const r = run([attacker(0), attacker(600, "ListProcessesInGuest"), attacker(600 + 29 * 60)], {
        rules: [outsideHours],
      });
      assert.equal(r.alerts.length, 1);
      const [a] = r.alerts;
      assert.equal(a?.count, 3);
      assert.deepEqual(a?.methods, ["StartProgramInGuest", "ListProcessesInGuest"]);
      assert.equal(a?.firstSeen, plus(SAT, 0));
      assert.equal(a?.lastSeen, plus(SAT, 600 + 29 * 60));
      assert.match(
        a?.reasons[0] ?? "",
        /\(and 2 more operations: ListProcessesInGuest, StartProgramInGuest\)$/,
      );
    });

    it("starts a new alert after a gap of 30 minutes, and the gap is configurable", () => {
      const ops = [attacker(0), attacker(30 * 60)];
      assert.equal(run(ops, { rules: [outsideHours] }).alerts.length, 2);
      assert.equal(
        run(ops, { rules: [outsideHours], groupingGapMs: 31 * 60_000 }).alerts.length,
        1,
      );
    });

    it("keeps different principals and different VMs apart", () => {
      const r = run(
        [
          attacker(0),
          op({ time: plus(SAT, 5), principal: "CORP\\jsmith", vm: "app01" }),
          op({ time: plus(SAT, 6), principal: "CORP\\alice", vm: "db01" }),
          op({ time: plus(SAT, 7), principal: "alice@corp.example", vm: "APP01" }), // same account, same VM
        ],
        { rules: [outsideHours] },
      );
      assert.equal(r.alerts.length, 3);
    });

    it("keeps operations the rules did not flag in the alert as context", () => {
      const r = run(
        [
          op({ time: SAT, principal: "CORP\\svc-veeam", vm: "dc01", file: "a.log", line: 1 }),
          op({
            time: plus(SAT, 60),
            principal: "CORP\\svc-veeam",
            vm: "dc01",
            file: "a.log",
            line: 2,
          }),
        ],
        { rules: [everyOpOnFirst()] },
      );
      assert.equal(r.alerts.length, 1);
      assert.equal(r.alerts[0]?.count, 2);
      assert.deepEqual(
        r.alerts[0]?.operations.map((o) => o.rules),
        [["auth-failure-burst"], []],
      );
    });
  });

  describe("severity", () => {
    it("is the highest signal, one step higher when different rules agree", () => {
      const alone = run([op({ time: SAT, principal: "CORP\\alice", vm: "dc01" })], {
        rules: [sensitiveVm],
      });
      assert.equal(alone.alerts[0]?.severity, "high");
      const both = run([op({ time: SAT, principal: "CORP\\alice", vm: "dc01" })], {
        rules: [sensitiveVm, outsideHours],
      });
      assert.equal(both.alerts.length, 1);
      assert.deepEqual(both.alerts[0]?.rules, ["sensitive-vm", "outside-hours"]);
      assert.equal(both.alerts[0]?.severity, "critical");
    });

    it("does not bump for one rule firing on many operations", () => {
      const r = run(
        [0, 60, 120].map((s) => op({ time: plus(SAT, s), principal: "CORP\\alice", vm: "app01" })),
        { rules: [outsideHours] },
      );
      assert.equal(r.alerts[0]?.severity, "medium");
    });

    it("moves every severity of a rule by the policy's override", () => {
      const policy = {
        ...sitePolicy,
        rules: new Map<RuleId, RuleSetting>([
          ["outside-hours", { enabled: true, severity: "high" }],
        ]),
      };
      const r = run([op({ time: SAT, principal: "CORP\\alice", level: "inferred", vm: "app01" })], {
        rules: [outsideHours],
        policy,
      });
      assert.equal(r.alerts[0]?.severity, "medium"); // high by policy, one lower for inferred
    });

    it("skips a rule the policy disables", () => {
      const policy = {
        ...sitePolicy,
        rules: new Map<RuleId, RuleSetting>([["outside-hours", { enabled: false }]]),
      };
      const r = run([op({ time: SAT, principal: "CORP\\alice", vm: "app01" })], {
        rules: [outsideHours],
        policy,
      });
      assert.equal(r.alerts.length, 0);
      assert.deepEqual(r.disabled, [{ rule: "outside-hours", why: "disabled by the policy" }]);
    });
  });

  describe("stable ids", () => {
    const story = () => [
      op({ time: SAT, principal: "CORP\\alice", vm: "dc01", file: "hostd.log", line: 10 }),
      op({
        time: plus(SAT, 30),
        principal: "CORP\\alice",
        vm: "dc01",
        file: "vmware.log",
        line: 7,
      }),
      op({ time: plus(SAT, 90), vm: "dc01", file: "vmware.log", line: 9 }),
    ];

    it("gives the same ids on a re-run, whatever the input order", () => {
      const first = run(story()).alerts.map((a) => a.id);
      const again = run(story().reverse()).alerts.map((a) => a.id);
      assert.equal(first.length, 2);
      assert.deepEqual(again, first);
      for (const id of first) assert.match(id, /^al-[0-9a-f]{16}$/);
    });

    it("changes when the first operation's provenance changes", () => {
      const ops = story();
      const moved = [
        op({ time: SAT, principal: "CORP\\alice", vm: "dc01", file: "hostd.log", line: 11 }),
        ...ops.slice(1),
      ];
      assert.notEqual(run(moved).alerts[0]?.id, run(ops).alerts[0]?.id);
    });
  });

  describe("crash isolation", () => {
    const crashing = defineRule({
      meta: {
        id: "unexpected-account",
        label: "boom",
        description: "throws",
        severity: "high",
        attack: [],
        principal: "optional",
      },
      create: () => ({
        onOperation: () => {
          throw new Error("boom");
        },
      }),
    });

    it("counts a crashing rule as a failure and lets the others run", () => {
      const ops = [0, 60].map((s) =>
        op({ time: plus(SAT, s), principal: "CORP\\alice", vm: "app01" }),
      );
      const r = run(ops, { rules: [crashing, outsideHours] });
      assert.equal(r.alerts.length, 1);
      assert.deepEqual(r.alerts[0]?.rules, ["outside-hours"]);
      assert.equal(r.failures.length, 1);
      assert.equal(r.failures[0]?.ruleId, "unexpected-account");
      assert.equal(r.failures[0]?.stage, "operation");
      assert.equal(r.failures[0]?.count, 2);
      assert.equal(r.failures[0]?.message, "boom");
    });

    it("isolates a rule whose create() throws", () => {
      const bad = defineRule({
        ...crashing,
        create: () => {
          throw new TypeError("bad setup");
        },
      });
      const r = run([op({ time: SAT, principal: "CORP\\alice", vm: "app01" })], {
        rules: [bad, outsideHours],
      });
      assert.equal(r.alerts.length, 1);
      assert.equal(r.failures[0]?.stage, "create");
    });
  });

  it("adds the methods' and the rules' ATT&CK techniques", () => {
    const r = run(
      [
        op({
          time: SAT,
          principal: "CORP\\alice",
          vm: "app01",
          method: "InitiateFileTransferFromGuest",
        }),
      ],
      {
        rules: [everyOp("auth-failure-burst")],
      },
    );
    assert.deepEqual(r.alerts[0]?.attack, ["T1005", "T1675", "T9999"]);
  });

  it("runs every built-in rule over an empty input", () => {
    // an empty baseline: the baseline rules run (and note that they are warming up)
    const r = run([], { rules: BUILTIN_RULES, baseline: learnBaseline([], { zone: "UTC" }) });
    assert.equal(r.alerts.length, 0);
    assert.equal(r.failures.length, 0);
    assert.equal(r.signalsByRule.size, BUILTIN_RULES.length);
  });
});

/** Reports only the first operation it sees. */
function everyOpOnFirst(): Rule {
  return defineRule({
    meta: {
      id: "auth-failure-burst",
      label: "first",
      description: "test",
      severity: "low",
      attack: [],
      principal: "optional",
    },
    create: (ctx) => {
      let done = false;
      return {
        onOperation: (o) => {
          if (done) return;
          done = true;
          ctx.report({ operation: o, reason: "first" });
        },
      };
    },
  });
}

/**
 * The conformance suite every rule passes, driven by the fixture directories beside each rule
 * (`src/detect/rules/<id>/fixtures/{ok,ng}.<case>.yaml`):
 * - each rule has at least one `ok` and one `ng` case, and its id is its folder's name;
 * - `ok`: the rule stays silent;
 * - `ng`: the rule reports (`expect.findings` distinct findings, after grouping, when given), and every reason it gives names
 *   the facts it used: the VM, the principal when one is attributed, and the case's own
 *   `expect.reason` substrings;
 * - the rule is pure: it does not mutate the operations it is given (they are frozen), and gives
 *   the same findings on a second run, with the operations in reverse order, and with the
 *   process clock set to 1990 or 2090 (it reads no clock).
 *
 * Fixture shape: `policy: site | none` (default `site`: src/detect/fixtures/site-policy.yaml;
 * `none`: the built-in default policy), `operations:` a list of operation specs (the fields of
 * test/helpers/operations.ts `OpSpec`), and for `ng` cases `expect: { findings?, reason? }`.
 * Baseline rules add `history:`, operation specs learned into a baseline first (in the policy's
 * zone), each optionally with `repeat: { count, every }` (`every` a duration: the spec again
 * `count` times, shifted by `every` each time).
 */
import assert from "node:assert/strict";
import { readdirSync, readFileSync } from "node:fs";
import { describe, it } from "node:test";
import { fileURLToPath } from "node:url";
import { parse } from "yaml";
import { BUILTIN_RULES } from "../../src/detect/registry.js";
import type { DetectResult, Rule } from "../../src/detect/types.js";
import type { Operation } from "../../src/model/operation.js";
import { defaultPolicy } from "../../src/policy/load.js";
import { run, sitePolicy } from "../helpers/detect.js";
import { op, type OpSpec } from "../helpers/operations.js";
import { learnBaseline } from "../../src/baseline/learn.js";
import type { Baseline } from "../../src/baseline/model.js";
import { parseDuration } from "../../src/shared/duration.js";

const RULES_DIR = fileURLToPath(new URL("../../src/detect/rules/", import.meta.url));

interface Fixture {
  readonly name: string;
  readonly kind: "ok" | "ng";
  readonly policy: "site" | "none";
  readonly operations: readonly OpSpec[];
  readonly history?:
    readonly (OpSpec & { repeat?: { count: number; every: string } })[] | undefined;
  readonly expect: { readonly findings?: number; readonly reason?: readonly string[] };
}

function fixturesOf(ruleId: string): Fixture[] {
  const dir = `${RULES_DIR}${ruleId}/fixtures/`;
  let names: string[];
  try {
    names = readdirSync(dir).filter((n) => /^(ok|ng)\.[\w-]+\.yaml$/.test(n));
  } catch {
    return [];
  }
  return names.sort().map((name) => {
    const doc = parse(readFileSync(dir + name, "utf8")) as Record<string, unknown>;
    const operations = doc["operations"];
    assert.ok(Array.isArray(operations) && operations.length > 0, `${name}: operations`);
    return {
      name,
      kind: name.startsWith("ok.") ? "ok" : "ng",
      policy: doc["policy"] === "none" ? "none" : "site",
      operations: operations as OpSpec[],
      ...(Array.isArray(doc["history"]) ? { history: doc["history"] as Fixture["history"] } : {}),
      expect: doc["expect"] ?? {},
    };
  });
}

/** The fixture's history learned into a baseline (undefined without one). */
function baselineOf(fixture: Fixture): Baseline | undefined {
  if (!fixture.history) return undefined;
  const specs: OpSpec[] = [];
  for (const { repeat, ...spec } of fixture.history) {
    const every = repeat ? (parseDuration(repeat.every) ?? 0) : 0;
    for (let i = 0; i < (repeat?.count ?? 1); i++) {
      const t = spec.time === undefined ? undefined : Date.parse(spec.time) + i * every;
      specs.push({ ...spec, time: t === undefined ? undefined : new Date(t).toISOString() });
    }
  }
  const policy = fixture.policy === "none" ? defaultPolicy() : sitePolicy;
  return learnBaseline(specs.map(op), {
    zone: policy.defaultSite.zone,
    aliases: policy.domainAliases,
  });
}

function deepFreeze<T>(value: T): T {
  if (value && typeof value === "object" && !Object.isFrozen(value)) {
    Object.freeze(value);
    for (const v of Object.values(value)) deepFreeze(v);
  }
  return value;
}

/**
 * Runs one rule with the process clock set to `clock` (epoch ms): a rule whose findings change
 * with it reads the clock.
 */
function runPure(
  rule: Rule,
  ops: readonly Operation[],
  fixture: Fixture,
  clock = Date.now(),
): DetectResult {
  const now = Date.now;
  Date.now = () => clock;
  try {
    const baseline = baselineOf(fixture);
    return run(ops, {
      rules: [rule],
      policy: fixture.policy === "none" ? defaultPolicy() : sitePolicy,
      ...(baseline ? { baseline } : {}),
    });
  } finally {
    Date.now = now;
  }
}

/** The rule's findings, comparable across runs. */
const findingsOf = (r: DetectResult, id: string) =>
  r.alerts
    .flatMap((a) => a.signals.filter((s) => s.rule === id))
    .map((s) => ({ severity: s.severity, reason: s.reason, operations: [...s.operations].sort() }))
    .sort((a, b) => a.reason.localeCompare(b.reason));

describe("rule conformance", () => {
  for (const rule of BUILTIN_RULES) {
    const id = rule.meta.id;
    describe(id, () => {
      const fixtures = fixturesOf(id);

      it("has ok and ng fixture cases in its folder", () => {
        assert.ok(
          fixtures.some((f) => f.kind === "ok"),
          `${id}: no ok.<case>.yaml`,
        );
        assert.ok(
          fixtures.some((f) => f.kind === "ng"),
          `${id}: no ng.<case>.yaml`,
        );
      });

      for (const fixture of fixtures) {
        it(`${fixture.name}`, () => {
          const ops = fixture.operations.map((spec) => deepFreeze(op(spec)));
          const result = runPure(rule, ops, fixture);
          assert.deepEqual(result.failures, [], `${id} crashed`);
          const findings = result.signalsByRule.get(id) ?? 0;
          if (fixture.kind === "ok") {
            assert.equal(findings, 0, `${id} reported on an ok case`);
            return;
          }
          if (fixture.expect.findings !== undefined) {
            assert.equal(findingsOf(result, id).length, fixture.expect.findings);
          } else {
            assert.ok(findings > 0, `${id} stayed silent on an ng case`);
          }
          const byId = new Map(ops.map((o) => [o.id, o]));
          for (const alert of result.alerts) {
            for (const signal of alert.signals.filter((s) => s.rule === id)) {
              for (const text of fixture.expect.reason ?? []) {
                assert.ok(signal.reason.includes(text), `reason lacks ${text}: ${signal.reason}`);
              }
              const first = byId.get(signal.operations[0] ?? "");
              assert.ok(first, "a signal names the operations it was raised on");
              if (first.vm.name !== undefined) {
                assert.ok(
                  signal.reason.includes(first.vm.name),
                  `reason lacks the VM: ${signal.reason}`,
                );
              }
              const p = first.attribution.principal;
              if (p && first.attribution.level !== "ambiguous") {
                assert.ok(
                  signal.reason.includes(p.display),
                  `reason lacks the principal ${p.display}: ${signal.reason}`,
                );
              }
            }
          }
          // pure: the same findings again, whatever the order of the operations and the clock
          const expected = findingsOf(result, id);
          assert.deepEqual(
            findingsOf(runPure(rule, ops, fixture, Date.UTC(1990, 0)), id),
            expected,
          );
          assert.deepEqual(
            findingsOf(runPure(rule, ops, fixture, Date.UTC(2090, 0)), id),
            expected,
          );
          assert.deepEqual(findingsOf(runPure(rule, [...ops].reverse(), fixture), id), expected);
        });
      }
    });
  }
});

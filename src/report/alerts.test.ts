import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { run } from "../../test/helpers/detect.js";
import { op } from "../../test/helpers/operations.js";
import type { Alert } from "../model/alert.js";
import {
  alertsCsv,
  alertsTable,
  emptySeverityCounts,
  formatAlerts,
  summaryText,
  type ScanSummary,
} from "./alerts.js";

// A VM name carrying a terminal escape, a bidi override and a spreadsheet formula.
const HOSTILE_VM = '=HYPERLINK("http://x")\u001b[31mdc01\u202e';

const alerts = (): readonly Alert[] =>
  run([
    op({ time: "2026-03-14T02:02:00Z", principal: "CORP\\alice", vm: HOSTILE_VM, opId: "esxui-1" }),
  ]).alerts;

const summary: ScanSummary = {
  tool: { name: "guestops", version: "0.0.0" },
  policy: "site-policy.yaml",
  assumeTz: "UTC",
  inputs: [],
  formats: {},
  issues: {},
  records: 0,
  operations: 1,
  outsideTimeRange: 0,
  attribution: {
    levels: { exact: 1, correlated: 0, inferred: 0, ambiguous: 0, unknown: 0 },
    coverage: 1,
    hints: [],
  },
  alerts: {
    total: 1,
    bySeverity: { ...emptySeverityCounts(), high: 1 },
    byRule: { "outside-hours": 1 },
  },
  rules: { ran: [], disabled: [], failures: [] },
};

describe("alert formatters", () => {
  it("table: escapes control and bidi characters from logs", () => {
    const text = alertsTable(alerts());
    assert.ok(!text.includes("\u001b"));
    assert.ok(!text.includes("\u202e"));
    assert.match(text, /\\x1B\[31mdc01/);
    assert.match(text, /^SEVERITY {2}ID/);
  });

  it("csv: neutralises formulas and keeps one record per line", () => {
    const csv = alertsCsv(alerts());
    const lines = csv.split("\r\n");
    assert.equal(lines.length, 2);
    assert.ok(!csv.includes("\u001b"));
    // the vm column starts with a quote so a spreadsheet shows text, not a formula
    assert.match(lines[1] ?? "", /,"'=HYPERLINK\(""http:\/\/x""\)\\x1B\[31mdc01\\u\{202E\}",/);
  });

  it("ndjson: one parseable alert per line, values unchanged, no raw bidi", () => {
    const out = formatAlerts("ndjson", alerts(), summary);
    assert.ok(!out.includes("\u202e"));
    const parsed = out.split("\n").map((l) => JSON.parse(l) as Alert);
    assert.equal(parsed.length, alerts().length);
    assert.equal(parsed[0]?.vm, HOSTILE_VM);
  });

  it("json: the summary is the final member", () => {
    const doc = JSON.parse(formatAlerts("json", alerts(), summary)) as Record<string, unknown>;
    assert.deepEqual(Object.keys(doc), ["version", "alerts", "summary"]);
  });

  it("summary text: counts, coverage and rules not run", () => {
    const text = summaryText({
      ...summary,
      rules: {
        ran: [],
        disabled: [{ rule: "outside-hours", why: "needs a policy file (--policy)" }],
        failures: [],
      },
    });
    assert.match(text, /attribution coverage 100\.0%/);
    assert.match(text, /alerts: 1 \(high 1\); by rule: outside-hours 1/);
    assert.match(text, /rule outside-hours not run: needs a policy file/);
  });

  it("table: says so when there is nothing to show", () => {
    assert.equal(alertsTable([]), "No alerts.");
  });
});

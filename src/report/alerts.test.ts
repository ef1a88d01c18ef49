import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { run } from "../../test/helpers/detect.js";
import { op } from "../../test/helpers/operations.js";
import type { Alert } from "../model/alert.js";
import type { Incident } from "../model/incident.js";
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

// One run: every call sees the same alert and incident (ids derive from the operations' lines).
const detected = run([
  op({ time: "2026-03-14T02:02:00Z", principal: "CORP\\alice", vm: HOSTILE_VM, opId: "esxui-1" }),
]);
const alerts = (): readonly Alert[] => detected.alerts;
const incidents = (): readonly Incident[] => detected.incidents;

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
  incidents: { total: 1, bySeverity: { ...emptySeverityCounts(), high: 1 } },
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

  it("ndjson: the incident, then its alerts, one typed object per line, no raw bidi", () => {
    const out = formatAlerts("ndjson", alerts(), summary, incidents());
    assert.ok(!out.includes("\u202e"));
    const parsed = out
      .split("\n")
      .map((l) => JSON.parse(l) as { type: string; id: string; vm?: string; vms?: string[] });
    assert.deepEqual(
      parsed.map((p) => p.type),
      ["incident", "alert"],
    );
    assert.equal(parsed[0]?.id, incidents()[0]?.id);
    assert.deepEqual(parsed[0]?.vms, [HOSTILE_VM]);
    assert.equal(parsed[1]?.vm, HOSTILE_VM);
    assert.equal(parsed[1]?.id, alerts()[0]?.id);
  });

  it("json: version 2 with incidents and alerts; the summary is the final member", () => {
    const doc = JSON.parse(formatAlerts("json", alerts(), summary, incidents())) as Record<
      string,
      unknown
    >;
    assert.deepEqual(Object.keys(doc), ["version", "incidents", "alerts", "summary"]);
    assert.equal(doc["version"], 2);
  });

  it("scan table: the incident line, its title escaped, its alerts indented under it", () => {
    const text = formatAlerts("table", alerts(), summary, incidents());
    assert.ok(!text.includes("\u001b") && !text.includes("\u202e"));
    const lines = text.split("\n");
    assert.match(lines[0] ?? "", /^INCIDENT [A-Z]+ +in-[0-9a-f]{16} {2}2026-03-14 02:02Z/);
    assert.match(lines[1] ?? "", /^ {2}CORP\\alice on =HYPERLINK.*\\x1B\[31mdc01/);
    assert.match(
      lines[2] ?? "",
      /^ {2}critical: two rules agree \(direct-host-access, outside-hours\): raised from high to critical$/,
    );
    assert.match(lines[3] ?? "", /^ {4}SEVERITY {2}ID/);
    assert.match(lines[4] ?? "", new RegExp(`^ {4}[A-Z]+ +${alerts()[0]?.id ?? "?"}`));
  });

  it("scan csv: an incident row, then its alert rows, formulas neutralised in both", () => {
    const csv = formatAlerts("csv", alerts(), summary, incidents());
    const lines = csv.split("\r\n");
    assert.equal(lines.length, 3);
    assert.match(lines[0] ?? "", /,type,incident,alerts$/);
    const [incident] = incidents();
    const [alert] = alerts();
    assert.ok(incident && alert);
    assert.ok(lines[1]?.startsWith(`${incident.id},`));
    assert.ok(lines[1]?.endsWith(`,incident,${incident.id},${alert.id}`));
    assert.ok(lines[2]?.startsWith(`${alert.id},`));
    assert.ok(lines[2]?.endsWith(`,alert,${incident.id},`));
    assert.match(lines[1] ?? "", /,"'=HYPERLINK/);
    assert.ok(!csv.includes("\u001b"));
  });

  it("escapes what linked the alerts: a hostile session id shown in the table, kept in JSON", () => {
    const session = "s1\u001b]8;;http://x\u0007\u202e";
    const r = run([
      op({ time: "2026-03-14T02:02:00Z", vm: "dc01", session }),
      op({ time: "2026-03-14T02:04:00Z", vm: "dc02", session }),
    ]);
    assert.equal(r.incidents.length, 1);
    const text = formatAlerts("table", r.alerts, summary, r.incidents);
    for (const raw of ["\u0007", "\u001b", "\u202e"]) assert.ok(!text.includes(raw));
    assert.match(
      text,
      /linked by: same session s1\\x1B\]8;;http:\/\/x\\x07\\u\{202E\} \(2 alerts\)/,
    );
    const doc = JSON.parse(formatAlerts("json", r.alerts, summary, r.incidents)) as {
      incidents: Incident[];
    };
    assert.equal(doc.incidents[0]?.links[0]?.value, session);
  });

  it("never leaves out an alert no incident holds", () => {
    const text = formatAlerts("ndjson", alerts(), summary, []);
    assert.equal(text.split("\n").length, 1);
    assert.match(formatAlerts("table", alerts(), summary, []), /^ALERTS IN NO INCIDENT/);
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
    assert.match(text, /incidents: 1 \(high 1\)\nalerts: 1 \(high 1\); by rule: outside-hours 1/);
    assert.match(text, /rule outside-hours not run: needs a policy file/);
    const grouped = summaryText({
      ...summary,
      rules: {
        ran: [],
        disabled: [
          { rule: "rate-anomaly", why: "needs a baseline" },
          { rule: "outside-hours", why: "needs a policy file (--policy)" },
          { rule: "fan-out", why: "needs a baseline" },
        ],
        failures: [],
      },
    });
    assert.match(grouped, /\n {2}rules rate-anomaly, fan-out not run: needs a baseline\n/);
    assert.equal(grouped.match(/not run/g)?.length, 2);
  });

  it("table: says so when there is nothing to show", () => {
    assert.equal(alertsTable([]), "No alerts.");
  });
});

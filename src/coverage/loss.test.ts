/**
 * Loss measured from the evidence itself: holes in a vCenter's event keys and ESXi's own reports
 * of failed forwarding, as coverage findings (batch and, with `settledBefore`, live).
 */
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { summarise } from "../attribute/summary.js";
import { source } from "../attribute/fixtures/records.js";
import type { InputSource, LoggingRecord } from "../model/record.js";
import { defaultPolicy, parsePolicy } from "../policy/load.js";
import type { Policy } from "../policy/types.js";
import { CoverageCollector } from "./collect.js";
import { coverageReport } from "./findings.js";
import { FIX } from "./fixes.js";
import { KeyRuns } from "./keys.js";

const T0 = Date.parse("2026-03-02T12:00:00.000Z");
const at = (s: number): string => new Date(T0 + s * 1000).toISOString();

const stream: InputSource = { ...source("vcsa01-events.log"), format: "vc-events" };

function key(k: number, s: number, src: InputSource = stream): LoggingRecord {
  return {
    type: "logging",
    kind: "vc.event-key",
    time: at(s),
    vcenter: "vcsa01.lab",
    eventKey: String(k),
    evidence: "verbatim",
    prov: { source: src, line: k, lineCount: 1, raw: `Event [${k}] [1-1] …` },
  };
}

function failure(host: string, s: number, target: string): LoggingRecord {
  return {
    type: "logging",
    kind: "esx.remote-failure",
    time: at(s),
    host,
    target,
    evidence: "inferred",
    prov: {
      source: { ...source("syslog.log"), format: "syslog" },
      line: s,
      lineCount: 1,
      raw: `<14>${at(s)} ${host} vobd[1]: [UserLevelCorrelator] 1us: [vob.user.vmsyslogd.remote.failure] The host "${target}" has become unreachable.`,
    },
  };
}

function report(records: LoggingRecord[], policy: Policy = defaultPolicy(), settled?: number) {
  const c = new CoverageCollector(policy.coverage.gapMs);
  for (const r of records) c.add(r);
  return coverageReport(c.snapshot(policy.coverage.gapMs, settled), summarise([]), policy);
}

describe("vCenter event-key holes", () => {
  it("KeyRuns: runs merge when a late key fills a hole; duplicates change nothing", () => {
    const runs = new KeyRuns();
    for (const k of [10, 11, 14, 12, 12, 20]) runs.add(k, T0 + k);
    assert.equal(runs.received, 5);
    assert.deepEqual(
      runs.holes().map((h) => [h.after, h.before, h.missing]),
      [
        [12, 14, 1],
        [14, 20, 5],
      ],
    );
    runs.add(13, T0);
    assert.deepEqual(
      runs.holes().map((h) => [h.after, h.before]),
      [[14, 20]],
    );
    assert.deepEqual(runs.holes(T0 + 20), [], "the hole's upper key is not settled yet");
    assert.equal(runs.first, 10);
    assert.equal(runs.last, 20);
  });

  it("reports missing keys per vCenter with the range, the count and the times", () => {
    const r = report([key(1000, 0), key(1001, 1), key(1003, 3), key(1002, 2), key(1007, 7)]);
    const v = r.vcenterKeys[0];
    assert.equal(v?.vcenter, "vcsa01.lab");
    assert.equal(v?.missing, 3);
    assert.equal(v?.holes, 1);
    assert.deepEqual(v?.listed, [
      {
        after: 1003,
        before: 1007,
        missing: 3,
        from: at(3),
        to: at(7),
        fromAt: { input: stream.path, line: 1003 },
        toAt: { input: stream.path, line: 1007 },
      },
    ]);
    const f = r.findings.find((x) => x.kind === "vcenter-event-gap");
    assert.equal(f?.host, "vcsa01.lab");
    assert.equal(f?.severity, "gap");
    assert.match(f?.message ?? "", /3 event keys never received in 1 hole/);
    assert.match(f?.message ?? "", /1004–1006/);
    assert.ok(f?.fix.includes(FIX.reliableTransport));
  });

  it("a complete sequence, even out of order, is no finding", () => {
    const r = report([key(5, 0), key(7, 2), key(6, 1), key(8, 3)]);
    assert.equal(r.vcenterKeys[0]?.missing, 0);
    assert.ok(!r.findings.some((f) => f.kind === "vcenter-event-gap"));
  });

  it("honours coverage.vcenterEventGap: holes at or below it are not reported", () => {
    const policy = parsePolicy(
      "sites: [{ name: s, zone: UTC }]\ncoverage: { vcenterEventGap: 3 }\n",
      { name: "p.yaml" },
    );
    assert.equal(policy.coverage.vcenterEventGap, 3);
    const records = [key(1, 0), key(5, 1), key(6, 2), key(20, 3)];
    const r = report(records, policy);
    const f = r.findings.filter((x) => x.kind === "vcenter-event-gap");
    assert.equal(f.length, 1);
    assert.match(f[0]?.message ?? "", /widest 13/);
    assert.equal(r.thresholds.vcenterEventGap, 3);
    const none = parsePolicy(
      "sites: [{ name: s, zone: UTC }]\ncoverage: { vcenterEventGap: 13 }\n",
      { name: "p.yaml" },
    );
    assert.ok(!report(records, none).findings.some((x) => x.kind === "vcenter-event-gap"));
    assert.throws(() =>
      parsePolicy("sites: [{ name: s, zone: UTC }]\ncoverage: { vcenterEventGap: -1 }\n", {
        name: "p.yaml",
      }),
    );
  });

  it("live: a hole counts only once the key above it is older than the settled time", () => {
    const records = [key(1, 0), key(2, 1), key(4, 10)];
    assert.equal(report(records, defaultPolicy(), T0 + 10_000).vcenterKeys[0]?.missing, 0);
    assert.equal(report(records, defaultPolicy(), T0 + 10_001).vcenterKeys[0]?.missing, 1);
  });

  it("keys of an export (a query, usually filtered) say nothing of loss", () => {
    const exported: InputSource = { ...source("events.json"), format: "vc-events-json" };
    const r = report([key(1, 0, exported), key(9, 1, exported)]);
    assert.deepEqual(r.vcenterKeys, []);
  });
});

describe("forwarding failures the hosts report", () => {
  it("one finding per host, with its times, log hosts and first line", () => {
    const r = report([
      failure("esx-a.lab", 0, "udp://10.0.0.5:514"),
      failure("esx-a.lab", 60, "udp://10.0.0.5:514"),
      failure("esx-b.lab", 5, "ssl://log:1514"),
    ]);
    const fs = r.findings.filter((f) => f.kind === "remote-logging-failed");
    assert.deepEqual(
      fs.map((f) => f.host),
      ["esx-a.lab", "esx-b.lab"],
    );
    assert.match(
      fs[0]?.message ?? "",
      /2 times from 2026-03-02T12:00:00.000Z to 2026-03-02T12:01:00.000Z/,
    );
    assert.match(fs[0]?.message ?? "", /udp:\/\/10\.0\.0\.5:514/);
    assert.match(fs[0]?.message ?? "", /first report: <14>2026-03-02T12:00:00.000Z esx-a.lab vobd/);
    assert.ok(fs[0]?.fix.includes(FIX.remoteFailureAlarm));
    const a = r.loggingFailures.find((f) => f.host === "esx-a.lab");
    assert.equal(a?.reports, 2);
    assert.equal(a?.evidence.length, 2);
    assert.equal(r.unplaced, 0, "a vobd line is no unplaced record");
    assert.ok(!r.sources.some((s) => s.host === "esx-a.lab"), "nor a source of records");
  });

  it("lost messages are summed", () => {
    const lost = (s: number, n: number): LoggingRecord => ({
      ...failure("esx-a.lab", s, "10.0.0.5:514"),
      kind: "esx.messages-lost",
      count: n,
    });
    const r = report([lost(0, 100), lost(5, 23)]);
    const f = r.findings.find((x) => x.kind === "log-messages-lost");
    assert.match(f?.message ?? "", /123 log messages lost in 2 reports/);
  });
});

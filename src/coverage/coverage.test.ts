import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { summarise } from "../attribute/summary.js";
import { obs, sess, source } from "../attribute/fixtures/records.js";
import type { Operation } from "../model/operation.js";
import type { Observation } from "../model/record.js";
import { defaultPolicy, parsePolicy } from "../policy/load.js";
import type { Policy } from "../policy/types.js";
import { CoverageCollector, sequencesOf } from "./collect.js";
import { coverageReport, type FindingKind } from "./findings.js";
import { FIX } from "./fixes.js";

const H = 3_600_000;
const T0 = Date.parse("2026-03-01T00:00:00.000Z");
const at = (ms: number): string => new Date(T0 + ms).toISOString();

/** A bare operation over the given observations (the attribution is beside the point here). */
function op(host: string, api: string, observations: Observation[], vm = "vm-a"): Operation {
  return {
    id: `${host}-${api}-${observations[0]?.time ?? ""}`,
    time: observations[0]?.time,
    host,
    vm: { name: vm },
    api,
    category: "execute",
    outcome: "success",
    attribution: { level: "exact", reason: "test", evidence: [] },
    origin: { via: "vcenter" },
    observations,
  };
}

function report(
  records: Parameters<CoverageCollector["add"]>[0][],
  ops: Operation[] = [],
  policy: Policy = defaultPolicy(),
  asOf?: number,
) {
  const c = new CoverageCollector(policy.coverage.gapMs);
  for (const r of records) c.add(r);
  for (const o of ops) c.addOperation(o);
  return coverageReport(
    c.snapshot(policy.coverage.gapMs),
    summarise(ops),
    policy,
    asOf !== undefined ? { asOf } : {},
  );
}

const kinds = (r: ReturnType<typeof report>): FindingKind[] => r.findings.map((f) => f.kind);

describe("coverage", () => {
  it("finds a silence longer than the threshold exactly, and none shorter", () => {
    const src = source("hostd.log");
    const times = [0, H, 30 * H, 31 * H];
    const records = times.map((t) =>
      obs(src, "hostd.event", { time: at(t), host: "esx1", method: "Start Program" }),
    );
    const r = report(records);
    const row = r.sources.find((s) => s.host === "esx1" && s.source === "hostd");
    assert.equal(row?.records, 4);
    assert.deepEqual(row?.gaps, [{ from: at(H), to: at(30 * H), ms: 29 * H }]);
    const silent = r.findings.find((f) => f.kind === "silent-gap");
    assert.ok(silent?.fix.includes(FIX.hostdInfo));
    const wide = parsePolicy("sites: [{ name: s, zone: UTC }]\ncoverage: { gap: 30h }\n", {
      name: "p.yaml",
    });
    assert.deepEqual(report(records, [], wide).sources[0]?.gaps, []);
  });

  it("reads hostd event numbers: duplicates ignored, jumps counted, restarts cut runs", () => {
    const { sequences, restarts } = sequencesOf([
      [T0, 100],
      [T0 + 1000, 101],
      [T0 + 1000, 101],
      [T0 + 2000, 105],
      [T0 + 9000, 3],
      [T0 + 9500, 4],
    ]);
    assert.equal(restarts, 1);
    assert.deepEqual(
      sequences.map((s) => [s.firstNumber, s.lastNumber, s.seen, s.missing]),
      [
        [100, 105, 3, 3],
        [3, 4, 2, 0],
      ],
    );
    assert.deepEqual(sequences[0]?.widest[0], {
      after: 101,
      before: 105,
      missing: 3,
      from: at(1000),
      to: at(2000),
    });
    const src = source("hostd.log");
    const records = [
      obs(src, "hostd.event", { time: at(0), host: "esx1", eventKey: "10" }),
      sess(src, "login", { time: at(1000), host: "esx1", eventKey: "11", process: "hostd" }),
      obs(src, "hostd.event", { time: at(2000), host: "esx1", eventKey: "5000" }),
    ];
    const policy = parsePolicy("sites: [{ name: s, zone: UTC }]\ncoverage: { eventGap: 100 }\n", {
      name: "p.yaml",
    });
    const r = report(records, [], policy);
    assert.equal(r.events[0]?.sequences[0]?.missing, 4988);
    const finding = r.findings.find((f) => f.kind === "event-gap");
    assert.match(finding?.message ?? "", /possible loss/);
    assert.match(finding?.message ?? "", /4988 between events 11/);
  });

  it("says which sources are absent, and which stop before the host's other evidence", () => {
    const hostd = source("hostd.log");
    const vmx = source("vmware.log", { hostHint: "esx1" });
    const records = [
      obs(hostd, "hostd.event", { time: at(0), host: "esx1" }),
      obs(vmx, "vmx.request", { time: at(0), vm: { dir: "/vmfs/volumes/ds/a" } }),
      obs(vmx, "vmx.request", { time: at(72 * H), vm: { dir: "/vmfs/volumes/ds/a" } }),
    ];
    const r = report(records);
    const absent = r.findings.filter((f) => f.kind === "source-absent").map((f) => f.source);
    assert.deepEqual(absent.sort(), ["audit records", "vCenter events", "vpxd"]);
    const stopped = r.findings.find((f) => f.kind === "stopped-early");
    assert.equal(stopped?.source, "hostd");
    assert.match(stopped?.message ?? "", /3\.0 d before/);
    assert.ok(
      r.findings
        .find((f) => f.kind === "source-absent" && f.source === "audit records")
        ?.fix.includes(FIX.auditRecords),
    );
  });

  it("holds the evidence of each host and VM against the policy's retention", () => {
    const a = source("a/hostd.log");
    const b = source("b/hostd.log");
    const records = [
      obs(a, "hostd.event", { time: at(0), host: "esx-a", vm: { name: "old-vm" } }),
      obs(a, "hostd.event", { time: at(20 * 24 * H), host: "esx-a", vm: { name: "old-vm" } }),
      obs(b, "hostd.event", { time: at(15 * 24 * H), host: "esx-b", vm: { name: "new-vm" } }),
    ];
    const policy = parsePolicy("sites: [{ name: s, zone: UTC }]\ncoverage: { retention: 10d }\n", {
      name: "p.yaml",
    });
    const r = report(records, [], policy);
    assert.equal(r.asOf, at(20 * 24 * H));
    assert.equal(r.requiredFrom, at(10 * 24 * H));
    assert.equal(r.firstEvidence, at(0));
    const short = r.findings.filter((f) => f.kind === "retention-short");
    assert.deepEqual(
      short.map((f) => f.host),
      ["esx-b"],
    );
    assert.match(short[0]?.message ?? "", /5\.0 d short of the 10 d/);
    assert.match(
      r.findings.find((f) => f.kind === "retention-short-vms")?.message ?? "",
      /1 VM of 2 .*new-vm/,
    );
    // measured back from an explicit instant (5 days in: evidence needed from 5 days before T0)
    const early = report(records, [], policy, T0 + 5 * 24 * H);
    assert.equal(early.requiredFrom, at(-5 * 24 * H));
    assert.equal(early.findings.filter((f) => f.kind === "retention-short").length, 2);
  });

  it("finds methods vmware.log shows that hostd does not, and clock skew between sources", () => {
    const hostd = source("hostd.log");
    const vmx = source("vmware.log");
    const vc = source("events.json");
    const records = [
      obs(hostd, "hostd.event", { time: at(0), host: "esx1" }),
      obs(hostd, "hostd.event", { time: at(10 * H), host: "esx1" }),
    ];
    const ops: Operation[] = [];
    for (let i = 0; i < 3; i++) {
      const t = i * H;
      const e = obs(hostd, "hostd.event", { time: at(t), host: "esx1" });
      const v = obs(vc, "vc.event", { time: at(t + 30_000), host: "esx1" });
      ops.push(op("esx1", "StartProgramInGuest", [e, v]));
    }
    ops.push(
      op("esx1", "StartProgramInGuest", [obs(vmx, "vmx.request", { time: at(5 * H) })]),
      op("esx1", "ListProcessesInGuest", [obs(vmx, "vmx.request", { time: at(6 * H) })]),
    );
    const r = report(records, ops);
    assert.deepEqual(r.silentMethods, [
      { host: "esx1", api: "StartProgramInGuest", operations: 1, withinHostdSpan: 1 },
    ]);
    const silent = r.findings.find((f) => f.kind === "hostd-silent-method");
    assert.deepEqual(silent?.fix, [FIX.hostdInfo]);
    const skew = r.skew.find((s) => s.source === "vCenter events");
    assert.deepEqual(skew, {
      host: "esx1",
      source: "vCenter events",
      reference: "hostd",
      operations: 3,
      medianMs: 30_000,
    });
    assert.match(
      r.findings.find((f) => f.kind === "clock-skew")?.message ?? "",
      /30\.0 s behind hostd/,
    );
  });

  it("joins records whose inputs name no host to the host their operations name", () => {
    const vmx = source("vm-a/vmware.log");
    const v = obs(vmx, "vmx.request", { time: at(0), vm: { dir: "/vmfs/volumes/ds/vm-a" } });
    const r = report([v], [op("esx7", "ListProcessesInGuest", [v])]);
    assert.deepEqual(
      r.sources.map((s) => [s.host, s.source]),
      [["esx7", "vmware.log"]],
    );
    const alone = report([v]);
    assert.equal(alone.sources[0]?.host, "(no host name: vm-a/vmware.log)");
  });

  it("turns attribution gaps and critical-VM use into findings with their fixes", () => {
    const src = source("hostd.log");
    const e = obs(src, "hostd.event", { time: at(0), host: "esx1", vm: { name: "dc01" } });
    const unknown: Operation = {
      ...op("esx1", "InitiateFileTransferFromGuest", [e], "dc01"),
      attribution: { level: "unknown", reason: "nothing names it", evidence: [] },
    };
    const policy = parsePolicy(
      "sites: [{ name: s, zone: UTC }]\ntiers: [{ name: critical, vms: [dc*] }]\n",
      { name: "p.yaml" },
    );
    const r = report([e], [unknown], policy);
    assert.ok(kinds(r).includes("unattributed"));
    assert.ok(
      r.findings
        .find((f) => f.kind === "critical-vm-guest-ops")
        ?.fix.includes(FIX.disableOnCritical),
    );
    assert.ok(
      r.findings
        .find((f) => f.kind === "files-out-of-guests")
        ?.fix.includes(FIX.restrictPrivileges),
    );
    // findings are ordered: gaps, then warnings, then information
    const order = r.findings.map((f) => f.severity);
    assert.deepEqual(
      order,
      [...order].sort((a, b) => rank(a) - rank(b)),
    );
  });
});

const rank = (s: string): number => ["gap", "warning", "info"].indexOf(s);

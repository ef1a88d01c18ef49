import { describe, it } from "node:test";
import assert from "node:assert/strict";
import { correlate } from "../attribute/correlate.js";
import { summarise } from "../attribute/summary.js";
import { artefactsHostd, obs, source, vic3029 } from "../attribute/fixtures/records.js";
import {
  CSV_COLUMNS,
  type eventsDocument,
  formatOperations,
  operationJson,
  OPERATION_SCHEMA,
  OPERATIONS_SCHEMA,
  summaryText,
  type EventsContext,
} from "./operations.js";

const context: EventsContext = {
  tool: { name: "guestops", version: "0.0.0-test" },
  assumeTz: "UTC",
  filters: {},
  inputs: [{ path: "hostd.log", sha256: "ab".repeat(32), format: "hostd", records: 5 }],
  formats: { hostd: 1 },
  issues: {},
  counts: {
    records: 5,
    observations: 5,
    sessionRecords: 0,
    duplicateObservations: 0,
    operations: 2,
    filteredOut: 0,
  },
};

const hostile = () => {
  const src = source("evil.log");
  return correlate([
    obs(src, "hostd.state", {
      time: "2024-01-01T00:00:00.000Z",
      opId: "abc12345",
      user: "=cmd|' /C calc'!A0",
      vm: { vmx: "/vmfs/volumes/ds/x/x.vmx" },
    }),
    obs(src, "hostd.event", {
      time: "2024-01-01T00:00:00.040Z",
      api: "StartProgramInGuest",
      method: "Start Program",
      eventKey: "7",
      vm: { name: "x\u001b]0;owned\u0007\u001b[2J<script>\u202e" },
    }),
  ]).operations;
};

describe("operation JSON", () => {
  it("carries the documented fields, with evidence ids that resolve", () => {
    const r = correlate(vic3029());
    const [first] = r.operations;
    assert.ok(first);
    const j = operationJson(first);
    assert.equal(j.schema, OPERATION_SCHEMA);
    assert.equal(j.api, "StartProgramInGuest");
    assert.deepEqual(j.attack, ["T1675", "T1059"]);
    assert.equal(j.attribution.level, "exact");
    assert.equal(j.attribution.principal?.id, "root");
    assert.equal(j.fault, "vmodl.fault.SystemError");
    assert.equal(j.guest?.program, "kill");
    const ids = new Set(j.evidence.map((e) => e.id));
    for (const id of j.attribution.evidence) assert.ok(ids.has(id), id);
    for (const e of j.evidence) {
      assert.equal(typeof e.file, "string");
      assert.equal(typeof e.line, "number");
      assert.equal(typeof e.raw, "string");
    }
  });

  it("lists session evidence after observations", () => {
    const r = correlate(artefactsHostd());
    const j = operationJson(r.operations[0] ?? assert.fail());
    const session = j.evidence.find((e) => e.id === "session:0");
    assert.equal(session?.kind, "session.login");
    assert.equal(session?.userAgent, "PowerCLI/13.2.1.22851661");
    assert.deepEqual(j.attribution.evidence, ["session:0"]);
  });

  it("writes a versioned document with context and summary", () => {
    const r = correlate(vic3029());
    const doc = JSON.parse(
      formatOperations("json", r.operations, summarise(r), context),
    ) as ReturnType<typeof eventsDocument>;
    assert.equal(doc.schema, OPERATIONS_SCHEMA);
    assert.equal(doc.context.tool.version, "0.0.0-test");
    assert.equal(doc.summary.operations, 2);
    assert.equal(doc.operations.length, 2);
    assert.equal(doc.operations[1]?.time, "2016-11-04T19:14:11.888Z");
  });
});

describe("escaping in every format", () => {
  const ops = hostile();

  it("json keeps the value but no raw control characters", () => {
    const text = formatOperations("json", ops, summarise(ops), context);
    // eslint-disable-next-line no-control-regex -- asserting their absence
    assert.doesNotMatch(text, /[\u0000-\u0009\u000b-\u001f\u007f-\u009f\u202e]/);
    const doc = JSON.parse(text) as { operations: { vm: { name: string } }[] };
    assert.equal(doc.operations[0]?.vm.name, "x\u001b]0;owned\u0007\u001b[2J<script>\u202e");
  });

  it("ndjson is one line per operation without raw controls", () => {
    const text = formatOperations("ndjson", ops, summarise(ops), context);
    assert.equal(text.trimEnd().split("\n").length, ops.length);
    // eslint-disable-next-line no-control-regex -- asserting their absence
    assert.doesNotMatch(text, /[\u0000-\u0009\u000b-\u001f\u007f-\u009f\u202e]/);
  });

  it("table makes controls visible", () => {
    const text = formatOperations("table", ops, summarise(ops), context);
    assert.match(text, /x\\x1B\]0;owned\\x07/);
    // eslint-disable-next-line no-control-regex -- asserting their absence
    assert.doesNotMatch(text, /[\u0000-\u0009\u000b-\u001f\u007f-\u009f\u202e]/);
  });

  it("csv neutralises formulas and keeps one record per line", () => {
    const text = formatOperations("csv", ops, summarise(ops), context);
    const lines = text.split("\r\n").filter((l) => l);
    assert.equal(lines.length, 1 + ops.length);
    assert.equal(lines[0], CSV_COLUMNS.join(","));
    assert.match(text, /,'=cmd\|' \/C calc'!A0,/);
    // eslint-disable-next-line no-control-regex -- asserting their absence
    assert.doesNotMatch(text, /[\u0000-\u0009\u000b\u000c\u000e-\u001f\u007f-\u009f\u202e]/);
  });

  it("the human summary escapes input names", () => {
    const evil: EventsContext = {
      ...context,
      inputs: [{ path: "a\u001b[31m.log", sha256: "", format: "hostd" }],
    };
    const text = summaryText(summarise(ops), evil, { verbose: true });
    assert.match(text, /a\\x1B\[31m\.log/);
    assert.match(text, /coverage \(exact \+ correlated\) 100%/);
  });
});

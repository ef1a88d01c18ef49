import { strict as assert } from "node:assert";
import { mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, it } from "node:test";
import { readInputs } from "../src/ingest/read.js";
import { defineReader, type DocumentReader, type LineReader } from "../src/ingest/types.js";
import type { CanonicalRecord } from "../src/model/record.js";

// A reader with a bug that a hostile line triggers: it throws instead of reporting an issue.
const fragileLines: LineReader = defineReader({
  name: "hostd",
  title: "throws on BOOM",
  shape: "lines",
  markers: ["Guest"],
  sniff: () => 1,
  open: (ctx) => ({
    line: (text, lineNo) => {
      if (text.includes("BOOM")) throw new TypeError("cannot read properties of undefined");
      ctx.emit({
        type: "observation",
        kind: "hostd.event",
        time: "2024-06-04T21:58:00.975Z",
        evidence: "verbatim",
        prov: { source: ctx.source, line: lineNo, lineCount: 1, raw: text },
      });
    },
    end: () => undefined,
  }),
});

const fragileDocument: DocumentReader = defineReader({
  name: "vc-events-json",
  title: "throws after the first element",
  shape: "document",
  sniff: () => 1,
  read: async (bytes, ctx) => {
    for await (const chunk of bytes) {
      void chunk;
      ctx.emit({
        type: "session",
        kind: "login",
        time: "2024-06-04T21:58:00.975Z",
        evidence: "verbatim",
        prov: { source: ctx.source, line: 1, lineCount: 1, raw: "{}" },
      });
      throw new RangeError("bad state");
    }
  },
});

describe("reader failures", () => {
  const dir = mkdtempSync(join(tmpdir(), "guestops-reader-error-"));

  it("skips and counts the line a line reader throws on, and reads the rest", async () => {
    const file = join(dir, "hostd.log");
    writeFileSync(file, "Guest one\nGuest BOOM two\nGuest three\n");
    const records: CanonicalRecord[] = [];
    const summary = await readInputs(
      [file],
      { readers: [fragileLines] },
      {
        record: (r) => records.push(r),
      },
    );
    assert.deepEqual(
      records.map((r) => r.prov.line),
      [1, 3],
    );
    const issue = summary.inputs[0]?.issues.find((i) => i.code === "reader_error");
    assert.equal(issue?.count, 1);
    assert.equal(issue?.examples[0]?.line, 2);
  });

  it("keeps what a document reader emitted before it threw, and reports the failure", async () => {
    const file = join(dir, "events.json");
    writeFileSync(file, '[{"a":1},{"b":2}]');
    const other = join(dir, "other.log");
    writeFileSync(other, "Guest fine\n");
    const records: CanonicalRecord[] = [];
    const summary = await readInputs(
      [file, other],
      { readers: [fragileDocument], inputFormat: "vc-events-json" },
      { record: (r) => records.push(r) },
    );
    assert.equal(records.length, 2, "the element before the failure and the next input's record");
    assert.equal(summary.inputs[0]?.issues.find((i) => i.code === "reader_error")?.count, 1);
  });
});

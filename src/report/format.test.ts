import assert from "node:assert/strict";
import { Writable } from "node:stream";
import { describe, it } from "node:test";
import { safeJsonStringify } from "./escape.js";
import {
  defineFormats,
  jsonDocumentFormat,
  recordWriter,
  renderRecords,
  streamSink,
  stringSink,
  writeRecords,
  type OutputFormat,
} from "./format.js";

interface Doc {
  readonly title: string;
  readonly extra?: string;
}

// values that JSON.stringify indents, omits or escapes (C1, bidi override, U+2028, nested lists)
const ITEMS: readonly unknown[] = [
  { a: 1, b: ["x", { c: "\u0085\u202e" }], d: undefined, e: [], f: {} },
  "line\u2028sep",
  [1, [2, [3]]],
  { nested: { deeper: { list: [{}, [], "\u001b[31m"] } } },
];

const doc = jsonDocumentFormat<unknown, Doc>({
  name: "json",
  before: [["kind", "test"]],
  arrayKey: "items",
  after: (c) => [
    ["title", c.title],
    ["extra", c.extra],
    ["after", { n: c.title.length }],
  ],
  element: (x) => x,
  end: "\n",
});

/** A slow consumer with a tiny buffer: every write beyond 16 bytes waits for `drain`. */
function slowWritable(): { stream: Writable; text: () => string; waits: () => number } {
  const chunks: Buffer[] = [];
  let full = 0;
  const stream = new Writable({
    highWaterMark: 16,
    write(chunk: Buffer, _enc, done) {
      chunks.push(chunk);
      setImmediate(done);
    },
  });
  const write = stream.write.bind(stream);
  stream.write = ((chunk: string) => {
    const ok = write(chunk);
    if (!ok) full++;
    return ok;
  }) as typeof stream.write;
  return { stream, text: () => Buffer.concat(chunks).toString("utf8"), waits: () => full };
}

describe("output formats", () => {
  it("streams a JSON document with the bytes of one safeJsonStringify call", () => {
    for (const items of [[], ITEMS.slice(0, 1), ITEMS]) {
      for (const context of [{ title: "t\u202e" }, { title: "t", extra: "e" }]) {
        const expected = `${safeJsonStringify(
          {
            kind: "test",
            items,
            title: context.title,
            extra: context.extra,
            after: { n: context.title.length },
          },
          2,
        )}\n`;
        assert.equal(renderRecords(doc, items, undefined, context), expected);
      }
    }
  });

  it("writes through a full stream, waiting for drain, the same bytes as the rendered string", async () => {
    const many = Array.from({ length: 5000 }, (_, i) => ({ i, s: `item ${i} é\u2028` }));
    const slow = slowWritable();
    const sink = streamSink(slow.stream);
    await writeRecords(doc, many, undefined, { title: "x" }, sink);
    await sink.close();
    await new Promise<void>((done) => slow.stream.end(done));
    assert.equal(slow.text(), renderRecords(doc, many, undefined, { title: "x" }));
    assert.ok(slow.waits() > 0, "the stream was full at least once");
  });

  it("reports a stream's error instead of writing on", async () => {
    const failing = new Writable({
      write(_chunk, _enc, done) {
        done(new Error("EPIPE-like"));
      },
    });
    const sink = streamSink(failing);
    const big = Array.from({ length: 20_000 }, (_, i) => i);
    const lines: OutputFormat<number, unknown> = {
      name: "lines",
      start: () => ({ head: "", record: (n) => `${n}\n`, tail: () => "" }),
    };
    await assert.rejects(async () => {
      await writeRecords(lines, big, undefined, undefined, sink);
      await sink.close();
    }, /EPIPE-like/);
  });

  it("streams batches through a writer: the first batch is the sample, the context comes at the end", async () => {
    const seen: number[][] = [];
    const sized: OutputFormat<number, { total: number }> = {
      name: "sized",
      start: (_settings, sample) => {
        seen.push([...sample]);
        const width = Math.max(1, ...sample.map((n) => String(n).length));
        return {
          head: `[${width}]`,
          record: (n) => String(n).padStart(width),
          tail: (count, context) => `(${count} of ${context.total})`,
        };
      },
    };
    const sink = stringSink();
    const writer = recordWriter(sized, undefined, sink);
    await writer.write([]);
    await writer.write([7, 42]);
    await writer.write([100]);
    assert.equal(await writer.end({ total: 3 }), 3);
    assert.deepEqual(seen, [[7, 42]]);
    assert.equal(sink.text(), "[2] 742100(3 of 3)");
    const empty = stringSink();
    await recordWriter(sized, undefined, empty).end({ total: 0 });
    assert.equal(empty.text(), "[1](0 of 0)");
  });

  it("keeps its formats by name, in order", async () => {
    const registry = defineFormats<unknown, Doc>([doc]);
    assert.deepEqual(registry.names, ["json"]);
    assert.equal(registry.get("json"), doc);
    assert.equal(registry.has("csv"), false);
    const sink = stringSink();
    await writeRecords(doc, ITEMS, undefined, { title: "a" }, sink);
    assert.equal(sink.text(), renderRecords(doc, ITEMS, undefined, { title: "a" }));
  });
});

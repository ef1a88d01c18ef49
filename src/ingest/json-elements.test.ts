import assert from "node:assert/strict";
import { describe, it } from "node:test";
import {
  detectEncoding,
  splitJsonElements,
  type JsonElement,
  type JsonSplitProblem,
} from "./json-elements.js";

async function* chunked(data: Buffer, size: number): AsyncGenerator<Buffer> {
  for (let i = 0; i < data.length; i += size) {
    await Promise.resolve();
    yield data.subarray(i, i + size);
  }
}

async function split(
  input: string | Buffer,
  chunkSize = 1 << 16,
  maxElementChars?: number,
): Promise<{ elements: JsonElement[]; problems: JsonSplitProblem[] }> {
  const data = typeof input === "string" ? Buffer.from(input, "utf8") : input;
  const elements: JsonElement[] = [];
  const problems: JsonSplitProblem[] = [];
  for await (const el of splitJsonElements(chunked(data, chunkSize), {
    onProblem: (p) => problems.push(p),
    ...(maxElementChars !== undefined ? { maxElementChars } : {}),
  })) {
    elements.push(el);
  }
  return { elements, problems };
}

const ARRAY = `[
    {
        "Key":  1,
        "Msg":  "a } ] { [ \\" \\\\ tricky"
    },
    {
        "Key":  2,
        "Nested":  { "x": [1, 2, {"y": "}"}] }
    }
]
`;

describe("splitJsonElements", () => {
  it("yields each element of a top-level array with its exact text and start line", async () => {
    const { elements, problems } = await split(ARRAY);
    assert.deepEqual(problems, []);
    assert.equal(elements.length, 2);
    assert.equal(elements[0]?.line, 2);
    assert.equal(elements[0]?.lineCount, 4);
    assert.equal(elements[1]?.line, 6);
    assert.deepEqual(JSON.parse(elements[0]?.text ?? ""), {
      Key: 1,
      Msg: 'a } ] { [ " \\ tricky',
    });
    assert.equal(ARRAY.includes(elements[1]?.text ?? "-"), true);
  });

  it("gives the same result whatever the chunk size", async () => {
    const whole = await split(ARRAY);
    for (const size of [1, 2, 3, 5, 13]) {
      const { elements, problems } = await split(ARRAY, size);
      assert.deepEqual(elements, whole.elements, `chunk size ${size}`);
      assert.deepEqual(problems, []);
    }
  });

  it("reads NDJSON and concatenated indented objects", async () => {
    const nd = await split('{"a":1}\n{"a":2}\r\n\n{"a":3}');
    assert.deepEqual(
      nd.elements.map((e) => [e.text, e.line]),
      [
        ['{"a":1}', 1],
        ['{"a":2}', 2],
        ['{"a":3}', 4],
      ],
    );
    const govc = await split('{\n  "key": 1\n}\n{\n  "key": 2\n}\n');
    assert.deepEqual(
      govc.elements.map((e) => [e.line, e.lineCount]),
      [
        [1, 3],
        [4, 3],
      ],
    );
  });

  it("cuts a broken NDJSON line at its end instead of swallowing the lines after it", async () => {
    const { elements, problems } = await split('{"a":1}\n{"a":2,"b":{"c":3\n{"a":"x\n{"a":4}\n');
    assert.deepEqual(
      elements.map((e) => [e.text, e.line]),
      [
        ['{"a":1}', 1],
        ['{"a":2,"b":{"c":3', 2],
        ['{"a":"x', 3],
        ['{"a":4}', 4],
      ],
    );
    assert.deepEqual(problems, []);
  });

  it("reads several top-level arrays in a row and scalar elements", async () => {
    const { elements, problems } = await split('[{"a":1}]\n[{"a":2}, "s\\"}", 42, true]');
    assert.deepEqual(
      elements.map((e) => e.text),
      ['{"a":1}', '{"a":2}', '"s\\"}"', "42", "true"],
    );
    assert.deepEqual(problems, []);
  });

  it("still cuts out a malformed element whole so the reader can reject just that one", async () => {
    const { elements } = await split('[{"a": 1,, }, {"b": 2}]');
    assert.deepEqual(
      elements.map((e) => e.text),
      ['{"a": 1,, }', '{"b": 2}'],
    );
    assert.throws(() => JSON.parse(elements[0]?.text ?? ""));
  });

  it("reports a truncated array: the complete elements are kept", async () => {
    const { elements, problems } = await split('[\n{"a":1},\n{"a":2},\n{"a":');
    assert.equal(elements.length, 2);
    assert.deepEqual(problems, [{ kind: "truncated", line: 4, excerpt: '{"a":' }]);
    const open = await split('[{"a":1}');
    assert.deepEqual(open.problems, [{ kind: "truncated", line: 1, excerpt: "[" }]);
  });

  it("skips text that is not JSON to the end of its line and goes on", async () => {
    const { elements, problems } = await split(
      'WARNING: Resulting JSON is truncated\n{"a":1}\n} stray\n{"a":2}',
    );
    assert.deepEqual(
      elements.map((e) => e.text),
      ['{"a":1}', '{"a":2}'],
    );
    assert.deepEqual(
      problems.map((p) => [p.kind, p.line]),
      [
        ["unexpected", 1],
        ["unexpected", 3],
      ],
    );
  });

  it("skips an oversized element without keeping it, and reads the next", async () => {
    const big = `{"x":"${"y".repeat(5000)}"}`;
    const { elements, problems } = await split(`[${big},\n{"a":1}]`, 100, 1000);
    assert.deepEqual(
      elements.map((e) => [e.text, e.line]),
      [['{"a":1}', 2]],
    );
    assert.deepEqual(problems, [{ kind: "oversized", line: 1, size: big.length }]);
  });

  it("decodes UTF-8 with a BOM, and UTF-16LE/BE with or without one", async () => {
    const text = '[{"Name":"vm-é"}]';
    const cases: Buffer[] = [
      Buffer.concat([Buffer.from([0xef, 0xbb, 0xbf]), Buffer.from(text, "utf8")]),
      Buffer.concat([Buffer.from([0xff, 0xfe]), Buffer.from(text, "utf16le")]),
      Buffer.from(text, "utf16le"),
      Buffer.concat([Buffer.from([0xfe, 0xff]), Buffer.from(text, "utf16le").swap16()]),
    ];
    for (const [i, data] of cases.entries()) {
      for (const size of [1, 3, 64]) {
        const { elements, problems } = await split(data, size);
        assert.deepEqual(
          elements.map((e) => e.text),
          ['{"Name":"vm-é"}'],
          `case ${i} chunk ${size}`,
        );
        assert.deepEqual(problems, []);
      }
    }
  });

  it("detects encodings from the first bytes", () => {
    assert.equal(detectEncoding(Buffer.from([0xff, 0xfe, 0x5b, 0])), "utf-16le");
    assert.equal(detectEncoding(Buffer.from("[{", "utf8")), "utf-8");
    assert.equal(detectEncoding(Buffer.from("[", "utf16le")), "utf-16le");
  });

  it("yields nothing for empty or blank input", async () => {
    assert.deepEqual(await split(""), { elements: [], problems: [] });
    assert.deepEqual(await split(" \n\t\n"), { elements: [], problems: [] });
  });
});

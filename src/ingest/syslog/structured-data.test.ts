import { strict as assert } from "node:assert";
import { describe, it } from "node:test";
import { elementEnd, param, parseStructuredData } from "./structured-data.js";

describe("structured data", () => {
  it('unescapes \\", \\\\ and \\] in quoted values and keeps other backslashes', () => {
    const [el] = parseStructuredData('[api.call@6876 a="x\\"y" b="c:\\\\d" c="[1\\]" d="\\n"]');
    assert.equal(el?.id, "api.call@6876");
    assert.deepEqual(el?.params, [
      ["a", 'x"y'],
      ["b", "c:\\d"],
      ["c", "[1]"],
      ["d", "\\n"],
    ]);
    assert.equal(el?.truncated, false);
  });

  it("reads several elements and repeated names in order", () => {
    const els = parseStructuredData('[a@1 k="1" k="2"][b@2 x="y"]');
    assert.deepEqual(
      els.map((e) => [e.id, e.params]),
      [
        [
          "a@1",
          [
            ["k", "1"],
            ["k", "2"],
          ],
        ],
        ["b@2", [["x", "y"]]],
      ],
    );
    assert.equal(param(els[0] ?? { id: "", params: [], truncated: false }, "k"), "1");
  });

  it("accepts curly quotes (VCF 9 sample)", () => {
    const [el] = parseStructuredData(
      "[ops@4413 threadId=\u201d639\u201d threadName=\u201d127.0.0.1-8010-exec-26\u201d]",
    );
    assert.deepEqual(el?.params, [
      ["threadId", "639"],
      ["threadName", "127.0.0.1-8010-exec-26"],
    ]);
  });

  it("reads unquoted values with spaces and brackets up to the next known key", () => {
    const [el] = parseStructuredData(
      "[Originator@6876 sub=Vimsvc.Ticket 52 66 af opID=ec9d7fe8 user=vpxuser:<no user>]",
    );
    assert.deepEqual(el?.params, [
      ["sub", "Vimsvc.Ticket 52 66 af"],
      ["opID", "ec9d7fe8"],
      ["user", "vpxuser:<no user>"],
    ]);
  });

  it("ends an element at ] + space/EOL/[ outside quotes and value brackets", () => {
    const s = "[Originator@6876 sub=SoapAdapter[1].HTTPService] msg";
    assert.equal(elementEnd(s, 0), s.indexOf("] msg") + 1);
    const q = '[x@1 a="]"] rest';
    assert.equal(elementEnd(q, 0), q.indexOf("] rest") + 1);
    // Unbalanced bracket in an unquoted value: the first ] + space still ends it.
    const u = "[x@1 sub=a[b opID=c] rest";
    assert.equal(elementEnd(u, 0), u.indexOf("] rest") + 1);
  });

  it("marks an unclosed element as truncated and keeps what it read", () => {
    const [el] = parseStructuredData('[api.call@6876 subject="root" object="vim.vm.gu');
    assert.equal(el?.truncated, true);
    assert.deepEqual(el?.params, [
      ["subject", "root"],
      ["object", "vim.vm.gu"],
    ]);
  });

  it("keeps bare words as nameless values rather than dropping them", () => {
    const [el] = parseStructuredData("[x@1 oops k=v]");
    assert.deepEqual(el?.params, [
      ["", "oops"],
      ["k", "v"],
    ]);
  });

  it("gives nothing for the NILVALUE", () => {
    assert.deepEqual(parseStructuredData("-"), []);
  });

  it("scans 64 KiB hostile input in one pass", () => {
    for (const s of [
      "[" + "[".repeat(65536),
      '[x@1 k="' + "\\".repeat(65536),
      "[x@1 " + "k=".repeat(32768),
    ]) {
      const els = parseStructuredData(s);
      assert.ok(els.length <= 1);
    }
  });
});

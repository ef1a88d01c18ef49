import assert from "node:assert/strict";
import { Readable } from "node:stream";
import { describe, it } from "node:test";
import { detectEncoding, looksBinary, NulRuns, transcodeUtf16 } from "./text.js";

async function collect(chunks: Buffer[], encoding: "utf16le" | "utf16be"): Promise<string> {
  const out: Buffer[] = [];
  for await (const c of transcodeUtf16(Readable.from(chunks), encoding)) out.push(c);
  return Buffer.concat(out).toString("utf8");
}

/** Splits a buffer in pieces of 1..3 bytes, so that code units and surrogate pairs straddle chunks. */
const shred = (b: Buffer): Buffer[] => {
  const out: Buffer[] = [];
  for (let i = 0, k = 0; i < b.length; k++) {
    const n = (k % 3) + 1;
    out.push(b.subarray(i, i + n));
    i += n;
  }
  return out;
};

describe("detectEncoding", () => {
  it("recognises byte order marks", () => {
    assert.deepEqual(detectEncoding(Buffer.from([0xef, 0xbb, 0xbf, 0x61])), {
      encoding: "utf8",
      bom: 3,
    });
    assert.deepEqual(detectEncoding(Buffer.from([0xff, 0xfe, 0x61, 0])), {
      encoding: "utf16le",
      bom: 2,
    });
    assert.deepEqual(detectEncoding(Buffer.from([0xfe, 0xff, 0, 0x61])), {
      encoding: "utf16be",
      bom: 2,
    });
  });
  it("recognises UTF-16 without a BOM by its zero bytes", () => {
    assert.equal(detectEncoding(Buffer.from('[{"key": 1}]', "utf16le")).encoding, "utf16le");
    assert.equal(
      detectEncoding(Buffer.from('[{"key": 1}]', "utf16le").swap16()).encoding,
      "utf16be",
    );
    assert.equal(detectEncoding(Buffer.from("plain ascii text")).encoding, "utf8");
  });
});

describe("transcodeUtf16", () => {
  const text = '\ufeff[{"vm": "web-01 ünï 😀"}]\r\n';
  it("turns UTF-16LE into UTF-8 across chunk boundaries, BOM kept as a UTF-8 BOM", async () => {
    assert.equal(await collect(shred(Buffer.from(text, "utf16le")), "utf16le"), text);
  });
  it("turns UTF-16BE into UTF-8 across chunk boundaries", async () => {
    assert.equal(await collect(shred(Buffer.from(text, "utf16le").swap16()), "utf16be"), text);
  });
  it("replaces a lone surrogate and a dangling byte with U+FFFD", async () => {
    const lone = Buffer.concat([
      Buffer.from("a", "utf16le"),
      Buffer.from([0x00, 0xd8]),
      Buffer.from("b", "utf16le"),
      Buffer.from([0x63]),
    ]);
    assert.equal(await collect([lone], "utf16le"), "a\ufffdb\ufffd");
  });
});

describe("looksBinary", () => {
  it("flags control-heavy data and scattered NUL bytes, not log text with tabs or colours", () => {
    assert.equal(
      looksBinary(Buffer.from(Array.from({ length: 100 }, (_, i) => (i % 2 ? 1 : 65)))),
      true,
    );
    // a struct-like layout: short fields separated by NUL runs, no lines
    const fields = Buffer.concat(
      Array.from({ length: 40 }, (_, i) => Buffer.from(`f${i}\u0000\u0000\u0000\u0000`)),
    );
    assert.equal(looksBinary(fields), true);
    assert.equal(looksBinary(Buffer.alloc(4096)), true, "nothing but NUL bytes");
    assert.equal(looksBinary(Buffer.from("2024 In(166)\tHostd \u001b[31mred\u001b[0m\r\n")), false);
    assert.equal(looksBinary(Buffer.alloc(0)), false);
  });

  it("reads text with a few NUL runs between or inside lines as text (a log after a crash)", () => {
    const line = "2024-06-04T21:58:00.975Z info hostd[1] [Originator@6876 sub=Default] ok\n";
    const lines = line.repeat(50);
    assert.equal(looksBinary(Buffer.from(`a\u0000b\n${lines}`)), false, "one NUL in one line");
    const padded = Buffer.concat([Buffer.from(lines), Buffer.alloc(20_000), Buffer.from(lines)]);
    assert.equal(looksBinary(padded), false, "a zero-filled gap between lines");
  });
});

describe("NulRuns", () => {
  const run = (chunks: Buffer[]) => {
    const offsets: number[] = [];
    const nul = new NulRuns((o) => offsets.push(o));
    const out: Buffer[] = [];
    for (const c of chunks) nul.push(c, (p) => out.push(Buffer.from(p)));
    return { text: Buffer.concat(out).toString("latin1"), offsets, runs: nul.runs };
  };

  it("turns each run into one NUL, also across chunks, and reports where each run starts", () => {
    const r = run([
      Buffer.from("ab\u0000\u0000\u0000cd\n"),
      Buffer.from("e\u0000\u0000"),
      Buffer.from("\u0000\u0000"),
      Buffer.from("\u0000f\u0000"),
      Buffer.from("g"),
    ]);
    assert.equal(r.text, "ab\u0000cd\ne\u0000f\u0000g");
    assert.deepEqual(r.offsets, [2, 9, 15]);
    assert.equal(r.runs, 3);
  });

  it("passes chunks without NUL through unchanged", () => {
    const chunk = Buffer.from("no zero here\n");
    const seen: Buffer[] = [];
    new NulRuns(() => assert.fail("no run")).push(chunk, (p) => seen.push(p));
    assert.equal(seen.length, 1);
    assert.equal(seen[0], chunk);
  });
});

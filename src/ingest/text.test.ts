import assert from "node:assert/strict";
import { Readable } from "node:stream";
import { describe, it } from "node:test";
import { detectEncoding, looksBinary, transcodeUtf16 } from "./text.js";

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
  it("flags NUL bytes and control-heavy data, not log text with tabs or colours", () => {
    assert.equal(looksBinary(Buffer.from("a\u0000b")), true);
    assert.equal(
      looksBinary(Buffer.from(Array.from({ length: 100 }, (_, i) => (i % 2 ? 1 : 65)))),
      true,
    );
    assert.equal(looksBinary(Buffer.from("2024 In(166)\tHostd \u001b[31mred\u001b[0m\r\n")), false);
    assert.equal(looksBinary(Buffer.alloc(0)), false);
  });
});

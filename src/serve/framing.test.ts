import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { datagramFrame, FrameDecoder } from "./framing.js";

function decode(chunks: readonly (string | Buffer)[], max = 64) {
  const frames: string[] = [];
  const drops: string[] = [];
  const fatal: string[] = [];
  const d = new FrameDecoder(max, {
    frame: (b) => frames.push(b.toString("latin1")),
    drop: (r) => drops.push(r),
    fatal: (r) => fatal.push(r),
  });
  for (const c of chunks) d.push(typeof c === "string" ? Buffer.from(c, "latin1") : c);
  d.end();
  return { frames, drops, fatal };
}

/** Every split of `text` into single bytes: framing must not depend on chunk boundaries. */
const bytes = (text: string): string[] => [...text];

describe("TCP syslog framing", () => {
  it("reads newline frames, CR LF included, and a last frame without its LF", () => {
    const r = decode(["<14>a\r\n<14>b\n\n<14", ">c"]);
    assert.deepEqual(r.frames, ["<14>a", "<14>b", "<14>c"]);
    assert.deepEqual(r.drops, []);
  });

  it("reads octet-counted frames, also byte by byte, with a LF inside a frame kept", () => {
    const text = "5 <14>a7 <14>b\nc";
    assert.deepEqual(decode([text]).frames, ["<14>a", "<14>b\nc"]);
    assert.deepEqual(decode(bytes(text)).frames, ["<14>a", "<14>b\nc"]);
  });

  it("decides the framing at each frame: both on one connection", () => {
    const r = decode(["<14>nl\n5 <14>o<14>nl2\n"]);
    assert.deepEqual(r.frames, ["<14>nl", "<14>o", "<14>nl2"]);
  });

  it("closes the connection on an octet count over the cap, before keeping its bytes", () => {
    const r = decode(["65 " + "x".repeat(65)], 64);
    assert.deepEqual(r.frames, []);
    assert.deepEqual(r.fatal, ["oversize"]);
  });

  it("closes the connection on a length prefix of more than six digits", () => {
    assert.deepEqual(decode(["99999999 x"], 1 << 30).fatal, ["bad-length"]);
  });

  it("drops an oversized newline frame and reads the next one", () => {
    const r = decode(["<14>" + "y".repeat(100), "z".repeat(100) + "\n<14>ok\n"], 64);
    assert.deepEqual(r.frames, ["<14>ok"]);
    assert.deepEqual(r.drops, ["oversize"]);
  });

  it("drops frames with NUL bytes as binary", () => {
    const r = decode([Buffer.from("<14>a\u0000b\n<14>c\n", "latin1")]);
    assert.deepEqual(r.frames, ["<14>c"]);
    assert.deepEqual(r.drops, ["binary"]);
  });

  it("counts an octet-counted frame cut short by the end of the stream", () => {
    const r = decode(["10 <14>"]);
    assert.deepEqual(r.frames, []);
    assert.deepEqual(r.drops, ["truncated"]);
  });

  it("reads digits without a following space as text", () => {
    assert.deepEqual(decode(["2026-03-10 text\n"]).frames, ["2026-03-10 text"]);
  });

  it("takes a datagram's trailing line break off", () => {
    assert.equal(datagramFrame(Buffer.from("<14>a\r\n")).toString(), "<14>a");
  });
});

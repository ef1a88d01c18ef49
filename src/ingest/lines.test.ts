import assert from "node:assert/strict";
import { describe, it } from "node:test";
import {
  createLineSplitter,
  decodeLine,
  headLines,
  utf8Boundary,
  type InPlaceMemory,
} from "./lines.js";
import { createScanMemory } from "./prefilter.js";
import { mulberry32 } from "../../test/helpers/random.js";

interface Got {
  lineNo: number;
  text: string;
  cut: boolean;
}

function split(
  input: Buffer,
  markers: readonly string[] | "all",
  chunkSizes: readonly number[],
  opts: { maxLineBytes?: number; chunkBytes?: number; engine?: "wasm" | "js" } = {},
) {
  const got: Got[] = [];
  const tooLong: (number | undefined)[] = [];
  const splitter = createLineSplitter(
    { markers, ...opts },
    {
      line: (buf, s, e, lineNo, cut) => got.push({ lineNo, text: buf.toString("utf8", s, e), cut }),
      tooLong: (n) => tooLong.push(n),
    },
  );
  let off = 0;
  let k = 0;
  while (off < input.length) {
    const n = chunkSizes[k++ % chunkSizes.length] ?? input.length;
    splitter.push(input.subarray(off, off + n));
    off += n;
  }
  splitter.end();
  return { got, tooLong, lines: splitter.lines(), passed: splitter.passed() };
}

/** Reference: the obvious split. */
function reference(text: string, markers: readonly string[] | "all", max: number) {
  const parts = text.split("\n");
  if (parts.at(-1) === "") parts.pop();
  const got: Got[] = [];
  const tooLong: number[] = [];
  parts.forEach((raw, i) => {
    const line = raw.endsWith("\r") ? raw.slice(0, -1) : raw;
    const bytes = Buffer.byteLength(raw);
    const long = bytes > max;
    if (long) tooLong.push(i + 1);
    const kept = long
      ? Buffer.from(raw)
          .subarray(0, utf8Boundary(Buffer.from(raw), 0, max))
          .toString()
      : line;
    if (markers === "all" || markers.some((m) => kept.includes(m))) {
      got.push({ lineNo: i + 1, text: kept, cut: long });
    }
  });
  return { got, tooLong, lines: parts.length };
}

describe("createLineSplitter", () => {
  for (const engine of ["wasm", "js"] as const) {
    describe(engine, () => {
      it("passes marker lines with exact line numbers, strips CR, keeps the last partial line", () => {
        const input = Buffer.from("a Guest x\r\nnothing\r\n\r\nGuest again\nlast Guest");
        const r = split(input, ["Guest"], [input.length], { engine });
        assert.deepEqual(r.got, [
          { lineNo: 1, text: "a Guest x", cut: false },
          { lineNo: 4, text: "Guest again", cut: false },
          { lineNo: 5, text: "last Guest", cut: false },
        ]);
        assert.equal(r.lines, 5);
        assert.equal(r.passed, 3);
      });

      it("counts an empty input as no line and a lone newline as one", () => {
        assert.equal(split(Buffer.alloc(0), ["x"], [1], { engine }).lines, 0);
        assert.equal(split(Buffer.from("\n"), ["x"], [1], { engine }).lines, 1);
        assert.equal(split(Buffer.from("x"), ["x"], [1], { engine }).lines, 1);
      });

      it("gives the same lines whatever the chunking", () => {
        const rand = mulberry32(7);
        const words = ["Guest", "op", "-->", "é", "\r\n", "\n", "\n", " ", "logged in", "zz"];
        for (let round = 0; round < 20; round++) {
          let text = "";
          while (text.length < 5000 + round * 500) text += words[Math.floor(rand() * words.length)];
          const input = Buffer.from(text);
          const sizes = [1 + Math.floor(rand() * 7), 1 + Math.floor(rand() * 3000), 64];
          const markers = ["Guest", "-->", "logged in"];
          const r = split(input, markers, sizes, { engine, chunkBytes: 512, maxLineBytes: 256 });
          const ref = reference(text, markers, 256);
          assert.deepEqual(r.got, ref.got, `round ${round}`);
          assert.deepEqual(r.tooLong, ref.tooLong, `round ${round}`);
          assert.equal(r.lines, ref.lines);
        }
      });

      it("cuts over-long lines, reports each once and goes on", () => {
        const long = `Guest ${"x".repeat(5000)}`;
        const text = `short Guest\n${long}\nok Guest\n${"y".repeat(3000)}\nend Guest`;
        for (const sizes of [[text.length], [100], [1, 999]]) {
          const r = split(Buffer.from(text), ["Guest"], sizes, {
            engine,
            chunkBytes: 1024,
            maxLineBytes: 1000,
          });
          assert.deepEqual(r.got, reference(text, ["Guest"], 1000).got);
          assert.deepEqual(r.tooLong, [2, 4]);
          assert.equal(r.lines, 5);
        }
      });

      it("never splits a UTF-8 character when cutting", () => {
        const text = `${"é".repeat(600)}\nnext`; // 1200 bytes, cut at 1001 → 1000
        const r = split(Buffer.from(text), "all", [text.length], { engine, maxLineBytes: 1001 });
        assert.equal(r.got[0]?.text, "é".repeat(500));
        assert.equal(r.got[0]?.cut, true);
        assert.deepEqual(r.got[1], { lineNo: 2, text: "next", cut: false });
      });

      it("reads a 10 MB line in bounded memory and keeps counting after it", () => {
        const splitter = createLineSplitter(
          { markers: ["Guest"], engine },
          {
            line: (buf, s, e, lineNo, cut) => {
              got.push({ lineNo, text: buf.toString("utf8", s, Math.min(e, s + 20)), cut });
            },
            tooLong: (n) => tooLong.push(n),
          },
        );
        const got: Got[] = [];
        const tooLong: (number | undefined)[] = [];
        splitter.push(Buffer.from("first Guest\nGuest "));
        const block = Buffer.alloc(1024 * 1024, 0x61);
        for (let i = 0; i < 10; i++) splitter.push(block);
        splitter.push(Buffer.from(" tail\nafter Guest\n"));
        splitter.end();
        assert.deepEqual(got, [
          { lineNo: 1, text: "first Guest", cut: false },
          { lineNo: 2, text: "Guest aaaaaaaaaaaaaa", cut: true },
          { lineNo: 3, text: "after Guest", cut: false },
        ]);
        assert.deepEqual(tooLong, [2]);
        assert.equal(splitter.lines(), 3);
      });

      it("passes every line with markers: all", () => {
        const r = split(Buffer.from("a\n\nb\r\nc"), "all", [2], { engine });
        assert.deepEqual(
          r.got.map((g) => [g.lineNo, g.text]),
          [
            [1, "a"],
            [2, ""],
            [3, "b"],
            [4, "c"],
          ],
        );
      });
    });
  }
});

/**
 * A small read arena as outer.ts builds one: slots of a carry gap (`gap` bytes) then `read` bytes,
 * in the scanner's shared memory.
 */
function testArena(capacity: number, gap: number, read: number, slots: number) {
  const stride = gap + read + 64;
  const scan = createScanMemory(capacity, slots * stride, gap + read);
  assert.ok(scan, "shared WebAssembly memory is available");
  const first = scan.layout.reservedAt;
  let claimed = false;
  const memory: InPlaceMemory = {
    ...scan,
    claim: () => !claimed && (claimed = true),
    free: () => void (claimed = false),
    carrySpace: (offset) => {
      const rel = offset - first;
      if (rel < 0 || rel >= slots * stride) return -1;
      const inSlot = rel % stride;
      if (inSlot < gap || inSlot > gap + read) return -1;
      return inSlot === gap ? gap : 0;
    },
  };
  const view = Buffer.from(scan.buffer);
  /** Puts bytes at `skip` bytes into slot `i`'s read area; returns the lent view. */
  const place = (i: number, bytes: Buffer, skip = 0): Buffer => {
    const at = first + (i % slots) * stride + gap + skip;
    bytes.copy(view, at);
    return view.subarray(at, at + bytes.length);
  };
  return { memory, place, claimed: () => claimed };
}

describe("createLineSplitter in place", () => {
  it("scans chunks where they were read, with the same lines as copying, never writing a read area", () => {
    const rand = mulberry32(11);
    const words = [
      "Guest",
      "op",
      "-->",
      "é",
      "\r\n",
      "\n",
      "\n",
      " ",
      "logged in",
      "zz",
      "x".repeat(90),
    ];
    const markers = ["Guest", "-->", "logged in"];
    const max = 256;
    for (let round = 0; round < 30; round++) {
      let text = "";
      while (text.length < 6000 + round * 400) text += words[Math.floor(rand() * words.length)];
      if (round % 5 === 0) text += `Guest ${"y".repeat(900)}\nGuest tail`; // over-long, then no \n
      const input = Buffer.from(text);
      const arena = testArena(512 + max, max, 700, 3);
      const got: Got[] = [];
      const tooLong: (number | undefined)[] = [];
      const splitter = createLineSplitter(
        { markers, maxLineBytes: max, chunkBytes: 512, inPlace: arena.memory },
        {
          line: (buf, st, e, lineNo, cut) =>
            got.push({ lineNo, text: buf.toString("utf8", st, e), cut }),
          tooLong: (n) => tooLong.push(n),
        },
      );
      assert.ok(arena.claimed(), "the splitter's scanner lives in the arena");
      let off = 0;
      for (let k = 0; off < input.length; k++) {
        const n = Math.min(input.length - off, 1 + Math.floor(rand() * 700));
        const bytes = input.subarray(off, off + n);
        // mostly read-area starts; sometimes a view past the start (a skipped BOM) or a plain buffer
        const kind = rand();
        const chunk =
          kind < 0.15
            ? Buffer.from(bytes)
            : arena.place(k, bytes, kind < 0.3 && n < 690 ? 1 + Math.floor(rand() * 5) : 0);
        const before = Buffer.from(chunk);
        splitter.push(chunk);
        assert.ok(chunk.equals(before), `round ${round}: a read area was written`);
        off += n;
      }
      splitter.end();
      assert.equal(arena.claimed(), false, "the arena is free again");
      const ref = reference(text, markers, max);
      assert.deepEqual(got, ref.got, `round ${round}`);
      assert.deepEqual(tooLong, ref.tooLong, `round ${round}`);
      assert.equal(splitter.lines(), ref.lines);
    }
  });

  it("uses its own scanner when the arena is taken", () => {
    const arena = testArena(512 + 256, 256, 700, 2);
    const opts = { markers: ["Guest"], maxLineBytes: 256, chunkBytes: 512, inPlace: arena.memory };
    const sink = { line: () => undefined, tooLong: () => undefined };
    const a = createLineSplitter(opts, sink);
    const lines: number[] = [];
    const b = createLineSplitter(opts, { ...sink, line: (_b, _s, _e, n) => lines.push(n) });
    b.push(arena.place(0, Buffer.from("x\nGuest\n"))); // copied: b's memory is not the arena
    b.end();
    a.end();
    assert.deepEqual(lines, [2]);
  });
});

describe("decodeLine", () => {
  it("flags invalid UTF-8 and replaces it with U+FFFD", () => {
    const buf = Buffer.from([0x61, 0xff, 0x62, 0xc3]);
    assert.deepEqual(decodeLine(buf, 0, buf.length), { text: "a\ufffdb\ufffd", valid: false });
  });
  it("does not flag a U+FFFD that was in the input", () => {
    const buf = Buffer.from("a\ufffdb");
    assert.deepEqual(decodeLine(buf, 0, buf.length), { text: "a\ufffdb", valid: true });
  });
});

describe("headLines", () => {
  it("drops the partial last line unless the input is complete", () => {
    const head = Buffer.from("one\r\ntwo\nthr");
    assert.deepEqual(headLines(head, 10, false), ["one", "two"]);
    assert.deepEqual(headLines(head, 10, true), ["one", "two", "thr"]);
    assert.deepEqual(headLines(head, 1, true), ["one"]);
  });
});

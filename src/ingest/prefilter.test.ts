import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { createMarkerScanner, type MarkerScanner } from "./prefilter.js";
import { mulberry32 } from "../../test/helpers/random.js";

/** Reference: split on \n, report the index of every line that contains a marker. */
function naive(text: Buffer, end: number, markers: readonly string[]) {
  const lines: number[] = [];
  let idx = 0;
  let start = 0;
  const region = text.subarray(0, end);
  for (;;) {
    const e = region.indexOf(0x0a, start);
    const line = region.subarray(start, e < 0 ? end : e);
    if (markers.some((m) => line.includes(Buffer.from(m)))) lines.push(idx);
    if (e < 0) break;
    idx++;
    start = e + 1;
  }
  const newlines = region.reduce((n, b) => n + (b === 0x0a ? 1 : 0), 0);
  return { lines, newlines };
}

/** Reference: indexes of complete lines longer than `max` bytes. */
function naiveLong(text: Buffer, max: number): number[] {
  const out: number[] = [];
  let start = 0;
  for (let idx = 0; ; idx++) {
    const e = text.indexOf(0x0a, start);
    if (e < 0) return out;
    if (e - start > max) out.push(idx);
    start = e + 1;
  }
}

function run(scanner: MarkerScanner, data: Buffer) {
  data.copy(scanner.input, 0);
  const n = scanner.scan(data.length);
  const lineAt = new Uint32Array(data.length + 1); // newlines before each offset
  for (let i = 0; i < data.length; i++)
    lineAt[i + 1] = (lineAt[i] ?? 0) + (data[i] === 0x0a ? 1 : 0);
  const lines: number[] = [];
  for (let i = 0; i < n; i++) {
    const pos = scanner.hitPos(i);
    assert.ok(pos >= 0 && pos < data.length, `hit position ${pos} inside the data`);
    assert.equal(lineAt[pos], scanner.hitLine(i), "the position lies on the reported line");
    lines.push(scanner.hitLine(i));
  }
  return { lines, newlines: scanner.newlines() };
}

const HOSTD_MARKERS = [
  "Guest operation",
  "Guest File Path",
  "GUEST_OPERATION",
  "vim.vm.guest",
  "logged in",
  "logged out",
  "Accepted password",
  "[Auth]",
  "-->",
];

describe("createMarkerScanner", () => {
  for (const engine of ["wasm", "js"] as const) {
    describe(engine, () => {
      it("uses the requested engine", () => {
        assert.equal(createMarkerScanner(["x"], 1024, { engine }).engine, engine);
      });

      it("finds marker lines and counts newlines in hostd text", () => {
        const text = Buffer.from(
          [
            "2024-06-04T21:58:00.975Z In(166) Hostd[1]: [Originator@6876 sub=Vimsvc.ha-eventmgr] Event 246 : Guest operation Start Program performed on Virtual machine vm1.",
            "2024-06-04T21:58:00.976Z In(166) Hostd[1]: [Originator@6876 sub=Libs] SOCKET 7 closed",
            "2024-06-04T21:58:00.977Z Db(167)[+] Hostd[1]: -->    key = 1, --> again",
            "",
            "Guest operatio", // almost
            "xx logged in as PowerCLI",
            "no newline at the end: Guest File Path",
          ].join("\n"),
        );
        const scanner = createMarkerScanner(HOSTD_MARKERS, 4096, { engine });
        assert.deepEqual(run(scanner, text), { lines: [0, 2, 5, 6], newlines: 6 });
      });

      it("matches markers at every alignment and at the very end", () => {
        const scanner = createMarkerScanner(["abc", "zq"], 4096, { engine });
        for (let pad = 0; pad < 40; pad++) {
          const text = Buffer.from(`${"-".repeat(pad)}abc\n${"x".repeat(pad)}zq`);
          assert.deepEqual(
            run(scanner, text),
            naive(text, text.length, ["abc", "zq"]),
            `pad ${pad}`,
          );
        }
      });

      it("does not match beyond `end`", () => {
        const scanner = createMarkerScanner(["abc"], 4096, { engine });
        Buffer.from("xxxxab\nabc\nabc").copy(scanner.input, 0);
        assert.equal(scanner.scan(7), 0);
        assert.equal(scanner.newlines(), 1);
        assert.equal(scanner.scan(8), 0); // "a" of the second line only
        assert.equal(scanner.scan(10), 1);
        assert.equal(scanner.scan(13), 1); // bytes past `end` are never counted as newlines
        assert.equal(scanner.newlines(), 2);
      });

      it("handles one- and two-byte markers and UTF-8 markers", () => {
        const markers = ["é", "Z", "ab"];
        const text = Buffer.from("café\nxyz\nZed\nnab\n\n");
        const scanner = createMarkerScanner(markers, 4096, { engine });
        assert.deepEqual(run(scanner, text), naive(text, text.length, markers));
      });

      it("with no markers only counts lines", () => {
        const scanner = createMarkerScanner([], 4096, { engine });
        const text = Buffer.from("a\nb\n\nc");
        assert.deepEqual(run(scanner, text), { lines: [], newlines: 3 });
      });

      it("agrees with a naive reference on random text (many markers, 8+ buckets)", () => {
        const markers = [
          ...HOSTD_MARKERS,
          "[VpxLRO]",
          "Event [",
          "GuestOps",
          "api.call",
          "vim.connect",
          "Cannot login",
          "DICT ---",
          "displayName",
          "Hostname",
          "ab",
          "q",
        ];
        const alphabet = "abcdefghijklmnopqrstuvwxyz GuestopraiLdnvm.-->[]AuthVpxLRO\n\n\n\u00e9";
        const rand = mulberry32(42);
        const scanner = createMarkerScanner(markers, 1 << 16, { engine, maxLineBytes: 90 });
        assert.equal(scanner.engine, engine);
        for (let round = 0; round < 30; round++) {
          const parts: string[] = [];
          const len = 1 + Math.floor(rand() * 60000);
          let size = 0;
          while (size < len) {
            if (rand() < 0.02) {
              const m = markers[Math.floor(rand() * markers.length)] ?? "";
              parts.push(m);
              size += m.length;
            } else {
              parts.push(alphabet[Math.floor(rand() * alphabet.length)] ?? "a");
              size++;
            }
          }
          const text = Buffer.from(parts.join("")).subarray(0, 1 << 16);
          assert.deepEqual(run(scanner, text), naive(text, text.length, markers), `round ${round}`);
          const long = naiveLong(text, 90);
          assert.equal(scanner.longLines(), long.length);
          const examples = Array.from({ length: Math.min(long.length, 32) }, (_, i) =>
            scanner.longLine(i),
          );
          assert.deepEqual(examples, long.slice(0, 32));
        }
      });

      it("counts lines longer than the limit, wherever they fall", () => {
        const scanner = createMarkerScanner(["zz"], 4096, { engine, maxLineBytes: 100 });
        assert.equal(scanner.engine, engine);
        const text = Buffer.from(
          `${"a".repeat(100)}\n${"b".repeat(101)}\nshort\n${"c".repeat(300)}\n${"d".repeat(130)}`,
        );
        text.copy(scanner.input);
        scanner.scan(text.length);
        assert.equal(scanner.longLines(), 2, "the unterminated last line is the caller's business");
        assert.deepEqual([scanner.longLine(0), scanner.longLine(1)], [1, 3]);
      });
    });
  }

  it("plans its fingerprints from a sample and still agrees with the reference", () => {
    // more distinct windows than buckets, and a sample full of near misses
    const markers = [
      "qGuest",
      "qguest",
      "qGUEST",
      "q] Arg",
      "q] Throw ",
      "q] Result:",
      "q-->",
      "qlogged",
      "qpassword",
      "q[Auth]",
      "qCannot",
      "qzz",
    ];
    const rand = mulberry32(99);
    const words = [
      "q",
      "Gu",
      "gue",
      "ogg",
      "] A",
      "] T",
      "] R",
      "--",
      "->",
      "sw",
      "Au",
      "nn",
      "z",
      " ",
      "\n",
      ...markers,
    ];
    const make = (n: number): Buffer => {
      const parts: string[] = [];
      let size = 0;
      while (size < n) {
        const w = words[Math.floor(rand() * words.length)] ?? " ";
        parts.push(w);
        size += w.length;
      }
      return Buffer.from(parts.join("")).subarray(0, n);
    };
    const scanner = createMarkerScanner(markers, 1 << 16, {
      sample: make(40_000),
      maxLineBytes: 200,
    });
    for (let round = 0; round < 10; round++) {
      const text = make(60_000);
      assert.deepEqual(run(scanner, text), naive(text, text.length, markers), `round ${round}`);
    }
  });

  it("rejects empty markers and markers with a newline", () => {
    assert.throws(() => createMarkerScanner([""], 1024), TypeError);
    assert.throws(() => createMarkerScanner(["a\nb"], 1024), TypeError);
  });
});

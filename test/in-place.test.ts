/**
 * A file is scanned where it was read (the read arena); standard input is copied into the
 * scanner. Both must give the same records, counts and issues for the same bytes, whatever the
 * lines look like where the 4 MiB reads cut them.
 */
import assert from "node:assert/strict";
import { readFileSync, mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { Readable } from "node:stream";
import { describe, it } from "node:test";
import { readInputs } from "../src/ingest/read.js";
import type { InputSummary } from "../src/ingest/summary.js";
import { mulberry32 } from "./helpers/random.js";

const FIXTURES = join(import.meta.dirname, "..", "src", "ingest", "readers", "hostd", "fixtures");

/** ~10 MiB of hostd text: the fixtures' lines in random order, noise, long lines, CRLF, bad bytes. */
function corpus(seed: number): Buffer {
  const rand = mulberry32(seed);
  const real = ["esx65-local.log", "esx70-local.log", "esx80-local.log"].flatMap((f) =>
    readFileSync(join(FIXTURES, f), "utf8").split("\n").filter(Boolean),
  );
  const noise = (n: number): string =>
    `2024-06-04T21:58:00.${String(n % 1000).padStart(3, "0")}Z Db(167) Hostd[1050265]: [Originator@6876 sub=PropertyProvider opID=x-${n}] RecordOp ASSIGN: info, haTask-${n}.`;
  const parts: Buffer[] = [];
  let size = 0;
  for (let n = 0; size < 10 * 1024 * 1024; n++) {
    const r = rand();
    let line: Buffer;
    if (r < 0.02) line = Buffer.from(real[Math.floor(rand() * real.length)] ?? "");
    else if (r < 0.0203) line = Buffer.from(`${noise(n)} Guest ${"x".repeat(70_000 + n)}`);
    else if (r < 0.0206) {
      line = Buffer.concat([Buffer.from(real[n % real.length] ?? ""), Buffer.from([0xff, 0xc3])]);
    } else line = Buffer.from(noise(n));
    parts.push(line, Buffer.from(rand() < 0.1 ? "\r\n" : "\n"));
    size += line.length + 1;
  }
  return Buffer.concat(parts);
}

const essentials = (s: InputSummary) => ({
  format: s.source.format,
  sha256: s.source.sha256,
  lines: s.lines,
  linesPassed: s.linesPassed,
  recordsByKind: s.recordsByKind,
  issues: s.issues.map((i) => [i.code, i.count, i.examples.map((e) => e.line)]),
});

describe("reading a file in place", () => {
  for (const seed of [1, 2]) {
    it(`gives what reading the same bytes from standard input gives (seed ${seed})`, async () => {
      const bytes = corpus(seed);
      const file = join(mkdtempSync(join(tmpdir(), "guestops-inplace-")), "hostd.log");
      writeFileSync(file, bytes);
      const read = async (path: string) => {
        const records: unknown[] = [];
        const rand = mulberry32(seed + 100);
        const summary = await readInputs(
          [path],
          {
            // standard input in uneven pieces
            stdin: () =>
              Readable.from(
                (function* () {
                  for (let off = 0; off < bytes.length;) {
                    const n = 1 + Math.floor(rand() * 3_000_000);
                    yield bytes.subarray(off, off + n);
                    off += n;
                  }
                })(),
              ),
          },
          { record: (r) => records.push({ ...r, prov: { ...r.prov, source: undefined } }) },
        );
        const [input] = summary.inputs;
        assert.ok(input);
        return { records, input: essentials(input) };
      };
      const fromFile = await read(file);
      const fromStdin = await read("-");
      assert.equal(fromFile.input.format, "hostd");
      assert.ok(
        fromFile.records.length > 200,
        `the corpus holds records (${fromFile.records.length})`,
      );
      assert.ok(
        fromFile.input.issues.some(([code]) => code === "line_too_long"),
        "over-long lines are in the corpus",
      );
      assert.deepEqual(fromFile.input, fromStdin.input);
      assert.deepEqual(fromFile.records, fromStdin.records);
    });
  }
});

/**
 * Bad input never crashes, never hangs and never hides the rest: each case gives a clear message
 * or a counted, reported issue, and the good input read in the same run is still read in full.
 */
import assert from "node:assert/strict";
import { mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, it } from "node:test";
import { run } from "../src/cli/run.js";
import { readInputs } from "../src/ingest/read.js";
import type { InputSummary, ReadSummary } from "../src/ingest/summary.js";
import type { CanonicalRecord } from "../src/model/record.js";
import { gzip, tar, zip } from "./helpers/archives.js";
import { fakeIo } from "./helpers/cli.js";
import { hostdLine, noiseLine, testReaders } from "./helpers/test-readers.js";

const GOOD = `${[hostdLine(1), noiseLine(1), hostdLine(2)].join("\n")}\n`;

interface Case {
  readonly file: string;
  readonly data: Buffer | string | (() => Promise<Buffer>);
  readonly check: (s: InputSummary[], records: CanonicalRecord[]) => void;
}

const issue = (s: InputSummary | undefined, code: string) =>
  s?.issues.find((i) => i.code === code)?.count ?? 0;

const byPath = (all: InputSummary[], file: string, member?: string) =>
  all.filter(
    (s) => s.source.path.endsWith(file) && (member === undefined || s.source.member === member),
  );

const CASES: Case[] = [
  {
    file: "garbage.bin",
    data: Buffer.from(Array.from({ length: 100_000 }, (_, i) => (i * 7919) % 256)),
    check: ([s]) => {
      assert.equal(s?.status, "binary");
      assert.equal(issue(s, "binary_data"), 1);
      assert.equal(s?.bytes, 100_000);
    },
  },
  {
    // one NUL byte inside one line of the head: the file is text, every line is read
    file: "one-nul.log",
    data: `${hostdLine(3)}\n${hostdLine(4).slice(0, 30)}\u0000${hostdLine(4).slice(30)}\n${hostdLine(5)}\n`,
    check: ([s], records) => {
      assert.equal(s?.status, "read");
      assert.equal(issue(s, "binary_data"), 1);
      assert.deepEqual(
        records.map((r) => r.prov.line),
        [1, 3],
        "the line split by the NUL is not one event; the lines around it are read",
      );
    },
  },
  {
    // a hostd.log after a crash: zero-filled pages (longer than a line may be) cut a line, then
    // the host writes on after them; a second gap sits between two lines
    file: "nul-padded-hostd.log",
    data: Buffer.concat([
      Buffer.from(`${hostdLine(1)}\n${hostdLine(2)}\n${hostdLine(3).slice(0, 40)}`),
      Buffer.alloc(300_000),
      Buffer.from(`${hostdLine(4)}\n${hostdLine(5)}\n`),
      Buffer.alloc(5_000),
      Buffer.from(`${hostdLine(6)}\n`),
    ]),
    check: ([s], records) => {
      assert.equal(s?.status, "read");
      assert.equal(issue(s, "binary_data"), 2, "one issue per NUL run");
      assert.equal(issue(s, "line_too_long"), 0, "a NUL run is no line");
      assert.equal(s?.lines, 5, "a NUL run ends no physical line");
      assert.deepEqual(
        records.map((r) => [r.prov.line, r.prov.raw.slice(0, 24)]),
        [
          [1, hostdLine(1).slice(0, 24)],
          [2, hostdLine(2).slice(0, 24)],
          [3, hostdLine(4).slice(0, 24)],
          [4, hostdLine(5).slice(0, 24)],
          [5, hostdLine(6).slice(0, 24)],
        ],
      );
    },
  },
  {
    file: "long-line.log",
    data: `${hostdLine(3)}\n${hostdLine(4)} ${"x".repeat(10 * 1024 * 1024)}\n${hostdLine(5)}\n`,
    check: ([s], records) => {
      assert.equal(s?.status, "read");
      assert.equal(s?.lines, 3);
      assert.equal(issue(s, "line_too_long"), 1);
      assert.deepEqual(
        records.map((r) => r.prov.line),
        [1, 3],
        "the cut line is not understood; the lines around it are read",
      );
    },
  },
  {
    file: "bad-utf8.log",
    data: Buffer.concat([
      Buffer.from(hostdLine(6, "Start Program", "vm")),
      Buffer.from([0xff, 0xfe, 0x80]),
      Buffer.from(".\n"),
      Buffer.from(`${hostdLine(7)}\n`),
    ]),
    check: ([s], records) => {
      assert.equal(issue(s, "invalid_utf8"), 1);
      assert.equal(s?.issues.find((i) => i.code === "invalid_utf8")?.examples[0]?.line, 1);
      assert.equal(records.length, 2);
      const vm = records[0]?.type === "observation" ? records[0].vm?.name : undefined;
      assert.equal(vm, "vm.\ufffd\ufffd\ufffd", "bad bytes are read as U+FFFD");
      assert.equal(records[0]?.prov.rawEncoding, "base64", "the record keeps the bytes");
      const bytes = Buffer.from(records[0]?.prov.raw ?? "", "base64");
      assert.ok(bytes.includes(Buffer.from([0xff, 0xfe, 0x80])), "the line's exact bytes");
      assert.equal(records[1]?.prov.rawEncoding, undefined, "a valid line stays text");
    },
  },
  {
    file: "crlf.log",
    data: `${hostdLine(8)}\r\n${noiseLine(2)}\r\n${hostdLine(9)}\r\n`,
    check: ([s], records) => {
      assert.equal(s?.lines, 3);
      assert.equal(records.length, 2);
      assert.ok(records.every((r) => !r.prov.raw.includes("\r")));
    },
  },
  {
    file: "truncated.log.gz",
    data: () => {
      const whole = gzip(`${Array.from({ length: 2000 }, (_, i) => hostdLine(i)).join("\n")}\n`);
      return Promise.resolve(whole.subarray(0, Math.floor(whole.length * 0.6)));
    },
    check: ([s], records) => {
      assert.equal(issue(s, "truncated_input"), 1);
      assert.ok(records.length > 100 && records.length < 2000, `kept ${records.length} records`);
      assert.equal(s?.records, records.length);
    },
  },
  {
    file: "esx-h1-2024-06-04--21.58-1.tgz",
    data: async () => {
      const bundle = await tar([
        { name: "esx-h1/var/run/log/hostd.log", data: GOOD },
        { name: "esx-h1/var/run/log/hostd.0", data: `${GOOD}${"y".repeat(300_000)}` },
        { name: "esx-h1/var/run/log/hostd.1", data: GOOD },
      ]);
      const whole = gzip(bundle);
      return whole.subarray(0, Math.floor(whole.length * 0.5));
    },
    check: (all, records) => {
      const archive = all.find((s) => s.status === "archive");
      assert.ok(issue(archive, "truncated_input") >= 1, "the archive reports the cut");
      const first = all.find((s) => s.source.member === "esx-h1/var/run/log/hostd.log");
      assert.equal(first?.records, 2, "members before the cut are read in full");
      assert.ok(records.length >= 2);
    },
  },
  {
    file: "export.zip",
    data: () => {
      const whole = zip(
        [
          { name: "logs/hostd.log", data: GOOD },
          { name: "logs/hostd-1.log", data: `${GOOD}${"z".repeat(200_000)}` },
        ],
        { method: "store" },
      );
      return Promise.resolve(whole.subarray(0, whole.length - 100_000));
    },
    check: (all, records) => {
      const archive = all.find((s) => s.status === "archive");
      assert.ok(issue(archive, "truncated_input") >= 1, "the archive reports the cut");
      const first = all.find((s) => s.source.member === "logs/hostd.log");
      assert.equal(first?.records, 2);
      const second = all.find((s) => s.source.member === "logs/hostd-1.log");
      assert.equal(second?.records, 2, "the cut member keeps what came before the cut");
      assert.equal(issue(second, "truncated_input"), 1);
      assert.equal(records.length, 4);
    },
  },
  {
    file: "empty.log",
    data: "",
    check: ([s]) => {
      assert.equal(s?.status, "empty");
      assert.equal(s?.issues.length, 0);
    },
  },
  {
    file: "notes.txt",
    data: "Dear diary,\ntoday nothing happened.\n",
    check: ([s]) => {
      assert.equal(s?.status, "unknown_format");
      assert.equal(issue(s, "unknown_format"), 1);
      assert.equal(s?.lines, 2);
      assert.equal(s?.notUnderstood.examples[0]?.excerpt, "Dear diary,");
    },
  },
];

async function materialise(d: string): Promise<string[]> {
  const files: string[] = [];
  for (const c of CASES) {
    const data = typeof c.data === "function" ? await c.data() : c.data;
    writeFileSync(join(d, c.file), data);
    files.push(join(d, c.file));
  }
  writeFileSync(join(d, "zz-good.log"), GOOD);
  files.push(join(d, "zz-good.log"));
  return files;
}

describe("bad input", () => {
  it("is reported per input while everything else in the same run is read", async () => {
    const d = mkdtempSync(join(tmpdir(), "guestops-bad-"));
    const files = await materialise(d);
    const records: CanonicalRecord[] = [];
    const summary: ReadSummary = await readInputs(
      files,
      { readers: testReaders },
      {
        record: (r) => records.push(r),
      },
    );
    for (const c of CASES) {
      const mine = byPath([...summary.inputs], c.file);
      const ids = new Set(mine.map((s) => s.source.id));
      c.check(
        mine,
        records.filter((r) => ids.has(r.prov.source.id)),
      );
    }
    const good = byPath([...summary.inputs], "zz-good.log")[0];
    assert.equal(good?.records, 2, "the good file after all the bad ones is read in full");
    assert.equal(good?.issues.length, 0);
  });

  it("exits 0 from `inspect` with the issues reported, in text and JSON", async () => {
    const d = mkdtempSync(join(tmpdir(), "guestops-bad-cli-"));
    await materialise(d);
    const text = fakeIo(d);
    assert.equal(await run(["inspect", "."], text.io), 0);
    const report = text.out.join("\n");
    for (const code of [
      "binary_data",
      "line_too_long",
      "invalid_utf8",
      "truncated_input",
      "unknown_format",
    ]) {
      assert.ok(report.includes(code), `the report names ${code}`);
    }
    const json = fakeIo(d);
    assert.equal(await run(["inspect", "--json", "."], json.io), 0);
    const parsed = JSON.parse(json.out.join("\n")) as ReadSummary;
    assert.ok(parsed.totals.issues.truncated_input !== undefined);
  });

  it("turns a missing path into a usage error (exit 2) before reading anything", async () => {
    const d = mkdtempSync(join(tmpdir(), "guestops-missing-"));
    writeFileSync(join(d, "good.log"), GOOD);
    const { io, out, err } = fakeIo(d);
    assert.equal(await run(["inspect", "good.log", "no-such-file.log"], io), 2);
    assert.match(
      err.join("\n"),
      /ERR_INPUT_MISSING: no such file or directory: "no-such-file\.log"/,
    );
    assert.match(err.join("\n"), /hint:/);
    assert.equal(out.length, 0, "nothing is reported for a run that did not happen");
  });

  it("turns a bad --assume-tz or --input-format into a usage error (exit 2)", async () => {
    const d = mkdtempSync(join(tmpdir(), "guestops-opts-"));
    writeFileSync(join(d, "good.log"), GOOD);
    const zone = fakeIo(d);
    assert.equal(await run(["inspect", "--assume-tz", "Nowhere/Land", "good.log"], zone.io), 2);
    assert.match(zone.err.join("\n"), /ERR_USAGE: unknown time zone/);
    const format = fakeIo(d);
    assert.equal(await run(["inspect", "--input-format", "nope", "good.log"], format.io), 2);
  });

  it("reads standard input, even when it is gzip", async () => {
    const d = mkdtempSync(join(tmpdir(), "guestops-stdin-"));
    const { io, out } = fakeIo(d, gzip(GOOD));
    assert.equal(await run(["inspect", "--json", "-"], io), 0);
    const parsed = JSON.parse(out.join("\n")) as ReadSummary;
    assert.equal(parsed.inputs[0]?.source.path, "-");
    assert.deepEqual(parsed.inputs[0]?.containers, ["gzip"]);
    assert.equal(parsed.inputs[0]?.lines, 3);
  });
});

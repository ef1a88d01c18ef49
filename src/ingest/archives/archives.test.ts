/**
 * Hostile archives through `readInputs`: members that are not regular files, and (zip) entries
 * that overlap, CRCs that do not match, a central directory that lies, a decompression cap.
 */
import type { SkipReason } from "../summary.js";
import assert from "node:assert/strict";
import { mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { Readable } from "node:stream";
import { describe, it } from "node:test";
import { run } from "../../cli/run.js";
import type { CanonicalRecord } from "../../model/record.js";
import { fakeIo } from "../../../test/helpers/cli.js";
import { gzip, tar, zip, zipOverlapping } from "../../../test/helpers/archives.js";
import { hostdLine, testReaders } from "../../../test/helpers/test-readers.js";
import { readInputs, type ReadInputsOptions } from "../read.js";
import type { InputSummary } from "../summary.js";

const dir = (): string => mkdtempSync(join(tmpdir(), "guestops-archives-"));

async function read(paths: string[], options: Partial<ReadInputsOptions> = {}) {
  const records: CanonicalRecord[] = [];
  const summary = await readInputs(
    paths,
    { readers: testReaders, ...options },
    { record: (r) => records.push(r) },
  );
  return { records, summary };
}

const top = (inputs: readonly InputSummary[]): InputSummary | undefined =>
  inputs.find((s) => s.source.member === undefined);

describe("tar members that are not regular files", () => {
  it("are counted as skipped, each with its kind, and never read", async () => {
    const bundle = await tar([
      { name: "var/run/log/hostd.log", data: `${hostdLine(1)}\n` },
      { name: "var/run/log/hostd-link.log", data: "", type: "symlink", linkname: "/etc/shadow" },
      { name: "var/run/log/hostd.1.log", data: "", type: "link", linkname: "var/run/log/x" },
      { name: "var/run/log/hostd-tty.log", data: "", type: "character-device" },
      { name: "var/run/log/hostd-disk.log", data: "", type: "block-device" },
      { name: "var/run/log/hostd-pipe.log", data: "", type: "fifo" },
      { name: "var/run/log/", data: "", type: "directory" },
      { name: "etc/motd", data: "not a log" },
    ]);
    const d = dir();
    const file = join(d, "esx-h1-2024-06-04--21.58.tgz");
    writeFileSync(file, gzip(bundle));
    for (const paths of [[file], ["-"]]) {
      const { records, summary } = await read(paths, {
        stdin: () => Readable.from([gzip(bundle)]),
      });
      assert.equal(records.length, 1, "only the regular file is read");
      const archive = top(summary.inputs);
      assert.equal(archive?.members?.read, 1);
      assert.equal(archive?.members?.skipped, 6, "five special members and one non-log");
      const kinds = new Map(archive?.members?.skippedBy.map((r) => [r.reason, r.count]));
      for (const kind of ["block-device", "character-device", "fifo", "hardlink", "symlink"]) {
        assert.equal(kinds.get(kind as SkipReason), 1, kind);
      }
      assert.deepEqual(archive?.members?.skippedExamples, [
        "var/run/log/hostd-link.log (symlink)",
        "var/run/log/hostd.1.log (hardlink)",
        "var/run/log/hostd-tty.log (character-device)",
        "var/run/log/hostd-disk.log (block-device)",
        "var/run/log/hostd-pipe.log (fifo)",
      ]);
      assert.equal(summary.totals.membersSkipped, 6);
      assert.equal(summary.inputs.length, 2, "the archive and its one regular member");
    }
  });
});

/** `n` hostd event lines (one record each). */
const lines = (from: number, n: number): string =>
  Array.from({ length: n }, (_, i) => `${hostdLine(from + i)}\n`).join("");

/** Reads `archive` from disk (central directory) and from standard input (local headers). */
async function bothWays(archive: Buffer, options: Partial<ReadInputsOptions> = {}) {
  const file = join(dir(), "export.zip");
  writeFileSync(file, archive);
  const out = [];
  for (const paths of [[file], ["-"]]) {
    out.push({
      how: paths[0] === "-" ? "local headers" : "central directory",
      ...(await read(paths, { stdin: () => Readable.from([archive]), ...options })),
    });
  }
  return out;
}

const messages = (s: InputSummary | undefined, code: string): string[] =>
  s?.issues.find((i) => i.code === code)?.examples.map((x) => x.message) ?? [];
const count = (s: InputSummary | undefined, code: string): number =>
  s?.issues.find((i) => i.code === code)?.count ?? 0;

describe("zip entries that overlap", () => {
  it("reads one member once, however many entries point at it", async () => {
    const aliases = Array.from({ length: 499 }, (_, i) => `logs/hostd-${i}.log`);
    const archive = zipOverlapping({ name: "logs/hostd.log", data: lines(1, 3) }, aliases);
    const file = join(dir(), "bomb.zip");
    writeFileSync(file, archive);
    const { records, summary } = await read([file]);
    assert.equal(records.length, 3, "the member's three records, once");
    const archiveSummary = top(summary.inputs);
    assert.equal(archiveSummary?.members?.read, 1);
    assert.equal(count(archiveSummary, "truncated_input"), 499, "each overlapping entry counted");
    assert.match(
      messages(archiveSummary, "truncated_input")[0] ?? "",
      /overlaps the bytes of another member/,
    );
    assert.equal(summary.inputs.length, 2);
  });

  it("skips a member whose header lies inside another member's data", async () => {
    // member b is stored inside member a's data (the "quoted" overlap of non-recursive bombs)
    const inner = zip([{ name: "b/hostd.log", data: lines(10, 2) }], { method: "store" });
    const innerCd = inner.readUInt32LE(inner.length - 6);
    const innerLocal = inner.subarray(0, innerCd);
    const outer = zip(
      [{ name: "a/hostd.log", data: Buffer.concat([innerLocal, Buffer.from(lines(1, 1))]) }],
      {
        method: "store",
      },
    );
    const outerCd = outer.readUInt32LE(outer.length - 6);
    const bEntry = Buffer.from(inner.subarray(innerCd, inner.length - 22));
    bEntry.writeUInt32LE(30 + "a/hostd.log".length, 42);
    const cd = Buffer.concat([outer.subarray(outerCd, outer.length - 22), bEntry]);
    const end = Buffer.from(outer.subarray(outer.length - 22));
    end.writeUInt16LE(2, 8);
    end.writeUInt16LE(2, 10);
    end.writeUInt32LE(cd.length, 12);
    const file = join(dir(), "quoted.zip");
    writeFileSync(file, Buffer.concat([outer.subarray(0, outerCd), cd, end]));
    const { summary } = await read([file]);
    const archiveSummary = top(summary.inputs);
    assert.equal(archiveSummary?.members?.read, 1, "only a is read");
    assert.match(messages(archiveSummary, "truncated_input")[0] ?? "", /"b\/hostd\.log" overlaps/);
  });

  it("does not mistake members listed out of order for overlapping ones", async () => {
    const files = [1, 2, 3, 4].map((n) => ({
      name: `logs/hostd-${n}.log`,
      data: lines(n * 10, 1),
    }));
    for (const run of await bothWays(zip(files, { reverseDirectory: true }))) {
      assert.equal(run.records.length, 4, run.how);
      assert.equal(top(run.summary.inputs)?.issues.length, 0, run.how);
    }
  });
});

describe("zip CRC-32", () => {
  it("reports a member whose data does not match its CRC, keeping what it read", async () => {
    const files = [
      { name: "logs/hostd.log", data: lines(1, 2) },
      { name: "logs/hostd-1.log", data: lines(5, 1) },
    ];
    for (const descriptor of [false, true]) {
      const archive = zip(files, { badCrc: ["logs/hostd.log"], descriptor });
      for (const run of await bothWays(archive)) {
        const where = `${run.how}${descriptor ? ", data descriptor" : ""}`;
        assert.equal(run.records.length, 3, where);
        const archiveSummary = top(run.summary.inputs);
        assert.equal(count(archiveSummary, "truncated_input"), 1, where);
        assert.match(
          messages(archiveSummary, "truncated_input")[0] ?? "",
          /"logs\/hostd\.log": CRC-32 0x[0-9a-f]{8} does not match the stored 0x[0-9a-f]{8}/,
          where,
        );
        const member = run.summary.inputs.find((s) => s.source.member === "logs/hostd.log");
        assert.match(messages(member, "truncated_input")[0] ?? "", /^member damaged: /, where);
        const good = run.summary.inputs.find((s) => s.source.member === "logs/hostd-1.log");
        assert.equal(good?.issues.length, 0, where);
      }
    }
  });

  it("accepts matching CRCs silently (stored and deflated)", async () => {
    for (const method of ["store", "deflate"] as const) {
      for (const run of await bothWays(
        zip([{ name: "hostd.log", data: lines(1, 50) }], { method }),
      )) {
        assert.equal(run.records.length, 50);
        assert.deepEqual(
          run.summary.inputs.flatMap((s) => s.issues),
          [],
          `${method}, ${run.how}`,
        );
      }
    }
  });
});

describe("a zip whose central directory lies", () => {
  const archive = zip([
    { name: "logs/hostd.log", data: lines(1, 2) },
    { name: "logs/hostd-1.log", data: lines(5, 1) },
  ]);
  /** The archive with end-of-central-directory fields replaced: `[offset in the record, value, bytes]`. */
  const patched = (...fields: [number, number, 2 | 4][]): Buffer => {
    const copy = Buffer.from(archive);
    for (const [at, value, width] of fields) {
      if (width === 4) copy.writeUInt32LE(value, copy.length - 22 + at);
      else copy.writeUInt16LE(value, copy.length - 22 + at);
    }
    return copy;
  };
  const cdOffset = archive.readUInt32LE(archive.length - 6);
  const shifted = Buffer.from(archive);
  for (let p = cdOffset; p < archive.length - 22;) {
    shifted.writeUInt32LE(shifted.readUInt32LE(p + 42) + 7, p + 42); // every local offset wrong
    p += 46 + shifted.readUInt16LE(p + 28);
  }
  const cases: [string, Buffer, RegExp][] = [
    ["an offset inside the data", patched([16, 9, 4]), /central directory unreadable/],
    ["an offset past the end", patched([16, archive.length + 1000, 4]), /unreadable/],
    ["no entries", patched([8, 0, 2], [10, 0, 2]), /lists no members/],
    ["members that are not where it says", shifted, /points to no member/],
  ];
  for (const [what, bytes, why] of cases) {
    it(`(${what}) is read from its local headers, with an issue`, async () => {
      const file = join(dir(), "lying.zip");
      writeFileSync(file, bytes);
      const { records, summary } = await read([file]);
      assert.equal(records.length, 3, "every member read");
      const archiveSummary = top(summary.inputs);
      assert.equal(count(archiveSummary, "truncated_input"), 1);
      const message = messages(archiveSummary, "truncated_input")[0] ?? "";
      assert.match(message, why);
      assert.match(message, /members read from the local headers instead/);
      assert.equal(
        archiveSummary?.bytes,
        bytes.length,
        "the file's bytes are read once, all of them",
      );
    });
  }
});

describe("the cap on bytes read out of one archive", () => {
  it("stops reading the archive where the cap is reached, with an issue", async () => {
    const first = lines(1, 4);
    const files = [
      { name: "logs/hostd.log", data: first },
      { name: "logs/hostd-1.log", data: lines(10, 4) },
    ];
    const max = first.length + Math.floor(hostdLine(10).length * 1.5);
    for (const run of await bothWays(zip(files), { maxArchiveBytes: max })) {
      assert.equal(
        run.records.length,
        5,
        `${run.how}: the first member and one line of the second`,
      );
      const archiveSummary = top(run.summary.inputs);
      assert.equal(count(archiveSummary, "archive_limit"), 1, run.how);
      assert.match(
        messages(archiveSummary, "archive_limit")[0] ?? "",
        new RegExp(
          `more than ${max} bytes read out of this archive .*stopped in member "logs/hostd-1\\.log"`,
        ),
      );
      const cut = run.summary.inputs.find((s) => s.source.member === "logs/hostd-1.log");
      assert.equal(count(cut, "archive_limit"), 1, run.how);
    }
    const tgz = join(dir(), "bundle.tgz");
    writeFileSync(tgz, gzip(await tar([...files, { name: "logs/hostd-2.log", data: first }])));
    const { records, summary } = await read([tgz], { maxArchiveBytes: max });
    assert.equal(records.length, 5, "tar: the same cap");
    assert.equal(summary.inputs.length, 3, "the third member is not reached");
  });

  it("is set with --max-archive-bytes, and a bad size is a usage error", async () => {
    const d = dir();
    writeFileSync(join(d, "export.zip"), zip([{ name: "hostd.log", data: "x".repeat(5000) }]));
    const capped = fakeIo(d);
    assert.equal(
      await run(["inspect", "--json", "--max-archive-bytes", "4K", "export.zip"], capped.io),
      0,
    );
    const summary = JSON.parse(capped.out.join("\n")) as {
      totals: { issues: Record<string, number> };
    };
    assert.equal(summary.totals.issues["archive_limit"], 2, "the archive and its member");
    const plain = fakeIo(d);
    assert.equal(await run(["inspect", "--json", "export.zip"], plain.io), 0);
    assert.ok(!plain.out.join("\n").includes("archive_limit"), "the default cap is far away");
    for (const bad of ["0", "-1", "12Q", "1.5G", ""]) {
      const usage = fakeIo(d);
      assert.equal(
        await run(["inspect", "--max-archive-bytes", bad, "export.zip"], usage.io),
        2,
        bad,
      );
      assert.match(usage.err.join("\n"), /ERR_USAGE: invalid --max-archive-bytes/);
    }
  });

  it("leaves an archive under the cap alone", async () => {
    for (const run of await bothWays(zip([{ name: "hostd.log", data: lines(1, 3) }]), {
      maxArchiveBytes: lines(1, 3).length,
    })) {
      assert.equal(run.records.length, 3);
      assert.equal(count(top(run.summary.inputs), "archive_limit"), 0);
    }
  });
});

describe("zip members that are Unix symbolic links", () => {
  it("are counted as skipped symlinks, not read", async () => {
    const archive = zip(
      [
        { name: "logs/hostd.log", data: lines(1, 1) },
        { name: "logs/hostd-1.log", data: "/etc/shadow" },
      ],
      { symlinks: ["logs/hostd-1.log"] },
    );
    const file = join(dir(), "links.zip");
    writeFileSync(file, archive);
    const { records, summary } = await read([file]);
    assert.equal(records.length, 1);
    assert.deepEqual(top(summary.inputs)?.members?.skippedBy, [{ reason: "symlink", count: 1 }]);
  });
});

/**
 * Hostile archives through `readInputs`: members that are not regular files, and (zip) entries
 * that overlap, CRCs that do not match, a central directory that lies, a decompression cap.
 */
import assert from "node:assert/strict";
import { mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { Readable } from "node:stream";
import { describe, it } from "node:test";
import type { CanonicalRecord } from "../../model/record.js";
import { gzip, tar } from "../../../test/helpers/archives.js";
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
      assert.deepEqual(archive?.members?.skippedByKind, {
        "block-device": 1,
        "character-device": 1,
        fifo: 1,
        hardlink: 1,
        symlink: 1,
      });
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

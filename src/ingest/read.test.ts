import assert from "node:assert/strict";
import { createHash } from "node:crypto";
import { mkdirSync, mkdtempSync, symlinkSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { Readable } from "node:stream";
import { describe, it } from "node:test";
import type { CanonicalRecord } from "../model/record.js";
import { isGuestOpsError } from "../shared/errors.js";
import { gzip, tar, zip } from "../../test/helpers/archives.js";
import {
  hostdLine,
  noiseLine,
  testLineReader,
  testReaders,
} from "../../test/helpers/test-readers.js";
import { defineReader, type LineReader } from "./types.js";
import { readInputs, type ReadInputsOptions } from "./read.js";
import type { InputSummary } from "./summary.js";

const dir = (): string => mkdtempSync(join(tmpdir(), "guestops-read-"));

async function read(paths: string[], options: Partial<ReadInputsOptions> = {}) {
  const records: CanonicalRecord[] = [];
  const summary = await readInputs(
    paths,
    { readers: testReaders, ...options },
    {
      record: (r) => records.push(r),
    },
  );
  return { records, summary };
}

const find = (inputs: readonly InputSummary[], member: string | undefined) =>
  inputs.find((s) => s.source.member === member);

/** 5 lines: event, noise, event, login, noise. */
const SAMPLE = [
  hostdLine(229, "Initiate File Transfer To Guest"),
  noiseLine(1),
  hostdLine(246),
  "2024-06-03T19:58:26.435Z In(166) Hostd[1050278]: [Originator@6876 sub=Vimsvc.ha-eventmgr] Event 220 : User root@192.168.127.13 logged in as PowerCLI/13.2.1",
  noiseLine(2),
].join("\n");

describe("readInputs", () => {
  it("reads a plain file: records with exact provenance, counts, hash, time span", async () => {
    const d = dir();
    const file = join(d, "hostd.log");
    writeFileSync(file, `${SAMPLE}\n`);
    const { records, summary } = await read([file]);
    assert.deepEqual(
      records.map((r) => [r.kind, r.prov.line, r.prov.raw.slice(0, 24)]),
      [
        ["hostd.event", 1, "2024-06-04T21:58:49.000Z"],
        ["hostd.event", 3, "2024-06-04T21:58:06.000Z"],
        ["login", 4, "2024-06-03T19:58:26.435Z"],
      ],
    );
    const [input] = summary.inputs;
    assert.ok(input);
    assert.equal(input.status, "read");
    assert.equal(input.source.format, "hostd");
    assert.equal(input.lines, 5);
    assert.equal(input.linesPassed, 3, "noise lines never reach the parser");
    assert.deepEqual(input.recordsByKind, { "hostd.event": 2, login: 1 });
    assert.equal(input.firstTime, "2024-06-03T19:58:26.435Z");
    assert.equal(input.lastTime, "2024-06-04T21:58:49.000Z");
    const sha = createHash("sha256").update(`${SAMPLE}\n`).digest("hex");
    assert.equal(input.source.sha256, sha);
    assert.equal(records[0]?.prov.source.sha256, sha, "records see the hash once it is known");
    assert.equal(summary.totals.records, 3);
    assert.equal(summary.totals.files, 1);
  });

  it("walks directories in sorted order and reads a file once", async () => {
    const d = dir();
    mkdirSync(join(d, "b"));
    mkdirSync(join(d, "a"));
    writeFileSync(join(d, "b", "hostd.log"), hostdLine(2));
    writeFileSync(join(d, "a", "z.log"), hostdLine(1));
    writeFileSync(join(d, "a", "B.log"), hostdLine(3));
    const { summary } = await read([d, join(d, "a", "z.log")]);
    assert.deepEqual(
      summary.inputs.map((s) => s.source.path),
      [join(d, "a", "B.log"), join(d, "a", "z.log"), join(d, "b", "hostd.log")],
    );
    assert.deepEqual(
      summary.inputs.map((s) => s.source.id),
      [0, 1, 2],
    );
  });

  it("reads a multi-member gzip like the plain file", async () => {
    const d = dir();
    const file = join(d, "hostd.0.gz");
    const [a, b] = [SAMPLE.slice(0, 300), SAMPLE.slice(300)];
    writeFileSync(file, gzip(a, `${b}\n`));
    const { records, summary } = await read([file]);
    assert.deepEqual(
      records.map((r) => r.prov.line),
      [1, 3, 4],
    );
    const [input] = summary.inputs;
    assert.deepEqual(input?.containers, ["gzip"]);
    assert.equal(input?.issues.length, 0);
  });

  it("reads an ESXi bundle: relevant members only, nested gzip, member names, host hint", async () => {
    const d = dir();
    const top = "esx-esx01.example.com-2024-06-04--21.58-1234";
    const bundle = await tar([
      { name: `${top}/var/run/log/hostd.log`, data: `${hostdLine(5)}\n` },
      { name: `${top}/var/run/log/hostd.0.gz`, data: gzip(`${hostdLine(4)}\n`) },
      { name: `${top}/commands/esxcfg-info.txt`, data: "Guest operation but not a log\n" },
      { name: `${top}/etc/vmware/hostd/config.xml`, data: "<config/>" },
    ]);
    const file = join(d, `${top}.tgz`);
    writeFileSync(file, gzip(bundle));
    const { records, summary } = await read([file]);
    assert.equal(records.length, 2);
    const archive = find(summary.inputs, undefined);
    assert.equal(archive?.status, "archive");
    assert.deepEqual(archive?.containers, ["gzip", "tar"]);
    assert.deepEqual(archive?.members, {
      read: 2,
      skipped: 2,
      skippedExamples: [`${top}/commands/esxcfg-info.txt`, `${top}/etc/vmware/hostd/config.xml`],
      skippedBy: [{ reason: "no-reader", count: 2 }],
    });
    const rotated = find(summary.inputs, `${top}/var/run/log/hostd.0.gz`);
    assert.equal(rotated?.records, 1);
    assert.deepEqual(rotated?.containers, ["gzip", "tar", "gzip"]);
    assert.equal(rotated?.source.hostHint, "esx01.example.com");
    const sha = createHash("sha256").update(gzip(bundle)).digest("hex");
    for (const s of summary.inputs)
      assert.equal(s.source.sha256, sha, "members carry the outer hash");
    assert.equal(summary.totals.membersSkipped, 2);
  });

  it("reads a vCenter export zip of bundles, from disk and from standard input", async () => {
    const inner = gzip(
      await tar([{ name: "esx-h1-2024-06-04--21.58/var/run/log/hostd.log", data: hostdLine(7) }]),
    );
    const archive = zip(
      [
        { name: "esx-h1-2024-06-04--21.58.tgz", data: inner },
        { name: "vpxd/vpxd-12.log.gz", data: gzip(`${hostdLine(8)}\n`) },
        { name: "README.txt", data: "not a log" },
      ],
      { descriptor: true },
    );
    const d = dir();
    const file = join(d, "VMware-vCenter-support-2024-06-04@21-58.zip");
    writeFileSync(file, archive);
    for (const paths of [[file], ["-"]]) {
      const { records, summary } = await read(paths, { stdin: () => Readable.from([archive]) });
      assert.deepEqual(
        records.map((r) => r.prov.source.member),
        [
          "esx-h1-2024-06-04--21.58.tgz!esx-h1-2024-06-04--21.58/var/run/log/hostd.log",
          "vpxd/vpxd-12.log.gz",
        ],
        `members via ${paths[0] === "-" ? "local headers" : "central directory"}`,
      );
      assert.equal(records[0]?.prov.source.hostHint, "h1");
      const top = find(summary.inputs, undefined);
      assert.equal(top?.members?.skipped, 1);
      assert.equal(top?.issues.length, 0);
    }
  });

  it("reports encrypted zip members that may be logs, and skips those surely not logs", async () => {
    const archive = zip(
      [
        { name: "logs/hostd.log", data: hostdLine(1) },
        { name: "secret.png", data: "x" },
        { name: "logs/vpxd.log", data: hostdLine(2) },
      ],
      { encrypted: ["logs/hostd.log", "secret.png"] },
    );
    const d = dir();
    const file = join(d, "export.zip");
    writeFileSync(file, archive);
    for (const paths of [[file], ["-"]]) {
      const { records, summary } = await read(paths, { stdin: () => Readable.from([archive]) });
      const top = find(summary.inputs, undefined);
      assert.deepEqual(
        top?.issues.map((i) => [i.code, i.count]),
        [["unknown_format", 1]],
      );
      assert.match(top?.issues[0]?.examples[0]?.message ?? "", /"logs\/hostd\.log" is encrypted/);
      assert.equal(top?.members?.skipped, 1);
      assert.equal(records.length, 1, "the readable member is still read");
    }
  });

  it("opens a zip inside a tarball from its local headers", async () => {
    const d = dir();
    const inner = zip([{ name: "var/run/log/hostd.log", data: `${hostdLine(9)}\n` }], {
      descriptor: true,
    });
    const file = join(d, "collected.tar");
    writeFileSync(file, await tar([{ name: "exports/logs.zip", data: inner }]));
    const { records, summary } = await read([file]);
    assert.equal(records[0]?.prov.source.member, "exports/logs.zip!var/run/log/hostd.log");
    assert.deepEqual(
      summary.inputs.map((s) => [s.status, s.containers.join("+")]),
      [
        ["archive", "tar"],
        ["archive", "tar+zip"],
        ["read", "tar+zip"],
      ],
    );
  });

  it("decodes UTF-16LE with a BOM (Windows PowerShell output) for every reader", async () => {
    const d = dir();
    const json = JSON.stringify([
      {
        createdTime: "2024-06-04T21:58:00.975Z",
        fullFormattedMessage: "Guest operation Start Program performed on Virtual machine vm1 ünï.",
      },
    ]);
    const jsonFile = join(d, "events.json");
    writeFileSync(
      jsonFile,
      Buffer.concat([Buffer.from([0xff, 0xfe]), Buffer.from(json, "utf16le")]),
    );
    const logFile = join(d, "hostd.log");
    writeFileSync(
      logFile,
      Buffer.concat([
        Buffer.from([0xff, 0xfe]),
        Buffer.from(`${hostdLine(1, "Start Program", "vm ünï")}\r\n`, "utf16le"),
      ]),
    );
    const { records, summary } = await read([jsonFile, logFile]);
    assert.deepEqual(
      summary.inputs.map((s) => [s.source.format, s.encoding, s.records]),
      [
        ["vc-events-json", "utf16le", 1],
        ["hostd", "utf16le", 1],
      ],
    );
    assert.equal(
      records[0]?.type === "observation" ? records[0].method : "",
      "Guest operation Start Program performed on Virtual machine vm1 ünï.",
    );
    assert.equal(records[1]?.type === "observation" ? records[1].vm?.name : "", "vm ünï");
  });

  it("applies --input-format to every text input", async () => {
    const d = dir();
    const file = join(d, "odd.txt");
    writeFileSync(file, `prefix line\nmore\nand more\nstill more\n${hostdLine(3)}\n`);
    assert.equal((await read([file])).summary.inputs[0]?.status, "unknown_format");
    const forced = await read([file], { inputFormat: "hostd" });
    assert.equal(forced.summary.inputs[0]?.status, "read");
    assert.equal(forced.records.length, 1);
  });

  it("passes each input's modification time as the reference time unless one is given", async () => {
    const seen: (string | undefined)[] = [];
    const spy = {
      ...testReaders[0],
      open: (ctx: Parameters<(typeof testReaders)[0]["open"]>[0]) => {
        seen.push(ctx.options.referenceTime);
        return testReaders[0].open(ctx);
      },
    };
    const d = dir();
    const file = join(d, "hostd.log");
    writeFileSync(file, hostdLine(1));
    await readInputs([file], { readers: [spy] }, { record: () => undefined });
    await readInputs(
      [file],
      { readers: [spy], referenceTime: "2024-01-02T03:04:05Z" },
      { record: () => undefined },
    );
    assert.match(seen[0] ?? "", /^\d{4}-\d{2}-\d{2}T/);
    assert.equal(seen[1], "2024-01-02T03:04:05.000Z");
  });

  it("rejects a bad zone, format or reference time as a usage error", async () => {
    for (const options of [
      { assumeTz: "Mars/Olympus" },
      { inputFormat: "nope" },
      { referenceTime: "yesterday" },
    ]) {
      await assert.rejects(read([], options), (e) => isGuestOpsError(e) && e.code === "ERR_USAGE");
    }
  });

  it("reports progress and every finished input", async () => {
    const d = dir();
    writeFileSync(join(d, "a.log"), hostdLine(1));
    writeFileSync(join(d, "b.log"), hostdLine(2));
    const progress: string[] = [];
    const done: string[] = [];
    await readInputs(
      [d],
      { readers: testReaders },
      {
        record: () => undefined,
        progress: (p) => progress.push(p.path),
        input: (s) => done.push(`${s.source.path}:${s.source.sha256.length}`),
      },
    );
    assert.ok(progress.includes(join(d, "a.log")) && progress.includes(join(d, "b.log")));
    assert.deepEqual(done, [`${join(d, "a.log")}:64`, `${join(d, "b.log")}:64`]);
  });

  it("counts a line a reader says nothing about as not understood, and names the ignored kinds", async () => {
    // a reader that reads events, skips logins as "login" and says nothing about "Guest" noise
    const silent: LineReader = defineReader({
      ...testLineReader,
      open: (ctx) => {
        const inner = testLineReader.open(ctx);
        return {
          line: (text, lineNo) => {
            if (text.includes("logged in")) ctx.skip(lineNo, "login");
            else if (text.includes("performed on")) inner.line(text, lineNo);
          },
          end: () => inner.end(),
        };
      },
    });
    const d = dir();
    const file = join(d, "hostd.log");
    const noise = "2024-06-04T21:58:00.000Z In(166) Hostd[1]: [x] Guest operation nothing";
    writeFileSync(file, `${SAMPLE}\n${noise}\n${noise}\n`);
    const { records, summary } = await read([file], { readers: [silent] });
    assert.equal(records.length, 2);
    const [input] = summary.inputs;
    assert.equal(input?.linesPassed, 5);
    assert.equal(input?.notUnderstood.count, 2, "the two lines the reader was silent about");
    assert.deepEqual(
      input?.notUnderstood.examples.map((x) => x.line),
      [6, 7],
    );
    assert.match(input?.notUnderstood.examples[0]?.message ?? "", /reader bug/);
    assert.equal(input?.linesSkipped, 1);
    assert.deepEqual(input?.ignoredBy, [{ kind: "login", count: 1 }]);
    assert.equal(summary.totals.notUnderstood, 2);
  });

  it("counts special entries of a walked directory as skipped, by kind", async () => {
    const d = dir();
    mkdirSync(join(d, "logs"));
    writeFileSync(join(d, "logs", "hostd.log"), `${SAMPLE}\n`);
    symlinkSync(join(d, "nowhere"), join(d, "logs", "gone.log"));
    const { summary } = await read([join(d, "logs")]);
    assert.equal(summary.totals.entriesSkipped, 1);
    assert.deepEqual(summary.totals.entriesSkippedBy, [{ reason: "dangling-link", count: 1 }]);
    assert.deepEqual(summary.skippedEntries, [
      { path: join(d, "logs", "gone.log"), kind: "dangling-link" },
    ]);
  });

  it("reports a member named like a log that no reader knows; skips other unknown members", async () => {
    const d = dir();
    const bundle = await tar([
      { name: "var/run/log/hostd.log", data: "an unknown layout\nof what should be hostd\n" },
      { name: "commands/uptime.txt", data: "up 3 days\n" },
      { name: "receiver/esxi-hosts.log", data: `${hostdLine(8)}\n` },
    ]);
    const file = join(d, "bundle.tgz");
    writeFileSync(file, gzip(bundle));
    const { records, summary } = await read([file]);
    assert.equal(records.length, 1, "the log with an unusual name is read by its content");
    const unknown = find(summary.inputs, "var/run/log/hostd.log");
    assert.equal(unknown?.status, "unknown_format");
    assert.equal(unknown?.issues[0]?.code, "unknown_format");
    assert.equal(find(summary.inputs, "commands/uptime.txt"), undefined);
    assert.deepEqual(find(summary.inputs, undefined)?.members?.skippedBy, [
      { reason: "no-reader", count: 1 },
    ]);
  });
});

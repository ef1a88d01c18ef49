import assert from "node:assert/strict";
import { mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, it } from "node:test";
import type { CanonicalRecord } from "../model/record.js";
import { readInputs } from "./read.js";

const EVENT = (n: number, vm: string): string =>
  `2024-06-04T21:58:0${n}.913Z In(166) Hostd[1050740]: [Originator@6876 sub=Vimsvc.ha-eventmgr] Event 24${n} : Guest operation Start Program performed on Virtual machine ${vm}.`;
const HEAD =
  "2016-11-04T19:14:11.838Z verbose hostd[7C486B70] [Originator@6876 sub=Solo.Vmomi opID=ee13d46d user=root]";

async function readBytes(bytes: Buffer): Promise<CanonicalRecord[]> {
  const file = join(mkdtempSync(join(tmpdir(), "guestops-raw-")), "hostd.log");
  writeFileSync(file, bytes);
  const records: CanonicalRecord[] = [];
  await readInputs([file], {}, { record: (r) => records.push(r) });
  return records;
}

const lines = (...parts: (string | Buffer)[]): Buffer =>
  Buffer.concat(parts.map((p) => (typeof p === "string" ? Buffer.from(p) : p)));

describe("byte-exact raw for lines that are not UTF-8", () => {
  it("gives a one-line record the line's bytes as base64, and leaves valid lines as text", async () => {
    const bad = lines(EVENT(1, "vm-"), Buffer.from([0xff, 0xfe, 0x80]));
    const records = await readBytes(lines(bad, "\n", EVENT(2, "good"), "\n"));
    assert.equal(records.length, 2);
    const [first, second] = records;
    assert.equal(first?.prov.rawEncoding, "base64");
    assert.ok(Buffer.from(first?.prov.raw ?? "", "base64").equals(bad), "the exact bytes");
    assert.equal(second?.prov.rawEncoding, undefined);
    assert.equal(second?.prov.raw, EVENT(2, "good"));
  });

  it("keeps a U+FFFD that is in the input as text (it is valid UTF-8)", async () => {
    const records = await readBytes(Buffer.from(`${EVENT(3, "vm-\ufffd")}\n`));
    assert.equal(records[0]?.prov.rawEncoding, undefined);
    assert.equal(records[0]?.prov.raw, EVENT(3, "vm-\ufffd"));
  });

  it("restores the bad line inside a multi-line record, the other lines re-encoded", async () => {
    const badLine = lines('-->    programPath = "C:\\\\t', Buffer.from([0xe9, 0x80]), '.exe",');
    const dump = [
      lines(`${HEAD} Arg spec:`),
      lines("--> (vim.vm.guest.ProcessManager.ProgramSpec) {"),
      badLine,
      lines('-->    arguments = "/c whoami",'),
      lines("--> }"),
    ];
    const file = lines(...dump.flatMap((l) => [l, "\n"]), `${HEAD} Throw vim.fault.X\n`);
    const records = await readBytes(file);
    const args = records.find((r) => r.type === "observation" && r.kind === "hostd.args");
    assert.ok(args, "the argument dump is read");
    assert.equal(args.prov.rawEncoding, "base64");
    assert.equal(args.prov.lineCount, dump.length);
    const expected = Buffer.concat(
      dump.flatMap((l, i) => (i === 0 ? [l] : [Buffer.from("\n"), l])),
    );
    assert.ok(Buffer.from(args.prov.raw, "base64").equals(expected), "the dump's exact bytes");
  });
});

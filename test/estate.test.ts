/**
 * The estate generator the store's tests and the benches use: the fixture's period option, and
 * the on-disk writer (same options, same bytes; hosts named for the inputs whose lines name none).
 */
import assert from "node:assert/strict";
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, relative } from "node:path";
import { after, describe, it } from "node:test";
import { generateEstate } from "../src/attribute/fixtures/estate.js";
import { writeEstate } from "./helpers/estate.js";

const base = {
  seed: 3,
  hosts: 3,
  vmsPerHost: 2,
  runs: 400,
  directShare: 0.1,
  maxSkewMs: 1000,
  start: "2026-03-01T00:00:00.000Z",
};
const span = (times: readonly string[]): [number, number] => {
  let lo = Infinity;
  let hi = -Infinity;
  for (const t of times) {
    const ms = Date.parse(t);
    if (ms < lo) lo = ms;
    if (ms > hi) hi = ms;
  }
  return [lo, hi];
};

describe("generated estate", () => {
  const dirs: string[] = [];
  after(() => {
    for (const d of dirs) rmSync(d, { recursive: true, force: true });
  });
  const tmp = (): string => {
    const d = mkdtempSync(join(tmpdir(), "guestops-estate-"));
    dirs.push(d);
    return d;
  };

  it("spreads its runs over the period asked for, 10 hours by default", () => {
    const start = Date.parse(base.start);
    const [lo10, hi10] = span(generateEstate(base).truth.map((t) => t.hostEventTime));
    assert.ok(lo10 >= start - 5_000 && hi10 <= start + 10 * 3_600_000 + 600_000);
    const month = generateEstate({ ...base, periodMs: 30 * 86_400_000 });
    const [lo, hi] = span(month.truth.map((t) => t.hostEventTime));
    assert.ok(lo >= start - 5_000, "nothing before the start");
    assert.ok(hi <= start + 30 * 86_400_000 + 600_000, "nothing after the period");
    assert.ok(hi - lo > 25 * 86_400_000, `spread over ${(hi - lo) / 86_400_000} days`);
  });

  it("writes the same bytes for the same options, and names each hostd file's host", () => {
    const a = tmp();
    const b = tmp();
    const first = writeEstate(a, { hosts: 3, runs: 200, days: 2, seed: 5 });
    const again = writeEstate(b, { hosts: 3, runs: 200, days: 2, seed: 5 });
    assert.equal(first.paths.length, 5); // 3 hostd.log, the vCenter event stream, vpxd.log
    assert.ok(first.operations > 200 * 4);
    assert.equal(again.operations, first.operations);
    let bytes = 0;
    for (const [i, path] of first.paths.entries()) {
      const text = readFileSync(path);
      bytes += text.length;
      assert.ok(text.equals(readFileSync(again.paths[i] ?? "")), relative(a, path));
    }
    assert.equal(bytes, first.bytes);
    assert.deepEqual(
      first.inputHosts.map((h) => relative(a, h)),
      [
        "esx01/var/run/log/hostd.log=esx01.corp.example",
        "esx02/var/run/log/hostd.log=esx02.corp.example",
        "esx03/var/run/log/hostd.log=esx03.corp.example",
        "vc01/vpxd.log=vc01.corp.example",
      ],
    );
    const other = writeEstate(tmp(), { hosts: 3, runs: 200, days: 2, seed: 6 });
    assert.notEqual(
      readFileSync(other.paths[0] ?? "", "utf8"),
      readFileSync(first.paths[0] ?? "", "utf8"),
    );
  });

  it("writes hostd as one syslog file whose lines name their hosts", () => {
    const dir = tmp();
    const written = writeEstate(dir, { hosts: 2, runs: 50, syslog: true, seed: 5 });
    assert.deepEqual(
      written.paths.map((p) => relative(dir, p)),
      ["receiver/esxi-hostd.log", "vc01-events-stream.log", "vc01/vpxd.log"],
    );
    const hostd = readFileSync(written.paths[0] ?? "", "utf8");
    assert.match(hostd, /^<166>\S+ esx0[12]\.corp\.example Hostd\[/m);
    assert.deepEqual(
      written.inputHosts.map((h) => relative(dir, h)),
      ["vc01/vpxd.log=vc01.corp.example"],
    );
  });

  it("keeps the store tests' shorthand: files hosts' hostd in one syslog file, about files x opsPerFile operations", () => {
    const dir = tmp();
    const written = writeEstate(dir, { files: 2, opsPerFile: 700, seed: 9 });
    assert.deepEqual(
      written.paths.map((p) => relative(dir, p)),
      ["receiver/esxi-hostd.log"],
    );
    const hosts = new Set(
      readFileSync(written.paths[0] ?? "", "utf8").match(/esx\d\d\.corp\.example/g),
    );
    assert.deepEqual([...hosts].sort(), ["esx01.corp.example", "esx02.corp.example"]);
    assert.ok(Math.abs(written.operations - 1400) < 300, `${written.operations} operations`);
  });
});

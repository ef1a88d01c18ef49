/**
 * The example dataset packed the way users pack logs (`tar czf`, a zip): every member is chosen by
 * its content, so `scan` and `events` find the same operations and alerts as on the directory, and
 * what an archive holds but guestops does not read is counted in the run summary.
 */
import assert from "node:assert/strict";
import { mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, relative } from "node:path";
import { after, before, describe, it } from "node:test";
import { fileURLToPath } from "node:url";
import { run } from "../../src/cli/run.js";
import type { Alert } from "../../src/model/alert.js";
import type { ScanSummary } from "../../src/report/alerts.js";
import { gzip, tar, zip, type FileSpec } from "../helpers/archives.js";
import { fakeIo } from "../helpers/cli.js";

const ROOT = fileURLToPath(new URL("../..", import.meta.url));
const POLICY = join(ROOT, "examples", "policy.yaml");

interface ScanDoc {
  readonly alerts: readonly Alert[];
  readonly summary: ScanSummary;
}

async function scan(target: string, ...extra: string[]): Promise<ScanDoc> {
  const { io, out, err } = fakeIo(ROOT);
  const code = await run(["scan", target, "--policy", POLICY, "--format", "json", ...extra], io);
  assert.equal(code, 0, err.join("\n"));
  return JSON.parse(out.join("\n")) as ScanDoc;
}

/** What must not depend on how the logs were packed (paths and hashes do). */
const essence = (doc: ScanDoc) => ({
  records: doc.summary.records,
  operations: doc.summary.operations,
  levels: doc.summary.attribution.levels,
  issues: doc.summary.issues,
  alerts: doc.alerts.map((a) => ({
    severity: a.severity,
    rules: a.rules,
    principal: a.principal,
    vm: a.vm,
    host: a.host,
    count: a.count,
    firstSeen: a.firstSeen,
    operations: a.operations.map((o) => [o.time, o.method, o.outcome, o.principal]),
  })),
});

/** Every file under `dir`, named `logs/<path>` as `tar czf x.tgz -C examples logs` names them. */
function filesOf(dir: string): FileSpec[] {
  const out: FileSpec[] = [];
  const walk = (d: string): void => {
    for (const name of readdirSync(d).sort()) {
      const p = join(d, name);
      if (statSync(p).isDirectory()) walk(p);
      else {
        out.push({
          name: `logs/${relative(dir, p).split("\\").join("/")}`,
          data: readFileSync(p),
          mtime: statSync(p).mtime,
        });
      }
    }
  };
  walk(dir);
  return out;
}

describe("the example dataset packed as an archive", () => {
  let d: string;
  let direct: ScanDoc;
  let files: FileSpec[];
  before(async () => {
    d = mkdtempSync(join(tmpdir(), "guestops-packed-"));
    files = filesOf(join(ROOT, "examples", "logs"));
    direct = await scan("examples/logs");
  });
  after(() => rmSync(d, { recursive: true, force: true }));

  it("gives the directory's operations and alerts as a .tgz", async () => {
    const file = join(d, "logs.tgz");
    writeFileSync(file, gzip(await tar(files)));
    const doc = await scan(file);
    assert.ok(direct.alerts.length > 0);
    assert.deepEqual(essence(doc), essence(direct));
    assert.equal(doc.summary.inputs.length, direct.summary.inputs.length);
    assert.equal(doc.summary.skipped, undefined, "nothing in the example is skipped");
  });

  it("gives the directory's operations and alerts as a .zip", async () => {
    const file = join(d, "logs.zip");
    writeFileSync(file, zip(files));
    const doc = await scan(file);
    assert.deepEqual(essence(doc), essence(direct));
  });

  it("counts what it does not read in the scan and events summaries; --all-members reads it", async () => {
    const extra: FileSpec[] = [
      { name: "logs/notes.txt", data: "collected on Tuesday by the night shift\n" },
      { name: "logs/var/core/core.hostd.4242", data: Buffer.alloc(512, 7) },
      { name: "logs/empty.log", data: "" },
    ];
    const file = join(d, "noisy.tgz");
    writeFileSync(file, gzip(await tar([...files, ...extra])));
    const doc = await scan(file);
    assert.deepEqual(essence(doc), essence(direct));
    assert.deepEqual(doc.summary.skipped, {
      members: 3,
      membersBy: [
        { reason: "empty", count: 1 },
        { reason: "no-reader", count: 1 },
        { reason: "not-log-name", count: 1 },
      ],
      entries: 0,
      entriesBy: [],
    });
    const table = fakeIo(ROOT);
    await run(["scan", file, "--policy", POLICY], table.io);
    assert.match(
      table.err.join("\n"),
      /skipped: 3 archive member\(s\) \(empty 1, no-reader 1, not-log-name 1; --all-members/,
    );
    const events = fakeIo(ROOT);
    await run(["events", file], events.io);
    assert.match(events.err.join("\n") + events.out.join("\n"), /skipped: 3 archive member\(s\)/);

    const all = await scan(file, "--all-members");
    assert.equal(all.summary.skipped, undefined);
    assert.equal(all.summary.inputs.length, direct.summary.inputs.length + 3);
    assert.equal(all.summary.operations, direct.summary.operations);
  });
});

/**
 * Repeated lines (a receiver that duplicates, a replayed file): the first copy is evidence, the
 * rest are counted, and nothing that grows with the number of copies recurses, spreads its
 * arguments or keeps a record per copy.
 */
import assert from "node:assert/strict";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, describe, it } from "node:test";
import { run } from "../cli/run.js";
import type { CanonicalRecord } from "../model/record.js";
import { fakeIo } from "../../test/helpers/cli.js";
import { createCorrelator, correlate } from "./correlate.js";
import { SessionIndex } from "./sessions.js";
import { obs, sess, source } from "./fixtures/records.js";

const EVENT =
  "2024-06-04T21:58:00.975Z In(166) Hostd[1050232]: [Originator@6876 sub=Vimsvc.ha-eventmgr] Event 246 : Guest operation Start Program performed on Virtual machine win-01.";
const LOGIN =
  "2024-06-04T21:57:59.101Z In(166) Hostd[1050278]: [Originator@6876 sub=Vimsvc.ha-eventmgr] Event 245 : User root@192.168.127.13 logged in as pyvmomi Python/3.11.6";

/** More copies than a spread or a recursion over them survives (V8 gives up near 120,000). */
const MANY = 200_000;

describe("repeated identical lines", () => {
  const dir = mkdtempSync(join(tmpdir(), "guestops-copies-"));
  after(() => rmSync(dir, { recursive: true, force: true }));

  it("200,000 copies of one hostd event line: one operation, one observation, the rest counted", async () => {
    const file = join(dir, "hostd.log");
    writeFileSync(file, `${`${EVENT}\n`.repeat(MANY)}`);
    const { io, out, err } = fakeIo(dir);
    const code = await run(["events", file, "--format", "json"], io);
    assert.equal(code, 0, err.join("\n"));
    const doc = JSON.parse(out.join("")) as {
      context: { counts: { duplicateObservations: number } };
      operations: { api: string; copies?: number; evidence: unknown[] }[];
    };
    assert.equal(doc.operations.length, 1);
    const [op] = doc.operations;
    assert.equal(op?.api, "StartProgramInGuest");
    assert.equal(op?.evidence.length, 1);
    assert.equal(op?.copies, MANY - 1);
    assert.equal(doc.context.counts.duplicateObservations, MANY - 1);
  });

  it("copies with other text (another source) are kept, identical ones only counted", () => {
    const stream = source("events-stream.log");
    const json = source("events.json");
    const fields = {
      time: "2026-03-10T09:15:03.809Z",
      api: "StartProgramInGuest",
      method: "Start Program",
      vm: { name: "app01" },
      user: "CORP\\alice",
      eventKey: "88200",
      vcenter: "vc01",
    };
    const a = obs(stream, "vc.event", { ...fields, raw: "stream line 88200" });
    const b = obs(json, "vc.event", { ...fields, raw: '{"key":88200}' });
    const r = correlate([a, a, a, b, b]);
    assert.equal(r.operations.length, 1);
    const [op] = r.operations;
    assert.deepEqual(
      op?.observations.map((o) => o.prov.raw),
      ["stream line 88200", '{"key":88200}'],
    );
    assert.equal(op?.copies, 3);
    assert.equal(r.observations.duplicates, 4);
  });

  it("the same line on two hosts is two operations, not a copy", () => {
    const records: CanonicalRecord[] = ["esx01", "esx02"].map((host) =>
      obs(source(`${host}/hostd.log`, { hostHint: host }), "hostd.event", {
        time: "2024-06-04T21:58:00.975Z",
        api: "StartProgramInGuest",
        method: "Start Program",
        vm: { name: "win-01" },
        eventKey: "246",
        raw: EVENT,
      }),
    );
    const r = correlate(records);
    assert.equal(r.operations.length, 2);
    assert.equal(r.observations.duplicates, 0);
    assert.ok(r.operations.every((o) => o.copies === undefined));
  });

  it("live flushing forgets released lines, so a late copy is not held forever", () => {
    const c = createCorrelator();
    const src = source("hostd.log", { hostHint: "esx01" });
    const e = obs(src, "hostd.event", {
      time: "2024-06-04T21:58:00.975Z",
      api: "StartProgramInGuest",
      method: "Start Program",
      vm: { name: "win-01" },
      eventKey: "246",
      raw: EVENT,
    });
    c.add(e);
    c.add(e);
    const first = c.flushBefore("2024-06-10T00:00:00Z");
    assert.equal(first.operations.length, 1);
    assert.equal(first.operations[0]?.copies, 1);
    assert.equal(first.observations.duplicates, 1);
    assert.equal(c.finish().operations.length, 0);
  });

  it("identical session lines without a session key open one session, not one per copy", () => {
    const index = new SessionIndex();
    const src = source("hostd.log", { hostHint: "esx01" });
    const login = sess(src, "login", {
      time: "2024-06-04T21:57:59.101Z",
      user: "root",
      sourceIp: "192.168.127.13",
      userAgent: "pyvmomi Python/3.11.6",
      raw: LOGIN,
    });
    for (let i = 0; i < MANY; i++) index.add(login);
    assert.equal(index.records, MANY);
    assert.equal(index.size, 1);
    // a copied logout closes that session once and opens nothing
    const logout = sess(src, "logout", {
      time: "2024-06-04T22:10:00.000Z",
      user: "root",
      sourceIp: "192.168.127.13",
    });
    const other = sess(src, "login", {
      time: "2024-06-04T21:59:00.000Z",
      user: "root",
      sourceIp: "192.168.127.13",
    });
    index.add(other);
    index.add(logout);
    index.add(logout);
    assert.equal(index.size, 2);
    const t = Date.parse("2024-06-04T22:30:00Z");
    const open = index.openAt("esx01", t, 48 * 3_600_000);
    assert.equal(open.length, 1, "the second copy of the logout did not close the other session");
  });
});

/**
 * `guestops learn`, `baseline show|diff|accept`, `policy suggest` and `scan --db` with a baseline,
 * through the CLI as a function, on a store holding synthetic operations stated here:
 * CORP\svc-backup every night at 02:00 Paris time for 30 nights on db01, db02 and dc01 (4
 * operations each: 360), and CORP\bob (an account the site policy does not list) pulling a file
 * out of dc01 on the 10th afternoon (3 operations: unexpected-account, medium, so not learned).
 */
import assert from "node:assert/strict";
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, describe, it } from "node:test";
import { run } from "../run.js";
import { fakeIo } from "../../../test/helpers/cli.js";
import { SITE_POLICY_PATH } from "../../../test/helpers/detect.js";
import { op } from "../../../test/helpers/operations.js";
import type { Operation } from "../../model/operation.js";
import { beginRun, openStore } from "../../store/index.js";
import { contentHash, operationJson } from "../../store/operations.js";

const DAY = 86_400_000;
const START = Date.parse("2026-02-01T01:00:00Z"); // 02:00 in Paris (UTC+01:00)

function insert(file: string, ops: readonly Operation[]): void {
  const store = openStore(file);
  try {
    const runId = beginRun(store.db, "test", [], "test");
    const put = store.db.prepare(
      `INSERT INTO operations (id, time_ms, host, vm, principal, level, api, hash, body, run_id, updated_run)
       VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
    );
    store.db.transaction(() => {
      for (const o of ops) {
        const body = operationJson(o);
        put.run(
          o.id,
          Date.parse(o.time ?? ""),
          o.host ?? null,
          o.vm.name ?? null,
          o.attribution.principal?.id ?? null,
          o.attribution.level,
          o.api,
          contentHash(body),
          body,
          runId,
          runId,
        );
      }
    })();
  } finally {
    store.close();
  }
}

const backupVisit = (vm: string, t: number): Operation[] =>
  [
    "StartProgramInGuest",
    "ListProcessesInGuest",
    "ListProcessesInGuest",
    "InitiateFileTransferFromGuest",
  ].map((method, i) =>
    op({
      principal: "CORP\\svc-veeam",
      via: "vcenter",
      sourceIp: "10.10.2.40",
      vm,
      host: "esx01.corp.example",
      method,
      time: new Date(t + i * 2000).toISOString(),
    }),
  );

describe("guestops learn, baseline, policy suggest", () => {
  const dir = mkdtempSync(join(tmpdir(), "guestops-baseline-cli-"));
  const db = join(dir, "store.db");
  const empty = join(dir, "no-logs");
  after(() => rmSync(dir, { recursive: true, force: true }));
  before(() => {
    mkdirSync(empty);
    const history: Operation[] = [];
    for (let d = 0; d < 30; d++) {
      ["db01", "db02", "dc01"].forEach((vm, i) =>
        history.push(...backupVisit(vm, START + d * DAY + i * 120_000)),
      );
    }
    const t = START + 10 * DAY + 13 * 3_600_000;
    history.push(
      op({
        principal: "CORP\\bob",
        vm: "dc01",
        method: "InitiateFileTransferToGuest",
        time: new Date(t).toISOString(),
      }),
      op({
        principal: "CORP\\bob",
        vm: "dc01",
        method: "StartProgramInGuest",
        time: new Date(t + 60_000).toISOString(),
      }),
      op({
        principal: "CORP\\bob",
        vm: "dc01",
        method: "InitiateFileTransferFromGuest",
        time: new Date(t + 120_000).toISOString(),
      }),
    );
    insert(db, history);
  });

  it("learn: learns 360 operations and leaves the attacker's 3 out", async () => {
    const { io, out } = fakeIo(dir);
    assert.equal(await run(["learn", "--db", db, "--policy", SITE_POLICY_PATH], io), 0);
    const text = out.join("\n");
    assert.match(
      text,
      /learned: 360 operation\(s\) from 2026-02-01 to 2026-03-02 \(29 days\), zone Europe\/Paris/,
    );
    assert.match(text, /profiles: 1 account\(s\) \(1 with a schedule\), 3 VM\(s\)/);
    assert.match(
      text,
      /left out: 3 operation\(s\) of 1 alert\(s\) of medium or higher severity \(al-[0-9a-f]{16}/,
    );
  });

  it("baseline show: the account in plain words, with its schedule, age and history", async () => {
    const { io, out } = fakeIo(dir);
    const code = await run(
      [
        "baseline",
        "show",
        "--db",
        db,
        "--account",
        "svc-veeam@corp.example",
        "--now",
        "2026-03-05T00:00:00Z",
      ],
      io,
    );
    assert.equal(code, 0);
    const text = out.join("\n");
    assert.match(text, /rests on 360 operations from 2026-02-01 to 2026-03-02 \(29 days\)/);
    assert.match(
      text,
      /CORP\\svc-veeam — looks like backup: runs on a schedule and pulls files out of guests/,
    );
    assert.match(
      text,
      /schedule: every day at 02:0\d \(±30 min, local\); 30 runs, 100% of slots kept, usually 3 VM\(s\) per run/,
    );
    assert.match(
      text,
      /history: 360 operations on 30 day\(s\), 2026-02-01 to 2026-03-02 \(profile age 29 days\)/,
    );
    assert.doesNotMatch(text, /bob/);
  });

  it("scan --db with no policy: the backup account at 14:00 on dc01 is an alert, the next night is not", async () => {
    insert(db, [
      ...["db01", "db02", "dc01"].flatMap((vm, i) =>
        backupVisit(vm, START + 31 * DAY + i * 120_000),
      ),
      ...backupVisit("dc01", START + 31 * DAY + 12 * 3_600_000),
    ]);
    const { io, out, err } = fakeIo(dir);
    const code = await run(
      ["scan", empty, "--db", db, "--format", "json", "--since", "2026-03-04"],
      io,
    );
    assert.equal(code, 0, err.join("\n"));
    const doc = JSON.parse(out.join("")) as { alerts: { rules: string[]; firstSeen: string }[] };
    assert.equal(doc.alerts.length, 1);
    assert.deepEqual(doc.alerts[0]?.rules.sort(), ["off-cadence", "rare-hour"]);
    assert.equal(doc.alerts[0]?.firstSeen, "2026-03-04T13:00:00.000Z");
  });

  it("baseline diff: a new run would add the two new nights' VMs history, no new account", async () => {
    const { io, out } = fakeIo(dir);
    assert.equal(await run(["baseline", "diff", "--db", db, "--policy", SITE_POLICY_PATH], io), 0);
    const text = out.join("\n");
    assert.match(text, /stored: 360 operations/);
    assert.match(text, /new run: 372 operations/);
    assert.doesNotMatch(text, /\+ account/);
  });

  it("baseline accept: an accepted alert is learned by the next run", async () => {
    const learned = fakeIo(dir);
    await run(
      ["learn", "--db", db, "--policy", SITE_POLICY_PATH, "--until", "2026-03-03"],
      learned.io,
    );
    const id = /\((al-[0-9a-f]{16})/.exec(learned.out.join("\n"))?.[1];
    assert.ok(id);
    const { io, out } = fakeIo(dir);
    assert.equal(
      await run(["baseline", "accept", id, "--db", db, "--note", "red-team test"], io),
      0,
    );
    assert.match(out.join("\n"), /accepted al-/);
    const again = fakeIo(dir);
    await run(
      ["baseline", "diff", "--db", db, "--policy", SITE_POLICY_PATH, "--until", "2026-03-03"],
      again.io,
    );
    assert.match(again.out.join("\n"), /\+ account CORP\\bob \(3 operations/);
    assert.equal(await run(["baseline", "accept", "not-an-id", "--db", db], fakeIo(dir).io), 2);
  });

  it("policy suggest: a commented draft that policy check accepts", async () => {
    const { io, out } = fakeIo(dir);
    assert.equal(await run(["policy", "suggest", "--db", db], io), 0);
    const yaml = out.join("\n");
    assert.match(
      yaml,
      /- name: "CORP\\\\svc-veeam"\n {4}role: backup # guessed: runs on a schedule and pulls files out of guests/,
    );
    assert.match(yaml, /vms: \["db01", "db02", "dc01"\] # the 3 VM\(s\) it touched/);
    assert.match(yaml, /sources: \["10\.10\.2\.40"\] # the addresses it came from/);
    assert.match(yaml, /allowedHours: "svc-veeam-hours" # its learned hours/);
    assert.match(yaml, /# tiers:/);
    const file = join(dir, "draft.yaml");
    writeFileSync(file, yaml);
    const check = fakeIo(dir);
    assert.equal(await run(["policy", "check", file], check.io), 0, check.err.join("\n"));
  });

  it("show and suggest on a store without a baseline are usage errors", async () => {
    const other = join(dir, "empty.db");
    assert.equal(await run(["baseline", "show", "--db", other], fakeIo(dir).io), 2);
    assert.equal(await run(["policy", "suggest", "--db", other], fakeIo(dir).io), 2);
  });
});

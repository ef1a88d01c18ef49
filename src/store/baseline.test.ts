/** The baseline in the store: saved and loaded unchanged; unreadable rows reported, not dropped. */
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { op } from "../../test/helpers/operations.js";
import { learnBaseline } from "../baseline/learn.js";
import { GuestOpsError } from "../shared/errors.js";
import { acceptAlert, acceptedAlerts, beginRun, loadBaseline, saveBaseline } from "./baseline.js";
import { openStore } from "./open.js";

const DAY = 86_400_000;
const T0 = Date.parse("2026-02-02T02:00:00Z");

function learned() {
  const ops = [];
  for (let d = 0; d < 10; d++) {
    for (const vm of ["db01", "db02"]) {
      ops.push(
        op({
          principal: "CORP\\svc-backup",
          vm,
          sourceIp: "10.0.2.40",
          time: new Date(T0 + d * DAY).toISOString(),
        }),
        op({
          principal: "CORP\\alice",
          vm,
          method: "ListFilesInGuest",
          time: new Date(T0 + d * DAY + 9 * 3_600_000 + d * 600_000).toISOString(),
        }),
      );
    }
  }
  return { ...learnBaseline(ops, { zone: "Europe/Paris" }), learnedAt: T0 + 11 * DAY };
}

describe("store: baseline", () => {
  it("loads what it saved, profiles and cadence included; a second save replaces the first", () => {
    const store = openStore(":memory:");
    const run = beginRun(store.db, "learn", [], "test");
    const b = learned();
    assert.ok(b.accounts.get("corp\\svc-backup")?.cadence);
    saveBaseline(store.db, run, b);
    saveBaseline(store.db, run, b);
    const loaded = loadBaseline(store.db);
    assert.equal(loaded?.unreadable, 0);
    assert.deepEqual(loaded?.baseline, b);
    const runs = store.db.prepare(`SELECT operations, accounts, vms FROM baseline_runs`).all();
    assert.deepEqual(runs, [
      { operations: 40, accounts: 2, vms: 2 },
      { operations: 40, accounts: 2, vms: 2 },
    ]);
    store.close();
  });

  it("counts a profile row that does not decode; a baseline row that does not is a store error", () => {
    const store = openStore(":memory:");
    saveBaseline(store.db, beginRun(store.db, "learn", [], "test"), learned());
    store.db
      .prepare(`UPDATE baseline_profiles SET body = '{"x":' WHERE subject = 'corp\\alice'`)
      .run();
    const loaded = loadBaseline(store.db);
    assert.equal(loaded?.unreadable, 1);
    assert.equal(loaded?.baseline.accounts.size, 1);
    store.db.prepare(`UPDATE baseline SET body = 'not json'`).run();
    assert.throws(
      () => loadBaseline(store.db),
      (e: unknown) => e instanceof GuestOpsError && e.code === "ERR_STORE",
    );
    store.close();
  });

  it("keeps accepted alerts, known or not yet", () => {
    const store = openStore(":memory:");
    assert.deepEqual(acceptAlert(store.db, "al-0123456789abcdef", "test", T0), { known: false });
    assert.deepEqual([...acceptedAlerts(store.db)], ["al-0123456789abcdef"]);
    store.close();
  });
});

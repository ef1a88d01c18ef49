/**
 * Exceptions made while serving: the JSON API makes, lists and revokes them (analyst role, CSRF
 * token), and the running processor applies one from its next step on, so a later alert of the
 * same rule, principal and VM is not raised but kept as excepted. The processor runs in this
 * process on a temporary store, fed the example's syslog lines through the spool table, with its
 * own clock.
 */
import assert from "node:assert/strict";
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, describe, it } from "node:test";
import { fileURLToPath } from "node:url";
import type { Alert } from "../model/alert.js";
import { loadPolicy } from "../policy/load.js";
import { beginRun } from "../store/baseline.js";
import { openStore, type Store } from "../store/open.js";
import { VERSION } from "../version.js";
import { addToken } from "./access.js";
import { validateServeConfig } from "./config.js";
import { Counters } from "./counters.js";
import { createApp } from "./http.js";
import { LiveProcessor } from "./processor.js";

const ROOT = fileURLToPath(new URL("../../", import.meta.url));
const policy = loadPolicy(join(ROOT, "examples/policy.yaml"));
const dir = mkdtempSync(join(tmpdir(), "guestops-serve-exceptions-"));
after(() => rmSync(dir, { recursive: true, force: true }));
let n = 0;

const timeOf = (line: string): number => {
  const m = /\d{4}-\d\d-\d\dT[\d:.]+/.exec(line);
  return m ? Date.parse(m[0].endsWith("Z") ? m[0] : `${m[0]}Z`) : 0;
};

/** The example's syslog lines in time order (one receiver's view of every sender). */
const LINES = ["esxi-hosts.log", "vcsa01-events.log"]
  .flatMap((f) => readFileSync(join(ROOT, "examples/logs/syslog", f), "utf8").split("\n"))
  .filter((l) => l !== "")
  .sort((a, b) => timeOf(a) - timeOf(b));

const EARLY = LINES.filter((l) => timeOf(l) < Date.parse("2026-03-11T14:00:00Z"));
/** svc-aria's Wednesday program start on app01 again, four hours later (new event numbers). */
const AGAIN = LINES.filter((l) => /2026-03-11T13:00/.test(l)).map((l) =>
  l
    .replaceAll("2026-03-11T13:00", "2026-03-11T17:00")
    .replace(/\[882(\d\d)\]/g, "[892$1]")
    .replace("Event 1019 ", "Event 1519 "),
);

interface Rig {
  readonly store: Store;
  readonly processor: LiveProcessor;
  readonly counters: Counters;
  readonly app: ReturnType<typeof createApp>;
  readonly feed: (lines: readonly string[], advanceMs: number) => Promise<void>;
  readonly alerts: () => Alert[];
}

function rig(requireToken: boolean): Rig {
  const store = openStore(join(dir, `s${++n}.db`));
  const { db } = store;
  let clock = Date.parse("2026-12-01T00:00:00Z");
  const counters = new Counters();
  const processor = new LiveProcessor(
    db,
    {
      policy,
      delayMs: 1000,
      releaseStepMs: 100,
      chainWaitMs: 0,
      assumeTz: "UTC",
      batchFrames: 2000,
      runId: beginRun(db, "serve", [], VERSION),
      now: () => clock,
    },
    counters,
  );
  processor.start();
  const insert = db.prepare(
    `INSERT INTO spool (rx_ms, listener, peer, frame) VALUES (?, 'test', '127.0.0.1', ?)`,
  );
  const config = validateServeConfig(
    { listeners: [{ protocol: "tcp", port: 0 }], http: { port: 0, requireToken } },
    dir,
  );
  const app = createApp({
    db,
    config,
    counters,
    processor,
    listeners: () => [],
    spoolLag: () => ({ spooled: 0, processed: processor.processed, pending: 0 }),
    waitForEvents: () => Promise.resolve(),
    policy: () => policy,
  });
  return {
    store,
    processor,
    counters,
    app,
    async feed(lines, advanceMs) {
      for (const l of lines) insert.run(clock, Buffer.from(l));
      await processor.step();
      clock += advanceMs;
      await processor.step();
    },
    alerts: () =>
      (db.prepare(`SELECT body FROM alerts ORDER BY id`).all() as { body: string }[]).map(
        (r) => JSON.parse(r.body) as Alert,
      ),
  };
}

const aria = (alerts: readonly Alert[]): Alert[] =>
  alerts.filter((a) => a.principal.id === "corp\\svc-aria" && a.vm === "app01");

describe("serve: exceptions from the API", () => {
  it("an exception made while serving suppresses a later matching alert, and is revocable", async () => {
    // without an exception, the repeat is a second alert: the test can fail
    const control = rig(false);
    await control.feed(EARLY, 3_600_000);
    await control.feed(AGAIN, 7_200_000);
    assert.equal(aria(control.alerts()).length, 2, "two alerts without the exception");
    await control.processor.close();
    control.store.close();

    const r = rig(false);
    await r.feed(EARLY, 3_600_000);
    const [first] = aria(r.alerts());
    assert.ok(first, "the first alert is raised");
    const session = (await (await r.app.request("/api/session")).json()) as { csrf: string };
    const made = await r.app.request("/api/exceptions", {
      method: "POST",
      headers: { "content-type": "application/json", "x-csrf-token": session.csrf },
      body: JSON.stringify({
        alert: first.id,
        owner: "dana",
        ticket: "CHG-77",
        expires: "2027-01-01",
        reason: "Aria's process check",
      }),
    });
    assert.equal(made.status, 201, await made.clone().text());
    const x = (await made.json()) as { id: string; rules: string[]; account: string; vm: string };
    assert.deepEqual([x.rules, x.account, x.vm], [first.rules, "corp\\svc-aria", "app01"]);

    await r.feed(AGAIN, 7_200_000);
    assert.equal(aria(r.alerts()).length, 1, "the repeat is not raised");
    assert.equal(r.counters.processing.excepted, 1);
    const excepted = (await (await r.app.request("/api/excepted")).json()) as {
      total: number;
      items: Alert[];
    };
    assert.equal(excepted.total, 1);
    assert.deepEqual(
      excepted.items[0]?.exceptions?.map((e) => [e.id, e.ticket, e.owner, e.source]),
      [[x.id, "CHG-77", "dana", "store"]],
    );
    assert.notEqual(excepted.items[0]?.id, first.id);
    assert.match(
      await (await r.app.request("/metrics")).text(),
      /^guestops_alerts_excepted_total 1$/m,
    );

    // revoked: listed with who revoked it, and no longer applied
    const revoked = await r.app.request(`/api/exceptions/${x.id}/revoke`, {
      method: "POST",
      headers: { "x-csrf-token": session.csrf },
    });
    assert.equal(revoked.status, 200);
    const list = (await (await r.app.request("/api/exceptions")).json()) as {
      store: { id: string; createdBy: string; revokedBy: string | null }[];
    };
    assert.deepEqual(
      list.store.map((e) => [e.id, e.createdBy, e.revokedBy]),
      [[x.id, "local", "local"]],
    );
    await r.feed(
      AGAIN.map((l) =>
        l.replaceAll("2026-03-11T17:00", "2026-03-11T21:00").replace(/\[892/g, "[893"),
      ),
      7_200_000,
    );
    assert.equal(aria(r.alerts()).length, 2, "raised again once revoked");
    await r.processor.close();
    r.store.close();
  });

  it("an exception made while serving still applies after a policy reload", async () => {
    const r = rig(false);
    await r.feed(EARLY, 3_600_000);
    const [first] = aria(r.alerts());
    assert.ok(first, "the first alert is raised");
    const { csrf } = (await (await r.app.request("/api/session")).json()) as { csrf: string };
    const made = await r.app.request("/api/exceptions", {
      method: "POST",
      headers: { "content-type": "application/json", "x-csrf-token": csrf },
      body: JSON.stringify({
        alert: first.id,
        owner: "dana",
        ticket: "CHG-78",
        expires: "2027-01-01",
      }),
    });
    assert.equal(made.status, 201, await made.clone().text());
    // a step takes the exception; then a reload: a new detector from the next step on
    await r.feed([], 0);
    r.processor.setPolicy(loadPolicy(join(ROOT, "examples/policy.yaml")));
    await r.feed(AGAIN, 7_200_000);
    assert.equal(
      aria(r.alerts()).length,
      1,
      "the repeat is not raised under the new policy either",
    );
    assert.equal(r.counters.processing.excepted, 1);
    await r.processor.close();
    r.store.close();
  });

  it("needs the analyst role and the CSRF token, and refuses bad requests", async () => {
    const r = rig(true);
    await r.feed(EARLY, 3_600_000);
    const [alert] = aria(r.alerts());
    assert.ok(alert);
    const analyst = addToken(r.store.db, "ana", "analyst");
    const viewer = addToken(r.store.db, "vic", "viewer");
    const auth = (t: string) => ({ authorization: `Bearer ${t}` });
    const { csrf } = (await (
      await r.app.request("/api/session", { headers: auth(analyst) })
    ).json()) as {
      csrf: string;
    };
    const post = (token: string | undefined, body: object, withCsrf = true, origin?: string) =>
      r.app.request("/api/exceptions", {
        method: "POST",
        headers: {
          ...(token !== undefined ? auth(token) : {}),
          "content-type": "application/json",
          ...(withCsrf ? { "x-csrf-token": csrf } : {}),
          ...(origin !== undefined ? { origin, host: "localhost" } : {}),
        },
        body: JSON.stringify(body),
      });
    const good = { alert: alert.id, owner: "dana", ticket: "CHG-1", expires: "2027-01-01T00:00Z" };
    assert.equal((await post(undefined, good)).status, 401, "no token");
    assert.equal((await post(analyst, good, false)).status, 403, "no CSRF token");
    assert.equal((await post(analyst, good, true, "http://evil.example")).status, 403);
    assert.equal((await post(viewer, good)).status, 403, "a viewer cannot make exceptions");
    const missing = { alert: alert.id, owner: "dana", expires: "2027-01-01" };
    assert.equal((await post(analyst, missing)).status, 400, "a ticket is required");
    assert.equal((await post(analyst, { ...good, owner: "a\u0007b" })).status, 400);
    const past = await post(analyst, { ...good, expires: "2020-01-01" });
    assert.equal(past.status, 400);
    assert.match(((await past.json()) as { error: string }).error, /passed/);
    assert.equal((await post(analyst, { ...good, expires: "soon" })).status, 400);
    assert.equal((await post(analyst, { ...good, rules: ["sensitive-vm"] })).status, 400);
    assert.equal((await post(analyst, { ...good, alert: "al-0000000000000000" })).status, 404);
    assert.equal((await post(analyst, good)).status, 201);
    const list = (await (
      await r.app.request("/api/exceptions", { headers: auth(viewer) })
    ).json()) as {
      store: { ticket: string; createdBy: string; expires: string }[];
    };
    assert.deepEqual(
      list.store.map((e) => [e.ticket, e.createdBy, e.expires]),
      [["CHG-1", "ana", "2027-01-01T00:00:00.000Z"]],
    );
    const revoke = (token: string) =>
      r.app.request("/api/exceptions/ex-1/revoke", {
        method: "POST",
        headers: { ...auth(token), "x-csrf-token": csrf },
      });
    assert.equal((await revoke(viewer)).status, 403);
    assert.equal((await revoke(analyst)).status, 200);
    assert.equal(
      (
        await r.app.request("/api/exceptions/ex-99/revoke", {
          method: "POST",
          headers: { ...auth(analyst), "x-csrf-token": csrf },
        })
      ).status,
      404,
    );
    await r.processor.close();
    r.store.close();
  });
});

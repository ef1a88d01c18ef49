/**
 * `guestops serve` end to end, in real processes on loopback: exact counts over UDP, TCP (both
 * framings) and TLS; hostile frames, slowloris and connection floods counted while a well-behaved
 * sender is served; `kill -9` mid-stream with nothing spooled lost and no alert twice; the example
 * syslog replayed over TCP giving the alert ids of `guestops scan`; the API, tokens, CSRF,
 * triage, server-sent events and the outputs.
 */
import assert from "node:assert/strict";
import { execFileSync } from "node:child_process";
import { createHmac } from "node:crypto";
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { createServer } from "node:http";
import net from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import tls from "node:tls";
import { after, describe, it } from "node:test";
import BetterSqlite3 from "better-sqlite3";
import {
  framed,
  getJson,
  makeCertificates,
  receiverLines,
  scanAlertIds,
  sendStream,
  sendUdp,
  seqFrame,
  startServe,
  until,
  type Served,
} from "../helpers/serve.js";

const ROOT = new URL("../..", import.meta.url).pathname;

interface Health {
  readonly spool: { readonly spooled: number; readonly processed: number };
  readonly counters: {
    readonly received: Record<string, number>;
    readonly spooled: number;
    readonly dropped: Record<string, number>;
    readonly processing: { readonly frames: number };
    readonly outputs: Record<string, { readonly delivered: number; readonly deadLetters: number }>;
  };
}
interface AlertList {
  readonly lastEventId: number;
  readonly items: readonly { readonly id: string }[];
}
interface Detail {
  readonly triageHistory: readonly { readonly action: string; readonly actor: string }[];
  readonly evidence: readonly { readonly lines: readonly string[] }[];
}
const dir = mkdtempSync(join(tmpdir(), "guestops-serve-"));
const running: Served[] = [];
after(async () => {
  for (const s of running) if (s.child.exitCode === null) await s.kill();
  rmSync(dir, { recursive: true, force: true });
});

const serve = async (name: string, config: object): Promise<Served> => {
  const s = await startServe(dir, config, `${name}.yaml`);
  running.push(s);
  return s;
};

const spooled = (db: string, listener?: string): string[] => {
  const d = new BetterSqlite3(db, { readonly: true });
  try {
    const rows = (
      listener === undefined
        ? d.prepare(`SELECT frame FROM spool ORDER BY id`).all()
        : d.prepare(`SELECT frame FROM spool WHERE listener = ? ORDER BY id`).all(listener)
    ) as { frame: Buffer }[];
    return rows.map((r) => r.frame.toString());
  } finally {
    d.close();
  }
};

/** The example syslog lines in time order, as one receiver gets them from every sender. */
const exampleLines = (): string[] =>
  receiverLines(
    ["esxi-hosts.log", "vcsa01-events.log"].map((f) => join(ROOT, "examples/logs/syslog", f)),
  );

/** Alert ids `guestops scan` gives for the lines written as one receiver file. */
const scanIds = (lines: readonly string[]): string[] =>
  scanAlertIds(
    lines,
    join(dir, `received-${lines.length}.log`),
    join(ROOT, "examples/policy.yaml"),
  );

const storedAlertIds = (db: string): string[] => {
  const d = new BetterSqlite3(db, { readonly: true });
  try {
    return (d.prepare(`SELECT id FROM alerts ORDER BY id`).all() as { id: string }[]).map(
      (r) => r.id,
    );
  } finally {
    d.close();
  }
};

const cursors = (db: string): { processed: number; replay: number } => {
  const d = new BetterSqlite3(db, { readonly: true });
  try {
    const rows = d.prepare(`SELECT name, value FROM serve_cursors`).all() as {
      name: string;
      value: number;
    }[];
    const get = (n: string): number => rows.find((r) => r.name === n)?.value ?? 0;
    return { processed: get("processed"), replay: get("replay") };
  } finally {
    d.close();
  }
};

const openedTwice = (db: string): unknown[] => {
  const d = new BetterSqlite3(db, { readonly: true });
  try {
    return d
      .prepare(
        `SELECT finding_id, count(*) AS n FROM serve_events WHERE change = 'opened' GROUP BY finding_id HAVING n > 1`,
      )
      .all();
  } finally {
    d.close();
  }
};

describe("guestops serve", { timeout: 240_000 }, () => {
  it("counts every frame exactly over UDP, TCP (newline and octet counting) and TLS", async (t) => {
    const certs = makeCertificates(dir);
    const db = join(dir, "counts.db");
    const listeners: object[] = [
      { name: "tcp", protocol: "tcp", port: 0 },
      { name: "udp", protocol: "udp", port: 0 },
    ];
    if (certs)
      listeners.push({ name: "tls", protocol: "tls", port: 0, cert: certs.cert, key: certs.key });
    else t.diagnostic("openssl not found: the TLS listener is not tested");
    const s = await serve("counts", {
      store: db,
      listeners,
      spool: { prune: false },
      processing: { delay: "1s", releaseStep: "200ms" },
      http: { port: 0 },
    });
    const seq = (tag: string, n: number): string[] =>
      Array.from({ length: n }, (_, i) => seqFrame(tag, i));
    const tcpPort = s.ports.get("tcp") ?? 0;
    await Promise.all([
      sendStream(tcpPort, framed(seq("nl", 700), false)),
      sendStream(tcpPort, framed(seq("oc", 700), true)),
      sendUdp(s.ports.get("udp") ?? 0, seq("udp", 500)),
      ...(certs
        ? [
            sendStream(s.ports.get("tls") ?? 0, framed(seq("tls", 400), true), {
              ca: readFileSync(certs.ca),
            }),
          ]
        : []),
    ]);
    const total = 1900 + (certs ? 400 : 0);
    await until(
      async () => (await getJson<Health>(s, "/api/health")).counters.processing.frames === total,
      20_000,
      "every frame processed",
    );
    const health = await getJson<Health>(s, "/api/health");
    assert.equal(health.counters.received.tcp, 1400);
    assert.equal(health.counters.received.udp, 500);
    if (certs) assert.equal(health.counters.received.tls, 400);
    assert.equal(health.counters.spooled, total);
    assert.deepEqual(health.counters.dropped, {});
    // every sequence number spooled once, in the order it was sent on its connection
    const tcp = spooled(db, "tcp");
    assert.deepEqual(
      tcp.filter((f) => f.includes("seq=nl-")),
      seq("nl", 700),
    );
    assert.deepEqual(
      tcp.filter((f) => f.includes("seq=oc-")),
      seq("oc", 700),
    );
    assert.deepEqual(new Set(spooled(db, "udp")), new Set(seq("udp", 500)));
    if (certs) {
      assert.deepEqual(spooled(db, "tls"), seq("tls", 400));
      // a client that trusts another CA refuses the server
      await assert.rejects(
        sendStream(s.ports.get("tls") ?? 0, framed(["x"], true), {
          ca: readFileSync(certs.otherCa),
        }),
      );
    }
    const metrics = await (await fetch(new URL("/metrics", s.http))).text();
    assert.match(metrics, /^guestops_frames_received_total\{listener="tcp"\} 1400$/m);
    assert.match(metrics, new RegExp(`^guestops_frames_spooled_total ${total}$`, "m"));
    assert.equal(await s.stop(), 0);
  });

  it("counts hostile frames, slowloris and floods while a well-behaved sender is served", async () => {
    const db = join(dir, "hostile.db");
    const certs = makeCertificates(dir);
    const s = await serve("hostile", {
      store: db,
      listeners: [
        { name: "tcp", protocol: "tcp", port: 0 },
        ...(certs
          ? [{ name: "tls", protocol: "tls", port: 0, cert: certs.cert, key: certs.key }]
          : []),
      ],
      limits: {
        maxFrameBytes: 1024,
        idleTimeout: "1s",
        handshakeTimeout: "1s",
        maxConnectionsPerPeer: 4,
      },
      spool: { prune: false },
      http: { port: 0 },
    });
    const port = s.ports.get("tcp") ?? 0;
    const open = (localAddress: string, p = port): Promise<net.Socket> =>
      new Promise((resolve) => {
        const c = net.connect({ port: p, host: "127.0.0.1", localAddress }, () => resolve(c));
        c.on("error", () => undefined);
      });
    // a flood of silent connections from one peer: 4 admitted (then idle), 6 refused
    const silent = await Promise.all(Array.from({ length: 10 }, () => open("127.0.0.4")));
    // slowloris: one byte at a time of a frame that never ends, from another peer
    const drip = await open("127.0.0.3");
    const dripper = setInterval(() => drip.write("x"), 200);
    // TLS connections that never start their handshake
    const stalled = certs
      ? await Promise.all([1, 2, 3].map(() => open("127.0.0.5", s.ports.get("tls"))))
      : [];
    await Promise.all([
      sendStream(port, Buffer.from(`2000 ${"x".repeat(2000)}`)), // octet count over the cap
      sendStream(port, Buffer.from(`<14>${"y".repeat(3000)}\n${seqFrame("after", 0)}\n`)),
      sendStream(port, Buffer.from(`<14>a\u0000binary\n`, "latin1")),
      sendStream(port, Buffer.from(`12345678 x`)),
    ]);
    const good = Array.from({ length: 300 }, (_, i) => seqFrame("good", i));
    await sendStream(port, framed(good, true), { localAddress: "127.0.0.2" });
    await until(
      async () => {
        const h = await getJson<Health>(s, "/api/health");
        return (
          (h.counters.dropped["idle-timeout"] ?? 0) >= 4 &&
          (!certs || (h.counters.dropped["tls-handshake"] ?? 0) >= 3)
        );
      },
      10_000,
      "idle and handshake timeouts",
    );
    clearInterval(dripper);
    const h = await getJson<Health>(s, "/api/health");
    assert.equal(h.counters.dropped.oversize, 2);
    assert.equal(h.counters.dropped.binary, 1);
    assert.equal(h.counters.dropped["bad-length"], 1);
    assert.equal(h.counters.dropped["peer-limit"], 6);
    assert.equal(h.counters.dropped["idle-timeout"], 4);
    if (certs) assert.equal(h.counters.dropped["tls-handshake"], 3);
    const frames = spooled(db);
    assert.deepEqual(
      frames.filter((f) => f.includes("seq=good-")),
      good,
    );
    assert.ok(frames.includes(seqFrame("after", 0)), "the frame after an oversized one is read");
    // the slowloris frame never completed: nothing of it was spooled, its memory was capped
    assert.ok(!frames.some((f) => f.startsWith("xxx")));
    for (const c of [...silent, drip, ...stalled]) c.destroy();
    assert.equal(await s.stop(), 0);
  });

  it("loses nothing spooled and raises no alert twice across kill -9; gives the ids of scan", async (t) => {
    const db = join(dir, "kill.db");
    const lines = exampleLines();
    // the example lines among filler frames, one every 40, so the kill falls mid-stream
    const frames: string[] = [];
    let filler = 0;
    for (const line of lines) {
      for (let i = 0; i < 40; i++) frames.push(seqFrame("fill", filler++));
      frames.push(line);
    }
    const config = {
      store: db,
      policy: join(ROOT, "examples/policy.yaml"),
      listeners: [{ name: "tcp", protocol: "tcp", port: 0 }],
      spool: { prune: false },
      processing: { delay: "2s", releaseStep: "200ms", batchFrames: 200 },
      http: { port: 0 },
    };
    const first = await serve("kill-1", config);
    // paced sending on one connection; the server is killed part-way through
    const socket = net.connect({ port: first.ports.get("tcp") ?? 0, host: "127.0.0.1" });
    socket.on("error", () => undefined);
    await new Promise((r) => socket.once("connect", r));
    let sent = 0;
    const kill = setTimeout(() => void first.kill(), 400);
    while (
      sent < frames.length &&
      first.child.exitCode === null &&
      first.child.signalCode === null
    ) {
      const batch = frames.slice(sent, sent + 50);
      socket.write(framed(batch, true));
      sent += batch.length;
      await new Promise((r) => setTimeout(r, 10));
    }
    clearTimeout(kill);
    await first.kill();
    socket.destroy();
    const kept = spooled(db);
    assert.ok(
      kept.length > 0 && kept.length < frames.length,
      `killed mid-stream (${kept.length} of ${frames.length} spooled)`,
    );
    const atKill = cursors(db);
    t.diagnostic(
      `killed with ${kept.length} of ${frames.length} frames spooled, ${atKill.processed} processed, ${storedAlertIds(db).length} alert(s) stored`,
    );
    // what was spooled is exactly the start of what was sent: no frame lost in between, none twice
    assert.deepEqual(kept, frames.slice(0, kept.length));
    // the sender resends from the first frame the receiver does not hold
    const second = await serve("kill-2", config);
    await sendStream(second.ports.get("tcp") ?? 0, framed(frames.slice(kept.length), true));
    const expected = scanIds(lines);
    assert.ok(expected.length >= 3);
    await until(() => storedAlertIds(db).length >= expected.length, 30_000, "the alerts");
    await until(
      async () => {
        const h = await getJson<Health>(second, "/api/health");
        return h.spool.processed === h.spool.spooled;
      },
      20_000,
      "every spooled frame processed",
    );
    assert.deepEqual(spooled(db), frames);
    assert.deepEqual(storedAlertIds(db), expected);
    assert.deepEqual(openedTwice(db), []);
    assert.equal(await second.stop(), 0);
  });

  it("serves the API with tokens, CSRF, triage, resumable events and the outputs", async () => {
    const db = join(dir, "api.db");
    const cli = (...args: string[]): string =>
      execFileSync(
        process.execPath,
        ["--import", "tsx", join(ROOT, "src/cli/main.ts"), "serve", ...args],
        {
          encoding: "utf8",
        },
      ).trim();
    const analyst = cli("--db", db, "--add-token", "ana", "--role", "analyst");
    const viewer = cli("--db", db, "--add-token", "vic", "--role", "viewer");
    assert.match(analyst, /^go_[A-Za-z0-9_-]{43}$/);
    // a webhook receiver that fails twice, then accepts; it checks the signature
    const received: { id: string; event: string; ok: boolean }[] = [];
    let calls = 0;
    const hook = createServer((req, res) => {
      let body = "";
      req.on("data", (d: Buffer) => (body += d.toString()));
      req.on("end", () => {
        calls++;
        if (calls <= 2) {
          res.writeHead(503).end();
          return;
        }
        const ts = String(req.headers["x-guestops-timestamp"]);
        const sig = `sha256=${createHmac("sha256", "s3cret").update(`${ts}.${body}`).digest("hex")}`;
        received.push({
          id: String(req.headers["x-guestops-finding-id"]),
          event: String(req.headers["x-guestops-event-id"]),
          ok: sig === req.headers["x-guestops-signature"],
        });
        res.writeHead(204).end();
      });
    });
    await new Promise<void>((r) => hook.listen(0, "127.0.0.1", r));
    const hookPort = (hook.address() as net.AddressInfo).port;
    const dead = net.createServer();
    await new Promise<void>((r) => dead.listen(0, "127.0.0.1", r));
    const deadPort = (dead.address() as net.AddressInfo).port;
    await new Promise<void>((r) => dead.close(() => r()));
    process.env["GUESTOPS_TEST_HOOK_SECRET"] = "s3cret";
    const s = await serve("api", {
      store: db,
      policy: join(ROOT, "examples/policy.yaml"),
      listeners: [{ name: "tcp", protocol: "tcp", port: 0 }],
      processing: { delay: "1s", releaseStep: "200ms" },
      outputs: [
        { type: "ndjson", name: "file", path: join(dir, "alerts.ndjson") },
        {
          type: "webhook",
          name: "hook",
          url: `http://127.0.0.1:${hookPort}/in`,
          secretEnv: "GUESTOPS_TEST_HOOK_SECRET",
          backoff: "100ms",
        },
        {
          type: "webhook",
          name: "dead",
          url: `http://127.0.0.1:${deadPort}/in`,
          maxAttempts: 2,
          backoff: "50ms",
        },
      ],
      http: { port: 0, requireToken: true },
    });
    await sendStream(s.ports.get("tcp") ?? 0, framed(exampleLines(), false));
    const auth = (token: string): Record<string, string> => ({ authorization: `Bearer ${token}` });
    assert.equal((await fetch(new URL("/api/alerts", s.http))).status, 401);
    assert.equal(
      (await fetch(new URL("/api/alerts", s.http), { headers: auth("go_wrong") })).status,
      401,
    );
    await until(
      async () =>
        (await getJson<AlertList>(s, "/api/alerts", { headers: auth(viewer) })).items.length >= 3,
      20_000,
      "alerts",
    );
    const alerts = await getJson<AlertList>(s, "/api/alerts", { headers: auth(viewer) });
    const id = alerts.items[0]?.id ?? "";
    const session = await getJson<{ csrf: string }>(s, "/api/session", { headers: auth(analyst) });
    const post = (token: string, body: object, csrf?: string, origin?: string) =>
      fetch(new URL(`/api/alerts/${id}/triage`, s.http), {
        method: "POST",
        headers: {
          ...auth(token),
          "content-type": "application/json",
          ...(csrf !== undefined ? { "x-csrf-token": csrf } : {}),
          ...(origin !== undefined ? { origin } : {}),
        },
        body: JSON.stringify(body),
      });
    assert.equal((await post(analyst, { action: "acknowledge" })).status, 403, "no CSRF token");
    assert.equal(
      (await post(analyst, { action: "acknowledge" }, session.csrf, "http://evil.example")).status,
      403,
    );
    assert.equal(
      (await post(viewer, { action: "acknowledge" }, session.csrf)).status,
      403,
      "a viewer cannot triage",
    );
    assert.equal(
      (await post(analyst, { action: "close" }, session.csrf)).status,
      400,
      "closing needs a reason",
    );
    assert.equal((await post(analyst, { action: "acknowledge" }, session.csrf)).status, 200);
    const closed = (await (
      await post(analyst, { action: "close", reason: "change ticket CHG-1" }, session.csrf)
    ).json()) as { status: string; revision: number };
    assert.equal(closed.status, "closed");
    assert.equal(closed.revision, 2);
    const detail = await getJson<Detail>(s, `/api/alerts/${id}`, { headers: auth(viewer) });
    assert.deepEqual(
      detail.triageHistory.map((h: { action: string; actor: string }) => `${h.actor}:${h.action}`),
      ["ana:acknowledge", "ana:close"],
    );
    assert.ok(
      detail.evidence.some((e) => e.lines.length > 0),
      "evidence lines",
    );
    // server-sent events resume after Last-Event-ID
    const events = await getJson<{ eventId: number }[]>(s, "/api/events?after=0", {
      headers: auth(viewer),
    });
    assert.ok(events.length >= 3);
    const lastId = events[events.length - 1]?.eventId ?? 0;
    const ids = await sseIds(s, auth(viewer), lastId - 2, 2);
    assert.deepEqual(ids, [lastId - 1, lastId]);
    // outputs: the file and the webhook get every event; the dead one dead-letters each
    await until(() => received.length >= events.length, 20_000, "webhook deliveries");
    assert.ok(
      received.every((r) => r.ok),
      "every signature checks out",
    );
    assert.deepEqual(
      received.map((r) => Number(r.event)),
      events.map((e: { eventId: number }) => e.eventId),
    );
    const ndjson = readFileSync(join(dir, "alerts.ndjson"), "utf8")
      .trim()
      .split("\n")
      .map((l) => JSON.parse(l) as { eventId: number });
    assert.deepEqual(
      ndjson.map((e) => e.eventId),
      events.map((e: { eventId: number }) => e.eventId),
    );
    await until(
      async () =>
        (await getJson<Health>(s, "/api/health", { headers: auth(viewer) })).counters.outputs.dead
          ?.deadLetters === events.length,
      20_000,
      "dead letters",
    );
    assert.equal(await s.stop(), 0);
    hook.close();
    const d = new BetterSqlite3(db, { readonly: true });
    const letters = d
      .prepare(`SELECT count(*) AS n FROM dead_letters WHERE output = 'dead'`)
      .get() as { n: number };
    d.close();
    assert.equal(letters.n, events.length);
  });
});

/** Reads `n` events off the stream after `lastEventId`; returns their ids. */
async function sseIds(
  s: Served,
  headers: Record<string, string>,
  lastEventId: number,
  n: number,
): Promise<number[]> {
  const controller = new AbortController();
  const res = await fetch(new URL("/api/stream", s.http), {
    headers: { ...headers, "last-event-id": String(lastEventId) },
    signal: controller.signal,
  });
  const reader = (res.body as ReadableStream<Uint8Array> | null)?.getReader();
  assert.ok(reader);
  const ids: number[] = [];
  let text = "";
  while (ids.length < n) {
    const { value, done } = await reader.read();
    if (done) break;
    text += new TextDecoder().decode(value);
    ids.splice(0, ids.length, ...[...text.matchAll(/^id: (\d+)$/gm)].map((m) => Number(m[1])));
  }
  controller.abort();
  return ids.slice(0, n);
}

// keep the tls import used when openssl is missing (the client lives in the helper)
void tls;

/**
 * `guestops serve` under load, in real processes on loopback: a webhook that stalls and then
 * answers slowly while a sender pushes many frames (the server's memory stays under a stated bound,
 * its receiver pauses the sockets instead of buffering, and once the webhook recovers every event
 * is delivered: at-least-once, exact after deduplication by event id); and a connection flood
 * beyond the configured limits, with slowloris partial frames and idle connections, while a
 * sequence-numbered sender keeps sending (every one of its frames arrives, the refused and closed
 * connections are counted in /metrics).
 */
import assert from "node:assert/strict";
import { existsSync, mkdtempSync, readFileSync, rmSync } from "node:fs";
import { createServer, type IncomingMessage, type ServerResponse } from "node:http";
import net from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, describe, it } from "node:test";
import BetterSqlite3 from "better-sqlite3";
import {
  framed,
  getJson,
  makeCertificates,
  sendStream,
  seqFrame,
  startServe,
  until,
  type Served,
} from "../helpers/serve.js";

const dir = mkdtempSync(join(tmpdir(), "guestops-serve-load-"));
const running: Served[] = [];
after(async () => {
  for (const s of running) if (s.child.exitCode === null) await s.kill();
  rmSync(dir, { recursive: true, force: true });
});

interface Health {
  readonly spool: {
    readonly spooled: number;
    readonly processed: number;
    readonly pending: number;
  };
  readonly counters: {
    readonly received: Record<string, number>;
    readonly receivedTotal: number;
    readonly spooled: number;
    readonly dropped: Record<string, number>;
    readonly connections: { readonly open: number; readonly rejected: number };
    readonly backpressure: { readonly pauses: number };
    readonly processing: { readonly frames: number };
    readonly outputs: Record<string, { readonly delivered: number; readonly deadLetters: number }>;
  };
}

/** The server's resident memory (VmRSS) in bytes, from /proc; undefined off Linux. */
function rssOf(pid: number | undefined): number | undefined {
  try {
    const m = /^VmRSS:\s+(\d+) kB/m.exec(readFileSync(`/proc/${pid}/status`, "utf8"));
    return m ? Number(m[1]) * 1024 : undefined;
  } catch {
    return undefined;
  }
}

/** hostd lines of a quiet estate: task completions and vpxuser sessions from loopback. */
function background(n: number, t0: number): string[] {
  return Array.from({ length: n }, (_, k) => {
    const t = new Date(t0 + Math.floor(k / 50)).toISOString();
    const host = `esx${String(k % 20).padStart(2, "0")}.corp.example`;
    if (k % 6 === 1)
      return `<166>${t} ${host} Hostd[2101914]: [Originator@6876 sub=Vimsvc.ha-eventmgr] Event ${k} : Guest operation List Processes performed on Virtual machine vm${k % 300}.`;
    return k % 10 === 0
      ? `<166>${t} ${host} Hostd[2101883]: [Originator@6876 sub=Vimsvc.HaSessionManager opID=bg-${k} sid=5${String(k).padStart(7, "0")}] Accepted password for user vpxuser from 127.0.0.1 - session=5${String(k).padStart(7, "0")}-bbec-e348-3c53-0b3ee2caa9f7`
      : `<166>${t} ${host} Hostd[2101914]: [Originator@6876 sub=Vimsvc.TaskManager opID=bg-${k}] Task Completed : haTask-${k}-vim.SearchIndex.findByUuid status success`;
  });
}

/** One stolen-vpxuser attack on its own host: one alert, named by the VM `dc-atkNx`. */
function attack(n: number, t0: number): string[] {
  const t = (d: number): string => new Date(t0 + d).toISOString();
  const host = `esx-atk${n}.corp.example`;
  const sid = (0x52000000 + n).toString(16);
  const opid = `a${n.toString(16).padStart(7, "0")}`;
  return [
    `<166>${t(0)} ${host} Hostd[2099452]: [Originator@6876 sub=Vimsvc.HaSessionManager opID=${opid} sid=${sid}] Accepted password for user vpxuser from 10.10.99.50 - session=${sid}-6eb6-ea60-13e1-82e754c1d5f7`,
    `<166>${t(1)} ${host} Hostd[2099467]: [Originator@6876 sub=Vimsvc opID=${opid} sid=${sid}] [Auth]: User vpxuser`,
    `<166>${t(2)} ${host} Hostd[2099445]: [Originator@6876 sub=Vimsvc.ha-eventmgr opID=${opid} sid=${sid}] Event 100 : User vpxuser@10.10.99.50 logged in as pyvmomi Python/3.11.6 (Linux; 6.1.0-18-amd64; x86_64)`,
    `<166>${t(3)} ${host} Hostd[2099461]: [Originator@6876 sub=Vimsvc.ha-eventmgr] Event 101 : Guest operation Start Program performed on Virtual machine dc-atk${n}x.`,
  ];
}

const storedEvents = (db: string): { id: number; finding: string }[] => {
  const d = new BetterSqlite3(db, { readonly: true });
  try {
    return (
      d.prepare(`SELECT id, finding_id AS finding FROM serve_events ORDER BY id`).all() as {
        id: number;
        finding: string;
      }[]
    ).map((r) => ({ id: r.id, finding: r.finding }));
  } finally {
    d.close();
  }
};

const storedBodies = (db: string): string[] => {
  const d = new BetterSqlite3(db, { readonly: true });
  try {
    return (d.prepare(`SELECT body FROM serve_events`).all() as { body: string }[]).map(
      (r) => r.body,
    );
  } finally {
    d.close();
  }
};

/** The attack numbers named in payloads (the VM `dc-atkNx`). */
const markersOf = (bodies: readonly string[]): Set<number> =>
  new Set(bodies.flatMap((b) => [...b.matchAll(/dc-atk(\d+)x/g)].map((m) => Number(m[1]))));

describe("guestops serve under load", { timeout: 120_000 }, () => {
  it("keeps memory bounded under a stalled, then slow webhook and delivers every event after", async (t) => {
    const ATTACKS = 30;
    const FRAMES = 60_000;
    const HEAP_MB = 160;
    const RSS_BOUND = 350 * 2 ** 20;
    const HIGH_WATER = 500;
    // the webhook: while stalled it takes each event, then answers after the client gave up (the
    // event is re-sent: at-least-once); once recovered it answers every request after 20 ms
    let stalled = true;
    const deliveries: { event: number; finding: string; body: string }[] = [];
    const hook = createServer((req: IncomingMessage, res: ServerResponse) => {
      let body = "";
      req.on("data", (d: Buffer) => (body += d.toString()));
      req.on("end", () => {
        deliveries.push({
          event: Number(req.headers["x-guestops-event-id"]),
          finding: String(req.headers["x-guestops-finding-id"]),
          body,
        });
        const wait = stalled ? 1500 : 20;
        setTimeout(() => {
          if (!res.destroyed) res.writeHead(stalled ? 503 : 204).end();
        }, wait);
      });
    });
    await new Promise<void>((r) => hook.listen(0, "127.0.0.1", r));
    const hookPort = (hook.address() as net.AddressInfo).port;
    const db = join(dir, "slow.db");
    // the server runs in a heap of HEAP_MB: memory that grew with the backlog or with the events
    // waiting for the webhook would end it
    const options = process.env["NODE_OPTIONS"];
    process.env["NODE_OPTIONS"] = `${options ?? ""} --max-old-space-size=${HEAP_MB}`;
    let s: Served;
    try {
      s = await startServe(dir, {
        store: db,
        listeners: [{ name: "tcp", protocol: "tcp", port: 0 }],
        spool: { highWaterFrames: HIGH_WATER, lowWaterFrames: 100 },
        processing: { delay: "500ms", releaseStep: "100ms" },
        outputs: [
          {
            type: "webhook",
            name: "hook",
            url: `http://127.0.0.1:${hookPort}/in`,
            timeout: "1s",
            backoff: "100ms",
            maxAttempts: 1000,
          },
        ],
        http: { port: 0 },
      });
    } finally {
      if (options === undefined) delete process.env["NODE_OPTIONS"];
      else process.env["NODE_OPTIONS"] = options;
    }
    running.push(s);
    // memory and queue samples every 100 ms for the whole run
    let maxRss = 0;
    let maxLag = 0;
    let sampling = true;
    const sampler = (async () => {
      while (sampling) {
        maxRss = Math.max(maxRss, rssOf(s.child.pid) ?? 0);
        const h = await getJson<Health>(s, "/api/health");
        maxLag = Math.max(maxLag, h.spool.spooled - h.spool.processed + h.spool.pending);
        await new Promise((r) => setTimeout(r, 100));
      }
    })();
    // many frames as fast as TCP takes them, the attacks spread among them
    const t0 = Date.now();
    const bg = background(FRAMES, t0);
    const frames: string[] = [];
    const every = Math.floor(FRAMES / ATTACKS);
    for (let i = 0; i < FRAMES; i++) {
      frames.push(bg[i] ?? "");
      if (i % every === every - 1 && i / every < ATTACKS)
        frames.push(...attack(Math.floor(i / every), t0 + Math.floor(i / 50)));
    }
    await sendStream(s.ports.get("tcp") ?? 0, framed(frames, true));
    await until(
      async () =>
        (await getJson<Health>(s, "/api/health")).counters.processing.frames === frames.length,
      30_000,
      "every frame processed",
    );
    // every attack's alert is stored while the webhook is still stalled, and the event log has
    // not grown for a second (incidents and updates come with the same release)
    let count = -1;
    let changedAt = 0;
    await until(
      () => {
        const n = storedEvents(db).length;
        if (n !== count) [count, changedAt] = [n, Date.now()];
        return Date.now() - changedAt >= 1000 && markersOf(storedBodies(db)).size === ATTACKS;
      },
      20_000,
      "an alert per attack, the event log settled",
    );
    assert.ok(deliveries.length > 0, "the stalled webhook was tried");
    stalled = false;
    await until(
      () => new Set(deliveries.map((d) => d.event)).size >= storedEvents(db).length,
      20_000,
      "every event delivered after the webhook recovered",
    );
    sampling = false;
    await sampler;
    const h = await getJson<Health>(s, "/api/health");
    const metrics = await (await fetch(new URL("/metrics", s.http))).text();
    assert.equal(await s.stop(), 0);
    hook.close();
    const events = storedEvents(db);
    t.diagnostic(
      `peak RSS ${Math.round(maxRss / 2 ** 20)} MB, peak lag ${maxLag} frames, ${h.counters.backpressure.pauses} pauses, ${deliveries.length} deliveries of ${events.length} events`,
    );
    // nothing received was dropped or lost, and the receiver paused instead of buffering
    assert.equal(h.counters.received.tcp, frames.length);
    assert.equal(h.counters.spooled, frames.length);
    assert.deepEqual(h.counters.dropped, {});
    // a backlog that reached the high-water mark paused the sockets (a machine fast enough to keep
    // up never reaches it: then there was nothing to pause)
    assert.ok(
      maxLag < HIGH_WATER || h.counters.backpressure.pauses >= 1,
      `the sockets were paused (peak lag ${maxLag}, ${h.counters.backpressure.pauses} pauses)`,
    );
    // the mark is checked after every chunk read off a socket: the backlog may pass it by the
    // frames of the chunks in flight (a few hundred here), never by the stream
    assert.ok(
      maxLag < HIGH_WATER + 1500,
      `unprocessed frames peaked at ${maxLag} (high water ${HIGH_WATER})`,
    );
    if (maxRss === 0) t.diagnostic("no /proc: memory not measured");
    else assert.ok(maxRss < RSS_BOUND, `peak RSS ${Math.round(maxRss / 2 ** 20)} MB`);
    // every attack raised its alert, and every stored event reached the webhook: deduplicated by
    // event id the deliveries are exactly the event log, each body the event it names
    const markers = markersOf(deliveries.map((d) => d.body));
    assert.deepEqual(
      [...markers].sort((a, b) => a - b),
      Array.from({ length: ATTACKS }, (_, i) => i),
    );
    const unique = new Map<number, (typeof deliveries)[number]>();
    for (const d of deliveries) {
      const seen = unique.get(d.event);
      if (seen) assert.equal(d.body, seen.body, "a re-sent event is the same event");
      else unique.set(d.event, d);
    }
    assert.deepEqual(
      [...unique.keys()].sort((a, b) => a - b),
      events.map((e) => e.id),
    );
    for (const e of events) assert.equal(unique.get(e.id)?.finding, e.finding);
    assert.equal(h.counters.outputs.hook?.deadLetters, 0);
    assert.match(
      metrics,
      new RegExp(`^guestops_output_delivered_total\\{output="hook"\\} ${events.length}$`, "m"),
    );
  });

  it("serves a sequence-numbered sender through a flood of refused, idle and slowloris connections", async (t) => {
    const PEERS_A = 10; // each opens 30 connections against a per-peer cap of 20
    const PEERS_B = 10; // each opens 20, against what is left of the total cap
    const MAX = 250;
    const TLS_STALLED = 200; // TLS connections that never start their handshake
    const db = join(dir, "flood.db");
    const certs = makeCertificates(dir);
    if (!certs) t.diagnostic("openssl not found: no TLS listener");
    const s = await startServe(dir, {
      store: db,
      listeners: [
        { name: "tcp", protocol: "tcp", port: 0 },
        ...(certs
          ? [{ name: "tls", protocol: "tls", port: 0, cert: certs.cert, key: certs.key }]
          : []),
      ],
      limits: {
        maxFrameBytes: 1024,
        maxConnections: MAX,
        maxConnectionsPerPeer: 20,
        idleTimeout: "8s",
        handshakeTimeout: "1s",
      },
      spool: { prune: false },
      http: { port: 0 },
    });
    running.push(s);
    const port = s.ports.get("tcp") ?? 0;
    const health = (): Promise<Health> => getJson<Health>(s, "/api/health");
    // the well-behaved sender: one connection, 40 sequence-numbered frames every 20 ms until told
    const good = await new Promise<net.Socket>((resolve, reject) => {
      const c = net.connect({ port, host: "127.0.0.1", localAddress: "127.0.0.2" }, () =>
        resolve(c),
      );
      c.once("error", reject);
    });
    let seq = 0;
    let sending = true;
    const sender = (async () => {
      while (sending) {
        const frames = Array.from({ length: 40 }, () => seqFrame("good", seq++));
        if (!good.write(framed(frames, true))) await new Promise((r) => good.once("drain", r));
        await new Promise((r) => setTimeout(r, 20));
      }
      await new Promise<void>((r) => good.end(r));
    })();
    await until(async () => (await health()).counters.connections.open === 1, 10_000, "sender");

    const closed = new Set<net.Socket>();
    const open = (localAddress: string, to = port): Promise<net.Socket> =>
      new Promise((resolve) => {
        const c = net.connect({ port: to, host: "127.0.0.1", localAddress });
        c.on("error", () => undefined);
        c.once("close", () => closed.add(c));
        c.once("connect", () => resolve(c));
        c.once("close", () => resolve(c));
      });
    const flood = async (
      first: number,
      peers: number,
      each: number,
      to = port,
    ): Promise<net.Socket[]> =>
      (
        await Promise.all(
          Array.from({ length: peers }, (_, p) =>
            Promise.all(Array.from({ length: each }, () => open(`127.0.1.${first + p}`, to))),
          ),
        )
      ).flat();
    // phase A: 300 connections from 10 peers; 100 are over the per-peer cap and closed at once
    const a = await flood(10, PEERS_A, 30);
    await until(
      async () => {
        const h = await health();
        return (
          h.counters.dropped["peer-limit"] === PEERS_A * 10 &&
          h.counters.connections.open === 1 + PEERS_A * 20 &&
          a.filter((c) => closed.has(c)).length === PEERS_A * 10
        );
      },
      10_000,
      "the per-peer cap",
    );
    const admitted = a.filter((c) => !closed.has(c));
    // of the admitted: 60 slowloris (a newline frame, one byte every 500 ms), 40 octet-counted
    // frames that stop after their first bytes, the rest silent
    const drips = admitted.slice(0, 60);
    for (const c of admitted.slice(60, 100)) c.write("900 <14>1 2026-03-10T09:00:00Z partial");
    for (const c of drips) c.write("<14>slow");
    const dripper = setInterval(() => {
      for (const c of drips) c.write("x");
    }, 500);
    // phase B: 200 more from 10 other peers; only MAX - 201 fit under the total cap
    const b = await flood(40, PEERS_B, 20);
    const fit = MAX - (1 + PEERS_A * 20);
    await until(
      async () => {
        const h = await health();
        return (
          h.counters.dropped["connection-limit"] === PEERS_B * 20 - fit &&
          b.filter((c) => closed.has(c)).length === PEERS_B * 20 - fit
        );
      },
      10_000,
      "the total cap",
    );
    // TLS: 200 connections from 10 more peers that never send a ClientHello, closed by the
    // handshake timeout, while a TLS sender is served
    const tlsPort = s.ports.get("tls") ?? 0;
    const stalledTls = certs ? await flood(60, 10, TLS_STALLED / 10, tlsPort) : [];
    const tlsFrames = Array.from({ length: 200 }, (_, i) => seqFrame("tls", i));
    if (certs) await sendStream(tlsPort, framed(tlsFrames, true), { ca: readFileSync(certs.ca) });
    await until(
      async () => !certs || (await health()).counters.dropped["tls-handshake"] === TLS_STALLED,
      10_000,
      "handshake timeouts",
    );
    // the idle and the stalled connections are closed by the idle timeout; the drips are not
    const idle = admitted.length - drips.length + fit;
    await until(
      async () => (await health()).counters.dropped["idle-timeout"] === idle,
      15_000,
      "idle timeouts",
    );
    const metrics = await (await fetch(new URL("/metrics", s.http))).text();
    const h = await health();
    sending = false;
    await sender;
    clearInterval(dripper);
    t.diagnostic(`${seq} frames from the well-behaved sender during the flood`);
    await until(
      async () =>
        (await health()).counters.processing.frames === seq + (certs ? tlsFrames.length : 0),
      15_000,
      "every frame of the sender processed",
    );
    const end = await health();
    for (const c of [...a, ...b, ...stalledTls]) c.destroy();
    assert.equal(await s.stop(), 0);

    assert.ok(seq > 1000, `the sender kept sending (${seq} frames)`);
    assert.equal(end.counters.received.tcp, seq);
    assert.equal(end.counters.received.tls, certs ? tlsFrames.length : undefined);
    assert.equal(end.counters.spooled, seq + (certs ? tlsFrames.length : 0));
    const d = new BetterSqlite3(db, { readonly: true });
    const frames = (
      d.prepare(`SELECT frame FROM spool ORDER BY id`).all() as { frame: Buffer }[]
    ).map((r) => r.frame.toString());
    d.close();
    assert.deepEqual(
      frames.filter((f) => f.includes("seq=good-")),
      Array.from({ length: seq }, (_, i) => seqFrame("good", i)),
    );
    // the rest: each slowloris line, taken as a last frame without its line feed when its
    // connection closed (after the counts above); nothing of the stalled octet-counted frames
    if (certs)
      assert.deepEqual(
        frames.filter((f) => f.includes("seq=tls-")),
        tlsFrames,
      );
    const rest = frames.filter((f) => !f.includes("seq=good-") && !f.includes("seq=tls-"));
    assert.equal(rest.length, drips.length);
    assert.ok(rest.every((f) => /^<14>slowx*$/.test(f)));
    // while the flood was on: 60 slowloris connections and the sender still open
    assert.equal(h.counters.connections.open, drips.length + 1);
    assert.equal(h.counters.connections.rejected, PEERS_A * 10 + PEERS_B * 20 - fit);
    for (const [reason, n] of [
      ["peer-limit", PEERS_A * 10],
      ["connection-limit", PEERS_B * 20 - fit],
      ["idle-timeout", idle],
      ...(certs ? ([["tls-handshake", TLS_STALLED]] as const) : []),
    ] as const)
      assert.match(
        metrics,
        new RegExp(`^guestops_frames_dropped_total\\{reason="${reason}"\\} ${n}$`, "m"),
      );
    assert.match(metrics, new RegExp(`^guestops_connections_open ${drips.length + 1}$`, "m"));
    // datagrams the kernel dropped are shown too (system wide), on Linux
    if (existsSync("/proc/net/snmp"))
      assert.match(metrics, /^guestops_udp_receive_buffer_errors_total \d+$/m);
  });
});

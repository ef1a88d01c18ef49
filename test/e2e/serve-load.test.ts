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
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { createServer, type IncomingMessage, type ServerResponse } from "node:http";
import net from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, describe, it } from "node:test";
import BetterSqlite3 from "better-sqlite3";
import {
  framed,
  getJson,
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
    if (k % 5 === 1)
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

describe("guestops serve under load", { timeout: 120_000 }, () => {
  it("keeps memory bounded under a stalled, then slow webhook and delivers every event after", async (t) => {
    const ATTACKS = 40;
    const FRAMES = 100_000;
    const HEAP_MB = 160;
    const RSS_BOUND = 350 * 2 ** 20;
    const HIGH_WATER = 2000;
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
        spool: { highWaterFrames: HIGH_WATER, lowWaterFrames: 500 },
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
    // the alerts are stored while the webhook is still stalled
    await until(
      () => new Set(storedEvents(db).map((e) => e.finding)).size >= ATTACKS,
      15_000,
      "an alert per attack",
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
    assert.ok(h.counters.backpressure.pauses >= 1, "the sockets were paused");
    assert.ok(
      maxLag < 2 * HIGH_WATER,
      `unprocessed frames peaked at ${maxLag} (high water ${HIGH_WATER})`,
    );
    if (maxRss === 0) t.diagnostic("no /proc: memory not measured");
    else assert.ok(maxRss < RSS_BOUND, `peak RSS ${Math.round(maxRss / 2 ** 20)} MB`);
    // every attack raised its alert, and every stored event reached the webhook: deduplicated by
    // event id the deliveries are exactly the event log, each body the event it names
    const markers = new Set(
      deliveries.flatMap((d) => [...d.body.matchAll(/dc-atk(\d+)x/g)].map((m) => Number(m[1]))),
    );
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
});

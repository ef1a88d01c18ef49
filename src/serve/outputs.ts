/**
 * Delivery of the event log (`serve_events`: alerts and incidents opened or changed) to the
 * configured outputs: an NDJSON file, syslog (RFC 5424 over TCP, octet-counted, or UDP) and
 * webhooks (JSON POST, HMAC-SHA256 signature, retries with exponential backoff, then a
 * dead-letter row). Each output has its own cursor in `serve_cursors`, moved only after a
 * delivery succeeded (or was dead-lettered): at-least-once. Every payload carries the event id
 * and the finding id, which the receiving side deduplicates on.
 */
import { createHmac } from "node:crypto";
import dgram from "node:dgram";
import { closeSync, fsyncSync, openSync, writeSync } from "node:fs";
import net from "node:net";
import { hostname } from "node:os";
import type { Database } from "better-sqlite3";
import type { OutputConfig } from "./config.js";
import type { Counters } from "./counters.js";
import { eventsAfter, type ServeEvent } from "./processor.js";
import { getCursor, setCursor } from "./spool.js";

interface Sink {
  readonly name: string;
  /** Throws when the event was not delivered. */
  readonly deliver: (event: ServeEvent, payload: string) => Promise<void>;
  /** Attempts before a dead letter; undefined: retry until it works. */
  readonly maxAttempts?: number;
  readonly backoffMs: number;
  readonly close: () => void;
}

/** The JSON an output delivers for one event (one line of the NDJSON file). */
export function eventPayload(event: ServeEvent): string {
  const body = JSON.parse(event.body) as Record<string, unknown>;
  return JSON.stringify({
    eventId: event.id,
    kind: event.kind,
    change: event.change,
    id: event.findingId,
    at: new Date(event.atMs).toISOString(),
    ...body,
  });
}

/** `sha256=` + hex HMAC-SHA256 over `TIMESTAMP.BODY` (the `X-GuestOps-Timestamp` header). */
export function signature(secret: string, timestamp: string, body: string): string {
  return `sha256=${createHmac("sha256", secret).update(`${timestamp}.${body}`).digest("hex")}`;
}

const SEVERITY_CODE = new Map([
  ["critical", 2],
  ["high", 3],
  ["medium", 4],
  ["low", 5],
  ["info", 6],
]);

const sdValue = (s: string): string => s.replace(/["\\\]]/g, (c) => `\\${c}`);

/** One RFC 5424 message for an event (facility local0), the JSON payload as its message. */
export function syslogMessage(event: ServeEvent, payload: string, appName: string): string {
  const body = JSON.parse(event.body) as {
    alert?: { severity?: string };
    incident?: { severity?: string };
  };
  const severity = body.alert?.severity ?? body.incident?.severity ?? "info";
  const pri = 16 * 8 + (SEVERITY_CODE.get(severity) ?? 6);
  const sd = `[guestops@32473 id="${sdValue(event.findingId)}" event="${event.id}" change="${sdValue(event.change)}" severity="${sdValue(severity)}"]`;
  const host =
    hostname()
      .replace(/[^\x21-\x7e]/g, "")
      .slice(0, 255) || "-";
  return `<${pri}>1 ${new Date(event.atMs).toISOString()} ${host} ${appName} ${process.pid} ${event.kind} ${sd} ${payload}`;
}

function ndjsonSink(o: Extract<OutputConfig, { type: "ndjson" }>, name: string): Sink {
  let fd: number | undefined;
  return {
    name,
    backoffMs: 1000,
    deliver: (_event, payload) => {
      fd ??= openSync(o.path, "a");
      writeSync(fd, `${payload}\n`);
      fsyncSync(fd);
      return Promise.resolve();
    },
    close: () => {
      if (fd !== undefined) closeSync(fd);
      fd = undefined;
    },
  };
}

function syslogSink(o: Extract<OutputConfig, { type: "syslog" }>, name: string): Sink {
  let socket: net.Socket | undefined;
  let udp: dgram.Socket | undefined;
  const connect = (): Promise<net.Socket> =>
    new Promise((resolve, reject) => {
      const s = net.connect({ host: o.host, port: o.port }, () => {
        s.removeListener("error", reject);
        s.on("error", () => s.destroy());
        s.on("close", () => {
          if (socket === s) socket = undefined;
        });
        resolve(s);
      });
      s.once("error", reject);
    });
  return {
    name,
    backoffMs: 1000,
    deliver: async (event, payload) => {
      const msg = Buffer.from(syslogMessage(event, payload, o.appName));
      if (o.protocol === "udp") {
        udp ??= dgram.createSocket(net.isIP(o.host) === 6 ? "udp6" : "udp4");
        const u = udp;
        await new Promise<void>((resolve, reject) =>
          u.send(msg, o.port, o.host, (error) => (error ? reject(error) : resolve())),
        );
        return;
      }
      socket ??= await connect();
      const s = socket;
      await new Promise<void>((resolve, reject) =>
        s.write(Buffer.concat([Buffer.from(`${msg.length} `), msg]), (error) => {
          if (error) {
            s.destroy();
            reject(error);
          } else resolve();
        }),
      );
    },
    close: () => {
      socket?.destroy();
      udp?.close();
    },
  };
}

function webhookSink(
  o: Extract<OutputConfig, { type: "webhook" }>,
  name: string,
  env: Readonly<Record<string, string | undefined>>,
): Sink {
  const secret = o.secretEnv !== undefined ? env[o.secretEnv] : undefined;
  return {
    name,
    maxAttempts: o.maxAttempts,
    backoffMs: o.backoff,
    deliver: async (event, payload) => {
      const timestamp = String(Math.floor(Date.now() / 1000));
      const headers: Record<string, string> = {
        "content-type": "application/json",
        "user-agent": "guestops",
        "x-guestops-event-id": String(event.id),
        "x-guestops-finding-id": event.findingId,
        "x-guestops-timestamp": timestamp,
      };
      if (secret) headers["x-guestops-signature"] = signature(secret, timestamp, payload);
      const response = await fetch(o.url, {
        method: "POST",
        headers,
        body: payload,
        signal: AbortSignal.timeout(o.timeout),
        redirect: "error",
      });
      await response.arrayBuffer().catch(() => undefined);
      if (!response.ok) throw new Error(`HTTP ${response.status}`);
    },
    close: () => undefined,
  };
}

/** Runs every configured output, each behind its own cursor. */
export class Outputs {
  readonly #sinks: Sink[];
  #stopped = false;
  readonly #wakers = new Set<() => void>();
  readonly #loops: Promise<void>[] = [];

  constructor(
    private readonly db: Database,
    configs: readonly OutputConfig[],
    private readonly counters: Counters,
    env: Readonly<Record<string, string | undefined>>,
  ) {
    this.#sinks = configs.map((o, i) => {
      const name = o.name ?? `${o.type}-${i}`;
      return o.type === "ndjson"
        ? ndjsonSink(o, name)
        : o.type === "syslog"
          ? syslogSink(o, name)
          : webhookSink(o, name, env);
    });
  }

  start(): void {
    for (const sink of this.#sinks) this.#loops.push(this.loop(sink));
  }

  /** New events were stored. */
  notify(): void {
    for (const wake of this.#wakers) wake();
  }

  async stop(): Promise<void> {
    this.#stopped = true;
    this.notify();
    await Promise.all(this.#loops);
    for (const sink of this.#sinks) sink.close();
  }

  private sleep(ms: number): Promise<void> {
    return new Promise((resolve) => {
      const done = (): void => {
        clearTimeout(timer);
        this.#wakers.delete(done);
        resolve();
      };
      const timer = setTimeout(done, ms);
      this.#wakers.add(done);
    });
  }

  private async loop(sink: Sink): Promise<void> {
    const key = `output:${sink.name}`;
    const stats = this.counters.output(sink.name);
    let cursor = getCursor(this.db, key) ?? 0;
    while (!this.#stopped) {
      const events = eventsAfter(this.db, cursor, 100);
      if (events.length === 0) {
        await this.sleep(500);
        continue;
      }
      for (const event of events) {
        if (this.#stopped) return;
        const payload = eventPayload(event);
        let attempt = 0;
        for (;;) {
          attempt++;
          try {
            await sink.deliver(event, payload);
            stats.delivered++;
            break;
          } catch (error) {
            stats.failed++;
            if (sink.maxAttempts !== undefined && attempt >= sink.maxAttempts) {
              this.db
                .prepare(
                  `INSERT INTO dead_letters (output, event_id, at_ms, attempts, error, body) VALUES (?, ?, ?, ?, ?, ?)`,
                )
                .run(
                  sink.name,
                  event.id,
                  Date.now(),
                  attempt,
                  (error instanceof Error ? error.message : String(error)).slice(0, 500),
                  payload,
                );
              stats.deadLetters++;
              break;
            }
            const wait = Math.min(sink.backoffMs * 2 ** (attempt - 1), 5 * 60_000);
            // a backoff is not cut short by new events, only by a stop
            await new Promise<void>((resolve) => {
              const timer = setTimeout(() => {
                this.#wakers.delete(stop);
                resolve();
              }, wait);
              const stop = (): void => {
                if (!this.#stopped) return;
                clearTimeout(timer);
                this.#wakers.delete(stop);
                resolve();
              };
              this.#wakers.add(stop);
            });
            if (this.#stopped) return;
          }
        }
        cursor = event.id;
        setCursor(this.db, key, cursor);
      }
    }
  }
}

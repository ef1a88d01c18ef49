/**
 * The HTTP side of `guestops serve` (Hono on `@hono/node-server`): the dashboard page, a JSON API
 * (alerts, incidents, coverage, receiver health, triage), `/metrics` in Prometheus text format and
 * a server-sent event stream of the event log that resumes from `Last-Event-ID`.
 *
 * Access: on loopback without `requireToken`, every caller is a local analyst. Otherwise every
 * request needs a token (`Authorization: Bearer`, or the `guestops_token` cookie set by
 * `POST /login`), checked against the hashed tokens in the store; `viewer` reads, `analyst` also
 * triages. State changes (POST) need the CSRF token of `GET /api/session` in `X-CSRF-Token` and,
 * when the browser sends one, an `Origin` equal to the server's own. Responses forbid framing and
 * any script or request not from the page's own origin (CSP).
 */
import { randomBytes, timingSafeEqual } from "node:crypto";
import { readFileSync } from "node:fs";
import { createServer as createHttpsServer } from "node:https";
import type { AddressInfo } from "node:net";
import type { Database } from "better-sqlite3";
import { serve, type ServerType } from "@hono/node-server";
import { Hono, type Context } from "hono";
import { setCookie, deleteCookie } from "hono/cookie";
import { streamSSE } from "hono/streaming";
import { z } from "zod";
import { checkToken, triage, triageHistory, triageOf, type Role } from "./access.js";
import { tokenRequired, type ServeConfig } from "./config.js";
import { udpReceiveBufferErrors, type Counters } from "./counters.js";
import { DASHBOARD_CSS, DASHBOARD_HTML, DASHBOARD_JS } from "./dashboard.js";
import {
  createException,
  ExceptionRefused,
  exceptedAlerts,
  listExceptions,
  revokeException,
} from "./exceptions.js";
import { eventPayload, type Outputs } from "./outputs.js";
import { lossMetrics } from "./loss-metrics.js";
import { eventsAfter, type LiveProcessor } from "./processor.js";
import type { BoundListener } from "./receiver.js";
import type { Policy, PolicyException } from "../policy/types.js";

export interface HttpDeps {
  readonly db: Database;
  readonly config: ServeConfig;
  readonly counters: Counters;
  readonly processor: LiveProcessor;
  readonly listeners: () => readonly BoundListener[];
  readonly spoolLag: () => { spooled: number; processed: number; pending: number };
  /** Resolves when new events are stored (or after `ms`). */
  readonly waitForEvents: (ms: number) => Promise<void>;
  readonly outputs?: Outputs;
  /** The policy in force (its `exceptions:` are listed; its default zone reads local expiries). */
  readonly policy?: () => Policy;
}

type Env = { Variables: { role: Role; actor: string } };

const TriageBody = z.strictObject({
  action: z.enum(["acknowledge", "assign", "close", "reopen"]),
  assignee: z.string().min(1).max(100).optional(),
  reason: z.string().min(1).max(1000).optional(),
});

// eslint-disable-next-line no-control-regex
const CONTROL = /[\u0000-\u001f\u007f-\u009f\u2028\u2029]/;
const field = (max: number) =>
  z
    .string()
    .trim()
    .min(1)
    .max(max)
    .refine((v) => !CONTROL.test(v));

const ExceptionBody = z.strictObject({
  alert: z.string().min(1).max(100),
  owner: field(200),
  ticket: field(200),
  expires: z.string().trim().min(1).max(40),
  reason: field(1000).optional(),
  rules: z.array(z.string().min(1).max(64)).min(1).max(32).optional(),
});

/** A policy exception as the API lists it. */
const policyExceptionView = (x: PolicyException): object => ({
  id: x.id,
  source: x.source,
  rules: x.rules ?? "any",
  accounts: x.accounts ?? null,
  vms: x.vms?.map((g) => (g.kind === "tier" ? `tier:${g.tier}` : g.pattern)) ?? null,
  hosts: x.hosts ?? null,
  methods: x.methods?.map((g) => (g.kind === "api" ? g.api : g.category)) ?? null,
  owner: x.owner,
  ticket: x.ticket,
  expires: new Date(x.expiresMs).toISOString(),
  reason: x.reason ?? null,
});

const SECURITY_HEADERS: Record<string, string> = {
  "content-security-policy":
    "default-src 'none'; script-src 'self'; style-src 'self'; connect-src 'self'; img-src 'self'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'",
  "x-content-type-options": "nosniff",
  "x-frame-options": "DENY",
  "referrer-policy": "no-referrer",
  "cache-control": "no-store",
};

const equal = (a: string, b: string): boolean => {
  const x = Buffer.from(a);
  const y = Buffer.from(b);
  return x.length === y.length && timingSafeEqual(x, y);
};

export function createApp(deps: HttpDeps): Hono<Env> {
  const { db, config, counters } = deps;
  const needToken = tokenRequired(config);
  const csrf = randomBytes(24).toString("base64url");
  const app = new Hono<Env>();

  app.use("*", async (c, next) => {
    await next();
    for (const [k, v] of Object.entries(SECURITY_HEADERS)) c.header(k, v);
  });

  // the login form is the only page reachable without a token
  app.post("/login", async (c) => {
    const origin = c.req.header("origin");
    if (origin !== undefined && !sameOrigin(origin, c.req.header("host"))) {
      return c.text("cross-origin sign-in refused", 403);
    }
    const form: Record<string, unknown> = await c.req.parseBody().catch(() => ({}));
    const token = typeof form["token"] === "string" ? form["token"] : "";
    if (!checkToken(db, token)) return c.text("invalid token", 401);
    setCookie(c, "guestops_token", token, {
      httpOnly: true,
      sameSite: "Strict",
      path: "/",
      secure: config.http.cert !== undefined,
    });
    return c.redirect("/", 303);
  });
  app.get("/login", (c) => c.html(LOGIN_HTML));

  app.use("*", async (c, next) => {
    if (!needToken) {
      c.set("role", "analyst");
      c.set("actor", "local");
      return next();
    }
    const header = c.req.header("authorization");
    const token = header?.startsWith("Bearer ")
      ? header.slice(7)
      : (cookieOf(c.req.header("cookie"), "guestops_token") ?? "");
    const who = checkToken(db, token);
    if (!who) {
      if (c.req.method === "GET" && (c.req.path === "/" || c.req.path === "/index.html")) {
        return c.redirect("/login", 303);
      }
      return c.json({ error: "a valid token is required" }, 401);
    }
    c.set("role", who.role);
    c.set("actor", who.name);
    return next();
  });

  app.use("*", async (c, next) => {
    if (c.req.method === "GET" || c.req.method === "HEAD") return next();
    const origin = c.req.header("origin");
    const host = c.req.header("host");
    if (origin !== undefined && !sameOrigin(origin, host)) {
      return c.json({ error: "cross-origin request refused" }, 403);
    }
    if (!equal(c.req.header("x-csrf-token") ?? "", csrf)) {
      return c.json({ error: "missing or wrong CSRF token" }, 403);
    }
    return next();
  });

  app.post("/logout", (c) => {
    deleteCookie(c, "guestops_token", { path: "/" });
    return c.json({ ok: true });
  });

  app.get("/", (c) => c.html(DASHBOARD_HTML));
  app.get("/favicon.ico", (c) => c.body(null, 204));
  app.get("/dashboard.js", (c) => {
    c.header("content-type", "text/javascript; charset=utf-8");
    return c.body(DASHBOARD_JS);
  });
  app.get("/dashboard.css", (c) => {
    c.header("content-type", "text/css; charset=utf-8");
    return c.body(DASHBOARD_CSS);
  });

  app.get("/api/session", (c) =>
    c.json({ csrf, role: c.get("role"), actor: c.get("actor"), tokenRequired: needToken }),
  );

  app.get("/api/health", (c) =>
    c.json({
      listeners: deps.listeners(),
      spool: deps.spoolLag(),
      counters: counters.toJSON(),
      streamTime: finiteIso(deps.processor.streamNow()),
      watermark: finiteIso(counters.processing.watermarkMs || Number.NaN),
    }),
  );

  app.get("/api/alerts", (c) => c.json(findings(db, "alerts", limitOf(c))));
  app.get("/api/incidents", (c) => c.json(findings(db, "incidents", limitOf(c))));
  app.get("/api/alerts/:id", (c) => finding(c, db, "alerts"));
  app.get("/api/incidents/:id", (c) => finding(c, db, "incidents"));

  const triageRoute = (c: Context<Env>, table: "alerts" | "incidents") => {
    if (c.get("role") !== "analyst") return c.json({ error: "the analyst role is needed" }, 403);
    return c.req
      .json()
      .catch(() => undefined)
      .then((raw: unknown) => {
        const parsed = TriageBody.safeParse(raw);
        if (!parsed.success) return c.json({ error: "invalid triage request" }, 400);
        const body = parsed.data;
        if (body.action === "close" && body.reason === undefined) {
          return c.json({ error: "closing needs a reason" }, 400);
        }
        if (body.action === "assign" && body.assignee === undefined) {
          return c.json({ error: "assigning needs an assignee" }, 400);
        }
        const id = c.req.param("id") ?? "";
        const exists = db.prepare(`SELECT 1 FROM ${table} WHERE id = ?`).get(id);
        if (!exists) return c.json({ error: "no such finding" }, 404);
        return c.json(
          triage(
            db,
            id,
            {
              action: body.action,
              ...(body.assignee !== undefined ? { assignee: body.assignee } : {}),
              ...(body.reason !== undefined ? { reason: body.reason } : {}),
            },
            c.get("actor"),
          ),
        );
      });
  };
  app.post("/api/alerts/:id/triage", (c) => triageRoute(c, "alerts"));
  app.post("/api/incidents/:id/triage", (c) => triageRoute(c, "incidents"));

  app.get("/api/exceptions", (c) =>
    c.json({
      policy: (deps.policy?.().exceptions ?? []).map(policyExceptionView),
      store: listExceptions(db),
    }),
  );
  app.post("/api/exceptions", async (c) => {
    if (c.get("role") !== "analyst") return c.json({ error: "the analyst role is needed" }, 403);
    const raw: unknown = await c.req.json().catch(() => undefined);
    const parsed = ExceptionBody.safeParse(raw);
    if (!parsed.success) {
      return c.json(
        {
          error: "an exception needs alert, owner, ticket and expires (reason and rules optional)",
        },
        400,
      );
    }
    const b = parsed.data;
    try {
      const made = createException(
        db,
        {
          alert: b.alert,
          owner: b.owner,
          ticket: b.ticket,
          expires: b.expires,
          ...(b.reason !== undefined ? { reason: b.reason } : {}),
          ...(b.rules !== undefined ? { rules: b.rules } : {}),
        },
        c.get("actor"),
        deps.policy?.().defaultSite.zone ?? "UTC",
      );
      return c.json(made, 201);
    } catch (error) {
      if (error instanceof ExceptionRefused) return c.json({ error: error.message }, error.status);
      throw error;
    }
  });
  app.post("/api/exceptions/:id/revoke", (c) => {
    if (c.get("role") !== "analyst") return c.json({ error: "the analyst role is needed" }, 403);
    const revoked = revokeException(db, c.req.param("id"), c.get("actor"));
    return revoked ? c.json(revoked) : c.json({ error: "no such exception" }, 404);
  });
  app.get("/api/excepted", (c) => c.json(exceptedAlerts(db, limitOf(c))));

  app.get("/api/coverage", (c) => c.json(deps.processor.coverage()));

  app.get("/api/events", (c) => {
    const after = Number(c.req.query("after") ?? 0);
    return c.json(
      eventsAfter(db, Number.isSafeInteger(after) ? after : 0, limitOf(c)).map(
        (e) => JSON.parse(eventPayload(e)) as unknown,
      ),
    );
  });

  app.get("/api/stream", (c) => {
    const fromHeader = c.req.header("last-event-id");
    const start = Number(fromHeader ?? c.req.query("after") ?? lastEventId(db));
    let last = Number.isSafeInteger(start) && start >= 0 ? start : lastEventId(db);
    return streamSSE(c, async (stream) => {
      let open = true;
      stream.onAbort(() => {
        open = false;
      });
      await stream.writeSSE({ event: "hello", data: JSON.stringify({ after: last }), retry: 1000 });
      while (open) {
        const events = eventsAfter(db, last, 100);
        for (const e of events) {
          await stream.writeSSE({ id: String(e.id), event: e.kind, data: eventPayload(e) });
          last = e.id;
        }
        if (events.length === 0) {
          await deps.waitForEvents(15_000);
          if (open) await stream.write(": keep-alive\n\n");
        }
      }
    });
  });

  app.get("/metrics", (c) => {
    c.header("content-type", "text/plain; version=0.0.4; charset=utf-8");
    return c.body(metrics(deps) + lossMetrics(deps.processor.coverage().report));
  });

  return app;
}

/** Whether a browser's `Origin` names this server (`Host`); a malformed one does not. */
function sameOrigin(origin: string, host: string | undefined): boolean {
  if (host === undefined) return false;
  try {
    return new URL(origin).host === host;
  } catch {
    return false;
  }
}

/** One cookie's value from a `Cookie` header. */
function cookieOf(header: string | undefined, name: string): string | undefined {
  for (const part of (header ?? "").split(";")) {
    const eq = part.indexOf("=");
    if (eq > 0 && part.slice(0, eq).trim() === name) return part.slice(eq + 1).trim();
  }
  return undefined;
}

const finiteIso = (ms: number): string | null =>
  Number.isFinite(ms) ? new Date(ms).toISOString() : null;

const limitOf = (c: Context<Env>): number => {
  const n = Number(c.req.query("limit") ?? 200);
  return Number.isSafeInteger(n) && n > 0 ? Math.min(n, 1000) : 200;
};

const lastEventId = (db: Database): number =>
  (db.prepare(`SELECT coalesce(max(id), 0) AS id FROM serve_events`).get() as { id: number }).id;

function findings(db: Database, table: "alerts" | "incidents", limit: number): unknown {
  const rows = db
    .prepare(
      `SELECT f.body, t.status AS triage, t.assignee, t.reason, t.revision FROM ${table} f
       LEFT JOIN triage t ON t.finding_id = f.id
       ORDER BY f.last_ms IS NULL, f.last_ms DESC, f.id LIMIT ?`,
    )
    .all(limit) as {
    body: string;
    triage: string | null;
    assignee: string | null;
    reason: string | null;
    revision: number | null;
  }[];
  return {
    lastEventId: lastEventId(db),
    items: rows.map((r) => ({
      ...(JSON.parse(r.body) as object),
      triage: {
        status: r.triage ?? "new",
        assignee: r.assignee,
        reason: r.reason,
        revision: r.revision ?? 0,
      },
    })),
  };
}

function finding(c: Context<Env>, db: Database, table: "alerts" | "incidents"): Response {
  const id = c.req.param("id") ?? "";
  const row = db.prepare(`SELECT body FROM ${table} WHERE id = ?`).get(id) as
    { body: string } | undefined;
  if (!row) return c.json({ error: "no such finding" }, 404);
  const one = table === "alerts" ? "alert" : "incident";
  const revisions = db
    .prepare(
      `SELECT r.change, r.severity_before AS severityBefore, r.severity_after AS severityAfter, r.reason, r.run_id AS run FROM ${one}_revisions r WHERE ${one}_id = ? ORDER BY r.id`,
    )
    .all(id);
  const latest = db
    .prepare(`SELECT body FROM serve_events WHERE finding_id = ? ORDER BY id DESC LIMIT 1`)
    .get(id) as { body: string } | undefined;
  const evidence = latest
    ? ((JSON.parse(latest.body) as { evidence?: unknown }).evidence ?? [])
    : [];
  return c.json({
    [one]: JSON.parse(row.body) as unknown,
    evidence,
    revisions,
    triage: triageOf(db, id) ?? { status: "new" },
    triageHistory: triageHistory(db, id),
  });
}

/** Prometheus text exposition of the counters. Label values are fixed words or config names. */
export function metrics(deps: Pick<HttpDeps, "counters" | "spoolLag">): string {
  const c = deps.counters;
  const out: string[] = [];
  const label = (v: string): string =>
    v.replace(/[\\"\n]/g, (ch) => (ch === "\n" ? "\\n" : `\\${ch}`));
  const family = (name: string, type: string, help: string, rows: [string, number][]): void => {
    out.push(`# HELP ${name} ${help}`, `# TYPE ${name} ${type}`);
    for (const [labels, value] of rows) out.push(`${name}${labels} ${value}`);
  };
  family(
    "guestops_frames_received_total",
    "counter",
    "Frames accepted by a listener.",
    [...c.received].map(([l, n]) => [`{listener="${label(l)}"}`, n]),
  );
  family("guestops_frames_spooled_total", "counter", "Frames committed to the spool.", [
    ["", c.spooled.frames],
  ]);
  family(
    "guestops_frames_dropped_total",
    "counter",
    "Frames or connections refused, by reason.",
    [...c.dropped].map(([r, n]) => [`{reason="${r}"}`, n]),
  );
  const rcvbuf = udpReceiveBufferErrors();
  if (rcvbuf !== undefined)
    family(
      "guestops_udp_receive_buffer_errors_total",
      "counter",
      "UDP datagrams the kernel dropped for a full receive buffer (system wide).",
      [["", rcvbuf]],
    );
  const lag = deps.spoolLag();
  family("guestops_spool_lag_frames", "gauge", "Frames spooled or pending but not processed.", [
    ["", lag.spooled - lag.processed + lag.pending],
  ]);
  family("guestops_connections_open", "gauge", "Open TCP/TLS connections.", [
    ["", c.connections.open],
  ]);
  family("guestops_backpressure_paused", "gauge", "1 while sockets are paused.", [
    ["", c.backpressure.paused ? 1 : 0],
  ]);
  family("guestops_backpressure_pauses_total", "counter", "Times sockets were paused.", [
    ["", c.backpressure.pauses],
  ]);
  const p = c.processing;
  family("guestops_processed_frames_total", "counter", "Frames read by the processor.", [
    ["", p.frames],
  ]);
  family("guestops_records_total", "counter", "Canonical records read.", [["", p.records]]);
  family("guestops_read_issues_total", "counter", "Read issues (lines not understood).", [
    ["", p.issues],
  ]);
  family("guestops_operations_total", "counter", "Operations released to the rules.", [
    ["", p.operations],
  ]);
  family("guestops_late_records_total", "counter", "Records later than the release cut.", [
    ["", p.late],
  ]);
  family("guestops_alert_changes_total", "counter", "Alerts opened or changed.", [
    ["", p.alertChanges],
  ]);
  family(
    "guestops_alerts_excepted_total",
    "counter",
    "Alerts not raised: exceptions covered every finding.",
    [["", p.excepted]],
  );
  family(
    "guestops_output_delivered_total",
    "counter",
    "Events delivered per output.",
    [...c.outputs].map(([n, o]) => [`{output="${label(n)}"}`, o.delivered]),
  );
  family(
    "guestops_output_dead_letters_total",
    "counter",
    "Events given up on per output.",
    [...c.outputs].map(([n, o]) => [`{output="${label(n)}"}`, o.deadLetters]),
  );
  const r = c.reload;
  family("guestops_reloads_total", "counter", "Configuration and policy reloads, by result.", [
    ['{result="ok"}', r.ok],
    ['{result="failed"}', r.failed],
  ]);
  family(
    "guestops_reload_last_success_timestamp_seconds",
    "gauge",
    "When the last reload succeeded (0: never).",
    [["", r.lastOkMs / 1000]],
  );
  family(
    "guestops_reload_last_failed",
    "gauge",
    "1 while the last reload failed (the running files are kept).",
    [["", r.lastError === null ? 0 : 1]],
  );
  family(
    "guestops_reload_restart_needed",
    "gauge",
    "Configuration fields changed on disk that only a restart applies.",
    [["", r.restartNeeded.length]],
  );
  return `${out.join("\n")}\n`;
}

/** Starts the HTTP server; resolves with the bound port. */
export function startHttp(
  app: Hono<Env>,
  config: ServeConfig,
): Promise<{ server: ServerType; port: number }> {
  const { http } = config;
  return new Promise((resolve, reject) => {
    const tls =
      http.cert !== undefined && http.key !== undefined
        ? {
            createServer: createHttpsServer,
            serverOptions: { cert: readFileSync(http.cert), key: readFileSync(http.key) },
          }
        : {};
    const server = serve(
      { fetch: app.fetch, port: http.port, hostname: http.address, ...tls },
      (info: AddressInfo) => resolve({ server, port: info.port }),
    );
    server.once("error", reject);
  });
}

const LOGIN_HTML = `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>guestops: sign in</title>
<link rel="stylesheet" href="/dashboard.css"></head>
<body><main class="login"><h1>guestops</h1>
<form method="post" action="/login"><label>API token <input name="token" type="password" autocomplete="off" required></label>
<button type="submit">Sign in</button></form></main></body></html>`;

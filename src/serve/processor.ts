/**
 * Live processing: spooled frames, in id order, through the same readers as a file (the syslog
 * router, `readLineStream`), the correlator (released with a bounded delay) and the incremental
 * detector; every alert and incident opened or changed is stored (`storeFindings`, with its
 * revision) and appended to the event log (`serve_events`) that the outputs and the dashboard read,
 * in the same transaction as the processing cursor.
 *
 * Stream time is the latest record time, advanced by the wall clock while nothing newer arrives
 * (a replay of old logs and a live feed behave alike); the watermark is stream time minus
 * `delayMs`: records are assumed to arrive at most that late. Every `releaseStepMs` the
 * correlator releases the operations before the watermark and the detector is flushed there.
 *
 * Restart: two cursors. `processed` is the last frame whose effects are stored; `replay` is the
 * first frame a restarted processor must read again to rebuild what was held in memory (pending
 * records, open clusters, rule windows: `pendingSince`, `checkpoint`, less the longest join
 * window). A restart reads from `replay` and stores nothing until it passes `processed`: findings
 * are rebuilt with the same ids and contents, so nothing is lost and nothing is delivered twice.
 */
import type { Database } from "better-sqlite3";
import { createCorrelator, DEFAULT_WINDOWS, longestWindow } from "../attribute/correlate.js";
import { createDetector, linkAlerts } from "../detect/engine.js";
import { BUILTIN_RULES } from "../detect/registry.js";
import type { CoverageSpan, DetectDeps } from "../detect/types.js";
import { readLineStream } from "../ingest/read.js";
import type { Alert } from "../model/alert.js";
import type { Incident } from "../model/incident.js";
import type { Operation } from "../model/operation.js";
import type { Policy } from "../policy/types.js";
import { VpxdCoverage } from "../pipeline.js";
import { Release } from "../attribute/release.js";
import { storeFindings } from "../store/alerts.js";
import { SummaryBuilder } from "../attribute/summary.js";
import { CoverageCollector, hostOfRecord } from "../coverage/collect.js";
import { coverageReport, type CoverageReport } from "../coverage/findings.js";
import type { Counters } from "./counters.js";
import { activeExceptions, exceptionsVersion, recordExcepted } from "./exceptions.js";
import { getCursor, pruneSpool, readSpool, setCursor } from "./spool.js";

export interface ProcessorOptions {
  readonly policy: Policy;
  readonly delayMs: number;
  readonly releaseStepMs: number;
  /** How long an operation whose session may still name its account waits past `delayMs`. */
  readonly chainWaitMs: number;
  readonly assumeTz: string;
  readonly batchFrames: number;
  readonly runId: number;
  /** Delete spooled frames before the replay cursor (default true). */
  readonly prune?: boolean;
  readonly baseline?: DetectDeps["baseline"];
  /** Wall clock (tests may pass another). */
  readonly now?: () => number;
}

/** Stored event log entry: what the outputs deliver and the dashboard streams. */
export interface ServeEvent {
  readonly id: number;
  readonly atMs: number;
  readonly kind: "alert" | "incident";
  readonly findingId: string;
  readonly change: string;
  readonly body: string;
}

/** Records further ahead of the wall clock than this do not move stream time. */
const FUTURE_SLACK_MS = 5 * 60_000;
/** Raw lines kept per operation for an alert's evidence (the first ones). */
const EVIDENCE_LINES = 20;

/** An async byte stream fed one buffer at a time; `feed` resolves once the reader took it whole. */
class Feed implements AsyncIterable<Buffer> {
  #next: Buffer | null | undefined;
  #wake: (() => void) | undefined;
  #taken: (() => void) | undefined;

  feed(buf: Buffer | null): Promise<void> {
    return new Promise((resolve) => {
      this.#next = buf;
      this.#taken = resolve;
      const wake = this.#wake;
      this.#wake = undefined;
      wake?.();
    });
  }

  async *[Symbol.asyncIterator](): AsyncGenerator<Buffer> {
    for (;;) {
      // asking for the next chunk means the last one was read through (its lines handed over)
      this.taken();
      if (this.#next === undefined) {
        await new Promise<void>((resolve) => (this.#wake = resolve));
      }
      const buf = this.#next;
      this.#next = undefined;
      if (buf === null || buf === undefined) {
        this.taken();
        return;
      }
      yield buf;
    }
  }

  private taken(): void {
    const resolve = this.#taken;
    this.#taken = undefined;
    resolve?.();
  }
}

export class LiveProcessor {
  readonly #db: Database;
  #options: ProcessorOptions;
  readonly #counters: Counters;
  readonly #now: () => number;
  readonly #feed = new Feed();
  #reading: Promise<unknown> | undefined;
  readonly #correlator;
  readonly #release: Release;
  readonly #coverage: CoverageSpan[] = [];
  readonly #vpxd = new VpxdCoverage(this.#coverage);
  #detector;
  #deps: DetectDeps;
  /** A policy to take at the next step boundary (`setPolicy`). */
  #nextPolicy: Policy | undefined;
  /** Frames read from the spool: the last one's id. */
  #cursor: number;
  /** Effects are stored from frames after this id on (a restart's catch-up ends there). */
  readonly #catchUpTo: number;
  /** Per batch read: its first frame id and the latest record time in it. */
  #marks: { id: number; maxMs: number }[] = [];
  #batchMax = Number.NEGATIVE_INFINITY;
  #maxRecordMs = Number.NEGATIVE_INFINITY;
  #wallAtMax = 0;
  /** Alerts and incidents changed since the last store. */
  readonly #changedAlerts = new Map<string, Alert>();
  /** Alerts the exceptions covered whole since the last store; the store's exceptions' version. */
  readonly #excepted = new Map<string, Alert>();
  #exceptionsVersion = "";
  /** Recent alerts (for incident linking), by id. */
  readonly #recent = new Map<string, Alert>();
  /** Raw lines of released operations, for alert evidence (pruned with the recent alerts). */
  readonly #evidence = new Map<string, { lines: string[]; t: number }>();
  readonly #storedIncidents = new Map<string, string>();
  #busy = false;
  readonly #collector: CoverageCollector;
  readonly #summary = new SummaryBuilder();
  /** Per host: records, the latest record time and when the last one arrived (wall clock). */
  readonly #hosts = new Map<
    string,
    { records: number; lastRecordMs: number; lastWallMs: number }
  >();

  constructor(db: Database, options: ProcessorOptions, counters: Counters) {
    this.#db = db;
    this.#options = options;
    this.#counters = counters;
    this.#now = options.now ?? Date.now;
    this.#deps = {
      rules: BUILTIN_RULES,
      policy: options.policy,
      coverage: this.#coverage,
      ...(options.baseline ? { baseline: options.baseline } : {}),
    };
    this.#detector = createDetector(this.#deps);
    this.#correlator = createCorrelator({
      chainWaitMs: options.chainWaitMs,
      crowdHoldMs: options.chainWaitMs,
    });
    // The correlator keeps an operation until every record of it is older than the time given
    // less its longest join window (an hour: a long upload); live, an operation is released once
    // its records are `delayMs` old instead, so the time given is moved on by the difference.
    this.#release = new Release(this.#correlator, {
      stepMs: options.releaseStepMs,
      leadMs: longestWindow(DEFAULT_WINDOWS),
    });
    this.#collector = new CoverageCollector(options.policy.coverage.gapMs);
    const replay = getCursor(db, "replay") ?? 0;
    this.#catchUpTo = getCursor(db, "processed") ?? 0;
    this.#cursor = Math.min(replay, this.#catchUpTo);
  }

  /** The last frame whose effects are stored. */
  get processed(): number {
    return Math.max(this.#cursor, this.#catchUpTo);
  }

  start(): void {
    this.#reading = readLineStream(
      this.#feed,
      { path: "syslog-receiver", format: "syslog" },
      { assumeTz: this.#options.assumeTz },
      {
        record: (record) => {
          this.#counters.processing.records++;
          if (record.time !== undefined) {
            const t = Date.parse(record.time);
            if (!Number.isNaN(t)) {
              if (t > this.#batchMax) this.#batchMax = t;
              if (t > this.#maxRecordMs && t <= this.#now() + FUTURE_SLACK_MS) {
                this.#maxRecordMs = t;
                this.#wallAtMax = this.#now();
              }
              if (t <= this.#release.releasedTo) {
                this.#counters.processing.late++;
              }
            }
          }
          this.#vpxd.add(record);
          this.#collector.add(record);
          this.noteHost(record);
          this.#correlator.add(record);
        },
        issue: () => {
          this.#counters.processing.issues++;
        },
      },
    );
    this.#reading.catch(() => undefined);
  }

  /** Stream time now: the latest record time, moved on by the wall clock since it arrived. */
  streamNow(): number {
    if (this.#maxRecordMs === Number.NEGATIVE_INFINITY) return Number.NEGATIVE_INFINITY;
    return this.#maxRecordMs + (this.#now() - this.#wallAtMax);
  }

  /**
   * One step: reads up to a batch of committed frames, releases and flushes when due, stores the
   * changes with the cursors. Returns the frames read (a full batch: call again soon).
   */
  async step(): Promise<number> {
    if (this.#busy) return 0;
    this.#busy = true;
    try {
      this.takePolicy();
      // exceptions made or revoked in the store apply from this step on
      const version = exceptionsVersion(this.#db);
      if (version !== this.#exceptionsVersion) {
        this.#exceptionsVersion = version;
        this.#detector.setExceptions(activeExceptions(this.#db));
      }
      const catchingUp = this.#cursor < this.#catchUpTo;
      const frames = readSpool(
        this.#db,
        this.#cursor,
        this.#options.batchFrames,
        catchingUp ? this.#catchUpTo : undefined,
      );
      const first = frames[0];
      if (first) {
        this.#batchMax = Number.NEGATIVE_INFINITY;
        const parts: Buffer[] = [];
        for (const f of frames) parts.push(f.frame, NEWLINE);
        await this.#feed.feed(Buffer.concat(parts));
        this.#marks.push({ id: first.id, maxMs: this.#batchMax });
        this.#cursor = frames[frames.length - 1]?.id ?? this.#cursor;
        this.#counters.processing.frames += frames.length;
      }
      this.release();
      const store = this.#cursor >= this.#catchUpTo;
      this.commit(store);
      return frames.length;
    } finally {
      this.#busy = false;
    }
  }

  /**
   * Judges operations released from the next step on by `policy` (a reload, docs/serve.md). The
   * policy is taken at a step boundary, never inside one, so what a step releases is judged by one
   * policy only.
   */
  setPolicy(policy: Policy): void {
    this.#nextPolicy = policy;
  }

  /**
   * Takes a policy given by `setPolicy`: the alerts open under the old one are closed as they
   * stand (stored with this step), rule windows start afresh, and a new detector judges what is
   * released from now on.
   */
  private takePolicy(): void {
    const policy = this.#nextPolicy;
    if (policy === undefined) return;
    this.#nextPolicy = undefined;
    const ended = this.#detector.end();
    this.take({ updated: [], closed: ended.alerts, excepted: ended.excepted ?? [] });
    this.#options = { ...this.#options, policy };
    this.#deps = { ...this.#deps, policy };
    this.#detector = createDetector(this.#deps);
    // the new detector has none of the store's exceptions yet: the check below hands them over
    this.#exceptionsVersion = "";
  }

  /** Releases operations before the watermark and flushes the detector, when a step is due. */
  private release(): void {
    const now = this.streamNow();
    if (now === Number.NEGATIVE_INFINITY) return;
    const watermark = now - this.#options.delayMs;
    this.#counters.processing.watermarkMs = watermark;
    const step = this.#release.at(watermark);
    if (!step) return;
    const { ready } = step;
    if (ready.length) {
      this.#counters.processing.operations += ready.length;
      for (const op of ready) {
        this.keepEvidence(op);
        this.#collector.addOperation(op);
        this.#summary.add(op);
      }
      this.take(this.#detector.push(ready));
    }
    this.take(this.#detector.flush(watermark));
  }

  private noteHost(record: Parameters<CoverageCollector["add"]>[0]): void {
    const host = hostOfRecord(record) ?? "";
    let h = this.#hosts.get(host);
    if (!h) {
      if (this.#hosts.size >= MAX_HOSTS) return;
      h = { records: 0, lastRecordMs: Number.NaN, lastWallMs: 0 };
      this.#hosts.set(host, h);
    }
    h.records++;
    h.lastWallMs = this.#now();
    const t = record.time === undefined ? Number.NaN : Date.parse(record.time);
    if (!Number.isNaN(t) && !(t <= h.lastRecordMs)) h.lastRecordMs = t;
  }

  /**
   * Coverage as it stands: the coverage report over what was read since the start (hostd event
   * number gaps, vCenter event-key holes past the watermark, forwarding failures the hosts
   * reported, silent gaps, missing sources, `docs/report.md`), and per host when its last record
   * arrived; a host quiet for longer than the policy's gap threshold is `silent`.
   */
  coverage(): {
    hosts: {
      host: string;
      records: number;
      lastRecord?: string;
      lastArrivalMs: number;
      silent: boolean;
    }[];
    report: CoverageReport;
  } {
    const gapMs = this.#options.policy.coverage.gapMs;
    const now = this.#now();
    const hosts = [...this.#hosts.entries()].map(([host, h]) => ({
      host,
      records: h.records,
      ...(Number.isNaN(h.lastRecordMs)
        ? {}
        : { lastRecord: new Date(h.lastRecordMs).toISOString() }),
      lastArrivalMs: h.lastWallMs,
      silent: now - h.lastWallMs > gapMs,
    }));
    const stream = this.streamNow();
    // a hole in a vCenter's event keys counts once the key above it is past the watermark: a
    // late event (at most the attribution delay late) has had its chance to fill it
    const settled = Number.isFinite(stream) ? stream - this.#options.delayMs : undefined;
    const report = coverageReport(
      this.#collector.snapshot(gapMs, settled),
      this.#summary.result(),
      this.#options.policy,
      Number.isFinite(stream) ? { asOf: stream } : {},
    );
    return { hosts, report };
  }

  private keepEvidence(op: Operation): void {
    const lines = op.observations.slice(0, EVIDENCE_LINES).map((o) => o.prov.raw);
    const t = op.time === undefined ? this.streamNow() : Date.parse(op.time);
    this.#evidence.set(op.id, { lines, t });
  }

  private take(changes: {
    updated: readonly Alert[];
    closed: readonly Alert[];
    excepted: readonly Alert[];
  }): void {
    for (const a of [...changes.updated, ...changes.closed]) {
      this.#changedAlerts.set(a.id, a);
      this.#recent.set(a.id, a);
    }
    for (const a of changes.excepted) this.#excepted.set(a.id, a);
  }

  /** Stores the changed findings (when `store`), the events and the cursors, in one transaction. */
  private commit(store: boolean): void {
    const changed = [...this.#changedAlerts.values()];
    this.#changedAlerts.clear();
    const excepted = [...this.#excepted.values()];
    this.#excepted.clear();
    const incidents = changed.length ? this.relink(changed) : [];
    const replay = this.replayFrom();
    const at = this.#now();
    const insertEvent = this.#db.prepare(
      `INSERT INTO serve_events (at_ms, kind, finding_id, change, body) VALUES (?, ?, ?, ?, ?)`,
    );
    this.#db
      .transaction(() => {
        if (store) {
          for (const alert of changed) {
            const change = this.storeOne("alerts", alert);
            if (!change) continue;
            this.#counters.processing.alertChanges++;
            const evidence = alert.operations.map((o) => ({
              operation: o.id,
              lines: this.#evidence.get(o.id)?.lines ?? [],
            }));
            insertEvent.run(at, "alert", alert.id, change, JSON.stringify({ alert, evidence }));
          }
          for (const incident of incidents) {
            const change = this.storeOne("incidents", incident);
            if (!change) continue;
            this.#counters.processing.incidentChanges++;
            insertEvent.run(at, "incident", incident.id, change, JSON.stringify({ incident }));
          }
          if (excepted.length) {
            recordExcepted(this.#db, excepted, at);
            this.#counters.processing.excepted += excepted.length;
          }
          setCursor(this.#db, "processed", this.#cursor);
        }
        setCursor(this.#db, "replay", replay);
      })
      .immediate();
    const horizon = this.streamNow() - 2 * this.#options.policy.incidentLinking.windowMs;
    for (const [id, e] of this.#evidence) if (e.t < horizon) this.#evidence.delete(id);
    // frames before the replay cursor are no longer needed by any restart
    if (store && replay > 1 && this.#options.prune !== false) pruneSpool(this.#db, replay);
    this.#counters.processing.lagFrames = 0;
  }

  /** Stores one alert or incident with its revision; what changed, or undefined when nothing did. */
  private storeOne(
    table: "alerts" | "incidents",
    finding: Alert | Incident,
  ): "opened" | "reopened" | "updated" | undefined {
    const c = storeFindings(this.#db, table, this.#options.runId, [finding], { from: 0, to: 0 });
    return c.opened ? "opened" : c.reopened ? "reopened" : c.updated ? "updated" : undefined;
  }

  /** Links the recent alerts into incidents; returns those whose content changed. */
  private relink(changed: readonly Alert[]): Incident[] {
    const windowMs = this.#options.policy.incidentLinking.windowMs;
    const horizon = this.streamNow() - 2 * windowMs - this.#options.delayMs;
    const ids = new Set(changed.map((a) => a.id));
    // alerts that ended long before stream time can no longer link with new ones (the changed
    // ones are kept whatever their time: a replay of old logs still links them)
    for (const [id, a] of this.#recent) {
      const last = a.lastSeen === undefined ? Number.NaN : Date.parse(a.lastSeen);
      if (last < horizon && !ids.has(id)) this.#recent.delete(id);
    }
    const { incidents } = linkAlerts([...this.#recent.values()], this.#deps);
    const out: Incident[] = [];
    for (const incident of incidents) {
      if (!incident.alerts.some((id) => ids.has(id))) continue;
      const text = JSON.stringify(incident);
      if (this.#storedIncidents.get(incident.id) === text) continue;
      this.#storedIncidents.set(incident.id, text);
      out.push(incident);
    }
    if (this.#storedIncidents.size > 10_000) this.#storedIncidents.clear();
    return out;
  }

  /** The first frame a restart must read again to rebuild what is held now. */
  private replayFrom(): number {
    const held = Math.min(
      this.#correlator.pendingSince() ?? Number.POSITIVE_INFINITY,
      this.#detector.checkpoint().from ?? Number.POSITIVE_INFINITY,
      this.#release.releasedTo,
    );
    const from = held - longestWindow(DEFAULT_WINDOWS);
    const last = this.#marks[this.#marks.length - 1];
    if (!last) return this.#cursor + 1;
    // the last batch is always read again (a reader may hold its last lines)
    let keep = this.#marks.length - 1;
    for (let i = 0; i < this.#marks.length - 1; i++) {
      if ((this.#marks[i]?.maxMs ?? Number.NEGATIVE_INFINITY) >= from) {
        keep = i;
        break;
      }
    }
    if (keep > 0) this.#marks = this.#marks.slice(keep);
    return this.#marks[0]?.id ?? this.#cursor + 1;
  }

  /** Ends the reader (a shutdown; what is held is rebuilt from the spool at the next start). */
  async close(): Promise<void> {
    await this.#feed.feed(null);
    await this.#reading;
  }
}

const NEWLINE = Buffer.from("\n");
/** Hosts tracked for coverage at most (a flood of forged host names stays bounded). */
const MAX_HOSTS = 10_000;

/** Events after `afterId` (at most `limit`), oldest first. */
export function eventsAfter(db: Database, afterId: number, limit: number): ServeEvent[] {
  const rows = db
    .prepare(
      `SELECT id, at_ms, kind, finding_id, change, body FROM serve_events WHERE id > ? ORDER BY id LIMIT ?`,
    )
    .all(afterId, limit) as {
    id: number;
    at_ms: number;
    kind: "alert" | "incident";
    finding_id: string;
    change: string;
    body: string;
  }[];
  return rows.map((r) => ({
    id: r.id,
    atMs: r.at_ms,
    kind: r.kind,
    findingId: r.finding_id,
    change: r.change,
    body: r.body,
  }));
}

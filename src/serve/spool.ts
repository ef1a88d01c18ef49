/**
 * The durable spool: every accepted frame is written to the store's `spool` table (group commit:
 * every `commitInterval` or `commitFrames` frames, whichever comes first) before anything reads
 * it. The processor reads committed frames in id order after its cursor; cursors live in
 * `serve_cursors`, in the same database, so a killed process resumes exactly where its last
 * committed transaction left it.
 */
import type { Database } from "better-sqlite3";

export interface Frame {
  readonly listener: string;
  readonly peer: string;
  readonly rxMs: number;
  readonly bytes: Buffer;
}

export interface SpooledFrame {
  readonly id: number;
  readonly rxMs: number;
  readonly listener: string;
  readonly peer: string;
  readonly frame: Buffer;
}

export class Spool {
  #pending: Frame[] = [];
  #timer: NodeJS.Timeout | undefined;
  #soon = false;
  #lastId: number;
  readonly #insert;
  readonly #commitAll;

  constructor(
    private readonly db: Database,
    private readonly options: {
      readonly commitIntervalMs: number;
      readonly commitFrames: number;
      /** After each commit, with the frames it wrote. */
      readonly onCommit?: (frames: number) => void;
    },
  ) {
    this.#insert = db.prepare(
      `INSERT INTO spool (rx_ms, listener, peer, frame) VALUES (?, ?, ?, ?)`,
    );
    this.#commitAll = db.transaction((frames: readonly Frame[]) => {
      for (const f of frames) this.#insert.run(f.rxMs, f.listener, f.peer, f.bytes);
    });
    this.#lastId = lastSpoolId(db);
  }

  /** Frames accepted but not yet committed. */
  get pending(): number {
    return this.#pending.length;
  }

  /** The id of the last committed frame (0 when none). */
  get lastId(): number {
    return this.#lastId;
  }

  start(): void {
    this.#timer ??= setInterval(() => this.commit(), this.options.commitIntervalMs);
    this.#timer.unref();
  }

  add(frame: Frame): void {
    this.#pending.push(frame);
    if (this.#pending.length >= this.options.commitFrames && !this.#soon) {
      this.#soon = true;
      setImmediate(() => {
        this.#soon = false;
        this.commit();
      });
    }
  }

  /** Commits what is pending in one transaction; returns how many frames it wrote. */
  commit(): number {
    if (this.#pending.length === 0) return 0;
    const frames = this.#pending;
    this.#pending = [];
    this.#commitAll.immediate(frames);
    this.#lastId = lastSpoolId(this.db);
    this.options.onCommit?.(frames.length);
    return frames.length;
  }

  /** Commits what is pending and stops the timer. */
  stop(): void {
    if (this.#timer) clearInterval(this.#timer);
    this.#timer = undefined;
    this.commit();
  }
}

export function lastSpoolId(db: Database): number {
  const row = db.prepare(`SELECT max(id) AS id FROM spool`).get() as { id: number | null };
  return row.id ?? 0;
}

/** Committed frames after `afterId` (at most `limit`, up to `toId` when given), in id order. */
export function readSpool(
  db: Database,
  afterId: number,
  limit: number,
  toId = Number.MAX_SAFE_INTEGER,
): SpooledFrame[] {
  const rows = db
    .prepare(
      `SELECT id, rx_ms, listener, peer, frame FROM spool WHERE id > ? AND id <= ? ORDER BY id LIMIT ?`,
    )
    .all(afterId, toId, limit) as {
    id: number;
    rx_ms: number;
    listener: string;
    peer: string;
    frame: Buffer;
  }[];
  return rows.map((r) => ({
    id: r.id,
    rxMs: r.rx_ms,
    listener: r.listener,
    peer: r.peer,
    frame: r.frame,
  }));
}

/** Deletes the frames before `beforeId` (no restart needs them any more). */
export function pruneSpool(db: Database, beforeId: number): number {
  return db.prepare(`DELETE FROM spool WHERE id < ?`).run(beforeId).changes;
}

export function getCursor(db: Database, name: string): number | undefined {
  const row = db.prepare(`SELECT value FROM serve_cursors WHERE name = ?`).get(name) as
    { value: number } | undefined;
  return row?.value;
}

export function setCursor(db: Database, name: string, value: number): void {
  db.prepare(
    `INSERT INTO serve_cursors (name, value) VALUES (?, ?) ON CONFLICT (name) DO UPDATE SET value = excluded.value`,
  ).run(name, value);
}

/**
 * The worker side of `readInputs` with `worker: true` (read-offthread.ts has the caller's side):
 * a `worker_threads` entry that runs `readInputs` in this thread and turns every hook call into an
 * entry of one ordered log, posted to the caller in batches, where the calls are replayed in the
 * same order.
 *
 * Log entries are a tag followed by its arguments (see `Tag`). A source's fields (`sha256`,
 * `format`, `hostHint`) change while it is read; a `Tag.Source` entry carries the source as it is
 * each time a change is seen, logged before the next hook call that follows the change, so that the
 * caller's one object per source has, at each replayed call, the fields it had in this thread.
 *
 * Backpressure: at most `window` batches are posted and not yet replayed; past it, the hook that
 * would post blocks this thread (`Atomics.wait` on the shared control words) until the caller has
 * replayed one. Reading is paused then, wherever it was: memory stays bounded whatever the caller
 * does with the records (a watermark hook's slow promise included).
 *
 * The worker serves one read at a time and stays up for the next (`guestops ingest` reads its
 * inputs one call per file).
 */
import { parentPort } from "node:worker_threads";
import type { InputSource } from "../model/record.js";
import { isGuestOpsError } from "../shared/errors.js";
import { readInputs, type ReadHooks, type ReadInputsOptions } from "./read.js";

/** What each log entry is; a record takes 1 argument, an event key 6, every other entry 1. */
export const Tag = {
  Record: 0,
  EventKey: 1,
  Progress: 2,
  Issue: 3,
  Input: 4,
  Watermark: 5,
  Source: 6,
} as const;

/** Control words shared with the caller: batches replayed, and the caller gave up. */
export const CONTROL_ACKED = 0;
export const CONTROL_ABORT = 1;

export interface ReadRequest {
  readonly t: "read";
  readonly paths: readonly string[];
  readonly options: ReadInputsOptions;
  /** The hooks the caller has (the others are not logged). */
  readonly hooks: {
    readonly eventKey: boolean;
    readonly progress: boolean;
    readonly issue: boolean;
    readonly input: boolean;
    readonly watermark: boolean;
  };
  /** Int32 control words (`CONTROL_*`). */
  readonly control: SharedArrayBuffer;
  /** Entries in one batch, and batches posted ahead of the caller. */
  readonly batch: number;
  readonly window: number;
}

export type WorkerMessage =
  | { readonly t: "batch"; readonly log: unknown[] }
  | { readonly t: "done"; readonly summary: unknown }
  | { readonly t: "error"; readonly error: SerializedError };

export interface SerializedError {
  readonly name: string;
  readonly message: string;
  readonly stack?: string;
  readonly guestOps: boolean;
  readonly code?: string;
  readonly hint?: string;
  readonly props: Record<string, unknown>;
}

/** An error as it crosses to the caller (a GuestOpsError's code and hint included). */
export function serializeError(error: unknown): SerializedError {
  if (!(error instanceof Error)) {
    return { name: "Error", message: String(error), guestOps: false, props: {} };
  }
  const props: Record<string, unknown> = {};
  for (const key of ["code", "errno", "syscall", "path"]) {
    const value = (error as unknown as Record<string, unknown>)[key];
    if (typeof value === "string" || typeof value === "number") props[key] = value;
  }
  return {
    name: error.name,
    message: error.message,
    ...(error.stack !== undefined ? { stack: error.stack } : {}),
    guestOps: isGuestOpsError(error),
    ...(isGuestOpsError(error)
      ? { code: error.code, ...(error.hint !== undefined ? { hint: error.hint } : {}) }
      : {}),
    props,
  };
}

/** The fields of a source that change while it is read, as last logged. */
interface Seen {
  sha256: string;
  format: string | undefined;
  hostHint: string | undefined;
}

async function serve(request: ReadRequest): Promise<void> {
  const port = parentPort;
  if (!port) return;
  const control = new Int32Array(request.control);
  let log: unknown[] = [];
  let entries = 0;
  let posted = 0;
  let postedAt = Date.now();
  const flush = (): void => {
    if (entries === 0) return;
    port.postMessage({ t: "batch", log } satisfies WorkerMessage);
    log = [];
    entries = 0;
    posted++;
    postedAt = Date.now();
    // hold here (reading with it) while the caller is `window` batches behind
    for (;;) {
      if (Atomics.load(control, CONTROL_ABORT) !== 0) return;
      const acked = Atomics.load(control, CONTROL_ACKED);
      if (posted - acked < request.window) return;
      Atomics.wait(control, CONTROL_ACKED, acked, 1000);
    }
  };
  const entry = (): void => {
    if (++entries >= request.batch) flush();
  };

  const seen = new Map<number, Seen>();
  /** Sources not yet reported done (`input`): their fields may still change. */
  const live = new Map<number, InputSource>();
  let last: InputSource | undefined;
  const check = (source: InputSource): void => {
    const was = seen.get(source.id);
    if (
      was === undefined ||
      was.sha256 !== source.sha256 ||
      was.format !== source.format ||
      was.hostHint !== source.hostHint
    ) {
      seen.set(source.id, {
        sha256: source.sha256,
        format: source.format,
        hostHint: source.hostHint,
      });
      if (was === undefined) live.set(source.id, source);
      log.push(Tag.Source, { ...source }); // as it is now: the object may change before it is posted
      entry();
    }
  };
  const checkLive = (): void => {
    for (const source of live.values()) check(source);
  };
  const sourceOf = (source: InputSource): void => {
    if (source !== last) {
      check(source);
      last = source;
    }
  };

  const wanted = request.hooks;
  const hooks: ReadHooks = {
    record: (record) => {
      sourceOf(record.prov.source);
      log.push(Tag.Record, record);
      entry();
    },
    ...(wanted.eventKey
      ? {
          eventKey: (source, key, time, ms, vcenter, line) => {
            sourceOf(source);
            log.push(Tag.EventKey, source.id, key, time, ms, vcenter, line);
            entry();
          },
        }
      : {}),
    // always: a new input's tally (and a bundle's host found for the inputs before it) shows here
    progress: (progress) => {
      checkLive();
      if (!wanted.progress) return;
      log.push(Tag.Progress, progress);
      entry();
      if (Date.now() - postedAt >= 100) flush(); // a terminal's progress line keeps moving
    },
    ...(wanted.issue
      ? {
          issue: (issue) => {
            sourceOf(issue.source);
            log.push(Tag.Issue, issue);
            entry();
          },
        }
      : {}),
    input: (summary) => {
      checkLive();
      check(summary.source);
      live.delete(summary.source.id); // its fields are final now
      if (wanted.input) {
        log.push(Tag.Input, summary);
        entry();
      }
    },
    ...(wanted.watermark
      ? {
          watermark: (ms) => {
            checkLive();
            log.push(Tag.Watermark, ms);
            entry();
          },
        }
      : {}),
  };
  try {
    const summary = await readInputs(request.paths, { ...request.options, worker: false }, hooks);
    for (const input of summary.inputs) check(input.source);
    flush();
    port.postMessage({ t: "done", summary } satisfies WorkerMessage);
  } catch (error) {
    flush();
    port.postMessage({ t: "error", error: serializeError(error) } satisfies WorkerMessage);
  }
}

parentPort?.on("message", (request: ReadRequest) => {
  if (request.t === "read") void serve(request);
});

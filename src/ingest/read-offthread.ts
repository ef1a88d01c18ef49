/**
 * The caller's side of `readInputs` with `worker: true`: the reading (decompression, decoding,
 * line splitting, the readers' parsing) runs in a `worker_threads` worker (read-worker.ts), and
 * the hook calls it logs are replayed here, in the order they were made there, so that the
 * caller sees what reading in its own thread would give it (the read-offthread test compares the
 * two call by call).
 *
 * - Source identity: each input's `InputSource` is one object here, made when the worker first
 *   logs it and updated in place from each later `Source` entry; every replayed record, event
 *   key, issue and summary points at it (callers key maps by it and read fields that come late:
 *   `sha256`, a bundle's `hostHint`).
 * - Backpressure: a batch is acknowledged once it is replayed, a watermark hook's promise settled
 *   first; the worker runs at most `WINDOW` batches ahead and then waits.
 * - Errors: the worker's rejection arrives as the same GuestOpsError (code, message, hint); a hook
 *   that throws here, or a watermark promise that rejects, stops the worker and rejects the read.
 *   (Reading in the caller's thread, a `record` hook that throws inside a reader is counted as a
 *   `reader_error` of that line instead.)
 *
 * A worker is kept a second (not holding the process open) for the next read, then ended.
 */
import { Worker } from "node:worker_threads";
import type { InputSource, ReadIssue } from "../model/record.js";
import { GuestOpsError, type ErrorCode } from "../shared/errors.js";
import type { ReadHooks, ReadInputsOptions, ReadProgress } from "./read.js";
import {
  CONTROL_ABORT,
  CONTROL_ACKED,
  Tag,
  type ReadRequest,
  type SerializedError,
  type WorkerMessage,
} from "./read-worker.js";
import type { InputSummary, ReadSummary } from "./summary.js";
import type { CanonicalRecord } from "../model/record.js";

/** Log entries in one batch (records mostly: about 0.5 MB cloned). */
const BATCH = 1000;
/** Batches the worker may post before the caller has replayed them. */
const WINDOW = 4;

/** The worker: the built .js beside this module, or under tsx (the tests) the .ts source. */
function spawn(): Worker {
  if (!import.meta.url.endsWith(".ts")) {
    return new Worker(new URL("./read-worker.js", import.meta.url));
  }
  // Node 20 does not run `--import tsx` in a worker: tsx is registered there by hand
  const tsx = JSON.stringify(import.meta.resolve("tsx/esm/api"));
  const entry = JSON.stringify(new URL("./read-worker.ts", import.meta.url).href);
  return new Worker(`import(${tsx}).then((m) => { m.register(); return import(${entry}); })`, {
    eval: true,
  });
}

/** How long a worker waits for the next read (`ingest` reads one file after another). */
const IDLE_MS = 1000;

let idle: { worker: Worker; timer: NodeJS.Timeout } | undefined;

function takeWorker(): Worker {
  const kept = idle;
  idle = undefined;
  if (!kept) return spawn();
  clearTimeout(kept.timer);
  kept.worker.removeAllListeners("error");
  kept.worker.removeAllListeners("exit");
  kept.worker.ref();
  return kept.worker;
}

/** Keeps a worker for the next read, briefly (its heap is freed when it ends). */
function giveBack(worker: Worker): void {
  worker.removeAllListeners("message");
  worker.removeAllListeners("error");
  worker.removeAllListeners("exit");
  if (idle !== undefined) {
    void worker.terminate();
    return;
  }
  const drop = (): void => {
    if (idle?.worker === worker) idle = undefined;
  };
  worker.on("error", drop);
  worker.on("exit", drop);
  worker.unref();
  const timer = setTimeout(() => {
    drop();
    void worker.terminate();
  }, IDLE_MS);
  timer.unref();
  idle = { worker, timer };
}

/** Whether `readInputs` can run in a worker with these arguments (else it reads in this thread). */
export function canReadInWorker(paths: readonly string[], options: ReadInputsOptions): boolean {
  // readers are functions, and standard input belongs to this thread
  return options.readers === undefined && !paths.includes("-");
}

/** `readInputs`, read in a worker thread (see the module comment). */
export function readInputsInWorker(
  paths: readonly string[],
  options: ReadInputsOptions,
  hooks: ReadHooks,
): Promise<ReadSummary> {
  const started = Date.now();
  // functions stay here (the worker's own standard input is not the caller's)
  const rest = Object.fromEntries(
    Object.entries(options).filter(([k]) => k !== "stdin" && k !== "readers" && k !== "worker"),
  ) as ReadInputsOptions;
  const control = new Int32Array(new SharedArrayBuffer(8));
  const request: ReadRequest = {
    t: "read",
    paths: [...paths],
    options: rest,
    hooks: {
      eventKey: hooks.eventKey !== undefined,
      progress: hooks.progress !== undefined,
      issue: hooks.issue !== undefined,
      input: hooks.input !== undefined,
      watermark: hooks.watermark !== undefined,
    },
    control: control.buffer,
    batch: BATCH,
    window: WINDOW,
  };
  const worker = takeWorker();
  const sources = new Map<number, InputSource>();
  const canonical = (source: InputSource): InputSource => {
    const known = sources.get(source.id);
    if (known) return known;
    sources.set(source.id, source);
    return source;
  };
  const update = (source: InputSource): void => {
    const known = sources.get(source.id);
    if (!known) {
      sources.set(source.id, source);
      return;
    }
    const target = known as { sha256: string; format?: string; hostHint?: string };
    if (known.sha256 !== source.sha256) target.sha256 = source.sha256;
    if (known.format !== source.format) {
      if (source.format === undefined) delete target.format;
      else target.format = source.format;
    }
    if (known.hostHint !== source.hostHint) {
      if (source.hostHint === undefined) delete target.hostHint;
      else target.hostHint = source.hostHint;
    }
  };

  /** Replays one batch; a promise only where a watermark hook returned one. */
  const replay = (log: unknown[], from: number): Promise<number> | number => {
    let i = from;
    while (i < log.length) {
      const tag = log[i++] as number;
      switch (tag) {
        case Tag.Record: {
          const record = log[i++] as CanonicalRecord;
          (record.prov as { source: InputSource }).source = canonical(record.prov.source);
          hooks.record(record);
          break;
        }
        case Tag.EventKey: {
          const id = log[i] as number;
          const source = sources.get(id);
          if (!source) throw new Error(`read worker: event key of unknown input ${id}`);
          hooks.eventKey?.(
            source,
            log[i + 1] as number,
            log[i + 2] as string | undefined,
            log[i + 3] as number | undefined,
            log[i + 4] as string | undefined,
            log[i + 5] as number,
          );
          i += 6;
          break;
        }
        case Tag.Progress:
          hooks.progress?.(log[i++] as ReadProgress);
          break;
        case Tag.Issue: {
          const issue = log[i++] as ReadIssue;
          (issue as { source: InputSource }).source = canonical(issue.source);
          hooks.issue?.(issue);
          break;
        }
        case Tag.Input: {
          const summary = log[i++] as InputSummary;
          (summary as { source: InputSource }).source = canonical(summary.source);
          hooks.input?.(summary);
          break;
        }
        case Tag.Watermark: {
          const reported: unknown = hooks.watermark?.(log[i++] as number);
          // as TimeTurns: only a promise holds the reading
          if (reported instanceof Promise) return reported.then(() => replay(log, i));
          break;
        }
        case Tag.Source:
          update(log[i++] as InputSource);
          break;
        default:
          throw new Error(`read worker: unknown log entry ${String(tag)}`);
      }
    }
    return i;
  };

  return new Promise<ReadSummary>((resolve, reject) => {
    const queue: WorkerMessage[] = [];
    let busy = false;
    let over = false;
    const fail = (error: unknown): void => {
      if (over) return;
      over = true;
      Atomics.store(control, CONTROL_ABORT, 1);
      Atomics.notify(control, CONTROL_ACKED);
      void worker.terminate();
      // a hook's own throw goes on as it was thrown, Error or not (as reading in this thread)
      // eslint-disable-next-line @typescript-eslint/prefer-promise-reject-errors
      reject(error);
    };
    const finish = (message: Extract<WorkerMessage, { t: "done" }>): void => {
      over = true;
      const summary = message.summary as ReadSummary;
      for (const input of summary.inputs) {
        update(input.source);
        (input as { source: InputSource }).source = canonical(input.source);
      }
      giveBack(worker);
      resolve({ ...summary, durationMs: Date.now() - started });
    };
    const pump = async (): Promise<void> => {
      if (busy) return;
      busy = true;
      try {
        while (!over && queue.length > 0) {
          const message = queue.shift() as WorkerMessage;
          if (message.t === "batch") {
            const replayed = replay(message.log, 0);
            if (typeof replayed !== "number") await replayed;
            Atomics.add(control, CONTROL_ACKED, 1);
            Atomics.notify(control, CONTROL_ACKED);
          } else if (message.t === "done") finish(message);
          else fail(deserializeError(message.error));
        }
      } catch (error) {
        fail(error);
      } finally {
        busy = false;
      }
    };
    worker.on("message", (message: WorkerMessage) => {
      queue.push(message);
      void pump();
    });
    worker.on("error", fail);
    worker.on("exit", (code) => {
      fail(new Error(`the read worker stopped (exit code ${code})`));
    });
    worker.postMessage(request);
  });
}

/** The worker's error as the caller would have had it in its own thread. */
function deserializeError(e: SerializedError): Error {
  const error = e.guestOps
    ? new GuestOpsError(
        e.code as ErrorCode,
        e.message,
        e.hint !== undefined ? { hint: e.hint } : {},
      )
    : Object.assign(new Error(e.message), e.props);
  if (!e.guestOps && e.name !== "Error") {
    Object.defineProperty(error, "name", { value: e.name, configurable: true, writable: true });
  }
  if (e.stack !== undefined) error.stack = e.stack;
  return error;
}

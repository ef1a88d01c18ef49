/**
 * The output-format contract: a format turns records (operations, alerts) into text one record
 * at a time, so that a large result is written as it is rendered and never held as one string.
 * Each command's formats live in a registry (`defineFormats`); `writeRecords` drives a format
 * into a `TextSink` (a file or standard output, with backpressure), `renderRecords` into a
 * string (tests, the library API).
 */
import type { FileHandle } from "node:fs/promises";
import { once } from "node:events";
import { safeJsonStringify } from "./escape.js";

/** One rendering of a stream of records: text before, per record, after. */
export interface FormatRun<T, C> {
  readonly head: string;
  record(item: T, index: number): string;
  /**
   * Text after the last record: `count` records were written, and `context` (counts, a summary)
   * is known only now.
   */
  tail(count: number, context: C): string;
}

/**
 * A format. `S`: how to render (a table's width, an evidence profile), known before any record;
 * `C`: what the run found (counts, a summary), known after the last.
 */
export interface OutputFormat<T, C, S = undefined> {
  readonly name: string;
  /**
   * Starts one rendering. `sample` is the first records (all of them when a list is rendered at
   * once, the first batch released when records stream): a table sizes its columns on it. A
   * format never needs a record before writing the one in hand, so a result of any size streams.
   */
  start(settings: S, sample: readonly T[]): FormatRun<T, C>;
}

export interface FormatRegistry<T, C, S = undefined> {
  readonly names: readonly string[];
  has(name: string): boolean;
  get(name: string): OutputFormat<T, C, S> | undefined;
}

/** A registry of a command's formats, in the order given (the first is listed first in help). */
export function defineFormats<T, C, S = undefined>(
  formats: readonly OutputFormat<T, C, S>[],
): FormatRegistry<T, C, S> {
  const byName = new Map(formats.map((f) => [f.name, f]));
  return {
    names: formats.map((f) => f.name),
    has: (name) => byName.has(name),
    get: (name) => byName.get(name),
  };
}

/** Where text goes. `write` resolves when the sink can take more (backpressure). */
export interface TextSink {
  write(text: string): Promise<void>;
  /** Flushes what is buffered (and closes a file). */
  close(): Promise<void>;
}

/** Records are gathered into chunks of about this many characters before each write. */
const CHUNK = 64 * 1024;

/** Buffers small pieces into chunks and hands each chunk to `flush`. */
function chunked(flush: (chunk: string) => Promise<void>, done: () => Promise<void>): TextSink {
  let parts: string[] = [];
  let size = 0;
  const drain = async (): Promise<void> => {
    if (size === 0) return;
    const chunk = parts.join("");
    parts = [];
    size = 0;
    await flush(chunk);
  };
  return {
    async write(text) {
      if (text === "") return;
      parts.push(text);
      size += text.length;
      if (size >= CHUNK) await drain();
    },
    async close() {
      await drain();
      await done();
    },
  };
}

/** A sink writing to an open file (closed by `close`). */
export function fileSink(handle: FileHandle): TextSink {
  return chunked(
    async (chunk) => {
      await handle.write(chunk, null, "utf8");
    },
    () => handle.close(),
  );
}

/** A sink writing to a stream (standard output), waiting for `drain` when the stream is full. */
export function streamSink(stream: NodeJS.WritableStream): TextSink {
  let failed: Error | undefined;
  const onError = (error: Error): void => {
    failed ??= error;
  };
  stream.on("error", onError);
  return chunked(
    async (chunk) => {
      if (failed !== undefined) throw failed;
      if (!stream.write(chunk)) await once(stream, "drain");
    },
    () => {
      stream.off("error", onError);
      return failed === undefined ? Promise.resolve() : Promise.reject(failed);
    },
  );
}

/** A sink gathering everything into one string (`text()`): for tests and small outputs. */
export function stringSink(): TextSink & { text(): string } {
  const parts: string[] = [];
  return {
    write(text) {
      parts.push(text);
      return Promise.resolve();
    },
    close: () => Promise.resolve(),
    text: () => parts.join(""),
  };
}

/** A rendering in progress into a sink: records in batches as they come, the context at the end. */
export interface RecordWriter<T, C> {
  write(records: readonly T[]): Promise<void>;
  /** Writes the tail (the sink is not closed); returns how many records were written. */
  end(context: C): Promise<number>;
}

/**
 * Starts writing records through `format` into `sink`. The format starts at the first batch
 * (its sample) or at `end` when there is none.
 */
export function recordWriter<T, C, S>(
  format: OutputFormat<T, C, S>,
  settings: S,
  sink: TextSink,
): RecordWriter<T, C> {
  let run: FormatRun<T, C> | undefined;
  let count = 0;
  const started = async (sample: readonly T[]): Promise<FormatRun<T, C>> => {
    if (run) return run;
    run = format.start(settings, sample);
    await sink.write(run.head);
    return run;
  };
  return {
    async write(records) {
      if (records.length === 0) return;
      const r = await started(records);
      for (const record of records) await sink.write(r.record(record, count++));
    },
    async end(context) {
      const r = await started([]);
      await sink.write(r.tail(count, context));
      return count;
    },
  };
}

/** Writes `records` through `format` into `sink`, record by record (the sink is not closed). */
export async function writeRecords<T, C, S>(
  format: OutputFormat<T, C, S>,
  records: readonly T[],
  settings: S,
  context: C,
  sink: TextSink,
): Promise<void> {
  const writer = recordWriter(format, settings, sink);
  await writer.write(records);
  await writer.end(context);
}

/** The whole rendering as one string (same bytes as `writeRecords`). */
export function renderRecords<T, C, S>(
  format: OutputFormat<T, C, S>,
  records: readonly T[],
  settings: S,
  context: C,
): string {
  const run = format.start(settings, records);
  const parts = [run.head];
  for (let i = 0; i < records.length; i++) parts.push(run.record(records[i] as T, i));
  parts.push(run.tail(records.length, context));
  return parts.join("");
}

/**
 * `safeJsonStringify(document, 2)` of an object whose member `arrayKey` is a list written one
 * element at a time: the `before` members (known at the start), the array, then the members
 * `after` gives from the context known at the end. Members whose value is `undefined` are left
 * out, as `JSON.stringify` leaves them out. Each element is indented as `JSON.stringify` would
 * indent it at that depth.
 */
export function jsonDocumentFormat<T, C, S = undefined>(options: {
  readonly name: string;
  readonly before: readonly (readonly [string, unknown])[];
  readonly arrayKey: string;
  readonly after: (context: C) => readonly (readonly [string, unknown])[];
  readonly element: (item: T, settings: S) => unknown;
  /** Text after the closing brace. */
  readonly end: string;
}): OutputFormat<T, C, S> {
  const member = (key: string, value: unknown): string =>
    `  ${JSON.stringify(key)}: ${safeJsonStringify(value, 2).replaceAll("\n", "\n  ")}`;
  const present = (members: readonly (readonly [string, unknown])[]) =>
    members.filter(([, v]) => v !== undefined).map(([k, v]) => member(k, v));
  const head = `{\n${present(options.before)
    .map((m) => `${m},\n`)
    .join("")}  ${JSON.stringify(options.arrayKey)}: [`;
  return {
    name: options.name,
    start: (settings) => ({
      head,
      record: (item, index) =>
        `${index ? "," : ""}\n    ${safeJsonStringify(options.element(item, settings), 2).replaceAll("\n", "\n    ")}`,
      tail: (count, context) =>
        `${count ? "\n  " : ""}]${present(options.after(context))
          .map((m) => `,\n${m}`)
          .join("")}\n}${options.end}`,
    }),
  };
}

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

/** One rendering of a list of records: text before, per record, after. */
export interface FormatRun<T> {
  readonly head: string;
  record(item: T, index: number): string;
  /** Text after the last record; `count` records were written. */
  tail(count: number): string;
}

export interface OutputFormat<T, C> {
  readonly name: string;
  /**
   * Starts one rendering. `records` is the whole list: a format may look over it first (a table's
   * column widths) but writes each record on its own.
   */
  start(records: readonly T[], context: C): FormatRun<T>;
}

export interface FormatRegistry<T, C> {
  readonly names: readonly string[];
  has(name: string): boolean;
  get(name: string): OutputFormat<T, C> | undefined;
}

/** A registry of a command's formats, in the order given (the first is listed first in help). */
export function defineFormats<T, C>(formats: readonly OutputFormat<T, C>[]): FormatRegistry<T, C> {
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

/** Writes `records` through `format` into `sink`, record by record (the sink is not closed). */
export async function writeRecords<T, C>(
  format: OutputFormat<T, C>,
  records: readonly T[],
  context: C,
  sink: TextSink,
): Promise<void> {
  const run = format.start(records, context);
  await sink.write(run.head);
  for (let i = 0; i < records.length; i++) {
    await sink.write(run.record(records[i] as T, i));
  }
  await sink.write(run.tail(records.length));
}

/** The whole rendering as one string (same bytes as `writeRecords`). */
export function renderRecords<T, C>(
  format: OutputFormat<T, C>,
  records: readonly T[],
  context: C,
): string {
  const run = format.start(records, context);
  const parts = [run.head];
  for (let i = 0; i < records.length; i++) parts.push(run.record(records[i] as T, i));
  parts.push(run.tail(records.length));
  return parts.join("");
}

/**
 * `safeJsonStringify(document, 2)` of an object whose member `arrayKey` is a list written one
 * element at a time: `members` in document order, the array among them as `undefined`.
 * Each element is indented as `JSON.stringify` would indent it at that depth.
 */
export function jsonDocumentFormat<T, C>(options: {
  readonly name: string;
  readonly members: (context: C) => readonly (readonly [string, unknown])[];
  readonly arrayKey: string;
  readonly element: (item: T, context: C) => unknown;
  /** Text after the closing brace. */
  readonly end: string;
}): OutputFormat<T, C> {
  const member = (key: string, value: unknown): string =>
    `  ${JSON.stringify(key)}: ${safeJsonStringify(value, 2).replaceAll("\n", "\n  ")}`;
  return {
    name: options.name,
    start(_records, context) {
      const members = options
        .members(context)
        .filter(([k, v]) => k === options.arrayKey || v !== undefined);
      const at = members.findIndex(([k]) => k === options.arrayKey);
      const before = members.slice(0, at).map(([k, v]) => member(k, v));
      const after = members.slice(at + 1).map(([k, v]) => member(k, v));
      const head = `{\n${before.map((m) => `${m},\n`).join("")}  ${JSON.stringify(options.arrayKey)}: [`;
      const rest = after.map((m) => `,\n${m}`).join("");
      return {
        head,
        record: (item, index) =>
          `${index ? "," : ""}\n    ${safeJsonStringify(options.element(item, context), 2).replaceAll("\n", "\n    ")}`,
        tail: (count) => `${count ? "\n  " : ""}]${rest}\n}${options.end}`,
      };
    },
  };
}

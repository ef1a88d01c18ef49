/**
 * Plumbing between async byte iterables and push-style decoders (zlib, tar-stream).
 *
 * Byte sources in the input layer *lend* their chunks: a chunk is only valid until the next one is
 * requested (the file reader reuses its buffers). Anything that keeps bytes past that point copies
 * them; `feed` does so for the decoders it drives.
 */

/** The part of a Node or streamx writable stream that `feed` uses. */
export interface WritableLike {
  write(chunk: Buffer): boolean;
  end(): unknown;
  destroy(error?: Error): unknown;
  once(
    event: "drain" | "close" | "error" | "finish",
    listener: (...args: unknown[]) => void,
  ): unknown;
  removeListener(event: string, listener: (...args: unknown[]) => void): unknown;
  readonly destroyed: boolean;
}

/**
 * Writes every chunk of `source` (copied) into `sink`, honouring backpressure, then ends it. Once
 * the sink has failed or been destroyed, the rest of the source is still read and dropped: the
 * outer file is always read to its end (its hash covers every byte) and an archive always gets
 * past a member it gave up on.
 */
export async function feed(source: AsyncIterable<Buffer>, sink: WritableLike): Promise<void> {
  let open = true;
  const stop = (): void => {
    open = false;
  };
  sink.once("error", stop);
  sink.once("close", stop);
  try {
    for await (const chunk of source) {
      if (!open || sink.destroyed || chunk.length === 0) continue;
      if (!sink.write(copyOf(chunk))) await drained(sink);
    }
    if (open && !sink.destroyed) sink.end();
  } finally {
    sink.removeListener("error", stop);
    sink.removeListener("close", stop);
  }
}

function drained(sink: WritableLike): Promise<void> {
  return new Promise((resolve) => {
    const done = (): void => {
      sink.removeListener("drain", done);
      sink.removeListener("close", done);
      sink.removeListener("error", done);
      resolve();
    };
    sink.once("drain", done);
    sink.once("close", done);
    sink.once("error", done);
  });
}

/** Reads an async iterable to its end, dropping the bytes. */
export async function drain(source: AsyncIterable<Buffer>): Promise<void> {
  for await (const chunk of source) void chunk;
}

/**
 * Reads `source` until `bytes` are buffered or it ends. Returns the head (a copy of at most
 * `bytes` bytes) and an iterable that yields the whole input again, head included, then the rest.
 * The last chunk read is replayed as it is, not copied: it stays valid because no other chunk is
 * requested before it is replayed. Earlier chunks (when the head spans several) are copied.
 */
export async function peekHead(
  source: AsyncIterable<Buffer>,
  bytes: number,
): Promise<{ head: Buffer; complete: boolean; all: AsyncIterable<Buffer> }> {
  const iterator = source[Symbol.asyncIterator]();
  const held: Buffer[] = [];
  let size = 0;
  let complete = false;
  for (;;) {
    const next = await iterator.next();
    if (next.done) {
      complete = true;
      break;
    }
    if (next.value.length === 0) continue;
    held.push(next.value);
    size += next.value.length;
    if (size >= bytes) break;
    // another chunk will be requested, which ends the loan of this one
    held[held.length - 1] = copyOf(next.value);
  }
  const first = held.length === 1 ? held[0] : undefined;
  const head = first
    ? copyOf(first.subarray(0, Math.min(bytes, first.length)))
    : Buffer.concat(held, size).subarray(0, Math.min(bytes, size));
  async function* all(): AsyncGenerator<Buffer> {
    for (const chunk of held) yield chunk;
    held.length = 0;
    if (complete) return;
    for (;;) {
      const next = await iterator.next();
      if (next.done) return;
      yield next.value;
    }
  }
  return { head, complete, all: all() };
}

/** A copy of lent bytes (not zero-filled first, unlike `Buffer.from`). */
export function copyOf(chunk: Buffer): Buffer {
  const copy = Buffer.allocUnsafe(chunk.length);
  chunk.copy(copy);
  return copy;
}

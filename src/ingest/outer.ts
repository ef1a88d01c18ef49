/**
 * Reading an outer input (a file or standard input) as lent chunks, with its SHA-256 computed in
 * the same pass.
 *
 * Regular files are read in large reads into a few reused buffers (a fresh buffer per read costs
 * page faults that show at gigabyte sizes), one read ahead of the consumer, so the next chunk
 * arrives while this one is scanned. Chunks are lent: valid until the next chunk is requested;
 * whoever keeps bytes copies them. For large files the hash runs on a worker thread: SHA-256
 * costs about as much CPU as the whole scan, and on a second core it is free. docs/DESIGN.md has
 * the numbers.
 */
import { createHash, type Hash } from "node:crypto";
import { createReadStream, promises as fs } from "node:fs";
import { Worker } from "node:worker_threads";
import { GuestOpsError } from "../shared/errors.js";
import type { SourceEntry } from "./sources.js";
import { inputError } from "./sources.js";

/** Bytes per read (few, large reads: each asynchronous read costs a thread-pool round trip). */
export const READ_BYTES = 4 * 1024 * 1024;
/** Files at least this large are hashed on a worker thread. */
export const WORKER_HASH_MIN_BYTES = 64 * 1024 * 1024;
/** Buffers circulating between reader and hash worker (how far the hash may lag behind). */
const POOL_BUFFERS = 8;

export interface OuterInput {
  /** The input's bytes as lent chunks (see the module comment). Throws only for I/O errors. */
  readonly chunks: AsyncIterable<Buffer>;
  /** Bytes read so far. */
  readonly bytesRead: () => number;
  /** SHA-256 (hex) of every byte read; call after `chunks` is exhausted. */
  readonly digest: () => Promise<string>;
}

/** Owns the hash worker of a run (started on first use); `close` when the run ends. */
export class HashService {
  private worker: HashWorker | undefined;
  /** Read buffers shared by the inputs hashed inline (one file after another). */
  private readonly free: Buffer[] = [];

  /** A hasher for one input; `large` inputs use the worker. */
  hasher(large: boolean): Hasher {
    if (!large) return inlineHasher(this.free);
    this.worker ??= new HashWorker();
    return this.worker.hasher(this.free);
  }

  async close(): Promise<void> {
    const w = this.worker;
    this.worker = undefined;
    if (w) await w.close();
  }
}

/** Opens an input named by `entry`. `onBytes` is told how many bytes each read brought. */
export function openOuter(
  entry: SourceEntry,
  stdin: () => NodeJS.ReadableStream,
  hashes: HashService,
  onBytes: (n: number) => void,
): OuterInput {
  let read = 0;
  const count = (n: number): void => {
    read += n;
    onBytes(n);
  };
  if (entry.kind === "stdin" || entry.size === undefined || !entry.absolute) {
    const hasher = hashes.hasher(false);
    const open = (): NodeJS.ReadableStream =>
      entry.kind === "stdin" || !entry.absolute
        ? stdin()
        : createReadStream(entry.absolute, { highWaterMark: READ_BYTES });
    return {
      chunks: streamChunks(open, entry.path, hasher, count),
      bytesRead: () => read,
      digest: () => hasher.digest(),
    };
  }
  const hasher = hashes.hasher(entry.size >= WORKER_HASH_MIN_BYTES);
  return {
    chunks: fileChunks(entry.absolute, entry.path, hasher, count),
    bytesRead: () => read,
    digest: () => hasher.digest(),
  };
}

async function* streamChunks(
  open: () => NodeJS.ReadableStream,
  shown: string,
  hasher: Hasher,
  count: (n: number) => void,
): AsyncGenerator<Buffer> {
  try {
    for await (const chunk of open() as AsyncIterable<Buffer | string>) {
      const buf = typeof chunk === "string" ? Buffer.from(chunk) : chunk;
      hasher.update(buf);
      count(buf.length);
      yield buf;
    }
  } catch (cause) {
    throw inputError(shown, cause);
  }
}

async function* fileChunks(
  absolute: string,
  shown: string,
  hasher: Hasher,
  count: (n: number) => void,
): AsyncGenerator<Buffer> {
  let handle: fs.FileHandle;
  try {
    handle = await fs.open(absolute, "r");
  } catch (cause) {
    throw inputError(shown, cause);
  }
  const h = handle;
  // One read ahead: the next chunk is read (on the thread pool) while this one is scanned. The
  // read must be issued synchronously: an `await` first would only issue it after the consumer
  // is done with the current chunk.
  const start = (target: Buffer): Promise<Buffer> =>
    h.read(target, 0, target.length, null).then(
      ({ bytesRead }) => target.subarray(0, bytesRead),
      (cause: unknown) => {
        hasher.discard(target);
        throw inputError(shown, cause);
      },
    );
  const readInto = (): Promise<Buffer> => {
    const target = hasher.acquire();
    return target instanceof Promise ? target.then(start) : start(target);
  };
  let pending: Promise<Buffer> | undefined = readInto();
  try {
    for (;;) {
      const chunk: Buffer = await pending;
      pending = undefined;
      if (chunk.length === 0) {
        hasher.discard(chunk);
        return;
      }
      pending = readInto();
      count(chunk.length);
      yield chunk;
      hasher.release(chunk); // the consumer asked for the next chunk: this one is done with
    }
  } finally {
    if (pending) {
      // stopped early: let the read in flight finish before its buffer goes back
      await pending.then(
        (c) => hasher.discard(c),
        () => undefined,
      );
    }
    await h.close();
  }
}

/**
 * Hashes the chunks of one input, in order, and hands out the buffers to read them into: a buffer
 * is acquired, read into, lent to the consumer, then released (hashed) or discarded (not read).
 */
export interface Hasher {
  readonly acquire: () => Buffer | Promise<Buffer>;
  /** Hashes a chunk (a view from the start of an acquired buffer); the buffer is then reused. */
  readonly release: (chunk: Buffer) => void;
  /** Gives back an acquired buffer (or a view from its start) without hashing it. */
  readonly discard: (chunk: Buffer) => void;
  /** Hashes a chunk that lives elsewhere (streams). */
  readonly update: (chunk: Buffer) => void;
  readonly digest: () => Promise<string>;
}

/** Buffers kept for reuse between inputs (each is READ_BYTES). */
const MAX_FREE = 4;

function inlineHasher(free: Buffer[]): Hasher {
  const hash: Hash = createHash("sha256");
  const give = (chunk: Buffer): void => {
    if (free.length < MAX_FREE) free.push(Buffer.from(chunk.buffer, chunk.byteOffset, READ_BYTES));
  };
  return {
    acquire: () => free.pop() ?? Buffer.allocUnsafeSlow(READ_BYTES),
    release: (chunk) => {
      hash.update(chunk);
      give(chunk);
    },
    discard: give,
    update: (chunk) => void hash.update(chunk),
    digest: () => Promise.resolve(hash.digest("hex")),
  };
}

/**
 * The worker hashes chunks in buffers passed back and forth by transfer (no copy, no allocation:
 * a small pool circulates). Shared memory would avoid the messages, but V8 copies out of a
 * SharedArrayBuffer byte by byte (15 times slower than out of a plain buffer), which costs more
 * than the hash it saves.
 */
const WORKER_SOURCE = `
const { parentPort } = require("node:worker_threads");
const { createHash } = require("node:crypto");
let hash = createHash("sha256");
parentPort.on("message", (m) => {
  if (m.type === "chunk") {
    hash.update(new Uint8Array(m.buffer, 0, m.length));
    parentPort.postMessage({ type: "back", buffer: m.buffer }, [m.buffer]);
  } else if (m.type === "digest") {
    parentPort.postMessage({ type: "digest", id: m.id, hex: hash.digest("hex") });
    hash = createHash("sha256");
  }
});
`;

type WorkerReply =
  | { readonly type: "back"; readonly buffer: ArrayBuffer }
  | { readonly type: "digest"; readonly id: number; readonly hex: string };

class HashWorker {
  private readonly worker: Worker;
  private readonly pool: ArrayBuffer[] = [];
  private readonly bufferWaiters: ((buffer: ArrayBuffer) => void)[] = [];
  private readonly digestWaiters = new Map<number, (hex: string) => void>();
  private failure: Error | undefined;
  private nextId = 0;
  private busy = false;

  constructor() {
    for (let i = 0; i < POOL_BUFFERS; i++) this.pool.push(new ArrayBuffer(READ_BYTES));
    this.worker = new Worker(WORKER_SOURCE, { eval: true });
    this.worker.on("message", (m: WorkerReply) => {
      if (m.type === "back") {
        this.returnBuffer(m.buffer);
      } else {
        this.digestWaiters.get(m.id)?.(m.hex);
        this.digestWaiters.delete(m.id);
      }
    });
    this.worker.on("error", (error) => (this.failure ??= error));
    this.worker.on("exit", () => (this.failure ??= new Error("hash worker exited")));
  }

  private takeBuffer(): ArrayBuffer | Promise<ArrayBuffer> {
    const ready = this.pool.pop();
    if (ready) return ready;
    if (this.failure) throw this.unreadable();
    return new Promise((resolve) => this.bufferWaiters.push(resolve));
  }

  private returnBuffer(buffer: ArrayBuffer): void {
    const waiter = this.bufferWaiters.shift();
    if (waiter) waiter(buffer);
    else this.pool.push(buffer);
  }

  private unreadable(): GuestOpsError {
    return new GuestOpsError("ERR_INPUT_UNREADABLE", "hashing failed", { cause: this.failure });
  }

  /** One input at a time: a worker hash is sequential state. */
  hasher(free: Buffer[]): Hasher {
    if (this.busy) return inlineHasher(free);
    this.busy = true;
    return {
      acquire: () => {
        const buffer = this.takeBuffer();
        return buffer instanceof ArrayBuffer
          ? Buffer.from(buffer)
          : buffer.then((b) => Buffer.from(b));
      },
      release: (chunk) => {
        const buffer = chunk.buffer as ArrayBuffer;
        this.worker.postMessage({ type: "chunk", buffer, length: chunk.length }, [buffer]);
      },
      discard: (chunk) => this.returnBuffer(chunk.buffer as ArrayBuffer),
      update: () => {
        throw new Error("a worker hasher hashes acquired buffers only");
      },
      digest: () => {
        const id = this.nextId++;
        return new Promise<string>((resolve, reject) => {
          if (this.failure) {
            reject(this.unreadable());
            return;
          }
          this.digestWaiters.set(id, (hex) => {
            this.busy = false;
            resolve(hex);
          });
          this.worker.postMessage({ type: "digest", id });
        });
      },
    };
  }

  async close(): Promise<void> {
    await this.worker.terminate();
  }
}

/**
 * Reading an outer input (a file or standard input) as lent chunks, with its SHA-256 computed in
 * the same pass.
 *
 * Regular files are read into reused buffers (fresh 1 MiB buffers per read cost page faults that
 * show up at gigabyte sizes). Chunks are lent: valid until the next chunk is requested; whoever
 * keeps bytes copies them. For large files the hash runs on a worker thread, which reads the same
 * shared buffers (no copy): SHA-256 costs about as much CPU as the whole scan, and on a second
 * core it is free. docs/DESIGN.md has the numbers.
 */
import { createHash, type Hash } from "node:crypto";
import { createReadStream, promises as fs } from "node:fs";
import { Worker } from "node:worker_threads";
import { GuestOpsError } from "../shared/errors.js";
import type { SourceEntry } from "./sources.js";
import { inputError } from "./sources.js";

/** Bytes per read. */
export const READ_BYTES = 1024 * 1024;
/** Files at least this large are hashed on a worker thread. */
export const WORKER_HASH_MIN_BYTES = 64 * 1024 * 1024;
/** Slots of the shared ring (how far the hash may lag behind the scan). */
const RING_SLOTS = 8;

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

  /** A hasher for one input; `large` inputs use the worker. */
  hasher(large: boolean): Hasher {
    if (!large) return inlineHasher();
    this.worker ??= new HashWorker();
    return this.worker.hasher();
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
    const hasher = inlineHasher();
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
  try {
    for (;;) {
      const target = hasher.nextBuffer();
      let n: number;
      try {
        ({ bytesRead: n } = await handle.read(target, 0, target.length, null));
      } catch (cause) {
        throw inputError(shown, cause);
      }
      if (n === 0) return;
      const chunk = target.subarray(0, n);
      hasher.update(chunk);
      count(n);
      yield chunk;
    }
  } finally {
    await handle.close();
  }
}

/** Hashes the chunks of one input, and hands out the buffers to read them into. */
export interface Hasher {
  /** A buffer to read the next chunk into (lent, like the chunks). */
  readonly nextBuffer: () => Buffer;
  /** Adds a chunk (for a worker hasher: one returned by `nextBuffer`). */
  readonly update: (chunk: Buffer) => void;
  readonly digest: () => Promise<string>;
}

function inlineHasher(): Hasher {
  const hash: Hash = createHash("sha256");
  let buffer: Buffer | undefined;
  return {
    nextBuffer: () => (buffer ??= Buffer.allocUnsafe(READ_BYTES)),
    update: (chunk) => void hash.update(chunk),
    digest: () => Promise.resolve(hash.digest("hex")),
  };
}

/**
 * The worker: hashes chunks straight out of a shared ring of read buffers. Each chunk is
 * announced with a small message; the worker publishes how many it has hashed in a shared
 * counter, and a slot is refilled only once its previous chunk has been hashed.
 */
const WORKER_SOURCE = `
const { parentPort, workerData } = require("node:worker_threads");
const { createHash } = require("node:crypto");
const ring = workerData.ring;
const done = new Int32Array(workerData.done);
let hash = createHash("sha256");
parentPort.on("message", (m) => {
  if (m.type === "chunk") {
    hash.update(new Uint8Array(ring, m.offset, m.length));
    Atomics.store(done, 0, m.seq + 1);
    Atomics.notify(done, 0);
  } else if (m.type === "digest") {
    parentPort.postMessage({ type: "digest", id: m.id, hex: hash.digest("hex") });
    hash = createHash("sha256");
  }
});
`;

class HashWorker {
  private readonly ring = new SharedArrayBuffer(RING_SLOTS * READ_BYTES);
  private readonly done = new Int32Array(new SharedArrayBuffer(4));
  private readonly worker: Worker;
  private seq = 0; // chunks announced
  private failure: Error | undefined;
  private readonly waiting = new Map<number, (hex: string) => void>();
  private nextId = 0;
  private busy = false;

  constructor() {
    this.worker = new Worker(WORKER_SOURCE, {
      eval: true,
      workerData: { ring: this.ring, done: this.done.buffer },
    });
    this.worker.on("message", (m: { type: string; id: number; hex: string }) => {
      if (m.type !== "digest") return;
      this.waiting.get(m.id)?.(m.hex);
      this.waiting.delete(m.id);
    });
    this.worker.on("error", (error) => (this.failure = error));
    this.worker.on("exit", () => (this.failure ??= new Error("hash worker exited")));
  }

  /** One input at a time: a worker hash is sequential state. */
  hasher(): Hasher {
    if (this.busy) return inlineHasher();
    this.busy = true;
    let slot = 0;
    return {
      nextBuffer: () => {
        // the slot's previous chunk (announced RING_SLOTS chunks ago) must be hashed
        this.waitFor(this.seq - RING_SLOTS + 1);
        slot = this.seq % RING_SLOTS;
        return Buffer.from(this.ring, slot * READ_BYTES, READ_BYTES);
      },
      update: (chunk) => {
        this.worker.postMessage({
          type: "chunk",
          offset: slot * READ_BYTES,
          length: chunk.length,
          seq: this.seq,
        });
        this.seq++;
      },
      digest: () => {
        const id = this.nextId++;
        return new Promise<string>((resolve, reject) => {
          if (this.failure) {
            reject(this.failure);
            return;
          }
          this.waiting.set(id, (hex) => {
            this.busy = false;
            resolve(hex);
          });
          this.worker.postMessage({ type: "digest", id });
        });
      },
    };
  }

  private waitFor(count: number): void {
    while (Atomics.load(this.done, 0) < count) {
      if (this.failure) {
        throw new GuestOpsError("ERR_INPUT_UNREADABLE", "hashing failed", { cause: this.failure });
      }
      Atomics.wait(this.done, 0, Atomics.load(this.done, 0), 100);
    }
  }

  async close(): Promise<void> {
    await this.worker.terminate();
  }
}

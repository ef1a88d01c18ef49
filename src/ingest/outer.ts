/**
 * Reading an outer input (a file or standard input) as lent chunks, with its SHA-256 computed in
 * the same pass.
 *
 * Regular files are read in large reads into the slots of one shared memory per run (the read
 * arena), one read ahead of the consumer, so the next chunk arrives while this one is scanned.
 * The arena is also where the marker scanner lives (lines.ts, prefilter.ts): a chunk is scanned
 * where it was read, never copied, and the hash worker reads the same bytes from the same memory
 * (a message per chunk names the slot). Chunks are lent: valid until the next chunk is requested;
 * whoever keeps bytes copies them. For large files the hash runs on a worker thread: SHA-256
 * costs about as much CPU as the whole scan, and on a second core it is free. docs/DESIGN.md has
 * the numbers.
 */
import { createHash, type Hash } from "node:crypto";
import { createReadStream, promises as fs } from "node:fs";
import { Worker } from "node:worker_threads";
import { GuestOpsError } from "../shared/errors.js";
import { CHUNK_BYTES, MAX_LINE_BYTES, type InPlaceMemory } from "./lines.js";
import { createScanMemory, SLACK } from "./prefilter.js";
import type { SourceEntry } from "./sources.js";
import { inputError } from "./sources.js";

/** Bytes per read (few, large reads: each asynchronous read costs a thread-pool round trip). */
export const READ_BYTES = 4 * 1024 * 1024;
/** Files at least this large are hashed on a worker thread. */
export const WORKER_HASH_MIN_BYTES = 64 * 1024 * 1024;
/** Read slots in the arena (how far the hash may lag behind the scan). */
const SLOTS = 8;

export interface OuterInput {
  /** The input's bytes as lent chunks (see the module comment). Throws only for I/O errors. */
  readonly chunks: AsyncIterable<Buffer>;
  /** Bytes read so far. */
  readonly bytesRead: () => number;
  /** SHA-256 (hex) of every byte read; call after `chunks` is exhausted. */
  readonly digest: () => Promise<string>;
}

/**
 * The read arena: SLOTS slots, each a carry gap of MAX_LINE_BYTES (where the line splitter puts
 * the previous chunk's unfinished line, so that a chunk is scanned in place) then READ_BYTES read
 * into. Placed in a scanner's shared memory when WebAssembly is there, else a plain shared buffer.
 */
class ReadArena {
  readonly buffer: SharedArrayBuffer;
  /** The arena as scanner memory (undefined without WebAssembly: chunks are then copied). */
  readonly inPlace: InPlaceMemory | undefined;
  private readonly free: number[] = [];
  private readonly waiters: ((offset: number) => void)[] = [];
  private readonly first: number;
  private readonly stride = align64(MAX_LINE_BYTES + READ_BYTES + SLACK);
  private claimed = false;

  constructor() {
    const scan = createScanMemory(
      CHUNK_BYTES + MAX_LINE_BYTES,
      SLOTS * this.stride,
      MAX_LINE_BYTES + READ_BYTES,
    );
    this.first = scan ? scan.layout.reservedAt : 0;
    this.buffer = scan?.buffer ?? new SharedArrayBuffer(SLOTS * this.stride);
    for (let i = SLOTS - 1; i >= 0; i--)
      this.free.push(this.first + i * this.stride + MAX_LINE_BYTES);
    this.inPlace = scan && {
      ...scan,
      claim: () => !this.claimed && (this.claimed = true),
      free: () => void (this.claimed = false),
      carrySpace: (offset) => this.carrySpace(offset),
    };
  }

  /** A free slot's read area (READ_BYTES), when one is free. */
  acquire(): Buffer | Promise<Buffer> {
    const at = this.free.pop();
    if (at !== undefined) return Buffer.from(this.buffer, at, READ_BYTES);
    return new Promise((resolve) =>
      this.waiters.push((offset) => resolve(Buffer.from(this.buffer, offset, READ_BYTES))),
    );
  }

  /** Gives back the slot of a chunk (a view from the start of an acquired read area). */
  give(offset: number): void {
    const waiter = this.waiters.shift();
    if (waiter) waiter(offset);
    else this.free.push(offset);
  }

  private carrySpace(offset: number): number {
    const rel = offset - this.first;
    if (rel < 0 || rel >= SLOTS * this.stride) return -1;
    const inSlot = rel % this.stride;
    if (inSlot < MAX_LINE_BYTES || inSlot > MAX_LINE_BYTES + READ_BYTES) return -1;
    return inSlot === MAX_LINE_BYTES ? MAX_LINE_BYTES : 0;
  }
}

const align64 = (n: number): number => Math.ceil(n / 64) * 64;

/** Owns the read arena and the hash worker of a run (started on first use); `close` at the end. */
export class HashService {
  private worker: HashWorker | undefined;
  private arenaValue: ReadArena | undefined;

  private get arena(): ReadArena {
    return (this.arenaValue ??= new ReadArena());
  }

  /** Starts the hash worker now, for a large input to come. */
  prepare(): void {
    this.worker ??= new HashWorker(this.arena);
  }

  /** A hasher for one input; `large` inputs use the worker. */
  hasher(large: boolean): Hasher {
    if (!large) return inlineHasher(this.arena);
    return (this.worker ??= new HashWorker(this.arena)).hasher();
  }

  /** The memory file chunks are read into, for the line splitter to scan them in place. */
  inPlace(): InPlaceMemory | undefined {
    return this.arenaValue?.inPlace;
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

/** Bytes per read of a lane when inputs are read side by side (interleave.ts). */
export const LANE_READ_BYTES = 256 * 1024;
/**
 * Bytes per turn of a lane: a read is handed on in slices this large, so that lanes stay close
 * in stream time (8 KiB of a sparse hostd.log can span hours) at the cost of a turn per slice.
 */
export const LANE_SLICE_BYTES = 8 * 1024;

/** SHA-256 (hex) of a file's first `size` bytes, streamed. */
export async function sha256File(entry: SourceEntry): Promise<string> {
  const hash = createHash("sha256");
  if (!entry.absolute || entry.size === undefined) throw new RangeError("not a regular file");
  if (entry.size === 0) return hash.digest("hex");
  try {
    const stream = createReadStream(entry.absolute, {
      highWaterMark: READ_BYTES,
      start: 0,
      end: entry.size - 1,
    });
    for await (const chunk of stream as AsyncIterable<Buffer>) hash.update(chunk);
  } catch (cause) {
    throw inputError(entry.path, cause);
  }
  return hash.digest("hex");
}

/**
 * Opens a regular file as one lane of a side-by-side read: small reads of its first
 * `entry.size` bytes (the size it had when listed, so that its hash, taken first by
 * `sha256File`, names exactly the bytes read), outside the read arena.
 */
export function openLane(
  entry: SourceEntry,
  sha256: string,
  onBytes: (n: number) => void,
): OuterInput {
  let read = 0;
  const { absolute, size } = entry;
  if (absolute === undefined || size === undefined) throw new RangeError("not a regular file");
  return {
    chunks: laneChunks(entry.path, absolute, size, (n) => {
      read += n;
      onBytes(n);
    }),
    bytesRead: () => read,
    digest: () => Promise.resolve(sha256),
  };
}

async function* laneChunks(
  shown: string,
  absolute: string,
  size: number,
  count: (n: number) => void,
): AsyncGenerator<Buffer> {
  if (size === 0) return;
  try {
    const stream = createReadStream(absolute, {
      highWaterMark: LANE_READ_BYTES,
      start: 0,
      end: size - 1,
    });
    for await (const chunk of stream as AsyncIterable<Buffer>) {
      for (let at = 0; at < chunk.length; at += LANE_SLICE_BYTES) {
        const slice = chunk.subarray(at, Math.min(chunk.length, at + LANE_SLICE_BYTES));
        count(slice.length);
        yield slice;
      }
    }
  } catch (cause) {
    throw inputError(shown, cause);
  }
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

function inlineHasher(arena: ReadArena): Hasher {
  const hash: Hash = createHash("sha256");
  return {
    acquire: () => arena.acquire(),
    release: (chunk) => {
      hash.update(chunk);
      arena.give(chunk.byteOffset);
    },
    discard: (chunk) => arena.give(chunk.byteOffset),
    update: (chunk) => void hash.update(chunk),
    digest: () => Promise.resolve(hash.digest("hex")),
  };
}

/**
 * The worker hashes chunks where they lie in the arena (its shared memory): a message names the
 * slot and length, the reply gives the slot back. Nothing is copied or transferred.
 */
const WORKER_SOURCE = `
const { parentPort, workerData } = require("node:worker_threads");
const { createHash } = require("node:crypto");
const memory = workerData.buffer;
let hash = createHash("sha256");
parentPort.on("message", (m) => {
  if (m.type === "chunk") {
    hash.update(new Uint8Array(memory, m.offset, m.length));
    parentPort.postMessage({ type: "back", offset: m.offset });
  } else if (m.type === "digest") {
    parentPort.postMessage({ type: "digest", id: m.id, hex: hash.digest("hex") });
    hash = createHash("sha256");
  }
});
`;

type WorkerReply =
  | { readonly type: "back"; readonly offset: number }
  | { readonly type: "digest"; readonly id: number; readonly hex: string };

class HashWorker {
  private readonly worker: Worker;
  private readonly digestWaiters = new Map<number, (hex: string) => void>();
  private failure: Error | undefined;
  private nextId = 0;
  private busy = false;
  /** Slots sent to the worker and not yet given back. */
  private readonly inFlight = new Set<number>();

  constructor(private readonly arena: ReadArena) {
    this.worker = new Worker(WORKER_SOURCE, { eval: true, workerData: { buffer: arena.buffer } });
    this.worker.on("message", (m: WorkerReply) => {
      if (m.type === "back") {
        this.inFlight.delete(m.offset);
        arena.give(m.offset);
      } else {
        this.digestWaiters.get(m.id)?.(m.hex);
        this.digestWaiters.delete(m.id);
      }
    });
    this.worker.on("error", (error) => this.fail(error));
    this.worker.on("exit", () => this.fail(new Error("hash worker exited")));
  }

  /** The worker is gone: its slots come back (a reader waiting for one must not hang). */
  private fail(error: Error): void {
    this.failure ??= error;
    for (const offset of this.inFlight) this.arena.give(offset);
    this.inFlight.clear();
  }

  private unreadable(): GuestOpsError {
    return new GuestOpsError("ERR_INPUT_UNREADABLE", "hashing failed", { cause: this.failure });
  }

  /** One input at a time: a worker hash is sequential state. */
  hasher(): Hasher {
    if (this.busy) return inlineHasher(this.arena);
    this.busy = true;
    return {
      acquire: () => {
        if (this.failure) throw this.unreadable();
        return this.arena.acquire();
      },
      release: (chunk) => {
        if (this.failure) {
          this.arena.give(chunk.byteOffset);
          return;
        }
        this.inFlight.add(chunk.byteOffset);
        this.worker.postMessage({ type: "chunk", offset: chunk.byteOffset, length: chunk.length });
      },
      discard: (chunk) => this.arena.give(chunk.byteOffset),
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

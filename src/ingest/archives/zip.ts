/**
 * Zip members (vCenter "Export System Logs" archives) as byte streams.
 *
 * A zip on disk is read with yauzl through its central directory (the authoritative listing).
 * Where there is no usable central directory (a truncated download, a zip inside a tarball, a zip
 * on standard input) the local headers are read in order instead: stored and deflated members,
 * with sizes in the header or in a data descriptor (the way Java and most streaming writers
 * store them). Either way nothing is written to disk.
 */
import type { Readable } from "node:stream";
import { createInflateRaw } from "node:zlib";
import * as yauzl from "yauzl";
import type { ArchiveMember } from "./tar.js";
import { feed } from "./feed.js";

/**
 * A problem of a zip: `damaged` (truncated, corrupt: reading stops or the member ends early) or
 * `unsupported` (an encrypted member or an unknown compression method: the member is skipped).
 */
export type ZipFailure = (
  message: string,
  member: string | undefined,
  kind?: "damaged" | "unsupported",
) => void;

/** Opens a zip file through its central directory; undefined when it has none (then stream it). */
export async function openZipFile(path: string): Promise<yauzl.ZipFile | undefined> {
  try {
    return await yauzl.openPromise(path, {
      lazyEntries: true,
      decodeStrings: false, // names are labels, never paths: no validation, no rejection
      validateEntrySizes: true,
      autoClose: true,
    });
  } catch {
    return undefined;
  }
}

/** The file members of a zip opened by {@link openZipFile}. Never throws for bad data. */
export async function* zipFileMembers(
  zip: yauzl.ZipFile,
  onFailure: ZipFailure,
): AsyncGenerator<ArchiveMember> {
  try {
    for await (const entry of zip.eachEntry()) {
      const name = decodeName(entry.fileNameRaw, entry.generalPurposeBitFlag);
      if (name.endsWith("/")) continue;
      if (entry.isEncrypted() || !entry.canDecodeFileData()) {
        onFailure(
          `member ${JSON.stringify(name)} is ${entry.isEncrypted() ? "encrypted" : `compressed with method ${entry.compressionMethod}`}: skipped`,
          name,
          "unsupported",
        );
        continue;
      }
      let stream: Readable;
      try {
        stream = await zip.openReadStreamPromise(entry);
      } catch (error) {
        onFailure(message(error), name);
        continue;
      }
      const mtime = entry.getLastModDate();
      yield {
        name,
        size: entry.uncompressedSize,
        ...(Number.isFinite(mtime.getTime()) ? { mtime: mtime.toISOString() } : {}),
        body: guarded(stream, (error) => onFailure(message(error), name)),
      };
      stream.resume();
    }
  } catch (error) {
    onFailure(message(error), undefined);
  } finally {
    zip.close();
  }
}

async function* guarded(
  stream: Readable,
  onError: (error: unknown) => void,
): AsyncGenerator<Buffer> {
  try {
    for await (const chunk of stream as AsyncIterable<Buffer>) yield chunk;
  } catch (error) {
    onError(error);
  }
}

// --- sequential reading ---------------------------------------------------------------------

const SIG_LOCAL = 0x04034b50;
const SIG_CENTRAL = 0x02014b50;
const SIG_END = 0x06054b50;
const SIG_END64 = 0x06064b50;
const SIG_DESCRIPTOR = 0x08074b50;
const DESCRIPTOR = Buffer.from([0x50, 0x4b, 0x07, 0x08]);

/**
 * The members of a zip read front to back from its local headers. Stops at the central directory,
 * at the end of the data (reported as truncated when it ends inside a member) or at a member it
 * cannot delimit (stored with a data descriptor). Never throws for bad data.
 */
export async function* zipStreamMembers(
  source: AsyncIterable<Buffer>,
  onFailure: ZipFailure,
): AsyncGenerator<ArchiveMember> {
  const reader = new ByteReader(source);
  try {
    for (;;) {
      const sigBytes = await reader.read(4);
      if (!sigBytes) {
        if (reader.consumed > 0) onFailure("zip data ends without a central directory", undefined);
        return;
      }
      const sig = sigBytes.readUInt32LE(0);
      if (sig === SIG_CENTRAL || sig === SIG_END || sig === SIG_END64) return;
      if (sig !== SIG_LOCAL) {
        onFailure(`unexpected bytes at offset ${reader.consumed - 4}: not a zip header`, undefined);
        return;
      }
      const fixed = await reader.read(26);
      if (!fixed) {
        onFailure("zip data ends inside a member header", undefined);
        return;
      }
      const flags = fixed.readUInt16LE(2);
      const method = fixed.readUInt16LE(4);
      const dosTime = fixed.readUInt16LE(6);
      const dosDate = fixed.readUInt16LE(8);
      let compressedSize = fixed.readUInt32LE(14);
      let size = fixed.readUInt32LE(18);
      const nameLength = fixed.readUInt16LE(22);
      const extraLength = fixed.readUInt16LE(24);
      const nameAndExtra = await reader.read(nameLength + extraLength);
      if (!nameAndExtra) {
        onFailure("zip data ends inside a member header", undefined);
        return;
      }
      const name = decodeName(nameAndExtra.subarray(0, nameLength), flags);
      const zip64 = zip64Sizes(nameAndExtra.subarray(nameLength));
      if (zip64 && size === 0xffffffff) size = zip64.size;
      if (zip64 && compressedSize === 0xffffffff) compressedSize = zip64.compressedSize;
      const described = (flags & 0x08) !== 0;
      const encrypted = (flags & 0x01) !== 0;
      if (described && method !== 8) {
        onFailure(
          `member ${JSON.stringify(name)} has no size in its header and is not deflated: cannot read on`,
          name,
        );
        return;
      }
      const raw = described
        ? reader.untilDescriptor()
        : reader.take(compressedSize, () => onFailure("zip data ends inside a member", name));
      if (name.endsWith("/") || encrypted || (method !== 0 && method !== 8)) {
        if (!name.endsWith("/")) {
          onFailure(
            `member ${JSON.stringify(name)} is ${encrypted ? "encrypted" : `compressed with method ${method}`}: skipped`,
            name,
            "unsupported",
          );
        }
        for await (const chunk of raw) void chunk;
      } else {
        let ended = false;
        const body = method === 8 ? inflate(raw, name, onFailure) : raw;
        const mtime = dosDateTime(dosDate, dosTime);
        yield {
          name,
          ...(described ? {} : { size }),
          ...(mtime ? { mtime } : {}),
          body: (async function* () {
            try {
              yield* body;
            } finally {
              ended = true;
            }
          })(),
        };
        if (!ended) for await (const chunk of body) void chunk;
      }
      if (described && !(await reader.skipDescriptor())) {
        onFailure(`member ${JSON.stringify(name)}: data descriptor not found`, name);
        return;
      }
    }
  } finally {
    await reader.drain();
  }
}

async function* inflate(
  raw: AsyncIterable<Buffer>,
  name: string,
  onFailure: ZipFailure,
): AsyncGenerator<Buffer> {
  const z = createInflateRaw({ chunkSize: 256 * 1024 });
  const feeding = feed(raw, z);
  try {
    for await (const chunk of z as AsyncIterable<Buffer>) yield chunk;
  } catch (error) {
    onFailure(
      (error as NodeJS.ErrnoException).code === "Z_BUF_ERROR"
        ? "zip data ends inside a member"
        : message(error),
      name,
    );
  } finally {
    z.destroy();
    await feeding;
  }
}

function zip64Sizes(extra: Buffer): { size: number; compressedSize: number } | undefined {
  let p = 0;
  while (p + 4 <= extra.length) {
    const id = extra.readUInt16LE(p);
    const len = extra.readUInt16LE(p + 2);
    if (id === 0x0001 && len >= 16 && p + 4 + 16 <= extra.length) {
      return {
        size: Number(extra.readBigUInt64LE(p + 4)),
        compressedSize: Number(extra.readBigUInt64LE(p + 12)),
      };
    }
    p += 4 + len;
  }
  return undefined;
}

/** Member names: UTF-8 when flagged (bit 11), else CP437, approximated by Latin-1. */
function decodeName(raw: Buffer, flags: number): string {
  return raw.toString((flags & 0x800) !== 0 ? "utf8" : "latin1");
}

function dosDateTime(date: number, time: number): string | undefined {
  const d = new Date(
    Date.UTC(
      ((date >> 9) & 0x7f) + 1980,
      ((date >> 5) & 0x0f) - 1,
      date & 0x1f,
      (time >> 11) & 0x1f,
      (time >> 5) & 0x3f,
      (time & 0x1f) * 2,
    ),
  );
  return Number.isFinite(d.getTime()) && date !== 0 ? d.toISOString() : undefined;
}

const message = (error: unknown): string =>
  error instanceof Error ? error.message : String(error);

/** Pull-style reading over a lent byte stream (chunks are copied only when kept). */
class ByteReader {
  private readonly iterator: AsyncIterator<Buffer>;
  private pending: Buffer = Buffer.alloc(0);
  private done = false;
  consumed = 0;

  constructor(source: AsyncIterable<Buffer>) {
    this.iterator = source[Symbol.asyncIterator]();
  }

  private async more(): Promise<boolean> {
    if (this.done) return false;
    const next = await this.iterator.next();
    if (next.done) {
      this.done = true;
      return false;
    }
    this.pending =
      this.pending.length === 0
        ? Buffer.from(next.value)
        : Buffer.concat([this.pending, next.value]);
    return true;
  }

  /** Exactly `n` bytes, or undefined when the data ends first. */
  async read(n: number): Promise<Buffer | undefined> {
    while (this.pending.length < n) if (!(await this.more())) return undefined;
    const out = this.pending.subarray(0, n);
    this.pending = this.pending.subarray(n);
    this.consumed += n;
    return out;
  }

  /** The next `n` bytes as a stream; `onShort` when the data ends first. */
  async *take(n: number, onShort: () => void): AsyncGenerator<Buffer> {
    let left = n;
    while (left > 0) {
      if (this.pending.length === 0 && !(await this.more())) {
        onShort();
        return;
      }
      const k = Math.min(left, this.pending.length);
      const out = this.pending.subarray(0, k);
      this.pending = this.pending.subarray(k);
      this.consumed += k;
      left -= k;
      yield out;
    }
  }

  /**
   * Bytes up to the next data descriptor whose compressed-size field matches the bytes before it
   * (the signature alone could occur inside compressed data).
   */
  async *untilDescriptor(): AsyncGenerator<Buffer> {
    let count = 0;
    let from = 0;
    for (;;) {
      for (;;) {
        const p = this.pending.indexOf(DESCRIPTOR, from);
        if (p < 0 || p + 16 > this.pending.length) break;
        const size32 = this.pending.readUInt32LE(p + 8);
        const size64 =
          p + 24 <= this.pending.length ? Number(this.pending.readBigUInt64LE(p + 8)) : -1;
        if (size32 === count + p || size64 === count + p) {
          const out = this.pending.subarray(0, p);
          this.pending = this.pending.subarray(p);
          this.consumed += p;
          if (out.length > 0) yield out;
          return;
        }
        from = p + 1;
      }
      // keep a tail that may hold the start of a descriptor
      const keep = Math.min(this.pending.length, 23);
      const out = this.pending.subarray(0, this.pending.length - keep);
      if (out.length > 0) {
        this.pending = this.pending.subarray(out.length);
        this.consumed += out.length;
        count += out.length;
        yield out;
      }
      from = 0;
      if (!(await this.more())) {
        const rest = this.pending;
        this.pending = Buffer.alloc(0);
        this.consumed += rest.length;
        if (rest.length > 0) yield rest;
        return;
      }
    }
  }

  /** Skips a data descriptor (signature, CRC, sizes of 4 or 8 bytes). */
  async skipDescriptor(): Promise<boolean> {
    const head = await this.read(16);
    if (!head || head.readUInt32LE(0) !== SIG_DESCRIPTOR) return false;
    // A zip64 descriptor has 8-byte sizes: 8 more bytes, unless a header follows already.
    while (this.pending.length < 4 && (await this.more()));
    if (this.pending.length >= 4) {
      const next = this.pending.readUInt32LE(0);
      if (next !== SIG_LOCAL && next !== SIG_CENTRAL && next !== SIG_END) await this.read(8);
    }
    return true;
  }

  async drain(): Promise<void> {
    this.pending = Buffer.alloc(0);
    while (await this.more()) this.pending = Buffer.alloc(0);
  }
}

/**
 * Zip members (vCenter "Export System Logs" archives) as byte streams.
 *
 * A zip on disk is read with yauzl through its central directory (the authoritative listing).
 * Where there is no usable central directory (a truncated download, a zip inside a tarball, a zip
 * on standard input) the local headers are read in order instead: stored and deflated members,
 * with sizes in the header or in a data descriptor (the way Java and most streaming writers
 * store them). Either way nothing is written to disk.
 *
 * Every member read to its end has its CRC-32 checked (zlib.crc32, incremental, in Node since
 * 20.15: no table of our own); yauzl checks sizes only. A member that is not read is never
 * decompressed.
 */
import type { Readable } from "node:stream";
import { crc32, createInflateRaw } from "node:zlib";
import * as yauzl from "yauzl";
import type { ArchiveMember, OnSkipped, SkippedKind } from "./tar.js";
import { feed } from "./feed.js";

/**
 * A problem of a zip: `damaged` (truncated, corrupt: reading stops or the member ends early),
 * `unsupported` (an encrypted member or an unknown compression method: the member is skipped) or
 * `checksum` (a member was read to its end but its CRC-32 does not match: its data is suspect).
 */
export type ZipFailure = (
  message: string,
  member: string | undefined,
  kind?: "damaged" | "unsupported" | "checksum",
) => void;

/**
 * The file members of a zip: through its central directory when `path` (the zip on disk) has a
 * usable one, else from the local headers of `chunks` (the same bytes, front to back). `chunks`
 * is left unread unless the local headers are used. Never throws for bad data.
 *
 * A central directory that cannot be read, whose first member's local header is not where it
 * says, or that lists nothing although data precedes it, is reported and the local headers are
 * read instead. Entries whose byte ranges overlap an earlier entry's (a zip bomb's way to inflate
 * one stored member hundreds of times) are reported and skipped. Every member's CRC-32 is checked.
 */
export async function* zipMembers(
  path: string | undefined,
  chunks: AsyncIterable<Buffer>,
  onFailure: ZipFailure,
  onSkipped: OnSkipped,
): AsyncGenerator<ArchiveMember> {
  const opened = path === undefined ? undefined : await openZipFile(path);
  if (opened && "zip" in opened) {
    const { zip } = opened;
    let unusable: string | undefined;
    for await (const member of zipFileMembers(
      zip,
      onFailure,
      onSkipped,
      (why) => (unusable = why),
    )) {
      yield member;
    }
    if (unusable === undefined) return;
    onFailure(`${unusable}: members read from the local headers instead`, undefined);
  } else if (opened && !NO_DIRECTORY.test(opened.error)) {
    onFailure(
      `central directory unusable (${opened.error}): members read from the local headers instead`,
      undefined,
    );
  }
  yield* zipStreamMembers(chunks, onFailure);
}

/** yauzl's message for a zip without an end-of-central-directory record (truncated, streamed). */
const NO_DIRECTORY = /end of central directory record signature not found/i;

/** Opens a zip file through its central directory (an error message when it has none). */
async function openZipFile(path: string): Promise<{ zip: yauzl.ZipFile } | { error: string }> {
  try {
    const zip = await yauzl.openPromise(path, {
      lazyEntries: true,
      decodeStrings: false, // names are labels, never paths: no validation, no rejection
      validateEntrySizes: true,
      autoClose: true,
    });
    return { zip };
  } catch (error) {
    return { error: message(error) };
  }
}

/**
 * The members the central directory lists. `onUnusable` is called (and nothing is yielded) when
 * the directory fails before its first file member could be located: the caller falls back.
 */
async function* zipFileMembers(
  zip: yauzl.ZipFile,
  onFailure: ZipFailure,
  onSkipped: OnSkipped,
  onUnusable: (why: string) => void,
): AsyncGenerator<ArchiveMember> {
  const extents = new Extents();
  let located = 0; // file members whose local header was found
  try {
    if (zip.entryCount === 0 && zip.fileSize > 22 + zip.comment.length) {
      onUnusable("central directory lists no members although the zip holds data");
      return;
    }
    for await (const entry of zip.eachEntry()) {
      const name = decodeName(entry.fileNameRaw, entry.generalPurposeBitFlag);
      if (name.endsWith("/")) continue;
      let dataStart: number;
      try {
        ({ fileDataStart: dataStart } = await zip.readLocalFileHeaderPromise(entry, {
          minimal: true,
        }));
      } catch (error) {
        if (located === 0) {
          onUnusable(`central directory points to no member (${message(error)})`);
          return;
        }
        onFailure(message(error), name);
        continue;
      }
      located++;
      if (!extents.add(entry.relativeOffsetOfLocalHeader, dataStart + entry.compressedSize)) {
        onFailure(
          `member ${JSON.stringify(name)} overlaps the bytes of another member (a zip bomb's construction): skipped`,
          name,
        );
        continue;
      }
      const special = specialKind(entry);
      if (special) {
        onSkipped(name, special);
        continue;
      }
      if (entry.isEncrypted() || !entry.canDecodeFileData()) {
        onFailure(
          `member ${JSON.stringify(name)} is ${entry.isEncrypted() ? "encrypted" : `compressed with method ${entry.compressionMethod}`}: skipped`,
          name,
          "unsupported",
        );
        continue;
      }
      const mtime = entry.getLastModDate();
      yield {
        name,
        size: entry.uncompressedSize,
        ...(Number.isFinite(mtime.getTime()) ? { mtime: mtime.toISOString() } : {}),
        body: entryBody(zip, entry, name, onFailure),
      };
    }
  } catch (error) {
    if (located === 0) onUnusable(`central directory unreadable (${message(error)})`);
    else onFailure(message(error), undefined);
  } finally {
    zip.close();
  }
}

/** A member's bytes, opened when first read (a skipped member is never decompressed). */
async function* entryBody(
  zip: yauzl.ZipFile,
  entry: yauzl.Entry,
  name: string,
  onFailure: ZipFailure,
): AsyncGenerator<Buffer> {
  let stream: Readable;
  try {
    stream = await zip.openReadStreamPromise(entry);
  } catch (error) {
    onFailure(message(error), name);
    return;
  }
  let crc = 0;
  try {
    for await (const chunk of stream as AsyncIterable<Buffer>) {
      crc = crc32(chunk, crc);
      yield chunk;
    }
  } catch (error) {
    onFailure(message(error), name);
    return;
  } finally {
    stream.destroy();
  }
  checkCrc(entry.crc32, crc, name, onFailure);
}

/** Reports a member whose bytes do not match the CRC-32 its archive stored. */
function checkCrc(stored: number, computed: number, name: string, onFailure: ZipFailure): void {
  if (stored >>> 0 === computed >>> 0) return;
  const hex = (n: number): string => `0x${(n >>> 0).toString(16).padStart(8, "0")}`;
  onFailure(
    `member ${JSON.stringify(name)}: CRC-32 ${hex(computed)} does not match the stored ${hex(stored)}: its data is damaged`,
    name,
    "checksum",
  );
}

/** Unix file types a zip entry may carry in its external attributes (Info-ZIP). */
const UNIX_KINDS: ReadonlyMap<number, SkippedKind> = new Map([
  [0o120000, "symlink"],
  [0o020000, "character-device"],
  [0o060000, "block-device"],
  [0o010000, "fifo"],
]);

/** A zip entry made on Unix that is a link, a device or a FIFO. */
function specialKind(entry: yauzl.Entry): SkippedKind | undefined {
  if (entry.versionMadeBy >> 8 !== 3) return undefined; // not made on Unix
  return UNIX_KINDS.get((entry.externalFileAttributes >>> 16) & 0o170000);
}

/**
 * Byte ranges of the members accepted so far, disjoint and sorted. Central directories list
 * members in file order, so adding is almost always an append; otherwise a binary search.
 */
class Extents {
  private readonly starts: number[] = [];
  private readonly ends: number[] = [];

  /** Adds `[start, end)`; false (and nothing added) when it overlaps a range already added. */
  add(start: number, end: number): boolean {
    const n = this.starts.length;
    if (n === 0 || start >= (this.ends[n - 1] ?? 0)) {
      this.starts.push(start);
      this.ends.push(end);
      return true;
    }
    let lo = 0;
    let hi = n;
    while (lo < hi) {
      const mid = (lo + hi) >>> 1;
      if ((this.starts[mid] ?? 0) < start) lo = mid + 1;
      else hi = mid;
    }
    if (lo > 0 && (this.ends[lo - 1] ?? 0) > start) return false;
    if (lo < n && (this.starts[lo] ?? 0) < end) return false;
    this.starts.splice(lo, 0, start);
    this.ends.splice(lo, 0, end);
    return true;
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
      const headerCrc = fixed.readUInt32LE(10);
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
      let failed = false; // the member was reported cut or corrupt: its CRC is not checked too
      const fail: ZipFailure = (text, member, kind) => {
        failed = true;
        onFailure(text, member, kind);
      };
      const raw = described
        ? reader.untilDescriptor()
        : reader.take(compressedSize, () => fail("zip data ends inside a member", name));
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
        let started = false;
        let ended = false;
        const body = method === 8 ? inflate(raw, name, fail) : raw;
        const mtime = dosDateTime(dosDate, dosTime);
        yield {
          name,
          ...(described ? {} : { size }),
          ...(mtime ? { mtime } : {}),
          body: (async function* () {
            started = true;
            let crc = 0;
            try {
              for await (const chunk of body) {
                crc = crc32(chunk, crc);
                yield chunk;
              }
            } finally {
              ended = true;
            }
            // read to its end: the CRC is in the header, or in the descriptor that follows
            const stored = described ? reader.descriptorCrc() : headerCrc;
            if (!failed && stored !== undefined) checkCrc(stored, crc, name, onFailure);
          })(),
        };
        // a member left unread is skipped undecoded; one read in part is read to its end
        if (!started) for await (const chunk of raw) void chunk;
        else if (!ended) for await (const chunk of body) void chunk;
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

  /** The CRC-32 of the data descriptor the data stopped at, if it is there. */
  descriptorCrc(): number | undefined {
    if (this.pending.length < 8 || this.pending.readUInt32LE(0) !== SIG_DESCRIPTOR)
      return undefined;
    return this.pending.readUInt32LE(4);
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

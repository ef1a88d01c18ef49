/**
 * `readInputs`: every input a user names, through its reader, to canonical records.
 *
 * Paths are expanded (sources.ts), each file or standard input is read once from front to back
 * (its SHA-256 computed on the way, outer.ts), containers are opened by their magic bytes
 * (gzip, tar, zip; nested: a zip of tarballs of gzipped logs), the member filter picks the
 * archive members worth reading (archives/members.ts), and every text input (a file or member)
 * gets its encoding checked, its format detected from its head (detect.ts) and its lines run
 * through the prefilter (lines.ts) into the reader's parser. Records go straight to
 * `hooks.record`: nothing is collected here, so memory does not grow with the input.
 *
 * Bad input never stops the run: a truncated archive, binary data, an unknown format, a line
 * too long or not UTF-8 become counted issues of that input, and the next input is read. Only a
 * path that does not exist or cannot be read, and bad options, are errors (GuestOpsError, exit 2).
 */
import { basename } from "node:path";
import { DateTime } from "luxon";
import type {
  CanonicalRecord,
  FormatName,
  InputSource,
  ReadIssue,
  ReadIssueCode,
} from "../model/record.js";
import { GuestOpsError, isGuestOpsError } from "../shared/errors.js";
import { DEFAULT_ZONE, isValidZone, MAX_OFFSET_MINUTES } from "../shared/zone.js";
import { drain, peekHead } from "./archives/feed.js";
import { gunzip, type GunzipFailure } from "./archives/gzip.js";
import { sniffContainer, type Container } from "./archives/magic.js";
import { hostHintFrom, isRelevantMember } from "./archives/members.js";
import type { ArchiveMember } from "./archives/tar.js";
import { detectFormat, SNIFF_BYTES, SNIFF_LINES } from "./detect.js";
import {
  createLineSplitter,
  decodeLine,
  headLines,
  MAX_LINE_BYTES,
  type InPlaceMemory,
} from "./lines.js";
import { HashService, openOuter, WORKER_HASH_MIN_BYTES } from "./outer.js";
import { readers as registeredReaders } from "./registry.js";
import { expandPaths, type SourceEntry } from "./sources.js";
import { InvalidLines } from "./raw-bytes.js";
import { InputTally, totalsOf, type InputSummary, type ReadSummary } from "./summary.js";
import { detectEncoding, looksBinary, transcodeUtf16 } from "./text.js";
import type { Reader, ReaderContext, ReadOptions } from "./types.js";

type ArchiveFailure = (
  message: string,
  member: string | undefined,
  kind?: "damaged" | "unsupported",
) => void;

export interface ReadInputsOptions {
  /** IANA zone for timestamps without one (RFC 3164). Default `UTC`. Validated. */
  readonly assumeTz?: string;
  /** Force this format for every text input instead of detecting it. Validated. */
  readonly inputFormat?: string;
  /**
   * Reference time (ISO 8601) for the year of year-less timestamps. Default: each input's
   * modification time (an archive member's own, else its archive's), else now.
   */
  readonly referenceTime?: string;
  /** Readers to detect and read with. Default: the registry. */
  readonly readers?: readonly Reader[];
  /** Standard input, for `-`. Default `process.stdin`. */
  readonly stdin?: () => NodeJS.ReadableStream;
  /** Base for relative paths. Default `process.cwd()`. */
  readonly cwd?: string;
  /** Longest line kept whole, in bytes. Default 64 KiB. */
  readonly maxLineBytes?: number;
}

export interface ReadProgress {
  /** Files (and standard input) in the run, and the index of the current one. */
  readonly files: number;
  readonly fileIndex: number;
  /** The input being read: the file's path and, inside an archive, the member. */
  readonly path: string;
  readonly member?: string;
  /** Bytes read from files so far, and their total when every size is known. */
  readonly bytesRead: number;
  readonly totalBytes?: number;
  readonly records: number;
}

export interface ReadHooks {
  /** Every canonical record, as soon as its reader emits it. */
  readonly record: (record: CanonicalRecord) => void;
  /** Called as reading advances (at least every few MiB and at each new input). */
  readonly progress?: (progress: ReadProgress) => void;
  /** Every issue as it is reported (the summary keeps only counts and a few examples). */
  readonly issue?: (issue: ReadIssue) => void;
  /** An input (file, archive or member) is done; its summary is final except for `sha256`. */
  readonly input?: (summary: InputSummary) => void;
}

/** Containers nested deeper than this are reported, not opened (archive bombs). */
const MAX_DEPTH = 8;
/** Bytes between two progress calls. */
const PROGRESS_BYTES = 4 * 1024 * 1024;

/** Where an input sits: enough to name it and to open what it holds. */
interface Location {
  readonly path: string;
  readonly member: string | undefined;
  /** Last path component, for messages. */
  readonly name: string;
  readonly hostHint: string | undefined;
  readonly mtime: string | undefined;
  readonly containers: readonly string[];
  /** The file on disk, while the bytes are still the file's own (zip needs random access). */
  readonly diskPath: string | undefined;
}

/**
 * Reads every input named by `paths` and streams its records to `hooks.record`.
 *
 * @throws GuestOpsError ERR_INPUT_MISSING / ERR_INPUT_UNREADABLE for a path that does not exist or
 *   cannot be read (before anything is read), ERR_USAGE for a bad option (zone, format, time).
 */
export async function readInputs(
  paths: readonly string[],
  options: ReadInputsOptions,
  hooks: ReadHooks,
): Promise<ReadSummary> {
  const started = Date.now();
  const readers = options.readers ?? registeredReaders;
  const assumeTz = validateZone(options.assumeTz ?? DEFAULT_ZONE);
  const forced = validateFormat(options.inputFormat, readers);
  const referenceTime = validateTime(options.referenceTime);
  const entries = await expandPaths(paths, options.cwd);
  const run = new Run(readers, forced, assumeTz, referenceTime, options, hooks, entries);
  try {
    for (const [index, entry] of entries.entries()) await run.readFile(index, entry);
  } finally {
    await run.close();
  }
  const inputs = run.summaries();
  return {
    inputs,
    totals: totalsOf(inputs, entries.length, run.bytesRead),
    durationMs: Date.now() - started,
  };
}

class Run {
  private readonly hashes = new HashService();
  private readonly tallies: InputTally[] = [];
  private nextId = 0;
  private records = 0;
  bytesRead = 0;
  private progressAt = 0;
  private fileIndex = 0;
  private current: { path: string; member: string | undefined } = { path: "", member: undefined };
  private readonly totalBytes: number | undefined;
  private readonly maxLine: number;

  constructor(
    private readonly readers: readonly Reader[],
    private readonly forced: Reader | undefined,
    private readonly assumeTz: string,
    private readonly referenceTime: string | undefined,
    private readonly options: ReadInputsOptions,
    private readonly hooks: ReadHooks,
    private readonly entries: readonly SourceEntry[],
  ) {
    this.totalBytes = entries.every((e) => e.size !== undefined)
      ? entries.reduce((n, e) => n + (e.size ?? 0), 0)
      : undefined;
    this.maxLine = options.maxLineBytes ?? MAX_LINE_BYTES;
    // The hash worker boots (~70 ms) while the first input is opened and sniffed, not after.
    if (entries.some((e) => e.kind === "file" && (e.size ?? 0) >= WORKER_HASH_MIN_BYTES)) {
      this.hashes.prepare();
    }
  }

  summaries(): InputSummary[] {
    return this.tallies.map((t) => t.summary());
  }

  async close(): Promise<void> {
    await this.hashes.close();
  }

  async readFile(index: number, entry: SourceEntry): Promise<void> {
    this.fileIndex = index;
    const first = this.tallies.length;
    const outer = openOuter(entry, this.options.stdin ?? (() => process.stdin), this.hashes, (n) =>
      this.advance(n),
    );
    const loc: Location = {
      path: entry.path,
      member: undefined,
      name: entry.kind === "stdin" ? "-" : basename(entry.path),
      hostHint: hostHintFrom(entry.path),
      mtime: entry.mtime,
      containers: [],
      diskPath: entry.kind === "file" && entry.size !== undefined ? entry.absolute : undefined,
    };
    await this.readNode(outer.chunks, loc, 0);
    const sha256 = await outer.digest();
    for (const tally of this.tallies.slice(first)) {
      tally.source.sha256 = sha256;
      this.hooks.input?.(tally.summary());
    }
  }

  private advance(n: number): void {
    this.bytesRead += n;
    if (this.bytesRead - this.progressAt >= PROGRESS_BYTES) this.progress();
  }

  private progress(): void {
    this.progressAt = this.bytesRead;
    this.hooks.progress?.({
      files: this.entries.length,
      fileIndex: this.fileIndex,
      path: this.current.path,
      ...(this.current.member !== undefined ? { member: this.current.member } : {}),
      bytesRead: this.bytesRead,
      ...(this.totalBytes !== undefined ? { totalBytes: this.totalBytes } : {}),
      records: this.records,
    });
  }

  private tally(loc: Location): InputTally {
    const source: InputSource = {
      id: this.nextId++,
      path: loc.path,
      ...(loc.member !== undefined ? { member: loc.member } : {}),
      sha256: "",
      ...(loc.hostHint !== undefined ? { hostHint: loc.hostHint } : {}),
    };
    const tally = new InputTally(source, loc.containers, this.hooks.issue);
    this.tallies.push(tally);
    this.current = { path: loc.path, member: loc.member };
    this.progress();
    return tally;
  }

  /** Reads one byte stream: a container is opened, anything else is read as text. */
  private async readNode(
    chunks: AsyncIterable<Buffer>,
    loc: Location,
    depth: number,
  ): Promise<InputTally> {
    const { head, complete, all } = await peekHead(chunks, SNIFF_BYTES);
    const container = head.length > 0 ? sniffContainer(head) : undefined;
    if (container === undefined) return this.readText(head, complete, all, loc);
    if (depth >= MAX_DEPTH) {
      return this.unopened(
        all,
        loc,
        `${container} data nested ${depth} containers deep: not opened`,
      );
    }
    const inner: Location = { ...loc, containers: [...loc.containers, container] };
    switch (container) {
      case "gzip":
        return this.readGzip(all, inner, depth);
      case "tar": {
        // tar-stream and yauzl load on first use: a run over plain logs does not pay for them
        const { tarMembers } = await import("./archives/tar.js");
        return this.readArchive(inner, depth, (onFailure) => tarMembers(all, onFailure));
      }
      case "zip":
        return this.readZip(all, inner, depth);
      case "bzip2":
      case "xz":
      case "zstd":
      case "7z":
      case "rar":
        return this.unopened(
          all,
          loc,
          `${container}-compressed data is not supported: decompress it first`,
        );
    }
  }

  /** A container that is not opened: reported, its bytes counted. */
  private async unopened(
    chunks: AsyncIterable<Buffer>,
    loc: Location,
    message: string,
  ): Promise<InputTally> {
    const tally = this.tally(loc);
    tally.status = "unsupported";
    tally.issue("unknown_format", message);
    tally.bytes = await countBytes(chunks);
    return tally;
  }

  private async readGzip(
    chunks: AsyncIterable<Buffer>,
    loc: Location,
    depth: number,
  ): Promise<InputTally> {
    const state: { failure?: GunzipFailure } = {};
    const inner = gunzip(chunks, (f) => (state.failure = f));
    const stem = loc.name.replace(/\.tgz$/i, ".tar").replace(/\.gz$/i, "");
    const tally = await this.readNode(
      inner,
      { ...loc, name: stem, diskPath: undefined },
      depth + 1,
    );
    const f = state.failure;
    if (f) {
      tally.issue(
        "truncated_input",
        f.kind === "truncated"
          ? `gzip data ends early (after ${f.produced} decompressed bytes): what came before was read`
          : `gzip data is corrupt after ${f.produced} decompressed bytes (${f.message}): what came before was read`,
      );
    }
    return tally;
  }

  private async readZip(
    chunks: AsyncIterable<Buffer>,
    loc: Location,
    depth: number,
  ): Promise<InputTally> {
    const { openZipFile, zipFileMembers, zipStreamMembers } = await import("./archives/zip.js");
    const zip = loc.diskPath !== undefined ? await openZipFile(loc.diskPath) : undefined;
    if (!zip) return this.readArchive(loc, depth, (f) => zipStreamMembers(chunks, f));
    // Through the central directory; the file's bytes are then read once more, for the hash.
    const tally = await this.readArchive(loc, depth, (f) => zipFileMembers(zip, f));
    tally.bytes = await countBytes(chunks);
    return tally;
  }

  /**
   * Lists an archive's members and reads the relevant ones. A failure of the archive (truncated,
   * damaged) is an issue of the archive and of the member being read when it happened.
   */
  private async readArchive(
    loc: Location,
    depth: number,
    open: (onFailure: ArchiveFailure) => AsyncIterable<ArchiveMember>,
  ): Promise<InputTally> {
    const tally = this.tally(loc);
    tally.status = "archive";
    let reading = false; // a member is being read
    const memberFailures: string[] = [];
    const onFailure: ArchiveFailure = (message, member, kind) => {
      if (kind === "unsupported") {
        // a member that cannot be opened: reported only if it would have been read
        if (member !== undefined && !isRelevantMember(member.replace(/\\/g, "/"))) {
          tally.skippedMember(member);
        } else {
          tally.issue("unknown_format", message);
        }
        return;
      }
      const where = member !== undefined ? ` (in member ${JSON.stringify(member)})` : "";
      tally.issue("truncated_input", `archive ends early or is damaged${where}: ${message}`);
      if (reading && member !== undefined) memberFailures.push(message);
    };
    for await (const member of open(onFailure)) {
      const name = member.name.replace(/\\/g, "/");
      if (!isRelevantMember(name)) {
        tally.skippedMember(name);
        await drain(member.body);
        continue;
      }
      tally.membersRead++;
      const child: Location = {
        path: loc.path,
        member: loc.member === undefined ? name : `${loc.member}!${name}`,
        name: name.slice(name.lastIndexOf("/") + 1),
        hostHint: hostHintFrom(name) ?? loc.hostHint,
        mtime: member.mtime ?? loc.mtime,
        containers: loc.containers,
        diskPath: undefined,
      };
      reading = true;
      const memberTally = await this.readNode(member.body, child, depth + 1);
      reading = false;
      for (const message of memberFailures.splice(0)) {
        memberTally.issue("truncated_input", `member cut short: ${message}`);
      }
    }
    this.current = { path: loc.path, member: loc.member };
    return tally;
  }

  /** A text input: encoding, binary check, detection, then the reader. */
  private async readText(
    head0: Buffer,
    complete0: boolean,
    chunks0: AsyncIterable<Buffer>,
    loc: Location,
  ): Promise<InputTally> {
    const tally = this.tally(loc);
    if (head0.length === 0) {
      tally.status = "empty";
      return tally;
    }
    let head = head0;
    let complete = complete0;
    let chunks = chunks0;
    const kind = detectEncoding(head0);
    tally.encoding = kind.encoding;
    if (kind.encoding !== "utf8") {
      const peeked = await peekHead(transcodeUtf16(chunks0, kind.encoding), SNIFF_BYTES);
      ({ head, complete } = peeked);
      chunks = peeked.all;
    }
    if (looksBinary(head)) {
      tally.status = "binary";
      tally.issue("binary_data", "binary data (NUL or control bytes in the first 64 KiB): skipped");
      tally.bytes = await countBytes(chunks);
      return tally;
    }
    const bom = head[0] === 0xef && head[1] === 0xbb && head[2] === 0xbf ? 3 : 0;
    const lines = headLines(head.subarray(bom), SNIFF_LINES, complete, this.maxLine);
    let reader = this.forced;
    if (!reader) {
      const detection = detectFormat(lines, this.readers);
      tally.detection = detection.scores.slice(0, 3);
      reader = detection.reader;
    }
    if (!reader) {
      tally.status = "unknown_format";
      const best = tally.detection?.[0];
      tally.issue(
        "unknown_format",
        `no reader recognised this input${best && best.score > 0 ? ` (best guess ${best.name} at ${best.score.toFixed(2)})` : ""}`,
      );
      tally.unknownExamples = lines
        .map((text, i) => ({ line: i + 1, text }))
        .filter((l) => l.text.trim() !== "")
        .slice(0, 3)
        .map((l) => ({ line: l.line, message: "not recognised", excerpt: l.text }));
      await this.countLines(chunks, tally);
      return tally;
    }
    tally.source.format = reader.name;
    if (reader.shape === "lines") {
      const invalid = new InvalidLines();
      const ctx = this.context(tally, loc, invalid);
      // a file's own bytes (not an archive member's) lie in the read arena: scanned in place
      const inPlace = loc.containers.length === 0 ? this.hashes.inPlace() : undefined;
      const text = { bom, head, inPlace, invalid };
      await this.readLines(reader.markers, reader.open(ctx), chunks, tally, text);
    } else await this.readDocument(reader, chunks, this.context(tally, loc), tally);
    return tally;
  }

  /** `invalid`: lines read as text with U+FFFD, whose bytes records get back (raw-bytes.ts). */
  private context(tally: InputTally, loc: Location, invalid?: InvalidLines): ReaderContext {
    const readOptions: ReadOptions = {
      assumeTz: this.assumeTz,
      ...((this.referenceTime ?? loc.mtime) !== undefined
        ? { referenceTime: this.referenceTime ?? loc.mtime }
        : {}),
    } as ReadOptions;
    return {
      source: tally.source,
      options: readOptions,
      emit: (emitted) => {
        const record = invalid ? invalid.restore(emitted) : emitted;
        tally.record(record);
        this.records++;
        this.hooks.record(record);
      },
      issue: (code: ReadIssueCode, message: string, line?: number, excerpt?: string) =>
        tally.issue(code, message, line, excerpt),
      skip: () => {
        tally.linesSkipped++;
      },
    };
  }

  private async readLines(
    markers: readonly string[],
    parser: { line: (text: string, lineNo: number) => void; end: () => void },
    chunks: AsyncIterable<Buffer>,
    tally: InputTally,
    lineText: {
      bom: number;
      head: Buffer;
      inPlace: InPlaceMemory | undefined;
      invalid: InvalidLines;
    },
  ): Promise<void> {
    const max = this.maxLine;
    const splitter = createLineSplitter(
      {
        markers,
        maxLineBytes: max,
        sample: lineText.head,
        ...(lineText.inPlace ? { inPlace: lineText.inPlace } : {}),
      },
      {
        line: (buf, start, end, lineNo) => {
          const { text, valid } = decodeLine(buf, start, end);
          if (!valid) {
            tally.issue(
              "invalid_utf8",
              "line is not valid UTF-8: read as text with U+FFFD; records keep its bytes (base64 raw)",
              lineNo,
              text,
            );
            lineText.invalid.add(lineNo, text, buf, start, end);
          }
          try {
            parser.line(text, lineNo);
          } catch (error) {
            // A reader that throws on one hostile line must not blind the rest of the run.
            tally.issue("reader_error", readerErrorMessage(error), lineNo, text);
          }
        },
        tooLong: (lineNo) => {
          tally.issue("line_too_long", `line longer than ${max} bytes: cut at ${max}`, lineNo);
        },
      },
    );
    let skip = lineText.bom;
    for await (const chunk of chunks) {
      tally.bytes += chunk.length;
      if (skip > 0) {
        splitter.push(chunk.subarray(skip));
        skip = 0;
      } else {
        splitter.push(chunk);
      }
    }
    splitter.end();
    try {
      parser.end();
    } catch (error) {
      tally.issue("reader_error", readerErrorMessage(error));
    }
    tally.lines = splitter.lines();
    tally.linesPassed = splitter.passed();
  }

  private async readDocument(
    reader: Extract<Reader, { shape: "document" }>,
    chunks: AsyncIterable<Buffer>,
    ctx: ReaderContext,
    tally: InputTally,
  ): Promise<void> {
    let newlines = 0;
    let last = 0x0a;
    const counted = async function* (): AsyncGenerator<Buffer> {
      for await (const chunk of chunks) {
        tally.bytes += chunk.length;
        for (let p = chunk.indexOf(0x0a); p >= 0; p = chunk.indexOf(0x0a, p + 1)) newlines++;
        if (chunk.length > 0) last = chunk[chunk.length - 1] ?? last;
        yield Buffer.from(chunk); // a reader may keep chunks: lent bytes are copied
      }
    };
    const stream = counted();
    try {
      await reader.read(stream, ctx);
    } catch (error) {
      if (isGuestOpsError(error)) throw error;
      // The records read before the failure are kept; the rest of this input is counted, not read.
      tally.issue(
        "reader_error",
        `${readerErrorMessage(error)}; the rest of this input was not read`,
      );
    }
    await drain(stream); // whatever the reader left unread
    tally.lines = newlines + (tally.bytes > 0 && last !== 0x0a ? 1 : 0);
    tally.linesPassed = tally.lines;
  }

  /** An unreadable input is still counted (bytes and lines), cheaply. */
  private async countLines(chunks: AsyncIterable<Buffer>, tally: InputTally): Promise<void> {
    const splitter = createLineSplitter(
      { markers: [], maxLineBytes: this.maxLine },
      { line: () => undefined, tooLong: () => undefined },
    );
    for await (const chunk of chunks) {
      tally.bytes += chunk.length;
      splitter.push(chunk);
    }
    splitter.end();
    tally.lines = splitter.lines();
  }
}

async function countBytes(chunks: AsyncIterable<Buffer>): Promise<number> {
  let n = 0;
  for await (const chunk of chunks) n += chunk.length;
  return n;
}

function validateZone(zone: string): string {
  if (!isValidZone(zone)) {
    throw new GuestOpsError("ERR_USAGE", `unknown time zone ${JSON.stringify(zone)}`, {
      hint: "Use an IANA zone name such as UTC, Europe/Paris or America/New_York.",
    });
  }
  return zone;
}

function validateFormat(name: string | undefined, readers: readonly Reader[]): Reader | undefined {
  if (name === undefined) return undefined;
  const reader = readers.find((r) => r.name === (name as FormatName));
  if (!reader) {
    const known = readers.map((r) => r.name).join(", ");
    throw new GuestOpsError("ERR_USAGE", `unknown input format ${JSON.stringify(name)}`, {
      hint: known ? `Use one of: ${known}.` : "No readers are registered.",
    });
  }
  return reader;
}

function validateTime(time: string | undefined): string | undefined {
  if (time === undefined) return undefined;
  const dt = DateTime.fromISO(time, { zone: "utc" });
  if (
    !dt.isValid ||
    Math.abs(DateTime.fromISO(time, { setZone: true }).offset) > MAX_OFFSET_MINUTES
  ) {
    throw new GuestOpsError("ERR_USAGE", `invalid reference time ${JSON.stringify(time)}`, {
      hint: "Use ISO 8601, for example 2024-06-04T12:00:00Z.",
    });
  }
  return dt.toUTC().toISO() ?? time;
}

export type { Container };

/** A reader's unexpected exception as an issue message (the stack goes nowhere: input is hostile). */
function readerErrorMessage(error: unknown): string {
  const what = error instanceof Error ? `${error.name}: ${error.message}` : String(error);
  return `the reader failed on this line (${what.slice(0, 200)}); the line was skipped`;
}

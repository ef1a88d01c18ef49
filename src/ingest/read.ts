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
import { basename, resolve, sep } from "node:path";
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
import {
  hostFromHostNameFile,
  hostHintFrom,
  hostNameFileRank,
  memberNameSkip,
  namedLikeLog,
} from "./archives/members.js";
import type { ArchiveMember, OnSkipped } from "./archives/tar.js";
import { detectFormat, SNIFF_BYTES, SNIFF_LINES } from "./detect.js";
import {
  createLineSplitter,
  decodeLine,
  headLines,
  MAX_LINE_BYTES,
  type InPlaceMemory,
} from "./lines.js";
import { LineLedger } from "./ledger.js";
import { TimeTurns } from "./interleave.js";
import { HashService, openLane, openOuter, sha256File, WORKER_HASH_MIN_BYTES } from "./outer.js";
import { readers as registeredReaders } from "./registry.js";
import { expandPaths, type SkippedEntry, type SourceEntry } from "./sources.js";
import { InvalidLines } from "./raw-bytes.js";
import {
  InputTally,
  MAX_SKIPPED_NAMES,
  totalsOf,
  type InputSummary,
  type ReadSummary,
  type SkipReason,
} from "./summary.js";
import { detectEncoding, looksBinary, NulRuns, transcodeUtf16 } from "./text.js";
import type { Reader, ReaderContext, ReadOptions } from "./types.js";

type ArchiveFailure = (
  message: string,
  member: string | undefined,
  kind?: "damaged" | "unsupported" | "checksum",
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
  /**
   * Most bytes read out of the members of one archive (after decompression); past it the
   * archive's reading stops, with an `archive_limit` issue. Default {@link MAX_ARCHIVE_BYTES}.
   */
  readonly maxArchiveBytes?: number;
  /**
   * Read every archive member as a named file would be read: no name fast path, and a member no
   * reader recognises (or empty, or binary) is an input with its issue instead of a skipped
   * member. Default false.
   */
  readonly allMembers?: boolean;
  /**
   * Hosts given for inputs whose lines name none (`--input-host`): `path` absent for every
   * input, else the inputs at or under it. They win over the bundle's name; the last match wins.
   */
  readonly inputHosts?: readonly InputHost[];
  /**
   * `input` (default): one input after another. `time`: the inputs side by side in stream time,
   * the one furthest behind first (interleave.ts), with `hooks.watermark` told as the earliest
   * time still to come moves forward; each file is hashed before it is read, so a record's
   * provenance is final when it is emitted.
   */
  readonly order?: "input" | "time";
  /**
   * Read in a worker thread (read-offthread.ts): decompression, decoding, line splitting and the
   * readers' parsing run there, and the hooks are called here in the same order with the same
   * arguments. Not with `readers` or standard input (`-`): those are read in this thread.
   * Default false.
   */
  readonly worker?: boolean;
}

/** A host given for inputs (`--input-host [PATH=]NAME`). */
export interface InputHost {
  readonly path?: string;
  readonly host: string;
}

/** Default cap on the bytes read out of one archive's members: 16 GiB. */
export const MAX_ARCHIVE_BYTES = 16 * 1024 ** 3;

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

/**
 * A vCenter event guestops has no other use for, by its key (`ReaderContext.eventKey`): its input,
 * key, created time (ISO 8601 and epoch ms, absent when unreadable), vCenter and first line.
 */
export type EventKeyHook = (
  source: InputSource,
  key: number,
  time: string | undefined,
  ms: number | undefined,
  vcenter: string | undefined,
  line: number,
) => void;

export interface ReadHooks {
  /** Every canonical record, as soon as its reader emits it. */
  readonly record: (record: CanonicalRecord) => void;
  /**
   * With this hook, a vCenter event that is only a key (a `vc.event-key` logging record) comes
   * here instead of to `record`, without a record being built; it is counted as a record all the
   * same.
   */
  readonly eventKey?: EventKeyHook;
  /** Called as reading advances (at least every few MiB and at each new input). */
  readonly progress?: (progress: ReadProgress) => void;
  /** Every issue as it is reported (the summary keeps only counts and a few examples). */
  readonly issue?: (issue: ReadIssue) => void;
  /** An input (file, archive or member) is done; its summary is final except for `sha256`. */
  readonly input?: (summary: InputSummary) => void;
  /**
   * With `order: "time"`: every record emitted from now on is at or after this instant (epoch
   * ms), but for the few records a lane has out of order (a log's lines are in time order only
   * within a clock's precision, see `TimeTurns`). A promise returned holds every input's reading
   * until it settles (backpressure from whatever the released records feed); a rejection fails
   * the read.
   */
  readonly watermark?: (ms: number) => void | Promise<void>;
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
  /** The hint was given (`--input-host`): a member's bundle name does not replace it. */
  readonly hostGiven?: boolean;
  /** The outer file's SHA-256 when known before reading (side-by-side reads). */
  readonly sha256?: string;
  /** The tallies of the outer file's inputs, as they are made (the file's own and its members'). */
  readonly own: InputTally[];
  readonly mtime: string | undefined;
  readonly containers: readonly string[];
  /** The file on disk, while the bytes are still the file's own (zip needs random access). */
  readonly diskPath: string | undefined;
  /** For an archive member: the archive's tally and the member's name in it. */
  readonly archive?: { readonly tally: InputTally; readonly member: string };
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
  if (options.worker) {
    const offThread = await import("./read-offthread.js");
    if (offThread.canReadInWorker(paths, options)) {
      return offThread.readInputsInWorker(paths, options, hooks);
    }
  }
  const started = Date.now();
  const readers = options.readers ?? registeredReaders;
  const assumeTz = validateZone(options.assumeTz ?? DEFAULT_ZONE);
  const forced = validateFormat(options.inputFormat, readers);
  const referenceTime = validateTime(options.referenceTime);
  const cap = options.maxArchiveBytes;
  if (cap !== undefined && !(Number.isSafeInteger(cap) && cap > 0)) {
    throw new GuestOpsError("ERR_USAGE", `invalid archive byte cap ${String(cap)}`, {
      hint: "Use a positive whole number of bytes.",
    });
  }
  const skippedEntries = new Map<SkipReason, number>();
  const skippedExamples: SkippedEntry[] = [];
  const entries = await expandPaths(paths, options.cwd, (skipped) => {
    skippedEntries.set(skipped.kind, (skippedEntries.get(skipped.kind) ?? 0) + 1);
    if (skippedExamples.length < MAX_SKIPPED_NAMES) skippedExamples.push(skipped);
  });
  const turns =
    options.order === "time"
      ? new TimeTurns(entries.length, (ms) => hooks.watermark?.(ms))
      : undefined;
  const run = new Run(readers, forced, assumeTz, referenceTime, options, hooks, entries, turns);
  try {
    if (turns) {
      const settled = await Promise.allSettled(
        entries.map((entry, index) => run.readFile(index, entry)),
      );
      const failed = settled.find((s): s is PromiseRejectedResult => s.status === "rejected");
      if (failed) throw failed.reason;
      await turns.settle();
    } else {
      for (const [index, entry] of entries.entries()) await run.readFile(index, entry);
    }
  } finally {
    await run.close();
  }
  const inputs = run.summaries();
  return {
    inputs,
    totals: totalsOf(inputs, entries.length, run.bytesRead, skippedEntries),
    ...(skippedExamples.length ? { skippedEntries: skippedExamples } : {}),
    durationMs: Date.now() - started,
  };
}

/**
 * One endless stream of lines of a known line format, such as the frames a live syslog receiver
 * spooled (`guestops serve`): no container sniffing and no format detection (both wait for the
 * first 64 KiB, which a quiet stream may take hours to send), then the same line splitting,
 * decoding, reader isolation, issue counting and provenance as a file. Records reach
 * `hooks.record` while `chunks` is being read (synchronously within the chunk that completes
 * them); resolves with the input's summary when `chunks` ends.
 *
 * @throws GuestOpsError ERR_USAGE for an unknown or document format, a bad zone or time.
 */
export async function readLineStream(
  chunks: AsyncIterable<Buffer>,
  input: { readonly path: string; readonly format: string; readonly hostHint?: string },
  options: Pick<ReadInputsOptions, "assumeTz" | "referenceTime" | "readers" | "maxLineBytes">,
  hooks: Pick<ReadHooks, "record" | "issue">,
): Promise<InputSummary> {
  const readers = options.readers ?? registeredReaders;
  const assumeTz = validateZone(options.assumeTz ?? DEFAULT_ZONE);
  const reader = validateFormat(input.format, readers);
  if (reader?.shape !== "lines") {
    throw new GuestOpsError(
      "ERR_USAGE",
      `format ${JSON.stringify(input.format)} is not read line by line`,
    );
  }
  const referenceTime = validateTime(options.referenceTime);
  const run = new Run(readers, reader, assumeTz, referenceTime, options, hooks, []);
  try {
    return await run.readStream(chunks, input, reader);
  } finally {
    await run.close();
  }
}

/** The host `--input-host` gives for a file: the last entry whose path is the file or holds it. */
function givenHost(entry: SourceEntry, options: ReadInputsOptions): string | undefined {
  let host: string | undefined;
  for (const h of options.inputHosts ?? []) {
    if (h.path === undefined) host = h.host;
    else if (
      h.path === "-"
        ? entry.kind === "stdin"
        : entry.kind === "file" && under(entry, h.path, options.cwd)
    )
      host = h.host;
  }
  return host;
}

const under = (entry: SourceEntry, path: string, cwd: string | undefined): boolean => {
  const file = entry.absolute ?? resolve(cwd ?? process.cwd(), entry.path);
  const base = resolve(cwd ?? process.cwd(), path);
  return file === base || file.startsWith(base.endsWith(sep) ? base : base + sep);
};

/** Bytes of a host-name member read (they are a line or two). */
const HOST_FILE_BYTES = 64 * 1024;

/**
 * The host a support bundle's own files name (`commands/esxcli_system-hostname-get.txt`,
 * `etc/hosts`, …), per top directory of the archive (a vCenter export holds several bundles).
 * Such files often come after the logs: the host is then given to the inputs already read that
 * have none, which attribution reads when it joins (InputSource is mutable while it is read).
 */
class BundleHosts {
  readonly #found = new Map<string, { host: string; rank: number }>();

  constructor(
    private readonly tallies: readonly InputTally[],
    private readonly first: number,
    private readonly given: string | undefined,
  ) {}

  hostOf(member: string): string | undefined {
    return this.#found.get(topOf(member))?.host;
  }

  /** Reads `body` for a host name when the member is a host-name file; drains it otherwise. */
  async read(member: string, body: AsyncIterable<Buffer>): Promise<void> {
    const rank = hostNameFileRank(member);
    if (rank === undefined || this.given !== undefined) return drain(body);
    const parts: Buffer[] = [];
    let size = 0;
    for await (const chunk of body) {
      if (size < HOST_FILE_BYTES) parts.push(chunk.subarray(0, HOST_FILE_BYTES - size));
      size += chunk.length;
    }
    const host = hostFromHostNameFile(member, Buffer.concat(parts).toString("utf8"));
    const top = topOf(member);
    const known = this.#found.get(top);
    if (host === undefined || (known && known.rank <= rank)) return;
    this.#found.set(top, { host, rank });
    for (const t of this.tallies.slice(this.first)) {
      const m = t.source.member;
      if (m === undefined || topOf(m.slice(m.lastIndexOf("!") + 1)) !== top) continue;
      if (t.source.hostHint === undefined || t.source.hostHint === known?.host)
        t.source.hostHint = host;
    }
  }
}

const topOf = (member: string): string => {
  const slash = member.indexOf("/");
  return slash < 0 ? "" : member.slice(0, slash);
};

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
  private readonly maxArchive: number;

  constructor(
    private readonly readers: readonly Reader[],
    private readonly forced: Reader | undefined,
    private readonly assumeTz: string,
    private readonly referenceTime: string | undefined,
    private readonly options: ReadInputsOptions,
    private readonly hooks: ReadHooks,
    private readonly entries: readonly SourceEntry[],
    private readonly turns?: TimeTurns,
  ) {
    this.totalBytes = entries.every((e) => e.size !== undefined)
      ? entries.reduce((n, e) => n + (e.size ?? 0), 0)
      : undefined;
    this.maxLine = options.maxLineBytes ?? MAX_LINE_BYTES;
    this.maxArchive = options.maxArchiveBytes ?? MAX_ARCHIVE_BYTES;
    // The hash worker boots (~70 ms) while the first input is opened and sniffed, not after.
    if (
      !turns &&
      entries.some((e) => e.kind === "file" && (e.size ?? 0) >= WORKER_HASH_MIN_BYTES)
    ) {
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
    const turns = this.turns;
    if (!turns) return this.readOuter(index, entry, undefined);
    try {
      const lane = entry.kind === "file" && entry.size !== undefined && entry.absolute;
      const sha256 = lane ? await sha256File(entry) : undefined;
      await this.readOuter(index, entry, sha256);
    } finally {
      turns.done(index);
    }
  }

  /** A stream of lines of `reader`'s format, with no sniffing (`readLineStream`). */
  async readStream(
    chunks: AsyncIterable<Buffer>,
    input: { readonly path: string; readonly hostHint?: string },
    reader: Extract<Reader, { shape: "lines" }>,
  ): Promise<InputSummary> {
    const loc: Location = {
      path: input.path,
      member: undefined,
      name: input.path,
      hostHint: input.hostHint,
      own: [],
      mtime: undefined,
      containers: [],
      diskPath: undefined,
    };
    const tally = this.tally(loc);
    tally.source.format = reader.name;
    const { invalid, ledger, ctx } = this.lineContext(reader.name, tally, loc);
    const text = { bom: 0, head: Buffer.alloc(0), inPlace: undefined, invalid, ledger };
    await this.readLines(reader.markers, reader.open(ctx), chunks, tally, text);
    return tally.summary();
  }

  /** Reads one file or standard input; `sha256` given: side by side, as a lane. */
  private async readOuter(
    index: number,
    entry: SourceEntry,
    sha256: string | undefined,
  ): Promise<void> {
    const turns = this.turns;
    const own: InputTally[] = [];
    const onBytes = (n: number): void => this.advance(n);
    const outer =
      sha256 !== undefined
        ? openLane(entry, sha256, onBytes)
        : openOuter(entry, this.options.stdin ?? (() => process.stdin), this.hashes, onBytes);
    const given = givenHost(entry, this.options);
    const loc: Location = {
      path: entry.path,
      member: undefined,
      name: entry.kind === "stdin" ? "-" : basename(entry.path),
      hostHint: given ?? hostHintFrom(entry.path),
      ...(given !== undefined ? { hostGiven: true } : {}),
      ...(sha256 !== undefined ? { sha256 } : {}),
      own,
      mtime: entry.mtime,
      containers: [],
      diskPath: entry.kind === "file" && entry.size !== undefined ? entry.absolute : undefined,
    };
    let chunks = outer.chunks;
    if (turns) {
      chunks = inTurn(chunks, turns, index, () => {
        this.fileIndex = index;
        // standard input's hash is known only at its end: it holds the watermark until then
        if (sha256 === undefined) turns.hold();
      });
    } else this.fileIndex = index;
    await this.readNode(chunks, loc, 0);
    const digest = await outer.digest();
    for (const tally of own) {
      tally.source.sha256 = digest;
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
      sha256: loc.sha256 ?? "",
      ...(loc.hostHint !== undefined ? { hostHint: loc.hostHint } : {}),
    };
    const tally = new InputTally(source, loc.containers, this.hooks.issue);
    this.tallies.push(tally);
    loc.own.push(tally);
    this.current = { path: loc.path, member: loc.member };
    this.progress();
    return tally;
  }

  /**
   * Reads one byte stream: a container is opened, anything else is read as text. Undefined for an
   * archive member that was not read (counted as skipped by its archive).
   */
  private async readNode(
    chunks: AsyncIterable<Buffer>,
    loc: Location,
    depth: number,
  ): Promise<InputTally | undefined> {
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
        this.turns?.hold(); // members in any order (hostd.log, then hostd.0.gz, …)
        // tar-stream and yauzl load on first use: a run over plain logs does not pay for them
        const { tarMembers } = await import("./archives/tar.js");
        return this.readArchive(inner, depth, (onFailure, onSkipped) =>
          tarMembers(all, onFailure, onSkipped),
        );
      }
      case "zip":
        this.turns?.hold();
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
  ): Promise<InputTally | undefined> {
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
      // a member skipped for its content still has its damage reported, on its archive
      (tally ?? loc.archive?.tally)?.issue(
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
    const { zipMembers } = await import("./archives/zip.js");
    // A zip on disk is read through its central directory, and its bytes once more for the hash
    // (unless its local headers had to be read instead: then they are read once).
    let bytes = 0;
    const counted = (async function* () {
      for await (const chunk of chunks) {
        bytes += chunk.length;
        yield chunk;
      }
    })();
    const tally = await this.readArchive(loc, depth, (f, s) =>
      zipMembers(loc.diskPath, counted, f, s),
    );
    await drain(counted);
    if (loc.diskPath !== undefined) tally.bytes = bytes;
    return tally;
  }

  /**
   * Lists an archive's members and reads the relevant ones. A failure of the archive (truncated,
   * damaged) is an issue of the archive and of the member being read when it happened.
   */
  private async readArchive(
    loc: Location,
    depth: number,
    open: (onFailure: ArchiveFailure, onSkipped: OnSkipped) => AsyncIterable<ArchiveMember>,
  ): Promise<InputTally> {
    const tally = this.tally(loc);
    tally.status = "archive";
    const bundleHosts = new BundleHosts(loc.own, loc.own.length, loc.hostHint);
    let reading = false; // a member is being read
    const memberFailures: string[] = [];
    const onFailure: ArchiveFailure = (message, member, kind) => {
      if (kind === "checksum") {
        tally.issue("truncated_input", `archive member damaged: ${message}`);
        if (reading && member !== undefined) memberFailures.push(`member damaged: ${message}`);
        return;
      }
      if (kind === "unsupported") {
        // a member that cannot be opened: reported only if it would have been read
        const byName = member === undefined ? undefined : this.nameSkip(member);
        if (member !== undefined && byName !== undefined) {
          tally.skippedMember(member, byName);
        } else {
          tally.issue("unknown_format", message);
        }
        return;
      }
      const where = member !== undefined ? ` (in member ${JSON.stringify(member)})` : "";
      tally.issue("truncated_input", `archive ends early or is damaged${where}: ${message}`);
      if (reading && member !== undefined) memberFailures.push(`member cut short: ${message}`);
    };
    const onSkipped: OnSkipped = (member, kind) => tally.skippedMember(member, kind);
    const budget = new ByteBudget(this.maxArchive);
    for await (const member of open(onFailure, onSkipped)) {
      const name = member.name.replace(/\\/g, "/");
      if (!this.options.allMembers && hostNameFileRank(name) !== undefined) {
        // the bundle's host-name files are read for the host, not as logs
        tally.skippedMember(name, "host-name-file");
        await bundleHosts.read(name, member.body);
        continue;
      }
      const byName = this.nameSkip(name);
      if (byName !== undefined) {
        tally.skippedMember(name, byName); // its body is left unread: skipped without being decoded
        continue;
      }
      const child: Location = {
        path: loc.path,
        member: loc.member === undefined ? name : `${loc.member}!${name}`,
        name: name.slice(name.lastIndexOf("/") + 1),
        hostHint: loc.hostGiven
          ? loc.hostHint
          : (hostHintFrom(name) ?? loc.hostHint ?? bundleHosts.hostOf(name)),
        ...(loc.hostGiven ? { hostGiven: true } : {}),
        ...(loc.sha256 !== undefined ? { sha256: loc.sha256 } : {}),
        own: loc.own,
        mtime: member.mtime ?? loc.mtime,
        containers: loc.containers,
        diskPath: undefined,
        archive: { tally, member: name },
      };
      reading = true;
      const memberTally = await this.readNode(budget.limit(member.body), child, depth + 1);
      reading = false;
      if (memberTally) tally.membersRead++;
      for (const message of memberFailures.splice(0)) {
        // a skipped member's damage is already an issue of the archive
        memberTally?.issue("truncated_input", message);
      }
      if (budget.exceeded) {
        const why = `more than ${budget.max} bytes read out of this archive (--max-archive-bytes)`;
        memberTally?.issue("archive_limit", `member cut short: ${why}`);
        tally.issue("archive_limit", `${why}: reading stopped in member ${JSON.stringify(name)}`);
        break;
      }
    }
    this.current = { path: loc.path, member: loc.member };
    return tally;
  }

  /** Why an archive member is skipped by its name alone (never with `allMembers`). */
  private nameSkip(name: string): SkipReason | undefined {
    return this.options.allMembers ? undefined : memberNameSkip(name);
  }

  /**
   * An archive member decided by its content is skipped (counted by its archive, not an input):
   * undefined then, with its bytes drained. Never for files, nor with `allMembers`.
   */
  private async skippedByContent(
    loc: Location,
    reason: SkipReason,
    chunks: AsyncIterable<Buffer>,
  ): Promise<boolean> {
    if (!loc.archive || this.options.allMembers) return false;
    loc.archive.tally.skippedMember(loc.archive.member, reason);
    await drain(chunks);
    return true;
  }

  /** A text input: encoding, binary check, detection, then the reader. */
  private async readText(
    head0: Buffer,
    complete0: boolean,
    chunks0: AsyncIterable<Buffer>,
    loc: Location,
  ): Promise<InputTally | undefined> {
    if (head0.length === 0) {
      if (await this.skippedByContent(loc, "empty", chunks0)) return undefined;
      const tally = this.tally(loc);
      tally.status = "empty";
      return tally;
    }
    let head = head0;
    let complete = complete0;
    let chunks = chunks0;
    const kind = detectEncoding(head0);
    if (kind.encoding !== "utf8") {
      const peeked = await peekHead(transcodeUtf16(chunks0, kind.encoding), SNIFF_BYTES);
      ({ head, complete } = peeked);
      chunks = peeked.all;
    }
    const binary = looksBinary(head);
    if (binary && (await this.skippedByContent(loc, "binary", chunks))) return undefined;
    const bom = head[0] === 0xef && head[1] === 0xbb && head[2] === 0xbf ? 3 : 0;
    const lines = binary ? [] : textHeadLines(head.subarray(bom), complete, this.maxLine);
    const detection = this.forced || binary ? undefined : detectFormat(lines, this.readers);
    const reader = this.forced ?? detection?.reader;
    // a member named like a log that no reader knows is reported (below), not skipped
    const quiet = !namedLikeLog(loc.archive?.member ?? "");
    if (!binary && !reader && quiet && (await this.skippedByContent(loc, "no-reader", chunks))) {
      return undefined;
    }
    const tally = this.tally(loc);
    tally.encoding = kind.encoding;
    if (detection) tally.detection = detection.scores.slice(0, 3);
    if (binary) {
      tally.status = "binary";
      tally.issue(
        "binary_data",
        "binary data (control bytes, or NUL bytes all through, in the first 64 KiB): skipped",
      );
      tally.bytes = await countBytes(chunks);
      return tally;
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
      const { invalid, ledger, ctx } = this.lineContext(reader.name, tally, loc);
      // a file's own bytes (not an archive member's) lie in the read arena: scanned in place
      const inPlace = loc.containers.length === 0 ? this.hashes.inPlace() : undefined;
      const text = { bom, head, inPlace, invalid, ledger };
      await this.readLines(reader.markers, reader.open(ctx), chunks, tally, text);
    } else {
      this.turns?.hold(); // a JSON export may list its events newest first
      await this.readDocument(reader, chunks, this.context(tally, loc), tally);
    }
    return tally;
  }

  /**
   * What a line reader's run needs: the lines decoded with U+FFFD (`invalid`), the ledger that
   * counts a line the reader neither turned into a record, an issue or a skip, and its context.
   */
  private lineContext(reader: string, tally: InputTally, loc: Location) {
    const invalid = new InvalidLines();
    const ledger = new LineLedger((line) =>
      tally.issue(
        "unparsed_line",
        `the ${reader} reader gave no record, issue or skip for this line (a reader bug): counted as not understood`,
        line,
      ),
    );
    return { invalid, ledger, ctx: this.context(tally, loc, invalid, ledger) };
  }

  /** `invalid`: lines read as text with U+FFFD, whose bytes records get back (raw-bytes.ts). */
  private context(
    tally: InputTally,
    loc: Location,
    invalid?: InvalidLines,
    ledger?: LineLedger,
  ): ReaderContext {
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
        ledger?.settle(record.prov.line, record.prov.lineCount);
        tally.record(record);
        this.records++;
        if (this.turns && record.time !== undefined) {
          const t = Date.parse(record.time);
          if (!Number.isNaN(t)) this.turns.note(t);
        }
        this.hooks.record(record);
      },
      issue: (code: ReadIssueCode, message: string, line?: number, excerpt?: string) => {
        if (line !== undefined) ledger?.settle(line);
        tally.issue(code, message, line, excerpt);
      },
      skip: (line: number, kind: string) => {
        ledger?.settle(line);
        tally.ignored(kind);
      },
      ...(this.hooks.eventKey
        ? { eventKey: this.eventKeyOf(this.hooks.eventKey, tally, ledger) }
        : {}),
    };
  }

  /** `ReaderContext.eventKey` for one input: counted as its record would be, handed on as is. */
  private eventKeyOf(
    hook: EventKeyHook,
    tally: InputTally,
    ledger: LineLedger | undefined,
  ): NonNullable<ReaderContext["eventKey"]> {
    return (key, time, vcenter, line, lineCount) => {
      ledger?.settle(line, lineCount);
      tally.recorded("vc.event-key", time);
      this.records++;
      let ms: number | undefined;
      if (time !== undefined) {
        const t = Date.parse(time);
        if (!Number.isNaN(t)) {
          ms = t;
          this.turns?.note(t);
        }
      }
      hook(tally.source, key, time, ms, vcenter, line);
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
      ledger: LineLedger;
    },
  ): Promise<void> {
    const max = this.maxLine;
    const ledger = lineText.ledger;
    const feed = (text: string, lineNo: number): void => {
      ledger.handed(lineNo);
      try {
        parser.line(text, lineNo);
      } catch (error) {
        // A reader that throws on one hostile line must not blind the rest of the run.
        ledger.settle(lineNo);
        tally.issue("reader_error", readerErrorMessage(error), lineNo, text);
      }
    };
    const nul = new NulRuns((offset) =>
      tally.issue(
        "binary_data",
        `NUL bytes from byte ${offset} (zero-filled, as a crash or power loss leaves a log): skipped; the lines around them are read`,
      ),
    );
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
          // a skipped NUL run left one NUL: the text on either side is read as its own line
          if (nul.runs > 0 && text.includes("\u0000")) {
            for (const piece of text.split("\u0000")) if (piece !== "") feed(piece, lineNo);
          } else feed(text, lineNo);
        },
        tooLong: (lineNo) => {
          tally.issue("line_too_long", `line longer than ${max} bytes: cut at ${max}`, lineNo);
        },
      },
    );
    let skip = lineText.bom;
    const push = (piece: Buffer): void => splitter.push(piece);
    for await (const chunk of chunks) {
      tally.bytes += chunk.length;
      if (skip > 0) {
        nul.push(chunk.subarray(skip), push);
        skip = 0;
      } else {
        nul.push(chunk, push);
      }
    }
    splitter.end();
    try {
      parser.end();
    } catch (error) {
      tally.issue("reader_error", readerErrorMessage(error));
    }
    ledger.end();
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

/** The bytes one archive's members may yield in all; a member is cut where the budget ends. */
class ByteBudget {
  private used = 0;
  exceeded = false;

  constructor(readonly max: number) {}

  async *limit(body: AsyncIterable<Buffer>): AsyncGenerator<Buffer> {
    for await (const chunk of body) {
      const left = this.max - this.used;
      if (chunk.length > left) {
        this.used = this.max;
        this.exceeded = true;
        if (left > 0) yield chunk.subarray(0, left);
        return;
      }
      this.used += chunk.length;
      yield chunk;
    }
  }
}

/** The head's lines for detection; zero-filled gaps (NUL runs) split lines, as when reading. */
function textHeadLines(head: Buffer, complete: boolean, maxLine: number): string[] {
  const lines = headLines(head, SNIFF_LINES, complete, maxLine);
  if (!head.includes(0)) return lines;
  return lines
    .flatMap((l) => l.split("\u0000"))
    .filter((l) => l !== "")
    .slice(0, SNIFF_LINES);
}

/** `chunks`, each read only in lane `index`'s turn (`first` runs at its first turn). */
async function* inTurn(
  chunks: AsyncIterable<Buffer>,
  turns: TimeTurns,
  index: number,
  first: () => void,
): AsyncGenerator<Buffer> {
  const it = chunks[Symbol.asyncIterator]();
  let started = false;
  try {
    for (;;) {
      await turns.turn(index);
      if (!started) {
        started = true;
        first();
      }
      const next = await it.next();
      if (next.done) return;
      yield next.value;
    }
  } finally {
    await it.return?.();
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

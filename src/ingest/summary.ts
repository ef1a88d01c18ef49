/**
 * What reading produced, per input and in total: the `ReadSummary` that `readInputs` returns and
 * `guestops inspect` prints. Memory stays bounded whatever the input size: counts, plus at most
 * {@link MAX_EXAMPLES} examples per issue code and per input.
 */
import type { CanonicalRecord, InputSource, ReadIssue, ReadIssueCode } from "../model/record.js";
import type { TextEncoding } from "./text.js";

/** Examples kept per issue code and input. */
export const MAX_EXAMPLES = 3;
/** Longest excerpt kept, in characters (the excerpt is escaped when shown). */
export const MAX_EXCERPT = 200;
/** Skipped archive members named in the summary. */
export const MAX_SKIPPED_NAMES = 5;
/** Distinct kinds of ignored lines kept per input (readers use a handful). */
const MAX_KINDS = 32;

export interface IssueExample {
  readonly line?: number;
  readonly message: string;
  readonly excerpt?: string;
}

export interface IssueSummary {
  readonly code: ReadIssueCode;
  readonly count: number;
  readonly examples: readonly IssueExample[];
}

/**
 * How an input ended up: `read` by a reader; `empty` (no bytes); `binary` (skipped: not text);
 * `unknown_format` (no reader recognised it); `unsupported` (a container guestops does not open,
 * like xz); `archive` for a tar or zip whose members are listed as their own inputs.
 */
export type InputStatus =
  "read" | "empty" | "binary" | "unknown_format" | "unsupported" | "archive";

export interface InputSummary {
  readonly source: InputSource;
  readonly status: InputStatus;
  /** Containers opened to reach this input, outermost first (`["gzip", "tar"]` for a `.tgz`). */
  readonly containers: readonly string[];
  /** Text encoding of the input (UTF-16 inputs are transcoded to UTF-8 before reading). */
  readonly encoding?: TextEncoding;
  /** Bytes of this input after decompression (for an archive: bytes of its stored form read). */
  readonly bytes: number;
  /** Physical lines. */
  readonly lines: number;
  /** Lines handed to the reader (they contained one of its markers). */
  readonly linesPassed: number;
  /** Lines the reader understood but that carry nothing guestops needs. */
  readonly linesSkipped: number;
  /** The same lines by the kind the reader named (`other-event`, `dump-continuation`). */
  readonly ignoredBy?: readonly { readonly kind: string; readonly count: number }[];
  readonly records: number;
  /** Records by kind (`hostd.event`, `login`, ...). */
  readonly recordsByKind: Readonly<Record<string, number>>;
  /**
   * Lines that looked relevant but were not understood (the reader's `unparsed_line` issues); for
   * an input of unknown format, all its lines, with its first lines as examples.
   */
  readonly notUnderstood: { readonly count: number; readonly examples: readonly IssueExample[] };
  readonly issues: readonly IssueSummary[];
  /** Earliest and latest record time (ISO 8601 UTC). */
  readonly firstTime?: string;
  readonly lastTime?: string;
  /** Best detection scores, for inputs whose format was detected or not recognised. */
  readonly detection?: readonly { readonly name: string; readonly score: number }[];
  /**
   * Archives: members read and members not read, with why (see {@link SkipReason}; links,
   * devices and FIFOs are counted by their kind).
   */
  readonly members?: {
    readonly read: number;
    readonly skipped: number;
    readonly skippedExamples: readonly string[];
    readonly skippedBy: readonly SkipCount[];
  };
}

/**
 * Why something was not read. Archive members: `not-log-name` (a name that is surely not a log:
 * binaries, core dumps, images, known noise), `empty`, `binary`, `no-reader` (no reader recognised
 * its head); directory entries: `dangling-link`, `fifo`, `socket`, `device`, `other`.
 */
export type SkipReason =
  | "not-log-name"
  | "empty"
  | "binary"
  | "no-reader"
  | "host-name-file"
  | "dangling-link"
  | "symlink"
  | "hardlink"
  | "character-device"
  | "block-device"
  | "fifo"
  | "socket"
  | "device"
  | "other";

/** Members that are not regular files: their examples name the kind. */
const NOT_REGULAR: ReadonlySet<SkipReason> = new Set<SkipReason>([
  "symlink",
  "hardlink",
  "character-device",
  "block-device",
  "fifo",
  "socket",
  "device",
  "dangling-link",
]);

export interface SkipCount {
  readonly reason: SkipReason;
  readonly count: number;
}

export interface ReadTotals {
  /** Paths expanded from the command line (files and standard input). */
  readonly files: number;
  /** Inputs read as text (files and archive members), of any status other than `archive`. */
  readonly inputs: number;
  readonly archives: number;
  /** Bytes read from files and standard input (compressed sizes where compressed). */
  readonly bytesRead: number;
  /** Bytes of text after decompression. */
  readonly bytes: number;
  readonly lines: number;
  readonly linesPassed: number;
  readonly linesSkipped: number;
  readonly records: number;
  readonly recordsByKind: Readonly<Record<string, number>>;
  readonly notUnderstood: number;
  readonly issues: Readonly<Partial<Record<ReadIssueCode, number>>>;
  readonly membersSkipped: number;
  /** Archive members not read, by reason (every archive). */
  readonly membersSkippedBy: readonly SkipCount[];
  /** Entries of walked directories that are not files or directories, by kind. */
  readonly entriesSkipped: number;
  readonly entriesSkippedBy: readonly SkipCount[];
  readonly byStatus: Readonly<Partial<Record<InputStatus, number>>>;
  readonly firstTime?: string;
  readonly lastTime?: string;
}

export interface ReadSummary {
  /** Every file, archive and archive member, in reading order. */
  readonly inputs: readonly InputSummary[];
  readonly totals: ReadTotals;
  /** The first few directory entries not read (dangling links, FIFOs, sockets, devices). */
  readonly skippedEntries?: readonly { readonly path: string; readonly kind: SkipReason }[];
  readonly durationMs: number;
}

const cut = (text: string): string =>
  text.length > MAX_EXCERPT ? `${text.slice(0, MAX_EXCERPT - 1)}…` : text;

/** Mutable per-input accumulator behind one `InputSummary`. */
export class InputTally {
  status: InputStatus = "read";
  encoding: TextEncoding | undefined;
  bytes = 0;
  lines = 0;
  linesPassed = 0;
  linesSkipped = 0;
  records = 0;
  firstTime: string | undefined;
  lastTime: string | undefined;
  detection: { name: string; score: number }[] | undefined;
  unknownExamples: IssueExample[] | undefined;
  membersRead = 0;
  membersSkipped = 0;
  readonly skippedNames: string[] = [];
  private readonly skipReasons = new Map<SkipReason, number>();
  private readonly ignoredKinds = new Map<string, number>();
  private readonly kinds = new Map<string, number>();
  private readonly issueCounts = new Map<
    ReadIssueCode,
    { count: number; examples: IssueExample[] }
  >();

  constructor(
    readonly source: InputSource,
    readonly containers: readonly string[],
    private readonly onIssue?: (issue: ReadIssue) => void,
  ) {}

  record(record: CanonicalRecord): void {
    this.recorded(record.kind, record.time);
  }

  /** A record of this kind and time, counted without the record itself. */
  recorded(kind: CanonicalRecord["kind"], t: string | undefined): void {
    this.records++;
    this.kinds.set(kind, (this.kinds.get(kind) ?? 0) + 1);
    if (t !== undefined) {
      if (this.firstTime === undefined || t < this.firstTime) this.firstTime = t;
      if (this.lastTime === undefined || t > this.lastTime) this.lastTime = t;
    }
  }

  issue(code: ReadIssueCode, message: string, line?: number, excerpt?: string): void {
    let entry = this.issueCounts.get(code);
    if (!entry) {
      entry = { count: 0, examples: [] };
      this.issueCounts.set(code, entry);
    }
    entry.count++;
    if (entry.examples.length < MAX_EXAMPLES) {
      entry.examples.push({
        ...(line !== undefined ? { line } : {}),
        message: cut(message),
        ...(excerpt !== undefined ? { excerpt: cut(excerpt) } : {}),
      });
    }
    this.onIssue?.({
      code,
      message,
      source: this.source,
      ...(line !== undefined ? { line } : {}),
      ...(excerpt !== undefined ? { excerpt: cut(excerpt) } : {}),
    });
  }

  /** A line the reader skipped, by kind (a reader's own word; at most MAX_KINDS distinct). */
  ignored(kind: string): void {
    this.linesSkipped++;
    const k = this.ignoredKinds.has(kind) || this.ignoredKinds.size < MAX_KINDS ? kind : "other";
    this.ignoredKinds.set(k, (this.ignoredKinds.get(k) ?? 0) + 1);
  }

  skippedMember(name: string, reason: SkipReason): void {
    this.membersSkipped++;
    this.skipReasons.set(reason, (this.skipReasons.get(reason) ?? 0) + 1);
    if (this.skippedNames.length < MAX_SKIPPED_NAMES) {
      this.skippedNames.push(NOT_REGULAR.has(reason) ? `${name} (${reason})` : name);
    }
  }

  issueCount(code: ReadIssueCode): number {
    return this.issueCounts.get(code)?.count ?? 0;
  }

  summary(): InputSummary {
    const issues = [...this.issueCounts]
      .map(([code, { count, examples }]) => ({ code, count, examples }))
      .sort((a, b) => (a.code < b.code ? -1 : a.code > b.code ? 1 : 0));
    const unparsed = this.issueCounts.get("unparsed_line");
    const notUnderstood =
      this.status === "unknown_format"
        ? { count: this.lines, examples: this.unknownExamples ?? [] }
        : { count: unparsed?.count ?? 0, examples: unparsed?.examples ?? [] };
    return {
      source: this.source,
      status: this.status,
      containers: this.containers,
      ...(this.encoding ? { encoding: this.encoding } : {}),
      bytes: this.bytes,
      lines: this.lines,
      linesPassed: this.linesPassed,
      linesSkipped: this.linesSkipped,
      ...(this.ignoredKinds.size > 0
        ? {
            ignoredBy: [...this.ignoredKinds]
              .map(([kind, count]) => ({ kind, count }))
              .sort((a, b) => b.count - a.count || (a.kind < b.kind ? -1 : 1)),
          }
        : {}),
      records: this.records,
      recordsByKind: sortedRecord(this.kinds),
      notUnderstood,
      issues,
      ...(this.firstTime !== undefined ? { firstTime: this.firstTime } : {}),
      ...(this.lastTime !== undefined ? { lastTime: this.lastTime } : {}),
      ...(this.detection ? { detection: this.detection } : {}),
      ...(this.status === "archive"
        ? {
            members: {
              read: this.membersRead,
              skipped: this.membersSkipped,
              skippedExamples: [...this.skippedNames],
              skippedBy: skipCounts(this.skipReasons),
            },
          }
        : {}),
    };
  }
}

/**
 * A plain object from a Map whose keys are our own vocabularies (record kinds, issue codes,
 * statuses); a key outside that shape (never from our readers) is dropped rather than risked.
 */
function sortedRecord(map: ReadonlyMap<string, number>): Record<string, number> {
  const out: Record<string, number> = {};
  for (const key of [...map.keys()].sort()) {
    if (/^[a-z][\w.-]*$/.test(key)) out[key] = map.get(key) ?? 0;
  }
  return out;
}

/** Counts by reason, in a stable order (most first, then by name). */
export function skipCounts(map: ReadonlyMap<SkipReason, number>): SkipCount[] {
  return [...map]
    .map(([reason, count]) => ({ reason, count }))
    .sort((a, b) => b.count - a.count || (a.reason < b.reason ? -1 : a.reason > b.reason ? 1 : 0));
}

/** Totals over input summaries. */
export function totalsOf(
  inputs: readonly InputSummary[],
  files: number,
  bytesRead: number,
  entriesSkipped: ReadonlyMap<SkipReason, number> = new Map(),
): ReadTotals {
  const memberReasons = new Map<SkipReason, number>();
  const kinds = new Map<string, number>();
  const issues = new Map<string, number>();
  const statuses = new Map<string, number>();
  let first: string | undefined;
  let last: string | undefined;
  const t = { inputs: 0, archives: 0, bytes: 0, lines: 0, passed: 0, skipped: 0, records: 0 };
  let notUnderstood = 0;
  let membersSkipped = 0;
  for (const s of inputs) {
    statuses.set(s.status, (statuses.get(s.status) ?? 0) + 1);
    for (const i of s.issues) issues.set(i.code, (issues.get(i.code) ?? 0) + i.count);
    if (s.status === "archive") {
      t.archives++;
      membersSkipped += s.members?.skipped ?? 0;
      for (const { reason, count } of s.members?.skippedBy ?? []) {
        memberReasons.set(reason, (memberReasons.get(reason) ?? 0) + count);
      }
      continue;
    }
    t.inputs++;
    t.bytes += s.bytes;
    t.lines += s.lines;
    t.passed += s.linesPassed;
    t.skipped += s.linesSkipped;
    t.records += s.records;
    notUnderstood += s.notUnderstood.count;
    for (const [k, n] of Object.entries(s.recordsByKind)) kinds.set(k, (kinds.get(k) ?? 0) + n);
    if (s.firstTime !== undefined && (first === undefined || s.firstTime < first))
      first = s.firstTime;
    if (s.lastTime !== undefined && (last === undefined || s.lastTime > last)) last = s.lastTime;
  }
  return {
    files,
    inputs: t.inputs,
    archives: t.archives,
    bytesRead,
    bytes: t.bytes,
    lines: t.lines,
    linesPassed: t.passed,
    linesSkipped: t.skipped,
    records: t.records,
    recordsByKind: sortedRecord(kinds),
    notUnderstood,
    issues: sortedRecord(issues),
    membersSkipped,
    membersSkippedBy: skipCounts(memberReasons),
    entriesSkipped: [...entriesSkipped.values()].reduce((a, b) => a + b, 0),
    entriesSkippedBy: skipCounts(entriesSkipped),
    byStatus: sortedRecord(statuses),
    ...(first !== undefined ? { firstTime: first } : {}),
    ...(last !== undefined ? { lastTime: last } : {}),
  };
}

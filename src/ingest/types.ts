/**
 * The reader contract. A reader turns the text of one input (a file, stdin or an archive member)
 * into canonical records. Readers are incremental: they are fed as the bytes arrive, so the same
 * reader serves whole files today and a live syslog stream later. They do no I/O of their own.
 */
import type {
  CanonicalRecord,
  FormatName,
  InputSource,
  ReadIssue,
  ReadIssueCode,
} from "../model/record.js";

/** Options that change how text is read, shared by every reader. */
export interface ReadOptions {
  /** IANA zone for timestamps that carry none (RFC 3164 receivers). Default `UTC`. */
  readonly assumeTz: string;
  /**
   * Reference time for year inference of year-less timestamps (ISO 8601). Default: the input's
   * modification time, else now. A timestamp that would land more than a day after it belongs to
   * the previous year.
   */
  readonly referenceTime?: string;
}

/** What a reader gets for one input. */
export interface ReaderContext {
  readonly source: InputSource;
  readonly options: ReadOptions;
  /** Hand over one finished record. */
  readonly emit: (record: CanonicalRecord) => void;
  /** Report a per-line problem (counted, a few examples kept). */
  readonly issue: (code: ReadIssueCode, message: string, line?: number, excerpt?: string) => void;
  /**
   * Count a line the reader understood but that carries nothing guestops needs, with what kind of
   * line it is: a short, fixed word of the reader's own (`other-event`, `dump-continuation`), never
   * text from the input. `inspect` shows the counts by kind.
   *
   * Every line handed to a line reader must end up in a record (its `prov` lines), an issue (with
   * its line number) or a skip: the input layer counts a line that got none of these as not
   * understood (`unparsed_line`), since a line that vanishes silently is a reader bug.
   */
  readonly skip: (line: number, kind: string) => void;
  /**
   * A vCenter event guestops has no other use for, by its key alone: what emitting a
   * `vc.event-key` `LoggingRecord` would say (key, created time as UTC ISO 8601, vCenter, lines),
   * without building the record. Present only when whoever reads takes keys this way (the store,
   * coverage); when absent the reader emits the record. A vCenter emits far more such events than
   * anything else, so this is the path most of its lines take.
   */
  readonly eventKey?: (
    key: number,
    time: string | undefined,
    vcenter: string | undefined,
    line: number,
    lineCount: number,
  ) => void;
}

/** A stateful parser for one input of a line-oriented format. */
export interface LineParser {
  /**
   * One physical line without its terminator (CR already removed). Only lines that contain one
   * of the reader's markers are guaranteed to be passed; others may be passed too.
   *
   * With `envelope`, a router (syslog receiver file, SIEM JSON export) has already unwrapped the
   * line: `text` is the envelope's body, and host/time/program come from the envelope. Without
   * it, the parser unwraps the line itself (`parseEnvelope`) or reads it as a local-file line.
   * Either way `text` is what provenance keeps as the raw record.
   */
  readonly line: (text: string, lineNo: number, envelope?: Envelope) => void;
  /** End of input: flush pending multi-line records and unmatched parts. */
  readonly end: () => void;
}

interface ReaderBase {
  readonly name: FormatName;
  /** One line for `inspect` and the README. */
  readonly title: string;
  /**
   * How likely the first lines of an input are this format: 0 (no) to 1 (certain). Detection
   * picks the highest score above 0.3; ties go to the earlier reader in the registry.
   */
  readonly sniff: (head: readonly string[]) => number;
}

/** A line-oriented format (hostd, vmware.log, vpxd, syslog, audit, vCenter event stream). */
export interface LineReader extends ReaderBase {
  readonly shape: "lines";
  /**
   * Case-sensitive substrings; a line that contains none of them cannot yield a record, so the
   * input layer may drop it before decoding it (that is how unrelated lines cost almost nothing).
   */
  readonly markers: readonly string[];
  readonly open: (ctx: ReaderContext) => LineParser;
}

/** A document format (JSON arrays, NDJSON, PowerShell ConvertTo-Json output). */
export interface DocumentReader extends ReaderBase {
  readonly shape: "document";
  /** Reads the whole input as a byte stream (already decompressed, any BOM included). */
  readonly read: (bytes: AsyncIterable<Buffer>, ctx: ReaderContext) => Promise<void>;
}

export type Reader = LineReader | DocumentReader;

export const defineReader = <R extends Reader>(reader: R): R => reader;

export type { ReadIssue };

/**
 * The syslog wrapper around a line, as a receiver or ESXi's forwarder writes it (RFC 3164 with or
 * without PRI, RFC 5424, rsyslog file prefix). Produced by `parseEnvelope` (ingest/syslog).
 */
export interface Envelope {
  /** `<PRI>` value when present. */
  readonly pri?: number;
  /** Header time as UTC ISO 8601, when the header had one. */
  readonly time?: string;
  /** The header time lacked a year or zone and one was assumed (see ReadOptions). */
  readonly timeAssumed?: boolean;
  readonly host?: string;
  /** APP-NAME / tag as written (`Hostd`, `hostd`, `vpxd`, `Vpxa`). */
  readonly program?: string;
  /** PROCID / `[pid]` as written. */
  readonly pid?: string;
  /** RFC 5424 structured data, as written (`-` or `[eventID@6876 ...]`). */
  readonly structuredData?: string;
  /** The rest of the line after the header: what the program itself wrote. */
  readonly body: string;
  /**
   * ESXi 8 `[+]` line marker (`In(166)[+] Hostd[pid]: --> ...`): this line continues the previous
   * message of the same program and pid.
   */
  readonly continued?: boolean;
  /**
   * The whole physical line the envelope was parsed from, when there was one (set by
   * `parseEnvelope`; absent when a router built the envelope from JSON fields). Readers keep it as
   * the provenance `raw` so that routed records stay byte-exact, header included.
   */
  readonly line?: string;
}

/**
 * Syslog header parsing: one hand-written scanner for every header shape ESXi, vCenter and the
 * usual receivers write. No regular expressions (a hostile 64 KiB line costs one linear pass at
 * most; most lines are rejected within a few characters).
 *
 * Shapes (PRI optional everywhere except RFC 5424):
 * - RFC 5424: `<PRI>VER TS HOST APP PROCID MSGID SD [BOM]MSG`, NILVALUE `-` in any header field.
 * - RFC 3164 as ESXi sends it: `<PRI>TS HOST APP[PID]: MSG`, TS = RFC 3339 (ESXi default).
 * - RFC 3164 with a BSD time `Mmm dd hh:mm:ss` (no year, no zone): year from
 *   `options.referenceTime`, zone from `options.assumeTz`, `timeAssumed: true`.
 * - Receiver files: rsyslog `TS HOST prog[pid]: msg` / `TS HOST prog: msg` (the OMS sample).
 * - ESXi 8 vmsyslogd-written local files: `TS Sv(PRI)[+] APP[PID]: MSG` (`In(166) Hostd[1050232]:`):
 *   the severity token is not a host name; its number is the PRI; `[+]` (or `+`) marks a
 *   continuation line of a multi-line message (`continued`). This is the vmsyslogd file format of
 *   "ESXi 8 Log Message Formats", so the envelope covers it and readers need not.
 *
 * A line is NOT an envelope (undefined) when no program tag `APP[PID]:`/`APP:` follows the
 * timestamp/host, unless a `<PRI>` proves it is syslog: this keeps the local forms
 * `TS info hostd[tid] [...]` (6.x/7.0), `TS INFO vpxd 20973 [...]` (9.x) and vmware.log lines out.
 *
 * Truncated lines (ESXi cuts forwarded TCP messages at 1 KiB) yield what was parsed so far, as long
 * as the header itself got far enough to be recognised.
 */
import type { Envelope, ReadOptions } from "../types.js";
import { elementsEnd } from "./structured-data.js";
import {
  CANONICAL_ISO_LENGTH,
  canonicalIsoMs,
  isCanonicalIsoAt,
  isoTimeMs,
  scanBsdTime,
  scanIsoTime,
  type ScannedTime,
} from "../time.js";

const isDigit = (c: number): boolean => c >= 48 && c <= 57;

/** Index of the next space (or the end). */
function tokenEnd(s: string, i: number): number {
  const j = s.indexOf(" ", i);
  return j < 0 ? s.length : j;
}

function skipSpaces(s: string, i: number): number {
  while (s.charCodeAt(i) === 32 || s.charCodeAt(i) === 9) i++;
  return i;
}

const MAX_APP = 48;
const MAX_PID = 32;

/**
 * A program tag at `i`: `APP[PID]:` or `APP:`, followed by white space or the end of the line.
 * APP is 1-48 printable characters without space, `[`, `]` or `:`. Returns the index just after
 * the `:` (or -1) and, on success only, writes the tag's offsets into `h`.
 */
function scanTag(s: string, i: number, h: HeaderScan): number {
  const n = s.length;
  let j = i;
  while (j < n && j - i <= MAX_APP) {
    const c = s.charCodeAt(j);
    if (c === 91 /* [ */ || c === 58 /* : */ || c <= 32 || c === 93 /* ] */ || c === 127) break;
    j++;
  }
  if (j === i || j - i > MAX_APP || j >= n) return -1;
  const programEnd = j;
  let pidStart = -1;
  let pidEnd = -1;
  if (s.charCodeAt(j) === 91) {
    const p = j + 1;
    let k = p;
    while (k < n && k - p <= MAX_PID) {
      const c = s.charCodeAt(k);
      if (c === 93 || c <= 32) break;
      k++;
    }
    if (s.charCodeAt(k) !== 93 || k === p) return -1;
    pidStart = p;
    pidEnd = k;
    j = k + 1;
  }
  if (s.charCodeAt(j) !== 58) return -1;
  j++;
  if (j < n && s.charCodeAt(j) !== 32 && s.charCodeAt(j) !== 9) return -1;
  h.programStart = i;
  h.programEnd = programEnd;
  h.pidStart = pidStart;
  h.pidEnd = pidEnd;
  return j;
}

const SEVERITY_CODES = ["Em", "Al", "Cr", "Er", "Wa", "No", "In", "Db"];
/** The codes as `first << 8 | second` char codes: no two-character string per line. */
const SEVERITY_PAIRS = new Set(SEVERITY_CODES.map((c) => (c.charCodeAt(0) << 8) | c.charCodeAt(1)));

/**
 * ESXi 8 severity token at `i`: `In(166)`, `Db(167)`, `In(14)[+]`, `In(14)+`; then a space.
 * Returns the index after it (or -1) and, on success only, its PRI and marker in `h.sev*`.
 */
function scanSeverity(s: string, i: number, h: HeaderScan): number {
  if (s.charCodeAt(i + 2) !== 40 /* ( */) return -1;
  if (!SEVERITY_PAIRS.has((s.charCodeAt(i) << 8) | s.charCodeAt(i + 1))) return -1;
  let j = i + 3;
  let pri = 0;
  const p = j;
  while (isDigit(s.charCodeAt(j)) && j - p < 3) pri = pri * 10 + (s.charCodeAt(j++) - 48);
  if (j === p || s.charCodeAt(j) !== 41 /* ) */) return -1;
  j++;
  let continued = false;
  if (s.startsWith("[+]", j)) {
    continued = true;
    j += 3;
  } else if (s.charCodeAt(j) === 43 /* + */) {
    continued = true;
    j++;
  }
  if (j < s.length && s.charCodeAt(j) !== 32) return -1;
  h.sevPri = pri;
  h.sevContinued = continued;
  return j;
}

/**
 * Where the parts of a syslog header are in a line: offsets, no strings. Filled by `scanHeader`
 * (one object can be reused for every line); `parseEnvelope` builds the `Envelope` from it. Readers
 * use it directly on hot paths, to decide from the header alone whether a line needs reading.
 */
export interface HeaderScan {
  /** 0: not an envelope; 1: an envelope (the fields below); 2: RFC 5424 (use `parseEnvelope`). */
  kind: 0 | 1 | 2;
  /** `<PRI>`, else the ESXi 8 severity token's number, else -1. */
  pri: number;
  /**
   * The header's time as scanned (its `time` may be undefined: out-of-range fields), except for
   * the common `YYYY-MM-DDThh:mm:ss.mmmZ` form, read only when asked: use `headerTime`.
   */
  time: ScannedTime | undefined;
  /** Where the header's time starts (-1: none), and whether it is that common form, not read yet. */
  timeStart: number;
  timeCanonical: boolean;
  /** Host name `[hostStart, hostEnd)`; -1 when none. */
  hostStart: number;
  hostEnd: number;
  /** Program tag `[programStart, programEnd)`; -1 when none. */
  programStart: number;
  programEnd: number;
  /** `[pid]` `[pidStart, pidEnd)`; -1 when none. */
  pidStart: number;
  pidEnd: number;
  /** Start of the MSG (leading blanks and one BOM skipped); the line's length when empty. */
  bodyStart: number;
  /** ESXi 8 `[+]` marker. */
  continued: boolean;
  /** RFC 5424 (kind 2): where the TIMESTAMP field starts. */
  at5424: number;
  /** Scratch of `scanSeverity`. */
  sevPri: number;
  sevContinued: boolean;
}

/** A fresh, empty `HeaderScan` to pass to `scanHeader`. */
export function newHeaderScan(): HeaderScan {
  return {
    kind: 0,
    pri: -1,
    time: undefined,
    timeStart: -1,
    timeCanonical: false,
    hostStart: -1,
    hostEnd: -1,
    programStart: -1,
    programEnd: -1,
    pidStart: -1,
    pidEnd: -1,
    bodyStart: 0,
    continued: false,
    at5424: -1,
    sevPri: -1,
    sevContinued: false,
  };
}

/** The MSG start at `i`: leading blanks and a UTF-8 BOM skipped. */
function bodyStart(s: string, i: number): number {
  let j = skipSpaces(s, i);
  if (s.charCodeAt(j) === 0xfeff) j++;
  return j;
}

/**
 * Scans the syslog header of `line` into `h` (see the module comment for the accepted shapes) and
 * returns `h.kind`. Allocates nothing but the scanned time.
 */
export function scanHeader(line: string, options: ReadOptions, h: HeaderScan): 0 | 1 | 2 {
  const s = line;
  const n = s.length;
  h.kind = 0;
  h.pri = -1;
  h.time = undefined;
  h.timeStart = -1;
  h.timeCanonical = false;
  h.hostStart = h.hostEnd = -1;
  h.programStart = h.programEnd = -1;
  h.pidStart = h.pidEnd = -1;
  h.bodyStart = n;
  h.continued = false;
  h.at5424 = -1;
  let i = 0;
  if (s.charCodeAt(0) === 0xfeff) i = 1;
  let hasPri = false;
  // <PRI>
  if (s.charCodeAt(i) === 60 /* < */) {
    let j = i + 1;
    let pri = 0;
    while (isDigit(s.charCodeAt(j)) && j - i <= 3) pri = pri * 10 + (s.charCodeAt(j++) - 48);
    if (j === i + 1 || s.charCodeAt(j) !== 62 /* > */ || pri > 191) return 0;
    h.pri = pri;
    hasPri = true;
    i = j + 1;
    // RFC 5424 VERSION: a non-zero digit, up to 3 digits, then a space.
    const c = s.charCodeAt(i);
    if (isDigit(c) && c !== 48) {
      let k = i + 1;
      while (isDigit(s.charCodeAt(k)) && k - i < 3) k++;
      if (s.charCodeAt(k) === 32) {
        h.at5424 = k + 1;
        return (h.kind = 2);
      }
    }
  }
  // TIMESTAMP (RFC 3339 or BSD)
  let timeEnd: number;
  const c0 = s.charCodeAt(i);
  if (isCanonicalIsoAt(s, i)) {
    // Read to its end whatever its fields (see isCanonicalIsoAt); its value only when asked.
    h.timeCanonical = true;
    timeEnd = i + CANONICAL_ISO_LENGTH;
  } else {
    let t: ScannedTime | undefined;
    if (isDigit(c0)) t = scanIsoTime(s, i, options);
    else if (c0 >= 65 && c0 <= 90) t = scanBsdTime(s, i, options);
    if (t === undefined) return 0;
    h.time = t;
    timeEnd = t.end;
  }
  h.timeStart = i;
  if (timeEnd < n && s.charCodeAt(timeEnd) !== 32 && s.charCodeAt(timeEnd) !== 9) return 0;
  i = skipSpaces(s, timeEnd);
  if (i >= n) return hasPri ? (h.kind = 1) : 0;

  // ESXi 8 vmsyslogd file: severity token where a host would be.
  let sevEnd = scanSeverity(s, i, h);
  if (sevEnd < 0) {
    // A program tag right after the time: no host (`TS prog[pid]: msg`).
    let tagEnd = scanTag(s, i, h);
    if (tagEnd < 0) {
      const he = tokenEnd(s, i);
      h.hostStart = i;
      h.hostEnd = he;
      i = skipSpaces(s, he);
      if (i >= n) return hasPri ? (h.kind = 1) : 0;
      sevEnd = scanSeverity(s, i, h); // lenient: a receiver prefix in front of an ESXi 8 file line
      if (sevEnd >= 0) i = skipSpaces(s, sevEnd);
      tagEnd = scanTag(s, i, h);
      if (tagEnd < 0) {
        // RFC 3164 allows CONTENT without a TAG; only trust that when a PRI proves syslog.
        if (!hasPri) return 0;
        h.bodyStart = bodyStart(s, i);
        return (h.kind = 1);
      }
    }
    if (sevEnd >= 0) {
      if (!hasPri) h.pri = h.sevPri;
      if (h.sevContinued) h.continued = true;
    }
    h.bodyStart = bodyStart(s, tagEnd);
    return (h.kind = 1);
  }
  if (!hasPri) h.pri = h.sevPri;
  if (h.sevContinued) h.continued = true;
  i = skipSpaces(s, sevEnd);
  const tagEnd = scanTag(s, i, h);
  if (tagEnd < 0) return 0;
  h.bodyStart = bodyStart(s, tagEnd);
  return (h.kind = 1);
}

interface Fields {
  pri?: number;
  time?: string;
  timeAssumed?: boolean;
  host?: string;
  program?: string;
  pid?: string;
  structuredData?: string;
  continued?: boolean;
}

function build(f: Fields, body: string, line: string): Envelope {
  // Only set what is known: exactOptionalPropertyTypes, and JSON stays free of undefined.
  const e: {
    -readonly [K in keyof Envelope]: Envelope[K];
  } = { body, line };
  if (f.pri !== undefined) e.pri = f.pri;
  if (f.time !== undefined) e.time = f.time;
  if (f.timeAssumed) e.timeAssumed = true;
  if (f.host !== undefined) e.host = f.host;
  if (f.program !== undefined) e.program = f.program;
  if (f.pid !== undefined) e.pid = f.pid;
  if (f.structuredData !== undefined) e.structuredData = f.structuredData;
  if (f.continued) e.continued = true;
  return e;
}

/** The MSG part starting at `i`: leading blanks and a UTF-8 BOM dropped. */
function bodyFrom(s: string, i: number): string {
  let j = skipSpaces(s, i);
  if (s.charCodeAt(j) === 0xfeff) j++;
  return j >= s.length ? "" : s.slice(j);
}

const nil = (t: string): string | undefined => (t === "-" || t === "" ? undefined : t);

function parse5424(s: string, start: number, f: Fields, options: ReadOptions): Envelope {
  let i = start;
  const n = s.length;
  // TIMESTAMP
  if (s.charCodeAt(i) === 45 /* - */ && (i + 1 >= n || s.charCodeAt(i + 1) === 32)) {
    i += 1;
  } else {
    const t = scanIsoTime(s, i, options);
    const e = tokenEnd(s, i);
    if (t !== undefined && t.end === e) {
      if (t.time !== undefined) f.time = t.time;
      if (t.assumed) f.timeAssumed = true;
    }
    i = e;
  }
  // HOSTNAME APP-NAME PROCID MSGID
  const fields: string[] = [];
  while (fields.length < 4 && i < n) {
    i = skipSpaces(s, i);
    const e = tokenEnd(s, i);
    fields.push(s.slice(i, e));
    i = e;
  }
  const host = nil(fields[0] ?? "");
  const app = nil(fields[1] ?? "");
  const procid = nil(fields[2] ?? "");
  if (host !== undefined) f.host = host;
  if (app !== undefined) f.program = app;
  if (procid !== undefined) f.pid = procid;
  if (i >= n) return build(f, "", s);
  i = skipSpaces(s, i);
  // STRUCTURED-DATA
  if (s.charCodeAt(i) === 91 /* [ */) {
    const e = elementsEnd(s, i);
    if (e < 0) {
      f.structuredData = s.slice(i);
      return build(f, "", s);
    }
    f.structuredData = s.slice(i, e);
    i = e;
  } else {
    const e = tokenEnd(s, i);
    const sd = s.slice(i, e);
    if (sd !== "-" && sd !== "") f.structuredData = sd;
    i = e;
  }
  return build(f, bodyFrom(s, i), s);
}

/** The header time `scanHeader` found in `line` (undefined: none). */
export function headerTime(
  line: string,
  options: ReadOptions,
  h: HeaderScan,
): ScannedTime | undefined {
  if (h.timeCanonical) {
    h.timeCanonical = false;
    h.time = scanIsoTime(line, h.timeStart, options);
  }
  return h.time;
}

/**
 * The header time of `line` in epoch ms, as `Date.parse` reads `headerTime(…).time`; NaN when
 * there is none. The common form is read from its digits, without building the time string.
 */
export function headerTimeMs(line: string, h: HeaderScan): number {
  if (h.timeCanonical) return canonicalIsoMs(line, h.timeStart);
  const t = h.time?.time;
  return t === undefined ? NaN : isoTimeMs(t);
}

const scratch = newHeaderScan();

/**
 * The envelope of a syslog-wrapped line, or undefined when the line has no syslog header.
 * See the module comment for the accepted shapes.
 */
export function parseEnvelope(line: string, options: ReadOptions): Envelope | undefined {
  return scanHeader(line, options, scratch) === 0
    ? undefined
    : envelopeFromScan(line, options, scratch);
}

/** The envelope of `line` from its `scanHeader` result (`h.kind` 1 or 2). */
export function envelopeFromScan(line: string, options: ReadOptions, h: HeaderScan): Envelope {
  const kind = h.kind;
  const f: Fields = {};
  if (h.pri >= 0) f.pri = h.pri;
  if (kind === 2) return parse5424(line, h.at5424, f, options);
  const t = headerTime(line, options, h);
  if (t?.time !== undefined) f.time = t.time;
  if (t?.assumed) f.timeAssumed = true;
  if (h.hostStart >= 0) f.host = line.slice(h.hostStart, h.hostEnd);
  if (h.programStart >= 0) f.program = line.slice(h.programStart, h.programEnd);
  if (h.pidStart >= 0) f.pid = line.slice(h.pidStart, h.pidEnd);
  if (h.continued) f.continued = true;
  return build(f, h.bodyStart >= line.length ? "" : line.slice(h.bodyStart), line);
}

/** Syslog facility of a PRI value (13 = audit). */
export const facilityOf = (pri: number): number => pri >> 3;

/** Syslog severity of a PRI value (0 emergency .. 7 debug). */
export const severityOf = (pri: number): number => pri & 7;

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
import { scanBsdTime, scanIsoTime, type ScannedTime } from "../time.js";

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

interface Tag {
  readonly program: string;
  readonly pid?: string;
  /** Index just after the `:`. */
  readonly end: number;
}

const MAX_APP = 48;
const MAX_PID = 32;

/**
 * A program tag at `i`: `APP[PID]:` or `APP:`, followed by white space or the end of the line.
 * APP is 1-48 printable characters without space, `[`, `]` or `:`.
 */
function scanTag(s: string, i: number): Tag | undefined {
  const n = s.length;
  let j = i;
  while (j < n && j - i <= MAX_APP) {
    const c = s.charCodeAt(j);
    if (c === 91 /* [ */ || c === 58 /* : */ || c <= 32 || c === 93 /* ] */ || c === 127) break;
    j++;
  }
  if (j === i || j - i > MAX_APP || j >= n) return undefined;
  const program = s.slice(i, j);
  let pid: string | undefined;
  if (s.charCodeAt(j) === 91) {
    const p = j + 1;
    let k = p;
    while (k < n && k - p <= MAX_PID) {
      const c = s.charCodeAt(k);
      if (c === 93 || c <= 32) break;
      k++;
    }
    if (s.charCodeAt(k) !== 93 || k === p) return undefined;
    pid = s.slice(p, k);
    j = k + 1;
  }
  if (s.charCodeAt(j) !== 58) return undefined;
  j++;
  if (j < n && s.charCodeAt(j) !== 32 && s.charCodeAt(j) !== 9) return undefined;
  return pid === undefined ? { program, end: j } : { program, pid, end: j };
}

interface Severity {
  readonly pri: number;
  readonly continued: boolean;
  readonly end: number;
}

const SEVERITY_CODES = ["Em", "Al", "Cr", "Er", "Wa", "No", "In", "Db"];
/** The codes as `first << 8 | second` char codes: no two-character string per line. */
const SEVERITY_PAIRS = new Set(SEVERITY_CODES.map((c) => (c.charCodeAt(0) << 8) | c.charCodeAt(1)));

/** ESXi 8 severity token at `i`: `In(166)`, `Db(167)`, `In(14)[+]`, `In(14)+`; then a space. */
function scanSeverity(s: string, i: number): Severity | undefined {
  if (s.charCodeAt(i + 2) !== 40 /* ( */) return undefined;
  if (!SEVERITY_PAIRS.has((s.charCodeAt(i) << 8) | s.charCodeAt(i + 1))) return undefined;
  let j = i + 3;
  let pri = 0;
  const p = j;
  while (isDigit(s.charCodeAt(j)) && j - p < 3) pri = pri * 10 + (s.charCodeAt(j++) - 48);
  if (j === p || s.charCodeAt(j) !== 41 /* ) */) return undefined;
  j++;
  let continued = false;
  if (s.startsWith("[+]", j)) {
    continued = true;
    j += 3;
  } else if (s.charCodeAt(j) === 43 /* + */) {
    continued = true;
    j++;
  }
  if (j < s.length && s.charCodeAt(j) !== 32) return undefined;
  return { pri, continued, end: j };
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

/**
 * The envelope of a syslog-wrapped line, or undefined when the line has no syslog header.
 * See the module comment for the accepted shapes.
 */
export function parseEnvelope(line: string, options: ReadOptions): Envelope | undefined {
  const s = line;
  const n = s.length;
  let i = 0;
  if (s.charCodeAt(0) === 0xfeff) i = 1;
  const f: Fields = {};
  let hasPri = false;
  // <PRI>
  if (s.charCodeAt(i) === 60 /* < */) {
    let j = i + 1;
    let pri = 0;
    while (isDigit(s.charCodeAt(j)) && j - i <= 3) pri = pri * 10 + (s.charCodeAt(j++) - 48);
    if (j === i + 1 || s.charCodeAt(j) !== 62 /* > */ || pri > 191) return undefined;
    f.pri = pri;
    hasPri = true;
    i = j + 1;
    // RFC 5424 VERSION: a non-zero digit, up to 3 digits, then a space.
    const c = s.charCodeAt(i);
    if (isDigit(c) && c !== 48) {
      let k = i + 1;
      while (isDigit(s.charCodeAt(k)) && k - i < 3) k++;
      if (s.charCodeAt(k) === 32) return parse5424(s, k + 1, f, options);
    }
  }
  // TIMESTAMP (RFC 3339 or BSD)
  let t: ScannedTime | undefined;
  const c0 = s.charCodeAt(i);
  if (isDigit(c0)) t = scanIsoTime(s, i, options);
  else if (c0 >= 65 && c0 <= 90) t = scanBsdTime(s, i, options);
  if (t === undefined) return undefined;
  if (t.end < n && s.charCodeAt(t.end) !== 32 && s.charCodeAt(t.end) !== 9) return undefined;
  if (t.time !== undefined) f.time = t.time;
  if (t.assumed) f.timeAssumed = true;
  i = skipSpaces(s, t.end);
  if (i >= n) return hasPri ? build(f, "", s) : undefined;

  // ESXi 8 vmsyslogd file: severity token where a host would be.
  let sev = scanSeverity(s, i);
  if (sev === undefined) {
    // A program tag right after the time: no host (`TS prog[pid]: msg`).
    let tag = scanTag(s, i);
    if (tag === undefined) {
      const he = tokenEnd(s, i);
      const host = s.slice(i, he);
      i = skipSpaces(s, he);
      if (i >= n) return hasPri ? build({ ...f, host }, "", s) : undefined;
      sev = scanSeverity(s, i); // lenient: a receiver prefix in front of an ESXi 8 file line
      if (sev !== undefined) i = skipSpaces(s, sev.end);
      tag = scanTag(s, i);
      if (tag === undefined) {
        // RFC 3164 allows CONTENT without a TAG; only trust that when a PRI proves syslog.
        return hasPri ? build({ ...f, host }, bodyFrom(s, i), s) : undefined;
      }
      f.host = host;
    }
    if (sev !== undefined) {
      if (!hasPri) f.pri = sev.pri;
      if (sev.continued) f.continued = true;
    }
    f.program = tag.program;
    if (tag.pid !== undefined) f.pid = tag.pid;
    return build(f, bodyFrom(s, tag.end), s);
  }
  if (!hasPri) f.pri = sev.pri;
  if (sev.continued) f.continued = true;
  i = skipSpaces(s, sev.end);
  const tag = scanTag(s, i);
  if (tag === undefined) return undefined;
  f.program = tag.program;
  if (tag.pid !== undefined) f.pid = tag.pid;
  return build(f, bodyFrom(s, tag.end), s);
}

/** Syslog facility of a PRI value (13 = audit). */
export const facilityOf = (pri: number): number => pri >> 3;

/** Syslog severity of a PRI value (0 emergency .. 7 debug). */
export const severityOf = (pri: number): number => pri & 7;

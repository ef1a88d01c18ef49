/**
 * Timestamp normalisation for every reader: each source time becomes ISO 8601 UTC with
 * milliseconds (`2024-06-04T21:58:00.975Z`), or nothing.
 *
 * Scanners of syslog headers and VMware log lines (`scanIsoTime`, `scanBsdTime`):
 * - RFC 3339 with `Z` or an offset: exact.
 * - RFC 3339 without zone, and BSD `Mmm dd hh:mm:ss` (RFC 3164, no year, no zone): the zone is
 *   `ReadOptions.assumeTz`, and for BSD the year is inferred from `ReadOptions.referenceTime`
 *   (default now): a time more than a day after the reference belongs to the previous year.
 *   Both are reported as `assumed`.
 * They are hand-written, no regular expressions: they run on every line that passes the prefilter.
 *
 * Whole-value parsers for the vmware.log, vpxd, vCenter event and SIEM readers (`parseIsoTime`,
 * `timeFromParts`, `timeFromEpochMs`).
 */
import { DEFAULT_ZONE, MAX_OFFSET_MINUTES, wallToUtc } from "../shared/zone.js";
import type { ReadOptions } from "./types.js";

/** A whole value read as a time. */
export interface ParsedTime {
  /** UTC ISO 8601 with milliseconds. */
  readonly time: string;
  /** The source gave no zone: `assumeTz` was applied. */
  readonly assumed: boolean;
}

/** A timestamp found by a scanner at a position in a line. */
export interface ScannedTime {
  /** ISO 8601 UTC with milliseconds, or undefined when the fields are out of range. */
  readonly time: string | undefined;
  /** The year or the zone was not in the text and was assumed. */
  readonly assumed: boolean;
  /** Index just after the timestamp in the scanned string. */
  readonly end: number;
}

const DAY_MS = 86_400_000;

const isDigit = (c: number): boolean => c >= 48 && c <= 57;

/** Value of `len` decimal digits at `i`, or -1. */
function digits(s: string, i: number, len: number): number {
  if (i + len > s.length) return -1;
  let v = 0;
  for (let k = 0; k < len; k++) {
    const c = s.charCodeAt(i + k);
    if (!isDigit(c)) return -1;
    v = v * 10 + (c - 48);
  }
  return v;
}

const pad = (n: number, w: number): string => String(n).padStart(w, "0");

function validFields(y: number, mo: number, d: number, h: number, mi: number, s: number): boolean {
  if (mo < 1 || mo > 12 || d < 1 || d > 31 || h > 23 || mi > 59 || s > 60) return false;
  if (d > 28) {
    // Date.UTC rolls an impossible day over into the next month; reject it instead.
    const probe = new Date(Date.UTC(y, mo - 1, d));
    if (probe.getUTCDate() !== d) return false;
  }
  return y >= 1970 && y <= 9999;
}

/**
 * Epoch ms of a wall-clock time in `zone`, or undefined (invalid zone). The product's one
 * conversion (`shared/zone.ts`): a time in a DST gap is the first instant after it, a repeated
 * time the earlier instant; cached per (zone, local hour), so a line costs a map lookup.
 */
export function zonedToUtcMs(
  zone: string,
  y: number,
  mo: number,
  d: number,
  h: number,
  mi: number,
  s: number,
  ms: number,
): number | undefined {
  const utc = wallToUtc(zone, y, mo, d, h, mi, s, ms, "start");
  return Number.isNaN(utc) ? undefined : utc;
}

/** Milliseconds from a fraction of 1-9 digits at `i` (truncated, not rounded); `end` after it. */
function fraction(s: string, i: number): { ms: number; end: number } {
  let ms = 0;
  let k = 0;
  let j = i;
  while (j < s.length && isDigit(s.charCodeAt(j)) && k < 9) {
    if (k < 3) ms = ms * 10 + (s.charCodeAt(j) - 48);
    j++;
    k++;
  }
  for (let p = k; p < 3; p++) ms *= 10;
  return { ms, end: j };
}

/**
 * An RFC 3339 / ISO 8601 timestamp at `start`: `YYYY-MM-DD(T| )hh:mm[:ss][.frac][Z|±hh:mm|±hhmm]`.
 * `spaceSeparator` allows `YYYY-MM-DD hh:mm:ss` (old VMware local lines). Undefined when the text
 * at `start` is not shaped like one.
 */
export function scanIsoTime(
  s: string,
  start: number,
  options: ReadOptions,
  spaceSeparator = false,
): ScannedTime | undefined {
  const y = digits(s, start, 4);
  if (y < 0 || s.charCodeAt(start + 4) !== 45 /* - */) return undefined;
  const mo = digits(s, start + 5, 2);
  if (mo < 0 || s.charCodeAt(start + 7) !== 45) return undefined;
  const d = digits(s, start + 8, 2);
  const sep = s.charCodeAt(start + 10);
  if (d < 0 || !(sep === 84 /* T */ || (spaceSeparator && sep === 32))) return undefined;
  const h = digits(s, start + 11, 2);
  if (h < 0 || s.charCodeAt(start + 13) !== 58 /* : */) return undefined;
  const mi = digits(s, start + 14, 2);
  if (mi < 0) return undefined;
  let i = start + 16;
  let sec = 0;
  if (s.charCodeAt(i) === 58) {
    sec = digits(s, i + 1, 2);
    if (sec < 0) return undefined;
    i += 3;
  }
  let ms = 0;
  const fc = s.charCodeAt(i);
  if ((fc === 46 /* . */ || fc === 44) /* , */ && isDigit(s.charCodeAt(i + 1))) {
    const f = fraction(s, i + 1);
    ms = f.ms;
    i = f.end;
  }
  const ok = validFields(y, mo, d, h, mi, sec);
  const sec59 = Math.min(sec, 59);
  const z = s.charCodeAt(i);
  if (z === 90 /* Z */ || z === 122 /* z */) {
    if (!ok) return { time: undefined, assumed: false, end: i + 1 };
    // Fast path: already `YYYY-MM-DDThh:mm:ss.mmmZ` (every ESXi line).
    if (i === start + 23 && sec === sec59 && isCanonicalIsoAt(s, start))
      return { time: s.slice(start, i + 1), assumed: false, end: i + 1 };
    if (sec === sec59)
      return {
        time: `${pad(y, 4)}-${pad(mo, 2)}-${pad(d, 2)}T${pad(h, 2)}:${pad(mi, 2)}:${pad(sec, 2)}.${pad(ms, 3)}Z`,
        assumed: false,
        end: i + 1,
      };
    return {
      time: timeFromEpochMs(Date.UTC(y, mo - 1, d, h, mi, 59, 999)),
      assumed: false,
      end: i + 1,
    };
  }
  if (z === 43 /* + */ || z === 45 /* - */) {
    const oh = digits(s, i + 1, 2);
    let om = -1;
    let end = -1;
    if (oh >= 0 && s.charCodeAt(i + 3) === 58) {
      om = digits(s, i + 4, 2);
      end = i + 6;
    } else if (oh >= 0) {
      om = digits(s, i + 3, 2);
      end = i + 5;
    }
    if (om >= 0 && oh <= 23 && om <= 59) {
      if (!ok) return { time: undefined, assumed: false, end };
      const sign = z === 43 ? 1 : -1;
      const utc = Date.UTC(y, mo - 1, d, h, mi, sec59, ms) - sign * (oh * 60 + om) * 60_000;
      return { time: timeFromEpochMs(utc), assumed: false, end };
    }
  }
  // No zone: wall-clock time in the assumed zone.
  if (!ok) return { time: undefined, assumed: true, end: i };
  const utc = zonedToUtcMs(options.assumeTz, y, mo, d, h, mi, sec59, ms);
  return { time: utc === undefined ? undefined : timeFromEpochMs(utc), assumed: true, end: i };
}

/** Length of `YYYY-MM-DDThh:mm:ss.mmmZ`. */
export const CANONICAL_ISO_LENGTH = 24;

/**
 * `s` at `start` is shaped `YYYY-MM-DDThh:mm:ss.mmmZ` (digits where digits go; the fields may be
 * out of range). `scanIsoTime` reads such a time to `start + 24` and does not fail on it.
 */
export function isCanonicalIsoAt(s: string, start: number): boolean {
  if (start + CANONICAL_ISO_LENGTH > s.length) return false;
  for (let k = 0; k < 23; k++) {
    const c = s.charCodeAt(start + k);
    switch (k) {
      case 4:
      case 7:
        if (c !== 45) return false;
        break;
      case 10:
        if (c !== 84) return false;
        break;
      case 13:
      case 16:
        if (c !== 58) return false;
        break;
      case 19:
        if (c !== 46) return false;
        break;
      default:
        if (!isDigit(c)) return false;
    }
  }
  return s.charCodeAt(start + 23) === 90;
}

/**
 * Epoch ms of the time `scanIsoTime` reads at `start` when `isCanonicalIsoAt(s, start)`, as
 * `Date.parse` reads its `time`: NaN when the fields are out of range (no time).
 */
export function canonicalIsoMs(s: string, start: number): number {
  const y = digits(s, start, 4);
  const mo = digits(s, start + 5, 2);
  const d = digits(s, start + 8, 2);
  const h = digits(s, start + 11, 2);
  const mi = digits(s, start + 14, 2);
  const sec = digits(s, start + 17, 2);
  const ms = digits(s, start + 20, 3);
  if (!validFields(y, mo, d, h, mi, sec)) return NaN;
  // A leap second is read as :59.999 (see scanIsoTime).
  return sec === 60
    ? Date.UTC(y, mo - 1, d, h, mi, 59, 999)
    : Date.UTC(y, mo - 1, d, h, mi, sec, ms);
}

/**
 * `Date.parse(time)`, with the form every scanner here returns (`YYYY-MM-DDThh:mm:ss.mmmZ`, valid
 * fields) read without the general date parser (hot path: one call per continuation line).
 */
export function isoTimeMs(time: string): number {
  if (time.length === CANONICAL_ISO_LENGTH && isCanonicalIsoAt(time, 0)) {
    const ms = canonicalIsoMs(time, 0);
    // a leap second (:60) is left to Date.parse, as is every invalid field
    if (!Number.isNaN(ms) && digits(time, 17, 2) <= 59) return ms;
  }
  return Date.parse(time);
}

const MONTHS = ["Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"];

function monthAt(s: string, i: number): number {
  if (i + 3 > s.length) return -1;
  const m = s.slice(i, i + 3);
  for (let k = 0; k < 12; k++) if (MONTHS[k] === m) return k + 1;
  return -1;
}

const refCache = new Map<string, number>();

/** The reference instant for year inference (epoch ms). */
export function referenceMs(options: ReadOptions): number {
  const ref = options.referenceTime;
  if (ref === undefined) return Date.now();
  let v = refCache.get(ref);
  if (v === undefined) {
    v = Date.parse(ref);
    if (Number.isNaN(v)) v = Date.now();
    if (refCache.size > 64) refCache.clear();
    refCache.set(ref, v);
  }
  return v;
}

/**
 * A BSD (RFC 3164) timestamp at `start`: `Mmm dd hh:mm:ss[.frac]` (day space- or zero-padded),
 * also `Mmm dd yyyy hh:mm:ss` as some receivers write it. Undefined when not shaped like one.
 */
export function scanBsdTime(
  s: string,
  start: number,
  options: ReadOptions,
): ScannedTime | undefined {
  const mo = monthAt(s, start);
  if (mo < 0 || s.charCodeAt(start + 3) !== 32) return undefined;
  let i = start + 4;
  if (s.charCodeAt(i) === 32) i++; // "Nov  4"
  let d = digits(s, i, 2);
  if (d >= 0) i += 2;
  else {
    d = digits(s, i, 1);
    if (d < 0) return undefined;
    i += 1;
  }
  if (s.charCodeAt(i) !== 32) return undefined;
  i++;
  let year: number | undefined;
  const maybeYear = digits(s, i, 4);
  if (maybeYear >= 0 && s.charCodeAt(i + 4) === 32) {
    year = maybeYear;
    i += 5;
  }
  const h = digits(s, i, 2);
  if (h < 0 || s.charCodeAt(i + 2) !== 58) return undefined;
  const mi = digits(s, i + 3, 2);
  if (mi < 0 || s.charCodeAt(i + 5) !== 58) return undefined;
  const sec = digits(s, i + 6, 2);
  if (sec < 0) return undefined;
  i += 8;
  let ms = 0;
  if (s.charCodeAt(i) === 46 && isDigit(s.charCodeAt(i + 1))) {
    const f = fraction(s, i + 1);
    ms = f.ms;
    i = f.end;
  }
  const sec59 = Math.min(sec, 59);
  const zone = options.assumeTz;
  if (year !== undefined) {
    const utc = validFields(year, mo, d, h, mi, sec)
      ? zonedToUtcMs(zone, year, mo, d, h, mi, sec59, ms)
      : undefined;
    return { time: utc === undefined ? undefined : timeFromEpochMs(utc), assumed: true, end: i };
  }
  const ref = referenceMs(options);
  const refYear = new Date(ref).getUTCFullYear();
  // The most recent year (from the reference year down) in which the date exists and is not
  // more than a day after the reference; Feb 29 may need a few years back.
  for (let y = refYear + 1; y >= refYear - 4; y--) {
    if (!validFields(y, mo, d, h, mi, sec)) continue;
    const utc = zonedToUtcMs(zone, y, mo, d, h, mi, sec59, ms);
    if (utc === undefined) return { time: undefined, assumed: true, end: i };
    if (utc > ref + DAY_MS) continue;
    return { time: timeFromEpochMs(utc), assumed: true, end: i };
  }
  return { time: undefined, assumed: true, end: i };
}

/**
 * An ISO 8601 / RFC 3339 timestamp as UTC ISO with milliseconds (fraction truncated, not
 * rounded), or undefined when `text` is not one or names an impossible date. A timestamp
 * without a zone is read in `assumeTz` and flagged `assumed`. The same scanner as header
 * timestamps (`scanIsoTime`), so every reader reads a time the same way.
 */
export function parseIsoTime(text: string, assumeTz = DEFAULT_ZONE): ParsedTime | undefined {
  const value = text.trim();
  const scanned = scanIsoTime(value, 0, { assumeTz }, true);
  if (!scanned || scanned.time === undefined || scanned.end !== value.length) return undefined;
  return { time: scanned.time, assumed: scanned.assumed };
}

export interface TimeParts {
  readonly year: number;
  readonly month: number;
  readonly day: number;
  readonly hour: number;
  readonly minute: number;
  readonly second: number;
  readonly millisecond: number;
}

/**
 * Calendar parts plus an optional zone (`Z`, `+02:00`, `-0500`) as UTC ISO. Without a zone the
 * parts are read in `assumeTz` (an IANA name). Undefined for an impossible date or unknown zone.
 */
export function timeFromParts(
  p: TimeParts,
  zone: string | undefined,
  assumeTz = DEFAULT_ZONE,
): ParsedTime | undefined {
  if (p.month < 1 || p.month > 12 || p.day < 1 || p.day > 31) return undefined;
  if (p.hour > 23 || p.minute > 59 || p.second > 60) return undefined;
  // Reject Feb 30 and friends: Date.UTC would silently roll them over.
  const probe = new Date(Date.UTC(p.year, p.month - 1, p.day));
  if (probe.getUTCDate() !== p.day || probe.getUTCMonth() !== p.month - 1) return undefined;
  const second = Math.min(p.second, 59); // a leap second is kept as :59
  if (zone === undefined) {
    const utc = zonedToUtcMs(assumeTz, p.year, p.month, p.day, p.hour, p.minute, second, 0);
    if (utc === undefined) return undefined;
    return { time: new Date(utc + p.millisecond).toISOString(), assumed: true };
  }
  let offsetMinutes = 0;
  if (zone !== "Z" && zone !== "z") {
    const digits = zone.slice(1).replace(":", "");
    const hours = Number(digits.slice(0, 2));
    const minutes = digits.length > 2 ? Number(digits.slice(2, 4)) : 0;
    if (minutes > 59 || hours * 60 + minutes > MAX_OFFSET_MINUTES) return undefined;
    offsetMinutes = (zone.startsWith("-") ? -1 : 1) * (hours * 60 + minutes);
  }
  const ms =
    Date.UTC(p.year, p.month - 1, p.day, p.hour, p.minute, second, p.millisecond) -
    offsetMinutes * 60_000;
  const date = new Date(ms);
  if (Number.isNaN(date.getTime())) return undefined;
  return { time: date.toISOString(), assumed: false };
}

/** Milliseconds since the epoch as UTC ISO, or undefined when out of range. */
export function timeFromEpochMs(ms: number): string | undefined {
  if (!Number.isFinite(ms)) return undefined;
  const date = new Date(ms);
  return Number.isNaN(date.getTime()) ? undefined : date.toISOString();
}

/** Milliseconds since the epoch as an exact (not assumed) time, or undefined when out of range. */
export function epochTime(ms: number): ParsedTime | undefined {
  const time = timeFromEpochMs(ms);
  return time === undefined ? undefined : { time, assumed: false };
}

/**
 * Timestamp normalisation shared by the vmware.log, vpxd and vCenter event readers: every source
 * time becomes ISO 8601 UTC with milliseconds (`2024-06-04T21:58:00.975Z`), or nothing.
 */
import { DateTime } from "luxon";

export interface ParsedTime {
  /** UTC ISO 8601 with milliseconds. */
  readonly time: string;
  /** The source gave no zone: `assumeTz` was applied. */
  readonly assumed: boolean;
}

// Any fraction length (vCenter writes 5-6 digits, `2021-09-06T14:40:13.26309Z`); zone optional.
const ISO =
  /^(\d{4})-(\d{2})-(\d{2})[T ](\d{2}):(\d{2}):(\d{2})(?:[.,](\d{1,9}))?\s*(Z|z|[+-]\d{2}(?::?\d{2})?)?$/;

/**
 * An ISO 8601 / RFC 3339 timestamp as UTC ISO with milliseconds (fraction truncated, not
 * rounded), or undefined when `text` is not one or names an impossible date. A timestamp
 * without a zone is read in `assumeTz` and flagged `assumed`.
 */
export function parseIsoTime(text: string, assumeTz = "UTC"): ParsedTime | undefined {
  const m = ISO.exec(text.trim());
  if (!m) return undefined;
  const frac = ((m[7] ?? "") + "000").slice(0, 3);
  return timeFromParts(
    {
      year: Number(m[1]),
      month: Number(m[2]),
      day: Number(m[3]),
      hour: Number(m[4]),
      minute: Number(m[5]),
      second: Number(m[6]),
      millisecond: Number(frac),
    },
    m[8],
    assumeTz,
  );
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
  assumeTz = "UTC",
): ParsedTime | undefined {
  if (p.month < 1 || p.month > 12 || p.day < 1 || p.day > 31) return undefined;
  if (p.hour > 23 || p.minute > 59 || p.second > 60) return undefined;
  // Reject Feb 30 and friends: Date.UTC would silently roll them over.
  const probe = new Date(Date.UTC(p.year, p.month - 1, p.day));
  if (probe.getUTCDate() !== p.day || probe.getUTCMonth() !== p.month - 1) return undefined;
  const second = Math.min(p.second, 59); // a leap second is kept as :59
  if (zone === undefined) {
    const dt = DateTime.fromObject({ ...p, second }, { zone: assumeTz });
    if (!dt.isValid) return undefined;
    return { time: new Date(dt.toMillis()).toISOString(), assumed: true };
  }
  let offsetMinutes = 0;
  if (zone !== "Z" && zone !== "z") {
    const digits = zone.slice(1).replace(":", "");
    const hours = Number(digits.slice(0, 2));
    const minutes = digits.length > 2 ? Number(digits.slice(2, 4)) : 0;
    if (hours > 18 || minutes > 59) return undefined;
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

/**
 * Time zones and the one wall-clock ↔ UTC conversion of the product: `--assume-tz` for log
 * timestamps without a zone, `--since`/`--until` dates, policy sites, windows and calendars all
 * go through `wallToUtc` (docs/DESIGN.md, "Policy: time, calendars and precedence", "One clock"):
 * - a wall time that does not exist (spring-forward gap) is the first instant after the gap;
 * - a wall time that happens twice (fall-back) is the EARLIER instant as a start (and for a log
 *   timestamp, which is read as a start: RFC 5545 §3.3.5 and most libraries agree), the LATER one
 *   as an end, so a span covers every wall-clock minute it names.
 * UTC → wall time is `offsetAt`. The zone used when none is given is `DEFAULT_ZONE`.
 */
import { DateTime, IANAZone } from "luxon";

/** The zone of timestamps without one and of the built-in policy, when the user names none. */
export const DEFAULT_ZONE = "UTC";

/** Widest UTC offset a user may write in an ISO 8601 time (ISO 8601 / RFC 3339 practice). */
export const MAX_OFFSET_MINUTES = 18 * 60;

/** True for IANA zone names the runtime knows (`Europe/Paris`, `UTC`); false for offsets. */
export function isValidZone(zone: string): boolean {
  if (zone === "UTC") return true; // the default: no need to load the zone data
  if (!/^[A-Za-z][A-Za-z0-9_+\-/]*$/.test(zone)) return false;
  // luxon builds an Intl formatter per question: remember the answers (a calendar asks per event)
  let known = validZones.get(zone);
  if (known === undefined) {
    known = IANAZone.isValidZone(zone);
    if (validZones.size >= 1024) validZones.clear();
    validZones.set(zone, known);
  }
  return known;
}

const validZones = new Map<string, boolean>();

const isUtcName = (zone: string): boolean =>
  zone === "UTC" || zone === "utc" || zone === "Z" || zone === "Etc/UTC";

const MINUTE = 60_000;
const HOUR = 60 * MINUTE;
const DAY = 24 * HOUR;

const zoneCache = new Map<string, IANAZone>();
const ianaZone = (zone: string): IANAZone => {
  let z = zoneCache.get(zone);
  if (!z) {
    z = IANAZone.create(zone);
    if (zoneCache.size >= 1024) zoneCache.clear();
    zoneCache.set(zone, z);
  }
  return z;
};

const BUCKET = 6 * HOUR;
const MAX_CACHED = 200_000;
// Offsets per zone and 6-hour bucket of instants. A bucket is cached only when the offset is the
// same at its first and last millisecond (no zone changes twice within 6 hours), so cached
// answers are exact.
const offsetCache = new Map<string, Map<number, number>>();

/** UTC offset of `zone` at instant `ms`, in minutes (NaN for a zone the runtime does not know). */
export function offsetAt(zone: string, ms: number): number {
  if (isUtcName(zone)) return 0;
  const bucket = Math.floor(ms / BUCKET);
  let byBucket = offsetCache.get(zone);
  if (!byBucket) {
    byBucket = new Map();
    if (offsetCache.size >= 1024) offsetCache.clear();
    offsetCache.set(zone, byBucket);
  }
  const cached = byBucket.get(bucket);
  if (cached !== undefined) return cached;
  const z = ianaZone(zone);
  const first = z.offset(bucket * BUCKET);
  if (first === z.offset(bucket * BUCKET + BUCKET - 1)) {
    if (byBucket.size >= MAX_CACHED) byBucket.clear();
    byBucket.set(bucket, first);
    return first;
  }
  return z.offset(ms);
}

/** Which instant a repeated wall time stands for: the earlier (a start) or the later (an end). */
export type WallEdge = "start" | "end";

/**
 * The instant of a "naive" wall time (the wall-clock fields read as if UTC, `Date.UTC(...)`) in
 * `zone`, by the rules above; found from the offsets a day either side (no zone changes twice
 * within a day). NaN for an unknown zone.
 */
function resolveNaive(zone: string, naive: number, edge: WallEdge): number {
  const a = offsetAt(zone, naive - DAY);
  const b = offsetAt(zone, naive);
  const c = offsetAt(zone, naive + DAY);
  if (Number.isNaN(a) || Number.isNaN(b) || Number.isNaN(c)) return Number.NaN;
  let lo = Number.POSITIVE_INFINITY;
  let hi = Number.NEGATIVE_INFINITY;
  let best: number | undefined;
  for (const o of [a, b, c]) {
    const t = naive - o * MINUTE;
    if (t < lo) lo = t;
    if (t > hi) hi = t;
    if (offsetAt(zone, t) !== o) continue;
    if (best === undefined || (edge === "start" ? t < best : t > best)) best = t;
  }
  if (best !== undefined) return best;
  // In a gap: the transition between the two candidate instants is the first instant after it.
  const before = offsetAt(zone, lo);
  while (hi - lo > 1) {
    const mid = Math.floor((lo + hi) / 2);
    if (offsetAt(zone, mid) === before) lo = mid;
    else hi = mid;
  }
  return hi;
}

// Per (zone, wall hour): the one offset every wall time of that hour has, or NaN when the hour
// holds a DST gap or repeat (then each time is resolved exactly). Log timestamps hit this on
// every line read with `--assume-tz`.
const hourCache = new Map<string, Map<number, number>>();
const MAX_HOURS = 100_000;

function hourOffset(zone: string, hourIndex: number): number {
  let byHour = hourCache.get(zone);
  if (!byHour) {
    byHour = new Map();
    if (hourCache.size >= 1024) hourCache.clear();
    hourCache.set(zone, byHour);
  }
  let offset = byHour.get(hourIndex);
  if (offset === undefined) {
    const first = hourIndex * HOUR;
    const last = first + HOUR - 1;
    const t0 = resolveNaive(zone, first, "start");
    const t1 = resolveNaive(zone, last, "end");
    const regular =
      t1 - t0 === HOUR - 1 &&
      resolveNaive(zone, first, "end") === t0 &&
      resolveNaive(zone, last, "start") === t1;
    offset = regular ? (first - t0) / MINUTE : Number.NaN;
    if (byHour.size >= MAX_HOURS) byHour.clear();
    byHour.set(hourIndex, offset);
  }
  return offset;
}

/**
 * Epoch ms of wall-clock time `naive` (its fields as `Date.UTC` reads them, so minutes past 1440
 * run into the next day) in `zone`, by the DST rules above. NaN for an unknown zone.
 */
export function wallMsToUtc(zone: string, naive: number, edge: WallEdge = "start"): number {
  if (isUtcName(zone)) return naive;
  const offset = hourOffset(zone, Math.floor(naive / HOUR));
  return Number.isNaN(offset) ? resolveNaive(zone, naive, edge) : naive - offset * MINUTE;
}

/** `wallMsToUtc` from calendar fields (month 1–12). */
export function wallToUtc(
  zone: string,
  year: number,
  month: number,
  day: number,
  hour: number,
  minute: number,
  second: number,
  ms: number,
  edge: WallEdge = "start",
): number {
  return wallMsToUtc(zone, Date.UTC(year, month - 1, day, hour, minute, second, ms), edge);
}

/**
 * Epoch ms of ISO 8601 text a user wrote with a zone designator (`Z`, `+01:00`), or undefined
 * when it is not one or its offset lies outside ±18:00. Text without a designator is read in
 * `zoneless` when given, else refused.
 */
export function parseIsoInstant(text: string, zoneless?: string): number | undefined {
  const value = text.trim();
  const hasZone = /(?:Z|[+-]\d{2}(?::?\d{2})?)$/i.test(value) && /T/i.test(value);
  if (!hasZone && zoneless === undefined) return undefined;
  const dt = hasZone
    ? DateTime.fromISO(value, { setZone: true })
    : DateTime.fromISO(value, { zone: zoneless ?? DEFAULT_ZONE });
  if (!dt.isValid || Math.abs(dt.offset) > MAX_OFFSET_MINUTES) return undefined;
  return dt.toMillis();
}

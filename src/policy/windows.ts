/**
 * Local time for the policy: resolving wall-clock times in an IANA zone across DST changes, weekly
 * schedules (business hours, allowed hours, weekly windows), holidays, RRULE expansion (ical.js for
 * the recurrence arithmetic only) and iCalendar files. Every wall time goes through `resolveLocal`,
 * so DST gaps and repeats are handled one way everywhere (docs/policy.md, "Time"):
 * - a start or end inside a spring-forward gap moves to the first valid instant after the gap;
 * - a start inside a repeated (fall-back) hour takes the EARLIER instant, an end the LATER one, so a
 *   span covers every wall-clock minute it names (22:00–02:00 covers both 01:00 hours).
 */
import ICAL from "ical.js";
import { DateTime, IANAZone } from "luxon";
import type {
  DaySpan,
  Holiday,
  IcsEvent,
  Minutes,
  Schedule,
  Weekday,
  WindowOccurrence,
} from "./types.js";
import { WEEKDAYS } from "./types.js";

const MINUTE = 60_000;
const HOUR = 60 * MINUTE;
const DAY = 24 * HOUR;

/* ------------------------------------------------------------------------------------------------
 * Zones and local time
 * ---------------------------------------------------------------------------------------------- */

export { isValidZone } from "../shared/zone.js";

const zoneCache = new Map<string, IANAZone>();
const ianaZone = (zone: string): IANAZone => {
  let z = zoneCache.get(zone);
  if (!z) {
    z = IANAZone.create(zone);
    zoneCache.set(zone, z);
  }
  return z;
};

const BUCKET = 6 * 60 * MINUTE;
const MAX_CACHED_BUCKETS = 200_000;
// Offsets per zone and 6-hour bucket. A bucket is cached only when the offset is the same at its
// first and last millisecond (no transition inside; no zone changes twice within 6 hours), so
// cached answers are exact.
const offsetCache = new Map<string, Map<number, number>>();

/** UTC offset of `zone` at instant `ms`, in minutes. */
export function offsetAt(zone: string, ms: number): number {
  const bucket = Math.floor(ms / BUCKET);
  let byBucket = offsetCache.get(zone);
  if (!byBucket) {
    byBucket = new Map();
    offsetCache.set(zone, byBucket);
  }
  const cached = byBucket.get(bucket);
  if (cached !== undefined) return cached;
  const z = ianaZone(zone);
  const first = z.offset(bucket * BUCKET);
  if (first === z.offset(bucket * BUCKET + BUCKET - 1)) {
    if (byBucket.size >= MAX_CACHED_BUCKETS) byBucket.clear();
    byBucket.set(bucket, first);
    return first;
  }
  return z.offset(ms);
}

/** A local calendar date. */
export interface LocalDate {
  readonly year: number;
  readonly month: number;
  readonly day: number;
}

/**
 * The UTC instant of local wall time (date, minutes after midnight, seconds) in `zone`.
 * `edge: "start"` takes the earlier instant of a repeated time, `"end"` the later one; a time in a
 * DST gap becomes the first instant after the gap. Minutes may exceed 1440 (next day).
 */
export function resolveLocal(
  zone: string,
  date: LocalDate,
  minutes: number,
  seconds: number,
  edge: "start" | "end",
): number {
  const naive = Date.UTC(date.year, date.month - 1, date.day, 0, minutes, seconds);
  const offsets = new Set([
    offsetAt(zone, naive - DAY),
    offsetAt(zone, naive),
    offsetAt(zone, naive + DAY),
  ]);
  const valid: number[] = [];
  const tried: number[] = [];
  for (const o of offsets) {
    const t = naive - o * MINUTE;
    tried.push(t);
    if (offsetAt(zone, t) === o) valid.push(t);
  }
  if (valid.length > 0) return edge === "start" ? Math.min(...valid) : Math.max(...valid);
  // In a gap: find the transition between the two candidate instants.
  let lo = Math.min(...tried);
  let hi = Math.max(...tried);
  const before = offsetAt(zone, lo);
  while (hi - lo > 1) {
    const mid = Math.floor((lo + hi) / 2);
    if (offsetAt(zone, mid) === before) lo = mid;
    else hi = mid;
  }
  return hi;
}

/** Local date, weekday and time of day of an instant in `zone`. */
export interface LocalTime extends LocalDate {
  readonly weekday: Weekday;
  readonly hour: number;
  readonly minute: number;
  readonly second: number;
}

export function localTime(zone: string, ms: number): LocalTime {
  const d = new Date(ms + offsetAt(zone, ms) * MINUTE);
  return {
    year: d.getUTCFullYear(),
    month: d.getUTCMonth() + 1,
    day: d.getUTCDate(),
    weekday: WEEKDAYS[(d.getUTCDay() + 6) % 7] ?? "mon",
    hour: d.getUTCHours(),
    minute: d.getUTCMinutes(),
    second: d.getUTCSeconds(),
  };
}

/** Adds calendar days to a local date. */
export function addDays(date: LocalDate, days: number): LocalDate {
  const d = new Date(Date.UTC(date.year, date.month - 1, date.day + days));
  return { year: d.getUTCFullYear(), month: d.getUTCMonth() + 1, day: d.getUTCDate() };
}

export const weekdayOf = (date: LocalDate): Weekday => {
  const js = new Date(Date.UTC(date.year, date.month - 1, date.day)).getUTCDay(); // 0 = Sunday
  return WEEKDAYS[(js + 6) % 7] ?? "mon";
};

const pad = (n: number, width = 2): string => String(n).padStart(width, "0");

export const formatDate = (d: LocalDate): string =>
  `${pad(d.year, 4)}-${pad(d.month)}-${pad(d.day)}`;

export const formatMinutes = (m: Minutes): string => `${pad(Math.floor(m / 60))}:${pad(m % 60)}`;

const DAY_LABEL: ReadonlyMap<Weekday, string> = new Map([
  ["mon", "Mon"],
  ["tue", "Tue"],
  ["wed", "Wed"],
  ["thu", "Thu"],
  ["fri", "Fri"],
  ["sat", "Sat"],
  ["sun", "Sun"],
]);
export const dayLabel = (d: Weekday): string => DAY_LABEL.get(d) ?? d;

/** `Sat 02:14` in the zone. */
export function formatLocalShort(zone: string, ms: number): string {
  const t = localTime(zone, ms);
  return `${dayLabel(t.weekday)} ${pad(t.hour)}:${pad(t.minute)}`;
}

/** `Sun 2026-11-01 01:30 UTC-05:00` in the zone (the offset tells repeated hours apart). */
export function formatLocalLong(zone: string, ms: number): string {
  const dt = DateTime.fromMillis(ms, { zone });
  return `${dt.toFormat("ccc yyyy-MM-dd HH:mm")} UTC${dt.toFormat("ZZ")}`;
}

export function formatUtc(ms: number): string {
  return new Date(ms).toISOString().replace(/:\d\d\.\d{3}Z$/, "Z");
}

/* ------------------------------------------------------------------------------------------------
 * Parsing wall-clock text
 * ---------------------------------------------------------------------------------------------- */

/** `HH:MM` → minutes; `24:00` only when `allow24`. */
export function parseHhMm(text: string, allow24: boolean): Minutes | undefined {
  const m = /^([01]\d|2[0-4]):([0-5]\d)$/.exec(text);
  if (!m) return undefined;
  const h = Number(m[1]);
  const min = Number(m[2]);
  if (h === 24 && (min !== 0 || !allow24)) return undefined;
  return h * 60 + min;
}

const FULL_DAYS: ReadonlyMap<string, Weekday> = new Map([
  ["monday", "mon"],
  ["tuesday", "tue"],
  ["wednesday", "wed"],
  ["thursday", "thu"],
  ["friday", "fri"],
  ["saturday", "sat"],
  ["sunday", "sun"],
]);

const oneDay = (text: string): Weekday | undefined => {
  const t = text.trim().toLowerCase();
  return (WEEKDAYS as readonly string[]).includes(t) ? (t as Weekday) : FULL_DAYS.get(t);
};

/** `mon`, `Monday`, `mon-fri` (wrapping `fri-mon` allowed), `weekdays`, `weekend`, `daily`. */
export function parseDays(text: string): Weekday[] | undefined {
  const t = text.trim().toLowerCase();
  if (t === "weekdays") return ["mon", "tue", "wed", "thu", "fri"];
  if (t === "weekend") return ["sat", "sun"];
  if (t === "daily" || t === "every day" || t === "all") return [...WEEKDAYS];
  const dash = t.indexOf("-");
  if (dash < 0) {
    const d = oneDay(t);
    return d ? [d] : undefined;
  }
  const a = oneDay(t.slice(0, dash));
  const b = oneDay(t.slice(dash + 1));
  if (!a || !b) return undefined;
  const out: Weekday[] = [];
  let i = WEEKDAYS.indexOf(a);
  for (let n = 0; n < 7; n++) {
    const d = WEEKDAYS[i % 7];
    if (d === undefined) break;
    out.push(d);
    if (d === b) break;
    i++;
  }
  return out;
}

/** Local wall date-time `YYYY-MM-DD[THH:MM[:SS]]` (no zone designator). */
export interface WallTime {
  readonly date: LocalDate;
  readonly minutes: number;
  readonly seconds: number;
  readonly dateOnly: boolean;
}

export function parseWallTime(text: string): WallTime | undefined {
  const m = /^(\d{4})-(\d{2})-(\d{2})(?:[T ](\d{2}):(\d{2})(?::(\d{2}))?)?$/.exec(text.trim());
  if (!m) return undefined;
  const date = { year: Number(m[1]), month: Number(m[2]), day: Number(m[3]) };
  if (!isRealDate(date)) return undefined;
  if (m[4] === undefined) return { date, minutes: 0, seconds: 0, dateOnly: true };
  const h = Number(m[4]);
  const min = Number(m[5]);
  const s = m[6] === undefined ? 0 : Number(m[6]);
  if (h > 23 || min > 59 || s > 59) return undefined;
  return { date, minutes: h * 60 + min, seconds: s, dateOnly: false };
}

export function isRealDate(d: LocalDate): boolean {
  if (d.month < 1 || d.month > 12 || d.day < 1) return false;
  const probe = new Date(Date.UTC(d.year, d.month - 1, d.day));
  return probe.getUTCMonth() === d.month - 1 && probe.getUTCDate() === d.day;
}

/**
 * A point in time as written in a policy: with `Z` or an offset it is absolute; without, it is local
 * wall time in `zone` (a date alone means its midnight; `edge` picks the DST side, see resolveLocal).
 */
export function parsePolicyInstant(
  text: string,
  zone: string,
  edge: "start" | "end",
): number | undefined {
  const wall = parseWallTime(text);
  if (wall) return resolveLocal(zone, wall.date, wall.minutes, wall.seconds, edge);
  if (!/^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}(:\d{2}(\.\d+)?)?(Z|[+-]\d{2}:?\d{2})$/i.test(text.trim())) {
    return undefined;
  }
  const dt = DateTime.fromISO(text.trim(), { setZone: true });
  return dt.isValid ? dt.toMillis() : undefined;
}

/** An instant given to a query: ISO text with a zone, or epoch ms. NaN when unreadable. */
export function instantMs(instant: string | number): number {
  if (typeof instant === "number") return instant;
  const dt = DateTime.fromISO(instant, { zone: "utc" });
  return dt.isValid ? dt.toMillis() : Number.NaN;
}

/* ------------------------------------------------------------------------------------------------
 * Holidays and weekly schedules
 * ---------------------------------------------------------------------------------------------- */

/** The holiday falling on a local date, if any (`MM-DD` entries recur every year). */
export function holidayOn(holidays: readonly Holiday[], date: LocalDate): Holiday | undefined {
  const full = formatDate(date);
  const yearly = full.slice(5);
  return holidays.find((h) => h.date === full || h.date === yearly);
}

/** One concrete occurrence of a schedule span. */
export interface SpanOccurrence extends WindowOccurrence {
  readonly span: DaySpan;
  /** Local date the span starts on. */
  readonly day: LocalDate;
}

function spanOccurrence(zone: string, span: DaySpan, day: LocalDate): SpanOccurrence {
  const start = resolveLocal(zone, day, span.start, 0, "start");
  const endMinutes = span.end <= span.start ? span.end + 1440 : span.end;
  const end = resolveLocal(zone, day, endMinutes, 0, "end");
  return { start, end, span, day };
}

/** The occurrence of `schedule` covering instant `ms`, if any. */
export function scheduleCovering(
  schedule: Schedule,
  zone: string,
  holidays: readonly Holiday[],
  ms: number,
): SpanOccurrence | undefined {
  const today = localTime(zone, ms);
  for (const day of [addDays(today, -1), today]) {
    const wd = weekdayOf(day);
    if (schedule.excludeHolidays && holidayOn(holidays, day)) continue;
    for (const span of schedule.spans) {
      if (!span.days.includes(wd)) continue;
      const occ = spanOccurrence(zone, span, day);
      if (occ.start <= ms && ms < occ.end) return occ;
    }
  }
  return undefined;
}

/** Every occurrence of `schedule` overlapping [from, to), in start order. */
export function scheduleOccurrences(
  schedule: Schedule,
  zone: string,
  holidays: readonly Holiday[],
  from: number,
  to: number,
  bounds: { from?: string; until?: string } = {},
): SpanOccurrence[] {
  const out: SpanOccurrence[] = [];
  let day: LocalDate = addDays(localTime(zone, from), -1);
  const last = localTime(zone, to);
  for (let guard = 0; guard < 400_000; guard++) {
    if (formatDate(day) > formatDate(last)) break;
    const iso = formatDate(day);
    const inBounds =
      (bounds.from === undefined || iso >= bounds.from) &&
      (bounds.until === undefined || iso <= bounds.until);
    if (inBounds && !(schedule.excludeHolidays && holidayOn(holidays, day))) {
      const wd = weekdayOf(day);
      for (const span of schedule.spans) {
        if (!span.days.includes(wd)) continue;
        const occ = spanOccurrence(zone, span, day);
        if (occ.end > from && occ.start < to) out.push(occ);
      }
    }
    day = addDays(day, 1);
  }
  return out.sort((a, b) => a.start - b.start);
}

/** `Mon–Fri 08:00–18:00`, `Sat 22:00–02:00 (+1 day)`. */
export function describeSpan(span: DaySpan): string {
  const end = formatMinutes(span.end);
  const next = span.end <= span.start && span.end !== 0 ? " (+1 day)" : "";
  return `${describeDays(span.days)} ${formatMinutes(span.start)}–${end}${next}`;
}

export function describeDays(days: readonly Weekday[]): string {
  const idx = WEEKDAYS.map((d) => days.includes(d));
  if (idx.every(Boolean)) return "daily";
  const runs: string[] = [];
  let i = 0;
  while (i < 7) {
    if (!idx[i]) {
      i++;
      continue;
    }
    let j = i;
    while (j + 1 < 7 && idx[j + 1]) j++;
    const a = WEEKDAYS[i] ?? "mon";
    const b = WEEKDAYS[j] ?? "mon";
    runs.push(
      j === i
        ? dayLabel(a)
        : j === i + 1
          ? `${dayLabel(a)},${dayLabel(b)}`
          : `${dayLabel(a)}–${dayLabel(b)}`,
    );
    i = j + 1;
  }
  return runs.join(",");
}

export function describeSchedule(schedule: Schedule): string {
  if (schedule.spans.length === 0) return "never";
  return schedule.spans.map(describeSpan).join(", ");
}

/* ------------------------------------------------------------------------------------------------
 * Recurrences (RRULE) and iCalendar events
 * ---------------------------------------------------------------------------------------------- */

/** Hard cap on RRULE iterations per expansion: a hostile rule cannot hang a scan. */
const MAX_ITERATIONS = 200_000;

const FORBIDDEN_FREQ = /FREQ=(SECONDLY|MINUTELY)/i;

/** Checks an RRULE value; returns a problem text or undefined. */
export function checkRrule(rrule: string): string | undefined {
  if (FORBIDDEN_FREQ.test(rrule)) return "FREQ=SECONDLY and FREQ=MINUTELY are not supported";
  try {
    const r = ICAL.Recur.fromString(rrule);
    if (!r.freq) return "RRULE needs FREQ";
  } catch (error) {
    return `invalid RRULE (${error instanceof Error ? error.message : String(error)})`;
  }
  return undefined;
}

/** An ical.js time as wall-clock parts (a date-only value at midnight). */
export const wallOf = (t: ICAL.Time): WallTime => ({
  date: { year: t.year, month: t.month, day: t.day },
  minutes: t.isDate ? 0 : t.hour * 60 + t.minute,
  seconds: t.isDate ? 0 : t.second,
  dateOnly: t.isDate,
});

const icalFloating = (w: WallTime): ICAL.Time =>
  ICAL.Time.fromData({
    year: w.date.year,
    month: w.date.month,
    day: w.date.day,
    hour: Math.floor(w.minutes / 60),
    minute: w.minutes % 60,
    second: w.seconds,
    isDate: false,
  });

function occurrenceEnd(ev: IcsEvent, startWall: WallTime, startMs: number): number {
  const endDay = addDays(startWall.date, ev.end.days);
  if (ev.end.kind === "wall") {
    return resolveLocal(
      ev.zone,
      endDay,
      startWall.minutes + ev.end.minutes,
      startWall.seconds,
      "end",
    );
  }
  const base =
    ev.end.days === 0
      ? startMs
      : resolveLocal(ev.zone, endDay, startWall.minutes, startWall.seconds, "start");
  return base + ev.end.ms;
}

/**
 * Occurrences of an event whose START lies in [from, to) (UTC ms), EXDATEs removed, RDATEs added,
 * RECURRENCE-ID overrides applied (an override is placed by its original start).
 */
export function eventOccurrences(ev: IcsEvent, from: number, to: number): WindowOccurrence[] {
  const out: WindowOccurrence[] = [];
  const dtstart = parseWallTime(ev.dtstart);
  if (!dtstart) return out;
  const exInstants = new Set(ev.exInstants);
  const exDates = new Set(ev.exDates);
  const seen = new Set<number>();
  const emit = (wall: WallTime, startMs: number): void => {
    if (seen.has(startMs)) return;
    seen.add(startMs);
    if (exInstants.has(startMs) || exDates.has(formatDate(wall.date))) return;
    const moved = ev.overrides.get(startMs);
    const occ = moved ?? { start: startMs, end: occurrenceEnd(ev, wall, startMs) };
    if (startMs >= from && startMs < to) out.push(occ);
  };

  if (!ev.rrule) {
    emit(dtstart, resolveLocal(ev.zone, dtstart.date, dtstart.minutes, dtstart.seconds, "start"));
  } else {
    const recur = ICAL.Recur.fromString(ev.rrule);
    // UNTIL in UTC is compared by ical.js against floating local times: restate it in local time.
    if (recur.until && recur.until.zone === ICAL.Timezone.utcTimezone && !recur.until.isDate) {
      const u = localTime(ev.zone, recur.until.toJSDate().getTime());
      recur.until = ICAL.Time.fromData({
        year: u.year,
        month: u.month,
        day: u.day,
        hour: u.hour,
        minute: u.minute,
        second: u.second,
        isDate: false,
      });
    }
    // ical.js rolls impossible dates over (BYMONTH=2;BYMONTHDAY=30 gives 2 March): drop those.
    const byMonth = recur.parts.BYMONTH;
    const monthDays = recur.parts.BYMONTHDAY;
    const byMonthDay = monthDays?.every((d) => d > 0) ? monthDays : undefined;
    const it = recur.iterator(icalFloating(dtstart));
    // Local wall times run ahead of UTC by at most 14 h: stop once past `to` by more than that.
    const stopNaive = to + 15 * HOUR;
    for (let i = 0; i < MAX_ITERATIONS; i++) {
      const next = it.next();
      if (!next) break;
      const wall = wallOf(next);
      const wallTime = { ...wall, minutes: wall.dateOnly ? dtstart.minutes : wall.minutes };
      const naive = Date.UTC(
        wall.date.year,
        wall.date.month - 1,
        wall.date.day,
        0,
        wallTime.minutes,
        wallTime.seconds,
      );
      if (naive > stopNaive) break;
      if (naive < from - 15 * HOUR - DAY) continue;
      if (byMonth?.length && !byMonth.includes(wall.date.month)) continue;
      if (byMonthDay?.length && !byMonthDay.includes(wall.date.day)) continue;
      emit(wallTime, resolveLocal(ev.zone, wall.date, wallTime.minutes, wallTime.seconds, "start"));
    }
  }
  for (const r of ev.rdates) {
    const w = localTime(ev.zone, r);
    emit({ date: w, minutes: w.hour * 60 + w.minute, seconds: w.second, dateOnly: false }, r);
  }
  return out.sort((a, b) => a.start - b.start);
}

/** Longest occurrence an event can produce (for looking back from an instant). */
export function eventMaxLength(ev: IcsEvent): number {
  let max =
    ev.end.kind === "wall"
      ? ev.end.days * DAY + ev.end.minutes * MINUTE + 2 * HOUR
      : ev.end.days * DAY + ev.end.ms + 2 * HOUR;
  for (const o of ev.overrides.values()) max = Math.max(max, o.end - o.start);
  return max;
}

// Memo of expansions per event and UTC year: the policy is immutable, so this is pure caching.
const yearCache = new WeakMap<IcsEvent, Map<number, WindowOccurrence[]>>();

function occurrencesOfYear(ev: IcsEvent, year: number): WindowOccurrence[] {
  let byYear = yearCache.get(ev);
  if (!byYear) {
    byYear = new Map();
    yearCache.set(ev, byYear);
  }
  let list = byYear.get(year);
  if (!list) {
    list = eventOccurrences(ev, Date.UTC(year, 0, 1), Date.UTC(year + 1, 0, 1));
    if (byYear.size > 64) byYear.clear();
    byYear.set(year, list);
  }
  return list;
}

/** The occurrence of `ev` covering instant `ms`, if any. */
export function eventCovering(ev: IcsEvent, ms: number): WindowOccurrence | undefined {
  const firstYear = new Date(ms - eventMaxLength(ev)).getUTCFullYear();
  const lastYear = new Date(ms).getUTCFullYear();
  for (let y = firstYear; y <= lastYear; y++) {
    for (const occ of occurrencesOfYear(ev, y)) {
      if (occ.start <= ms && ms < occ.end) return occ;
    }
  }
  return undefined;
}

/** Occurrences of `ev` overlapping [from, to). */
export function eventOccurrencesOverlapping(
  ev: IcsEvent,
  from: number,
  to: number,
): WindowOccurrence[] {
  return eventOccurrences(ev, from - eventMaxLength(ev), to).filter(
    (o) => o.end > from && o.start < to,
  );
}

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
import { DateTime } from "luxon";
import { offsetAt, parseIsoInstant, wallMsToUtc } from "../shared/zone.js";
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

export { isValidZone, offsetAt } from "../shared/zone.js";

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
  return wallMsToUtc(
    zone,
    Date.UTC(date.year, date.month - 1, date.day, 0, minutes, seconds),
    edge,
  );
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
  return parseIsoInstant(text);
}

/**
 * An instant given to a query: ISO text with a zone (offset within ±18:00; text without one is
 * UTC), or epoch ms. NaN when unreadable.
 */
export function instantMs(instant: string | number): number {
  if (typeof instant === "number") return instant;
  return parseIsoInstant(instant, "UTC") ?? Number.NaN;
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
 *
 * ical.js does the RFC 5545 arithmetic on floating wall times; three bounds keep a hostile rule
 * from hanging a run (docs/DESIGN.md, "Hostile recurrences"):
 * - every rule part is range-checked at load (`checkRrule`) and every rule expanded once
 *   (`checkRecurrence`), so a rule ical.js cannot run is a policy error with its line;
 * - expansion starts near the span asked for, not at DTSTART: the start is moved forward by whole
 *   periods (`FREQ` × `INTERVAL`), which keeps the rule's phase, and COUNT is turned into the last
 *   start once;
 * - inside ical.js, every step is counted and compared with the end of the span (`Bounded`), so
 *   a rule that matches rarely or never stops at the span's end; a step budget that is still
 *   reached is recorded as a warning (`expansionWarning`).
 * ---------------------------------------------------------------------------------------------- */

const FORBIDDEN_FREQ = new Set(["SECONDLY", "MINUTELY"]);
const MAX_INTERVAL = 1000;
const MAX_COUNT = 100_000;
const MAX_PART_VALUES = 400;

/** Allowed values of each BY part: [min, max], zero never allowed where min < 0. */
const PART_RANGES: ReadonlyMap<string, readonly [number, number]> = new Map([
  ["BYSECOND", [0, 60]],
  ["BYMINUTE", [0, 59]],
  ["BYHOUR", [0, 23]],
  ["BYMONTHDAY", [-31, 31]],
  ["BYYEARDAY", [-366, 366]],
  ["BYWEEKNO", [-53, 53]],
  ["BYMONTH", [1, 12]],
  ["BYSETPOS", [-366, 366]],
]);
const WEEKDAY_CODES = new Set(["MO", "TU", "WE", "TH", "FR", "SA", "SU"]);

/** Checks an RRULE value on its own (no DTSTART); returns a problem text or undefined. */
export function checkRrule(rrule: string): string | undefined {
  let r: ICAL.Recur;
  try {
    r = ICAL.Recur.fromString(rrule);
  } catch (error) {
    return `invalid RRULE (${error instanceof Error ? error.message : String(error)})`;
  }
  if (!r.freq) return "RRULE needs FREQ";
  if (FORBIDDEN_FREQ.has(r.freq)) return "FREQ=SECONDLY and FREQ=MINUTELY are not supported";
  const interval = Number(r.interval);
  if (!Number.isInteger(interval) || interval < 1 || interval > MAX_INTERVAL) {
    return `INTERVAL must be a whole number from 1 to ${MAX_INTERVAL}`;
  }
  if (r.count !== null && r.count !== undefined) {
    const count = Number(r.count);
    if (!Number.isInteger(count) || count < 1 || count > MAX_COUNT) {
      return `COUNT must be a whole number from 1 to ${MAX_COUNT}`;
    }
  }
  if (r.until && (r.until.year < 1970 || r.until.year > 9999)) {
    return "UNTIL must lie between 1970 and 9999";
  }
  for (const [name, values] of Object.entries(r.parts) as [string, unknown][]) {
    if (!Array.isArray(values)) continue;
    if (values.length > MAX_PART_VALUES) return `${name} has more than ${MAX_PART_VALUES} values`;
    for (const v of values as unknown[]) {
      if (name === "BYDAY") {
        const m = /^([+-]?\d{1,2})?([A-Z]{2})$/.exec(String(v).toUpperCase());
        const n = m?.[1] === undefined ? 0 : Number(m[1]);
        if (!m || !WEEKDAY_CODES.has(m[2] ?? "") || Math.abs(n) > 53 || (m[1] && n === 0)) {
          return `BYDAY value ${String(v).slice(0, 20)} is not a weekday (optionally numbered ±1–53)`;
        }
        continue;
      }
      const range = PART_RANGES.get(name);
      if (!range) return `${name.slice(0, 20)} is not supported`;
      const n = Number(v);
      if (!Number.isInteger(n) || n < range[0] || n > range[1] || (range[0] < 0 && n === 0)) {
        return `${name} value ${String(v).slice(0, 20)} is out of range (${range[0]} to ${range[1]}${range[0] < 0 ? ", not 0" : ""})`;
      }
    }
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

const naiveOf = (w: WallTime): number =>
  Date.UTC(w.date.year, w.date.month - 1, w.date.day, 0, w.minutes, w.seconds);

const wallOfNaive = (naive: number): WallTime => {
  const d = new Date(naive);
  return {
    date: { year: d.getUTCFullYear(), month: d.getUTCMonth() + 1, day: d.getUTCDate() },
    minutes: d.getUTCHours() * 60 + d.getUTCMinutes(),
    seconds: d.getUTCSeconds(),
    dateOnly: false,
  };
};

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

/** Why a bounded expansion stopped early. */
class ExpansionStop extends Error {}
const PAST_END = new ExpansionStop("past the end of the span");
const OUT_OF_STEPS = new ExpansionStop("step budget spent");

/** The bounds of the expansion running now (expansion is synchronous: one at a time). */
const guard = { stopNaive: 0, steps: 0, budget: 0 };

const tick = (t: ICAL.Time): void => {
  if (++guard.steps > guard.budget) throw OUT_OF_STEPS;
  if (Date.UTC(t.year, t.month - 1, t.day, t.hour, t.minute, t.second) > guard.stopNaive) {
    throw PAST_END;
  }
};

/** ical.js's iterator, with every inner step counted and compared with the span's end. */
class Bounded extends ICAL.RecurIterator {
  override check_contracting_rules(): boolean {
    tick(this.last);
    return super.check_contracting_rules();
  }
  override expand_year_days(year: number): number {
    if (++guard.steps > guard.budget) throw OUT_OF_STEPS;
    if (Date.UTC(year, 0, 1) > guard.stopNaive) throw PAST_END;
    return super.expand_year_days(year);
  }
}

/** A rule ready to expand: parsed once per event (the policy is immutable). */
interface Prepared {
  readonly dtstart: WallTime;
  readonly freq: string;
  readonly interval: number;
  /** Last start the rule can give (naive wall ms), from UNTIL or COUNT. */
  readonly lastNaive: number;
  readonly byMonth: readonly number[] | undefined;
  readonly byMonthDay: readonly number[] | undefined;
}

const preparedRules = new WeakMap<IcsEvent, Prepared>();

/** The rule as ical.js runs it: UNTIL in UTC restated in local time, COUNT left to `lastNaive`. */
function recurOf(ev: IcsEvent, dropCount: boolean): ICAL.Recur {
  const recur = ICAL.Recur.fromString(ev.rrule ?? "");
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
  if (dropCount) recur.count = null;
  return recur;
}

let totalSteps = 0;

/** ical.js steps taken by every expansion so far in this process (tests prove bounds with it). */
export const expansionStepCount = (): number => totalSteps + guard.steps;

/** Starts a bounded expansion: up to `stopNaive`, at most `budget` steps. */
function arm(stopNaive: number, budget: number): void {
  totalSteps += guard.steps;
  guard.stopNaive = stopNaive;
  guard.steps = 0;
  guard.budget = budget;
}

/** Runs `it` within the current guard; calls `each` per start; returns why it stopped. */
function drain(
  it: ICAL.RecurIterator,
  each: (t: ICAL.Time) => boolean,
): "done" | "past-end" | "budget" {
  try {
    for (let next = it.next(); next; next = it.next()) if (!each(next)) return "done";
    return "done";
  } catch (error) {
    if (error === PAST_END) return "past-end";
    if (error === OUT_OF_STEPS) return "budget";
    throw error;
  }
}

const YEAR = 366 * DAY;
const LOAD_BUDGET = 2_000_000;

function prepare(ev: IcsEvent): Prepared {
  let p = preparedRules.get(ev);
  if (p) return p;
  const dtstart = parseWallTime(ev.dtstart);
  if (!dtstart) throw new Error("DTSTART is not a wall time");
  const recur = recurOf(ev, false);
  let lastNaive = recur.until ? naiveOf(wallOf(recur.until)) : Number.POSITIVE_INFINITY;
  if (recur.count) {
    // COUNT counts from DTSTART: find the last start once, then expand from anywhere.
    arm(Number.POSITIVE_INFINITY, LOAD_BUDGET);
    let last = naiveOf(dtstart);
    const why = drain(new Bounded({ rule: recur, dtstart: icalFloating(dtstart) }), (t) => {
      last = naiveOf(wallOf(t));
      return true;
    });
    if (why === "budget") throw new Error(`COUNT=${recur.count} takes too long to expand`);
    lastNaive = Math.min(lastNaive, last);
  }
  const byMonthDay = recur.parts.BYMONTHDAY;
  p = {
    dtstart,
    freq: String(recur.freq),
    interval: Number(recur.interval) || 1,
    lastNaive,
    byMonth: recur.parts.BYMONTH,
    byMonthDay: byMonthDay?.every((d) => d > 0) ? byMonthDay : undefined,
  };
  preparedRules.set(ev, p);
  return p;
}

/**
 * A start for the iterator at least one whole period (`FREQ` × `INTERVAL`) before `target`
 * (naive ms), reached from DTSTART by whole periods so the rule gives the same starts from there
 * on; DTSTART itself when it is already close enough.
 */
function shiftedStart(p: Prepared, target: number): WallTime {
  const d = p.dtstart;
  const base = naiveOf(d);
  if (target <= base) return d;
  const fixed =
    p.freq === "HOURLY" ? HOUR : p.freq === "DAILY" ? DAY : p.freq === "WEEKLY" ? 7 * DAY : 0;
  if (fixed > 0) {
    const period = fixed * p.interval;
    const k = Math.floor((target - base) / period) - 1;
    return k <= 0 ? d : { ...wallOfNaive(base + k * period), dateOnly: d.dateOnly };
  }
  const t = new Date(target);
  const months =
    p.freq === "MONTHLY"
      ? (t.getUTCFullYear() - d.date.year) * 12 + (t.getUTCMonth() + 1 - d.date.month)
      : (t.getUTCFullYear() - d.date.year) * 12;
  const step = p.freq === "MONTHLY" ? p.interval : 12 * p.interval;
  // A day that the moved month lacks (31, 29 February): move one period less, a few times.
  for (let k = Math.floor(months / step) - 1, tries = 0; k > 0 && tries < 60; k--, tries++) {
    const m0 = d.date.month - 1 + k * step;
    const date = { year: d.date.year + Math.floor(m0 / 12), month: (m0 % 12) + 1, day: d.date.day };
    if (isRealDate(date)) return { ...d, date };
  }
  return d;
}

const expansionNotes = new WeakMap<IcsEvent, string>();

/** Why the expansion of `ev` stopped short at some point of this run, if it ever did. */
export const expansionWarning = (ev: IcsEvent): string | undefined => expansionNotes.get(ev);

/** Most starts one expansion may give, and most ical.js steps it may take. */
const MAX_STARTS = 100_000;
const STEP_BUDGET = 2_000_000;

/**
 * Wall-clock starts of the rule of `ev` whose naive wall time lies in [fromNaive, toNaive].
 * Never throws: a rule that fails or exceeds the budget stops, and says so (`expansionWarning`).
 */
function ruleStarts(ev: IcsEvent, fromNaive: number, toNaive: number): WallTime[] {
  const out: WallTime[] = [];
  let p: Prepared;
  try {
    p = prepare(ev);
  } catch (error) {
    expansionNotes.set(ev, `recurrence not expanded (${errorText(error)})`);
    return out;
  }
  const start = shiftedStart(p, fromNaive);
  const stop = Math.min(toNaive, p.lastNaive);
  if (stop < fromNaive) return out;
  arm(stop, STEP_BUDGET);
  let why: ReturnType<typeof drain>;
  try {
    const it = new Bounded({ rule: recurOf(ev, true), dtstart: icalFloating(start) });
    why = drain(it, (next) => {
      const wall = wallOf(next);
      const w = { ...wall, minutes: wall.dateOnly ? p.dtstart.minutes : wall.minutes };
      const naive = naiveOf(w);
      if (naive > stop) return false;
      if (naive < fromNaive) return true;
      // ical.js rolls impossible dates over (BYMONTH=2;BYMONTHDAY=30 gives 2 March): drop those.
      if (p.byMonth?.length && !p.byMonth.includes(w.date.month)) return true;
      if (p.byMonthDay?.length && !p.byMonthDay.includes(w.date.day)) return true;
      out.push(w);
      return out.length < MAX_STARTS;
    });
  } catch (error) {
    if (error === PAST_END) why = "past-end";
    else {
      expansionNotes.set(ev, `recurrence stopped (${errorText(error)})`);
      return out;
    }
  }
  if (why === "budget" || out.length >= MAX_STARTS) {
    const at =
      out.length > 0
        ? formatDate(out[out.length - 1]!.date)
        : formatDate(wallOfNaive(fromNaive).date);
    expansionNotes.set(
      ev,
      `recurrence expansion capped near ${at} (${out.length >= MAX_STARTS ? `${MAX_STARTS} starts` : `${STEP_BUDGET} steps`}): later occurrences of that span are missing`,
    );
  }
  return out;
}

const errorText = (error: unknown): string =>
  (error instanceof Error ? error.message : String(error)).slice(0, 200);

/**
 * Expands a rule once, from DTSTART, as loading does: a problem text when ical.js cannot run it
 * or it gives no start after DTSTART within 30 years (or two of its periods), else undefined.
 */
export function checkRecurrence(ev: IcsEvent): string | undefined {
  if (!ev.rrule) return undefined;
  let p: Prepared;
  try {
    p = prepare(ev);
  } catch (error) {
    return `invalid RRULE (${errorText(error)})`;
  }
  const base = naiveOf(p.dtstart);
  const unit = p.freq === "YEARLY" ? YEAR : p.freq === "MONTHLY" ? 31 * DAY : 7 * DAY;
  arm(base + Math.max(30 * YEAR, 2 * p.interval * unit), LOAD_BUDGET);
  let starts = 0;
  let why: ReturnType<typeof drain>;
  try {
    const it = new Bounded({ rule: recurOf(ev, false), dtstart: icalFloating(p.dtstart) });
    why = drain(it, () => ++starts < 3);
  } catch (error) {
    if (error === PAST_END) why = "past-end";
    else return `invalid RRULE (${errorText(error)})`;
  }
  if (starts < 2 && why !== "done") {
    return "RRULE gives no occurrence after DTSTART (the rule can never match)";
  }
  return undefined;
}

/** The inline `rrule` timing of a window as an event (the same expansion as iCalendar files). */
export function inlineRruleEvent(
  timing: {
    readonly rrule: string;
    readonly dtstart: string;
    readonly durationMinutes: number;
    readonly exdates: readonly string[];
  },
  zone: string,
): IcsEvent {
  const exInstants: number[] = [];
  const exDates: string[] = [];
  for (const x of timing.exdates) {
    const w = parseWallTime(x);
    if (!w) continue;
    if (w.dateOnly) exDates.push(x.slice(0, 10));
    else exInstants.push(resolveLocal(zone, w.date, w.minutes, w.seconds, "start"));
  }
  return {
    uid: "inline",
    zone,
    dtstart: timing.dtstart,
    rrule: timing.rrule,
    end: { kind: "wall", days: 0, minutes: timing.durationMinutes },
    exInstants,
    exDates,
    rdates: [],
    overrides: new Map(),
  };
}

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

const exceptionSets = new WeakMap<
  IcsEvent,
  { readonly instants: ReadonlySet<number>; readonly dates: ReadonlySet<string> }
>();
const exceptionsOf = (
  ev: IcsEvent,
): { readonly instants: ReadonlySet<number>; readonly dates: ReadonlySet<string> } => {
  let ex = exceptionSets.get(ev);
  if (!ex) {
    ex = { instants: new Set(ev.exInstants), dates: new Set(ev.exDates) };
    exceptionSets.set(ev, ex);
  }
  return ex;
};

// Local wall times run ahead of or behind UTC by at most 14 h.
const ZONE_SLACK = 15 * HOUR;

/**
 * Occurrences of an event whose START lies in [from, to) (UTC ms), EXDATEs removed, RDATEs added.
 * Occurrences moved by a RECURRENCE-ID are not here: `movedOccurrences` gives them where they are.
 */
export function eventOccurrences(ev: IcsEvent, from: number, to: number): WindowOccurrence[] {
  const out: WindowOccurrence[] = [];
  const dtstart = parseWallTime(ev.dtstart);
  if (!dtstart) return out;
  const seen = new Set<number>();
  const ex = exceptionsOf(ev);
  const emit = (wall: WallTime, startMs: number): void => {
    if (startMs < from || startMs >= to || seen.has(startMs)) return;
    seen.add(startMs);
    if (ex.instants.has(startMs) || ex.dates.has(formatDate(wall.date))) return;
    if (ev.overrides.has(startMs)) return;
    out.push({ start: startMs, end: occurrenceEnd(ev, wall, startMs) });
  };
  if (!ev.rrule) {
    emit(dtstart, resolveLocal(ev.zone, dtstart.date, dtstart.minutes, dtstart.seconds, "start"));
  } else {
    for (const w of ruleStarts(ev, from - ZONE_SLACK - DAY, to + ZONE_SLACK)) {
      emit(w, resolveLocal(ev.zone, w.date, w.minutes, w.seconds, "start"));
    }
  }
  for (const r of ev.rdates) {
    if (r < from || r >= to) continue;
    const w = localTime(ev.zone, r);
    emit({ date: w, minutes: w.hour * 60 + w.minute, seconds: w.second, dateOnly: false }, r);
  }
  return out.sort((a, b) => a.start - b.start);
}

/** Occurrences moved by a RECURRENCE-ID override, overlapping [from, to). */
const movedOccurrences = (ev: IcsEvent, from: number, to: number): WindowOccurrence[] =>
  [...ev.overrides.values()].filter((o) => o.end > from && o.start < to);

/** Longest occurrence an event can produce (for looking back from an instant). */
export function eventMaxLength(ev: IcsEvent): number {
  return ev.end.kind === "wall"
    ? ev.end.days * DAY + ev.end.minutes * MINUTE + 2 * HOUR
    : ev.end.days * DAY + ev.end.ms + 2 * HOUR;
}

// Memo of expansions per event and bucket of start times (a UTC day, or longer for events that
// last more than a week, so a look-back spans at most ~9 buckets): a run expands only the
// buckets its operations need. The policy is immutable, so this is pure caching.
const bucketCache = new WeakMap<IcsEvent, Map<number, WindowOccurrence[]>>();
const MAX_CACHED_BUCKETS = 4096;

const bucketSize = (ev: IcsEvent): number =>
  DAY * Math.max(1, Math.ceil(eventMaxLength(ev) / (8 * DAY)));

function occurrencesOfBucket(ev: IcsEvent, bucket: number, size: number): WindowOccurrence[] {
  let byBucket = bucketCache.get(ev);
  if (!byBucket) {
    byBucket = new Map();
    bucketCache.set(ev, byBucket);
  }
  let list = byBucket.get(bucket);
  if (!list) {
    list = eventOccurrences(ev, bucket * size, (bucket + 1) * size);
    if (byBucket.size >= MAX_CACHED_BUCKETS) byBucket.clear();
    byBucket.set(bucket, list);
  }
  return list;
}

/** The occurrence of `ev` covering instant `ms`, if any. */
export function eventCovering(ev: IcsEvent, ms: number): WindowOccurrence | undefined {
  for (const o of ev.overrides.values()) if (o.start <= ms && ms < o.end) return o;
  const size = bucketSize(ev);
  const last = Math.floor(ms / size);
  const first = Math.floor((ms - eventMaxLength(ev)) / size);
  for (let b = last; b >= first; b--) {
    for (const occ of occurrencesOfBucket(ev, b, size)) {
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
  return [
    ...eventOccurrences(ev, from - eventMaxLength(ev), to).filter(
      (o) => o.end > from && o.start < to,
    ),
    ...movedOccurrences(ev, from, to),
  ].sort((a, b) => a.start - b.start);
}

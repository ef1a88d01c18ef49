/**
 * iCalendar (RFC 5545) maintenance calendars → normalised `IcsEvent`s. ical.js parses the file and
 * does the RRULE arithmetic on wall-clock values; every instant is then resolved through luxon with
 * the event's IANA zone (`windows.ts` resolveLocal), because ical.js maps times inside a DST gap with
 * the post-gap offset, against RFC 5545 §3.3.5.
 */
import ICAL from "ical.js";
import type { IcsEvent, WindowOccurrence } from "./types.js";
import {
  checkRecurrence,
  checkRrule,
  isValidZone,
  localTime,
  resolveLocal,
  wallOf,
  type WallTime,
} from "./windows.js";

const MINUTE = 60_000;

export interface IcsProblem {
  /** Where in the file: `VEVENT 3 (UID x)`. */
  readonly where: string;
  readonly message: string;
}

export interface IcsResult {
  readonly events: IcsEvent[];
  readonly problems: IcsProblem[];
}

/**
 * The IANA zone an iCalendar TZID stands for: the TZID itself when it is an IANA name; the
 * `X-LIC-LOCATION` of its VTIMEZONE; the IANA tail of a path-style TZID (`/mozilla.org/…/Europe/Paris`);
 * else `fallback` (the window's explicit `zone:`), else undefined.
 */
function ianaFor(
  tzid: string,
  locations: ReadonlyMap<string, string>,
  fallback: string | undefined,
): string | undefined {
  if (isValidZone(tzid)) return tzid;
  const loc = locations.get(tzid);
  if (loc && isValidZone(loc)) return loc;
  const parts = tzid.split("/").filter(Boolean);
  for (let n = Math.min(3, parts.length); n >= 1; n--) {
    const tail = parts.slice(-n).join("/");
    if (tail.includes("/") && isValidZone(tail)) return tail;
  }
  return fallback;
}

const pad = (n: number, w = 2): string => String(n).padStart(w, "0");
const wallText = (w: WallTime): string =>
  `${pad(w.date.year, 4)}-${pad(w.date.month)}-${pad(w.date.day)}T${pad(Math.floor(w.minutes / 60))}:${pad(w.minutes % 60)}:${pad(w.seconds)}`;

const isUtc = (t: ICAL.Time): boolean => t.zone === ICAL.Timezone.utcTimezone;

/** Wall minutes between two wall times (nominal, ignoring DST). */
const wallDiffMinutes = (a: WallTime, b: WallTime): number =>
  Math.round(
    (Date.UTC(b.date.year, b.date.month - 1, b.date.day, 0, b.minutes, b.seconds) -
      Date.UTC(a.date.year, a.date.month - 1, a.date.day, 0, a.minutes, a.seconds)) /
      MINUTE,
  );

/**
 * Parses iCalendar text. `defaultZone` times floating values; `fallbackZone` (the window's explicit
 * `zone:`) stands in for TZIDs that are not IANA names. Problems are returned, never thrown.
 */
export function parseIcs(
  text: string,
  defaultZone: string,
  fallbackZone: string | undefined,
): IcsResult {
  const problems: IcsProblem[] = [];
  let root: ICAL.Component;
  try {
    const jcal: unknown = ICAL.parse(text);
    root = new ICAL.Component(jcal as never);
  } catch (error) {
    return {
      events: [],
      problems: [
        {
          where: "file",
          message: `not a valid iCalendar file (${error instanceof Error ? error.message : String(error)})`,
        },
      ],
    };
  }
  if (root.name !== "vcalendar") {
    return { events: [], problems: [{ where: "file", message: "expected BEGIN:VCALENDAR" }] };
  }
  const locations = new Map<string, string>();
  for (const vtz of root.getAllSubcomponents("vtimezone")) {
    const id = vtz.getFirstPropertyValue("tzid");
    const loc = vtz.getFirstPropertyValue("x-lic-location");
    if (typeof id === "string" && typeof loc === "string") locations.set(id, loc);
  }

  interface Raw {
    uid: string;
    where: string;
    ev?: IcsEvent;
    recurrenceId?: number;
    occ?: WindowOccurrence;
  }
  const raws: Raw[] = [];
  const vevents = root.getAllSubcomponents("vevent");
  vevents.forEach((vevent, i) => {
    // ical.js decodes values when first read and throws on a malformed one (`DTSTART:2026"0`):
    // such an event is a problem of the calendar with its number, never a crash
    let where = `VEVENT ${i + 1}`;
    try {
      readEvent(vevent, i);
    } catch (error) {
      const message = error instanceof Error ? error.message : String(error);
      problems.push({ where, message: `cannot be read: ${message.slice(0, 200)}` });
    }
    function readEvent(vevent: ICAL.Component, i: number): void {
      const uidValue = vevent.getFirstPropertyValue("uid");
      const uid = typeof uidValue === "string" ? uidValue : `#${i + 1}`;
      where = `VEVENT ${i + 1} (UID ${uid.slice(0, 80)})`;
      const fail = (message: string): void => void problems.push({ where, message });
      const status = vevent.getFirstPropertyValue("status");
      const cancelled = typeof status === "string" && status.toUpperCase() === "CANCELLED";
      if (cancelled && !vevent.hasProperty("recurrence-id")) return;

      const zoneOf = (prop: ICAL.Property, value: ICAL.Time): string | undefined => {
        if (isUtc(value)) return "UTC";
        const tzid = prop.getParameter("tzid");
        if (typeof tzid !== "string") return defaultZone;
        const zone = ianaFor(tzid, locations, fallbackZone);
        if (!zone) {
          fail(
            `TZID "${tzid.slice(0, 60)}" is not an IANA time zone; set zone: on the window to use it for this calendar`,
          );
        }
        return zone;
      };
      const instantOf = (prop: ICAL.Property, value: ICAL.Time): number | undefined => {
        const zone = zoneOf(prop, value);
        if (!zone) return undefined;
        const w = wallOf(value);
        return resolveLocal(zone, w.date, w.minutes, w.seconds, "start");
      };

      const dtProp = vevent.getFirstProperty("dtstart");
      const dtValue = dtProp?.getFirstValue();
      if (!dtProp || !(dtValue instanceof ICAL.Time)) return fail("DTSTART is missing");
      const zone = zoneOf(dtProp, dtValue);
      if (!zone) return;
      const start = wallOf(dtValue);

      let end: IcsEvent["end"];
      const dtend = vevent.getFirstPropertyValue("dtend");
      const duration = vevent.getFirstPropertyValue("duration");
      if (dtend instanceof ICAL.Time) {
        const endProp = vevent.getFirstProperty("dtend");
        const endZone = endProp ? zoneOf(endProp, dtend) : zone;
        if (!endZone) return;
        let endWall = wallOf(dtend);
        if (endZone !== zone) {
          // Restate DTEND in DTSTART's zone, then keep the wall-clock span.
          const ms = resolveLocal(endZone, endWall.date, endWall.minutes, endWall.seconds, "end");
          const lt = localTime(zone, ms);
          endWall = {
            date: lt,
            minutes: lt.hour * 60 + lt.minute,
            seconds: lt.second,
            dateOnly: false,
          };
        }
        const minutes = wallDiffMinutes(start, endWall);
        if (minutes <= 0) return fail("DTEND is not after DTSTART");
        end = { kind: "wall", days: 0, minutes };
      } else if (duration instanceof ICAL.Duration) {
        if (duration.isNegative) return fail("DURATION is negative");
        const days = duration.weeks * 7 + duration.days;
        const ms = ((duration.hours * 60 + duration.minutes) * 60 + duration.seconds) * 1000;
        if (days === 0 && ms === 0) return fail("DURATION is zero");
        end = { kind: "exact", days, ms };
      } else if (start.dateOnly) {
        end = { kind: "wall", days: 1, minutes: 0 };
      } else {
        return fail("needs DTEND or DURATION (a window must last some time)");
      }

      const rruleValue = vevent.getFirstPropertyValue("rrule");
      let rrule: string | undefined;
      if (rruleValue instanceof ICAL.Recur) {
        rrule = rruleValue.toString();
        const problem = checkRrule(rrule);
        if (problem) return fail(problem);
      }

      const exInstants: number[] = [];
      const exDates: string[] = [];
      for (const prop of vevent.getAllProperties("exdate")) {
        for (const v of prop.getValues()) {
          if (!(v instanceof ICAL.Time)) continue;
          if (v.isDate) exDates.push(wallText(wallOf(v)).slice(0, 10));
          else {
            const ms = instantOf(prop, v);
            if (ms !== undefined) exInstants.push(ms);
          }
        }
      }
      const rdates: number[] = [];
      for (const prop of vevent.getAllProperties("rdate")) {
        for (const v of prop.getValues()) {
          const t: unknown = v instanceof ICAL.Period ? v.start : v;
          if (!(t instanceof ICAL.Time)) continue;
          const ms = instantOf(prop, t);
          if (ms !== undefined) rdates.push(ms);
        }
      }

      const summary = vevent.getFirstPropertyValue("summary");
      const ev: IcsEvent = {
        uid,
        ...(typeof summary === "string" && summary.trim() ? { summary: summary.trim() } : {}),
        zone,
        dtstart: wallText(start),
        ...(rrule ? { rrule } : {}),
        end,
        exInstants,
        exDates,
        rdates,
        overrides: new Map(),
      };
      const recurrenceProblem = checkRecurrence(ev);
      if (recurrenceProblem) return fail(recurrenceProblem);

      const ridProp = vevent.getFirstProperty("recurrence-id");
      const ridValue = ridProp?.getFirstValue();
      if (ridProp && ridValue instanceof ICAL.Time) {
        const rid = instantOf(ridProp, ridValue);
        if (rid === undefined) return;
        const s = resolveLocal(zone, start.date, start.minutes, start.seconds, "start");
        const e =
          end.kind === "wall"
            ? resolveLocal(
                zone,
                start.date,
                start.minutes + end.minutes + end.days * 1440,
                start.seconds,
                "end",
              )
            : s + end.days * 86_400_000 + end.ms;
        raws.push({
          uid,
          where,
          recurrenceId: rid,
          ...(cancelled ? {} : { occ: { start: s, end: e } }),
        });
        return;
      }
      raws.push({ uid, where, ev });
    }
  });

  const masters = new Map<string, IcsEvent>();
  for (const r of raws) if (r.ev && !masters.has(r.uid)) masters.set(r.uid, r.ev);
  for (const r of raws) {
    if (r.recurrenceId === undefined) continue;
    const master = masters.get(r.uid);
    if (!master) {
      problems.push({
        where: r.where,
        message: "RECURRENCE-ID without a recurring event of that UID",
      });
      continue;
    }
    // A cancelled instance is an exception; a moved one replaces the original occurrence.
    if (r.occ) (master.overrides as Map<number, WindowOccurrence>).set(r.recurrenceId, r.occ);
    else (master.exInstants as number[]).push(r.recurrenceId);
  }
  return { events: [...masters.values()], problems };
}

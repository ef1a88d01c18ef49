import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { describe, it } from "node:test";
import { fileURLToPath } from "node:url";
import { parseIcs } from "./ics.js";
import type { IcsEvent } from "./types.js";
import { eventCovering, eventOccurrences } from "./windows.js";

const fixture = (name: string): string =>
  readFileSync(fileURLToPath(new URL(`fixtures/${name}`, import.meta.url)), "utf8");

const ms = (iso: string): number => Date.parse(iso);
const iso = (t: number): string => new Date(t).toISOString();

const calendar = (...lines: string[]): string =>
  ["BEGIN:VCALENDAR", "VERSION:2.0", "PRODID:-//t//t//EN", ...lines, "END:VCALENDAR"].join("\r\n");

const one = (text: string, zone = "UTC", fallback?: string): IcsEvent => {
  const { events, problems } = parseIcs(text, zone, fallback);
  assert.deepEqual(problems, []);
  assert.equal(events.length, 1);
  return events[0]!;
};

describe("parseIcs: weekly recurrence with EXDATE and TZID", () => {
  const { events, problems } = parseIcs(fixture("maintenance.ics"), "UTC", undefined);
  const weekly = events.find((e) => e.uid.startsWith("patch-night"))!;

  it("reads both events without problems", () => {
    assert.deepEqual(problems, []);
    assert.equal(events.length, 2);
    assert.equal(weekly.zone, "Europe/Paris");
    assert.equal(weekly.summary, "CHG-7001 weekly patch night");
  });

  it("expands Saturdays 22:00–03:00 Paris time, skipping the EXDATE", () => {
    const occ = eventOccurrences(weekly, ms("2026-10-01T00:00:00Z"), ms("2026-11-01T00:00:00Z"));
    assert.deepEqual(
      occ.map((o) => [iso(o.start), iso(o.end)]),
      [
        ["2026-10-03T20:00:00.000Z", "2026-10-04T01:00:00.000Z"],
        ["2026-10-10T20:00:00.000Z", "2026-10-11T01:00:00.000Z"],
        // 2026-10-17 is cancelled by EXDATE
        // fall-back night: ends at 03:00 CET, covering both 02:00 hours
        ["2026-10-24T20:00:00.000Z", "2026-10-25T02:00:00.000Z"],
        ["2026-10-31T21:00:00.000Z", "2026-11-01T02:00:00.000Z"],
      ],
    );
  });

  it("covers an instant inside an occurrence and not one inside the cancelled one", () => {
    assert.ok(eventCovering(weekly, ms("2026-10-10T23:00:00Z")));
    assert.equal(eventCovering(weekly, ms("2026-10-17T23:00:00Z")), undefined);
    // both 02:xx hours of the fall-back night
    assert.ok(eventCovering(weekly, ms("2026-10-25T00:30:00Z")));
    assert.ok(eventCovering(weekly, ms("2026-10-25T01:30:00Z")));
    assert.equal(eventCovering(weekly, ms("2026-10-25T02:00:00Z")), undefined);
  });

  it("stops at UNTIL (given in UTC)", () => {
    const occ = eventOccurrences(weekly, ms("2026-12-01T00:00:00Z"), ms("2027-02-01T00:00:00Z"));
    assert.equal(iso(occ.at(-1)!.start), "2026-12-26T21:00:00.000Z");
  });

  it("reads a UTC DTSTART with an exact DURATION", () => {
    const dr = events.find((e) => e.uid.startsWith("dr-test"))!;
    assert.equal(dr.zone, "UTC");
    const occ = eventCovering(dr, ms("2026-11-07T13:59:00Z"));
    assert.ok(occ);
    assert.equal(iso(occ.end), "2026-11-07T14:00:00.000Z");
  });
});

describe("parseIcs: DST edges (times re-resolved through luxon, not ical.js)", () => {
  it("starts an event set inside the spring-forward gap at the first instant after it", () => {
    const ev = one(
      calendar(
        "BEGIN:VEVENT",
        "UID:gap",
        "DTSTART;TZID=America/New_York:20260308T023000",
        "DTEND;TZID=America/New_York:20260308T050000",
        "END:VEVENT",
      ),
    );
    const [occ] = eventOccurrences(ev, ms("2026-03-01T00:00:00Z"), ms("2026-04-01T00:00:00Z"));
    assert.ok(occ);
    // ical.js alone would give 06:30Z (01:30 EST, before the gap); the first valid instant is 07:00Z.
    assert.equal(iso(occ.start), "2026-03-08T07:00:00.000Z");
    assert.equal(iso(occ.end), "2026-03-08T09:00:00.000Z");
  });

  it("keeps an exact PT4H duration exact across the fall-back change", () => {
    const ev = one(
      calendar(
        "BEGIN:VEVENT",
        "UID:exact",
        "DTSTART;TZID=America/New_York:20261031T220000",
        "DURATION:PT4H",
        "END:VEVENT",
      ),
    );
    const [occ] = eventOccurrences(ev, ms("2026-10-01T00:00:00Z"), ms("2026-12-01T00:00:00Z"));
    assert.equal(occ!.end - occ!.start, 4 * 3_600_000);
  });

  it("keeps a DTEND wall-clock end across the fall-back change (22:00–02:00 is five hours)", () => {
    const ev = one(
      calendar(
        "BEGIN:VEVENT",
        "UID:wall",
        "DTSTART;TZID=America/New_York:20261031T220000",
        "DTEND;TZID=America/New_York:20261101T020000",
        "END:VEVENT",
      ),
    );
    const [occ] = eventOccurrences(ev, ms("2026-10-01T00:00:00Z"), ms("2026-12-01T00:00:00Z"));
    assert.equal(iso(occ!.start), "2026-11-01T02:00:00.000Z");
    assert.equal(iso(occ!.end), "2026-11-01T07:00:00.000Z");
  });
});

describe("parseIcs: other forms", () => {
  it("times floating values in the window's zone", () => {
    const ev = one(
      calendar(
        "BEGIN:VEVENT",
        "UID:f",
        "DTSTART:20260704T100000",
        "DTEND:20260704T120000",
        "END:VEVENT",
      ),
      "Europe/Paris",
    );
    assert.equal(eventCovering(ev, ms("2026-07-04T08:30:00Z"))?.start, ms("2026-07-04T08:00:00Z"));
  });

  it("treats an all-day DTSTART without DTEND as the whole day", () => {
    const ev = one(
      calendar("BEGIN:VEVENT", "UID:d", "DTSTART;VALUE=DATE:20260704", "END:VEVENT"),
      "Europe/Paris",
    );
    assert.ok(eventCovering(ev, ms("2026-07-04T21:59:00Z")));
    assert.equal(eventCovering(ev, ms("2026-07-04T22:00:00Z")), undefined);
  });

  it("applies a RECURRENCE-ID override and a cancelled instance", () => {
    const text = calendar(
      "BEGIN:VEVENT",
      "UID:r",
      "DTSTART;TZID=Europe/Paris:20260601T200000",
      "DTEND;TZID=Europe/Paris:20260601T220000",
      "RRULE:FREQ=DAILY;COUNT=5",
      "END:VEVENT",
      "BEGIN:VEVENT",
      "UID:r",
      "RECURRENCE-ID;TZID=Europe/Paris:20260602T200000",
      "DTSTART;TZID=Europe/Paris:20260602T230000",
      "DTEND;TZID=Europe/Paris:20260603T010000",
      "END:VEVENT",
      "BEGIN:VEVENT",
      "UID:r",
      "RECURRENCE-ID;TZID=Europe/Paris:20260603T200000",
      "STATUS:CANCELLED",
      "DTSTART;TZID=Europe/Paris:20260603T200000",
      "DTEND;TZID=Europe/Paris:20260603T220000",
      "END:VEVENT",
    );
    const ev = one(text);
    assert.equal(eventCovering(ev, ms("2026-06-02T18:30:00Z")), undefined); // moved away
    assert.ok(eventCovering(ev, ms("2026-06-02T21:30:00Z"))); // moved here
    assert.equal(eventCovering(ev, ms("2026-06-03T18:30:00Z")), undefined); // cancelled
    assert.ok(eventCovering(ev, ms("2026-06-04T18:30:00Z")));
  });

  it("maps a path-style TZID and a VTIMEZONE X-LIC-LOCATION to IANA zones", () => {
    const ev = one(
      calendar(
        "BEGIN:VEVENT",
        "UID:m",
        "DTSTART;TZID=/mozilla.org/20050126_1/Europe/Berlin:20260704T100000",
        "DURATION:PT1H",
        "END:VEVENT",
      ),
    );
    assert.equal(ev.zone, "Europe/Berlin");
    const lic = one(
      calendar(
        "BEGIN:VTIMEZONE",
        "TZID:Romance Standard Time",
        "X-LIC-LOCATION:Europe/Paris",
        "END:VTIMEZONE",
        "BEGIN:VEVENT",
        "UID:w",
        "DTSTART;TZID=Romance Standard Time:20260704T100000",
        "DURATION:PT1H",
        "END:VEVENT",
      ),
    );
    assert.equal(lic.zone, "Europe/Paris");
  });

  it("reports a TZID that is not an IANA zone unless the window gives a zone", () => {
    const text = calendar(
      "BEGIN:VEVENT",
      "UID:w",
      "DTSTART;TZID=W. Europe Standard Time:20260704T100000",
      "DURATION:PT1H",
      "END:VEVENT",
    );
    const bad = parseIcs(text, "UTC", undefined);
    assert.equal(bad.problems.length, 1);
    assert.match(bad.problems[0]!.message, /not an IANA time zone/);
    assert.equal(one(text, "UTC", "Europe/Berlin").zone, "Europe/Berlin");
  });

  it("drops dates ical.js rolls over (30 February is not 2 March), keeps real ones", () => {
    const rule = (r: string): IcsEvent =>
      one(
        calendar(
          "BEGIN:VEVENT",
          "UID:x",
          "DTSTART:20260101T000000Z",
          "DURATION:PT1H",
          `RRULE:${r}`,
          "END:VEVENT",
        ),
      );
    const span = [ms("2026-01-01T00:00:00Z"), ms("2036-01-01T00:00:00Z")] as const;
    const starts = (ev: IcsEvent): string[] =>
      eventOccurrences(ev, ...span).map((o) => iso(o.start).slice(0, 10));
    // (DTSTART not matching its own RRULE is undefined in RFC 5545; ical.js leaves it out.)
    assert.deepEqual(starts(rule("FREQ=YEARLY;BYMONTH=2;BYMONTHDAY=30")), []);
    assert.deepEqual(starts(rule("FREQ=YEARLY;BYMONTH=2;BYMONTHDAY=29")), [
      "2028-02-29",
      "2032-02-29",
    ]);
  });

  it("reports events without an end, bad RRULEs and broken files instead of throwing", () => {
    const noEnd = parseIcs(
      calendar("BEGIN:VEVENT", "UID:n", "DTSTART:20260704T100000Z", "END:VEVENT"),
      "UTC",
      undefined,
    );
    assert.match(noEnd.problems[0]!.message, /DTEND or DURATION/);
    const secondly = parseIcs(
      calendar(
        "BEGIN:VEVENT",
        "UID:s",
        "DTSTART:20260704T100000Z",
        "DURATION:PT1S",
        "RRULE:FREQ=SECONDLY",
        "END:VEVENT",
      ),
      "UTC",
      undefined,
    );
    assert.match(secondly.problems[0]!.message, /SECONDLY/);
    assert.equal(parseIcs("not a calendar", "UTC", undefined).problems.length, 1);
    assert.equal(parseIcs("", "UTC", undefined).problems.length, 1);
  });
});

import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { IANAZone } from "luxon";
import { parseDuration } from "./schema.js";
import type { Schedule } from "./types.js";
import {
  describeSchedule,
  holidayOn,
  localTime,
  offsetAt,
  parseDays,
  parseHhMm,
  parsePolicyInstant,
  resolveLocal,
  scheduleCovering,
  scheduleOccurrences,
} from "./windows.js";

const NY = "America/New_York";
const PARIS = "Europe/Paris";
const ms = (iso: string): number => Date.parse(iso);
const iso = (t: number): string => new Date(t).toISOString();

describe("offsetAt (cached)", () => {
  it("agrees with the zone database minute by minute around DST changes", () => {
    const cases: [string, string][] = [
      [NY, "2026-03-08T00:00:00Z"],
      [NY, "2026-11-01T00:00:00Z"],
      [PARIS, "2026-10-24T18:00:00Z"],
      ["Australia/Lord_Howe", "2026-04-04T06:00:00Z"], // 30-minute DST shift
      ["America/St_Johns", "2026-03-08T00:00:00Z"], // transition at a half hour UTC
    ];
    for (const [zone, from] of cases) {
      const z = IANAZone.create(zone);
      const start = ms(from);
      for (let t = start; t < start + 24 * 3_600_000; t += 60_000) {
        assert.equal(offsetAt(zone, t), z.offset(t), `${zone} at ${iso(t)}`);
      }
    }
  });

  it("gives the local date, weekday and time", () => {
    assert.deepEqual(localTime(NY, ms("2026-11-01T06:30:00Z")), {
      year: 2026,
      month: 11,
      day: 1,
      weekday: "sun",
      hour: 1,
      minute: 30,
      second: 0,
    });
  });
});

describe("resolveLocal", () => {
  it("resolves an ordinary local time with the zone's offset", () => {
    assert.equal(
      iso(resolveLocal(PARIS, { year: 2026, month: 7, day: 1 }, 600, 0, "start")),
      "2026-07-01T08:00:00.000Z",
    );
  });

  it("moves a time inside the spring-forward gap to the first instant after the gap (both edges)", () => {
    // New York, 2026-03-08: 02:00 EST jumps to 03:00 EDT (07:00Z); 02:30 does not exist.
    const day = { year: 2026, month: 3, day: 8 };
    assert.equal(iso(resolveLocal(NY, day, 150, 0, "start")), "2026-03-08T07:00:00.000Z");
    assert.equal(iso(resolveLocal(NY, day, 150, 0, "end")), "2026-03-08T07:00:00.000Z");
    // Paris, 2026-03-29: 02:00 CET jumps to 03:00 CEST (01:00Z).
    const p = { year: 2026, month: 3, day: 29 };
    assert.equal(iso(resolveLocal(PARIS, p, 120, 0, "start")), "2026-03-29T01:00:00.000Z");
    assert.equal(iso(resolveLocal(PARIS, p, 179, 0, "start")), "2026-03-29T01:00:00.000Z");
    assert.equal(iso(resolveLocal(PARIS, p, 180, 0, "start")), "2026-03-29T01:00:00.000Z");
  });

  it("takes the earlier instant of a repeated time as a start and the later one as an end", () => {
    // New York, 2026-11-01: 01:00–01:59 happens twice (EDT 05:00Z, then EST 06:00Z).
    const day = { year: 2026, month: 11, day: 1 };
    assert.equal(iso(resolveLocal(NY, day, 90, 0, "start")), "2026-11-01T05:30:00.000Z");
    assert.equal(iso(resolveLocal(NY, day, 90, 0, "end")), "2026-11-01T06:30:00.000Z");
    // Paris, 2026-10-25: 02:00–02:59 happens twice (CEST 00:00Z, then CET 01:00Z).
    const p = { year: 2026, month: 10, day: 25 };
    assert.equal(iso(resolveLocal(PARIS, p, 150, 0, "start")), "2026-10-25T00:30:00.000Z");
    assert.equal(iso(resolveLocal(PARIS, p, 150, 0, "end")), "2026-10-25T01:30:00.000Z");
  });

  it("accepts minutes past 24:00 as the next day", () => {
    assert.equal(
      iso(resolveLocal("UTC", { year: 2026, month: 12, day: 31 }, 1440 + 60, 0, "end")),
      "2027-01-01T01:00:00.000Z",
    );
  });
});

const nightly: Schedule = {
  name: "night",
  spans: [{ days: ["sat"], start: 22 * 60, end: 2 * 60 }],
  excludeHolidays: false,
};

describe("scheduleCovering across DST", () => {
  it("a 22:00–02:00 window on the fall-back night covers both 01:00 hours", () => {
    // Sat 2026-10-31 22:00 EDT (02:00Z) to Sun 02:00 EST (07:00Z): five real hours.
    for (const t of [
      "2026-11-01T02:00:00Z", // 22:00 EDT
      "2026-11-01T05:15:00Z", // first 01:15 (EDT)
      "2026-11-01T06:15:00Z", // second 01:15 (EST)
      "2026-11-01T06:59:59Z", // 01:59:59 EST
    ]) {
      const occ = scheduleCovering(nightly, NY, [], ms(t));
      assert.ok(occ, `${t} should be covered`);
      assert.equal(iso(occ.start), "2026-11-01T02:00:00.000Z");
      assert.equal(iso(occ.end), "2026-11-01T07:00:00.000Z");
    }
    assert.equal(scheduleCovering(nightly, NY, [], ms("2026-11-01T07:00:00Z")), undefined);
    assert.equal(scheduleCovering(nightly, NY, [], ms("2026-11-01T01:59:00Z")), undefined);
  });

  it("a window ending at a repeated time runs to its second occurrence", () => {
    const s: Schedule = {
      name: "x",
      spans: [{ days: ["sat"], start: 23 * 60, end: 150 }],
      excludeHolidays: false,
    };
    // Paris 2026-10-25 02:30 happens at 00:30Z and 01:30Z; the window ends at the later.
    assert.ok(scheduleCovering(s, PARIS, [], ms("2026-10-25T01:29:00Z")));
    assert.equal(scheduleCovering(s, PARIS, [], ms("2026-10-25T01:30:00Z")), undefined);
  });

  it("a window starting at a non-existent spring-forward time starts at the first valid instant", () => {
    const s: Schedule = {
      name: "x",
      spans: [{ days: ["sun"], start: 150, end: 5 * 60 }],
      excludeHolidays: false,
    };
    // New York 2026-03-08: 02:30 does not exist; the window starts at 03:00 EDT (07:00Z).
    assert.equal(scheduleCovering(s, NY, [], ms("2026-03-08T06:59:00Z")), undefined);
    const occ = scheduleCovering(s, NY, [], ms("2026-03-08T07:00:00Z"));
    assert.ok(occ);
    assert.equal(iso(occ.start), "2026-03-08T07:00:00.000Z");
    assert.equal(iso(occ.end), "2026-03-08T09:00:00.000Z"); // 05:00 EDT
    // A week later (no DST change) it starts at 02:30 EDT.
    assert.equal(
      iso(scheduleCovering(s, NY, [], ms("2026-03-15T07:00:00Z"))!.start),
      "2026-03-15T06:30:00.000Z",
    );
  });

  it("a spring-forward night window is one hour shorter, as the clock says", () => {
    const s: Schedule = {
      name: "x",
      spans: [{ days: ["sat"], start: 22 * 60, end: 2 * 60 + 30 }],
      excludeHolidays: false,
    };
    const occ = scheduleCovering(s, NY, [], ms("2026-03-08T04:00:00Z"));
    assert.ok(occ);
    assert.equal(iso(occ.start), "2026-03-08T03:00:00.000Z"); // 22:00 EST
    assert.equal(iso(occ.end), "2026-03-08T07:00:00.000Z"); // the gap: 03:00 EDT
  });

  it("a span crossing midnight belongs to the day it starts on", () => {
    // Sat 22:00 – Sun 02:00: Sunday 23:00 is not covered, Sunday 01:00 is.
    assert.ok(scheduleCovering(nightly, "UTC", [], ms("2026-06-07T01:00:00Z")));
    assert.equal(scheduleCovering(nightly, "UTC", [], ms("2026-06-07T23:00:00Z")), undefined);
  });

  it("skips spans that start on a holiday when the schedule excludes holidays", () => {
    const business: Schedule = {
      name: "bh",
      spans: [{ days: ["mon", "tue", "wed", "thu", "fri"], start: 480, end: 1080 }],
      excludeHolidays: true,
    };
    const holidays = [{ date: "12-25", name: "Christmas" }];
    assert.equal(
      scheduleCovering(business, PARIS, holidays, ms("2026-12-25T10:00:00Z")),
      undefined,
    );
    assert.ok(scheduleCovering(business, PARIS, holidays, ms("2026-12-24T10:00:00Z")));
    assert.ok(
      scheduleCovering(
        { ...business, excludeHolidays: false },
        PARIS,
        holidays,
        ms("2026-12-25T10:00:00Z"),
      ),
    );
  });
});

describe("scheduleOccurrences", () => {
  it("lists each night with the right instants across the fall-back change", () => {
    const occ = scheduleOccurrences(
      nightly,
      NY,
      [],
      ms("2026-10-24T00:00:00Z"),
      ms("2026-11-09T00:00:00Z"),
    );
    assert.deepEqual(
      occ.map((o) => [iso(o.start), iso(o.end)]),
      [
        ["2026-10-25T02:00:00.000Z", "2026-10-25T06:00:00.000Z"],
        ["2026-11-01T02:00:00.000Z", "2026-11-01T07:00:00.000Z"],
        ["2026-11-08T03:00:00.000Z", "2026-11-08T07:00:00.000Z"],
      ],
    );
  });

  it("respects from/until bounds on local dates", () => {
    const occ = scheduleOccurrences(
      nightly,
      NY,
      [],
      ms("2026-10-01T00:00:00Z"),
      ms("2026-12-01T00:00:00Z"),
      {
        from: "2026-10-31",
        until: "2026-11-07",
      },
    );
    assert.equal(occ.length, 2);
  });
});

describe("parsing", () => {
  it("reads day lists, ranges and names", () => {
    assert.deepEqual(parseDays("mon-fri"), ["mon", "tue", "wed", "thu", "fri"]);
    assert.deepEqual(parseDays("fri-mon"), ["fri", "sat", "sun", "mon"]);
    assert.deepEqual(parseDays("Saturday"), ["sat"]);
    assert.deepEqual(parseDays("weekend"), ["sat", "sun"]);
    assert.equal(parseDays("funday"), undefined);
    assert.equal(parseDays("__proto__"), undefined);
  });

  it("reads HH:MM with 24:00 only as an end", () => {
    assert.equal(parseHhMm("08:30", false), 510);
    assert.equal(parseHhMm("24:00", true), 1440);
    assert.equal(parseHhMm("24:00", false), undefined);
    assert.equal(parseHhMm("8:30", false), undefined);
    assert.equal(parseHhMm("23:60", false), undefined);
  });

  it("reads durations", () => {
    assert.equal(parseDuration("10m"), 600_000);
    assert.equal(parseDuration("1h30m"), 5_400_000);
    assert.equal(parseDuration("90s"), 90_000);
    assert.equal(parseDuration("PT10M"), 600_000);
    assert.equal(parseDuration("0m"), undefined);
    assert.equal(parseDuration("ten minutes"), undefined);
  });

  it("reads policy instants as local wall time or absolute time", () => {
    assert.equal(
      iso(parsePolicyInstant("2026-12-05T22:00", PARIS, "start")!),
      "2026-12-05T21:00:00.000Z",
    );
    assert.equal(
      iso(parsePolicyInstant("2026-12-05T22:00Z", PARIS, "start")!),
      "2026-12-05T22:00:00.000Z",
    );
    assert.equal(
      iso(parsePolicyInstant("2026-12-05T22:00+05:00", PARIS, "start")!),
      "2026-12-05T17:00:00.000Z",
    );
    assert.equal(parsePolicyInstant("2026-02-30T10:00", PARIS, "start"), undefined);
    assert.equal(parsePolicyInstant("tomorrow", PARIS, "start"), undefined);
  });

  it("describes schedules and finds yearly holidays", () => {
    assert.equal(describeSchedule(nightly), "Sat 22:00–02:00 (+1 day)");
    assert.equal(
      describeSchedule({
        name: "b",
        spans: [{ days: ["mon", "tue", "wed", "thu", "fri"], start: 480, end: 1080 }],
        excludeHolidays: true,
      }),
      "Mon–Fri 08:00–18:00",
    );
    assert.equal(holidayOn([{ date: "05-01" }], { year: 2031, month: 5, day: 1 })?.date, "05-01");
    assert.equal(holidayOn([{ date: "2026-05-01" }], { year: 2031, month: 5, day: 1 }), undefined);
  });
});

/**
 * Hostile and heavy recurrences: rules that used to hang, crash a run or silently stop. Bounds
 * are proven by counting ical.js steps (`expansionStepCount`), never by timing.
 */
import assert from "node:assert/strict";
import { execFileSync } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, describe, it } from "node:test";
import { fileURLToPath } from "node:url";
import ICAL from "ical.js";
import { fakeIo } from "../../test/helpers/cli.js";
import { run } from "../cli/run.js";
import { renderPolicy } from "../report/policy.js";
import { policyWarnings, windowCovering, windowOccurrences } from "./evaluate.js";
import { checkPolicyText, formatProblem, parsePolicy, readIcsFile } from "./load.js";
import type { Policy } from "./types.js";
import { checkRrule, expansionStepCount, resolveLocal } from "./windows.js";

const ms = (iso: string): number => Date.parse(iso);

const inline = (rrule: string, start = "2026-01-05T22:00", end = "2026-01-05T23:00"): string =>
  `sites:\n  - name: p\n    zone: Europe/Paris\nwindows:\n  - ref: W\n    start: "${start}"\n    end: "${end}"\n    rrule: "${rrule}"\n`;

const problems = (text: string, options = {}): string[] => {
  const r = checkPolicyText(text, { name: "p.yaml", ...options });
  return r.ok ? [] : r.problems.map((p) => formatProblem("p.yaml", p));
};

/** ical.js steps one call takes. */
const steps = (f: () => unknown): number => {
  const before = expansionStepCount();
  f();
  return expansionStepCount() - before;
};

const ics = (events: readonly string[]): string =>
  ["BEGIN:VCALENDAR", "VERSION:2.0", "PRODID:-//test//EN", ...events, "END:VCALENDAR", ""].join(
    "\r\n",
  );

const vevent = (uid: string, dtstart: string, rrule: string, extra: string[] = []): string =>
  [
    "BEGIN:VEVENT",
    `UID:${uid}`,
    `DTSTART;TZID=Europe/Paris:${dtstart}`,
    "DURATION:PT1H",
    `RRULE:${rrule}`,
    ...extra,
    "END:VEVENT",
  ].join("\r\n");

const withCalendar = (): string =>
  `sites:\n  - name: p\n    zone: Europe/Paris\nwindows:\n  - ref: CAL\n    ics: cal.ics\n`;

const policyWith = (calendar: string): Policy =>
  parsePolicy(withCalendar(), { name: "p.yaml", readFile: () => calendar });

describe("RRULE parts are bounded at load", () => {
  it("refuses a huge INTERVAL and out-of-range parts, with the line", () => {
    assert.deepEqual(problems(inline("FREQ=DAILY;INTERVAL=99999999999")), [
      "p.yaml:8: windows[0].rrule: INTERVAL must be a whole number from 1 to 1000",
    ]);
    assert.match(checkRrule("FREQ=WEEKLY;BYHOUR=24") ?? "", /BYHOUR/);
    assert.match(checkRrule("FREQ=YEARLY;BYYEARDAY=0") ?? "", /BYYEARDAY value 0 is out of range/);
    assert.match(checkRrule("FREQ=MONTHLY;BYMONTHDAY=0") ?? "", /not 0/);
    assert.match(checkRrule("FREQ=MONTHLY;BYDAY=99MO") ?? "", /BYDAY value/);
    assert.match(checkRrule("FREQ=DAILY;COUNT=1000000") ?? "", /COUNT must be/);
    assert.match(checkRrule("FREQ=MINUTELY") ?? "", /not supported/);
    assert.equal(checkRrule("FREQ=MONTHLY;BYDAY=-1FR;BYHOUR=22"), undefined);
  });

  it("expands every rule once: one ical.js cannot run is a policy error, never a crash later", () => {
    assert.deepEqual(problems(inline("FREQ=WEEKLY;BYMONTHDAY=31")), [
      "p.yaml:8: windows[0].rrule: invalid RRULE (For WEEKLY recurrences neither BYMONTHDAY nor BYYEARDAY may appear)",
    ]);
    assert.deepEqual(problems(inline("FREQ=MONTHLY;BYDAY=6MO")), [
      "p.yaml:8: windows[0].rrule: invalid RRULE (Malformed values in BYDAY part)",
    ]);
    const cal = ics([vevent("bad", "20260105T220000", "FREQ=WEEKLY;BYYEARDAY=3")]);
    const found = problems(withCalendar(), { readFile: () => cal });
    assert.equal(found.length, 1);
    assert.match(
      found[0] ?? "",
      /^p\.yaml:6: windows\[0\]\.ics: cal\.ics: VEVENT 1 \(UID bad\): invalid RRULE/,
    );
  });

  it("refuses a rule that can never match, within a bounded number of steps", () => {
    // ical.js searches day after day for 30 February; the search stops at the span's end.
    let found: string[] = [];
    const n = steps(() => (found = problems(inline("FREQ=DAILY;BYMONTH=2;BYMONTHDAY=30"))));
    assert.deepEqual(found, [
      "p.yaml:8: windows[0].rrule: RRULE gives no occurrence after DTSTART (the rule can never match)",
    ]);
    assert.ok(n <= 31 * 366 + 10, `${n} steps`);
    // every 7th day from a Tuesday is never a Monday
    assert.equal(
      problems(inline("FREQ=DAILY;INTERVAL=7;BYDAY=MO", "2026-01-06T22:00", "2026-01-06T23:00"))
        .length,
      1,
    );
  });
});

describe("expansion starts at the span asked for", () => {
  it("an hourly rule from 2000 still gives windows in 2026, from a few steps", () => {
    const policy = parsePolicy(
      inline("FREQ=HOURLY;BYMINUTE=0", "2000-01-01T00:00", "2000-01-01T00:20"),
      {
        name: "p.yaml",
      },
    );
    const w = policy.windows[0]!;
    let occ: ReturnType<typeof windowCovering>;
    const n = steps(() => (occ = windowCovering(w, ms("2026-06-10T12:10:00Z"))));
    assert.deepEqual(occ!, { start: ms("2026-06-10T12:00:00Z"), end: ms("2026-06-10T12:20:00Z") });
    assert.equal(windowCovering(w, ms("2026-06-10T12:30:00Z")), undefined);
    // one day of hours (plus the zone slack), not 26 years of them
    assert.ok(n < 500, `${n} steps`);
    assert.deepEqual(policyWarnings(policy), []);
  });

  it("keeps the phase of INTERVAL, the weekday of WEEKLY and the last start of COUNT", () => {
    const every3 = parsePolicy(
      inline("FREQ=DAILY;INTERVAL=3", "2010-01-01T10:00", "2010-01-01T11:00"),
      {
        name: "p.yaml",
      },
    ).windows[0]!;
    // 2026-06-10 is day 6004 after 2010-01-01: 6004 = 3 × 2001 + 1, so the 9th and 12th, not the 10th
    assert.ok(windowCovering(every3, ms("2026-06-09T08:30:00Z")));
    assert.equal(windowCovering(every3, ms("2026-06-10T08:30:00Z")), undefined);
    assert.ok(windowCovering(every3, ms("2026-06-12T08:30:00Z")));

    const counted = parsePolicy(
      inline("FREQ=WEEKLY;BYDAY=MO,TH;COUNT=1000", "2010-01-04T22:00", "2010-01-04T23:00"),
      {
        name: "p.yaml",
      },
    ).windows[0]!;
    // 1000 starts twice a week from Monday 2010-01-04: week 500 starts on 2019-07-29, and its
    // Thursday (1 August) is the last
    assert.ok(windowCovering(counted, ms("2019-08-01T20:30:00Z")));
    assert.equal(windowCovering(counted, ms("2019-08-05T20:30:00Z")), undefined);
    assert.ok(windowCovering(counted, ms("2015-03-02T21:30:00Z"))); // a Monday, winter time

    const monthly = parsePolicy(
      inline("FREQ=MONTHLY;BYMONTHDAY=31", "2010-01-31T22:00", "2010-01-31T23:00"),
      {
        name: "p.yaml",
      },
    ).windows[0]!;
    assert.ok(windowCovering(monthly, ms("2026-05-31T20:30:00Z")));
    assert.equal(
      windowOccurrences(monthly, ms("2026-04-01T00:00:00Z"), ms("2026-05-01T00:00:00Z")).length,
      0,
    );
  });

  it("a calendar of 1,000 daily events since 2010 costs steps per day asked, not per day since 2010", () => {
    const events = Array.from({ length: 1000 }, (_, i) =>
      vevent(
        `e${i}`,
        `2010${String(1 + (i % 12)).padStart(2, "0")}01T${String(i % 24).padStart(2, "0")}0000`,
        "FREQ=DAILY",
      ),
    );
    const policy = policyWith(ics(events));
    assert.equal(policy.windows.length, 1000);
    const at = ms("2026-06-10T10:30:00Z"); // 12:30 Paris: inside the events starting at 12:00
    let covering = 0;
    const n = steps(() => {
      for (const w of policy.windows) if (windowCovering(w, at)) covering++;
    });
    assert.equal(covering, 42); // i % 24 === 12 for 42 of the 1,000
    // per event: one bucket of a few days of starts; from 2010 it would be ~6,000 each
    assert.ok(n < 1000 * 20, `${n} steps`);
  });

  it("policy check of 2,000 hourly events expands 14 days of each", () => {
    const events = Array.from({ length: 2000 }, (_, i) =>
      vevent(`h${i}`, "20000101T000000", `FREQ=HOURLY;BYMINUTE=${i % 60}`),
    );
    const policy = policyWith(ics(events));
    const now = ms("2026-11-28T12:00:00Z");
    let text = "";
    const n = steps(() => (text = renderPolicy(policy, now, 14)));
    assert.match(text, /… 286 more/); // 14 × 24 = 336 starts per window, 50 shown
    assert.ok(n < 2000 * 14 * 24 * 2, `${n} steps`);
  });
});

describe("a cap reached is a warning, never a silent loss", () => {
  it("says so in policyWarnings and in policy check", () => {
    // once a second all day: more starts than one expansion gives
    const every = Array.from({ length: 60 }, (_, i) => i).join(",");
    const hours = Array.from({ length: 24 }, (_, i) => i).join(",");
    const policy = parsePolicy(
      inline(
        `FREQ=DAILY;BYHOUR=${hours};BYMINUTE=${every};BYSECOND=${every}`,
        "2026-01-05T00:00",
        "2026-01-05T00:01",
      ),
      { name: "p.yaml" },
    );
    assert.deepEqual(policyWarnings(policy), []);
    windowCovering(policy.windows[0]!, ms("2026-03-10T12:00:00Z"));
    const warnings = policyWarnings(policy);
    assert.equal(warnings.length, 1);
    assert.match(warnings[0] ?? "", /^window W: recurrence expansion capped near 2026-03-\d\d/);
    assert.match(
      renderPolicy(policy, ms("2026-03-10T00:00:00Z"), 1),
      /^warnings \(1\)\n {2}window W: recurrence expansion capped/m,
    );
  });
});

describe("iCalendar files are read bounded", () => {
  const dir = mkdtempSync(join(tmpdir(), "guestops-ics-"));
  after(() => rmSync(dir, { recursive: true, force: true }));

  it("refuses a device and a FIFO without reading them", () => {
    assert.throws(() => readIcsFile("/dev/zero"), /not a regular file/);
    const fifo = join(dir, "cal.fifo");
    execFileSync("mkfifo", [fifo]);
    // no writer: a blocking open would hang here
    assert.throws(() => readIcsFile(fifo), /not a regular file/);
    const text = `sites:\n  - name: p\n    zone: UTC\nwindows:\n  - ref: Z\n    ics: /dev/zero\n`;
    assert.deepEqual(problems(text), [
      "p.yaml:6: windows[0].ics: cannot read iCalendar file /dev/zero (not a regular file)",
    ]);
  });

  it("stops reading at the byte cap", () => {
    const big = join(dir, "big.ics");
    writeFileSync(big, "X".repeat(5000));
    assert.throws(() => readIcsFile(big, 4096), /larger than/);
    assert.equal(readIcsFile(big, 5000).length, 5000);
  });
});

describe("moving the start keeps every occurrence", () => {
  it("gives the same starts as ical.js run from DTSTART (differential)", () => {
    const rules = [
      "FREQ=DAILY;INTERVAL=3",
      "FREQ=WEEKLY;INTERVAL=2;BYDAY=MO,FR",
      "FREQ=WEEKLY;INTERVAL=3;WKST=SU;BYDAY=SU,SA",
      "FREQ=MONTHLY;BYDAY=-1FR",
      "FREQ=MONTHLY;INTERVAL=2;BYMONTHDAY=31",
      "FREQ=MONTHLY;INTERVAL=4",
      "FREQ=MONTHLY;BYDAY=MO,TU;BYSETPOS=-1",
      "FREQ=MONTHLY",
      "FREQ=YEARLY;BYMONTH=2;BYMONTHDAY=29",
      "FREQ=YEARLY;INTERVAL=2",
      "FREQ=YEARLY;BYWEEKNO=1;BYDAY=MO",
      "FREQ=HOURLY;INTERVAL=7;BYDAY=SA",
      "FREQ=HOURLY;INTERVAL=5;BYHOUR=1,2,3;UNTIL=20280101T000000Z",
      "FREQ=DAILY;BYHOUR=2,14;BYMINUTE=30",
    ];
    const from = ms("2027-07-01T00:00:00Z");
    const to = ms("2028-06-30T00:00:00Z");
    for (const rule of rules) {
      const policy = parsePolicy(inline(rule, "2012-01-31T02:30", "2012-01-31T02:45"), {
        name: "p.yaml",
      });
      const w = policy.windows[0]!;
      const got = windowOccurrences(w, from, to).map((o) => o.start);
      // reference: plain ical.js from DTSTART, every wall time through the same conversion
      const recur = ICAL.Recur.fromString(rule);
      const it = recur.iterator(
        ICAL.Time.fromData({
          year: 2012,
          month: 1,
          day: 31,
          hour: 2,
          minute: 30,
          second: 0,
          isDate: false,
        }),
      );
      const byMonth = recur.parts.BYMONTH;
      const byMonthDay = recur.parts.BYMONTHDAY;
      const want: number[] = [];
      for (let t = it.next(); t && t.year < 2029; t = it.next()) {
        if (byMonth && !byMonth.includes(t.month)) continue;
        if (byMonthDay && !byMonthDay.includes(t.day)) continue;
        const s = resolveLocal("Europe/Paris", t, t.hour * 60 + t.minute, t.second, "start");
        const e = resolveLocal("Europe/Paris", t, t.hour * 60 + t.minute + 15, t.second, "end");
        if (e > from && s < to) want.push(s);
      }
      assert.ok(want.length > 0, rule);
      assert.deepEqual(got, want, rule);
    }
  });
});

describe("scan states a recurrence cap in its summary", () => {
  const dir = mkdtempSync(join(tmpdir(), "guestops-cap-"));
  after(() => rmSync(dir, { recursive: true, force: true }));

  it("prints the policy warning on stderr and in the JSON summary", async () => {
    const root = fileURLToPath(new URL("../..", import.meta.url));
    const every = Array.from({ length: 60 }, (_, i) => i).join(",");
    const policy = join(dir, "policy.yaml");
    writeFileSync(
      policy,
      readFileSync(join(root, "examples/policy.yaml"), "utf8").replace(
        /^windows:\n/m,
        `windows:\n  - ref: CAP\n    start: "2020-01-01T00:00"\n    end: "2020-01-01T00:01"\n` +
          `    rrule: "FREQ=HOURLY;BYMINUTE=${every};BYSECOND=${every}"\n`,
      ),
    );
    assert.match(readFileSync(policy, "utf8"), /^ {2}- ref: CAP$/m);
    const text = fakeIo(root);
    assert.equal(await run(["scan", "examples/logs", "--policy", policy], text.io), 0);
    assert.match(
      text.err.join("\n"),
      /^ {2}policy warning: window CAP: recurrence expansion capped/m,
    );
    const json = fakeIo(root);
    await run(["scan", "examples/logs", "--policy", policy, "--format", "json"], json.io);
    const doc = JSON.parse(json.out.join("\n")) as { summary: { policyWarnings?: string[] } };
    assert.match(doc.summary.policyWarnings?.[0] ?? "", /^window CAP: recurrence expansion capped/);
  });
});

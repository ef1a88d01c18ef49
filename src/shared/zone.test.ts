import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { parseTimeBound } from "../cli/time-bound.js";
import { parseIsoTime, scanBsdTime, timeFromParts } from "../ingest/time.js";
import { parsePolicy } from "../policy/load.js";
import { windowCovering } from "../policy/evaluate.js";
import { parseIsoInstant, wallToUtc } from "./zone.js";

const PARIS = "Europe/Paris";
const NY = "America/New_York";

/**
 * The DST edges of 2026: a wall time in each spring-forward gap and in each repeated hour, with
 * the instant each rule gives (docs/DESIGN.md, "One clock").
 */
const EDGES = [
  // Paris: 02:00 → 03:00 on 29 March, 03:00 → 02:00 on 25 October.
  { zone: PARIS, wall: "2026-03-29T02:30:00", start: "2026-03-29T01:00:00.000Z", end: null },
  {
    zone: PARIS,
    wall: "2026-10-25T02:30:00",
    start: "2026-10-25T00:30:00.000Z",
    end: "2026-10-25T01:30:00.000Z",
  },
  // New York: 02:00 → 03:00 on 8 March, 02:00 → 01:00 on 1 November.
  { zone: NY, wall: "2026-03-08T02:30:00", start: "2026-03-08T07:00:00.000Z", end: null },
  {
    zone: NY,
    wall: "2026-11-01T01:30:00",
    start: "2026-11-01T05:30:00.000Z",
    end: "2026-11-01T06:30:00.000Z",
  },
] as const;

const fields = (wall: string): [number, number, number, number, number, number] => {
  const m = /^(\d{4})-(\d{2})-(\d{2})T(\d{2}):(\d{2}):(\d{2})$/.exec(wall);
  assert.ok(m);
  return [1, 2, 3, 4, 5, 6].map((i) => Number(m[i])) as [
    number,
    number,
    number,
    number,
    number,
    number,
  ];
};

describe("one wall-clock conversion for logs and policy", () => {
  it("log timestamps without a zone (--assume-tz) follow the DST rules", () => {
    for (const e of EDGES) {
      // A log timestamp is read as a start: in a gap the first instant after it, in a repeated
      // hour the earlier instant.
      assert.equal(parseIsoTime(e.wall, e.zone)?.time, e.start, `${e.zone} ${e.wall}`);
      const [year, month, day, hour, minute, second] = fields(e.wall);
      assert.equal(
        timeFromParts({ year, month, day, hour, minute, second, millisecond: 0 }, undefined, e.zone)
          ?.time,
        e.start,
      );
      const months = ["Mar", "Oct", "Nov"];
      const bsd = `${months[month === 3 ? 0 : month === 10 ? 1 : 2]} ${String(day).padStart(2, " ")} ${e.wall.slice(11)}`;
      const scanned = scanBsdTime(bsd, 0, {
        assumeTz: e.zone,
        referenceTime: "2026-12-01T00:00:00Z",
      });
      assert.equal(scanned?.time, e.start, bsd);
    }
  });

  it("policy windows resolve the same wall times to the same instants", () => {
    for (const e of EDGES) {
      const policy = parsePolicy(
        `sites:\n  - name: s\n    zone: ${e.zone}\nwindows:\n  - ref: W\n    start: "${e.wall}"\n    end: "2026-12-31T00:00"\n  - ref: E\n    start: "2026-01-01T00:00"\n    end: "${e.wall}"\n`,
        { name: "p.yaml" },
      );
      const [w, x] = policy.windows;
      assert.ok(w && x && w.timing.kind === "once" && x.timing.kind === "once");
      assert.equal(new Date(w.timing.start).toISOString(), e.start, `${e.zone} start ${e.wall}`);
      // As an end, a repeated time is the later instant; a time in a gap is still the gap's end.
      assert.equal(new Date(x.timing.end).toISOString(), e.end ?? e.start, `${e.zone} end`);
      // The window covers the instant a log line with that wall time is read as.
      const logged = Date.parse(parseIsoTime(e.wall, e.zone)?.time ?? "");
      assert.ok(windowCovering(w, logged), `${e.zone}: the log line falls inside the window`);
    }
  });

  it("--since/--until dates start at the zone's first instant of the day", () => {
    // America/Santiago springs forward at midnight: 2026-09-06 00:00 does not exist.
    const since = parseTimeBound("2026-09-06", "America/Santiago", "since");
    assert.equal(new Date(since).toISOString(), "2026-09-06T04:00:00.000Z");
    assert.equal(
      new Date(parseTimeBound("2026-09-05", "America/Santiago", "until")).toISOString(),
      "2026-09-06T04:00:00.000Z",
    );
    assert.equal(parseTimeBound("2026-03-29", PARIS, "until"), Date.parse("2026-03-29T22:00:00Z"));
  });

  it("keeps exact answers around a 30-minute DST gap (cached per local hour)", () => {
    const lh = "Australia/Lord_Howe"; // 02:00 → 02:30 on 4 October 2026 (+10:30 → +11:00)
    const at = (h: number, m: number): string =>
      new Date(wallToUtc(lh, 2026, 10, 4, h, m, 0, 0)).toISOString();
    assert.equal(at(1, 59), "2026-10-03T15:29:00.000Z");
    assert.equal(at(2, 15), "2026-10-03T15:30:00.000Z"); // in the gap: its end
    assert.equal(at(2, 45), "2026-10-03T15:45:00.000Z");
    assert.equal(at(3, 0), "2026-10-03T16:00:00.000Z");
    // the same hour again, now from the cache
    assert.equal(at(2, 15), "2026-10-03T15:30:00.000Z");
    assert.equal(at(2, 45), "2026-10-03T15:45:00.000Z");
  });

  it("refuses offsets beyond ±18:00 in times users give", () => {
    assert.equal(parseIsoInstant("2026-03-10T00:00:00+99:00"), undefined);
    assert.equal(parseIsoInstant("2026-03-10T00:00:00-18:01"), undefined);
    assert.equal(parseIsoInstant("2026-03-10T00:00:00+18:00"), Date.parse("2026-03-09T06:00Z"));
    assert.equal(parseIsoInstant("2026-03-10T00:00:00"), undefined);
    assert.throws(
      () => parseTimeBound("2026-03-10T00:00:00+99:00", "UTC", "since"),
      /ERR_USAGE|not a time/,
    );
    assert.throws(() => parseTimeBound("2026-03-10T00:00:00+19:00", "UTC", "until"));
    assert.equal(
      timeFromParts(
        { year: 2026, month: 3, day: 10, hour: 0, minute: 0, second: 0, millisecond: 0 },
        "+19:00",
      ),
      undefined,
    );
  });
});

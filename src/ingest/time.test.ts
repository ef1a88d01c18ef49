import assert from "node:assert/strict";
import { describe, it } from "node:test";
import {
  canonicalIsoMs,
  isCanonicalIsoAt,
  isoTimeMs,
  parseIsoTime,
  scanIsoTime,
  timeFromEpochMs,
} from "./time.js";

describe("parseIsoTime", () => {
  it("normalises every fraction length and zone form to UTC with milliseconds", () => {
    const cases: ReadonlyArray<readonly [string, string]> = [
      ["2024-06-04T21:58:00.975Z", "2024-06-04T21:58:00.975Z"],
      ["2021-09-06T14:40:13.26309Z", "2021-09-06T14:40:13.263Z"],
      ["2021-09-06T14:40:30.299651+00:00", "2021-09-06T14:40:30.299Z"],
      ["2022-09-01T06:06:19.084018+02:00", "2022-09-01T04:06:19.084Z"],
      ["2024-06-04T23:58:00.9750000+02:00", "2024-06-04T21:58:00.975Z"],
      ["2024-06-04T16:58:00-0500", "2024-06-04T21:58:00.000Z"],
      ["2024-06-04 21:58:00,5Z", "2024-06-04T21:58:00.500Z"],
      // as long as the canonical form, but without seconds: normalised, not taken as it is
      ["2024-06-03T00:00.123456Z", "2024-06-03T00:00:00.123Z"],
    ];
    for (const [input, want] of cases) {
      assert.deepEqual(parseIsoTime(input), { time: want, assumed: false }, input);
    }
  });

  it("reads a zone-less time in the assumed zone and says so", () => {
    assert.deepEqual(parseIsoTime("2024-01-15T10:00:00", "Europe/Paris"), {
      time: "2024-01-15T09:00:00.000Z",
      assumed: true,
    });
  });

  it("rejects what is not a time or not a date", () => {
    for (const bad of [
      "#######",
      "",
      "2024-13-01T00:00:00Z",
      "2023-02-29T00:00:00Z",
      "2024-01-01T24:00:00Z",
      "2024-01-01T00:00:00+25:00",
      "x2024-01-01T00:00:00Z",
    ]) {
      assert.equal(parseIsoTime(bad), undefined, bad);
    }
    assert.equal(parseIsoTime("2024-01-01T00:00:00", "Not/AZone"), undefined);
  });

  it("converts epoch milliseconds", () => {
    assert.equal(timeFromEpochMs(1717538280975), "2024-06-04T21:58:00.975Z");
    assert.equal(timeFromEpochMs(Number.NaN), undefined);
    assert.equal(timeFromEpochMs(1e20), undefined);
  });
});

describe("isoTimeMs, isCanonicalIsoAt, canonicalIsoMs", () => {
  // Deterministic pseudo-random canonical-looking times, in range and out of range.
  let state = 1675;
  const rand = (n: number): number => {
    state = (state * 1103515245 + 12345) % 2147483648;
    return state % n;
  };
  const two = (n: number): string => String(n).padStart(2, "0");
  const samples: string[] = [
    "2024-02-29T23:59:59.999Z",
    "2023-02-29T00:00:00.000Z",
    "2024-06-30T12:00:60.123Z",
    "1969-12-31T23:59:59.999Z",
    "2024-06-31T00:00:00.000Z",
    "2024-06-03T24:00:00.000Z",
    "2024-06-03T00:00.123456Z",
    "2024-06-03T00:00:00,123Z",
    "2024-06-03T00:00:00.123+02:00",
  ];
  for (let k = 0; k < 500; k++) {
    samples.push(
      `${1960 + rand(80)}-${two(rand(14))}-${two(rand(33))}T${two(rand(26))}:${two(rand(61))}:${two(rand(62))}.${String(rand(1000)).padStart(3, "0")}Z`,
    );
  }

  it("isoTimeMs is Date.parse", () => {
    for (const t of samples) assert.deepEqual(isoTimeMs(t), Date.parse(t), t);
  });

  it("a canonical time is read by scanIsoTime to its end; its ms are Date.parse of the time read", () => {
    for (const t of samples) {
      const line = `x ${t} rest`;
      if (!isCanonicalIsoAt(line, 2)) {
        assert.ok(t.length !== 24 || !/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$/.test(t), t);
        continue;
      }
      const scanned = scanIsoTime(line, 2, { assumeTz: "UTC" });
      assert.equal(scanned?.end, 26, t);
      const expected = scanned?.time === undefined ? NaN : Date.parse(scanned.time);
      assert.deepEqual(canonicalIsoMs(line, 2), expected, t);
    }
    assert.equal(isCanonicalIsoAt("2024-06-03T00:00:00.000", 0), false, "cut short");
  });
});

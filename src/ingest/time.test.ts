import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { parseIsoTime, timeFromEpochMs } from "./time.js";

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

import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { op } from "../../../../test/helpers/operations.js";
import { run, signalsOf } from "../../../../test/helpers/detect.js";
import { outsideHours } from "./index.js";

const only = { rules: [outsideHours] };

describe("outside-hours", () => {
  it("ok: stays quiet for an admin inside business hours", () => {
    // Tue 2026-03-10 10:15 Paris (UTC+1)
    const r = run(
      [op({ time: "2026-03-10T09:15:00Z", principal: "CORP\\alice", vm: "app01" })],
      only,
    );
    assert.equal(r.alerts.length, 0);
  });

  it("ng: reports an admin on Saturday night, naming the local time and zone", () => {
    const r = run(
      [
        op({
          time: "2026-03-14T02:02:00Z",
          principal: "CORP\\alice",
          vm: "app01",
          host: "esx01.corp.example",
        }),
      ],
      only,
    );
    const [s] = signalsOf(r, "outside-hours");
    assert.ok(s);
    assert.equal(s.severity, "medium");
    assert.match(
      s.reason,
      /CORP\\alice ran StartProgramInGuest on VM app01 on host esx01\.corp\.example/,
    );
    assert.match(s.reason, /Sat 2026-03-14 03:02 Europe\/Paris \(UTC\+01:00\)/);
    assert.match(s.reason, /outside business hours/);
  });

  it("ok: a backup account inside its own hours at 02:00", () => {
    const r = run(
      [op({ time: "2026-03-12T01:00:00Z", principal: "CORP\\svc-veeam", vm: "db01" })],
      only,
    );
    assert.equal(r.alerts.length, 0);
  });

  it("ng: the same backup account at 14:00 is outside its own hours", () => {
    const r = run(
      [op({ time: "2026-03-12T13:00:00Z", principal: "CORP\\svc-veeam", vm: "db01" })],
      only,
    );
    const [s] = signalsOf(r, "outside-hours");
    assert.ok(s);
    assert.match(s.reason, /allowed hours of CORP\\svc-veeam/);
  });

  it("ok: an account in user@domain form matches its DOMAIN\\user entry", () => {
    // Sat 03:02: outside the hours of any admin; alice@corp.example is CORP\alice (domains: alias).
    const weekday = op({
      time: "2026-03-10T09:15:00Z",
      principal: "alice@corp.example",
      vm: "app01",
    });
    const r = run([weekday], only);
    assert.equal(r.alerts.length, 0);
    const weekend = op({
      time: "2026-03-14T02:02:00Z",
      principal: "alice@corp.example",
      vm: "app01",
    });
    assert.match(
      signalsOf(run([weekend], only), "outside-hours")[0]?.reason ?? "",
      /alice@corp\.example/,
    );
  });

  describe("the DST night (America/New_York falls back on 2026-11-01)", () => {
    // svc-batch may run 22:00-02:00 local. 01:30 happens twice: 05:30Z (EDT) and 06:30Z (EST).
    const batch = (time: string) =>
      op({ time, principal: "CORP\\svc-batch", vm: "app01", host: "nyc-esx01" });

    it("ok: both 01:30 of the repeated hour are inside 22:00-02:00", () => {
      const r = run([batch("2026-11-01T05:30:00Z"), batch("2026-11-01T06:30:00Z")], only);
      assert.equal(r.alerts.length, 0);
    });

    it("ng: 02:30 EST, after the window, is reported in New York time", () => {
      const r = run([batch("2026-11-01T07:30:00Z")], only);
      const [s] = signalsOf(r, "outside-hours");
      assert.ok(s);
      assert.match(s.reason, /Sun 2026-11-01 02:30 America\/New_York \(UTC-05:00\)/);
    });
  });

  describe("a recurring window with an exception (inline RRULE + EXDATE)", () => {
    const jsmith = (time: string) => op({ time, principal: "CORP\\jsmith", vm: "app01" });

    it("ok: an occurrence covers Saturday 21 March 22:30", () => {
      assert.equal(run([jsmith("2026-03-21T21:30:00Z")], only).alerts.length, 0);
    });

    it("ng: the cancelled occurrence of 14 March does not", () => {
      const r = run([jsmith("2026-03-14T21:30:00Z")], only);
      assert.equal(signalsOf(r, "outside-hours").length, 1);
    });
  });

  describe("an iCalendar change calendar (RRULE with an EXDATE)", () => {
    const alice = (time: string) => op({ time, principal: "CORP\\alice", vm: "app01" });

    it("ok: the 14 March occurrence approves Saturday 21:00", () => {
      const r = run([alice("2026-03-14T20:00:00Z")], only);
      assert.equal(r.alerts.length, 0);
    });

    it("ng: the excluded 21 March occurrence approves nothing", () => {
      const r = run([alice("2026-03-21T20:00:00Z")], only);
      assert.equal(signalsOf(r, "outside-hours").length, 1);
    });
  });

  it("lowers the severity one step for an inferred principal and says so", () => {
    const r = run(
      [
        op({
          time: "2026-03-14T02:02:00Z",
          principal: "CORP\\alice",
          level: "inferred",
          vm: "app01",
        }),
      ],
      only,
    );
    const [s] = signalsOf(r, "outside-hours");
    assert.ok(s);
    assert.equal(s.severity, "low");
    assert.match(s.reason, /principal only inferred, severity lowered from medium to low: /);
  });

  it("does not judge an unattributed operation (it needs an account)", () => {
    const r = run([op({ time: "2026-03-14T02:02:00Z", vm: "app01" })], only);
    assert.equal(r.alerts.length, 0);
  });

  it("does not judge an operation without a time", () => {
    const r = run([op({ time: undefined, principal: "CORP\\alice", vm: "app01" })], only);
    assert.equal(r.alerts.length, 0);
  });
});

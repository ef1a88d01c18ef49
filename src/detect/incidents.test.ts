import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { run, type RunOptions } from "../../test/helpers/detect.js";
import { op, plus, type OpSpec } from "../../test/helpers/operations.js";
import { mulberry32 } from "../../test/helpers/random.js";
import { severityRank, type Alert } from "../model/alert.js";
import type { Incident } from "../model/incident.js";
import { compareAlerts } from "./group.js";
import {
  createIncidentLinker,
  DEFAULT_LINK_WINDOW_MS,
  DEFAULT_REPEAT_WINDOW_MS,
  incidentId,
  linkIncidents,
} from "./incidents.js";

const SAT = "2026-03-14T02:02:00Z"; // Sat 03:02 Paris: outside alice's business hours
// Offsets in seconds (as `plus` takes them).
const MIN = 60;
const HOUR = 60 * MIN;

let line = 10_000;
/** An operation on its own line of its own file, so every operation has its own provenance. */
const at = (seconds: number, spec: Omit<OpSpec, "time">): ReturnType<typeof op> =>
  op({ time: plus(SAT, seconds), file: "hostd.log", line: (line += 10), ...spec });

const detect = (specs: ReturnType<typeof op>[], options: RunOptions = {}) => run(specs, options);

/** The incident an alert belongs to. */
const incidentOf = (incidents: readonly Incident[], alert: Alert): Incident | undefined =>
  incidents.find((i) => i.alerts.includes(alert.id));

const OPTIONS = { windowMs: DEFAULT_LINK_WINDOW_MS, repeatMs: DEFAULT_REPEAT_WINDOW_MS };

describe("incidents", () => {
  it("one account starting programs on 9 VMs in 10 minutes: 9 alerts, 1 incident", () => {
    const ops = Array.from({ length: 9 }, (_, i) =>
      at(i * 70, { principal: "CORP\\alice", vm: `app0${i + 1}`, method: "StartProgramInGuest" }),
    );
    const r = detect(ops);
    assert.equal(r.alerts.length, 9);
    assert.equal(r.incidents.length, 1);
    const [incident] = r.incidents as [Incident];
    assert.equal(incident.alerts.length, 9);
    assert.deepEqual([...incident.alerts].sort(), r.alerts.map((a) => a.id).sort());
    assert.deepEqual(incident.vms, [
      "app01",
      "app02",
      "app03",
      "app04",
      "app05",
      "app06",
      "app07",
      "app08",
      "app09",
    ]);
    assert.equal(incident.operations, 9);
    assert.equal(incident.firstSeen, plus(SAT, 0));
    assert.equal(incident.lastSeen, plus(SAT, 8 * 70));
    assert.match(incident.title, /^CORP\\alice on 9 VMs \(app01, app02, app03, …\): /);
    // the timeline is the alerts in time order, and the link says why they are one incident
    assert.deepEqual(
      incident.timeline.map((e) => e.vm),
      incident.vms,
    );
    const byPrincipal = incident.links.find((l) => l.by === "principal");
    assert.equal(byPrincipal?.value, "CORP\\alice");
    assert.equal(byPrincipal?.alerts.length, 9);
    // every alert names its incident
    for (const a of r.alerts) assert.equal(a.incident, incident.id);
  });

  it("a monitoring account listing files on one VM six times over four days: 1 incident", () => {
    const ops = Array.from({ length: 6 }, (_, i) =>
      at(i * 16 * HOUR, { principal: "CORP\\svc-aria", vm: "app01", method: "ListFilesInGuest" }),
    );
    const r = detect(ops);
    assert.equal(r.alerts.length, 6);
    for (const a of r.alerts) assert.deepEqual(a.rules, ["disallowed-method"]);
    assert.equal(r.incidents.length, 1);
    const [incident] = r.incidents as [Incident];
    assert.equal(incident.alerts.length, 6);
    const repeat = incident.links.find((l) => l.by === "repeat");
    assert.equal(repeat?.value, "disallowed-method ListFilesInGuest by CORP\\svc-aria");
    assert.equal(repeat?.alerts.length, 6);
    assert.ok(!incident.links.some((l) => l.by === "principal"), "16 h apart is not close");

    // the repeat is what links them: without it, six incidents
    assert.equal(detect(ops, { incidentRepeatMs: 0 }).incidents.length, 6);
    // and a repeat further apart than the repeat window (7 days) is a new incident
    const aria = { principal: "CORP\\svc-aria", vm: "app01", method: "ListFilesInGuest" };
    assert.equal(detect([at(0, aria), at(8 * 24 * HOUR, aria)]).incidents.length, 2);
  });

  it("a different finding by the same account days later is another incident", () => {
    const r = detect([
      at(0, { principal: "CORP\\svc-aria", vm: "app01", method: "ListFilesInGuest" }),
      at(2 * 24 * HOUR, {
        principal: "CORP\\svc-aria",
        vm: "app01",
        method: "StartProgramInGuest",
      }),
    ]);
    assert.equal(r.alerts.length, 2);
    assert.equal(r.incidents.length, 2);
  });

  it("two different principals close in time: 2 incidents, on other VMs or the same VM", () => {
    for (const vms of [
      ["app01", "app02"],
      ["app01", "app01"],
    ]) {
      const r = detect([
        at(0, { principal: "CORP\\alice", vm: vms[0] as string }),
        at(3 * MIN, { principal: "CORP\\jsmith", vm: vms[1] as string }),
      ]);
      assert.equal(r.alerts.length, 2, vms.join());
      assert.equal(r.incidents.length, 2, vms.join());
      assert.notEqual(r.alerts[0]?.incident, r.alerts[1]?.incident);
    }
  });

  it("the same account with alerts further apart than the window: 2 incidents", () => {
    const r = detect([
      at(0, { principal: "CORP\\alice", vm: "app01" }),
      at(2 * HOUR, { principal: "CORP\\alice", vm: "app02", method: "ListProcessesInGuest" }),
    ]);
    assert.equal(r.incidents.length, 2);
    // a wider window (the policy's `grouping: { link }`, or the option) links them
    const linked = linkIncidents(r.alerts, { ...OPTIONS, windowMs: 3 * HOUR * 1000 });
    assert.equal(linked.length, 1);
  });

  it("domain aliases are one account: CORP\\alice and corp.example\\alice link", () => {
    const r = detect([
      at(0, { principal: "CORP\\alice", vm: "app01" }),
      at(5 * MIN, { principal: "alice@corp.example", vm: "app02" }),
    ]);
    assert.equal(r.alerts.length, 2);
    assert.equal(r.incidents.length, 1);
  });

  describe("unattributed alerts", () => {
    // dc* is the critical tier: sensitive-vm fires on an unattributed principal
    it("are not merged because both are unknown: no shared session or address, other VMs", () => {
      const r = detect([at(0, { vm: "dc01" }), at(2 * MIN, { vm: "dc02" })]);
      assert.equal(r.alerts.length, 2);
      for (const a of r.alerts) assert.equal(a.principal.display, "unknown");
      assert.equal(r.incidents.length, 2);
    });

    it("nor because both are ambiguous between the same candidates", () => {
      const ambiguous = {
        level: "ambiguous",
        candidates: ["CORP\\alice", "CORP\\jsmith"],
      } as const;
      const r = detect([
        at(0, { vm: "dc01", ...ambiguous }),
        at(2 * MIN, { vm: "dc02", ...ambiguous }),
      ]);
      assert.equal(r.alerts.length, 2);
      assert.equal(r.incidents.length, 2);
    });

    it("link through the same session", () => {
      const r = detect([
        at(0, { vm: "dc01", session: "52a1-77" }),
        at(2 * MIN, { vm: "dc02", session: "52a1-77" }),
      ]);
      assert.equal(r.incidents.length, 1);
      assert.deepEqual(
        r.incidents[0]?.links.map((l) => `${l.by} ${l.value}`),
        ["session 52a1-77"],
      );
    });

    it("link through the same client address, but not through loopback or vCenter's", () => {
      const from = (ip: string) =>
        detect([at(0, { vm: "dc01", sourceIp: ip }), at(2 * MIN, { vm: "dc02", sourceIp: ip })]);
      assert.equal(from("10.10.99.50").incidents.length, 1);
      assert.equal(from("127.0.0.1").incidents.length, 2);
      assert.equal(from("10.10.0.10").incidents.length, 2, "the policy's vCenter address");
    });

    it("link to an alert on the same VM close in time", () => {
      const r = detect([
        at(0, { principal: "CORP\\alice", vm: "dc01" }),
        at(4 * MIN, { vm: "dc01", sourceIp: "10.10.99.51" }),
        at(8 * MIN, { vm: "dc01", sourceIp: "10.10.99.52" }),
      ]);
      assert.equal(r.alerts.length, 3);
      assert.equal(r.incidents.length, 1);
      assert.ok(r.incidents[0]?.links.some((l) => l.by === "vm" && l.value === "dc01"));
    });
  });

  it("an incident's severity is the highest of its alerts", () => {
    const r = detect([
      at(0, { principal: "CORP\\alice", vm: "app01", method: "ListProcessesInGuest" }),
      at(2 * MIN, {
        principal: "CORP\\alice",
        vm: "dc01",
        method: "InitiateFileTransferFromGuest",
      }),
      at(4 * MIN, { principal: "CORP\\alice", vm: "app02", method: "ListProcessesInGuest" }),
    ]);
    assert.equal(r.incidents.length, 1);
    const ranks = r.alerts.map((a) => severityRank(a.severity));
    const top = r.alerts.find((a) => a.vm === "dc01");
    assert.ok(top);
    // the dc01 alert is strictly the most severe, so the maximum is not any alert's by chance
    assert.equal(ranks.filter((x) => x === severityRank(top.severity)).length, 1);
    assert.equal(
      ranks.reduce((m, x) => (x > m ? x : m), 0),
      severityRank(top.severity),
    );
    assert.equal(r.incidents[0]?.severity, top.severity);
  });

  it("incidents come most severe first", () => {
    const r = detect([
      at(0, { principal: "CORP\\alice", vm: "app01", method: "ListProcessesInGuest" }),
      at(6 * HOUR, {
        principal: "CORP\\jsmith",
        vm: "dc01",
        method: "InitiateFileTransferFromGuest",
      }),
    ]);
    assert.equal(r.incidents.length, 2);
    const ranks = r.incidents.map((i) => severityRank(i.severity));
    assert.ok((ranks[0] ?? 0) > (ranks[1] ?? 0), r.incidents.map((i) => i.severity).join());
  });

  describe("stable ids", () => {
    const mixed = (): Alert[] =>
      detect([
        ...Array.from({ length: 4 }, (_, i) =>
          at(i * 90, { principal: "CORP\\alice", vm: `app0${i + 1}` }),
        ),
        at(20, { principal: "CORP\\jsmith", vm: "dc01", sourceIp: "10.10.99.50" }),
        at(50, { vm: "dc02", sourceIp: "10.10.99.50" }),
        at(5 * HOUR, { vm: "dc03" }),
        ...Array.from({ length: 3 }, (_, i) =>
          at(10 * HOUR + i * 20 * HOUR, {
            principal: "CORP\\svc-aria",
            vm: "app01",
            method: "ListFilesInGuest",
          }),
        ),
        op({ time: undefined, vm: "dc09", line: (line += 10) }),
      ]).alerts as Alert[];

    it("the same incidents and ids whatever the order of the alerts", () => {
      const alerts = mixed();
      const expected = linkIncidents(alerts, OPTIONS);
      assert.ok(expected.length >= 4, `${expected.length} incidents`);
      const random = mulberry32(8);
      for (let n = 0; n < 25; n++) {
        const shuffled = [...alerts];
        for (let i = shuffled.length - 1; i > 0; i--) {
          const j = Math.floor(random() * (i + 1));
          [shuffled[i], shuffled[j]] = [shuffled[j] as Alert, shuffled[i] as Alert];
        }
        assert.deepEqual(linkIncidents(shuffled, OPTIONS), expected);
      }
    });

    it("derive from the first alert, so they survive later alerts joining", () => {
      const alerts = mixed().sort(compareAlerts);
      const all = linkIncidents(alerts, OPTIONS);
      const first = alerts[0] as Alert;
      const withFirst = all.find((i) => i.alerts.includes(first.id));
      assert.equal(withFirst?.id, incidentId(first.id));
      assert.match(withFirst?.id ?? "", /^in-[0-9a-f]{16}$/);
      assert.ok((withFirst?.alerts.length ?? 0) >= 2);
      // the first alert alone, and the first alert with only some of the others: the same id
      assert.equal(linkIncidents([first], OPTIONS)[0]?.id, withFirst?.id);
      const some = alerts.filter((a) => a === first || !withFirst?.alerts.includes(a.id));
      assert.ok(linkIncidents(some, OPTIONS).some((i) => i.id === withFirst?.id));
    });

    it("every alert is in exactly one incident; untimed alerts stand alone", () => {
      const alerts = mixed();
      const incidents = linkIncidents(alerts, OPTIONS);
      const seen = incidents.flatMap((i) => i.alerts);
      assert.deepEqual([...seen].sort(), alerts.map((a) => a.id).sort());
      const untimed = alerts.filter((a) => a.firstSeen === undefined);
      assert.equal(untimed.length, 1);
      assert.equal(incidentOf(incidents, untimed[0] as Alert)?.alerts.length, 1);
    });
  });

  describe("incremental linking", () => {
    it("fed one alert at a time and flushed as time moves, gives the batch result", () => {
      const alerts = detect([
        ...Array.from({ length: 3 }, (_, i) =>
          at(i * 60, { principal: "CORP\\alice", vm: `app0${i + 1}` }),
        ),
        at(3 * HOUR, { principal: "CORP\\jsmith", vm: "app01" }),
        at(3 * HOUR + 60, { vm: "app01", sourceIp: "10.10.99.60" }),
        at(30 * HOUR, { principal: "CORP\\alice", vm: "app05" }),
      ]).alerts.slice();
      alerts.sort(compareAlerts);
      const linker = createIncidentLinker({ ...OPTIONS, repeatMs: 0 });
      const closed: Incident[] = [];
      const openCounts: number[] = [];
      for (const a of alerts) {
        closed.push(...linker.flush(Date.parse(a.firstSeen ?? "")));
        linker.push(a);
        openCounts.push(linker.open);
      }
      closed.push(...linker.flush());
      const batch = linkIncidents(alerts, { ...OPTIONS, repeatMs: 0 });
      assert.deepEqual(closed.map((i) => i.id).sort(), batch.map((i) => i.id).sort());
      for (const i of closed) {
        assert.deepEqual(
          i,
          batch.find((b) => b.id === i.id),
        );
      }
      // the state is the open incidents only: alice's first incident closed before jsmith came
      assert.deepEqual(openCounts, [1, 1, 1, 1, 1, 1]);
    });
  });
});

/**
 * The baseline's proof: synthetic histories whose right answers are stated here, learned, then
 * scanned with every built-in rule and no policy file (the default policy, zone UTC) unless said.
 */
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { alertsWith, run, signalsOf, sitePolicy } from "../../test/helpers/detect.js";
import { op, type OpSpec } from "../../test/helpers/operations.js";
import { defaultPolicy, parsePolicy } from "../policy/load.js";
import type { Operation } from "../model/operation.js";
import { learnBaseline } from "./learn.js";
import { learnRun } from "./run.js";
import { keepsCadence } from "./model.js";
import { BUILTIN_RULES } from "../detect/registry.js";

const DAY = 86_400_000;
const at = (day0: string, days: number, hh: number, mm = 0, ss = 0): string =>
  new Date(Date.parse(day0) + days * DAY + ((hh * 60 + mm) * 60 + ss) * 1000).toISOString();
const none = defaultPolicy();
const learn = (ops: Operation[]) => learnBaseline(ops, { zone: "UTC" });
const BASELINE_RULES = [
  "rate-anomaly",
  "first-seen",
  "fan-out",
  "exfil-sequence",
  "rare-hour",
  "off-cadence",
];

/** One automation visit of a VM: run a program, poll it, pull the result (detections.md §8). */
function visit(spec: Omit<OpSpec, "time" | "method">, time: string): Operation[] {
  const t = Date.parse(time);
  const iso = (s: number) => new Date(t + s * 1000).toISOString();
  return [
    op({ ...spec, time: iso(0), method: "StartProgramInGuest" }),
    op({ ...spec, time: iso(2), method: "ListProcessesInGuest" }),
    op({ ...spec, time: iso(4), method: "ListProcessesInGuest" }),
    op({ ...spec, time: iso(6), method: "InitiateFileTransferFromGuest" }),
  ];
}

describe("baseline proof: a nightly backup account", () => {
  // 30 nights (1-30 Feb... 2 Mar 2026) at 02:00 UTC on db01, db02 and dc01 from 10.0.2.40.
  const START = "2026-02-01T00:00:00Z";
  const backup = { principal: "CORP\\svc-backup", sourceIp: "10.0.2.40", via: "vcenter" as const };
  const history: Operation[] = [];
  for (let d = 0; d < 30; d++) {
    ["db01", "db02", "dc01"].forEach((vm, i) => {
      history.push(...visit({ ...backup, vm, host: "esx01" }, at(START, d, 2, i * 2)));
    });
  }
  const baseline = learn(history);

  it("learns a daily cadence at 02:00 and the three VMs", () => {
    const p = baseline.accounts.get("corp\\svc-backup");
    assert.ok(p?.cadence, "a cadence is learned");
    assert.equal(p.cadence.periodMs, DAY);
    assert.equal(p.cadence.runs, 30);
    assert.ok(keepsCadence(p.cadence, "UTC", Date.parse(at(START, 31, 2, 5))));
    assert.ok(!keepsCadence(p.cadence, "UTC", Date.parse(at(START, 31, 14))));
    assert.deepEqual([...p.vms.keys()].sort(), ["n:db01", "n:db02", "n:dc01"]);
  });

  it("the next night's run raises nothing", () => {
    const night = ["db01", "db02", "dc01"].flatMap((vm, i) =>
      visit({ ...backup, vm, host: "esx01" }, at(START, 31, 2, i * 2)),
    );
    const r = run(night, { policy: none, baseline });
    assert.deepEqual(r.alerts, []);
    assert.deepEqual(r.disabled, [
      { rule: "unexpected-account", why: "needs a policy file (--policy)" },
      { rule: "outside-hours", why: "needs a policy file (--policy)" },
      { rule: "sensitive-vm", why: "needs a policy file (--policy)" },
      { rule: "disallowed-method", why: "needs a policy file (--policy)" },
    ]);
  });

  it("the same account at 14:00 on the critical VM dc01 raises an alert: off-cadence and rare-hour", () => {
    const afternoon = visit({ ...backup, vm: "dc01", host: "esx01" }, at(START, 31, 14));
    const r = run(afternoon, { policy: none, baseline });
    assert.equal(r.alerts.length, 1);
    const [off] = signalsOf(r, "off-cadence");
    assert.ok(off, "off-cadence");
    assert.match(
      off.reason,
      /CORP\\svc-backup ran 4 guest operation\(s\) from Wed 2026-03-04 14:00/,
    );
    assert.match(off.reason, /720 min from its schedule: it runs every day at 02:0\d/);
    assert.match(off.reason, /30 runs learned/);
    const [rare] = signalsOf(r, "rare-hour");
    assert.ok(rare, "rare-hour");
    assert.match(rare.reason, /around Wed 14:00 \(±1 h\) on 0 day\(s\) over 4\.\d weeks/);
    assert.match(rare.reason, /usual hours: 02:00 \(30 days\)/);
  });

  it("without a baseline the baseline rules say why they did not run", () => {
    const r = run(visit({ ...backup, vm: "dc01" }, at(START, 31, 14)), { policy: none });
    for (const id of BASELINE_RULES) {
      assert.ok(
        r.disabled.some((d) => d.rule === id && /needs a baseline/.test(d.why)),
        `${id} listed as not run`,
      );
    }
  });

  it("the warm-up is configurable: at 3 days, five nights of history are enough", () => {
    const young = learn(history.slice(0, 12 * 5)); // 5 nights
    const policy = parsePolicy(
      [
        "version: 1",
        "sites: [{ name: default, zone: UTC, default: true }]",
        "rules:",
        "  off-cadence: { warmup: 3d }",
      ].join("\n"),
      { name: "warmup.yaml" },
    );
    const r = run(visit({ ...backup, vm: "dc01" }, at(START, 31, 14)), {
      rules: BUILTIN_RULES.filter((x) => x.meta.id === "off-cadence"),
      policy,
      baseline: young,
    });
    assert.equal(signalsOf(r, "off-cadence").length, 1);
    assert.equal(r.notes, undefined);
  });

  it("an account younger than the warm-up is not judged, and the summary names it", () => {
    const late = visit({ principal: "CORP\\svc-new", vm: "db01" }, at(START, 27, 2));
    const b = learn([...history, ...late]);
    const r = run(visit({ principal: "CORP\\svc-new", vm: "dc01" }, at(START, 31, 14)), {
      policy: none,
      baseline: b,
    });
    assert.deepEqual(r.alerts, []);
    const n = (r.notes ?? []).find((x) => x.rule === "rare-hour");
    assert.equal(
      n?.note,
      "1 account(s) with less than 14 days of history not judged yet (rules.rare-hour.warmup): CORP\\svc-new",
    );
  });

  it("with too little history the rules say they are warming up, and judge nothing", () => {
    const young = learn(history.slice(0, 12 * 5)); // 5 nights
    const r = run(visit({ ...backup, vm: "dc01" }, at(START, 31, 14)), {
      policy: none,
      baseline: young,
    });

    assert.deepEqual(
      r.alerts.map((a) => a.rules),
      [],
    );
    const notes = r.notes ?? [];
    for (const id of BASELINE_RULES) {
      const n = notes.find((x) => x.rule === id);
      assert.ok(n, `${id} notes its warm-up`);
      assert.match(n.note, /warming up: the baseline rests on 4 days of history .* 14 days needed/);
    }
  });
});

describe("baseline proof: an administrator's rate", () => {
  // CORP\alice on the 22 weekdays from Mon 2 Feb to Tue 3 Mar 2026, 09:00-12:00 UTC, starting
  // each hour 0-24 minutes late (people are not scheduled jobs), 9, 10 and 11 operations in the
  // three hours (30 a day, 660 in all) three minutes apart over app01..app05 on host esx01.
  const START = "2026-02-02T00:00:00Z";
  const alice = { principal: "CORP\\alice", sourceIp: "10.0.5.7", via: "vcenter" as const };
  const history: Operation[] = [];
  for (let d = 0; d < 30; d++) {
    if (d % 7 >= 5) continue;
    const late = (d * 11) % 25;
    for (let h = 9; h < 12; h++) {
      const n = 9 + ((d + h) % 3);
      for (let i = 0; i < n; i++) {
        history.push(
          op({
            ...alice,
            vm: `app0${(i % 5) + 1}`,
            host: "esx01",
            time: at(START, d, h, late + i * 3),
          }),
        );
      }
    }
  }
  const baseline = learn(history);
  const hour = (n: number, host: string) =>
    Array.from({ length: n }, (_, i) =>
      op({ ...alice, vm: `app0${(i % 5) + 1}`, host, time: at(START, 31, 10, i, 30) }),
    );

  it("learns median 10 per hour", () => {
    const p = baseline.accounts.get("corp\\alice");
    assert.equal(p?.hourly.median, 10);
    assert.equal(p?.hourly.n, 66);
    assert.equal(p?.cadence, undefined, "a person is not a scheduled job");
  });

  it("an ordinary hour raises nothing, even with every VM moved to another host by DRS", () => {
    assert.deepEqual(run(hour(11, "esx07"), { policy: none, baseline }).alerts, []);
  });

  it("three times the rate raises rate-anomaly, stating observed, limit and history", () => {
    const r = run(hour(30, "esx01"), { policy: none, baseline });
    const s = signalsOf(r, "rate-anomaly");
    assert.ok(s.length > 0);
    // the 23rd operation (on app03) is the first past the limit 10 + 4 · max(1.4826 · 1, 0.25 · 10, 3) = 22
    const account = s.find((x) => /^CORP\\alice \(here on VM app03/.test(x.reason));
    assert.ok(account);
    assert.match(
      account.reason,
      /reached 23 guest operations in the hour from Thu 2026-03-05 10:00 UTC \(UTC\+00:00\), above the 22 per hour its history supports/,
    );
    assert.match(account.reason, /median 10, MAD 1, highest 11, over 66 active hours/);
    assert.match(account.reason, /29 days of history \(660 operations on 22 days\)/);
    // the first 22 operations are context, the 8 beyond the limit are findings (over 5 VMs' alerts)
    const beyond = s.filter((x) => /\(here on/.test(x.reason) && /in the hour/.test(x.reason));
    assert.equal(
      beyond.reduce((n, x) => n + x.operations.length, 0),
      8,
    );
  });
});

describe("baseline proof: a collector that adds one VM a week", () => {
  // CORP\svc-collector every 6 h (00, 06, 12, 18 UTC) for 28 days on vm01..vm20, plus one VM
  // more each week (vm21 from day 7, vm22 from day 14, vm23 from day 21).
  const START = "2026-02-01T00:00:00Z";
  const collector = {
    principal: "CORP\\svc-collector",
    sourceIp: "10.0.3.9",
    via: "vcenter" as const,
  };
  const vmsOn = (day: number) => {
    const n = 20 + Math.floor(day / 7);
    return Array.from({ length: n }, (_, i) => `vm${String(i + 1).padStart(2, "0")}`);
  };
  const runOf = (day: number, h: number, vms: readonly string[]) =>
    vms.flatMap((vm, i) =>
      visit({ ...collector, vm, host: `esx0${(i % 3) + 1}` }, at(START, day, h, 0, i * 8)),
    );
  const history: Operation[] = [];
  for (let d = 0; d < 28; d++)
    for (const h of [0, 6, 12, 18]) history.push(...runOf(d, h, vmsOn(d)));
  const baseline = learn(history);

  it("learns a 6-hour cadence", () => {
    const p = baseline.accounts.get("corp\\svc-collector");
    assert.equal(p?.cadence?.periodMs, 6 * 3_600_000);
    assert.equal(p?.vms.size, 23);
  });

  it("the next week's run, with vm24 added on schedule, raises nothing", () => {
    const week = runOf(28, 6, vmsOn(28)); // vm01..vm24
    assert.equal(vmsOn(28).length, 24);
    const r = run(week, { policy: none, baseline });
    assert.deepEqual(
      r.alerts.map((a) => a.signals.map((s) => s.reason)),
      [],
    );
  });

  it("but a run on VMs outside its set, or at 03:00, raises off-cadence", () => {
    const stray = runOf(28, 6, ["hr01", "hr02", "vm01"]);
    assert.ok(signalsOf(run(stray, { policy: none, baseline }), "off-cadence").length > 0);
    const early = runOf(28, 3, ["vm01", "vm02"]);
    const s = signalsOf(run(early, { policy: none, baseline }), "off-cadence");
    assert.ok(s.length > 0);
    assert.match(
      s[0]?.reason ?? "",
      /180 min from its schedule: it runs every 6 h at 00:00, 06:00, 12:00, 18:00/,
    );
  });
});

describe("baseline proof: without a policy", () => {
  // 20 days: CORP\alice from 10:00-10:40 on app01..app03 (6 operations, StartProgramInGuest);
  // CORP\svc-aria at 11:00 listing processes on them from 10.0.3.5; vpxuser straight to the hosts
  // from vCenter's 10.0.0.10 at 12:00. 360 operations.
  const START = "2026-02-02T00:00:00Z";
  const history: Operation[] = [];
  for (let d = 0; d < 20; d++) {
    for (let i = 0; i < 6; i++) {
      history.push(
        op({
          principal: "CORP\\alice",
          vm: `app0${(i % 3) + 1}`,
          sourceIp: "10.0.5.7",
          time: at(START, d, 10, ((d * 11) % 40) + i * 3),
        }),
        op({
          principal: "CORP\\svc-aria",
          vm: `app0${(i % 3) + 1}`,
          method: "ListProcessesInGuest",
          sourceIp: "10.0.3.5",
          time: at(START, d, 11, i),
        }),
        op({
          principal: "vpxuser",
          via: "direct",
          vm: `app0${(i % 3) + 1}`,
          sourceIp: "10.0.0.10",
          time: at(START, d, 12, i),
        }),
      );
    }
  }
  const baseline = learn(history);
  const T = (h: number, m = 0, s = 0) => at(START, 21, h, m, s);

  it("a new account fanning out over eight VMs: first-seen and fan-out", () => {
    const ops = Array.from({ length: 8 }, (_, i) =>
      op({ principal: "CORP\\eve", vm: `srv${i}`, time: T(10, 1, i * 20) }),
    );
    const r = run(ops, { policy: none, baseline });
    assert.equal(alertsWith(r, "fan-out").length, 8);
    assert.match(
      signalsOf(r, "fan-out")[0]?.reason ?? "",
      /reached 8 distinct VMs within 10 minutes .* a new account is held to 5/,
    );
    assert.match(
      signalsOf(r, "first-seen")[0]?.reason ?? "",
      /never used guest operations in the baseline of 360 operations/,
    );
  });

  it("an admin on a VM it never touched pulling files out: exfil-sequence and first-seen", () => {
    const ops = [
      op({
        principal: "CORP\\alice",
        vm: "dc01",
        sourceIp: "10.0.5.7",
        method: "ListFilesInGuest",
        time: T(10, 5),
      }),
      op({
        principal: "CORP\\alice",
        vm: "dc01",
        sourceIp: "10.0.5.7",
        method: "InitiateFileTransferFromGuest",
        time: T(10, 9),
      }),
    ];
    const r = run(ops, { policy: none, baseline });
    const [x] = signalsOf(r, "exfil-sequence");
    assert.ok(x);
    assert.equal(x.severity, "high");
    assert.match(x.reason, /ListFilesInGuest → InitiateFileTransferFromGuest within 4 min/);
    assert.match(x.reason, /the account never touched this VM/);
    assert.ok(
      signalsOf(r, "first-seen").some((s) => /a VM the account never touched/.test(s.reason)),
    );
  });

  it("a monitoring account suddenly listing files: first-seen method", () => {
    const r = run(
      [
        op({
          principal: "CORP\\svc-aria",
          vm: "app01",
          sourceIp: "10.0.3.5",
          method: "ListFilesInGuest",
          time: T(11, 2),
        }),
      ],
      { policy: none, baseline },
    );
    assert.match(
      signalsOf(r, "first-seen")[0]?.reason ?? "",
      /ListFilesInGuest on VM app01, a method the account never used .* it used ListProcessesInGuest/,
    );
  });

  it("a vpxuser session from a workstation: first-seen source", () => {
    const r = run(
      [
        op({
          principal: "vpxuser",
          via: "direct",
          vm: "app02",
          sourceIp: "10.20.30.40",
          time: T(12, 2),
        }),
      ],
      { policy: none, baseline },
    );
    assert.match(
      signalsOf(r, "first-seen")
        .map((s) => s.reason)
        .join("\n"),
      /from 10\.20\.30\.40, an address the account never came from .* it came from 10\.0\.0\.10/,
    );
  });
});

describe("baseline proof: an attacker active during learning", () => {
  // Site policy (Paris). CORP\alice works weekdays 10:00 local on app01..app03 for 28 days. On
  // days 10 and 11 an attacker uses CORP\bob (an account the policy does not list) and alice's own
  // account on Saturday night at 03:00 on dc01 (outside business hours): both raise medium+
  // alerts, so neither is learned.
  const START = "2026-02-02T00:00:00Z"; // a Monday
  const history: Operation[] = [];
  for (let d = 0; d < 28; d++) {
    if (d % 7 >= 5) continue;
    for (let i = 0; i < 6; i++) {
      history.push(
        op({ principal: "CORP\\alice", vm: `app0${(i % 3) + 1}`, time: at(START, d, 9, i * 7) }),
      );
    }
  }
  const bob = [
    op({
      principal: "CORP\\bob",
      vm: "dc01",
      method: "InitiateFileTransferToGuest",
      time: at(START, 10, 13),
    }),
    op({
      principal: "CORP\\bob",
      vm: "dc01",
      method: "StartProgramInGuest",
      time: at(START, 10, 13, 1),
    }),
    op({
      principal: "CORP\\bob",
      vm: "dc01",
      method: "InitiateFileTransferFromGuest",
      time: at(START, 10, 13, 3),
    }),
  ];
  const stolen = [
    op({
      principal: "CORP\\alice",
      vm: "dc01",
      method: "ListFilesInGuest",
      time: at(START, 12, 2),
    }),
    op({
      principal: "CORP\\alice",
      vm: "dc01",
      method: "InitiateFileTransferFromGuest",
      time: at(START, 12, 2, 4),
    }),
  ];
  const all = [...history, ...bob, ...stolen].sort((a, b) =>
    (a.time ?? "").localeCompare(b.time ?? ""),
  );

  it("leaves the attacker's operations out, and they are judged as new afterwards", () => {
    const result = learnRun(() => all, { policy: sitePolicy });
    const { baseline } = result;
    assert.equal(baseline.accounts.has("corp\\bob"), false);
    const alice = baseline.accounts.get("corp\\alice");
    assert.ok(alice);
    assert.equal(alice.vms.has("n:dc01"), false);
    assert.equal(alice.methods.has("InitiateFileTransferFromGuest"), false);
    assert.equal(baseline.excluded.operations, 5);
    assert.equal(result.excludedAlerts.length, 2);
    // afterwards, the same moves are findings of the baseline rules
    const later = [
      op({
        principal: "CORP\\alice",
        vm: "dc01",
        method: "ListFilesInGuest",
        time: at(START, 29, 9),
      }),
      op({
        principal: "CORP\\alice",
        vm: "dc01",
        method: "InitiateFileTransferFromGuest",
        time: at(START, 29, 9, 3),
      }),
    ];
    const r = run(later, { policy: sitePolicy, baseline });
    assert.ok(signalsOf(r, "exfil-sequence").length > 0);
    assert.ok(signalsOf(r, "first-seen").length > 0);
  });

  it("an alert an analyst accepted is learned", () => {
    const first = learnRun(() => all, { policy: sitePolicy });
    const accepted = new Set(first.excludedAlerts);
    const second = learnRun(() => all, { policy: sitePolicy, accepted });
    assert.equal(second.baseline.accounts.has("corp\\bob"), true);
    assert.equal(second.baseline.excluded.operations, 0);
    assert.deepEqual(second.acceptedAlerts, first.excludedAlerts);
  });
});

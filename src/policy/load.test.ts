import assert from "node:assert/strict";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, describe, it } from "node:test";
import { fileURLToPath } from "node:url";
import { isGuestOpsError } from "../shared/errors.js";
import {
  checkPolicyText,
  formatProblem,
  loadPolicy,
  parsePolicy,
  type PolicyProblem,
} from "./load.js";

const problemsOf = (text: string, options = {}): string[] => {
  const r = checkPolicyText(text, { name: "policy.yaml", ...options });
  assert.equal(r.ok, false, "the policy should be invalid");
  return r.problems.map((p: PolicyProblem) => formatProblem("policy.yaml", p));
};

const SITE = `sites:
  - name: paris
    zone: Europe/Paris
`;

describe("policy validation names the line and the field", () => {
  it("rejects an unknown time zone", () => {
    assert.deepEqual(problemsOf("sites:\n  - name: paris\n    zone: Europe/Pariss\n"), [
      "policy.yaml:3: sites[0].zone: expected an IANA time zone such as Europe/Paris or UTC (not an offset)",
    ]);
    assert.match(
      problemsOf("sites:\n  - name: x\n    zone: +02:00\n")[0]!,
      /^policy\.yaml:3: sites\[0\]\.zone:/,
    );
  });

  it("rejects an unknown key, with a suggestion, so a typo cannot weaken the policy", () => {
    const text = `${SITE}accounts:
  - name: CORP\\svc-veeam
    role: backup
    allowedHour: backup-night
`;
    assert.deepEqual(problemsOf(text), [
      'policy.yaml:7: accounts[0].allowedHour: unknown key "allowedHour" (did you mean allowedHours?)',
    ]);
  });

  it("rejects an unknown method name and accepts every spelling the catalog knows", () => {
    const text = `${SITE}accounts:
  - name: CORP\\ops
    role: automation
    methods:
      - StartProgramInGuest
      - vim.vm.guest.FileManager.listFiles
      - Start Program
      - RunScriptInGuest
`;
    assert.deepEqual(problemsOf(text), [
      "policy.yaml:11: accounts[0].methods[3]: unknown method; use an API name such as StartProgramInGuest or a category (execute, query, modify, auth, alias, registry)",
    ]);
  });

  it("rejects bad times in allowed hours with the exact path", () => {
    const text = `${SITE}accounts:
  - name: a
    role: admin
  - name: b
    role: admin
  - name: c
    role: backup
    allowedHours:
      - days: mon-fri
        start: "8"
        end: "25:00"
`;
    assert.deepEqual(problemsOf(text), [
      "policy.yaml:13: accounts[2].allowedHours[0].start: expected HH:MM between 00:00 and 23:59",
      "policy.yaml:14: accounts[2].allowedHours[0].end: expected HH:MM between 00:00 and 24:00",
    ]);
  });

  it("rejects unknown days, empty spans and bad holidays", () => {
    const text = `sites:
  - name: paris
    zone: Europe/Paris
    businessHours:
      - { days: [mon, funday], start: "08:00", end: "18:00" }
      - { days: sat, start: "10:00", end: "10:00" }
    holidays: [2026-02-30, { date: 13-01, name: x }]
`;
    const p = problemsOf(text);
    assert.equal(p.length, 4);
    assert.match(
      p[0]!,
      /^policy\.yaml:5: sites\[0\]\.businessHours\[0\]\.days\[1\]: unknown day "funday"/,
    );
    assert.match(p[1]!, /^policy\.yaml:6: sites\[0\]\.businessHours\[1\]\.end: start equals end/);
    assert.match(p[2]!, /^policy\.yaml:7: sites\[0\]\.holidays\[0\]: expected a date/);
    assert.match(p[3]!, /^policy\.yaml:7: sites\[0\]\.holidays\[1\]\.date: expected a date/);
  });

  it("checks references between sections", () => {
    const text = `${SITE}accounts:
  - name: CORP\\svc-veeam
    role: backup
    allowedHours: nights
    tiers: [gold]
windows:
  - ref: CHG-1
    site: lyon
    weekly: [{ days: sat, start: "22:00", end: "02:00" }]
`;
    assert.deepEqual(problemsOf(text), [
      'policy.yaml:7: accounts[0].allowedHours: unknown schedule "nights"',
      'policy.yaml:8: accounts[0].tiers[0]: unknown tier "gold" (no tiers: defined)',
      'policy.yaml:11: windows[0].site: unknown site "lyon"',
    ]);
  });

  it("rejects duplicates, two defaults, and the same account written two ways", () => {
    const text = `sites:
  - { name: a, zone: UTC, default: true }
  - { name: a, zone: UTC, default: true }
accounts:
  - { name: "CORP\\\\alice", role: admin }
  - { name: "alice@corp", role: admin }
`;
    const p = problemsOf(text);
    assert.ok(
      p.some((x) => x.startsWith("policy.yaml:2: sites: more than one site")),
      p.join("\n"),
    );
    assert.ok(
      p.some((x) => x.startsWith('policy.yaml:3: sites[1].name: duplicate site name "a"')),
      p.join("\n"),
    );
    assert.ok(
      p.some((x) => x.startsWith("policy.yaml:6: accounts[1].name:")),
      p.join("\n"),
    );
  });

  it("requires a ref and one timing form on each window", () => {
    const text = `${SITE}windows:
  - description: no ref and no timing
  - ref: CHG-3
    start: 2026-12-05T22:00
    end: 2026-12-06T02:00
    weekly: [{ days: sat, start: "22:00", end: "02:00" }]
`;
    assert.deepEqual(problemsOf(text), [
      "policy.yaml:5: windows[0]: a window needs its timing: start and end (one-off, optionally with rrule), weekly, or ics",
      "policy.yaml:5: windows[0].ref: a window needs a ref (the ticket or change id the alert quotes)",
      "policy.yaml:6: windows[1]: give one timing form, not start/end and weekly",
    ]);
  });

  it("rejects a window that ends before it starts", () => {
    const text = `${SITE}windows:
  - ref: CHG-2
    start: 2026-12-05T22:00
    end: 2026-12-05T20:00
`;
    assert.deepEqual(problemsOf(text), [
      "policy.yaml:7: windows[0].end: end (2026-12-05T20:00) is not after start (2026-12-05T22:00)",
    ]);
  });

  it("reports YAML syntax errors and duplicate keys with their line", () => {
    assert.match(problemsOf(`${SITE}accounts: [\n`)[0]!, /^policy\.yaml:\d+: YAML: /);
    assert.match(
      problemsOf(`${SITE}sites: []\n`)[0]!,
      /^policy\.yaml:4: YAML: Map keys must be unique/,
    );
  });

  it("rejects an empty policy and a policy without sites", () => {
    assert.deepEqual(problemsOf(""), ["policy.yaml:1: the policy is empty"]);
    assert.match(problemsOf("accounts: []\n")[0]!, /sites: /);
  });

  it("throws GuestOpsError ERR_POLICY_INVALID listing every problem", () => {
    try {
      parsePolicy("sites:\n  - name: x\n    zone: Nowhere/City\n    colour: red\n", {
        name: "p.yaml",
      });
      assert.fail("should throw");
    } catch (error) {
      assert.ok(isGuestOpsError(error));
      assert.equal(error.code, "ERR_POLICY_INVALID");
      assert.match(error.message, /p\.yaml:3: sites\[0\]\.zone:/);
      assert.match(error.message, /p\.yaml:4: sites\[0\]\.colour: unknown key/);
    }
  });
});

describe("policy validation: hostile content", () => {
  it("rejects __proto__ and constructor keys as unknown keys without touching prototypes", () => {
    const p = problemsOf(`${SITE}__proto__: { polluted: true }\nconstructor: x\n`);
    assert.ok(p.some((x) => x.includes('unknown key "__proto__"')));
    assert.ok(p.some((x) => x.includes('unknown key "constructor"')));
    assert.equal(({} as Record<string, unknown>)["polluted"], undefined);
  });

  it("rejects control characters in names and overlong names", () => {
    const p = problemsOf(
      `sites:\n  - name: "par\\u001b[31mis"\n    zone: UTC\n  - name: ${"x".repeat(600)}\n    zone: UTC\n`,
    );
    assert.ok(p.some((x) => x.includes("contains control characters")));
    assert.ok(p.some((x) => x.includes("longer than 512")));
    assert.ok(
      p.every((x) => !x.includes("\u001b")),
      "no raw escape in messages",
    );
  });

  it("accepts __proto__-like names as plain data (tiers, schedules, accounts)", () => {
    const policy = parsePolicy(
      `${SITE}schedules:\n  - { name: __proto__, spans: [{ days: daily, start: "00:00", end: "24:00" }] }\ntiers:\n  - { name: constructor, vms: [x] }\naccounts:\n  - { name: __proto__, role: service, allowedHours: __proto__, tiers: [constructor] }\n`,
      { name: "p.yaml" },
    );
    assert.equal(policy.schedules.get("__proto__")?.name, "__proto__");
    assert.equal(policy.accounts[0]?.allowedHours?.name, "__proto__");
  });

  it("survives an alias bomb", () => {
    const bomb = `a: &a [x, x, x, x, x, x, x, x, x, x]\nb: &b [*a, *a, *a, *a, *a, *a, *a, *a, *a, *a]\nc: &c [*b, *b, *b, *b, *b, *b, *b, *b, *b, *b]\nd: &d [*c, *c, *c, *c, *c, *c, *c, *c, *c, *c]\ne: [*d, *d, *d, *d, *d, *d, *d, *d, *d, *d]\n`;
    const r = checkPolicyText(bomb, { name: "bomb.yaml" });
    assert.equal(r.ok, false);
  });

  it("rejects sub-daily RRULE frequencies", () => {
    const p = problemsOf(
      `${SITE}windows:\n  - ref: X\n    start: 2026-01-01T00:00\n    end: 2026-01-01T00:01\n    rrule: FREQ=SECONDLY\n`,
    );
    assert.match(p[0]!, /^policy\.yaml:8: windows\[0\]\.rrule: FREQ=SECONDLY/);
  });
});

describe("policy loading", () => {
  const dir = mkdtempSync(join(tmpdir(), "guestops-policy-"));
  after(() => rmSync(dir, { recursive: true, force: true }));

  it("reads an iCalendar file relative to the policy file", () => {
    const ics = fileURLToPath(new URL("fixtures/maintenance.ics", import.meta.url));
    const path = join(dir, "p.yaml");
    writeFileSync(path, `${SITE}windows:\n  - ics: ${JSON.stringify(ics)}\n    vms: ["web*"]\n`);
    const policy = loadPolicy(path);
    assert.equal(policy.windows.length, 2);
    assert.deepEqual(
      policy.windows.map((w) => w.ref),
      ["CHG-7001 weekly patch night", "CHG-7002 Live Recovery DR test"],
    );
    writeFileSync(join(dir, "cal.ics"), "BEGIN:VCALENDAR\r\nEND:VCALENDAR\r\n");
    writeFileSync(path, `${SITE}windows:\n  - ics: cal.ics\n`);
    assert.throws(() => loadPolicy(path), /p\.yaml:5: windows\[0\]\.ics: cal\.ics: no VEVENT/);
  });

  it("names a missing iCalendar file with the line of the ics field", () => {
    const path = join(dir, "q.yaml");
    writeFileSync(path, `${SITE}windows:\n  - ref: X\n    ics: nowhere.ics\n`);
    assert.throws(
      () => loadPolicy(path),
      /q\.yaml:6: windows\[0\]\.ics: cannot read iCalendar file nowhere\.ics \(ENOENT\)/,
    );
  });

  it("reports a missing policy file as missing input", () => {
    assert.throws(
      () => loadPolicy(join(dir, "none.yaml")),
      (e: unknown) => isGuestOpsError(e) && e.code === "ERR_INPUT_MISSING",
    );
  });

  it("fills defaults: business hours, loopback, burst threshold and grouping gap", () => {
    const policy = parsePolicy(SITE, { name: "p.yaml" });
    assert.equal(policy.defaultSite.name, "paris");
    assert.deepEqual(policy.defaultSite.businessHours.spans, [
      { days: ["mon", "tue", "wed", "thu", "fri"], start: 480, end: 1080 },
    ]);
    assert.deepEqual(
      policy.vcenterAddresses.map((c) => c.text),
      ["127.0.0.0/8", "::1/128"],
    );
    assert.equal(policy.rules.get("auth-failure-burst"), undefined); // the rule's defaults apply
    assert.equal(policy.groupingGapMs, 1_800_000);
    assert.deepEqual(policy.incidentLinking, { windowMs: 3_600_000, repeatMs: 604_800_000 });
  });

  it("reads the incident linking windows, and rejects a bad one with its path", () => {
    const policy = parsePolicy(`${SITE}grouping: { gap: 20m, link: 2h, repeat: 3d }\n`, {
      name: "p.yaml",
    });
    assert.equal(policy.groupingGapMs, 1_200_000);
    assert.deepEqual(policy.incidentLinking, { windowMs: 7_200_000, repeatMs: 259_200_000 });
    assert.match(problemsOf(`${SITE}grouping: { link: soon }\n`)[0] ?? "", /grouping\.link/);
  });

  it("reads the coverage requirements, and rejects bad ones with their path", () => {
    const policy = parsePolicy(
      `${SITE}coverage: { retention: 400d, gap: 6h, skew: 30s, eventGap: 50, vcenterEventGap: 2 }\n`,
      { name: "p.yaml" },
    );
    assert.deepEqual(policy.coverage, {
      retentionMs: 400 * 86_400_000,
      gapMs: 6 * 3_600_000,
      skewMs: 30_000,
      eventGap: 50,
      vcenterEventGap: 2,
    });
    const plain = parsePolicy(SITE, { name: "p.yaml" });
    assert.deepEqual(plain.coverage, {
      gapMs: 86_400_000,
      skewMs: 5_000,
      eventGap: 1000,
      vcenterEventGap: 0,
    });
    assert.match(
      problemsOf(`${SITE}coverage: { retention: forever }\n`)[0] ?? "",
      /coverage\.retention/,
    );
    assert.match(problemsOf(`${SITE}coverage: { eventGap: -3 }\n`)[0] ?? "", /coverage\.eventGap/);
    assert.match(
      problemsOf(`${SITE}coverage: { vcenterEventGap: 1.5 }\n`)[0] ?? "",
      /coverage\.vcenterEventGap/,
    );
    assert.match(problemsOf(`${SITE}coverage: { retain: 1d }\n`)[0] ?? "", /retain/);
  });

  it("reads rule settings", () => {
    const policy = parsePolicy(
      `${SITE}rules:\n  outside-hours: { enabled: false }\n  sensitive-vm: { severity: critical }\n  auth-failure-burst: { threshold: 3, window: 2m }\ngrouping: { gap: 1h }\n`,
      { name: "p.yaml" },
    );
    assert.equal(policy.rules.get("outside-hours")?.enabled, false);
    assert.equal(policy.rules.get("sensitive-vm")?.severity, "critical");
    assert.deepEqual(policy.rules.get("auth-failure-burst")?.options, {
      threshold: 3,
      window: "2m",
    });
    assert.equal(policy.groupingGapMs, 3_600_000);
    assert.match(
      problemsOf(`${SITE}rules:\n  outside-hour: { enabled: false }\n`)[0]!,
      /did you mean outside-hours\?/,
    );
  });
});

import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { normaliseAccount } from "../attribute/identity.js";
import {
  accountPolicy,
  expectation,
  isBusinessHours,
  isCritical,
  isHoliday,
  isVcenterAddress,
  isWithinAllowedHours,
  methodAllowed,
  ruleEnabled,
  ruleSeverity,
  siteFor,
  sourceAllowed,
  vmAllowed,
  vmTier,
  windowsCovering,
} from "./evaluate.js";
import { defaultPolicy, parsePolicy } from "./load.js";
import type { OperationFacts } from "./types.js";

const POLICY = `
domains:
  - [CORP, ad.example.test]
sites:
  - name: paris
    zone: Europe/Paris
    default: true
    vcenters: [vc-par.example.test]
    hosts: ["esx-par-*"]
    holidays:
      - { date: "12-25", name: Christmas }
      - 2026-05-14
  - name: nyc
    zone: America/New_York
    hosts: ["esx-ny-*", "10.20.0.0/16"]
    businessHours:
      - { days: mon-fri, start: "09:00", end: "17:00" }
schedules:
  - name: backup-night
    spans:
      - { days: daily, start: "22:00", end: "04:00" }
accounts:
  - name: CORP\\alice
    role: admin
  - name: CORP\\svc-veeam
    role: backup
    allowedHours: backup-night
    tiers: [critical]
    vms: ["app*", "db*"]
    methods: [execute, query, modify, InitiateFileTransferFromGuest]
    sources: [10.1.2.40]
  - name: CORP\\svc-aria
    role: monitoring
  - name: CORP\\svc-*
    role: automation
    vms: ["build*"]
  - name: VSPHERE.LOCAL\\vpxd-extension-*
    role: service
tiers:
  - name: critical
    vms: ["dc*", "pki-ca"]
  - name: dev
    vms: ["dev-*", "build*"]
vcenterAddresses: [10.0.0.10, 10.0.0.11]
windows:
  - ref: CHG-100
    description: patch app servers
    accounts: [CORP\\alice]
    vms: ["app*"]
    start: 2026-06-06T20:00
    end: 2026-06-07T02:00
  - ref: CHG-200
    vms: ["web*"]
    hosts: ["esx-par-*"]
    weekly: [{ days: sat, start: "22:00", end: "02:00" }]
  - ref: CHG-300
    accounts: ["mallory@evil.test"]
    start: 2026-06-10T10:00
    end: 2026-06-10T11:00
rules:
  outside-hours: { enabled: false }
  sensitive-vm: { severity: critical }
`;

const policy = parsePolicy(POLICY, { name: "test.yaml" });
const paris = policy.sites[0]!;
const nyc = policy.sites[1]!;
const P = normaliseAccount;

const facts = (over: Partial<OperationFacts>): OperationFacts => ({
  time: "2026-06-03T10:00:00Z", // Wednesday 12:00 in Paris
  principal: P("CORP\\alice"),
  level: "exact",
  api: "StartProgramInGuest",
  vm: { name: "web01" },
  host: "esx-par-01.example.test",
  ...over,
});

describe("accountPolicy: accounts match the way attribution normalises them", () => {
  it("matches user@domain against a DOMAIN\\user entry", () => {
    assert.equal(accountPolicy(policy, P("alice@CORP"))?.account.pattern, "CORP\\alice");
    assert.equal(accountPolicy(policy, P("ALICE@corp"))?.account.pattern, "CORP\\alice");
  });

  it("matches through a vpxuser: prefix (the call came via vCenter)", () => {
    assert.equal(accountPolicy(policy, P("vpxuser:CORP\\alice"))?.account.pattern, "CORP\\alice");
  });

  it("matches a DNS domain named in a domains: alias group, and the NetBIOS first label", () => {
    assert.equal(accountPolicy(policy, P("alice@ad.example.test"))?.account.pattern, "CORP\\alice");
    assert.equal(
      accountPolicy(policy, P("alice@corp.example.test"))?.account.pattern,
      "CORP\\alice",
    );
  });

  it("prefers an exact entry over an earlier glob and falls back to globs", () => {
    assert.equal(accountPolicy(policy, P("CORP\\svc-veeam"))?.account.role, "backup");
    assert.equal(accountPolicy(policy, P("corp\\svc-jenkins"))?.account.pattern, "CORP\\svc-*");
    assert.equal(
      accountPolicy(policy, P("VSPHERE.LOCAL\\vpxd-extension-0a1b2c3d-aaaa-bbbb-cccc-0123456789ab"))
        ?.account.role,
      "service",
    );
  });

  it("does not match another domain, a bare user name, or nobody", () => {
    assert.equal(accountPolicy(policy, P("EVIL\\alice")), undefined);
    assert.equal(accountPolicy(policy, P("alice")), undefined);
    assert.equal(accountPolicy(policy, undefined), undefined);
  });
});

describe("sites", () => {
  it("places a host by name glob, short name, CIDR or vCenter, else the default site", () => {
    assert.equal(siteFor(policy, "esx-ny-04.example.test", undefined).site.name, "nyc");
    assert.equal(siteFor(policy, "10.20.3.4", undefined).site.name, "nyc");
    assert.equal(siteFor(policy, undefined, "vc-par.example.test").site.name, "paris");
    const d = siteFor(policy, "esx-lon-1", "vc-lon");
    assert.equal(d.site.name, "paris");
    assert.equal(d.reason, "default site paris");
  });
});

describe("hours", () => {
  it("is inside business hours on a weekday and says so in local time", () => {
    const v = isBusinessHours("2026-06-03T10:00:00Z", paris);
    assert.equal(v.ok, true);
    assert.equal(
      v.reason,
      "inside business hours Mon–Fri 08:00–18:00 Europe/Paris (Wed 12:00 local)",
    );
  });

  it("is outside business hours at night and on weekends", () => {
    const v = isBusinessHours("2026-06-06T00:14:00Z", paris);
    assert.deepEqual(v, {
      ok: false,
      reason: "outside business hours Mon–Fri 08:00–18:00 Europe/Paris (Sat 02:14 local)",
    });
    assert.equal(isBusinessHours("2026-06-03T14:00:00Z", nyc).ok, true); // 10:00 EDT
    assert.equal(isBusinessHours("2026-06-03T22:00:00Z", nyc).ok, false); // 18:00 EDT
  });

  it("treats holidays (yearly and one-off) as non-business days", () => {
    const xmas = isBusinessHours("2026-12-25T10:00:00Z", paris);
    assert.equal(xmas.ok, false);
    assert.match(xmas.reason, /^on holiday 12-25 \(Christmas\), not a business day/);
    assert.equal(isBusinessHours("2026-05-14T10:00:00Z", paris).ok, false);
    assert.equal(isBusinessHours("2027-05-14T10:00:00Z", paris).ok, true);
    assert.equal(isHoliday(paris, "2031-12-25T12:00:00Z")?.name, "Christmas");
    assert.equal(isHoliday(paris, "2026-12-24T22:59:00Z"), undefined); // 23:59 on the 24th
    assert.equal(isHoliday(paris, "2026-12-24T23:00:00Z")?.name, "Christmas"); // midnight local
  });

  it("judges a backup account by its own hours: 02:00 local is inside, 12:00 is outside", () => {
    const veeam = accountPolicy(policy, P("CORP\\svc-veeam"))!.account;
    const night = isWithinAllowedHours(veeam, "2026-06-03T00:00:00Z", paris); // Wed 02:00 CEST
    assert.equal(night.ok, true, night.reason);
    assert.match(night.reason, /allowed hours of CORP\\svc-veeam "backup-night" daily 22:00–04:00/);
    const noon = isWithinAllowedHours(veeam, "2026-06-03T10:00:00Z", paris);
    assert.equal(noon.ok, false);
    assert.equal(
      noon.reason,
      'outside the allowed hours of CORP\\svc-veeam "backup-night" daily 22:00–04:00 (+1 day) Europe/Paris (Wed 12:00 local)',
    );
  });

  it("holds an admin to business hours and lets machine roles without hours run any time", () => {
    const alice = accountPolicy(policy, P("CORP\\alice"))!.account;
    assert.equal(isWithinAllowedHours(alice, "2026-06-06T00:14:00Z", paris).ok, false);
    const aria = accountPolicy(policy, P("CORP\\svc-aria"))!.account;
    assert.equal(isWithinAllowedHours(aria, "2026-06-06T00:14:00Z", paris).ok, true);
    assert.equal(isWithinAllowedHours("admin", "2026-06-06T00:14:00Z", paris).ok, false);
    assert.equal(isWithinAllowedHours("backup", "2026-06-06T00:14:00Z", paris).ok, true);
  });
});

describe("VMs, tiers and methods", () => {
  const veeam = accountPolicy(policy, P("CORP\\svc-veeam"))!.account;
  const aria = accountPolicy(policy, P("CORP\\svc-aria"))!.account;
  const alice = accountPolicy(policy, P("CORP\\alice"))!.account;

  it("finds tiers by glob, by .vmx file name, and prefers critical", () => {
    assert.equal(vmTier(policy, "DC01"), "critical");
    assert.equal(vmTier(policy, { vmx: "[ds1] pki-ca/pki-ca.vmx" }), "critical");
    assert.equal(vmTier(policy, "build7"), "dev");
    assert.equal(vmTier(policy, "web01"), undefined);
    assert.equal(isCritical(policy, "dev-1"), false);
  });

  it("keeps an account without vms: off critical VMs, and one with vms: inside its list", () => {
    assert.equal(vmAllowed(policy, alice, "web01").ok, true);
    const dc = vmAllowed(policy, alice, "dc01");
    assert.equal(dc.ok, false);
    assert.match(dc.reason, /^critical VM dc01 is not granted to CORP\\alice/);
    assert.equal(vmAllowed(policy, veeam, "dc01").ok, true); // tier:critical
    assert.equal(vmAllowed(policy, veeam, "app7").ok, true);
    assert.equal(vmAllowed(policy, veeam, "web01").ok, false);
  });

  it("gives monitoring accounts process/env queries only by default", () => {
    assert.equal(methodAllowed(policy, aria, "ListProcessesInGuest").ok, true);
    const ls = methodAllowed(policy, aria, "ListFilesInGuest");
    assert.equal(ls.ok, false);
    assert.match(
      ls.reason,
      /ListFilesInGuest \(query\) is not among the methods allowed for monitoring account CORP\\svc-aria/,
    );
    assert.equal(methodAllowed(policy, aria, "StartProgramInGuest").ok, false);
  });

  it("grants by category and by API name, accepting log spellings", () => {
    assert.equal(methodAllowed(policy, veeam, "StartProgramInGuest").ok, true);
    assert.equal(methodAllowed(policy, veeam, "Start Program").ok, true);
    assert.equal(methodAllowed(policy, veeam, "AddAlias").ok, false);
  });

  it("requires InitiateFileTransferFromGuest by name to pull files out of a critical VM", () => {
    assert.equal(methodAllowed(policy, veeam, "InitiateFileTransferFromGuest", "dc01").ok, true);
    const admin = methodAllowed(policy, alice, "InitiateFileTransferFromGuest", "dc01");
    assert.equal(admin.ok, false);
    assert.match(admin.reason, /pulls files out of critical VM dc01/);
    assert.equal(methodAllowed(policy, alice, "InitiateFileTransferFromGuest", "web01").ok, true);
  });
});

describe("addresses", () => {
  it("expects vpxuser from loopback and the vCenter appliances, not from a workstation", () => {
    assert.deepEqual(isVcenterAddress(policy, "127.0.0.1"), {
      ok: true,
      reason: "source 127.0.0.1 is loopback",
    });
    assert.equal(isVcenterAddress(policy, "::1").ok, true);
    assert.equal(isVcenterAddress(policy, "::ffff:127.0.0.1").ok, true);
    assert.equal(isVcenterAddress(policy, "10.0.0.11").ok, true);
    assert.deepEqual(isVcenterAddress(policy, "10.9.8.7"), {
      ok: false,
      reason: "source 10.9.8.7 is neither loopback nor a vCenter address",
    });
    assert.equal(isVcenterAddress(defaultPolicy(), "127.0.0.1").ok, true);
    assert.equal(isVcenterAddress(policy, undefined).ok, false);
    assert.equal(isVcenterAddress(policy, "not-an-ip").ok, false);
  });

  it("checks an account's allowed sources", () => {
    const veeam = accountPolicy(policy, P("CORP\\svc-veeam"))!.account;
    assert.equal(sourceAllowed(veeam, "10.1.2.40").ok, true);
    assert.equal(sourceAllowed(veeam, "10.1.2.41").ok, false);
    assert.equal(sourceAllowed(veeam, undefined).ok, true);
  });
});

describe("windowsCovering", () => {
  it("covers the account, VM and time the window names, quoting its ref", () => {
    const w = windowsCovering(policy, {
      instant: "2026-06-06T22:00:00Z", // Sun 00:00 CEST
      principal: P("alice@corp"),
      vm: "app3",
    });
    assert.equal(w.length, 1);
    assert.equal(
      w[0]!.reason,
      'inside approved window CHG-100 "patch app servers" (Sat 2026-06-06 20:00 – Sun 2026-06-07 02:00 Europe/Paris)',
    );
  });

  it("does not cover another account, another VM, or another time", () => {
    const base = { instant: "2026-06-06T22:00:00Z", principal: P("CORP\\alice"), vm: "app3" };
    assert.equal(windowsCovering(policy, { ...base, principal: P("CORP\\jsmith") }).length, 0);
    assert.equal(windowsCovering(policy, { ...base, vm: "db1" }).length, 0);
    assert.equal(windowsCovering(policy, { ...base, instant: "2026-06-07T01:00:00Z" }).length, 0);
  });

  it("a window without accounts: covers listed accounts only, never unknown or unattributed ones", () => {
    const base = { instant: "2026-06-13T21:00:00Z", vm: "web1", host: "esx-par-2" }; // Sat 23:00
    assert.equal(windowsCovering(policy, { ...base, principal: P("CORP\\alice") }).length, 1);
    assert.equal(windowsCovering(policy, { ...base, principal: P("EVIL\\mallory") }).length, 0);
    assert.equal(windowsCovering(policy, { ...base, principal: undefined }).length, 0);
    // host scope
    assert.equal(
      windowsCovering(policy, { ...base, principal: P("CORP\\alice"), host: "esx-ny-1" }).length,
      0,
    );
  });
});

describe("expectation (precedence)", () => {
  it("expects an admin inside business hours", () => {
    const e = expectation(policy, facts({}));
    assert.equal(e.expected, true, e.why.join("; "));
    assert.equal(e.site.site.name, "paris");
  });

  it("flags an admin outside business hours, with the local time in the reason", () => {
    const e = expectation(policy, facts({ time: "2026-06-06T00:14:00Z" }));
    assert.equal(e.expected, false);
    assert.equal(e.checks.hours.ok, false);
    assert.equal(
      e.why[0],
      "outside business hours Mon–Fri 08:00–18:00 Europe/Paris (Sat 02:14 local)",
    );
  });

  it("an approved window makes an out-of-hours admin operation expected", () => {
    const e = expectation(policy, facts({ time: "2026-06-06T22:00:00Z", vm: { name: "app3" } }));
    assert.equal(e.expected, true, e.why.join("; "));
    assert.match(e.checks.hours.reason, /^inside approved window CHG-100/);
    assert.equal(e.windows[0]?.window.ref, "CHG-100");
  });

  it("expects the backup account at 02:00 local inside its own hours, on its VMs, from its source", () => {
    const e = expectation(
      policy,
      facts({
        time: "2026-06-03T00:00:00Z",
        principal: P("svc-veeam@corp"),
        vm: { name: "db2" },
        sourceIp: "10.1.2.40",
      }),
    );
    assert.equal(e.expected, true, e.why.join("; "));
  });

  it("flags the backup account from another address even inside its hours", () => {
    const e = expectation(
      policy,
      facts({
        time: "2026-06-03T00:00:00Z",
        principal: P("CORP\\svc-veeam"),
        vm: { name: "db2" },
        sourceIp: "10.66.6.6",
      }),
    );
    assert.equal(e.expected, false);
    assert.equal(e.checks.source.ok, false);
  });

  it("does not judge the source when it is the vCenter appliance (client address not known)", () => {
    const e = expectation(
      policy,
      facts({
        time: "2026-06-03T00:00:00Z",
        principal: P("CORP\\svc-veeam"),
        vm: { name: "db2" },
        sourceIp: "10.0.0.10",
      }),
    );
    assert.equal(e.checks.source.ok, true);
  });

  it("flags an unexpected account, and a window naming it makes it expected", () => {
    const e = expectation(policy, facts({ principal: P("EVIL\\mallory") }));
    assert.equal(e.expected, false);
    assert.equal(e.checks.account.ok, false);
    assert.match(e.checks.account.reason, /not among the policy's accounts/);
    const w = expectation(
      policy,
      facts({ principal: P("mallory@evil.test"), time: "2026-06-10T08:30:00Z" }),
    );
    assert.equal(w.checks.account.ok, true, w.why.join("; "));
  });

  it("flags a critical VM touched by an account not allowed on it, and by an unattributed principal", () => {
    const e = expectation(policy, facts({ vm: { name: "dc01" } }));
    assert.equal(e.critical, true);
    assert.equal(e.tier, "critical");
    assert.equal(e.checks.vm.ok, false);
    const u = expectation(
      policy,
      facts({ vm: { name: "dc01" }, principal: undefined, level: "unknown" }),
    );
    assert.equal(u.checks.vm.ok, false);
    assert.equal(u.checks.vm.reason, "critical VM dc01 touched by an unattributed principal");
    assert.equal(u.checks.account.ok, false);
  });

  it("flags anyone pulling files out of a critical VM, listed or not", () => {
    const e = expectation(
      policy,
      facts({
        principal: P("EVIL\\x"),
        vm: { name: "pki-ca" },
        api: "InitiateFileTransferFromGuest",
      }),
    );
    assert.equal(e.checks.method.ok, false);
  });

  it("flags a monitoring account listing files", () => {
    const e = expectation(
      policy,
      facts({ principal: P("CORP\\svc-aria"), api: "ListFilesInGuest" }),
    );
    assert.equal(e.expected, false);
    assert.equal(e.checks.method.ok, false);
  });

  it("does not judge hours when the time is unknown", () => {
    const e = expectation(policy, facts({ time: undefined }));
    assert.equal(e.checks.hours.ok, true);
  });

  it("quotes hostile account and VM names without raw control characters", () => {
    const e = expectation(
      policy,
      facts({ principal: P("EVIL\\m\u001b[2Jx"), vm: { name: "dc01\u0007" } }),
    );
    // eslint-disable-next-line no-control-regex -- looking for raw control characters
    for (const reason of e.why) assert.ok(!/[\u0000-\u001f]/.test(reason), reason);
  });
});

describe("rule settings", () => {
  it("reads enabled flags and severity overrides with defaults", () => {
    assert.equal(ruleEnabled(policy, "outside-hours"), false);
    assert.equal(ruleEnabled(policy, "unexpected-account"), true);
    assert.equal(ruleSeverity(policy, "sensitive-vm", "high"), "critical");
    assert.equal(ruleSeverity(policy, "disallowed-method", "medium"), "medium");
  });
});

/**
 * Every policy template in examples/ validates, and each one expects what its comments promise
 * (keyed on account, source, schedule and VM set) and nothing more.
 */
import assert from "node:assert/strict";
import { readdirSync } from "node:fs";
import { join } from "node:path";
import { describe, it } from "node:test";
import { fileURLToPath } from "node:url";
import { normaliseAccount } from "../attribute/identity.js";
import { expectation } from "./evaluate.js";
import { checkPolicyFile, formatProblem, loadPolicy } from "./load.js";
import type { OperationFacts, Policy } from "./types.js";

const examples = fileURLToPath(new URL("../../examples/", import.meta.url));
const templates = join(examples, "policies");
const load = (name: string): Policy => loadPolicy(join(templates, name));

const op = (over: Partial<OperationFacts> & { account: string }): OperationFacts => {
  const { account, ...rest } = over;
  return {
    time: "2026-12-02T10:00:00Z",
    principal: normaliseAccount(account),
    level: "exact",
    api: "StartProgramInGuest",
    vm: { name: "app01" },
    ...rest,
  };
};

const expected = (policy: Policy, facts: OperationFacts): boolean => {
  const e = expectation(policy, facts);
  return e.expected;
};

describe("policy templates", () => {
  const files = [
    ...readdirSync(templates)
      .filter((f) => f.endsWith(".yaml"))
      .map((f) => join(templates, f)),
    join(examples, "policy.yaml"),
  ];

  it("has the templates for every legitimate user the docs list", () => {
    const names = readdirSync(templates);
    for (const t of [
      "veeam.yaml",
      "aria-operations.yaml",
      "live-recovery.yaml",
      "vsphere-supervisor.yaml",
      "powercli-admins.yaml",
      "site.yaml",
    ]) {
      assert.ok(names.includes(t), t);
    }
  });

  for (const file of files) {
    it(`validates ${file.slice(examples.length - "examples/".length)}`, () => {
      const r = checkPolicyFile(file);
      assert.ok(r.ok, r.ok ? "" : r.problems.map((p) => formatProblem(file, p)).join("\n"));
    });
  }
});

describe("veeam.yaml", () => {
  const p = load("veeam.yaml");
  const veeam = {
    account: "svc-veeam@corp.example",
    sourceIp: "10.10.20.10",
    vm: { name: "db07" },
  };

  it("expects the backup account at 02:00 local, on a job VM, from the backup server", () => {
    assert.ok(expected(p, op({ ...veeam, time: "2026-12-02T01:00:00Z" })));
    assert.ok(
      expected(
        p,
        op({
          ...veeam,
          time: "2026-12-02T01:00:00Z",
          vm: { name: "dc01" },
          api: "InitiateFileTransferFromGuest",
        }),
      ),
    );
  });

  it("flags it at noon, from a workstation, or on a VM outside its jobs", () => {
    assert.ok(!expected(p, op({ ...veeam, time: "2026-12-02T11:00:00Z" })));
    assert.ok(!expected(p, op({ ...veeam, time: "2026-12-02T01:00:00Z", sourceIp: "10.99.1.2" })));
    assert.ok(!expected(p, op({ ...veeam, time: "2026-12-02T01:00:00Z", vm: { name: "web01" } })));
  });
});

describe("aria-operations.yaml", () => {
  const p = load("aria-operations.yaml");
  const aria = { account: "CORP\\svc-aria-ops", sourceIp: "10.10.30.5" };

  it("expects service discovery on any non-critical VM at any hour from a collector", () => {
    assert.ok(expected(p, op({ ...aria, time: "2026-12-06T03:00:00Z", vm: { name: "web42" } })));
    assert.ok(expected(p, op({ ...aria, api: "ListFilesInGuest" })));
  });

  it("flags it on a critical VM and from elsewhere", () => {
    assert.ok(!expected(p, op({ ...aria, vm: { name: "dc01" } })));
    assert.ok(!expected(p, op({ ...aria, sourceIp: "192.168.1.50" })));
  });
});

describe("live-recovery.yaml", () => {
  const p = load("live-recovery.yaml");
  const srm = { account: "CORP\\svc-srm", sourceIp: "10.20.0.15", host: "esx-dr-03" };

  it("expects the recovery account inside the DR test window only", () => {
    assert.ok(expected(p, op({ ...srm, time: "2026-12-05T09:00:00Z" }))); // 10:00 Berlin
    assert.ok(!expected(p, op({ ...srm, time: "2026-12-02T09:00:00Z" })));
  });

  it("flags it on a VM outside the protection groups, even in the window", () => {
    assert.ok(!expected(p, op({ ...srm, time: "2026-12-05T09:00:00Z", vm: { name: "dc01" } })));
  });
});

describe("vsphere-supervisor.yaml", () => {
  const p = load("vsphere-supervisor.yaml");
  const wcp = {
    account: "VSPHERE.LOCAL\\wcp-0f1e2d3c-4b5a-6978-8a9b-0c1d2e3f4a5b",
    sourceIp: "10.10.0.10",
    vm: { name: "SupervisorControlPlaneVM (1)" },
  };

  it("expects the solution user on Supervisor VMs from the vCenter appliance", () => {
    assert.ok(expected(p, op({ ...wcp, time: "2026-12-06T03:00:00Z" })));
  });

  it("flags it on an ordinary VM or from another address", () => {
    assert.ok(!expected(p, op({ ...wcp, vm: { name: "app01" } })));
    assert.ok(!expected(p, op({ ...wcp, sourceIp: "10.66.0.1" })));
  });
});

describe("powercli-admins.yaml", () => {
  const p = load("powercli-admins.yaml");
  const adm = { account: "CORP\\adm-jdoe", sourceIp: "10.10.50.3" };

  it("expects an admin in business hours from a jump host, and in the change window", () => {
    assert.ok(expected(p, op({ ...adm, time: "2026-12-02T10:00:00Z" })));
    assert.ok(expected(p, op({ ...adm, time: "2026-12-01T20:00:00Z", vm: { name: "app07" } })));
  });

  it("flags an admin at night, on a critical VM, on a holiday, or from a laptop", () => {
    assert.ok(!expected(p, op({ ...adm, time: "2026-12-02T23:00:00Z" })));
    assert.ok(!expected(p, op({ ...adm, vm: { name: "dc01" } })));
    assert.ok(!expected(p, op({ ...adm, time: "2026-12-25T10:00:00Z" })));
    assert.ok(!expected(p, op({ ...adm, sourceIp: "10.200.1.1" })));
  });

  it("lets tier-0 admins into critical VMs but not pull files out of them", () => {
    const t0 = { account: "CORP\\t0-root", sourceIp: "10.10.50.20", vm: { name: "dc01" } };
    assert.ok(expected(p, op(t0)));
    assert.ok(!expected(p, op({ ...t0, api: "InitiateFileTransferFromGuest" })));
  });
});

describe("site.yaml", () => {
  const p = load("site.yaml");

  it("places hosts at their site and judges hours in that site's zone", () => {
    assert.equal(
      expectation(p, op({ account: "adm-alice@ad.corp.example", host: "esx-ny-2" })).site.site.name,
      "nyc",
    );
    assert.equal(
      expectation(p, op({ account: "adm-alice@ad.corp.example", host: "10.10.1.7" })).site.site
        .name,
      "paris",
    );
    // 08:30 UTC: 09:30 Paris (inside), 03:30 New York (outside).
    const ny = op({
      account: "CORP\\adm-alice",
      sourceIp: "10.20.50.1",
      host: "esx-ny-2",
      time: "2026-12-02T08:30:00Z",
    });
    const par = op({
      account: "CORP\\adm-alice",
      sourceIp: "10.10.50.1",
      host: "esx-par-2",
      time: "2026-12-02T08:30:00Z",
    });
    assert.ok(!expected(p, ny));
    assert.ok(expected(p, par));
  });

  it("applies the change calendar (iCalendar) and its exception", () => {
    const patch = {
      account: "CORP\\adm-bob",
      sourceIp: "10.10.50.2",
      host: "esx-par-1",
      vm: { name: "web3" },
    };
    assert.ok(expected(p, op({ ...patch, time: "2026-12-12T23:30:00Z" }))); // Sun 00:30 Paris
    assert.ok(!expected(p, op({ ...patch, time: "2026-12-26T23:30:00Z" }))); // EXDATE 26 Dec
  });

  it("applies the inline RRULE window and its EXDATE", () => {
    const ansible = {
      account: "CORP\\svc-ansible",
      sourceIp: "10.10.40.5",
      vm: { name: "build-3" },
    };
    assert.ok(expected(p, op({ ...ansible, time: "2026-12-06T23:00:00Z" }))); // Mon 00:00, window
    assert.ok(!expected(p, op({ ...ansible, time: "2027-01-03T23:00:00Z" }))); // excepted
    assert.ok(expected(p, op({ ...ansible, time: "2027-02-07T23:00:00Z" }))); // first Sunday of Feb
    assert.ok(!expected(p, op({ ...ansible, time: "2027-02-14T23:00:00Z" }))); // second Sunday
  });
});

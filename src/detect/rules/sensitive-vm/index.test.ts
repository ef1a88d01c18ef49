import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { alertsWith, run, signalsOf } from "../../../../test/helpers/detect.js";
import { op } from "../../../../test/helpers/operations.js";
import { sensitiveVm } from "./index.js";

const only = { rules: [sensitiveVm] };
const TUE = "2026-03-10T09:15:00Z";

describe("sensitive-vm", () => {
  it("ok: stays quiet on a VM outside the critical tier", () => {
    assert.equal(
      run([op({ time: TUE, principal: "CORP\\alice", vm: "app01" })], only).alerts.length,
      0,
    );
  });

  it("ok: an account granted the critical tier may touch it", () => {
    const r = run(
      [op({ time: "2026-03-12T01:08:00Z", principal: "CORP\\svc-veeam", vm: "dc01" })],
      only,
    );
    assert.equal(r.alerts.length, 0);
  });

  it("ng: an admin without a grant on a critical VM", () => {
    const r = run(
      [op({ time: TUE, principal: "CORP\\alice", vm: "dc01", host: "esx01.corp.example" })],
      only,
    );
    const [s] = signalsOf(r, "sensitive-vm");
    assert.ok(s);
    assert.equal(s.severity, "high");
    assert.match(
      s.reason,
      /CORP\\alice ran StartProgramInGuest on VM dc01 on host esx01\.corp\.example, a VM of the critical tier/,
    );
  });

  it("ng: an unknown principal on a critical VM is an alert of its own", () => {
    const r = run(
      [
        op({ time: TUE, principal: "CORP\\alice", vm: "dc01" }),
        op({ time: "2026-03-10T09:16:00Z", vm: "dc01", sourceIp: "10.10.99.50" }),
      ],
      only,
    );
    const alerts = alertsWith(r, "sensitive-vm");
    assert.equal(alerts.length, 2);
    const unattributed = alerts.find((a) => a.principal.level === "unknown");
    assert.ok(unattributed);
    assert.equal(unattributed.severity, "high");
    assert.equal(unattributed.principal.display, "unknown");
    assert.match(
      unattributed.reasons[0] ?? "",
      /by an unattributed principal \(attribution unknown/,
    );
  });

  it("lowers an account finding for an inferred principal, never the unattributed one", () => {
    const r = run([op({ time: TUE, principal: "root", level: "inferred", vm: "dc01" })], only);
    assert.equal(signalsOf(r, "sensitive-vm")[0]?.severity, "medium");
  });
});

describe("sensitive-vm and vCenter's own account", () => {
  it("ng: vpxuser acting through vCenter on a critical VM counts as unattributed", () => {
    const r = run(
      [
        op({
          time: TUE,
          principal: "vpxuser:<no user>",
          level: "exact",
          via: "vcenter",
          vm: "dc01",
        }),
      ],
      only,
    );
    const [s] = signalsOf(r, "sensitive-vm");
    assert.ok(s);
    assert.match(s.reason, /by vpxuser through vCenter \(end user unknown\)/);
    assert.equal(r.alerts[0]?.principal.display, "vpxuser through vCenter (end user unknown)");
  });
});

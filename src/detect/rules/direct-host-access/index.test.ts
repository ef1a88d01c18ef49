import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { run, signalsOf } from "../../../../test/helpers/detect.js";
import { op } from "../../../../test/helpers/operations.js";
import { defaultPolicy } from "../../../policy/load.js";
import type { CoverageSpan } from "../../types.js";
import { directHostAccess } from "./index.js";

const only = { rules: [directHostAccess] };
const SAT = "2026-03-14T02:02:00Z";
const VPXD: CoverageSpan[] = [
  { format: "vpxd", start: "2026-03-10T00:00:00Z", end: "2026-03-15T00:00:00Z", vcenter: "vcsa01" },
];

describe("direct-host-access", () => {
  it("ok: vpxuser from loopback (vpxa on the host) is how vCenter works", () => {
    const r = run(
      [op({ time: SAT, principal: "vpxuser", via: "direct", sourceIp: "127.0.0.1", vm: "dc01" })],
      only,
    );
    assert.equal(r.alerts.length, 0);
  });

  it("ok: vpxuser from a listed vCenter address", () => {
    const r = run(
      [op({ time: SAT, principal: "vpxuser", via: "direct", sourceIp: "10.10.0.10", vm: "dc01" })],
      only,
    );
    assert.equal(r.alerts.length, 0);
  });

  it("ng: vpxuser from a workstation address is the stolen-vpxuser pattern", () => {
    const r = run(
      [
        op({
          time: SAT,
          principal: "vpxuser",
          via: "direct",
          sourceIp: "10.10.99.50",
          vm: "dc01",
          host: "esx01.corp.example",
        }),
      ],
      only,
    );
    const [s] = signalsOf(r, "direct-host-access");
    assert.ok(s);
    assert.equal(s.severity, "high");
    assert.match(
      s.reason,
      /vpxuser logged in from 10\.10\.99\.50, neither loopback nor a vCenter address: the UNC3886 pattern/,
    );
  });

  it("ok: a call that came through vCenter is judged by vCenter's rules, not this one", () => {
    const r = run(
      [
        op({
          time: SAT,
          principal: "CORP\\alice",
          via: "vcenter",
          sourceIp: "10.10.5.21",
          vm: "app01",
          kinds: ["vc.event", "vpxd.lro"],
        }),
      ],
      { ...only, coverage: VPXD },
    );
    assert.equal(r.alerts.length, 0);
  });

  it("ng: root straight to the host; inferred root lowers only that fact", () => {
    const exact = run([op({ time: SAT, principal: "root", via: "direct", vm: "app01" })], only);
    assert.match(
      signalsOf(exact, "direct-host-access")[0]?.reason ?? "",
      /host-local account root/,
    );
    assert.equal(signalsOf(exact, "direct-host-access")[0]?.severity, "high");
    const inferred = run(
      [op({ time: SAT, principal: "root", level: "inferred", via: "direct", vm: "app01" })],
      only,
    );
    assert.equal(signalsOf(inferred, "direct-host-access")[0]?.severity, "medium");
  });

  it("ng: Host Client and ESXi shell opID shapes, even when unattributed", () => {
    const r = run(
      [
        op({ time: SAT, vm: "app01", opId: "esxui-5d1a-77c0" }),
        op({ time: SAT, vm: "db01", opId: "vim-cmd-09-a45d" }),
      ],
      only,
    );
    const reasons = signalsOf(r, "direct-host-access").map((s) => s.reason);
    assert.equal(reasons.length, 2);
    assert.match(reasons.join("\n"), /esxui-5d1a-77c0 is the shape the ESXi Host Client uses/);
    assert.match(
      reasons.join("\n"),
      /vim-cmd-09-a45d is the shape the ESXi shell \(vim-cmd\) uses/,
    );
  });

  it("ng: no vpxd record although vpxd.log covers that time (medium alone)", () => {
    const r = run([op({ time: SAT, vm: "dc01", kinds: ["hostd.event", "vmx.request"] })], {
      ...only,
      coverage: VPXD,
    });
    const [s] = signalsOf(r, "direct-host-access");
    assert.ok(s);
    assert.equal(s.severity, "medium");
    assert.match(
      s.reason,
      /vpxd\.log of vcsa01 covers 2026-03-10T00:00:00Z to 2026-03-15T00:00:00Z but holds no record/,
    );
  });

  it("ok: no vpxd record outside the span vpxd.log covers, or of another vCenter", () => {
    const before = op({ time: "2026-03-01T02:00:00Z", vm: "dc01" });
    const elsewhere = op({ time: SAT, vm: "dc01", vcenter: "vcsa02" });
    assert.equal(run([before, elsewhere], { ...only, coverage: VPXD }).alerts.length, 0);
  });

  it("ng: an inferred vpxuser straight to the host, no policy, no vpxd.log: the address fact at full strength", () => {
    const r = run(
      [
        op({
          time: SAT,
          principal: "vpxuser",
          level: "inferred",
          via: "direct",
          sourceIp: "10.10.99.50",
          vm: "dc01",
        }),
      ],
      { ...only, policy: defaultPolicy() },
    );
    const [s] = signalsOf(r, "direct-host-access");
    assert.equal(s?.severity, "high");
    assert.equal(r.alerts[0]?.severity, "high");
    assert.doesNotMatch(s?.reason ?? "", /severity lowered/);
  });

  it("runs without a policy file (only loopback is a known vCenter address then)", () => {
    const r = run(
      [op({ time: SAT, principal: "vpxuser", via: "direct", sourceIp: "10.10.0.10", vm: "dc01" })],
      {
        ...only,
        policy: defaultPolicy(),
      },
    );
    assert.equal(signalsOf(r, "direct-host-access").length, 1);
    assert.deepEqual(r.disabled, []);
  });
});

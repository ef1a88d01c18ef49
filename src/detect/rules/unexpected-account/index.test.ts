import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { run, signalsOf } from "../../../../test/helpers/detect.js";
import { op } from "../../../../test/helpers/operations.js";
import { defaultPolicy } from "../../../policy/load.js";
import { unexpectedAccount } from "./index.js";

const only = { rules: [unexpectedAccount] };
const TUE = "2026-03-10T09:15:00Z";

describe("unexpected-account", () => {
  it("ok: stays quiet for an account the policy lists", () => {
    assert.equal(
      run([op({ time: TUE, principal: "CORP\\alice", vm: "app01" })], only).alerts.length,
      0,
    );
  });

  it("ok: an account in user@domain form matches its DOMAIN\\user entry", () => {
    const r = run([op({ time: TUE, principal: "alice@corp.example", vm: "app01" })], only);
    assert.equal(r.alerts.length, 0);
  });

  it("ng: reports an account the policy does not list, naming it, the VM and the host", () => {
    const r = run(
      [op({ time: TUE, principal: "bob@corp.example", vm: "app01", host: "esx02.corp.example" })],
      only,
    );
    const [s] = signalsOf(r, "unexpected-account");
    assert.ok(s);
    assert.equal(s.severity, "medium");
    assert.match(
      s.reason,
      /^bob@corp\.example ran StartProgramInGuest on VM app01 on host esx02\.corp\.example/,
    );
    assert.match(s.reason, /not among the policy's accounts/);
  });

  it("ng: reports a listed account used from outside its allowed sources", () => {
    const from = (sourceIp: string) =>
      op({
        time: "2026-03-12T01:00:00Z",
        principal: "CORP\\svc-veeam",
        vm: "db01",
        via: "vcenter",
        sourceIp,
      });
    assert.equal(run([from("10.10.2.40")], only).alerts.length, 0);
    const [s] = signalsOf(run([from("10.10.66.6")], only), "unexpected-account");
    assert.ok(s);
    assert.match(s.reason, /from 10\.10\.66\.6, outside the account's allowed sources/);
  });

  it("treats vpxuser as an account like any other (not listed: unexpected)", () => {
    const r = run([op({ time: TUE, principal: "vpxuser", via: "direct", vm: "app01" })], only);
    assert.equal(signalsOf(r, "unexpected-account").length, 1);
  });

  it("does not run on unattributed or ambiguous operations", () => {
    const r = run(
      [
        op({ time: TUE, vm: "app01" }),
        op({ time: TUE, vm: "app01", level: "ambiguous", candidates: ["CORP\\x", "CORP\\y"] }),
      ],
      only,
    );
    assert.equal(r.alerts.length, 0);
  });

  it("does not run without a policy file, and says why", () => {
    const r = run([op({ time: TUE, principal: "bob@corp.example", vm: "app01" })], {
      ...only,
      policy: defaultPolicy(),
    });
    assert.equal(r.alerts.length, 0);
    assert.deepEqual(r.disabled, [
      { rule: "unexpected-account", why: "needs a policy file (--policy)" },
    ]);
  });
});

describe("unexpected-account and vCenter's own account", () => {
  it("does not judge vpxuser acting through vCenter for an unnamed end user", () => {
    const r = run(
      [
        op({
          time: TUE,
          principal: "vpxuser:<no user>",
          level: "exact",
          via: "vcenter",
          vm: "app01",
        }),
      ],
      only,
    );
    assert.equal(r.alerts.length, 0);
  });
});

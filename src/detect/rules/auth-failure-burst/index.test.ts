import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { run, signalsOf } from "../../../../test/helpers/detect.js";
import { op, plus } from "../../../../test/helpers/operations.js";
import { defaultPolicy } from "../../../policy/load.js";
import { authFailureBurst, bursts, isAuthFailure } from "./index.js";

const only = { rules: [authFailureBurst] };
const T0 = "2026-03-11T15:40:00Z";

const failure = (seconds: number, principal?: string, vm = "db01") =>
  op({
    time: plus(T0, seconds),
    vm,
    kinds: ["vc.auth-failure"],
    outcome: "failure",
    ...(principal ? { principal } : {}),
  });

describe("auth-failure-burst", () => {
  it("recognises vCenter auth-failure events and guest-login faults, not other failures", () => {
    assert.equal(isAuthFailure(failure(0)), true);
    assert.equal(isAuthFailure(op({ time: T0, fault: "vim.fault.InvalidGuestLogin" })), true);
    assert.equal(isAuthFailure(op({ time: T0, fault: "vmodl.fault.SystemError" })), false);
  });

  it("ng: five failures by one account within ten minutes", () => {
    const r = run(
      [0, 31, 58, 95, 205].map((s) => failure(s, "CORP\\jsmith")),
      only,
    );
    const signals = signalsOf(r, "auth-failure-burst");
    assert.equal(signals.length, 1);
    assert.equal(signals[0]?.operations.length, 5);
    assert.match(
      signals[0]?.reason ?? "",
      /^5 guest authentication failures by CORP\\jsmith within 10 minutes \(threshold 5\), Wed 2026-03-11 16:40 Europe\/Paris \(UTC\+01:00\) to 16:43, on VM db01/,
    );
    assert.equal(r.alerts.length, 1);
  });

  it("ok: four failures, or five spread over more than ten minutes", () => {
    assert.equal(
      run(
        [0, 30, 60, 90].map((s) => failure(s, "CORP\\jsmith")),
        only,
      ).alerts.length,
      0,
    );
    assert.equal(
      run(
        [0, 200, 400, 601, 800].map((s) => failure(s, "CORP\\jsmith")),
        only,
      ).alerts.length,
      0,
    );
  });

  it("ng: failures on one VM by several principals, unattributed ones included", () => {
    const r = run(
      [
        failure(0, "CORP\\a"),
        failure(20, "CORP\\b"),
        failure(40),
        failure(60),
        failure(80, "CORP\\c"),
      ],
      only,
    );
    const [s] = signalsOf(r, "auth-failure-burst");
    assert.ok(s);
    assert.match(s.reason, /5 guest authentication failures on VM db01 .* by 4 principals/);
  });

  it("follows the policy's threshold and window", () => {
    const r = run(
      [0, 10, 20].map((s) => failure(s, "CORP\\jsmith")),
      {
        ...only,
        policy: {
          ...defaultPolicy(),
          rules: new Map([
            ["auth-failure-burst", { enabled: true, options: { threshold: 3, window: "1m" } }],
          ]),
        },
      },
    );
    assert.equal(signalsOf(r, "auth-failure-burst").length, 1);
  });

  it("bursts(): marks every failure lying in a full window, and splits separate runs", () => {
    const ops = [0, 1, 2, 100, 200, 201, 202].map((s) => failure(s));
    const runs = bursts(ops, 3, 10_000);
    assert.deepEqual(
      runs.map((r) => r.length),
      [3, 3],
    );
  });
});

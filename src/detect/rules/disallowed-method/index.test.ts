import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { run, signalsOf } from "../../../../test/helpers/detect.js";
import { op } from "../../../../test/helpers/operations.js";
import { disallowedMethod } from "./index.js";

const only = { rules: [disallowedMethod] };
const WED = "2026-03-11T13:00:00Z";

describe("disallowed-method", () => {
  it("ok: a monitoring account listing processes", () => {
    const r = run(
      [op({ time: WED, principal: "CORP\\svc-aria", vm: "app01", method: "ListProcessesInGuest" })],
      only,
    );
    assert.equal(r.alerts.length, 0);
  });

  it("ng: a monitoring account listing files and starting a program", () => {
    const r = run(
      [
        op({ time: WED, principal: "CORP\\svc-aria", vm: "app01", method: "ListFilesInGuest" }),
        op({
          time: "2026-03-11T13:00:03Z",
          principal: "CORP\\svc-aria",
          vm: "app01",
          method: "StartProgramInGuest",
        }),
      ],
      only,
    );
    const signals = signalsOf(r, "disallowed-method");
    assert.equal(signals.length, 2);
    assert.match(
      signals[0]?.reason ?? "",
      /CORP\\svc-aria \(role monitoring\) ran ListFilesInGuest on VM app01, a method outside its allowed set/,
    );
    assert.match(signals[1]?.reason ?? "", /StartProgramInGuest/);
    assert.equal(r.alerts.length, 1);
    assert.equal(r.alerts[0]?.severity, "medium"); // one rule: no bump
  });

  it("ng: anyone pulling files out of a critical VM, unattributed too", () => {
    const r = run(
      [
        op({
          time: WED,
          vm: "dc01",
          method: "InitiateFileTransferFromGuest",
          guestPath: "C:\\Windows\\Temp\\ntds.zip",
        }),
      ],
      only,
    );
    const [s] = signalsOf(r, "disallowed-method");
    assert.ok(s);
    assert.equal(s.severity, "high");
    assert.ok(s.attack.includes("T1005"));
    assert.match(
      s.reason,
      /files pulled out of VM dc01, a VM of the critical tier, by an unattributed principal with InitiateFileTransferFromGuest \(guest path C:\\Windows\\Temp\\ntds\.zip\)/,
    );
  });

  it("ok: the backup account pulling its log from a critical VM inside its hours", () => {
    const r = run(
      [
        op({
          time: "2026-03-12T01:08:59Z",
          principal: "CORP\\svc-veeam",
          vm: "dc01",
          method: "InitiateFileTransferFromGuest",
        }),
      ],
      only,
    );
    assert.equal(r.alerts.length, 0);
  });

  it("ng: the same pull outside the backup account's hours", () => {
    const r = run(
      [
        op({
          time: "2026-03-12T13:08:59Z",
          principal: "CORP\\svc-veeam",
          vm: "dc01",
          method: "InitiateFileTransferFromGuest",
        }),
      ],
      only,
    );
    assert.match(signalsOf(r, "disallowed-method")[0]?.reason ?? "", /outside the allowed hours/);
  });
});

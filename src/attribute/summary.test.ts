import { describe, it } from "node:test";
import assert from "node:assert/strict";
import { correlate } from "./correlate.js";
import { summarise, gapOf, unnamedVmReason } from "./summary.js";
import type { Operation } from "../model/operation.js";
import { op } from "../../test/helpers/operations.js";
import {
  artefactsHostd,
  artefactsVmx,
  kb416771,
  obs,
  source,
  vic3029,
} from "./fixtures/records.js";

describe("summarise", () => {
  it("reports hostd-only coverage as zero and says what to collect", () => {
    const s = summarise(correlate(artefactsHostd()));
    assert.equal(s.operations, 6);
    assert.equal(s.coverage, 0);
    assert.equal(s.levels.exact + s.levels.correlated, 0);
    assert.equal(s.perHost.length, 1);
    assert.equal(s.perHost[0]?.host, "(no host name: artefacts-help-esxi8-hostd.log)");
    assert.deepEqual(s.perHost[0]?.sources, ["hostd"]);
    assert.equal(s.explanations.length, 1);
    assert.match(
      s.explanations[0] ?? "",
      /^\(no host name: artefacts-help-esxi8-hostd\.log\): 6 of 6 operations: host logs only \(hostd\), no vCenter events/,
    );
    assert.match(s.explanations[0] ?? "", /forward vCenter events/);
    assert.match(s.explanations[0] ?? "", /auditRecord\.remoteEnable/);
  });

  it("computes coverage and shares per level", () => {
    const s = summarise(correlate(vic3029()));
    assert.equal(s.operations, 2);
    assert.equal(s.coverage, 1);
    assert.equal(s.shares.exact, 1);
    assert.equal(s.explanations.length, 0);
  });

  it("counts operations without time", () => {
    const s = summarise(correlate(kb416771()));
    assert.equal(s.withoutTime, 1);
    assert.match(s.explanations[0] ?? "", /vpxd\.log has the call but not who made it/);
  });

  it("keeps burst records apart from operations", () => {
    const src = source("stream.log");
    const r = correlate([
      ...artefactsVmx(),
      obs(src, "vc.burst", {
        time: "2024-06-04T22:00:00.000Z",
        vcenter: "vc01",
        vm: { name: "web", moref: "vm-42" },
        user: "CORP\\svc-poll",
        count: 57,
        detail: "compressed",
        eventKey: "900105",
      }),
    ]);
    const s = summarise(r);
    assert.equal(s.operations, 8);
    assert.deepEqual(s.hidden, { records: 1, operations: 57 });
    const burst = r.operations.find((o) => o.hidden);
    assert.equal(burst?.api, "unknown");
    assert.equal(burst?.hidden?.count, 57);
    assert.equal(burst?.attribution.principal?.id, "corp\\svc-poll");
  });

  it("explains a vmware.log-only operation", () => {
    const op = correlate(artefactsVmx()).operations[0];
    assert.ok(op);
    assert.equal(gapOf(op)?.reason, "vmware.log only");
  });
});

describe("VMs without a name", () => {
  it("says why a VM has no display name and what would give it, counted per reason", () => {
    const named = op({ time: "2026-03-11T10:00:00Z", vm: "db01", kinds: ["hostd.event"] });
    const vmxOnly: Operation = {
      ...named,
      id: "b",
      vm: { vmx: "/vmfs/volumes/ds1/db02/db02.vmx", dir: "/vmfs/volumes/ds1/db02" },
    };
    const bare: Operation = { ...named, id: "c", vm: {} };
    const s = summarise([named, vmxOnly, bare, { ...bare, id: "d" }]);
    assert.deepEqual(
      s.unnamedVms?.map((u) => u.operations),
      [2, 1],
    );
    assert.match(s.unnamedVms?.[1]?.reason ?? "", /\.vmx path/);
    assert.equal(summarise([named]).unnamedVms, undefined);
    assert.equal(unnamedVmReason(named), undefined);
  });
});

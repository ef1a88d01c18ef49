/**
 * A failed guest call in vpxd.log (`[VpxLRO] -- ERROR` with its dump) is one operation, joined
 * like a BEGIN/FINISH LRO: with its BEGIN and FINISH by the LRO key, and, without them, with the
 * host-side record of its opID family. The operation carries the failure, the fault, the guest
 * program and the VM moref.
 */
import assert from "node:assert/strict";
import { copyFileSync, mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, it } from "node:test";
import { fileURLToPath } from "node:url";
import { attributeInputs } from "../src/pipeline.js";

const FIXTURE = fileURLToPath(
  new URL("../src/ingest/readers/vpxd/fixtures/vpxd-lro-error.log", import.meta.url),
);

describe("a failed guest LRO in vpxd.log", () => {
  it("is one operation per call, with its failure, fault, guest detail and VM", async () => {
    const d = mkdtempSync(join(tmpdir(), "guestops-lro-error-"));
    copyFileSync(FIXTURE, join(d, "vpxd.log"));
    // the host side of lro-900020 (whose BEGIN is not in vpxd.log): same opID family
    writeFileSync(
      join(d, "hostd.log"),
      "2024-03-05T10:10:02.990Z info hostd[7BD44B70] [Originator@6876 sub=Vmsvc.vm:/vmfs/volumes/ds1/dc01/dc01.vmx opID=7c0de111-02-5a-01 user=vpxuser:CORP\\svc-backup] State Transition (VM_STATE_ON -> VM_STATE_GUEST_OPERATION)\n",
    );
    const { correlated } = await attributeInputs({ paths: [d] });
    const ops = correlated.operations;
    const summary = ops.map((o) => ({
      api: o.api,
      outcome: o.outcome,
      kinds: o.observations.map((x) => x.kind).sort(),
    }));
    assert.deepEqual(summary, [
      {
        api: "StartProgramInGuest",
        outcome: "failure",
        kinds: ["vpxd.lro", "vpxd.lro-end", "vpxd.lro-error"],
      },
      {
        api: "InitiateFileTransferFromGuest",
        outcome: "failure",
        kinds: ["hostd.state", "vpxd.lro-error"],
      },
      { api: "DeleteFileInGuest", outcome: "failure", kinds: ["vpxd.lro-error"] },
    ]);
    const [start, pull] = ops;
    assert.equal(start?.guest?.program, "C:\\Windows\\System32\\cmd.exe");
    assert.equal(start?.vm.moref, "vm-1042");
    assert.equal(start?.session, "526861fc-0c28-1930-ae5e-d8c2772bf8c2");
    assert.equal(start?.opId, "9a1f00c2-01");
    assert.equal(pull?.guest?.path, "C:\\Windows\\NTDS\\ntds.dit");
    assert.ok(pull?.observations.some((o) => o.fault === "vim.fault.FileNotFound"));
  });
});

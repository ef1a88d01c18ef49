import { describe, it } from "node:test";
import assert from "node:assert/strict";
import { correlate } from "./correlate.js";
import { artefactsHostd, artefactsVmx, kb416771, source, vic3029 } from "./fixtures/records.js";
import type { CanonicalRecord } from "../model/record.js";

const apis = (r: ReturnType<typeof correlate>) => r.operations.map((o) => o.api);

/** Deterministic shuffle (fixed seed) so "any order" is tested without flakiness. */
function shuffled<T>(list: readonly T[], seed: number): T[] {
  const out = [...list];
  let s = seed;
  for (let i = out.length - 1; i > 0; i--) {
    s = (s * 1103515245 + 12345) & 0x7fffffff;
    const j = s % (i + 1);
    [out[i], out[j]] = [out[j] as T, out[i] as T];
  }
  return out;
}

describe("correlate: records modelled on the real samples", () => {
  it("ESXi 8 hostd alone: 6 operations, none exact or correlated, at most inferred root", () => {
    const r = correlate(artefactsHostd());
    assert.deepEqual(apis(r), [
      "InitiateFileTransferToGuest",
      "InitiateFileTransferFromGuest",
      "CreateTemporaryFileInGuest",
      "StartProgramInGuest",
      "InitiateFileTransferFromGuest",
      "DeleteFileInGuest",
    ]);
    for (const op of r.operations) {
      assert.ok(["inferred", "unknown"].includes(op.attribution.level), op.attribution.level);
      if (op.attribution.principal) assert.equal(op.attribution.principal.id, "root");
    }
    // three carry a guest path, attached to the transfer they follow
    const withPath = r.operations.filter((o) => o.guest?.path);
    assert.deepEqual(
      withPath.map((o) => [o.api, o.guest?.path]),
      [
        ["InitiateFileTransferToGuest", "<DESTINATION_FULL_PATH>"],
        ["InitiateFileTransferFromGuest", "<SOURCE_FULL_PATH>"],
        [
          "InitiateFileTransferFromGuest",
          "C:\\Users\\vagrant\\AppData\\Local\\Temp\\powerclivmware151",
        ],
      ],
    );
    assert.equal(r.unattached.length, 0);
  });

  it("infers root from the PowerCLI session, which is the only account with a session open", () => {
    const r = correlate(artefactsHostd());
    const first = r.operations[0];
    assert.equal(first?.attribution.level, "inferred");
    assert.equal(first?.attribution.principal?.id, "root");
    assert.match(first?.attribution.reason ?? "", /only root had a session open/);
    assert.equal(first?.origin.basis, "inferred");
  });

  it("vmware.log alone: 8 operations, each with its opID, none attributed", () => {
    const r = correlate(artefactsVmx());
    assert.equal(r.operations.length, 8);
    assert.deepEqual(
      r.operations.map((o) => o.opId),
      [
        "c4c964e7",
        "c4c9713c",
        "c4c97156",
        "c4c97157",
        "c4c97158",
        "c4c9715a",
        "c4c9715b",
        "c4c9715e",
      ],
    );
    for (const op of r.operations) {
      assert.equal(op.observations.length, 2, "request and response");
      assert.equal(op.attribution.level, "unknown");
    }
  });

  it("both together: 8 operations; the 6 hostd events merge, the upload's 23 s after its request", () => {
    const r = correlate([...artefactsHostd(), ...artefactsVmx()]);
    assert.equal(r.operations.length, 8);
    const withEvent = r.operations.filter((o) =>
      o.observations.some((x) => x.kind === "hostd.event"),
    );
    assert.equal(withEvent.length, 6);
    const upload = r.operations[0];
    assert.equal(upload?.api, "InitiateFileTransferToGuest");
    assert.equal(upload?.time, "2024-06-03T22:45:46.667Z");
    assert.equal(upload?.end, "2024-06-03T22:46:09.969Z");
    assert.deepEqual(
      upload?.observations.map((o) => o.kind),
      ["vmx.request", "vmx.response", "hostd.event", "hostd.file-path"],
    );
    assert.equal(upload?.guest?.path, "<DESTINATION_FULL_PATH>");
    // the two ListProcesses have no hostd event
    const lists = r.operations.filter((o) => o.api === "ListProcessesInGuest");
    assert.equal(lists.length, 2);
    for (const l of lists) assert.ok(!l.observations.some((x) => x.kind === "hostd.event"));
    for (const op of r.operations) {
      assert.ok(!["exact", "correlated"].includes(op.attribution.level));
      if (op.attribution.principal) assert.equal(op.attribution.principal.id, "root");
    }
  });

  it("gives the same operations whatever the order of the records", () => {
    const records: CanonicalRecord[] = [...artefactsHostd(), ...artefactsVmx()];
    const reference = JSON.stringify(
      correlate(records).operations.map((o) => [o.id, o.api, o.observations.length]),
    );
    for (const seed of [1, 7, 42, 1234]) {
      const got = JSON.stringify(
        correlate(shuffled(records, seed)).operations.map((o) => [
          o.id,
          o.api,
          o.observations.length,
        ]),
      );
      assert.equal(got, reference, `seed ${seed}`);
    }
  });

  it("ESXi 6.5 vic #3029: 2 operations, principal root exact; the first is Start Program with its dump", () => {
    const r = correlate(vic3029());
    assert.equal(r.operations.length, 2);
    const [first, second] = r.operations;
    assert.equal(first?.api, "StartProgramInGuest");
    assert.equal(first?.opId, "ee13d46d");
    assert.equal(first?.attribution.level, "exact");
    assert.equal(first?.attribution.principal?.id, "root");
    assert.equal(first?.guest?.program, "kill");
    assert.equal(first?.guest?.arguments, "USR1");
    assert.equal(first?.outcome, "failure");
    assert.ok(first?.observations.some((o) => o.fault === "vmodl.fault.SystemError"));
    assert.equal(first?.origin.via, "direct");
    assert.equal(second?.opId, "ee13d483");
    assert.equal(second?.api, "unknown");
    assert.equal(second?.attribution.level, "exact");
    assert.equal(second?.attribution.principal?.id, "root");
    assert.equal(first?.vm.vmx?.endsWith(".vmx"), true);
  });

  it("KB 416771: one operation without a time, noted, not crashing", () => {
    const r = correlate(kb416771());
    assert.equal(r.operations.length, 1);
    const [op] = r.operations;
    assert.equal(op?.time, undefined);
    assert.equal(op?.api, "InitiateFileTransferFromGuest");
    assert.equal(op?.origin.via, "vcenter");
    assert.ok(op?.notes?.some((n) => n.startsWith("no time")));
  });

  it("yields nothing from sessions alone", () => {
    const r = correlate(artefactsHostd().filter((x) => x.type === "session"));
    assert.equal(r.operations.length, 0);
    assert.equal(r.sessions.sessions, 2);
  });

  it("reads the same file twice without counting anything twice", () => {
    const a = artefactsVmx(source("vmware.log"));
    const r = correlate([...a, ...a]);
    assert.equal(r.operations.length, 8);
    assert.equal(r.observations.duplicates, 16);
  });

  it("derives ids from the input's hash, not from how its path was written", () => {
    const a = source("./logs/vmware.log");
    const b = source("/abs/path/logs/vmware.log");
    const ids = (src: typeof a) => {
      const records = artefactsVmx(src);
      src.sha256 = "f4c61343c24a5f1438a761f5b92fb04f974edc0f81c7f3620a2a3ca36de251f9";
      return correlate(records).operations.map((o) => o.id);
    };
    const first = ids(a);
    assert.deepEqual(ids(b), first);
    assert.equal(new Set(first).size, 8);
  });
});

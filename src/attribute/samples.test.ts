/**
 * Attribution on the real public samples, read in place (../shared/samples/real) through the
 * input layer (format detection and readers, as `guestops events` reads them): EXPECTED.md rows.
 */
import { describe, it } from "node:test";
import assert from "node:assert/strict";
import { readdirSync } from "node:fs";
import { join } from "node:path";
import { readInputs } from "../ingest/read.js";
import type { CanonicalRecord } from "../model/record.js";
import { REAL_SAMPLES, realSamplesSkip } from "../../test/helpers/reader-harness.js";
import { correlate } from "./correlate.js";
import { summarise } from "./summary.js";

const skip = realSamplesSkip();

interface Read {
  readonly records: CanonicalRecord[];
  readonly issues: ReadonlySet<string>;
}

/** Reads real samples through the input layer (detection, readers), as `guestops events` does. */
async function read(...names: string[]): Promise<Read> {
  const records: CanonicalRecord[] = [];
  const summary = await readInputs(
    names.map((n) => join(REAL_SAMPLES, n)),
    {},
    { record: (r) => void records.push(r) },
  );
  return {
    records,
    issues: new Set(
      Object.keys(summary.totals.issues).filter(
        (k) => summary.totals.issues[k as keyof typeof summary.totals.issues],
      ),
    ),
  };
}

async function records(...names: string[]): Promise<CanonicalRecord[]> {
  return (await read(...names)).records;
}

const HOSTD8 = "artefacts-help-esxi8-hostd.log";
const VMX8 = "artefacts-help-esxi8-vm-vmware-log.log";

describe("attribution on the real samples (EXPECTED.md)", { skip }, () => {
  it(`${HOSTD8} alone: 6 operations, none exact or correlated, at most inferred root`, async () => {
    const r = correlate(await records(HOSTD8));
    assert.deepEqual(
      r.operations.map((o) => o.observations.find((x) => x.kind === "hostd.event")?.eventKey),
      ["229", "243", "245", "246", "249", "250"],
    );
    for (const op of r.operations) {
      assert.ok(["inferred", "unknown"].includes(op.attribution.level));
      if (op.attribution.principal) assert.equal(op.attribution.principal.id, "root");
    }
    assert.equal(r.operations.filter((o) => o.guest?.path).length, 3);
    const s = summarise(r);
    assert.equal(s.coverage, 0);
    assert.match(s.explanations.join("\n"), /forward vCenter events/);
  });

  it(`${VMX8} alone: 8 operations with their opIDs`, async () => {
    const r = correlate(await records(VMX8));
    assert.equal(r.operations.length, 8);
    assert.ok(r.operations.every((o) => o.opId && o.observations.length === 2));
  });

  it("both artefacts files together: 8 operations, the 6 hostd events merged", async () => {
    for (const order of [
      [HOSTD8, VMX8],
      [VMX8, HOSTD8],
    ]) {
      const r = correlate(await records(...order));
      assert.equal(r.operations.length, 8, order.join(" + "));
      const merged = r.operations.filter(
        (o) =>
          o.observations.some((x) => x.kind === "hostd.event") &&
          o.observations.some((x) => x.kind === "vmx.request"),
      );
      assert.equal(merged.length, 6);
      const upload = r.operations[0];
      assert.equal(upload?.time, "2024-06-03T22:45:46.667Z");
      assert.equal(
        upload?.observations.find((x) => x.kind === "hostd.event")?.time,
        "2024-06-03T22:46:09.892Z",
      );
      for (const op of r.operations) {
        assert.ok(!["exact", "correlated"].includes(op.attribution.level));
        if (op.attribution.principal) assert.equal(op.attribution.principal.id, "root");
      }
    }
  });

  it("th1ru-m vmware.log: 6 operations", async () => {
    const r = correlate(await records("th1ru-m-blog-esxi-vm-vmware-log-guestops-transcribed.log"));
    assert.deepEqual(
      r.operations.map((o) => o.api),
      [
        "CreateTemporaryFileInGuest",
        "StartProgramInGuest",
        "ListProcessesInGuest",
        "ListProcessesInGuest",
        "InitiateFileTransferFromGuest",
        "DeleteFileInGuest",
      ],
    );
  });

  it("vic #3029 (ESXi 6.5): 2 operations, root exact; Start Program with kill USR1 and SystemError", async () => {
    const r = correlate(await records("vmware-vic-issue-3029-hostd-esxi65-guestops.log"));
    assert.equal(r.operations.length, 2);
    const [first, second] = r.operations;
    for (const op of [first, second]) {
      assert.equal(op?.attribution.level, "exact");
      assert.equal(op?.attribution.principal?.id, "root");
    }
    assert.equal(first?.opId, "ee13d46d");
    assert.equal(first?.api, "StartProgramInGuest");
    assert.equal(first?.observations.find((o) => o.kind === "hostd.event")?.eventKey, "108657");
    const state = Date.parse(first?.observations.find((o) => o.kind === "hostd.state")?.time ?? "");
    const event = Date.parse(first?.observations.find((o) => o.kind === "hostd.event")?.time ?? "");
    assert.equal(event - state, 41);
    assert.equal(first?.guest?.program, "kill");
    assert.equal(first?.guest?.arguments, "USR1");
    assert.equal(first?.outcome, "failure");
    assert.ok(first?.observations.some((o) => o.fault === "vmodl.fault.SystemError"));
    assert.equal(second?.opId, "ee13d483");
  });

  it("vic #6199: 0 operations (a state, not an operation)", async () => {
    const r = correlate(await records("vmware-vic-issue-6199-hostd-guest-operation-state.log"));
    assert.equal(r.operations.length, 0);
  });

  it("KB 416771: 1 operation, its missing time reported as an issue", async () => {
    const rec = await read("broadcom-kb-416771-vpxd-lro-initiatefiletransferfromguest.log");
    assert.ok(rec.issues.has("missing_time"));
    const r = correlate(rec.records);
    assert.equal(r.operations.length, 1);
    assert.equal(r.operations[0]?.time, undefined);
    assert.equal(summarise(r).withoutTime, 1);
  });

  it("elastic format-common: 0 operations (sessions only)", async () => {
    const rec = await read("elastic-integrations-vsphere-test-format-common.log");
    assert.ok(rec.records.some((r) => r.type === "session"));
    assert.equal(correlate(rec.records).operations.length, 0);
  });

  it("every other sample yields 0 operations", async () => {
    const counted = new Set([
      HOSTD8,
      VMX8,
      "th1ru-m-blog-esxi-vm-vmware-log-guestops-transcribed.log",
      "vmware-vic-issue-3029-hostd-esxi65-guestops.log",
      "broadcom-kb-416771-vpxd-lro-initiatefiletransferfromguest.log",
    ]);
    for (const name of readdirSync(REAL_SAMPLES).sort()) {
      if (counted.has(name)) continue;
      const r = correlate(await records(name));
      assert.equal(r.operations.length, 0, name);
    }
  });
});

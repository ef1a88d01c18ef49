import assert from "node:assert/strict";
import { describe, it } from "node:test";
import {
  fixtures,
  readLines,
  readRealSample,
  readRouted,
  realSamplesSkip,
  source,
} from "../../../../test/helpers/reader-harness.js";
import { vmDirFromSource, vmxReader } from "./index.js";

const fixture = fixtures(import.meta.url).text;

const skipReal = realSamplesSkip();

describe("vmx reader: ESXi 8 layout", () => {
  const rec = readLines(vmxReader, fixture("esxi8-vmware.log"));
  const obs = rec.observations();

  it("emits one record per GuestOps request and response, skipping console traffic", () => {
    assert.deepEqual(
      obs.map((o) => [o.kind, o.opId, o.seq]),
      [
        ["vmx.request", "7b30e001", 200],
        ["vmx.response", "7b30e001", 200],
        ["vmx.request", "7b30e002", 206],
        ["vmx.response", "7b30e002", 206],
        ["vmx.request", "7b30e003", 212],
        ["vmx.response", "7b30e003", 212],
        ["vmx.request", "7b30e005", 224],
      ],
    );
  });

  it("maps the vmware.log name to the canonical API and keeps the spelling", () => {
    const start = obs[0];
    assert.equal(start?.method, "GuestOps.StartProgram");
    assert.equal(start?.api, "StartProgramInGuest");
    assert.equal(start?.time, "2024-09-02T09:20:10.500Z");
    assert.equal(start?.thread, "vmx");
    assert.equal(start?.process, "vmx");
    assert.equal(start?.evidence, "verbatim");
    assert.equal(start?.outcome, undefined);
  });

  it("names the method of a bare `Completed GuestOps request` from its request", () => {
    const resp = obs[1];
    assert.equal(resp?.method, "GuestOps.StartProgram");
    assert.equal(resp?.api, "StartProgramInGuest");
    assert.equal(resp?.outcome, "success");
    assert.equal(resp?.detail, "with messages");
    assert.equal(resp?.durationUs, undefined);
    assert.equal(resp?.thread, "vcpu-1");
  });

  it("reads the duration of the long response form", () => {
    const resp = obs[3];
    assert.equal(resp?.method, "GuestOps.ListFiles");
    assert.equal(resp?.api, "ListFilesInGuest");
    assert.equal(resp?.durationUs, 14021);
    assert.equal(resp?.detail, undefined);
  });

  it("takes the VM from the CONFIGURATION dump only, and the host from the header", () => {
    for (const o of obs) {
      assert.deepEqual(o.vm, {
        name: "web 01 (prod)",
        vmx: "/vmfs/volumes/6531a0b2-5c7e1d20-0000-000000000000/web01/web01.vmx",
        dir: "/vmfs/volumes/6531a0b2-5c7e1d20-0000-000000000000/web01",
      });
      assert.equal(o.host, "esx-lab-01.example.invalid");
    }
  });

  it("keeps an unknown GuestOps name as written, without an API, and reports it", () => {
    const odd = obs[4];
    assert.equal(odd?.method, "GuestOps.FrobnicateWidget");
    assert.equal(odd?.api, undefined);
    const issue = rec.issues.find((i) => i.code === "unknown_method");
    assert.equal(issue?.line, 17);
  });

  it("reports a garbled Vigor line and an impossible timestamp, and keeps reading", () => {
    const unparsed = rec.issues.filter((i) => i.code === "unparsed_line");
    assert.deepEqual(
      unparsed.map((i) => i.line),
      [19],
    );
    const bad = rec.issues.filter((i) => i.code === "bad_time");
    assert.deepEqual(
      bad.map((i) => i.line),
      [20],
    );
    const last = obs[6];
    assert.equal(last?.time, undefined);
    assert.equal(last?.api, "DeleteFileInGuest");
  });

  it("keeps the raw line byte-exact in provenance", () => {
    const lines = fixture("esxi8-vmware.log").split("\n");
    for (const o of obs) assert.equal(o.prov.raw, lines[o.prov.line - 1]);
  });
});

describe("vmx reader: older `|` layout", () => {
  const rec = readLines(vmxReader, fixture("esxi6-vmware.log"));
  const obs = rec.observations();

  it("reads requests and responses with their VM and host", () => {
    assert.equal(obs.length, 2);
    assert.equal(obs[0]?.kind, "vmx.request");
    assert.equal(obs[0]?.api, "ListProcessesInGuest");
    assert.equal(obs[0]?.time, "2017-10-17T14:30:00.000Z");
    assert.equal(obs[1]?.durationUs, 40122);
    assert.equal(obs[1]?.detail, "with messages");
    assert.equal(obs[1]?.thread, "vcpu-0");
    assert.deepEqual(obs[0]?.vm, { name: "legacy-db" });
    assert.equal(obs[0]?.host, "esx65.example.invalid");
    assert.deepEqual(rec.issues, []);
  });
});

describe("vmx reader: VM identity from the input's location", () => {
  const line =
    "2024-06-04T21:58:00.929Z In(05) vmx - VigorTransportProcessClientPayload: opID=c4c97157 seq=3936: Receiving GuestOps.StartProgram request.\n";

  it("takes the VM directory from a support-bundle member path and the host from the hint", () => {
    const src = source("esx-01-2024.tgz", {
      member: "vmfs/volumes/datastore1/Server-2016/vmware-2.log",
      hostHint: "esx-01",
    });
    const [o] = readLines(vmxReader, line, src).observations();
    assert.deepEqual(o?.vm, { name: "Server-2016", dir: "/vmfs/volumes/datastore1/Server-2016" });
    assert.equal(o?.host, "esx-01");
  });

  it("names no VM when the path says nothing about one", () => {
    const [o] = readLines(vmxReader, line, source("cases/case-7/vmware.log")).observations();
    assert.equal(o?.vm, undefined);
    assert.equal(
      vmDirFromSource(source("C:\\x\\vmfs\\volumes\\ds\\vm1\\vmware.log")),
      "/vmfs/volumes/ds/vm1",
    );
  });

  it("uses the envelope's time and host when a router hands a line over", () => {
    const body =
      "VigorTransportProcessClientPayload: opID=1 seq=2: Receiving GuestOps.StartProgram request.";
    const rec = readRouted(vmxReader, [
      [body, 5, { body, host: "esx-09", time: "2024-01-01T00:00:00.000Z", line: `<166>x ${body}` }],
    ]);
    const [o] = rec.observations();
    assert.equal(o?.host, "esx-09");
    assert.equal(o?.time, "2024-01-01T00:00:00.000Z");
    assert.equal(o?.prov.raw, `<166>x ${body}`);
  });
});

describe("vmx reader: detection", () => {
  it("recognises both layouts and rejects hostd", () => {
    assert.ok(vmxReader.sniff(fixture("esxi8-vmware.log").split("\n")) > 0.8);
    assert.ok(vmxReader.sniff(fixture("esxi6-vmware.log").split("\n")) > 0.8);
    assert.equal(
      vmxReader.sniff([
        "2024-06-04T21:58:00.975Z In(166) Hostd[1050232]: [Originator@6876 sub=Vimsvc.ha-eventmgr] Event 246 : Guest operation Start Program performed on Virtual machine x.",
      ]),
      0,
    );
  });
});

describe("vmx reader: real samples", { skip: skipReal }, () => {
  it("artefacts.help ESXi 8 vmware.log: 8 requests, each with an opID", () => {
    const rec = readLines(vmxReader, readRealSample("artefacts-help-esxi8-vm-vmware-log.log"));
    const req = rec.observations().filter((o) => o.kind === "vmx.request");
    assert.deepEqual(
      req.map((o) => o.api),
      [
        "InitiateFileTransferToGuest",
        "InitiateFileTransferFromGuest",
        "CreateTemporaryFileInGuest",
        "StartProgramInGuest",
        "ListProcessesInGuest",
        "ListProcessesInGuest",
        "InitiateFileTransferFromGuest",
        "DeleteFileInGuest",
      ],
    );
    assert.ok(req.every((o) => typeof o.opId === "string" && o.opId.length > 0));
    const resp = rec.observations().filter((o) => o.kind === "vmx.response");
    assert.equal(resp.length, 8);
    assert.ok(resp.every((o, i) => o.opId === req[i]?.opId && o.seq === req[i]?.seq));
    assert.deepEqual(rec.issues, []);
  });

  it("th1ru-m vmware.log: 6 requests and the `Completed GuestOps.<Op> ... in N US` variant", () => {
    const rec = readLines(
      vmxReader,
      readRealSample("th1ru-m-blog-esxi-vm-vmware-log-guestops-transcribed.log"),
    );
    const req = rec.observations().filter((o) => o.kind === "vmx.request");
    assert.deepEqual(
      req.map((o) => o.api),
      [
        "CreateTemporaryFileInGuest",
        "StartProgramInGuest",
        "ListProcessesInGuest",
        "ListProcessesInGuest",
        "InitiateFileTransferFromGuest",
        "DeleteFileInGuest",
      ],
    );
    const resp = rec.observations().filter((o) => o.kind === "vmx.response");
    assert.deepEqual(
      resp.map((o) => o.durationUs),
      [125369, 30599, 13047, 77442, 13424, 14383],
    );
    assert.equal(resp[5]?.detail, undefined);
    assert.deepEqual(rec.issues, []);
  });

  it("lnav vmw_log test file: nothing, no crash", () => {
    const rec = readLines(vmxReader, readRealSample("lnav-test-logfile_vmw_log.0.log"));
    assert.equal(rec.records.length, 0);
  });
});

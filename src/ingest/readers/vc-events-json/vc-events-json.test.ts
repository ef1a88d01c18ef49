import assert from "node:assert/strict";
import { describe, it } from "node:test";
import {
  fixtures,
  readDocument,
  readDocumentFile,
  source,
} from "../../../../test/helpers/reader-harness.js";
import { eventTime, morefOf, vcEventsJsonReader } from "./index.js";

const { path, text: fixture } = fixtures(import.meta.url);

describe("vc-events-json reader: govc events -json", () => {
  it("reads indented records, strips govc's `(objectId)` suffix and takes the moref from it", async () => {
    const rec = await readDocumentFile(
      vcEventsJsonReader,
      path("govc-events.json"),
      source("vc01-events.json", { hostHint: "vc01" }),
    );
    const obs = rec.observations();
    assert.equal(obs.length, 2);
    assert.equal(obs[0]?.vcenter, "vc01", "the input's host hint names the vCenter");
    assert.equal(obs[0]?.kind, "vc.event");
    assert.equal(obs[0]?.api, "StartProgramInGuest");
    assert.deepEqual(obs[0]?.vm, { name: "web01", moref: "vm-42" });
    assert.equal(obs[0]?.eventKey, "900102");
    assert.equal(obs[0]?.time, "2024-09-02T09:20:11.050Z");
    assert.equal(obs[0]?.prov.line, 9);
    assert.equal(obs[0]?.prov.lineCount, 8);
    assert.equal(obs[1]?.api, "ListProcessesInGuest");
    assert.equal(obs[1]?.time, "2024-09-02T09:20:12.000Z");
    const [login] = rec.sessions();
    assert.equal(login?.kind, "login");
    assert.equal(login?.userAgent, "govc/0.43.0");
    assert.deepEqual(rec.issues, []);
  });

  it("reads NDJSON; a cut line is one bad_json issue and the next line is still read", async () => {
    const rec = await readDocumentFile(vcEventsJsonReader, path("govc-events.ndjson"));
    assert.deepEqual(
      rec.observations().map((o) => [o.kind, o.api, o.prov.line]),
      [
        ["vc.event", "DeleteFileInGuest", 1],
        ["vc.auth-failure", undefined, 4],
      ],
    );
    assert.deepEqual(rec.observations()[1]?.vm, { name: "db 02", moref: "vm-77" });
    assert.deepEqual(
      rec.issues.map((i) => [i.code, i.line]),
      [["bad_json", 3]],
    );
    assert.deepEqual(rec.skipped, [2]);
  });
});

describe("vc-events-json reader: EventEx objects (vSphere JSON API, camelCase)", async () => {
  const rec = await readDocumentFile(vcEventsJsonReader, path("eventex-api.json"));
  const obs = rec.observations();

  it("takes the operation from the `operationName` argument, the VM moref and the host", () => {
    const ev = obs.find((o) => o.kind === "vc.event");
    assert.equal(ev?.method, "Start Program");
    assert.equal(ev?.api, "StartProgramInGuest");
    assert.deepEqual(ev?.vm, { name: "web01", moref: "vm-42" });
    assert.equal(ev?.host, "esx-lab-01.example.invalid");
    assert.equal(ev?.user, "VSPHERE.LOCAL\\ops-admin");
    assert.equal(ev?.chainId, "900102");
    assert.equal(ev?.evidence, "inferred");
  });

  it("keeps a burst of guest operations with its count, user and VM; ignores other bursts", () => {
    const bursts = obs.filter((o) => o.kind === "vc.burst");
    assert.equal(bursts.length, 1);
    assert.equal(bursts[0]?.count, 57);
    assert.equal(bursts[0]?.detail, "compressed");
    assert.equal(bursts[0]?.user, "VSPHERE.LOCAL\\svc-poll");
    assert.deepEqual(bursts[0]?.vm, { moref: "vm-42" });
    assert.ok(rec.skipped.length === 1);
  });

  it("reads login and logout with session id, IP, user agent and call count", () => {
    const s = rec.sessions();
    assert.deepEqual(
      s.map((x) => [x.kind, x.session, x.sourceIp, x.userAgent]),
      [
        ["login", "52a1b8c9-1a2b-3c4d-5e6f-7a8b9c0d1e2f", "192.0.2.10", "pyvmomi Python/3.11.4"],
        ["logout", "52a1b8c9-1a2b-3c4d-5e6f-7a8b9c0d1e2f", "192.0.2.10", "pyvmomi Python/3.11.4"],
      ],
    );
    assert.equal(s[1]?.apiInvocations, 42);
    assert.deepEqual(rec.issues, []);
  });
});

describe("vc-events-json reader: PowerCLI Get-VIEvent | ConvertTo-Json", () => {
  const check = (rec: Awaited<ReturnType<typeof readDocument>>): void => {
    const obs = rec.observations();
    assert.equal(obs.length, 2);
    const ev = obs[0];
    assert.equal(ev?.kind, "vc.event");
    assert.equal(ev?.api, "InitiateFileTransferToGuest");
    assert.equal(ev?.time, "2024-09-02T09:20:11.051Z");
    assert.deepEqual(ev?.vm, { name: "web01", moref: "vm-42" });
    assert.equal(ev?.host, "esx-lab-01.example.invalid");
    assert.equal(ev?.eventKey, "900102");
    const fail = obs[1];
    assert.equal(fail?.kind, "vc.auth-failure");
    assert.equal(fail?.outcome, "failure");
    assert.equal(fail?.api, "StartProgramInGuest");
    assert.equal(fail?.user, "VSPHERE.LOCAL\\intruder");
    assert.deepEqual(fail?.vm, { name: "web01" }, "depth-truncated Vm falls back to the text");
    assert.equal(fail?.host, undefined, "a type-name string is not a host");
    const [login] = rec.sessions();
    assert.equal(login?.time, "2024-09-02T09:22:00.123Z");
    assert.equal(login?.sourceIp, "192.0.2.66");
    assert.equal(login?.session, "52ee0000-1111-2222-3333-444455556666");
    assert.deepEqual(rec.issues, []);
  };

  it("reads PascalCase, /Date(ms)/ and depth-truncated type-name strings", async () => {
    check(await readDocumentFile(vcEventsJsonReader, path("powercli-depth2.json")));
  });

  it("reads the same export written by Windows PowerShell as UTF-16LE with a BOM", async () => {
    const utf16 = Buffer.concat([
      Buffer.from([0xff, 0xfe]),
      Buffer.from(fixture("powercli-depth2.json").replace(/\n/g, "\r\n"), "utf16le"),
    ]);
    check(await readDocument(vcEventsJsonReader, utf16, source("events.json"), 5));
  });

  it("reads it with a UTF-8 BOM too", async () => {
    const bom = Buffer.concat([
      Buffer.from([0xef, 0xbb, 0xbf]),
      Buffer.from(fixture("powercli-depth2.json")),
    ]);
    check(await readDocument(vcEventsJsonReader, bom));
  });
});

describe("vc-events-json reader: bad and hostile input", () => {
  it("keeps the events before a truncation and reports it", async () => {
    const text = fixture("eventex-api.json");
    const cut = text.slice(0, text.indexOf('"_typeName": "UserLoginSessionEvent"') + 20);
    const rec = await readDocument(vcEventsJsonReader, cut, source(), 64);
    assert.equal(rec.observations().length, 2);
    assert.deepEqual(rec.issueCodes(), ["truncated_input"]);
  });

  it("reads objects with hostile keys without touching any prototype", async () => {
    const hostile =
      '[{"__proto__": {"polluted": "yes"}, "constructor": {"prototype": {"polluted": "yes"}}, ' +
      '"toString": 1, "hasOwnProperty": 2, "fullFormattedMessage": "Guest operation Start Program performed on Virtual machine x.", ' +
      '"createdTime": "2024-01-01T00:00:00Z", "vm": {"__proto__": null, "name": "x"}, ' +
      '"arguments": [{"key": "__proto__", "value": "y"}, {"key": "operationName", "value": "constructor"}]}]';
    const rec = await readDocument(vcEventsJsonReader, hostile);
    assert.equal(({} as Record<string, unknown>)["polluted"], undefined);
    assert.equal(Object.prototype.hasOwnProperty.call(Object.prototype, "polluted"), false);
    const [o] = rec.observations();
    assert.equal(o?.method, "constructor");
    assert.equal(o?.api, undefined);
    assert.deepEqual(o?.vm, { name: "x" });
    assert.deepEqual(rec.issueCodes(), ["unknown_method"]);
  });

  it("reports records that are not events or not JSON, and goes on", async () => {
    const rec = await readDocument(
      vcEventsJsonReader,
      '[1, {"hello": "world"}, {"createdTime": "never", "message": "Guest operation Delete File performed on Virtual machine v."}, {"bad": ]',
    );
    // The last record swallows the array's `]`, so the array is also reported as unterminated.
    assert.deepEqual(rec.issueCodes(), [
      "bad_json",
      "unparsed_line",
      "bad_time",
      "bad_json",
      "truncated_input",
    ]);
    assert.equal(rec.observations()[0]?.time, undefined);
  });

  it("reads events wrapped in a `value` array", async () => {
    const rec = await readDocument(
      vcEventsJsonReader,
      '{"value": [{"createdTime": "2024-01-01T00:00:00Z", "fullFormattedMessage": "Guest operation List Processes performed on Virtual machine v."}]}',
    );
    assert.equal(rec.observations()[0]?.api, "ListProcessesInGuest");
  });
});

describe("vc-events-json helpers", () => {
  it("reads the moref spellings and dates of every exporter", () => {
    assert.equal(morefOf({ type: "VirtualMachine", value: "vm-1" }), "vm-1");
    assert.equal(morefOf("VirtualMachine-vm-2"), "vm-2");
    assert.equal(morefOf("vim.VirtualMachine:vm-3"), "vm-3");
    assert.equal(morefOf("VMware.Vim.ManagedObjectReference"), undefined);
    assert.equal(eventTime("/Date(1717538280975)/", "UTC")?.time, "2024-06-04T21:58:00.975Z");
    assert.equal(eventTime("/Date(1717538280975+0200)/", "UTC")?.time, "2024-06-04T21:58:00.975Z");
    assert.equal(
      eventTime("2024-06-04T23:58:00.9750000+02:00", "UTC")?.time,
      "2024-06-04T21:58:00.975Z",
    );
    assert.equal(eventTime(1717538280975, "UTC")?.time, "2024-06-04T21:58:00.975Z");
    assert.equal(
      eventTime({ _typeName: "dateTime", _value: "2024-06-04T21:58:00Z" }, "UTC")?.time,
      "2024-06-04T21:58:00.000Z",
    );
  });

  it("detects the three shapes and not a SIEM export", () => {
    for (const f of [
      "govc-events.json",
      "govc-events.ndjson",
      "eventex-api.json",
      "powercli-depth2.json",
    ]) {
      assert.ok(vcEventsJsonReader.sniff(fixture(f).split("\n").slice(0, 20)) > 0.8, f);
    }
    assert.equal(vcEventsJsonReader.sniff(['[{"SyslogMessage": "x", "TimeGenerated": "y"}]']), 0);
  });
});

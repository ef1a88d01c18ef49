/**
 * Hard cases of the join, built from records shaped like the real lines: polling bursts, slow
 * transfers, two hosts in one file, a renamed VM, the same vCenter events twice, identical calls
 * close together, opID hop suffixes, session chains, and contradictions.
 */
import { describe, it } from "node:test";
import assert from "node:assert/strict";
import type { CanonicalRecord, Observation } from "../model/record.js";
import { correlate } from "./correlate.js";
import { summarise } from "./summary.js";
import { obs, sess, source } from "./fixtures/records.js";

const at = (base: string, ms: number): string => new Date(Date.parse(base) + ms).toISOString();
const T0 = "2025-03-01T10:00:00.000Z";

const hostdSrc = source("esx01/hostd.log", { hostHint: "esx01.corp.example" });
const streamSrc = source("vc-stream.log");
const jsonSrc = source("vc-events.json");

let key = 100;
const hostdEvent = (
  time: string,
  api: string,
  label: string,
  vm: string,
  host?: string,
): Observation =>
  obs(host ? source("receiver.log") : hostdSrc, "hostd.event", {
    time,
    api,
    method: label,
    vm: { name: vm },
    eventKey: String(key++),
    ...(host ? { host } : {}),
  });

let vcKey = 5000;
const vcEvent = (
  time: string,
  api: string,
  label: string,
  vm: string,
  user: string,
  extra: Partial<Observation> = {},
): Observation =>
  obs(streamSrc, "vc.event", {
    time,
    api,
    method: label,
    vm: { name: vm },
    user,
    vcenter: "vc01.corp.example",
    eventKey: String(vcKey++),
    ...extra,
  });

const LIST = ["ListProcessesInGuest", "List Processes"] as const;

describe("hard cases", () => {
  it("polling by one client: every poll its own operation, attributed to the poller", () => {
    const records: CanonicalRecord[] = [];
    for (let i = 0; i < 8; i++) {
      const hostT = at(T0, i * 2_000 + 35);
      records.push(hostdEvent(hostT, ...LIST, "app-01"));
      // vCenter's clock is 1.2 s ahead; events arrive 0.3-0.9 s later
      records.push(
        vcEvent(at(hostT, 1_200 + 300 + ((i * 137) % 600)), ...LIST, "app-01", "CORP\\alice"),
      );
    }
    const r = correlate(records);
    assert.equal(r.operations.length, 8);
    for (const op of r.operations) {
      assert.ok(["exact", "correlated"].includes(op.attribution.level), op.attribution.reason);
      assert.equal(op.attribution.principal?.id, "corp\\alice");
      assert.equal(op.observations.length, 2);
    }
  });

  it("two accounts polling one VM at once: never a wrong account; ambiguous instead", () => {
    const records: CanonicalRecord[] = [];
    for (let i = 0; i < 6; i++) {
      for (const [offset, user] of [
        [0, "CORP\\alice"],
        [900, "CORP\\bob"],
      ] as const) {
        const hostT = at(T0, i * 2_000 + offset);
        records.push(hostdEvent(hostT, ...LIST, "app-01"));
        records.push(vcEvent(at(hostT, 400), ...LIST, "app-01", user));
      }
    }
    const r = correlate(records);
    assert.equal(r.operations.length, 12);
    const truthOf = (op: (typeof r.operations)[number]) =>
      op.observations.find((o) => o.kind === "hostd.event")?.time?.endsWith("900Z")
        ? "corp\\bob"
        : "corp\\alice";
    let ambiguous = 0;
    for (const op of r.operations) {
      if (op.attribution.level === "ambiguous") {
        ambiguous++;
        assert.ok((op.attribution.candidates?.length ?? 0) >= 2);
        continue;
      }
      assert.ok(["exact", "correlated"].includes(op.attribution.level));
      assert.equal(op.attribution.principal?.id, truthOf(op));
    }
    assert.ok(ambiguous > 0);
  });

  it("a slow upload: vmware.log request, hostd event 20 minutes later, one operation", () => {
    const vmxSrc = source("/vmfs/volumes/ds1/web-01/vmware.log");
    const T = T0;
    const done = at(T, 20 * 60_000);
    const records: CanonicalRecord[] = [
      obs(vmxSrc, "vmx.request", {
        time: T,
        api: "InitiateFileTransferToGuest",
        opId: "a1b2c3d4",
        seq: 10,
        vm: { name: "web-01", dir: "/vmfs/volumes/ds1/web-01" },
      }),
      obs(vmxSrc, "vmx.response", {
        time: at(T, 12),
        api: "InitiateFileTransferToGuest",
        opId: "a1b2c3d4",
        seq: 10,
        outcome: "success",
      }),
      // another VM works in the meantime
      hostdEvent(at(T, 5 * 60_000), "StartProgramInGuest", "Start Program", "db-01"),
      vcEvent(
        at(T, 5 * 60_000 + 500),
        "StartProgramInGuest",
        "Start Program",
        "db-01",
        "CORP\\bob",
      ),
      hostdEvent(done, "InitiateFileTransferToGuest", "Initiate File Transfer To Guest", "web-01"),
      obs(hostdSrc, "hostd.file-path", {
        time: at(done, 80),
        guest: { path: "C:\\Temp\\big.iso" },
      }),
      vcEvent(
        at(done, 600),
        "InitiateFileTransferToGuest",
        "Initiate File Transfer To Guest",
        "web-01",
        "CORP\\alice",
      ),
    ];
    const r = correlate(records);
    assert.equal(r.operations.length, 2);
    const upload = r.operations.find((o) => o.api === "InitiateFileTransferToGuest");
    assert.deepEqual(
      upload?.observations.map((o) => o.kind),
      ["vmx.request", "vmx.response", "hostd.event", "hostd.file-path", "vc.event"],
    );
    assert.equal(upload?.attribution.level, "exact");
    assert.equal(upload?.attribution.principal?.id, "corp\\alice");
    assert.equal(upload?.guest?.path, "C:\\Temp\\big.iso");
    assert.equal(upload?.time, T);
  });

  it("two hosts interleaved in one file, same VM name, same instant: kept apart and right", () => {
    const records: CanonicalRecord[] = [
      hostdEvent(T0, "StartProgramInGuest", "Start Program", "web", "esx01.corp.example"),
      hostdEvent(at(T0, 3), "StartProgramInGuest", "Start Program", "web", "ESX02"),
      obs(jsonSrc, "vc.event", {
        time: at(T0, 500),
        api: "StartProgramInGuest",
        method: "Start Program",
        vm: { name: "web", moref: "vm-1" },
        host: "esx02.corp.example",
        user: "CORP\\bob",
        eventKey: "7001",
      }),
      obs(jsonSrc, "vc.event", {
        time: at(T0, 520),
        api: "StartProgramInGuest",
        method: "Start Program",
        vm: { name: "web", moref: "vm-2" },
        host: "esx01.corp.example",
        user: "CORP\\alice",
        eventKey: "7002",
      }),
    ];
    const r = correlate(records);
    assert.equal(r.operations.length, 2);
    const byHost = new Map(r.operations.map((o) => [o.host?.toLowerCase().slice(0, 5), o]));
    assert.equal(byHost.get("esx01")?.attribution.principal?.id, "corp\\alice");
    assert.equal(byHost.get("esx01")?.attribution.level, "exact");
    assert.equal(byHost.get("esx02")?.attribution.principal?.id, "corp\\bob");
    assert.equal(byHost.get("esx01")?.host, "esx01.corp.example");
  });

  it("the same without the host on vCenter's events: ambiguous, not guessed", () => {
    const records: CanonicalRecord[] = [
      hostdEvent(T0, "StartProgramInGuest", "Start Program", "web", "esx01.corp.example"),
      hostdEvent(at(T0, 3), "StartProgramInGuest", "Start Program", "web", "esx02.corp.example"),
      vcEvent(at(T0, 500), "StartProgramInGuest", "Start Program", "web", "CORP\\bob"),
      vcEvent(at(T0, 520), "StartProgramInGuest", "Start Program", "web", "CORP\\alice"),
    ];
    const r = correlate(records);
    assert.equal(r.operations.length, 2);
    for (const op of r.operations) {
      assert.equal(op.attribution.level, "ambiguous");
      assert.deepEqual(op.attribution.candidates?.map((c) => c.id).sort(), [
        "corp\\alice",
        "corp\\bob",
      ]);
    }
  });

  it("a renamed VM: vmware.log's folder keeps the old name, hostd and vCenter the new one", () => {
    const vmxSrc = source("/vmfs/volumes/ds1/old-name/vmware.log");
    const records: CanonicalRecord[] = [
      obs(vmxSrc, "vmx.request", {
        time: T0,
        api: "StartProgramInGuest",
        opId: "0badcafe",
        seq: 1,
        vm: { name: "old-name", dir: "/vmfs/volumes/ds1/old-name" },
      }),
      obs(vmxSrc, "vmx.response", {
        time: at(T0, 40),
        api: "StartProgramInGuest",
        opId: "0badcafe",
        seq: 1,
        outcome: "success",
        vm: { name: "old-name", dir: "/vmfs/volumes/ds1/old-name" },
      }),
      hostdEvent(at(T0, 41), "StartProgramInGuest", "Start Program", "new-name"),
      vcEvent(at(T0, 700), "StartProgramInGuest", "Start Program", "new-name", "CORP\\alice", {
        vm: { name: "new-name", moref: "vm-42" },
      }),
    ];
    const r = correlate(records);
    assert.equal(r.operations.length, 1);
    const [op] = r.operations;
    assert.equal(op?.vm.name, "new-name");
    assert.equal(op?.vm.dir, "/vmfs/volumes/ds1/old-name");
    assert.equal(op?.vm.moref, "vm-42");
    assert.equal(op?.attribution.principal?.id, "corp\\alice");
  });

  it("vCenter events from the stream and from a JSON export: one operation each", () => {
    const records: CanonicalRecord[] = [];
    for (let i = 0; i < 3; i++) {
      const t = at(T0, i * 60_000);
      const fields = {
        time: t,
        api: "StartProgramInGuest",
        method: "Start Program",
        vm: { name: "web-01" },
        user: "CORP\\alice",
        eventKey: String(800 + i),
      };
      records.push(obs(streamSrc, "vc.event", { ...fields, vcenter: "vc01.corp.example" }));
      records.push(
        obs(jsonSrc, "vc.event", {
          ...fields,
          vm: { name: "web-01", moref: "vm-9" },
          host: "esx01.corp.example",
        }),
      );
    }
    const r = correlate(records);
    assert.equal(r.operations.length, 3);
    assert.equal(r.observations.duplicates, 3);
    for (const op of r.operations) {
      assert.equal(op.observations.length, 2);
      assert.equal(op.attribution.level, "exact");
      assert.equal(op.host, "esx01.corp.example");
      assert.equal(op.vcenter, "vc01.corp.example");
    }
  });

  it("two identical calls 300 ms apart stay two operations", () => {
    const records: CanonicalRecord[] = [
      hostdEvent(T0, "DeleteFileInGuest", "Delete File", "web-01"),
      hostdEvent(at(T0, 300), "DeleteFileInGuest", "Delete File", "web-01"),
      vcEvent(at(T0, 800), "DeleteFileInGuest", "Delete File", "web-01", "CORP\\alice"),
      vcEvent(at(T0, 1_100), "DeleteFileInGuest", "Delete File", "web-01", "CORP\\alice"),
    ];
    const r = correlate(records);
    assert.equal(r.operations.length, 2);
    for (const op of r.operations) {
      assert.equal(op.attribution.principal?.id, "corp\\alice");
      assert.equal(op.observations.length, 2);
    }
  });

  it("a vpxd opID extended with hop suffixes joins vmware.log, and [Auth] names the user", () => {
    const vpxd = source("vpxd.log", { hostHint: "vc01.corp.example" });
    const vmxSrc = source("/vmfs/volumes/ds1/web-01/vmware.log");
    const records: CanonicalRecord[] = [
      obs(vpxd, "vpxd.lro", {
        time: T0,
        vcenter: "vc01.corp.example",
        api: "StartProgramInGuest",
        method: "vim.vm.guest.ProcessManager.startProgram",
        opId: "58B46869-0000005E-46",
        eventKey: "lro-1",
        session: "52aa0000-1111-2222-3333-444455556666",
      }),
      sess(vpxd, "auth", {
        time: at(T0, 5),
        vcenter: "vc01.corp.example",
        user: "CORP\\alice",
        opId: "58B46869-0000005E-46",
        process: "vpxd",
      }),
      obs(vmxSrc, "vmx.request", {
        time: at(T0, 60),
        api: "StartProgramInGuest",
        opId: "58B46869-0000005E-46-3d-df-5944",
        seq: 5,
      }),
      obs(vmxSrc, "vmx.response", {
        time: at(T0, 90),
        api: "StartProgramInGuest",
        opId: "58B46869-0000005E-46-3d-df-5944",
        seq: 5,
        outcome: "success",
      }),
      obs(vpxd, "vpxd.lro-end", {
        time: at(T0, 95),
        vcenter: "vc01.corp.example",
        api: "StartProgramInGuest",
        opId: "58B46869-0000005E-46",
        eventKey: "lro-1",
      }),
    ];
    const r = correlate(records);
    assert.equal(r.operations.length, 1);
    const [op] = r.operations;
    assert.equal(op?.attribution.level, "correlated");
    assert.equal(op?.attribution.principal?.id, "corp\\alice");
    assert.equal(op?.origin.via, "vcenter");
    assert.equal(op?.opId, "58B46869-0000005E-46-3d-df-5944");
    assert.deepEqual(op?.attribution.evidence, ["session:0"]);
    assert.equal(op?.sessions?.[0]?.kind, "auth");
  });

  it("hostd's user=vpxuser:DOMAIN\\user on the call's opID is exact, via vCenter", () => {
    const src = source("hostd.log", { hostHint: "esx01" });
    const r = correlate([
      obs(src, "hostd.state", {
        time: T0,
        opId: "539bc6dd-c7-c39c",
        user: "vpxuser:VSPHERE.LOCAL\\Administrator",
        vm: { vmx: "/vmfs/volumes/ds1/web-01/web-01.vmx" },
      }),
      hostdEvent(at(T0, 41), "StartProgramInGuest", "Start Program", "web-01"),
    ]);
    assert.equal(r.operations.length, 1);
    const [op] = r.operations;
    assert.equal(op?.attribution.level, "exact");
    assert.equal(op?.attribution.principal?.id, "vsphere.local\\administrator");
    assert.equal(op?.attribution.principal?.viaVcenter, true);
    assert.equal(op?.origin.via, "vcenter");
  });

  it("vpxuser:<no user>: the principal is vpxuser, and the summary says so", () => {
    const src = source("hostd.log", { hostHint: "esx01" });
    const r = correlate([
      obs(src, "hostd.request", {
        time: T0,
        opId: "531c52d7-9d8a",
        session: "52806149",
        user: "vpxuser:<no user>",
        api: "ListProcessesInGuest",
        method: "listProcesses",
      }),
    ]);
    const [op] = r.operations;
    assert.equal(op?.attribution.principal?.kind, "vpxuser");
    assert.equal(op?.origin.via, "vcenter");
    const s = summarise(r);
    assert.equal(s.vpxuserOnly, 1);
    assert.match(s.explanations[0] ?? "", /vCenter passed no end user/);
  });

  it("a hostd session id leads to the login: user, address and client", () => {
    const src = source("hostd.log", { hostHint: "esx01" });
    const r = correlate([
      sess(src, "password-accepted", {
        time: at(T0, -5_000),
        user: "root",
        sourceIp: "10.0.0.99",
        session: "52f0e556-5be4-83d4-8d71-8f9d8a43791c",
        opId: "c4c96306",
        process: "hostd",
      }),
      sess(src, "login", {
        time: at(T0, -4_999),
        user: "root",
        sourceIp: "10.0.0.99",
        userAgent: "PowerCLI/13.2.1.22851661",
        session: "52f0e556",
        opId: "c4c96306",
        process: "hostd",
      }),
      obs(src, "hostd.request", {
        time: T0,
        opId: "c4c97157",
        session: "52f0e556",
        api: "StartProgramInGuest",
        method: "startProgram",
      }),
    ]);
    const [op] = r.operations;
    assert.equal(op?.attribution.level, "correlated");
    assert.equal(op?.attribution.principal?.id, "root");
    assert.equal(op?.origin.sourceIp, "10.0.0.99");
    assert.equal(op?.origin.client, "PowerCLI");
    assert.equal(op?.origin.via, "direct");
    assert.equal(op?.origin.basis, "correlated");
  });

  it("records of one call that name two accounts make it ambiguous", () => {
    const src = source("hostd.log", { hostHint: "esx01" });
    const r = correlate([
      obs(src, "hostd.state", {
        time: T0,
        opId: "539bc6dd-c7-c39c",
        user: "vpxuser:CORP\\alice",
        vm: { vmx: "/vmfs/volumes/ds1/web-01/web-01.vmx" },
      }),
      hostdEvent(at(T0, 41), "StartProgramInGuest", "Start Program", "web-01"),
      vcEvent(at(T0, 600), "StartProgramInGuest", "Start Program", "web-01", "CORP\\bob"),
    ]);
    const [op] = r.operations;
    assert.equal(r.operations.length, 1);
    assert.equal(op?.attribution.level, "ambiguous");
    assert.deepEqual(op?.attribution.candidates?.map((c) => c.id).sort(), [
      "corp\\alice",
      "corp\\bob",
    ]);
  });

  it("a guest path with two transfers fitting equally is kept apart, not guessed", () => {
    const r = correlate([
      hostdEvent(T0, "InitiateFileTransferFromGuest", "Initiate File Transfer From Guest", "a"),
      hostdEvent(
        at(T0, 10),
        "InitiateFileTransferFromGuest",
        "Initiate File Transfer From Guest",
        "b",
      ),
      obs(hostdSrc, "hostd.file-path", { time: at(T0, 20_000), guest: { path: "C:\\x" } }),
    ]);
    assert.equal(r.operations.length, 2);
    assert.ok(r.operations.every((o) => !o.guest));
    assert.equal(r.unattached.length, 1);
    assert.match(r.unattached[0]?.reason ?? "", /2 operations fit/);
  });

  it("an ESXi audit api.call names the account of a direct call (exact), joined by host, method, time", () => {
    const audit = source("esx01-audit.log", { hostHint: "esx01.corp.example" });
    const r = correlate([
      hostdEvent(at(T0, 45), "StartProgramInGuest", "Start Program", "web-01"),
      obs(audit, "audit.api-call", {
        time: at(T0, 10),
        api: "StartProgramInGuest",
        method: "vim.vm.guest.ProcessManager.startProgram",
        user: "root",
        outcome: "success",
      }),
      // another host's audit record at the same time must not join
      obs(source("esx02-audit.log", { hostHint: "esx02" }), "audit.api-call", {
        time: at(T0, 12),
        api: "StartProgramInGuest",
        user: "CORP\\mallory",
        outcome: "success",
      }),
    ]);
    assert.equal(r.operations.length, 2);
    const onEsx01 = r.operations.find((o) => o.host === "esx01.corp.example");
    assert.equal(onEsx01?.attribution.level, "exact");
    assert.equal(onEsx01?.attribution.principal?.id, "root");
    assert.match(onEsx01?.attribution.reason ?? "", /audit/);
    assert.equal(onEsx01?.origin.via, "direct");
  });
});

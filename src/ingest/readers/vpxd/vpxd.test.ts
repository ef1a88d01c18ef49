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
import { vpxdReader } from "./index.js";

const fixture = fixtures(import.meta.url).text;

const skipReal = realSamplesSkip();

describe("vpxd reader: 6.x/7.0 and 5.x lines", () => {
  const rec = readLines(
    vpxdReader,
    fixture("vpxd-70.log"),
    source("vpxd.log", { hostHint: "vc01" }),
  );
  const obs = rec.observations();

  it("emits BEGIN and FINISH of guest LROs only", () => {
    assert.deepEqual(
      obs.map((o) => [o.kind, o.eventKey, o.api ?? null]),
      [
        ["vpxd.lro", "lro-900002", "StartProgramInGuest"],
        ["vpxd.lro-end", "lro-900002", "StartProgramInGuest"],
        ["vpxd.lro", "lro-900004", null],
        ["vpxd.lro", "task-44", "ListFilesInGuest"],
      ],
    );
  });

  it("keeps opID, session, method, time, vCenter and writer of the LRO", () => {
    const begin = obs[0];
    assert.equal(begin?.opId, "7e1280cf-01");
    assert.equal(begin?.session, "526861fc-0c28-1930-ae5e-d8c2772bf8c2");
    assert.equal(begin?.method, "vim.vm.guest.ProcessManager.startProgram");
    assert.equal(begin?.time, "2024-03-05T10:00:01.000Z");
    assert.equal(begin?.vcenter, "vc01");
    assert.equal(begin?.process, "vpxd");
    assert.equal(begin?.thread, "47530");
    assert.equal(begin?.evidence, "verbatim");
    const end = obs[1];
    assert.equal(end?.time, "2024-03-05T10:00:01.420Z");
    assert.equal(end?.opId, "7e1280cf-01");
    assert.equal(end?.session, begin?.session);
  });

  it("keeps an unknown guest method as written and reports it", () => {
    assert.equal(obs[2]?.method, "vim.vm.guest.ProcessManager.frobnicate");
    assert.deepEqual(
      rec.issues.map((i) => [i.code, i.line]),
      [["unknown_method", 9]],
    );
  });

  it("reads the 5.x bracket header", () => {
    assert.equal(obs[3]?.opId, "2140bc71");
    assert.equal(obs[3]?.time, "2014-01-17T04:55:50.347Z");
  });

  it("turns lines that name a user into inferred session records with their opID", () => {
    const s = rec.sessions();
    assert.deepEqual(
      s.map((x) => [x.kind, x.user, x.sourceIp ?? null, x.opId]),
      [
        ["login", "VSPHERE.LOCAL\\ops-admin", "192.0.2.10", "l3wrhr4o-aa1-h5:70001034-60"],
        ["auth", "VSPHERE.LOCAL\\ops-admin", null, "7e1280cf-01"],
        ["login-failed", "baduser", "198.51.100.7", "7e1280cf-04"],
        ["logout", "VSPHERE.LOCAL\\ops-admin", "192.0.2.10", "7e1280cf-05"],
      ],
    );
    assert.equal(s[0]?.userAgent, "PowerCLI/13.2.1.22851661");
    assert.equal(s[3]?.apiInvocations, 17);
    assert.equal(s[3]?.loginTime, "Tuesday, 05 March, 2024 10:00:00 AM");
    assert.ok(s.every((x) => x.evidence === "inferred" && x.vcenter === "vc01"));
  });

  it("gives a session line the session key of its opID's LRO (login LRO, guest LRO)", () => {
    const s = rec.sessions();
    assert.deepEqual(
      s.map((x) => [x.kind, x.session ?? null]),
      [
        // `User … logged in` under the opID of `vim.SessionManager.loginByToken -- 526861fc-…`
        ["login", "526861fc-0c28-1930-ae5e-d8c2772bf8c2"],
        // `[Auth]: User …` under the opID of the guest LRO lro-900002 of the same session
        ["auth", "526861fc-0c28-1930-ae5e-d8c2772bf8c2"],
        // no LRO of these opIDs was read: no session key
        ["login-failed", null],
        ["logout", null],
      ],
    );
  });

  it("takes the latest LRO of an opID and keeps opIDs apart", () => {
    const r = readLines(
      vpxdReader,
      [
        "2024-03-05T10:00:00.000Z info vpxd[1] [Originator@6876 sub=vpxLro opID=aa11] [VpxLRO] -- BEGIN lro-1 -- SessionManager -- vim.SessionManager.login -- 52000000-0000-0000-0000-000000000001(52ffffff-0000-0000-0000-000000000000)",
        "2024-03-05T10:00:00.100Z info vpxd[1] [Originator@6876 sub=vpxLro opID=bb22] [VpxLRO] -- BEGIN lro-2 -- SessionManager -- vim.SessionManager.login -- 52000000-0000-0000-0000-000000000002(52ffffff-0000-0000-0000-000000000000)",
        "2024-03-05T10:00:00.200Z info vpxd[1] [Originator@6876 sub=User opID=bb22] User CORP\\bob@192.0.2.2 logged in as govc/0.43.0",
        "2024-03-05T10:00:00.300Z info vpxd[1] [Originator@6876 sub=User opID=aa11] User CORP\\alice@192.0.2.1 logged in as PowerCLI/13.3.0",
        "2024-03-05T10:10:00.000Z info vpxd[1] [Originator@6876 sub=vpxLro opID=aa11] [VpxLRO] -- BEGIN lro-3 -- SessionManager -- vim.SessionManager.login -- 52000000-0000-0000-0000-000000000003(52ffffff-0000-0000-0000-000000000000)",
        "2024-03-05T10:10:00.100Z info vpxd[1] [Originator@6876 sub=User opID=aa11] User CORP\\carol@192.0.2.3 logged in as pyvmomi",
      ].join("\n"),
      source("vpxd.log", { hostHint: "vc01" }),
    );
    assert.deepEqual(
      r.sessions().map((x) => [x.user, x.session]),
      [
        ["CORP\\bob", "52000000-0000-0000-0000-000000000002"],
        ["CORP\\alice", "52000000-0000-0000-0000-000000000001"],
        ["CORP\\carol", "52000000-0000-0000-0000-000000000003"],
      ],
    );
    assert.equal(r.observations().length, 0, "login LROs are not guest operations");
  });

  it("counts the other LRO lines as skipped", () => {
    assert.deepEqual(rec.skipped, [1, 3, 5, 6]);
  });
});

describe("vpxd reader: 8.0U3/9 quoted form, syslog-wrapped, vpxa", () => {
  const rec = readLines(vpxdReader, fixture("vpxd-9.log"));
  const obs = rec.observations();

  it("reads quoted opIDs and the session pair", () => {
    assert.equal(obs[0]?.kind, "vpxd.lro");
    assert.equal(obs[0]?.api, "InitiateFileTransferFromGuest");
    assert.equal(obs[0]?.opId, "f3a9c0de-7711-4c1b-9b0e-5d2a7e9c1b11-01");
    assert.equal(obs[0]?.thread, "20973");
    assert.equal(obs[1]?.kind, "vpxd.lro-end");
  });

  it("takes opID from RFC 5424 structured data and host/time from the envelope", () => {
    const rfc5424 = obs.find((o) => o.eventKey === "lro-79");
    assert.equal(rfc5424?.opId, "abcd1234");
    assert.equal(rfc5424?.vcenter, "vc9.example.invalid");
    assert.equal(rfc5424?.time, "2025-06-04T17:11:00.000Z");
    assert.equal(rfc5424?.api, "ValidateCredentialsInGuest");
    const rfc3164 = obs.find((o) => o.eventKey === "lro-80");
    assert.equal(rfc3164?.opId, "ef01");
    assert.equal(rfc3164?.vcenter, "vc9.example.invalid");
    assert.equal(rfc3164?.api, "ListProcessesInGuest");
  });

  it("reads the ESXi 8 vpxa form", () => {
    const vpxa = obs.find((o) => o.eventKey === "lro-47");
    assert.equal(vpxa?.process, "Vpxa");
    assert.equal(vpxa?.api, "DeleteFileInGuest");
  });

  it("keeps a record with a bad time and reports it, and reports a BEGIN without method", () => {
    const bad = obs.find((o) => o.eventKey === "lro-81");
    assert.equal(bad?.time, undefined);
    assert.deepEqual(
      rec.issues.map((i) => [i.code, i.line]),
      [
        ["bad_time", 7],
        ["unparsed_line", 8],
      ],
    );
  });

  it("uses a router's envelope and keeps the whole line as provenance", () => {
    const body =
      "[Originator@6876 sub=vpxLro opID=r1] [VpxLRO] -- BEGIN lro-5 -- guestOperationsFileManager -- vim.vm.guest.FileManager.listFiles -- 52aa";
    const line = `<14>1 2024-01-01T00:00:00Z vc vpxd 1 - - ${body}`;
    const routed = readRouted(vpxdReader, [
      [body, 3, { body, host: "vc", program: "vpxd", time: "2024-01-01T00:00:00.000Z", line }],
    ]);
    const [o] = routed.observations();
    assert.equal(o?.opId, "r1");
    assert.equal(o?.vcenter, "vc");
    assert.equal(o?.time, "2024-01-01T00:00:00.000Z");
    assert.equal(o?.prov.raw, line);
  });

  it("recognises vpxd.log and not vmware.log", () => {
    assert.ok(vpxdReader.sniff(fixture("vpxd-70.log").split("\n")) > 0.8);
    assert.ok(vpxdReader.sniff(fixture("vpxd-9.log").split("\n")) > 0.5);
    assert.equal(
      vpxdReader.sniff([
        "2024-06-04T21:58:00.929Z In(05) vmx - VigorTransportProcessClientPayload: opID=c4c97157 seq=3936: Receiving GuestOps.StartProgram request.",
      ]),
      0,
    );
  });
});

describe("vpxd reader: real samples", { skip: skipReal }, () => {
  it("Broadcom KB 416771: one LRO with a redacted time, reported as missing_time", () => {
    const rec = readLines(
      vpxdReader,
      readRealSample("broadcom-kb-416771-vpxd-lro-initiatefiletransferfromguest.log"),
    );
    const obs = rec.observations();
    assert.equal(obs.length, 1);
    assert.equal(obs[0]?.kind, "vpxd.lro");
    assert.equal(obs[0]?.time, undefined);
    assert.equal(obs[0]?.api, "InitiateFileTransferFromGuest");
    assert.equal(obs[0]?.method, "vim.vm.guest.FileManager.initiateFileTransferFromGuest");
    assert.equal(obs[0]?.session, "220e52c7-####-####-####-f648bf2d7410");
    assert.deepEqual(rec.issueCodes(), ["missing_time"]);
  });

  it("lnav vpxd test files: no guest LRO, no crash, nothing reported", () => {
    for (const name of ["lnav-test-logfile_vpxd.0.log", "lnav-test-logfile_vmw_log.0.log"]) {
      const rec = readLines(vpxdReader, readRealSample(name));
      assert.equal(rec.records.length, 0, name);
      assert.deepEqual(rec.issues, [], name);
    }
  });
});

describe("vpxd reader: failed guest calls (`[VpxLRO] -- ERROR`)", () => {
  const rec = readLines(vpxdReader, fixture("vpxd-lro-error.log"), source("vpxd.log"));
  const errors = rec.observations().filter((o) => o.kind === "vpxd.lro-error");

  it("emits one failure observation per failed guest call, with its fault", () => {
    assert.deepEqual(
      errors.map((o) => [o.eventKey, o.api, o.outcome, o.fault, o.prov.line, o.prov.lineCount]),
      [
        ["lro-900010", "StartProgramInGuest", "failure", "vim.fault.InvalidGuestLogin", 3, 24],
        [
          "lro-900020",
          "InitiateFileTransferFromGuest",
          "failure",
          "vim.fault.FileNotFound",
          33,
          18,
        ],
        ["lro-900030", "DeleteFileInGuest", "failure", "vim.fault.GuestPermissionDenied", 55, 1],
      ],
    );
  });

  it("reads the VM moref, guest program, arguments, path and guest user from the dump", () => {
    const [start, pull] = errors;
    assert.deepEqual(start?.vm, { moref: "vm-1042" });
    assert.deepEqual(start?.guest, {
      program: "C:\\Windows\\System32\\cmd.exe",
      arguments: "/c whoami > C:\\Users\\Public\\o.txt",
      username: "Administrator",
    });
    assert.deepEqual(pull?.vm, { moref: "vm-2001" });
    assert.deepEqual(pull?.guest, {
      path: "C:\\Windows\\NTDS\\ntds.dit",
      username: "CORP\\svc-backup",
    });
    for (const o of errors) assert.ok(!JSON.stringify(o.guest ?? {}).includes("password"));
  });

  it("carries the opID and, after its BEGIN, the LRO's session", () => {
    const [start, pull] = errors;
    assert.equal(start?.opId, "9a1f00c2-01");
    assert.equal(start?.session, "526861fc-0c28-1930-ae5e-d8c2772bf8c2");
    assert.equal(start?.time, "2024-03-05T10:10:01.411Z");
    assert.equal(pull?.opId, "7c0de111-02");
    assert.equal(pull?.session, undefined, "its BEGIN is not in this file");
    assert.ok(start?.prov.raw.startsWith("2024-03-05T10:10:01.411Z info vpxd[47540]"));
    assert.ok(start?.prov.raw.endsWith("--> }"));
  });

  it("skips a non-guest ERROR with its dump and an unrelated dump, by kind", () => {
    const kinds = new Map<number, string>();
    rec.skipped.forEach((line, i) => kinds.set(line, rec.skippedKinds[i] ?? ""));
    for (let l = 27; l <= 32; l++) assert.equal(kinds.get(l), "lro-error-other-method", `${l}`);
    for (let l = 52; l <= 54; l++) assert.equal(kinds.get(l), "dump-continuation", `${l}`);
    assert.deepEqual(rec.issues, []);
  });
});

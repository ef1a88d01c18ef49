import { strict as assert } from "node:assert";
import { describe, it } from "node:test";
import type { Observation, SessionRecord } from "../../../model/record.js";
import type { ReadOptions } from "../../types.js";
import {
  fixtures,
  readLines,
  readRealSample,
  realSamplesSkip,
  recorder,
  type Recording,
  source,
} from "../../../../test/helpers/reader-harness.js";
import { HOSTD_MARKERS, hostdReader, sniffHostd } from "./index.js";
import { parseEnvelope } from "../../syslog/envelope.js";
import { readHostdLine } from "./line.js";

const fixture = fixtures(import.meta.url).text;
const OPTS: ReadOptions = { assumeTz: "UTC", referenceTime: "2024-06-10T00:00:00.000Z" };

/** Runs the reader the way the input layer does with its prefilter: marker-less lines dropped. */
function readFiltered(text: string, options: ReadOptions = OPTS): Recording & { passed: number } {
  const { ctx, rec } = recorder(source("hostd.log"), options);
  const p = hostdReader.open(ctx);
  const lines = text.split("\n");
  if (lines.at(-1) === "") lines.pop();
  let passed = 0;
  lines.forEach((l, i) => {
    if (HOSTD_MARKERS.some((m) => l.includes(m))) {
      passed++;
      p.line(l, i + 1);
    }
  });
  p.end();
  return Object.assign(rec, { passed });
}

const obs = (rec: Recording, kind: Observation["kind"]): Observation[] =>
  rec.observations().filter((o) => o.kind === kind);

/**
 * Every line handed to the reader ends up in exactly one place: a record's provenance, a skip or
 * an issue (records built from the same line, like audit double records, do not occur in hostd).
 */
function assertAccounted(rec: Recording, passed: number): void {
  const inRecords = rec.records.reduce((n, r) => n + r.prov.lineCount, 0);
  const issueLines = new Set(
    rec.issues.filter((i) => ["unparsed_line", "orphan_part"].includes(i.code)).map((i) => i.line),
  );
  assert.equal(inRecords + rec.skipped.length + issueLines.size, passed);
}

describe("hostd reader", () => {
  it("reads ESXi 6.5 local lines: state, event, call dumps, sessions", () => {
    const text = fixture("esx65-local.log");
    const rec = readLines(hostdReader, text, source("hostd.log", { hostHint: "esx-65" }), OPTS);
    assert.deepEqual(rec.issues, []);
    const [state] = obs(rec, "hostd.state");
    assert.equal(state?.opId, "ee13d46d");
    assert.equal(state?.user, "root");
    assert.equal(state?.host, "esx-65");
    assert.equal(
      state?.vm?.vmx,
      "/vmfs/volumes/577bad39-46bacc3a-720b-0050569c9c22/web 01 [prod]/web 01 [prod].vmx",
    );
    assert.equal(state?.vm?.dir, "/vmfs/volumes/577bad39-46bacc3a-720b-0050569c9c22/web 01 [prod]");
    assert.equal(
      obs(rec, "hostd.state").length,
      1,
      "the transition out of GUEST_OPERATION is no op",
    );
    const [ev] = obs(rec, "hostd.event");
    assert.equal(ev?.vm?.name, "web 01 [prod]");
    assert.equal(ev?.api, "StartProgramInGuest");
    assert.equal(ev?.eventKey, "108657");
    const [req] = obs(rec, "hostd.request");
    assert.equal(req?.method, "vim.vm.guest.ProcessManager.startProgram");
    assert.equal(req?.evidence, "inferred");
    const [args] = obs(rec, "hostd.args");
    assert.deepEqual(args?.guest, {
      program: "C:\\Windows\\System32\\cmd.exe",
      arguments: '/c "whoami > C:\\temp\\o.txt"',
      username: "Administrator",
    });
    assert.equal(args?.vm?.moref, "42");
    assert.equal(args?.api, "StartProgramInGuest");
    assert.equal(args?.opId, "ee13d46d");
    assert.equal(args?.thread, "7C486B70");
    assert.equal(args?.prov.line, 6);
    assert.equal(args?.prov.lineCount, 18);
    assert.ok(!args?.prov.raw.includes("Throw"));
    assert.ok(!JSON.stringify(args?.guest).includes("not shown"), "no password field kept");
    const faults = obs(rec, "hostd.fault");
    assert.equal(faults.length, 1, "the NotFound throw outside a guest call is skipped");
    assert.equal(faults[0]?.fault, "vim.fault.GuestPermissionDenied");
    assert.equal(faults[0]?.outcome, "failure");
    assert.equal(faults[0]?.api, "StartProgramInGuest");
    assert.equal(faults[0]?.prov.lineCount, 6);
    const sessions = rec.sessions();
    assert.deepEqual(
      sessions.map((s) => [s.kind, s.user, s.sourceIp]),
      [
        ["password-accepted", "root", "10.0.0.50"],
        ["login", "root", "10.0.0.50"],
        ["logout", "root", "10.0.0.50"],
      ],
    );
    const logout = sessions[2];
    assert.equal(logout?.apiInvocations, 12);
    assert.equal(logout?.userAgent, "pyvmomi Python/3.11.4 (Linux; 6.1.0; x86_64)");
    assert.equal(logout?.loginTime, "Friday, 04 November, 2016 07:14:11 PM");
    assertAccounted(rec, text.split("\n").length - 1);
  });

  it("folds the same 6.5 dumps identically when marker-less lines are filtered out", () => {
    const text = fixture("esx65-local.log");
    const all = readLines(hostdReader, text, source("hostd.log"), OPTS);
    const filtered = readFiltered(text);
    const strip = (r: Recording) =>
      r.records.map((x) => ({ ...x, prov: { ...x.prov, source: 0 } }));
    assert.deepEqual(strip(filtered), strip(all));
    assertAccounted(filtered, filtered.passed);
  });

  it("reads ESXi 7.0 lines: vpxuser principals, unknown labels, redacted times, variants", () => {
    const rec = readLines(hostdReader, fixture("esx70-local.log"), source(), OPTS);
    const [state] = obs(rec, "hostd.state");
    assert.equal(state?.user, "vpxuser:VSPHERE.LOCAL\\vpxd-extension-1b2c");
    assert.equal(state?.opId, "sps-Main-843896-42-2c-c5-c86f");
    const events = obs(rec, "hostd.event");
    assert.deepEqual(
      events.map((e) => [e.eventKey, e.api, e.evidence, e.outcome]),
      [
        ["5120", "ListFilesInGuest", "verbatim", undefined],
        ["5121", undefined, "verbatim", undefined],
        ["5122", undefined, "inferred", "failure"],
      ],
    );
    assert.equal(events[1]?.method, "Frobnicate Widgets");
    const [path] = obs(rec, "hostd.file-path");
    assert.equal(path?.time, undefined);
    assert.equal(path?.guest?.path, "/var/tmp/redacted-time");
    const [failed] = rec.sessions();
    assert.equal(failed?.kind, "login-failed");
    assert.equal(failed?.sourceIp, "203.0.113.50");
    assert.deepEqual(rec.issueCodes().sort(), ["bad_time", "unknown_method"]);
  });

  it("reads ESXi 8 local lines, folding [+] continuation lines by pid", () => {
    const text = fixture("esx80-local.log");
    const rec = readLines(hostdReader, text, source(), OPTS);
    assert.deepEqual(rec.issues, []);
    const [args] = obs(rec, "hostd.args");
    assert.equal(
      args?.guest?.program,
      "C:\\Windows\\System32\\WindowsPowerShell\\v1.0\\powershell.exe",
    );
    assert.equal(args?.guest?.workingDirectory, "C:\\Users\\vagrant");
    assert.equal(args?.session, "52018116");
    assert.equal(args?.prov.lineCount, 6, "the interleaved Task Completed line is not folded in");
    assert.ok(!args?.prov.raw.includes("Task Completed"));
    const [req] = obs(rec, "hostd.request");
    assert.equal(req?.api, "CreateTemporaryFileInGuest");
    assert.equal(req?.session, "52018116-1111-2222-3333-444455556666");
    assert.equal(obs(rec, "hostd.event").length, 2);
    const kinds = rec.sessions().map((s) => s.kind);
    assert.deepEqual(kinds, ["password-accepted", "login-failed"]);
    assertAccounted(rec, text.split("\n").length - 1);
  });

  it("reads quoted @4413 blocks and the 9.x local form as inferred", () => {
    const rec = readLines(hostdReader, fixture("esx9-local.log"), source(), OPTS);
    assert.deepEqual(rec.issues, []);
    const [state] = obs(rec, "hostd.state");
    assert.equal(state?.vm?.vmx, '/vmfs/volumes/ds1/db "prod"/db.vmx');
    assert.equal(state?.user, "vpxuser:VSPHERE.LOCAL\\alice");
    assert.equal(state?.thread, "2099494");
    const [ev] = obs(rec, "hostd.event");
    assert.equal(ev?.vm?.name, 'db "prod"');
    assert.equal(ev?.api, "ListProcessesInGuest");
    const [path] = obs(rec, "hostd.file-path");
    assert.equal(path?.opId, "ops-1a2c");
    assert.ok(rec.records.every((r) => r.evidence === "inferred"));
  });

  it("reads pre-5.0 and 5.x bracket lines; a pre-5.0 time is zone-assumed", () => {
    const rec = readLines(hostdReader, fixture("legacy.log"), source(), OPTS);
    const [state, ev] = rec.observations();
    assert.equal(state?.kind, "hostd.state");
    assert.equal(
      state?.vm?.vmx,
      "/vmfs/volumes/4d6579ec-23f981cb-465c-00237da0cfee/App Server/App Server.vmx",
    );
    assert.equal(state?.opId, "F6FC49D5-000007E6-d");
    assert.equal(state?.timeAssumed, true);
    assert.equal(state?.time, "2011-04-01T15:14:34.203Z");
    assert.equal(ev?.api, "InitiateFileTransferFromGuest");
    assert.equal(ev?.user, "root");
    assert.equal(ev?.timeAssumed, undefined);
    assert.deepEqual(rec.issueCodes(), ["assumed_time"]);
  });

  it("takes the block of RFC 5424 hostd lines from the header SD and counts shortened ones", () => {
    const rec = readLines(hostdReader, fixture("rfc5424-hostd.log"), source(), OPTS);
    const [ev, state, path] = rec.observations();
    assert.equal(ev?.host, "esx-d.lab");
    assert.equal(ev?.opId, "d1");
    assert.equal(state?.user, "root");
    assert.equal(state?.vm?.vmx, "/vmfs/volumes/ds/vm-d/vm-d.vmx");
    assert.equal(path?.guest?.path, "/tmp/a", "BOM dropped");
    assert.ok(rec.records.every((r) => r.evidence === "inferred"));
    assert.deepEqual(rec.issueCodes(), ["truncated_record"]);
  });

  it("keeps provenance byte-exact: the whole physical lines, joined with \\n", () => {
    const text = fixture("esx80-local.log");
    const rec = readLines(hostdReader, text, source(), OPTS);
    const physical = text.split("\n");
    for (const r of rec.records) {
      const lines = r.prov.raw.split("\n");
      assert.equal(lines.length, r.prov.lineCount);
      for (const l of lines) assert.ok(physical.includes(l), l);
      assert.equal(lines[0], physical[r.prov.line - 1]);
    }
  });

  it("folds interleaved dumps of two syslog-wrapped hosts by host and thread", () => {
    const lines = [
      "<166>2024-06-04T21:58:00.960Z esx-a Hostd[11]: [Originator@6876 sub=Solo.Vmomi opID=a1] Arg spec:",
      "<166>2024-06-04T21:58:00.960Z esx-b Hostd[11]: [Originator@6876 sub=Solo.Vmomi opID=b1] Arg auth:",
      "<166>2024-06-04T21:58:00.961Z esx-a Hostd[11]: --> (vim.vm.guest.ProcessManager.ProgramSpec) {",
      "<166>2024-06-04T21:58:00.961Z esx-b Hostd[11]: --> (vim.vm.guest.NamePasswordAuthentication) {",
      '<166>2024-06-04T21:58:00.962Z esx-b Hostd[11]: -->    username = "CORP\\\\eve",',
      '<166>2024-06-04T21:58:00.962Z esx-a Hostd[11]: -->    programPath = "/bin/sh",',
      "<166>2024-06-04T21:58:00.963Z esx-b Hostd[11]: -->    password = (not shown)",
      "<166>2024-06-04T21:58:00.963Z esx-a Hostd[11]: --> }",
      "<166>2024-06-04T21:58:00.964Z esx-b Hostd[11]: --> }",
    ];
    const rec = readLines(hostdReader, lines.join("\n"), source(), OPTS);
    const args = obs(rec, "hostd.args");
    assert.equal(args.length, 2);
    const a = args.find((o) => o.host === "esx-a");
    const b = args.find((o) => o.host === "esx-b");
    assert.equal(a?.guest?.program, "/bin/sh");
    assert.equal(a?.opId, "a1");
    assert.deepEqual(a?.prov.raw.split("\n"), [lines[0], lines[2], lines[5], lines[7]]);
    assert.equal(b?.guest?.username, "CORP\\eve");
    assert.equal(b?.prov.lineCount, 5);
    assert.ok(b?.prov.raw.split("\n").every((l) => l.includes(" esx-b ")));
  });

  it("does not fold a later dump whose head the prefilter dropped into a finished one", () => {
    const text = [
      "<166>2024-06-04T21:58:00.960Z esx-a Hostd[11]: [Originator@6876 sub=Solo.Vmomi opID=a1] Arg spec:",
      "<166>2024-06-04T21:58:00.961Z esx-a Hostd[11]: --> (vim.vm.guest.ProcessManager.ProgramSpec) {",
      '<166>2024-06-04T21:58:00.961Z esx-a Hostd[11]: -->    programPath = "/bin/sh",',
      "<166>2024-06-04T21:58:00.962Z esx-a Hostd[11]: --> }",
      // An unrelated multi-line message of the same thread: its head has no marker.
      "<166>2024-06-04T21:58:00.970Z esx-a Hostd[11]: [Originator@6876 sub=PropertyProvider] RecordOp ASSIGN:",
      "<166>2024-06-04T21:58:00.970Z esx-a Hostd[11]: --> (vim.vm.GuestInfo) {",
      '<166>2024-06-04T21:58:00.970Z esx-a Hostd[11]: -->    guestState = "running",',
      "<166>2024-06-04T21:58:00.970Z esx-a Hostd[11]: --> }",
    ].join("\n");
    const rec = readFiltered(text);
    const [args] = obs(rec, "hostd.args");
    assert.equal(args?.prov.lineCount, 4);
    assert.deepEqual(
      rec.issues,
      [],
      "a vim.vm.GuestInfo property dump is not lost guest-op evidence",
    );
    assertAccounted(rec, rec.passed);
  });

  it("does not fold a continuation line that comes long after its record's head", () => {
    const text = [
      "<166>2024-06-04T21:58:00.960Z esx-a Hostd[11]: [Originator@6876 sub=Solo.Vmomi] Arg spec:",
      "<166>2024-06-04T21:58:30.000Z esx-a Hostd[11]: --> (vim.vm.guest.ProcessManager.ProgramSpec) {",
      "<166>2024-06-04T21:58:30.000Z esx-a Hostd[11]: --> }",
    ].join("\n");
    const rec = readLines(hostdReader, text, source(), OPTS);
    assert.equal(obs(rec, "hostd.args").length, 0);
    assert.deepEqual(rec.issueCodes(), ["orphan_part"]);
  });

  it("reads routed lines (body + envelope) and keeps the full line as raw", () => {
    const { ctx, rec } = recorder(source(), OPTS);
    const p = hostdReader.open(ctx);
    const line =
      "<166>2024-06-04T21:58:00.975Z esx9 Hostd[5]: [Originator@6876 sub=Vimsvc.ha-eventmgr] Event 9 : Guest operation Start Program performed on Virtual machine v.";
    const body = line.slice(line.indexOf("[Originator"));
    p.line(body, 1, {
      host: "esx9",
      program: "Hostd",
      pid: "5",
      time: "2024-06-04T21:58:00.975Z",
      body,
      line,
    });
    p.line(body, 2, { host: "esx9", program: "Hostd", pid: "5", body });
    p.end();
    const [a, b] = rec.observations();
    assert.equal(a?.host, "esx9");
    assert.equal(a?.prov.raw, line);
    assert.equal(
      b?.prov.raw,
      body,
      "an envelope built from JSON fields has no line: the body is raw",
    );
    assert.equal(b?.time, undefined);
    assert.deepEqual(rec.issueCodes(), ["missing_time"]);
  });

  it("splits rsyslog #012 escapes into continuation lines", () => {
    const line =
      '2024-06-04T21:58:00.960Z esx-a hostd: verbose hostd[7C] [Originator@6876 sub=Solo.Vmomi] Arg spec:#012--> (vim.vm.guest.ProcessManager.ProgramSpec) {#012-->    programPath = "/bin/id",#012--> }';
    const rec = readLines(hostdReader, line, source(), OPTS);
    const [args] = obs(rec, "hostd.args");
    assert.equal(args?.guest?.program, "/bin/id");
    assert.equal(args?.prov.lineCount, 1);
  });

  it("counts a relevant continuation block without its head once, and never crashes on it", () => {
    const text = [
      "--> (vim.vm.guest.NamePasswordAuthentication) {",
      '-->    username = "",',
      "--> }",
      "--> (vim.SomethingElse) {",
      "--> }",
    ].join("\n");
    const rec = readLines(hostdReader, text, source(), OPTS);
    assert.deepEqual(rec.issueCodes(), ["orphan_part"]);
    assert.equal(rec.records.length, 0);
    assert.equal(rec.skipped.length, 4);
    // An irrelevant block after a filtered-out head is skipped silently.
    const quiet = readLines(hostdReader, "--> (vim.host.Foo) {\n--> }", source(), OPTS);
    assert.deepEqual(quiet.issues, []);
    assert.equal(quiet.skipped.length, 2);
  });

  it("reads a truncated forwarded line as far as it goes", () => {
    const rec = readLines(
      hostdReader,
      [
        "<166>2024-06-04T21:58:00.975Z esx1 Hostd[1]: [Originator@6876 sub=Vimsvc.ha-eventmgr] Event 246 : Guest operation Start Program performed on Virtual machine very-long-na",
        "<166>2024-06-04T21:58:00.976Z esx1 Hostd[2]: [Originator@6876 sub=Vmsvc.vm:/vmfs/volumes/ds/vm/vm.vmx opID=o1 user=ro",
      ].join("\n"),
      source(),
      OPTS,
    );
    const [ev] = rec.observations();
    assert.equal(ev?.vm?.name, "very-long-na");
    assert.equal(ev?.api, "StartProgramInGuest");
    assert.deepEqual(rec.issueCodes(), ["truncated_record", "truncated_record"]);
  });

  it("reports lines that look relevant but follow no hostd grammar", () => {
    const rec = readLines(hostdReader, "garbage Guest operation line\n\n", source(), OPTS);
    assert.deepEqual(rec.issueCodes(), ["unparsed_line"]);
    assert.equal(rec.skipped.length, 1);
  });

  it("keeps hostile strings as data", () => {
    const evil = "__proto__";
    const text = [
      `2024-06-04T21:58:00.975Z In(166) Hostd[1]: [Originator@6876 sub=${evil} opID=${evil} user=${evil}] Event 1 : Guest operation Start Program performed on Virtual machine ${evil}\u001b[2J\u0000.`,
      `2024-06-04T21:58:00.975Z In(166) Hostd[1]: [Originator@6876 sub=Vimsvc.ha-eventmgr] Event 2 : User ${evil}@toString logged in as \u0007`,
      "2024-06-04T21:58:00.975Z In(166) Hostd[1]: " + "[".repeat(65536),
      "2024-06-04T21:58:00.975Z In(166) Hostd[1]: [Originator@6876 sub=" + "a]".repeat(32768),
      "2024-06-04T21:58:00.975Z info hostd[1] [Originator@6876 sub=" + "Vmsvc.vm: ".repeat(6000),
      "--> " + '"'.repeat(65536),
    ].join("\n");
    const rec = readLines(hostdReader, text, source(), OPTS);
    const [ev] = rec.observations();
    assert.equal(ev?.user, evil);
    assert.equal(ev?.opId, evil);
    assert.equal(ev?.vm?.name, `${evil}\u001b[2J\u0000`);
    assert.equal(Object.getPrototypeOf(ev), Object.prototype);
    const [login] = rec.sessions();
    assert.equal(login?.user, evil);
    assert.equal(login?.sourceIp, "toString");
    assert.equal(login?.userAgent, "\u0007");
    // Attacker-chosen keys never become properties.
    const r = readHostdLine(
      '2024-06-04T21:58:00.975Z In(166) Hostd[1]: [Originator@4413 __proto__="x" constructor="y" opID="z"] m',
      OPTS,
    );
    assert.ok(r.type === "hostd");
    if (r.type === "hostd") {
      assert.equal(r.line.block.opId, "z");
      assert.equal(Object.getPrototypeOf(r.line.block), Object.prototype);
      assert.deepEqual(Object.keys(r.line.block), ["opId"]);
    }
  });

  it("never keeps the password of an auth dump", () => {
    const text = [
      "2016-11-04T19:14:11.800Z verbose hostd[7C] [Originator@6876 sub=Solo.Vmomi] Arg auth:",
      "--> (vim.vm.guest.NamePasswordAuthentication) {",
      '-->    username = "root",',
      '-->    password = "hunter2"',
      "--> }",
    ].join("\n");
    const rec = readLines(hostdReader, text, source(), OPTS);
    const [args] = obs(rec, "hostd.args");
    assert.deepEqual(args?.guest, { username: "root" });
    const fields = JSON.stringify({ ...args, prov: undefined });
    assert.ok(!fields.includes("hunter2"));
  });

  it("closes dumps that never end at the end of input, counted as truncated", () => {
    const text = [
      "2016-11-04T19:14:11.800Z verbose hostd[7C] [Originator@6876 sub=Solo.Vmomi] Arg spec:",
      "--> (vim.vm.guest.ProcessManager.ProgramSpec) {",
      '-->    programPath = "/bin/ls",',
      '-->    arguments = "-la /ro',
    ].join("\n");
    const rec = readLines(hostdReader, text, source(), OPTS);
    const [args] = obs(rec, "hostd.args");
    assert.equal(args?.guest?.program, "/bin/ls");
    assert.equal(args?.guest?.arguments, "-la /ro");
    assert.deepEqual(rec.issueCodes(), ["truncated_record"]);
  });

  it("sniffs local hostd high, hostd-only syslog lower, other text not at all", () => {
    const local = fixture("esx65-local.log").split("\n");
    assert.ok(sniffHostd(local) > 0.9);
    assert.ok(sniffHostd(fixture("esx80-local.log").split("\n")) > 0.9);
    const wrapped = fixture("rfc5424-hostd.log").split("\n");
    assert.equal(sniffHostd(wrapped), 0.7);
    assert.equal(sniffHostd(["hello", "world"]), 0);
    assert.equal(sniffHostd(fixture("legacy.log").split("\n")), 0.5);
  });

  describe("line grammar", () => {
    it("does not take the ESXi 8 severity for a host", () => {
      const r = readHostdLine(
        "2024-06-04T21:58:00.975Z In(166) Hostd[1050232]: [Originator@6876 sub=Vimsvc.ha-eventmgr] x",
        OPTS,
      );
      assert.equal(r.type, "hostd");
      if (r.type === "hostd") {
        assert.equal(r.line.host, undefined);
        assert.equal(r.line.thread, "1050232");
        assert.equal(r.line.block.sub, "Vimsvc.ha-eventmgr");
      }
    });

    it("reports another program's syslog line as foreign", () => {
      const r = readHostdLine(
        "<166>2024-06-04T21:58:00.975Z h vpxa[1]: [Originator@6876 sub=x] y",
        OPTS,
      );
      assert.deepEqual(r, { type: "foreign", program: "vpxa" });
    });

    it("keeps brackets inside unquoted values", () => {
      for (const [sub, msg] of [
        ["SoapAdapter[1].HTTPService", "Max buffered"],
        ["WorkQueue.rhttpproxy.packetsniffer[0000562e3c06fee0].queue", "Created"],
        ["Vimsvc.Ticket 52 66 af 87", "Ticket issued"],
        ["Hostsvc.AppConfigOptionsProvider(Config.HostAgent.)", "Set called"],
      ] as const) {
        const r = readHostdLine(
          `2022-06-02T08:34:54.811Z info hostd[44568] [Originator@6876 sub=${sub} opID=o] ${msg}`,
          OPTS,
        );
        assert.ok(r.type === "hostd");
        if (r.type === "hostd") {
          assert.equal(r.line.block.sub, sub);
          assert.equal(r.line.block.opId, "o");
          assert.equal(r.line.msg, msg);
        }
      }
    });

    it("extends a VM path whose name holds '] ' to the .vmx", () => {
      const r = readHostdLine(
        "2016-11-04T19:14:11.716Z info hostd[1] [Originator@6876 sub=Vmsvc.vm:/vmfs/volumes/ds/a] b/a] b.vmx opID=o1 user=root] State Transition (VM_STATE_ON -> VM_STATE_GUEST_OPERATION)",
        OPTS,
      );
      assert.ok(r.type === "hostd");
      if (r.type === "hostd") {
        assert.equal(r.line.block.sub, "Vmsvc.vm:/vmfs/volumes/ds/a] b/a] b.vmx");
        assert.equal(r.line.block.opId, "o1");
        assert.ok(r.line.msg.startsWith("State Transition"));
      }
    });
  });

  describe("real samples", () => {
    const opts = { skip: realSamplesSkip() };
    const read = (name: string): Recording =>
      readLines(hostdReader, readRealSample(name), source(name), { assumeTz: "UTC" });

    it("artefacts.help ESXi 8 hostd: 6 guest-op events, 3 paths, 2 logins", opts, () => {
      const rec = read("artefacts-help-esxi8-hostd.log");
      assert.deepEqual(rec.issues, []);
      const events = obs(rec, "hostd.event");
      assert.deepEqual(
        events.map((e) => [e.eventKey, e.api]),
        [
          ["229", "InitiateFileTransferToGuest"],
          ["243", "InitiateFileTransferFromGuest"],
          ["245", "CreateTemporaryFileInGuest"],
          ["246", "StartProgramInGuest"],
          ["249", "InitiateFileTransferFromGuest"],
          ["250", "DeleteFileInGuest"],
        ],
      );
      assert.ok(
        events.every((e) => e.vm?.name === "<VIRTUAL_MACHINE_NAME>" && e.user === undefined),
      );
      assert.ok(events.every((e) => e.evidence === "verbatim" && e.host === undefined));
      assert.equal(events[3]?.time, "2024-06-04T21:58:00.975Z");
      assert.deepEqual(
        obs(rec, "hostd.file-path").map((o) => o.guest?.path),
        [
          "<DESTINATION_FULL_PATH>",
          "<SOURCE_FULL_PATH>",
          "C:\\Users\\vagrant\\AppData\\Local\\Temp\\powerclivmware151",
        ],
      );
      assert.equal(rec.observations().length, 9);
      const logins = rec.sessions().filter((s) => s.kind === "login");
      assert.deepEqual(
        logins.map((s) => [s.user, s.sourceIp, s.opId, s.session]),
        [
          ["root", "192.168.127.10", "esxui-8c02-9b39", "52f0e556"],
          ["root", "192.168.127.13", "c4c96306", "52018116"],
        ],
      );
      assert.ok(logins[0]?.userAgent?.startsWith("Mozilla/5.0 (Windows NT 10.0"));
      assert.equal(logins[1]?.userAgent, "PowerCLI/13.2.1.22851661");
      const pw = rec.sessions().find((s) => s.kind === "password-accepted") as SessionRecord;
      assert.equal(pw.session, "52f0e556-5be4-83d4-8d71-8f9d8a43791c");
      assert.equal(rec.sessions().find((s) => s.kind === "auth")?.user, "root");
    });

    it("vic #3029 (ESXi 6.5): 2 transitions, 1 event, kill/USR1 args, SystemError", opts, () => {
      const rec = read("vmware-vic-issue-3029-hostd-esxi65-guestops.log");
      const states = obs(rec, "hostd.state");
      assert.deepEqual(
        states.map((s) => [s.opId, s.user]),
        [
          ["ee13d46d", "root"],
          ["ee13d483", "root"],
        ],
      );
      assert.ok(
        states.every((s) => s.vm?.vmx?.endsWith(".vmx") && s.vm.vmx.startsWith("/vmfs/volumes/")),
      );
      const [ev] = obs(rec, "hostd.event");
      assert.equal(ev?.eventKey, "108657");
      assert.equal(
        ev?.vm?.name,
        "O5aVzp722s0Hq6O-9d7d7b169db35757c07823141e549550260683e29e267860f36ff0c8b3ff0d11",
      );
      const [args] = obs(rec, "hostd.args");
      assert.equal(args?.guest?.program, "kill");
      assert.equal(args?.guest?.arguments, "USR1");
      assert.equal(args?.guest?.workingDirectory, undefined);
      assert.equal(args?.thread, "7C486B70");
      const [fault] = obs(rec, "hostd.fault");
      assert.equal(fault?.fault, "vmodl.fault.SystemError");
      assert.equal(fault?.thread, "7C486B70");
      assert.equal(fault?.prov.lineCount, 8);
      // The headless auth dump after the blank line: counted once, nothing invented from it.
      assert.deepEqual(rec.issueCodes(), ["orphan_part"]);
      assert.equal(rec.observations().length, 5);
    });

    it("vic #6199: an invalid transition out of GUEST_OPERATION yields nothing", opts, () => {
      const rec = read("vmware-vic-issue-6199-hostd-guest-operation-state.log");
      assert.equal(rec.records.length, 0);
      assert.deepEqual(rec.issues, []);
    });

    it(
      "virtualtassie: vpxuser:vpxuser parses; a Throw outside a guest call is skipped",
      opts,
      () => {
        const text = readRealSample("virtualtassie-blog-hostd-vpxuser-vpxuser.log");
        const r = readHostdLine(text.split("\n")[0] ?? "", OPTS);
        assert.ok(r.type === "hostd");
        if (r.type === "hostd") {
          assert.equal(r.line.block.user, "vpxuser:vpxuser");
          assert.equal(r.line.block.opId, "24c670de-01-01-01-14-0ef2");
          assert.equal(r.line.block.sub, "Solo.Vmomi");
        }
        const rec = read("virtualtassie-blog-hostd-vpxuser-vpxuser.log");
        assert.equal(rec.records.length, 0);
        assert.deepEqual(rec.issues, []);
      },
    );

    it("tenzir: RFC 3164 ESXi 8 with PRI parses, nothing guest-related in it", opts, () => {
      const [line] = readRealSample(
        "tenzir-changelog-esxi-hostd-rfc3164-structured-example.log",
      ).split("\n");
      const r = readHostdLine(line ?? "", OPTS);
      assert.ok(r.type === "hostd");
      if (r.type === "hostd") {
        assert.equal(r.line.host, "esxi-01.example.invalid");
        assert.equal(r.line.thread, "2099494");
        assert.equal(r.line.block.opId, "11111111-2222-3333-4444-555555555555");
        assert.equal(r.line.msg, "Task Completed");
      }
    });

    it(
      "OMS: the receiver form `host hostd: info hostd[tid]` with a vCenter principal",
      opts,
      () => {
        const lines = readRealSample("microsoft-oms-agent-parser-vmware-logs-test-lines.log").split(
          "\n",
        );
        const parsed = lines.map((l) => readHostdLine(l, OPTS));
        const hostd = parsed.filter((r) => r.type === "hostd");
        assert.equal(hostd.length, 2);
        for (const r of hostd) {
          if (r.type !== "hostd") continue;
          assert.equal(r.line.host, "contosa.vm.esxi1");
          assert.equal(r.line.block.user, "vpxuser:VSPHERE.LOCAL\\Administrator");
          assert.equal(r.line.block.sub, "Vimsvc.ha-eventmgr");
        }
        assert.deepEqual(
          parsed.filter((r) => r.type === "foreign").map((r) => r.type === "foreign" && r.program),
          ["vmkernel", "vmkernel"],
        );
      },
    );

    it("lnav samples: every header variant reads without a crash", opts, () => {
      const rec = read("lnav-vmw-log-and-esx-syslog-format-samples.log");
      assert.equal(rec.observations().length, 0);
      const text = readRealSample("lnav-vmw-log-and-esx-syslog-format-samples.log");
      const hostd = text
        .split("\n")
        .map((l) => readHostdLine(l, OPTS))
        .filter((r) => r.type === "hostd");
      assert.ok(hostd.length >= 8);
    });

    it("auth/shell and the Elastic vCenter mix give no hostd records", opts, () => {
      for (const name of [
        "artefacts-help-esxi8-auth-shell.log",
        "elastic-integrations-vsphere-test-format-common.log",
      ]) {
        const rec = read(name);
        assert.equal(rec.records.length, 0, name);
      }
    });
  });

  describe("continuation lines read from their first bytes", () => {
    /** The same lines through the router path: body + the envelope parseEnvelope gives. */
    function readAsRouted(lines: readonly string[]): Recording {
      const { ctx, rec } = recorder(source(), OPTS);
      const p = hostdReader.open(ctx);
      lines.forEach((l, i) => {
        const env = parseEnvelope(l, OPTS);
        if (env === undefined) p.line(l, i + 1);
        else p.line(env.body, i + 1, env);
      });
      p.end();
      return rec;
    }

    it("folds interleaved ESXi 8 [+] dumps of two pids, and reads them the same when routed", () => {
      const lines = [
        "2024-06-04T21:58:00.960Z Db(167) Hostd[11]: [Originator@6876 sub=Solo.Vmomi opID=a1] Arg spec:",
        "2024-06-04T21:58:00.960Z Db(167) Hostd[12]: [Originator@6876 sub=Solo.Vmomi opID=b1] Arg auth:",
        "2024-06-04T21:58:00.961Z Db(167)[+] Hostd[11]: --> (vim.vm.guest.ProcessManager.ProgramSpec) {",
        "2024-06-04T21:58:00.961Z Db(167)[+] Hostd[12]: --> (vim.vm.guest.NamePasswordAuthentication) {",
        '2024-06-04T21:58:00.962Z Db(167)[+] Hostd[12]: -->    username = "eve",',
        '2024-06-04T21:58:00.962Z Db(167)[+] Hostd[11]: -->    programPath = "/bin/sh",',
        "2024-06-04T21:58:00.963Z Db(167)[+] Hostd[12]: --> }",
        "2024-06-04T21:58:00.963Z Db(167)[+] Hostd[11]: --> }",
      ];
      const rec = readLines(hostdReader, lines.join("\n"), source(), OPTS);
      const args = obs(rec, "hostd.args");
      assert.equal(args.length, 2);
      const a = args.find((o) => o.opId === "a1");
      const b = args.find((o) => o.opId === "b1");
      assert.equal(a?.guest?.program, "/bin/sh");
      assert.equal(a?.thread, "11");
      assert.deepEqual(a?.prov.raw.split("\n"), [lines[0], lines[2], lines[5], lines[7]]);
      assert.equal(b?.guest?.username, "eve");
      assert.deepEqual(b?.prov.raw.split("\n"), [lines[1], lines[3], lines[4], lines[6]]);
      assert.deepEqual(rec.issues, []);
      assert.deepEqual(readAsRouted(lines).records, rec.records);
    });

    it("folds thread-less syslog continuations into their host's last record, hosts interleaved", () => {
      const lines = [
        "<166>2024-06-04T21:58:00.960Z esx-a Hostd: verbose hostd[7A] [Originator@6876 sub=Solo.Vmomi opID=a1] Arg spec:",
        "<166>2024-06-04T21:58:00.960Z esx-b Hostd: verbose hostd[7B] [Originator@6876 sub=Solo.Vmomi opID=b1] Arg spec:",
        "<166>2024-06-04T21:58:00.961Z esx-a Hostd: --> (vim.vm.guest.ProcessManager.ProgramSpec) {",
        "<166>2024-06-04T21:58:00.961Z esx-b Hostd: --> (vim.vm.guest.ProcessManager.ProgramSpec) {",
        '<166>2024-06-04T21:58:00.962Z esx-b Hostd: -->    programPath = "/bin/b",',
        '<166>2024-06-04T21:58:00.962Z esx-a Hostd: -->    programPath = "/bin/a",',
        "<166>2024-06-04T21:58:00.963Z esx-a Hostd: --> }",
        "<166>2024-06-04T21:58:00.963Z esx-b Hostd: --> }",
      ];
      const rec = readLines(hostdReader, lines.join("\n"), source(), OPTS);
      const args = obs(rec, "hostd.args");
      assert.deepEqual(
        args.map((o) => [o.host, o.thread, o.guest?.program, o.prov.lineCount]),
        [
          ["esx-a", "7A", "/bin/a", 4],
          ["esx-b", "7B", "/bin/b", 4],
        ],
      );
      assert.deepEqual(readAsRouted(lines).records, rec.records);
    });

    it("does not fold a local continuation after a dropped head into the dump before it", () => {
      const text = [
        "2016-11-04T19:14:11.716Z verbose hostd[7C] [Originator@6876 sub=Solo.Vmomi] Arg spec:",
        "--> (vim.vm.guest.ProcessManager.ProgramSpec) {",
        '-->    programPath = "/bin/sh",',
        // the dump is still open (no closing brace) when an unrelated head without a marker comes
        "2016-11-04T19:14:11.717Z info hostd[7C] [Originator@6876 sub=PropertyProvider] RecordOp:",
        "--> (vim.host.Foo) {",
        "--> }",
      ].join("\n");
      const rec = readFiltered(text);
      const [args] = obs(rec, "hostd.args");
      assert.equal(args?.guest?.program, "/bin/sh");
      assert.equal(args?.prov.lineCount, 3, "the lines after the gap are not part of it");
      assert.deepEqual(rec.issueCodes(), ["truncated_record"]);
      assert.deepEqual(rec.skipped, [5, 6], "an irrelevant orphan block is skipped silently");
      assertAccounted(rec, rec.passed);
    });

    it("reports an orphan block that mentions guest operations once, at its first such line", () => {
      for (const [name, lines] of [
        [
          "local",
          [
            "--> (vim.TaskInfo) {",
            "-->    info = (vim.vm.guest.NamePasswordAuthentication) {",
            '-->       username = "eve",',
            "--> }",
          ],
        ],
        [
          "ESXi 8",
          [
            "2024-06-04T21:58:00.961Z Db(167)[+] Hostd[11]: --> (vim.TaskInfo) {",
            "2024-06-04T21:58:00.961Z Db(167)[+] Hostd[11]: -->    info = (vim.vm.guest.NamePasswordAuthentication) {",
            '2024-06-04T21:58:00.961Z Db(167)[+] Hostd[11]: -->       username = "eve",',
            "2024-06-04T21:58:00.961Z Db(167)[+] Hostd[11]: --> }",
          ],
        ],
      ] as const) {
        const rec = readLines(hostdReader, lines.join("\n"), source(), OPTS);
        assert.deepEqual(
          rec.issues.map((i) => [i.code, i.line, i.excerpt]),
          [["orphan_part", 2, lines[1]]],
          name,
        );
        assert.deepEqual(rec.skipped, [1, 3, 4], name);
        assert.equal(rec.records.length, 0, name);
      }
    });

    it("reads [+] lines without --> and CRLF input the same way as the LF input", () => {
      const lines = [
        "2024-06-04T21:58:00.960Z Db(167) Hostd[11]: [Originator@6876 sub=Solo.Vmomi opID=a1] Arg spec:",
        "2024-06-04T21:58:00.961Z Db(167)[+] Hostd[11]: (vim.vm.guest.ProcessManager.ProgramSpec) {",
        '2024-06-04T21:58:00.961Z Db(167)[+] Hostd[11]: -->    programPath = "/bin/sh",',
        "2024-06-04T21:58:00.962Z Db(167)[+] Hostd[11]: }",
      ];
      const lf = readLines(hostdReader, lines.join("\n"), source(), OPTS);
      const [args] = obs(lf, "hostd.args");
      assert.equal(args?.guest?.program, "/bin/sh");
      assert.equal(args?.prov.lineCount, 4);
      const crlf = readLines(hostdReader, `${lines.join("\r\n")}\r\n`, source(), OPTS);
      assert.deepEqual(crlf.records, lf.records);
      assert.deepEqual(crlf.issues, lf.issues);
    });

    it("starts an orphan block when a continuation comes over 5 s after its head, routed or not", () => {
      const lines = [
        "2024-06-04T21:58:00.960Z Db(167) Hostd[11]: [Originator@6876 sub=Solo.Vmomi] Arg spec:",
        "2024-06-04T21:58:06.000Z Db(167)[+] Hostd[11]: --> (vim.vm.guest.ProcessManager.ProgramSpec) {",
        '2024-06-04T21:58:06.000Z Db(167)[+] Hostd[11]: -->    programPath = "/bin/sh",',
        "2024-06-04T21:58:06.000Z Db(167)[+] Hostd[11]: --> }",
      ];
      const rec = readLines(hostdReader, lines.join("\n"), source(), OPTS);
      assert.equal(obs(rec, "hostd.args").length, 0);
      assert.deepEqual(rec.issueCodes(), ["orphan_part"]);
      assert.deepEqual(readAsRouted(lines).issues, rec.issues);
      // within the window, the same lines fold
      const near = lines.map((l) => l.replace("21:58:06.000Z", "21:58:04.960Z"));
      assert.equal(
        obs(readLines(hostdReader, near.join("\n"), source(), OPTS), "hostd.args").length,
        1,
      );
    });
  });
});

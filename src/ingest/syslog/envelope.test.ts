import { strict as assert } from "node:assert";
import { describe, it } from "node:test";
import { readRealSample, realSamplesSkip } from "../../../test/helpers/reader-harness.js";
import type { ReadOptions } from "../types.js";
import { facilityOf, parseEnvelope, severityOf } from "./envelope.js";

const UTC: ReadOptions = { assumeTz: "UTC", referenceTime: "2024-06-10T12:00:00.000Z" };

const env = (line: string, options: ReadOptions = UTC) => parseEnvelope(line, options);

describe("parseEnvelope", () => {
  it("reads ESXi 8 RFC 3164 with PRI and an RFC 3339 time (tenzir sample shape)", () => {
    const line =
      "<166>2026-02-11T18:01:45.587Z esxi-01.example.invalid Hostd[2099494]: [Originator@6876 sub=Vimsvc.TaskManager opID=x] Task Completed";
    const e = env(line);
    assert.deepEqual(e, {
      pri: 166,
      time: "2026-02-11T18:01:45.587Z",
      host: "esxi-01.example.invalid",
      program: "Hostd",
      pid: "2099494",
      body: "[Originator@6876 sub=Vimsvc.TaskManager opID=x] Task Completed",
      line,
    });
  });

  it("reads the ESXi 6.x/7.x tag without pid, body keeping the local line", () => {
    const e = env(
      "<166>2022-11-04T15:01:58.230Z ESXI Hostd: info hostd[1053970] [Originator@6876 sub=Vimsvc.ha-eventmgr] Event 406 : x",
    );
    assert.equal(e?.host, "ESXI");
    assert.equal(e?.program, "Hostd");
    assert.equal(e?.pid, undefined);
    assert.equal(
      e?.body,
      "info hostd[1053970] [Originator@6876 sub=Vimsvc.ha-eventmgr] Event 406 : x",
    );
  });

  it("reads a receiver file line without PRI (OMS sample shape)", () => {
    const e = env(
      "2016-09-14T14:14:25.234Z contosa.vm.esxi1 hostd: info hostd[70840B70] [Originator@6876 sub=Vimsvc.ha-eventmgr] Event 616 : x",
    );
    assert.equal(e?.pri, undefined);
    assert.equal(e?.time, "2016-09-14T14:14:25.234Z");
    assert.equal(e?.host, "contosa.vm.esxi1");
    assert.equal(e?.program, "hostd");
    assert.ok(e?.body.startsWith("info hostd[70840B70] "));
  });

  it("reads the ESXi 8 local file form as program and pid without a host", () => {
    const e = env(
      "2024-06-04T21:58:00.975Z In(166) Hostd[1050232]: [Originator@6876 sub=Vimsvc.ha-eventmgr] Event 246 : x",
    );
    assert.equal(e?.host, undefined, "In(166) is a severity, not a host");
    assert.equal(e?.pri, 166);
    assert.equal(e?.program, "Hostd");
    assert.equal(e?.pid, "1050232");
    assert.equal(e?.continued, undefined);
    assert.equal(e?.body, "[Originator@6876 sub=Vimsvc.ha-eventmgr] Event 246 : x");
  });

  it("flags the ESXi 8 [+] and + continuation markers", () => {
    const a = env('2024-06-04T21:58:00.975Z In(166)[+] Hostd[1050232]: -->    programPath = "x",');
    assert.equal(a?.continued, true);
    assert.equal(a?.body, '-->    programPath = "x",');
    const b = env("2024-06-04T21:58:00.975Z Db(167)+ Hostd[1]: --> }");
    assert.equal(b?.continued, true);
    assert.equal(b?.pri, 167);
  });

  it("keeps the PRI from <PRI> over the severity token", () => {
    const e = env("<14>2024-06-04T21:58:00.975Z esx1 In(166) Hostd[1]: msg");
    assert.equal(e?.pri, 14);
    assert.equal(e?.host, "esx1");
    assert.equal(e?.program, "Hostd");
  });

  it("returns undefined for local lines that only look like headers", () => {
    for (const line of [
      "2016-11-04T19:14:11.716Z info hostd[7BD44B70] [Originator@6876 sub=Vimsvc.ha-eventmgr] Event 108657 : x",
      "2020-05-11T22:32:22.736Z info -[1000212040] [Originator@6876 sub=Default] Successfully registered",
      "2014-01-17T04:55:50.347Z [7F03ECE76700 verbose 'Default' opID=2140bc71] [VpxVmomi] Invoke done: x",
      "[2011-04-01 15:14:34.203 F5A5AB90 info 'vm:/vmfs/volumes/4d/V/V.vmx' opID=F6] VMotionPrepare: x",
      '2025-06-04T17:06:21.349Z INFO vpxd 20973 [Originator@4413 sub="ServiceAccount"] x',
      "2024-06-04T22:45:46.667Z In(05) vmx - VigorTransportProcessClientPayload: opID=c4c964e7 seq=1",
      "2022-06-01T13:42:40.681Z In(05) host-16250 <analytics> Skip service health check.",
      "--> (vim.vm.guest.ProcessManager.ProgramSpec) {",
      "",
      "plain text",
      "2022-06-02 In(14) hostprofile[1001430319]: 05:34:23.666 {}",
    ]) {
      assert.equal(env(line), undefined, line);
    }
  });

  it("reads a tag straight after the time as a program without host", () => {
    const e = env("2020-05-11T22:32:09Z esxupdate: 1000211352: root: INFO: Command = x");
    assert.equal(e?.host, undefined);
    assert.equal(e?.program, "esxupdate");
    assert.equal(e?.time, "2020-05-11T22:32:09.000Z");
    assert.equal(e?.body, "1000211352: root: INFO: Command = x");
  });

  it("reads RFC 5424 with NILVALUEs and the double space vCenter writes", () => {
    const line =
      "<14>1 2021-09-06T14:40:13.263383+00:00 vcenter vpxd 58650 - -  Event [575792] [1-1] [x] [y]";
    assert.deepEqual(env(line), {
      pri: 14,
      time: "2021-09-06T14:40:13.263Z",
      host: "vcenter",
      program: "vpxd",
      pid: "58650",
      body: "Event [575792] [1-1] [x] [y]",
      line,
    });
    const e = env("<14>1 2021-09-06T14:40:05.753710+00:00 vcenter applmgmt-audit - - -  2021 x");
    assert.equal(e?.pid, undefined);
    assert.equal(e?.program, "applmgmt-audit");
    assert.equal(e?.body, "2021 x");
  });

  it("converts RFC 5424 offsets to UTC", () => {
    const e = env("<14>1 2022-09-01T06:06:19.084018+02:00 host123 vpxd 24962 - - Event [1]");
    assert.equal(e?.time, "2022-09-01T04:06:19.084Z");
    assert.equal(e?.timeAssumed, undefined);
  });

  it("keeps RFC 5424 structured data with escapes and strips the BOM", () => {
    const sd = '[api.call@6876 subject="root" object="a\\]b" result="success"][x@1 k="\\"q\\""]';
    const e = env(`<110>1 2024-06-04T21:58:00.975Z esx1 hostd 123 - ${sd} \uFEFFhello`);
    assert.equal(e?.structuredData, sd);
    assert.equal(e?.body, "hello");
    assert.equal(facilityOf(e?.pri ?? 0), 13);
    assert.equal(severityOf(e?.pri ?? 0), 6);
  });

  it("reads RFC 5424 hostd with an SD element in the header and the time NILVALUE", () => {
    const e = env(
      '<166>1 - esx1 Hostd 1050232 - [Originator@6876 sub="Vimsvc.ha-eventmgr" opID="abc"] Event 1 : x',
    );
    assert.equal(e?.time, undefined);
    assert.equal(e?.structuredData, '[Originator@6876 sub="Vimsvc.ha-eventmgr" opID="abc"]');
    assert.equal(e?.body, "Event 1 : x");
  });

  it("parses truncated RFC 5424 lines as far as they go", () => {
    const a = env('<110>1 2024-06-04T21:58:00.975Z esx1 hostd 123 - [api.call@6876 subject="ro');
    assert.equal(a?.host, "esx1");
    assert.equal(a?.structuredData, '[api.call@6876 subject="ro');
    assert.equal(a?.body, "");
    const b = env("<166>1 2024-06-04T21:58:00.975Z esx1");
    assert.equal(b?.host, "esx1");
    assert.equal(b?.program, undefined);
  });

  it("parses a truncated RFC 3164 line as far as it goes", () => {
    const e = env(
      "<166>2024-06-04T21:58:00.975Z esx1 Hostd[1]: [Originator@6876 sub=Vimsvc.ha-eventmgr] Event 246 : Guest operation Start Pro",
    );
    assert.equal(e?.program, "Hostd");
    assert.ok(e?.body.endsWith("Start Pro"));
    assert.equal(env("<166>2024-06-04T21:58:00.975Z esx1")?.host, "esx1");
  });

  it("infers the year of BSD timestamps from the reference time", () => {
    const ref: ReadOptions = { assumeTz: "UTC", referenceTime: "2024-01-02T00:00:00Z" };
    const a = env("Jan  1 23:59:59 esx1 Hostd[1]: x", ref);
    assert.equal(a?.time, "2024-01-01T23:59:59.000Z");
    assert.equal(a?.timeAssumed, true);
    // More than a day after the reference: last year.
    assert.equal(env("Dec 31 10:00:00 esx1 Hostd[1]: x", ref)?.time, "2023-12-31T10:00:00.000Z");
    assert.equal(env("Jan  3 00:00:01 esx1 Hostd[1]: x", ref)?.time, "2023-01-03T00:00:01.000Z");
    // Within a day after the reference: still this year.
    assert.equal(env("Jan  2 23:00:00 esx1 Hostd[1]: x", ref)?.time, "2024-01-02T23:00:00.000Z");
    // Year-end: a reference on Dec 31 and a line on Jan 1 a few hours later is next year.
    const eoy: ReadOptions = { assumeTz: "UTC", referenceTime: "2023-12-31T23:00:00Z" };
    assert.equal(env("Jan  1 01:00:00 esx1 Hostd[1]: x", eoy)?.time, "2024-01-01T01:00:00.000Z");
  });

  it("places Feb 29 in the last leap year", () => {
    const ref: ReadOptions = { assumeTz: "UTC", referenceTime: "2026-03-01T00:00:00Z" };
    assert.equal(env("Feb 29 12:00:00 esx1 Hostd[1]: x", ref)?.time, "2024-02-29T12:00:00.000Z");
  });

  it("takes the zone of BSD timestamps from assumeTz, across DST", () => {
    const ny: ReadOptions = { assumeTz: "America/New_York", referenceTime: "2024-12-31T00:00:00Z" };
    assert.equal(env("Jan 15 10:00:00 esx1 Hostd[1]: x", ny)?.time, "2024-01-15T15:00:00.000Z");
    assert.equal(env("Jul 15 10:00:00 esx1 Hostd[1]: x", ny)?.time, "2024-07-15T14:00:00.000Z");
    assert.equal(env("Jul  4 10:00:00.250 esx1 Hostd[1]: x", ny)?.time, "2024-07-04T14:00:00.250Z");
  });

  it("accepts a BSD timestamp with a year, assuming only the zone", () => {
    const e = env("Nov 04 2016 19:14:11 esx1 hostd: x");
    assert.equal(e?.time, "2016-11-04T19:14:11.000Z");
    assert.equal(e?.timeAssumed, true);
  });

  it("assumes the zone of RFC 3339 times without an offset", () => {
    const e = env("2024-06-04T21:58:00.975 esx1 Hostd[1]: x", { assumeTz: "Europe/Paris" });
    assert.equal(e?.time, "2024-06-04T19:58:00.975Z");
    assert.equal(e?.timeAssumed, true);
  });

  it("truncates long fractions to milliseconds", () => {
    assert.equal(
      env("2024-06-04T21:58:00.9759999Z esx1 Hostd[1]: x")?.time,
      "2024-06-04T21:58:00.975Z",
    );
    assert.equal(env("2024-06-04T21:58:00.9Z esx1 Hostd[1]: x")?.time, "2024-06-04T21:58:00.900Z");
  });

  it("keeps a header with an impossible date but no time", () => {
    const e = env("<166>2024-13-45T21:58:00.975Z esx1 Hostd[1]: x");
    assert.equal(e?.program, "Hostd");
    assert.equal(e?.time, undefined);
  });

  it("rejects out-of-range PRI and malformed tags", () => {
    assert.equal(env("<999>2024-06-04T21:58:00.975Z esx1 Hostd[1]: x"), undefined);
    assert.equal(env("2024-06-04T21:58:00.975Z esx1 Hostd[1 2]: x"), undefined);
    assert.equal(env("2024-06-04T21:58:00.975Z esx1 Hostd[]: x"), undefined);
  });

  it("keeps hostile strings as data", () => {
    const e = env("2024-06-04T21:58:00.975Z __proto__ constructor[toString]: \u0000\u001b[31m x");
    assert.equal(e?.host, "__proto__");
    assert.equal(e?.program, "constructor");
    assert.equal(e?.pid, "toString");
    assert.equal(e?.body, "\u0000\u001b[31m x");
    assert.equal(Object.getPrototypeOf(e), Object.prototype);
    // A control character cannot be part of a tag.
    assert.equal(env("2024-06-04T21:58:00.975Z h prog[\u0007]: x"), undefined);
  });

  it("handles 64 KiB hostile lines in linear time", () => {
    // Correctness only; speed is covered by the benchmark. Each shape would hang a backtracking
    // regex; here each completes in one pass.
    const big = 65536;
    const shapes = [
      "<166>1 2024-06-04T21:58:00.975Z h a 1 - " + "[".repeat(big),
      "<166>1 2024-06-04T21:58:00.975Z h a 1 - [x@1 " + 'k="'.repeat(big / 3),
      "<166>1 2024-06-04T21:58:00.975Z h a 1 - [x@1 k=" + "a]".repeat(big / 2),
      "2024-06-04T21:58:00.975Z " + "a".repeat(big),
      "2024-06-04T21:58:00.975Z h " + "[".repeat(big) + ":",
      "<1>" + " ".repeat(big),
      "Jan " + "1".repeat(big),
    ];
    for (const line of shapes) parseEnvelope(line, UTC);
    const e = parseEnvelope(
      "<166>1 2024-06-04T21:58:00.975Z h a 1 - [x@1 k=" + "a]".repeat(big / 2),
      UTC,
    );
    assert.ok(e?.structuredData?.startsWith("[x@1 k=a]"));
  });

  describe("real samples", () => {
    const opts = { skip: realSamplesSkip() };
    const lines = (name: string): string[] =>
      readRealSample(name)
        .split("\n")
        .filter((l) => l.length > 0);

    it("reads every header in the Elastic vSphere sample", opts, () => {
      const all = lines("elastic-integrations-vsphere-test-format-common.log");
      assert.ok(all.length > 40);
      for (const l of all) {
        const e = env(l);
        assert.ok(e, l);
        assert.ok(e.time, l);
        assert.ok(e.host === "vcenter" || e.host === "ESXI" || e.host === "host123", l);
        assert.ok(e.program, l);
      }
      const events = all.map((l) => env(l)).filter((e) => e?.body.startsWith("Event ["));
      assert.ok(events.length >= 10);
      assert.ok(events.every((e) => e?.program === "vpxd"));
      const shell = all.map((l) => env(l)).find((e) => e?.program === "shell");
      assert.equal(facilityOf(shell?.pri ?? 0), 13);
      assert.ok(shell?.body.startsWith("[shell.cmd@6876 "));
    });

    it("reads every line of the ESXi 8 hostd sample as Hostd without a host", opts, () => {
      const all = lines("artefacts-help-esxi8-hostd.log");
      for (const l of all) {
        const e = env(l);
        assert.equal(e?.program, "Hostd", l);
        assert.equal(e?.host, undefined, l);
        assert.equal(e?.pri, 166, l);
        assert.ok(e?.time && l.startsWith(e.time), l);
      }
    });

    it("reads the OMS and tenzir receiver lines", opts, () => {
      const oms = lines("microsoft-oms-agent-parser-vmware-logs-test-lines.log").map((l) => env(l));
      assert.deepEqual(
        oms.map((e) => [e?.host, e?.program, e?.pid]),
        [
          ["contosa.vm.esxi1", "vmkernel", undefined],
          ["contosa.vm.esxi1", "vmkernel", "34242432"],
          ["contosa.vm.esxi1", "hostd", undefined],
          ["contosa.vm.esxi1", "hostd", undefined],
        ],
      );
      const [t] = lines("tenzir-changelog-esxi-hostd-rfc3164-structured-example.log");
      assert.equal(env(t ?? "")?.host, "esxi-01.example.invalid");
    });

    it("tells local 6.x hostd lines apart from syslog (vic samples)", opts, () => {
      for (const name of [
        "vmware-vic-issue-3029-hostd-esxi65-guestops.log",
        "vmware-vic-issue-6199-hostd-guest-operation-state.log",
        "virtualtassie-blog-hostd-vpxuser-vpxuser.log",
      ]) {
        for (const l of lines(name)) assert.equal(env(l), undefined, l);
      }
    });

    it("survives every lnav header variant", opts, () => {
      const all = lines("lnav-vmw-log-and-esx-syslog-format-samples.log");
      const got = all.map((l) => env(l));
      const hostd = got.filter((e) => e?.program === "Hostd");
      assert.equal(hostd.length, 4);
      assert.ok(hostd.every((e) => e?.host === undefined));
      const cont = got.find((e) => e?.program === "hostprofile" && e.continued);
      assert.ok(cont);
    });

    it("reads the ESXi 8 auth/shell sample (context only)", opts, () => {
      const got = lines("artefacts-help-esxi8-auth-shell.log").map((l) => env(l));
      assert.deepEqual([...new Set(got.map((e) => e?.program))], ["sshd", "SSH", "shell"]);
    });
  });
});

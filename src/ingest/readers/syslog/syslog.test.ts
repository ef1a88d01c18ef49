import { strict as assert } from "node:assert";
import { describe, it } from "node:test";
import {
  fixtures,
  readLines,
  readRealSample,
  realSamplesSkip,
  recorder,
  source,
} from "../../../../test/helpers/reader-harness.js";
import type { FormatName } from "../../../model/record.js";
import { readerByName } from "../../registry.js";
import type { LineReader, ReadOptions } from "../../types.js";
import { HOSTD_MARKERS } from "../hostd/index.js";
import { createSyslogReader, openRouter, routeOf, sniffSyslog } from "./index.js";

const registered = readerByName("syslog");
if (registered?.shape !== "lines") throw new Error("the syslog reader is not registered");
const syslogReader: LineReader = registered;

const text = fixtures(import.meta.url).text("receiver-two-hosts.log");
const OPTS: ReadOptions = { assumeTz: "Europe/Paris", referenceTime: "2024-06-10T00:00:00Z" };

describe("syslog router", () => {
  it("routes a receiver file of many hosts and programs to the right readers", () => {
    const rec = readLines(syslogReader, text, source("messages"), OPTS);
    const obs = rec.observations();
    const args = obs.filter((o) => o.kind === "hostd.args");
    assert.deepEqual(
      args.map((o) => [o.host, o.guest?.program, o.guest?.arguments, o.user]),
      [
        ["esx-a.lab", "/bin/bash", "-c id", "root"],
        ["esx-b.lab", "/usr/bin/curl", "-s http://198.51.100.7/x.sh", "vpxuser:VSPHERE.LOCAL\\bob"],
      ],
    );
    const lines = text.split("\n");
    for (const a of args) {
      for (const l of a.prov.raw.split("\n"))
        assert.ok(l.includes(` ${a.host} `), "no line of the other host");
      assert.equal(a.prov.lineCount, 5);
      assert.equal(
        a.prov.raw.split("\n")[0],
        lines[a.prov.line - 1],
        "raw keeps the syslog header",
      );
    }
    const events = obs.filter((o) => o.kind === "hostd.event");
    assert.deepEqual(
      events.map((e) => [e.host, e.eventKey]),
      [
        ["esx-a.lab", "300"],
        ["esx-b.lab", "8800"],
        ["esx-a.lab", "301"],
        ["esx-c", "5"],
        ["esx-e.lab", "617"],
      ],
    );
    const bsd = events.find((e) => e.host === "esx-c");
    assert.equal(
      bsd?.time,
      "2024-06-04T21:58:03.000Z",
      "Paris summer time, year from the reference",
    );
    assert.equal(bsd?.timeAssumed, true);
    assert.equal(
      events.find((e) => e.host === "esx-e.lab")?.user,
      "vpxuser:VSPHERE.LOCAL\\Administrator",
    );
    const audit = obs.filter((o) => o.kind === "audit.api-call");
    assert.equal(audit.length, 1);
    assert.equal(audit[0]?.api, "StartProgramInGuest");
    assert.deepEqual(rec.issueCodes().sort(), ["assumed_time", "truncated_record"]);
    assert.ok(rec.skipped.includes(14), "vmkernel line skipped");
    if (readerByName("vc-events") !== undefined) {
      const [login] = rec.sessions();
      assert.equal(login?.kind, "login");
      assert.equal(login?.userAgent, "govc/0.37.0");
    }
  });

  it("continues the last hostd record with header-less --> lines", () => {
    const rec = readLines(
      syslogReader,
      [
        "2024-06-04T21:58:00.960Z esx-a hostd: verbose hostd[7C] [Originator@6876 sub=Solo.Vmomi opID=o] Arg spec:",
        "--> (vim.vm.guest.ProcessManager.ProgramSpec) {",
        '-->    programPath = "/bin/true",',
        "--> }",
        "2024-06-04T21:58:00.970Z esx-a hostd: info hostd[7C] [Originator@6876 sub=Vimsvc.ha-eventmgr] Event 1 : Guest operation Start Program performed on Virtual machine v.",
      ].join("\n"),
      source(),
      OPTS,
    );
    const [args, ev] = rec.observations();
    assert.equal(args?.guest?.program, "/bin/true");
    assert.equal(args?.prov.lineCount, 4);
    assert.equal(args?.host, "esx-a");
    assert.equal(ev?.kind, "hostd.event");
  });

  it("tolerates a missing reader: its lines are skipped and counted in one issue", () => {
    const { ctx, rec } = recorder(source(), OPTS);
    const only = (name: FormatName) => (name === "hostd" ? readerByName(name) : undefined);
    const router = openRouter(ctx, only);
    const lines = text.split("\n").filter((l) => l !== "");
    lines.forEach((l, i) => router.line(l, i + 1));
    router.end();
    const missing = rec.issues.filter((i) => i.code === "unknown_format");
    assert.deepEqual(
      missing.map((i) => i.message),
      [
        "1 line(s) for the vc-events reader skipped: that reader is not available",
        "1 line(s) for the esx-audit reader skipped: that reader is not available",
      ],
    );
    assert.equal(rec.observations().filter((o) => o.kind === "hostd.event").length, 5);
  });

  it("takes envelopes built from JSON fields (the SIEM path)", () => {
    const { ctx, rec } = recorder(source("sentinel.json"), OPTS);
    const router = openRouter(ctx, readerByName);
    const msg =
      "info hostd[9B66B70] [Originator@6876 sub=Vimsvc.ha-eventmgr opID=SWI-1] Event 7 : Guest operation List Processes performed on Virtual machine app.";
    router.line(msg, 3, {
      host: "SAMPLEHOST0003",
      program: "Hostd",
      time: "2020-11-13T14:06:57.000Z",
      body: msg,
    });
    router.line("info vpxa[72BEB70] [Originator@6876 sub=Vpxa] x", 4, {
      host: "SAMPLEHOST0003",
      program: "Vpxa",
      body: "info vpxa[72BEB70] [Originator@6876 sub=Vpxa] x",
    });
    router.end();
    const [ev] = rec.observations();
    assert.equal(ev?.host, "SAMPLEHOST0003");
    assert.equal(ev?.api, "ListProcessesInGuest");
    assert.equal(ev?.time, "2020-11-13T14:06:57.000Z");
    assert.equal(ev?.prov.raw, msg);
    assert.deepEqual(rec.skipped, [4]);
  });

  it("routes by program, audit first", () => {
    const env = (program: string, body: string, pri?: number) => ({
      program,
      body,
      ...(pri !== undefined ? { pri } : {}),
    });
    assert.equal(routeOf(env("Hostd", "x")), "hostd");
    assert.equal(routeOf(env("hostd", '[api.call@6876 subject="r"]')), "esx-audit");
    assert.equal(routeOf(env("shell", "x", 110)), "esx-audit");
    assert.equal(routeOf(env("vpxd", "Event [1] [1-1] x")), "vc-events");
    assert.equal(routeOf(env("vpxd", "[VpxLRO] -- BEGIN")), "vpxd");
    assert.equal(routeOf(env("vmkernel", "Guest")), undefined);
  });

  it("works without the registry on host-side lines only", () => {
    const standalone = createSyslogReader();
    assert.ok(!standalone.markers.includes("[VpxLRO]"));
    const rec = readLines(standalone, text, source(), OPTS);
    assert.equal(rec.observations().filter((o) => o.kind === "hostd.event").length, 5);
    assert.equal(rec.issueCodes().filter((c) => c === "unknown_format").length, 1);
  });

  it("offers the union of the routed readers' markers", () => {
    const markers = syslogReader.markers;
    for (const m of HOSTD_MARKERS) assert.ok(markers.includes(m), m);
    assert.ok(markers.includes("vim.connect@"));
    if (readerByName("vc-events") !== undefined) assert.ok(markers.includes("Event ["));
  });

  it("sniffs mixed receiver files high and single-program local files low", () => {
    assert.equal(sniffSyslog(text.split("\n")), 0.85);
    assert.equal(
      sniffSyslog(["2024-06-04T21:58:00.975Z In(166) Hostd[1]: [Originator@6876 sub=x] y"]),
      0,
    );
    assert.equal(
      sniffSyslog(["2024-06-04T21:58:00.975Z esx1 Hostd[1]: [Originator@6876 sub=x] y"]),
      0.5,
    );
  });

  describe("real samples", () => {
    const opts = { skip: realSamplesSkip() };

    it(
      "Elastic vSphere mix: RFC 5424 vCenter lines and ESXi lines route without a crash",
      opts,
      () => {
        const rec = readLines(
          syslogReader,
          readRealSample("elastic-integrations-vsphere-test-format-common.log"),
          source("elastic.log"),
          { assumeTz: "UTC" },
        );
        assert.equal(rec.observations().length, 0, "no guest operations in it");
        assert.ok(!rec.issueCodes().includes("unparsed_line"));
        if (readerByName("vc-events") !== undefined) {
          const kinds = rec.sessions().map((s) => s.kind);
          assert.ok(kinds.includes("login") && kinds.includes("logout"));
        }
      },
    );

    it("OMS receiver lines: hostd lines routed, vmkernel skipped", opts, () => {
      const rec = readLines(
        syslogReader,
        readRealSample("microsoft-oms-agent-parser-vmware-logs-test-lines.log"),
        source("oms.log"),
        { assumeTz: "UTC" },
      );
      assert.equal(rec.records.length, 0);
      assert.deepEqual(rec.issues, []);
      assert.equal(rec.skipped.length, 4);
    });
  });
});

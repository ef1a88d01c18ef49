import assert from "node:assert/strict";
import { describe, it } from "node:test";
import {
  fixtures,
  readLines,
  readRealSample,
  realSamplesSkip,
  source,
} from "../../../../test/helpers/reader-harness.js";
import type { LoggingRecord } from "../../../model/record.js";
import { readerByName } from "../../registry.js";
import { createSyslogReader } from "../syslog/index.js";
import { matchLoggingText, vobdReader } from "./index.js";

const fixture = fixtures(import.meta.url).text;
const logging = (records: readonly { type: string }[]): LoggingRecord[] =>
  records.filter((r): r is LoggingRecord => r.type === "logging");

describe("vobd reader", () => {
  it("reads remote-logging failures from a local vobd.log, host from the input", () => {
    const rec = readLines(
      vobdReader,
      fixture("vobd.log"),
      source("vobd.log", { hostHint: "esx-c" }),
    );
    const got = logging(rec.records);
    assert.deepEqual(
      got.map((r) => [r.kind, r.time, r.target, r.host]),
      [
        ["esx.remote-failure", "2026-03-02T10:00:01.100Z", "192.0.2.50:7002", "esx-c"],
        ["esx.remote-failure", "2026-03-02T10:00:01.101Z", "udp://192.0.2.50:514", "esx-c"],
        ["esx.remote-failure", "2026-03-02T10:06:00.000Z", "ssl://log.example:1514", "esx-c"],
      ],
    );
    assert.deepEqual(rec.skipped, [3], "the storage vob is skipped");
    assert.deepEqual(rec.issues, []);
    assert.equal(got[0]?.prov.raw, fixture("vobd.log").split("\n")[0]);
  });

  it("sniffs a vobd.log and nothing else", () => {
    assert.ok(vobdReader.sniff(fixture("vobd.log").split("\n").slice(0, 4)) >= 0.8);
    assert.equal(vobdReader.sniff(["2024-06-04T21:58:00.975Z In(166) Hostd[1]: x"]), 0);
  });

  it("gets vobd and vmsyslogd lines from a receiver file through the router", () => {
    const router = createSyslogReader((name) => readerByName(name));
    const rec = readLines(router, fixture("syslog.log"), source("syslog.log"));
    const got = logging(rec.records);
    assert.deepEqual(
      got.map((r) => [r.kind, r.host, r.target, r.count, r.process]),
      [
        ["esx.remote-failure", "esx-a.lab", "192.0.2.50:7002", undefined, "vobd"],
        ["esx.remote-failure", "esx-a.lab", "udp://192.0.2.50:514", undefined, "vobd"],
        ["esx.messages-lost", "esx-b.lab", undefined, 25000, "vmsyslogd"],
      ],
    );
    assert.equal(got[0]?.time, "2026-03-02T11:00:00.200Z");
    assert.ok(got[0]?.prov.raw.startsWith("<14>2026-03-02T11:00:00.200Z esx-a.lab vobd"));
    assert.equal(rec.observations().length, 1, "the hostd line still goes to hostd");
    assert.ok(rec.skipped.includes(4), "a vmsyslogd line that says nothing of loss is skipped");
  });

  it("matches leniently but not on unrelated text", () => {
    assert.equal(
      matchLoggingText("Remote logging host has become unreachable.")?.kind,
      "esx.remote-failure",
    );
    assert.equal(
      matchLoggingText("x", "esx.problem.vmsyslogd.remote.failure")?.kind,
      "esx.remote-failure",
    );
    assert.equal(matchLoggingText("The datastore host has become unreachable"), undefined);
    assert.equal(matchLoggingText("12 log messages kept"), undefined);
    const long = `${"a".repeat(100_000)} has become unreachable`;
    assert.equal(matchLoggingText(long), undefined, "a hostile line is one pass, no match");
  });

  describe("real samples", () => {
    const opts = { skip: realSamplesSkip() };
    it("Elastic vCenter mix: the 'lost 156959 log messages' warning, not its alarm", opts, () => {
      const router = createSyslogReader((name) => readerByName(name));
      const rec = readLines(
        router,
        readRealSample("elastic-integrations-vsphere-test-format-common.log"),
        source("elastic.log"),
      );
      const lost = logging(rec.records).filter((r) => r.kind !== "vc.event-key");
      assert.deepEqual(
        lost.map((r) => [r.kind, r.host, r.target, r.count, r.eventKey, r.evidence]),
        [
          [
            "esx.messages-lost",
            "esxi01.resnick-tech.com",
            "10.100.10.30:514",
            156959,
            "575800",
            "verbatim",
          ],
        ],
      );
      const keys = logging(rec.records)
        .filter((r) => r.kind === "vc.event-key")
        .map((r) => r.eventKey);
      assert.ok(keys.includes("575801") && keys.includes("575802"), "alarm events keep their keys");
    });
  });
});

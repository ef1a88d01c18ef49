import assert from "node:assert/strict";
import { describe, it } from "node:test";
import {
  fixtures,
  readDocument,
  readDocumentFile,
  realSample,
  realSamplesSkip,
  source,
} from "../../../../test/helpers/reader-harness.js";
import { readerByName } from "../../registry.js";
import type { Envelope, LineParser, ReaderContext } from "../../types.js";
import { vcEventsReader } from "../vc-events/index.js";
import { vpxdReader } from "../vpxd/index.js";
import { createSiemJsonReader, createSiemJsonReaderFor, siemTime } from "./index.js";

const { path } = fixtures(import.meta.url);

const skipReal = realSamplesSkip();

/** The reader as the registry builds it: routing through the registered readers. */
const siemJsonReader = createSiemJsonReaderFor((name) => readerByName(name));

interface Routed {
  readonly body: string;
  readonly line: number;
  readonly envelope: Envelope | undefined;
}

/** A router that only records what it is handed. */
function recordingRouter(): { routed: Routed[]; ended: () => boolean; open: () => LineParser } {
  const routed: Routed[] = [];
  let ended = false;
  return {
    routed,
    ended: () => ended,
    open: () => ({
      line: (body, line, envelope) => routed.push({ body, line, envelope }),
      end: () => {
        ended = true;
      },
    }),
  };
}

/** A router over this module's vCenter readers, dispatching as the syslog router does. */
const vcenterRouter = (ctx: ReaderContext): LineParser => {
  const events = vcEventsReader.open(ctx);
  const vpxd = vpxdReader.open(ctx);
  return {
    line: (body, lineNo, envelope) => {
      if (envelope?.program?.toLowerCase() !== "vpxd") return ctx.skip(lineNo, "other-program");
      (body.startsWith("Event [") ? events : vpxd).line(body, lineNo, envelope);
    },
    end: () => {
      events.end();
      vpxd.end();
    },
  };
};

describe("siem-json reader: Sentinel Syslog table", () => {
  it("builds an envelope from the row's fields and hands each message to the router", async () => {
    const r = recordingRouter();
    const rec = await readDocumentFile(createSiemJsonReader(r.open), path("sentinel-syslog.json"));
    assert.equal(r.ended(), true);
    assert.equal(r.routed.length, 4);
    const [hostd, event, lro, login] = r.routed;
    assert.equal(hostd?.line, 2);
    assert.deepEqual(hostd?.envelope, {
      pri: 166,
      time: "2024-09-02T09:20:11.051Z",
      timeAssumed: true,
      host: "esx-lab-01",
      program: "Hostd",
      body: "[Originator@6876 sub=Vimsvc.ha-eventmgr] Event 246 : Guest operation Start Program performed on Virtual machine web01.",
    });
    assert.equal(event?.envelope?.pri, 14);
    assert.equal(event?.envelope?.pid, "58650");
    assert.equal(lro?.envelope?.pri, 163);
    assert.equal(login?.envelope?.time, undefined);
    assert.deepEqual(
      rec.issues.map((i) => [i.code, i.line]),
      [
        ["unparsed_line", 41],
        ["bad_time", 46],
      ],
    );
  });

  it("yields vCenter records through a router", async () => {
    const rec = await readDocumentFile(
      createSiemJsonReader(vcenterRouter),
      path("sentinel-syslog.json"),
    );
    const obs = rec.observations();
    assert.deepEqual(
      obs.map((o) => [o.kind, o.api, o.vcenter]),
      [
        ["vc.event", "StartProgramInGuest", "vc01"],
        ["vpxd.lro", "StartProgramInGuest", "vc01"],
      ],
    );
    assert.equal(obs[1]?.opId, "7e1280cf-01");
    assert.equal(obs[1]?.time, "2024-09-02T09:20:01.000Z");
    assert.ok(
      obs[1]?.prov.raw.startsWith("info vpxd[47530] "),
      "a field-built envelope keeps the message",
    );
    const [login] = rec.sessions();
    assert.equal(login?.user, "root");
  });
});

describe("siem-json reader: Splunk and Elastic exports", () => {
  it("lets a syslog header kept in `_raw` win over the SIEM's fields", async () => {
    const r = recordingRouter();
    await readDocumentFile(createSiemJsonReader(r.open), path("splunk-export.ndjson"));
    const [first, second, third] = r.routed;
    assert.equal(first?.envelope?.host, "vc01.example.invalid");
    assert.equal(first?.envelope?.program, "vpxd");
    assert.equal(first?.envelope?.pid, "58650");
    assert.ok(first?.body.startsWith("Event [900102]"));
    assert.ok(first?.envelope?.line?.startsWith("<14>1 "));
    assert.equal(second?.envelope?.program, "vpxd", "program from the SC4S sourcetype");
    assert.equal(second?.envelope?.time, "2024-09-02T09:20:01.000Z", "epoch seconds");
    assert.equal(second?.envelope?.host, "vc01.example.invalid");
    assert.equal(third?.envelope?.program, "Hostd", "SC4S prefix taken apart");
    assert.equal(third?.envelope?.pid, "2099494");
    assert.ok(third?.body.startsWith("[Originator@6876 sub=Vimsvc.ha-eventmgr] Event 246"));
  });

  it("unwraps Elastic's _source and reads nested ECS fields", async () => {
    const rec = await readDocumentFile(
      createSiemJsonReader(vcenterRouter),
      path("elastic-export.json"),
    );
    const [o] = rec.observations();
    assert.equal(o?.api, "ListProcessesInGuest");
    assert.equal(o?.vcenter, "vc01.example.invalid");
    assert.deepEqual(rec.issues, []);
  });

  it("splits a multi-line message into lines with the same envelope", async () => {
    const r = recordingRouter();
    await readDocument(
      createSiemJsonReader(r.open),
      '{"SyslogMessage": "Arg spec:\\n--> (vim.vm.guest.ProcessManager.ProgramSpec) {\\n--> }", "ProcessName": "Hostd", "HostName": "esx1"}',
    );
    assert.deepEqual(
      r.routed.map((x) => [x.body, x.envelope?.body, x.envelope?.host]),
      [
        ["Arg spec:", "Arg spec:", "esx1"],
        [
          "--> (vim.vm.guest.ProcessManager.ProgramSpec) {",
          "--> (vim.vm.guest.ProcessManager.ProgramSpec) {",
          "esx1",
        ],
        ["--> }", "--> }", "esx1"],
      ],
    );
  });

  it("reports bad JSON and goes on", async () => {
    const r = recordingRouter();
    const rec = await readDocument(
      createSiemJsonReader(r.open),
      '{"SyslogMessage": "a", "ProcessName": "Hostd"}\n{"SyslogMessage": \n{"SyslogMessage": "b", "ProcessName": "Hostd"}\n',
      source(),
      3,
    );
    assert.deepEqual(
      r.routed.map((x) => x.body),
      ["a", "b"],
    );
    assert.deepEqual(rec.issueCodes(), ["bad_json"]);
  });

  it("detects SIEM exports and not vCenter event exports", () => {
    assert.ok(siemJsonReader.sniff(['[{"TimeGenerated": "x", "SyslogMessage": "y"}]']) > 0.9);
    assert.ok(siemJsonReader.sniff(['{"result":{"_raw":"x"}}']) > 0.5);
    assert.equal(siemJsonReader.sniff(['[{"eventTypeId": "x", "createdTime": "y"}]']), 0);
  });
});

describe("siemTime", () => {
  it("reads Sentinel portal times, ISO and epoch values", () => {
    assert.deepEqual(siemTime("11/13/2020, 2:06:58.000 PM", "UTC"), {
      time: "2020-11-13T14:06:58.000Z",
      assumed: true,
    });
    assert.equal(siemTime("11/13/2020, 12:06:58 AM", "UTC")?.time, "2020-11-13T00:06:58.000Z");
    assert.equal(
      siemTime("11/13/2020, 2:06:58 PM", "Europe/Paris")?.time,
      "2020-11-13T13:06:58.000Z",
    );
    assert.equal(siemTime("2020-11-13T14:06:58.5Z", "UTC")?.time, "2020-11-13T14:06:58.500Z");
    assert.equal(siemTime(1605276418000, "UTC")?.time, "2020-11-13T14:06:58.000Z");
    assert.equal(siemTime("1605276418.25", "UTC")?.time, "2020-11-13T14:06:58.250Z");
    assert.equal(siemTime("13/13/2020, 2:06:58 PM", "UTC"), undefined);
  });
});

describe("siem-json reader: through the syslog router and the registered readers", () => {
  it("routes vpxd messages to the vCenter readers", async () => {
    const rec = await readDocumentFile(siemJsonReader, path("sentinel-syslog.json"));
    const kinds = rec.observations().map((o) => o.kind);
    assert.ok(kinds.includes("vc.event"));
    assert.ok(kinds.includes("vpxd.lro"));
    assert.equal(rec.sessions().find((x) => x.kind === "login")?.user, "root");
  });
});

describe("siem-json reader: real samples", { skip: skipReal }, () => {
  it("Sentinel VMwareESXi sample: three messages routed with their hosts, programs and times", async () => {
    const r = recordingRouter();
    const rec = await readDocumentFile(
      createSiemJsonReader(r.open),
      realSample("azure-sentinel-sample-data-vmwareesxi-excerpt.json"),
    );
    assert.deepEqual(
      r.routed.map((x) => [x.envelope?.program, x.envelope?.host, x.envelope?.time, x.line]),
      [
        ["Vpxa", "SAMPLEHOST0002", "2020-11-13T14:06:58.000Z", 2],
        ["Hostd", "SAMPLEHOST0003", "2020-11-13T14:06:57.000Z", 23],
        ["Vpxa", "SAMPLEHOST0003", "2020-11-13T13:43:56.000Z", 44],
      ],
    );
    assert.ok(r.routed[0]?.body.startsWith("info vpxa[9B66B70] [Originator@6876"));
    assert.equal(r.routed[1]?.envelope?.pri, 163);
    assert.deepEqual(rec.issues, []);
  });

  it("Sentinel VMwareESXi sample through the registered readers: no guest ops, no crash", async () => {
    const rec = await readDocumentFile(
      siemJsonReader,
      realSample("azure-sentinel-sample-data-vmwareesxi-excerpt.json"),
    );
    assert.equal(rec.observations().length, 0);
  });
});

import { strict as assert } from "node:assert";
import { describe, it } from "node:test";
import { fixtures, readLines, source } from "../../../../test/helpers/reader-harness.js";
import { parseEnvelope } from "../../syslog/envelope.js";
import { esxAuditReader, isAuditEnvelope } from "./index.js";

const text = fixtures(import.meta.url).text("audit.log");
const OPTS = { assumeTz: "UTC" };

describe("esx-audit reader", () => {
  const rec = readLines(esxAuditReader, text, source("audit.log", { hostHint: "hint" }), OPTS);
  const calls = rec.observations();
  const sessions = rec.sessions();

  it("turns api.call on a guest manager into audit.api-call (inferred)", () => {
    const [ok] = calls;
    assert.equal(ok?.kind, "audit.api-call");
    assert.equal(ok?.method, "vim.vm.guest.ProcessManager.startProgram");
    assert.equal(ok?.api, "StartProgramInGuest");
    assert.equal(ok?.user, "root");
    assert.equal(ok?.outcome, "success");
    assert.equal(ok?.host, "esx-a.lab");
    assert.equal(ok?.time, "2024-06-04T21:58:01.100Z");
    assert.ok(rec.records.every((r) => r.evidence === "inferred"));
  });

  it("unescapes values and reads parameters in any order", () => {
    const failed = calls[1];
    assert.equal(failed?.user, 'CORP\\svc "ops" [x]');
    assert.equal(failed?.outcome, "failure");
    assert.equal(failed?.fault, "vim.fault.InvalidGuestLogin");
    assert.equal(failed?.opId, "k9");
    assert.equal(failed?.api, "InitiateFileTransferFromGuest");
  });

  it("skips api.call on other objects", () => {
    assert.ok(!calls.some((c) => c.method?.startsWith("vmodl.")));
    assert.ok(rec.skipped.includes(3));
  });

  it("reads vim.connect, a failed connect, vim.disconnect and vim.access.denied", () => {
    assert.deepEqual(
      sessions.map((s) => [s.kind, s.user, s.sourceIp, s.session]),
      [
        ["connect", "root", "192.168.127.13", "52018116-1111-2222-3333-444455556666"],
        ["login-failed", "admin", "203.0.113.9", undefined],
        ["disconnect", "root", "192.168.127.13", "52018116-1111-2222-3333-444455556666"],
        ["login-failed", "auditor", "10.9.9.9", undefined],
      ],
    );
    assert.equal(sessions[0]?.opId, "c4c96306");
    const denied = calls.find((c) => c.user === "auditor");
    assert.equal(denied?.outcome, "failure");
    assert.equal(denied?.api, "StartProgramInGuest");
    assert.equal(denied?.vm?.vmx, "/vmfs/volumes/ds1/web/web.vmx");
    assert.equal(denied?.vm?.dir, "/vmfs/volumes/ds1/web");
  });

  it("uses the input's host hint when the record has no host, and keeps hostile names as data", () => {
    const local = calls.find((c) => c.user === "__proto__");
    assert.equal(local?.host, "hint");
    assert.equal(local?.api, "ListProcessesInGuest");
    assert.equal(Object.getPrototypeOf(local), Object.prototype);
  });

  it("reads a truncated record as far as it goes and counts it", () => {
    const last = calls.at(-1);
    assert.equal(last?.prov.line, 9);
    assert.equal(last?.outcome, "unknown");
    assert.deepEqual(rec.issueCodes(), ["truncated_record"]);
  });

  it("keeps the whole line as provenance", () => {
    const lines = text.split("\n");
    for (const r of rec.records) assert.equal(r.prov.raw, lines[r.prov.line - 1]);
  });

  it("reports a marker line with no audit element", () => {
    const bad = readLines(
      esxAuditReader,
      "2024-06-04T21:58:00Z h hostd[1]: vim.vm.guest.x but no SD",
      source(),
      OPTS,
    );
    assert.deepEqual(bad.issueCodes(), ["unparsed_line"]);
  });

  it("recognises audit envelopes by facility or by element id", () => {
    const e1 = parseEnvelope("<110>2024-06-04T21:58:00Z h shell[1]: anything", OPTS);
    assert.ok(e1 && isAuditEnvelope(e1));
    const e2 = parseEnvelope('2024-06-04T21:58:00Z h hostd[1]: [api.call@6876 subject="r"]', OPTS);
    assert.ok(e2 && isAuditEnvelope(e2));
    const e3 = parseEnvelope(
      "<166>2024-06-04T21:58:00Z h Hostd[1]: [Originator@6876 sub=x] y",
      OPTS,
    );
    assert.ok(e3 && !isAuditEnvelope(e3));
  });

  it("sniffs audit files high", () => {
    assert.ok(esxAuditReader.sniff(text.split("\n")) > 0.9);
    assert.equal(esxAuditReader.sniff(["x", "y"]), 0);
  });
});
